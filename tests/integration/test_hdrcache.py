"""The FETCH cache by mailbox and UID: header SEARCH and FETCH ENVELOPE /
BODYSTRUCTURE answer the same across COPY, MOVE, EXPUNGE and berthctl
reconstruct, and as a reading of the messages says.

Messages with plain and encoded subjects, address headers, a header of
20 KB and one past the cache's 64 KB header limit are searched by
SUBJECT, FROM, TO, CC and HEADER; the expected UIDs are worked out here
from the bytes appended.  Their ENVELOPE and BODYSTRUCTURE are compared
by Message-ID between the mailbox and its copies, and before and after
the database is rebuilt.
"""
import os
import re
import subprocess

from conftest import BUILD

N = 60


def ctl(srv, *args):
    return subprocess.run([os.path.join(BUILD, "tools", "berthctl"), "-C",
                           srv.conf, *args], capture_output=True, text=True,
                          timeout=120)


def message(i):
    """message i and the decoded header values a reader finds in it"""
    subj = f"report {i} {'alpha' if i % 3 == 0 else 'beta'}"
    if i % 7 == 0:
        # "caf\xe9 report i" as an encoded word
        raw_subj = f"=?ISO-8859-1?Q?caf=E9_report_{i}?="
        subj = f"caf\xe9 report {i}"
    else:
        raw_subj = subj
    frm = f"Sender {i % 5} <s{i % 5}@example.org>"
    to = f"rcpt{i % 4}@example.net"
    cc = f"cc{i % 6}@example.com" if i % 2 else None
    lines = [f"From: {frm}", f"To: {to}", f"Subject: {raw_subj}",
             f"Message-ID: <m{i}@example.org>",
             "Date: Thu, 3 Dec 2026 10:00:00 +0000",
             f"X-Tag: tag{i % 3}"]
    if cc:
        lines.append(f"Cc: {cc}")
    if i == 11:
        lines += [f"X-Pad: {'p' * 70}"] * 280            # about 20 KB
    if i == 13:
        lines += [f"X-Pad: {'q' * 70}"] * 1000           # past 64 KB
    if i % 10 == 4:
        body = ("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                "--b\r\nContent-Type: text/plain\r\n\r\npart one\r\n"
                "--b\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n"
                "--b--\r\n")
        lines.append("MIME-Version: 1.0")
        data = "\r\n".join(lines) + "\r\n" + body
    else:
        data = "\r\n".join(lines) + f"\r\n\r\nbody {i}\r\n"
    fields = {"subject": subj, "from": frm, "to": to, "cc": cc or "",
              "x-tag": f"tag{i % 3}"}
    return data.encode("latin-1"), fields


SEARCHES = [
    ("SUBJECT", "alpha", "subject"),
    ("SUBJECT", "REPORT 1", "subject"),
    ("SUBJECT", "caf", "subject"),
    ("FROM", "s3@example", "from"),
    ("FROM", "sender 2", "from"),
    ("TO", "rcpt1", "to"),
    ("CC", "cc5@", "cc"),
    ("HEADER X-Tag", "tag2", "x-tag"),
]


def expected(fields, needle, key):
    return sorted(uid for uid, f in fields.items()
                  if needle.lower() in f[key].lower())


def search(c, key, needle):
    typ, data = c.uid("SEARCH", *key.split(), f'"{needle}"')
    assert typ == "OK", data
    return sorted(int(x) for x in data[0].split())


def metadata(c):
    """Message-ID -> (ENVELOPE, BODYSTRUCTURE) text, UID -> Message-ID"""
    typ, data = c.uid("FETCH", "1:*", "(ENVELOPE BODYSTRUCTURE)")
    assert typ == "OK", data
    out, ids = {}, {}
    for item in data:
        text = b"".join(item) if isinstance(item, tuple) else item
        text = text.decode("latin-1")
        mid = re.search(r'"<(m\d+)@example.org>"', text).group(1)
        uid = int(re.search(r"UID (\d+)", text).group(1))
        env = re.search(r"ENVELOPE (\(.*\)) BODYSTRUCTURE", text).group(1)
        bs = text.split("BODYSTRUCTURE ", 1)[1]
        out[mid] = (env, bs)
        ids[uid] = mid
    return out, ids


def answers(srv, mailbox):
    """every search's Message-IDs and every message's metadata"""
    c = srv.connect("alice", "secret")
    typ, _ = c.select(mailbox, readonly=True)
    assert typ == "OK"
    meta, ids = metadata(c)
    res = {f"{k} {n}": sorted(ids[u] for u in search(c, k, n))
           for k, n, _ in SEARCHES}
    c.logout()
    return meta, res


def test_header_search_and_envelope_through_copy_and_reconstruct(fresh):
    srv = fresh()
    srv.start()
    c = srv.connect("alice", "secret")
    fields = {}
    for i in range(1, N + 1):
        data, f = message(i)
        typ, resp = c.append("INBOX", None, None, data)
        assert typ == "OK", resp
        uid = int(re.search(rb"APPENDUID \d+ (\d+)", resp[0]).group(1))
        fields[uid] = f
    c.select("INBOX")
    for key, needle, field in SEARCHES:
        want = expected(fields, needle, field)
        assert want, (key, needle)
        assert search(c, key, needle) == want, (key, needle)
    inbox_meta, ids = metadata(c)
    assert len(inbox_meta) == N
    assert "\"caf\xe9" not in inbox_meta["m7"][0]   # encoded as sent
    assert '"TEXT" "HTML"' in inbox_meta["m4"][1]
    # copies, a move and expunges
    c.create("Copy")
    c.create("Moved")
    typ, _ = c.uid("COPY", "1:*", "Copy")
    assert typ == "OK"
    typ, _ = c.uid("MOVE", "1:20", "Moved")
    assert typ == "OK"
    c.uid("STORE", "21:30", "+FLAGS", "(\\Deleted)")
    c.expunge()
    kept = {u: f for u, f in fields.items() if u > 30}
    for key, needle, field in SEARCHES:
        assert search(c, key, needle) == expected(kept, needle, field), \
            (key, needle)
    c.logout()

    before = {m: answers(srv, m) for m in ("INBOX", "Copy", "Moved")}
    copy_meta, _ = before["Copy"]
    assert copy_meta == inbox_meta
    moved_meta, _ = before["Moved"]
    assert moved_meta == {ids[u]: inbox_meta[ids[u]] for u in range(1, 21)}
    inbox_after, _ = before["INBOX"]
    assert inbox_after == {ids[u]: inbox_meta[ids[u]]
                           for u in range(31, N + 1)}
    for key, needle, field in SEARCHES:
        name = f"{key} {needle}"
        assert before["Copy"][1][name] == sorted(
            ids[u] for u in expected(fields, needle, field)), name

    # the database rebuilt in place for alice
    srv.stop()
    r = ctl(srv, "reconstruct", "alice")
    assert r.returncode == 0, r.stdout + r.stderr
    srv.log.close()
    srv.start()
    assert {m: answers(srv, m) for m in before} == before

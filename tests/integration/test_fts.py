"""SEARCH TEXT / BODY through the full-text index gives exactly what a
scan of the messages gives, on one mailbox of tricky messages (encoded
words, base64 and quoted-printable bodies, other charsets, HTML,
attachments, terms under three characters, non-ASCII case, NOT and OR):
answered by the index (the message files removed under the server to
prove it), and by the scan (the index file damaged, which is logged).
The index follows new and expunged messages and COPY, and berthctl fts
rebuilds it."""
import base64
import glob
import os
import subprocess

import pytest

from conftest import BUILD
from poll import wait_for
from raw import Raw

CTL = os.path.join(BUILD, "tools", "berthctl")
N = 180

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]


def body_words(i):
    return " ".join(WORDS[(i * k) % len(WORDS)] for k in range(1, 4))


def message(i):
    kind = i % 6
    subj = (f"=?UTF-8?Q?R=C3=A9sum=C3=A9?= report {i}" if i % 5 == 0
            else f"plain report {i}")
    head = (f"From: Sender {i} <s{i}@example.com>\r\n"
            f"To: rcpt@example.org\r\nSubject: {subj}\r\n"
            f"Message-ID: <m{i}@example.com>\r\nMIME-Version: 1.0\r\n")
    words = body_words(i)
    if kind == 0:
        return (head + "Content-Type: text/plain\r\n\r\n"
                f"{words}\r\nHello  World number {i}\r\n").encode()
    if kind == 1:
        text = f"{words} Größe café naïve {i}\r\n".encode()
        return (head + "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n").encode() + \
            base64.encodebytes(text).replace(b"\n", b"\r\n")
    if kind == 2:
        return (head + "Content-Type: text/plain; charset=iso-8859-1\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                f"{words} caf=E9 na=EFve=\r\n continued\r\n").encode()
    if kind == 3:
        return (head + "Content-Type: text/html; charset=utf-8\r\n\r\n"
                f"<html><body><p>{words} Fish &amp; <b>Ch</b>ips</p>"
                "<script>secretcode()</script></body></html>\r\n").encode()
    if kind == 4:
        att = base64.encodebytes(b"attachmentword " * 20).replace(b"\n",
                                                                  b"\r\n")
        return (head + "Content-Type: multipart/mixed; boundary=BB\r\n\r\n"
                "--BB\r\nContent-Type: text/plain\r\n\r\n"
                f"{words} ab\r\n--BB\r\n"
                "Content-Type: application/octet-stream\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n").encode() + \
            att + b"--BB--\r\n"
    return (head + "Content-Type: text/plain; charset=koi8-r\r\n\r\n").encode() \
        + "Привет мир ".encode("koi8-r") + words.encode() + b"\r\n"


QUERIES = [
    "BODY hello", 'BODY "hello  world"', 'BODY "hello world"',
    "BODY alpha", "BODY ALPHA", "TEXT report", "TEXT résumé",
    "BODY résumé", "TEXT RÉSUMÉ", "BODY café", "BODY CAFÉ",
    "BODY naïve", "BODY größe", "BODY привет", "BODY Привет",
    'BODY "fish & chips"', "BODY secretcode", "BODY attachmentword",
    "BODY <b>", "BODY ab", "BODY é", "BODY x", 'BODY ""',
    "TEXT s1@", "BODY continued", "NOT BODY alpha",
    "OR BODY beta BODY gamma", "BODY alpha NOT TEXT beta",
    "OR NOT BODY zeta TEXT sender", "BODY alpha BODY delta",
    "BODY mir BODY zeta", "TEXT 17",
]


def literal_args(q):
    """q with each non-ASCII word sent as a LITERAL+"""
    out = []
    for w in q.split(b" "):
        if any(c >= 0x80 for c in w):
            out.append(b"{%d+}\r\n" % len(w) + w)
        else:
            out.append(w)
    return b" ".join(out)


def search(r, q):
    if isinstance(q, str):
        q = q.encode()
    out = r.cmd(b"s", b"UID SEARCH CHARSET UTF-8 " + literal_args(q))
    assert out[-1].startswith(b"s OK"), (q, out)
    hits = [ln for ln in out if ln.startswith(b"* SEARCH")]
    return [int(x) for x in hits[0].split()[2:]]


def login(s):
    r = Raw(s.port, timeout=60)
    assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
    return r


def ctl(s, *args):
    p = subprocess.run([CTL, "-C", s.conf, *args], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


def fill(s, name, msgs):
    r = login(s)
    assert r.cmd(b"c", b"CREATE " + name.encode())[-1].startswith(b"c OK")
    for m in msgs:
        r.send(b"a APPEND " + name.encode() + b" {%d+}\r\n" % len(m) + m +
               b"\r\n")
        assert r.until_tag(b"a")[-1].startswith(b"a OK")
    return r


def expect(i, q):
    """what some queries must find in message i (independent of berth)"""
    kind = i % 6
    w = body_words(i)
    return {
        "BODY hello": kind == 0,
        "BODY alpha": "alpha" in w,
        "BODY café": kind in (1, 2),
        "BODY CAFÉ": False,
        "BODY Привет": kind == 5,
        "BODY привет": False,  # case is folded for ASCII only
        'BODY "fish & chips"': kind == 3,
        "BODY secretcode": False,
        "BODY attachmentword": False,
        "BODY ab": kind == 4,
        "TEXT résumé": i % 5 == 0,
        "BODY résumé": False,
    }.get(q)


def indexed_by_indexd(s, box, n):
    """until indexd has indexed n messages of box (berthctl fts status)"""
    def done():
        p = subprocess.run([CTL, "-C", s.conf, "fts", "status", "alice"],
                           capture_output=True, text=True, timeout=60)
        return p.returncode == 0 and \
            f"mailbox={box} messages={n} indexed_uid={n} pending=0" \
            in p.stdout
    return wait_for(done, timeout=60)


@pytest.mark.parametrize("indexd", [False, True],
                         ids=["at-search", "at-delivery"])
def test_index_answers_as_the_scan(fresh, indexd):
    """indexed by the first SEARCH, or by indexd before any SEARCH"""
    s = fresh(indexd=indexd)
    s.start()
    msgs = [message(i) for i in range(1, N + 1)]
    r = fill(s, "fts", msgs)
    if indexd:
        assert indexed_by_indexd(s, "fts", N)
    assert r.cmd(b"x", b"SELECT fts")[-1].startswith(b"x OK")
    indexed = {q: search(r, q) for q in QUERIES}
    for q in QUERIES:
        want = [i for i in range(1, N + 1) if expect(i, q)]
        if expect(1, q) is not None:
            assert indexed[q] == want, q
    assert indexed['BODY ""'] == list(range(1, N + 1))
    assert len(indexed["NOT BODY alpha"]) + len(indexed["BODY alpha"]) == N
    assert "fts unavailable" not in s.logtext()
    out = ctl(s, "fts", "update", "alice")
    assert f"messages={N} texts={N}" in out, out

    # the scan, on the same mailbox: the index file damaged
    db = os.path.join(s.dir, "conf", "fts", "alice.db")
    for f in glob.glob(db + "-*"):
        os.unlink(f)
    with open(db, "wb") as f:
        f.write(b"this is not an index " * 500)
    scanned = {q: search(r, q) for q in QUERIES}
    for q in QUERIES:
        assert scanned[q] == indexed[q], q
    assert s.log_count("fts unavailable user=alice") == 1, s.logtext()

    # made anew; then answered with every message file gone
    out = ctl(s, "fts", "rebuild", "alice")
    assert f"messages={N} texts={N}" in out, out
    files = glob.glob(os.path.join(s.dir, "spool", "[0-9a-f][0-9a-f]", "*"))
    assert len(files) == N
    for f in files:
        os.unlink(f)
    for q in QUERIES:
        assert search(r, q) == indexed[q], q
    r.cmd(b"z", b"LOGOUT")


def test_index_follows_new_expunged_and_copied(fresh):
    s = fresh()
    s.start()
    zebra = [f"Subject: z{i}\r\n\r\nzebra crossing {i}\r\n".encode()
             for i in range(1, 6)]
    r = fill(s, "zoo", zebra)
    assert r.cmd(b"x", b"SELECT zoo")[-1].startswith(b"x OK")
    assert search(r, b"BODY zebra") == [1, 2, 3, 4, 5]
    for m in (b"Subject: z6\r\n\r\nzebra again\r\n",
              b"Subject: z7\r\n\r\nno stripes\r\n"):
        r.send(b"a APPEND zoo {%d+}\r\n" % len(m) + m + b"\r\n")
        assert r.until_tag(b"a")[-1].startswith(b"a OK")
    assert search(r, b"BODY zebra") == [1, 2, 3, 4, 5, 6]
    assert search(r, b"BODY stripes") == [7]
    assert r.cmd(b"d", b"UID STORE 2,6 +FLAGS (\\Deleted)")[-1] \
        .startswith(b"d OK")
    assert r.cmd(b"e", b"EXPUNGE")[-1].startswith(b"e OK")
    assert search(r, b"BODY zebra") == [1, 3, 4, 5]
    out = ctl(s, "fts", "update", "alice")
    assert " messages=5 texts=5 " in out, out
    assert r.cmd(b"c", b"UID COPY 1:* INBOX")[-1].startswith(b"c OK")
    assert r.cmd(b"x", b"SELECT INBOX")[-1].startswith(b"x OK")
    assert search(r, b"BODY zebra") == [1, 2, 3, 4]
    out = ctl(s, "fts", "update", "alice")
    # the copies share their texts with the originals
    assert " messages=10 texts=5 " in out, out
    r.cmd(b"z", b"LOGOUT")


def test_search_engine_none_reads_the_messages(fresh):
    s = fresh(extra_conf="search_engine: none\n")
    s.start()
    r = fill(s, "plain", [b"Subject: a\r\n\r\nneedle here\r\n",
                          b"Subject: b\r\n\r\nhay\r\n"])
    assert r.cmd(b"x", b"SELECT plain")[-1].startswith(b"x OK")
    assert search(r, b"BODY needle") == [1]
    assert not os.path.exists(os.path.join(s.dir, "conf", "fts"))
    r.cmd(b"z", b"LOGOUT")


def test_index_of_another_version_is_made_anew(fresh):
    """an index file of another schema version (an older or newer berth)
    is derived data: made anew, not a reason to scan forever"""
    import sqlite3
    s = fresh()
    s.start()
    r = fill(s, "ver", [b"Subject: a\r\n\r\nneedle here\r\n",
                        b"Subject: b\r\n\r\nhay\r\n"])
    db = os.path.join(s.dir, "conf", "fts", "alice.db")
    os.makedirs(os.path.dirname(db), exist_ok=True)
    c = sqlite3.connect(db)
    c.execute("CREATE TABLE old(x)")
    c.execute("PRAGMA user_version=99")
    c.commit()
    c.close()
    s.chown()
    assert r.cmd(b"x", b"SELECT ver")[-1].startswith(b"x OK")
    assert search(r, b"BODY needle") == [1]
    assert "fts unavailable" not in s.logtext()
    c = sqlite3.connect(db)
    assert c.execute("PRAGMA user_version").fetchone()[0] != 99
    assert c.execute("SELECT count(*) FROM msg").fetchone()[0] == 2
    c.close()
    r.cmd(b"z", b"LOGOUT")

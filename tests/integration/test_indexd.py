"""indexd: new mail is indexed shortly after delivery, over LMTP and IMAP
APPEND, without any SEARCH having run (seen through berthctl fts status,
then answered with every message file gone, which only the index can
do); a kill -9 of indexd loses nothing and its successor catches up; a
damaged index is made anew."""
import glob
import os
import signal
import smtplib
import subprocess

from conftest import BUILD, Server
from poll import wait_for
from raw import Raw

CTL = os.path.join(BUILD, "tools", "berthctl")
LMTPD = os.path.join(BUILD, "lmtpd", "lmtpd")
# indexd runs niced beside whatever else loads the machine: a deadline
# against hanging, not a measure
DEADLINE = 60


def indexd_server():
    s = Server(prefork=2, maxchild=8, indexd=True)
    s.lmtp = os.path.join(s.dir, "conf", "socket", "lmtp")
    s.write_master(extra=f'  lmtp  cmd="{LMTPD}" listen="{s.lmtp}" '
                   'prefork=1 maxchild=4\n')
    s.add_user("alice", "secret")
    s.start()
    wait_for(lambda: os.path.exists(s.lmtp))
    s.connect("alice", "secret").logout()      # INBOX exists
    return s


def status(s, user="alice"):
    """{mailbox: (messages, indexed_uid, pending)}, or None"""
    p = subprocess.run([CTL, "-C", s.conf, "fts", "status", user],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        return None
    out = {}
    for ln in p.stdout.splitlines():
        kv = dict(w.split("=", 1) for w in ln.split()[2:])
        out[kv["mailbox"]] = (int(kv["messages"]), int(kv["indexed_uid"]),
                              int(kv["pending"]))
    return out


def wait_indexed(s, n, box="INBOX"):
    def done():
        st = status(s)
        return st is not None and st.get(box, (0, 0, 1))[0] == n and \
            st[box][2] == 0
    assert wait_for(done, timeout=DEADLINE), status(s)


def deliver(s, bodies):
    with smtplib.LMTP(s.lmtp) as c:
        for b in bodies:
            msg = (f"From: a@example.org\r\nTo: alice@example.org\r\n"
                   f"Subject: d\r\n\r\n{b}\r\n")
            assert c.sendmail("a@example.org", ["alice"], msg) == {}


def login(s):
    r = Raw(s.port, timeout=60)
    assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
    return r


def append(r, bodies, box=b"INBOX"):
    for b in bodies:
        m = f"Subject: a\r\n\r\n{b}\r\n".encode()
        r.send(b"a APPEND " + box + b" {%d+}\r\n" % len(m) + m + b"\r\n")
        assert r.until_tag(b"a")[-1].startswith(b"a OK")


def search(r, q):
    lines = r.cmd(b"s", b"UID SEARCH " + q)
    assert lines[-1].startswith(b"s OK"), lines
    hits = [ln for ln in lines if ln.startswith(b"* SEARCH")]
    return [int(x) for x in hits[0].split()[2:]]


def remove_files(s):
    files = glob.glob(os.path.join(s.dir, "spool", "[0-9a-f][0-9a-f]", "*"))
    for f in files:
        os.unlink(f)
    return len(files)


def test_delivered_and_appended_mail_indexed_without_a_search():
    s = indexd_server()
    try:
        deliver(s, [f"lmtp delivered kumquat{i}" for i in range(3)])
        r = login(s)
        append(r, ["appended persimmon one", "appended persimmon two"])
        wait_indexed(s, 5)
        assert s.log_count("berth/indexd", "index user=alice") >= 1
        # every message file gone: only the index can answer now (a
        # SEARCH catching up would index empty texts and find nothing)
        assert remove_files(s) == 5
        assert r.cmd(b"x", b"SELECT INBOX")[-1].startswith(b"x OK")
        assert search(r, b"BODY kumquat") == [1, 2, 3]
        assert search(r, b"BODY kumquat1") == [2]
        assert search(r, b'BODY "persimmon two"') == [5]
        assert search(r, b"TEXT appended") == [4, 5]
        assert "fts unavailable" not in s.logtext()
        r.cmd(b"z", b"LOGOUT")
    finally:
        s.finish()


def test_indexd_killed_loses_nothing():
    s = indexd_server()
    try:
        first = s.children("indexd")
        assert len(first) == 1
        deliver(s, [f"before the kill tamarind{i}" for i in range(40)])
        os.kill(first[0], signal.SIGKILL)
        # delivered while indexd is dead or starting again
        deliver(s, [f"after the kill tamarind{i}" for i in range(40)])
        assert wait_for(lambda: [p for p in s.children("indexd")
                                 if p != first[0]], timeout=DEADLINE)
        wait_indexed(s, 80)
        assert remove_files(s) == 80
        r = login(s)
        assert r.cmd(b"x", b"SELECT INBOX")[-1].startswith(b"x OK")
        assert search(r, b"BODY tamarind") == list(range(1, 81))
        assert search(r, b'BODY "before the kill"') == list(range(1, 41))
        assert search(r, b'BODY "after the kill tamarind39"') == [80]
        r.cmd(b"z", b"LOGOUT")
    finally:
        s.finish()


def test_indexd_makes_a_damaged_index_anew():
    s = indexd_server()
    try:
        deliver(s, ["first mangosteen", "second mangosteen"])
        wait_indexed(s, 2)
        db = os.path.join(s.dir, "conf", "fts", "alice.db")
        for f in glob.glob(db + "-*"):
            os.unlink(f)
        with open(db, "wb") as f:
            f.write(b"this is not an index " * 500)
        deliver(s, ["third mangosteen"])
        assert s.wait_log("index damaged user=alice", timeout=DEADLINE)
        wait_indexed(s, 3)
        assert remove_files(s) == 3
        r = login(s)
        assert r.cmd(b"x", b"SELECT INBOX")[-1].startswith(b"x OK")
        assert search(r, b"BODY mangosteen") == [1, 2, 3]
        r.cmd(b"z", b"LOGOUT")
    finally:
        s.finish()

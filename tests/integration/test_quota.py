"""QUOTA (RFC 9208): STORAGE and MESSAGE per user, set with berthctl quota
and the quota_default_* keys, reported by GETQUOTA/GETQUOTAROOT and
STATUS DELETED/DELETED-STORAGE, enforced on APPEND, MULTIAPPEND and COPY
with NO [OVERQUOTA] while MOVE, EXPUNGE and DELETE always work; the usage
kept in the store's transactions (racing appenders never pass a limit
together) and checked by berthctl check, the limits kept across a
reconstruct.  Raw sockets: the exact responses are what is checked."""
import os
import re
import shutil
import subprocess
import threading

import pytest

from conftest import BUILD, Server
from raw import append, login, status as st


def ctl(srv, *args):
    return subprocess.run([os.path.join(BUILD, "tools", "berthctl"), "-C",
                           srv.conf, *args], capture_output=True, text=True,
                          timeout=120)


def quota_get(srv, user):
    r = ctl(srv, "quota", "get", user)
    assert r.returncode == 0, r.stdout + r.stderr
    return dict(kv.split("=", 1) for kv in r.stdout.split())


def quota_set(srv, user, *limits):
    r = ctl(srv, "quota", "set", user, *limits)
    assert r.returncode == 0, r.stdout + r.stderr


def msg(i, size=0):
    body = b"x" * size + b"\r\n"
    return b"From: a@example.com\r\nSubject: q%d\r\n\r\n" % i + body


@pytest.fixture(scope="module")
def srv():
    s = Server(extra_conf="quota_default_messages: 50\n"
                          "quota_default_storage: 1M\n")
    for u in ("ann", "ben", "cat", "dan", "eve"):
        s.add_user(u, "secret")
    s.start()
    yield s
    s.finish()


def test_capabilities_and_reports(srv):
    r = login(srv, b"ann")
    caps = r.cmd(b"C", b"CAPABILITY")[0].split()
    for c in (b"QUOTA", b"QUOTA=RES-STORAGE", b"QUOTA=RES-MESSAGE"):
        assert c in caps
    # SETQUOTA is for berthctl: not advertised
    assert b"QUOTASET" not in caps
    # the configured defaults, nothing used yet
    out = r.cmd(b"G", b'GETQUOTAROOT INBOX')
    assert out[0] == b'* QUOTAROOT INBOX ""', out
    assert out[1] == b'* QUOTA "" (STORAGE 0 1024 MESSAGE 0 50)', out
    assert st(out) == b"OK"
    assert st(append(r, b"INBOX", msg(1, 3000))) == b"OK"
    out = r.cmd(b"G", b'GETQUOTA ""')
    assert out[0] == b'* QUOTA "" (STORAGE 3 1024 MESSAGE 1 50)', out
    assert st(r.cmd(b"G", b'GETQUOTA "user.bob"')) == b"NO"
    out = r.cmd(b"G", b"GETQUOTAROOT nosuch")
    assert st(out) == b"NO" and b"[NONEXISTENT]" in out[-1]
    assert st(r.cmd(b"G", b"GETQUOTA")) == b"BAD"
    # the user's own limits, and "none" drops a resource from the list
    quota_set(srv, "ann", "storage=none", "messages=7")
    out = r.cmd(b"G", b'GETQUOTA ""')
    assert out[0] == b'* QUOTA "" (MESSAGE 1 7)', out
    q = quota_get(srv, "ann")
    assert q["messages"] == "1" and q["message_limit"] == "7"
    assert q["message_limit_from"] == "user"
    assert q["storage_limit"] == "none"
    assert int(q["storage_bytes"]) == len(msg(1, 3000))
    # back to the default
    quota_set(srv, "ann", "messages=default", "storage=default")
    q = quota_get(srv, "ann")
    assert q["message_limit"] == "50" and q["storage_limit"] == "1024"
    assert q["message_limit_from"] == "default"
    r.close()


def test_setquota_refused_and_checked(srv):
    r = login(srv, b"ben")
    out = r.cmd(b"S", b'SETQUOTA "" (STORAGE 1)')
    assert st(out) == b"NO" and b"[NOPERM]" in out[-1], out
    assert st(r.cmd(b"S", b'SETQUOTA "" (STORAGE)')) == b"BAD"
    assert st(r.cmd(b"S", b'SETQUOTA "" (FROBS 1)')) == b"BAD"
    assert st(r.cmd(b"S", b'SETQUOTA "" (STORAGE x1)')) == b"BAD"
    assert st(r.cmd(b"S", b'SETQUOTA ""')) == b"BAD"
    assert quota_get(srv, "ben")["storage_limit"] == "1024"
    assert srv.wait_log("setquota refused user=ben")
    r.close()
    # berthctl refuses what it cannot read
    for bad in (["set", "ben", "storage=lots"], ["set", "ben"],
                ["set", "ben", "messages=1K"], ["frob", "ben"]):
        r = ctl(srv, "quota", *bad)
        assert r.returncode == 2, (bad, r.stdout, r.stderr)


def test_message_limit_append_copy_move(srv):
    quota_set(srv, "cat", "messages=3")
    r = login(srv, b"cat")
    assert st(r.cmd(b"c", b"CREATE Bin")) == b"OK"
    for i in range(3):
        assert st(append(r, b"INBOX", msg(i))) == b"OK"
    out = append(r, b"INBOX", msg(9))
    assert st(out) == b"NO" and b"[OVERQUOTA]" in out[-1], out
    assert srv.wait_log("append refused user=cat", "reason=over quota")
    # MULTIAPPEND is all or nothing
    quota_set(srv, "cat", "messages=4")
    m1, m2 = msg(10), msg(11)
    r.send(b"A APPEND INBOX {%d+}\r\n" % len(m1) + m1 +
           b" {%d+}\r\n" % len(m2) + m2 + b"\r\n")
    out = r.until_tag(b"A")
    assert st(out) == b"NO" and b"[OVERQUOTA]" in out[-1], out
    out = r.cmd(b"s", b"STATUS INBOX (MESSAGES)")
    assert b"(MESSAGES 3)" in out[0], out
    # COPY past the limit is refused; MOVE adds nothing and works
    assert st(r.cmd(b"x", b"SELECT INBOX")) == b"OK"
    out = r.cmd(b"c", b"COPY 1:2 Bin")
    assert st(out) == b"NO" and b"[OVERQUOTA]" in out[-1], out
    out = r.cmd(b"m", b"MOVE 1:2 Bin")
    assert st(out) == b"OK", out
    assert quota_get(srv, "cat")["messages"] == "3"
    # expunging makes room
    assert st(r.cmd(b"s", b"SELECT Bin")) == b"OK"
    assert st(r.cmd(b"s", b"STORE 1 +FLAGS.SILENT (\\Deleted)")) == b"OK"
    out = r.cmd(b"s", b"STATUS Bin (DELETED DELETED-STORAGE MESSAGES)")
    assert out[0] == b"* STATUS Bin (DELETED 1 DELETED-STORAGE 1 " \
        b"MESSAGES 2)", out
    assert st(r.cmd(b"e", b"EXPUNGE")) == b"OK"
    assert st(r.cmd(b"c", b"COPY 1 INBOX")) == b"OK"
    assert st(append(r, b"INBOX", msg(12))) == b"OK"
    assert st(append(r, b"INBOX", msg(13))) == b"NO"
    # deleting a mailbox gives its messages back
    assert st(r.cmd(b"u", b"UNSELECT")) == b"OK"
    assert st(r.cmd(b"d", b"DELETE Bin")) == b"OK"
    assert quota_get(srv, "cat")["messages"] == "3"
    r.close()
    r = ctl(srv, "check", "cat")
    assert r.returncode == 0, r.stdout + r.stderr


def test_storage_limit(srv):
    quota_set(srv, "dan", "storage=4")
    r = login(srv, b"dan")
    assert st(append(r, b"INBOX", msg(1, 2500))) == b"OK"
    out = append(r, b"INBOX", msg(2, 2000))
    assert st(out) == b"NO" and b"[OVERQUOTA]" in out[-1], out
    assert st(append(r, b"INBOX", msg(3, 1000))) == b"OK"
    out = r.cmd(b"G", b'GETQUOTAROOT INBOX')
    m = re.match(rb'\* QUOTA "" \(STORAGE (\d+) 4 MESSAGE 2 50\)', out[1])
    assert m and int(m.group(1)) == 4, out
    # rename keeps the usage, and the files shared by COPY count twice
    assert st(r.cmd(b"c", b"CREATE Box")) == b"OK"
    assert st(r.cmd(b"x", b"SELECT INBOX")) == b"OK"
    out = r.cmd(b"c", b"COPY 2 Box")
    assert st(out) == b"NO" and b"[OVERQUOTA]" in out[-1], out
    assert st(r.cmd(b"m", b"MOVE 2 Box")) == b"OK"
    assert st(r.cmd(b"r", b"RENAME Box Box2")) == b"OK"
    q = quota_get(srv, "dan")
    assert q["messages"] == "2"
    assert int(q["storage_bytes"]) == len(msg(1, 2500)) + len(msg(3, 1000))
    r.close()


def test_racing_appenders_never_pass_the_limit(srv):
    quota_set(srv, "eve", "messages=6")
    results = []

    def appender(k):
        r = login(srv, b"eve")
        for i in range(4):
            results.append(st(append(r, b"INBOX", msg(100 * k + i))))
        r.close()

    threads = [threading.Thread(target=appender, args=(k,))
               for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(b"OK") == 6 and results.count(b"NO") == 6
    r = login(srv, b"eve")
    out = r.cmd(b"s", b"STATUS INBOX (MESSAGES)")
    assert b"(MESSAGES 6)" in out[0], out
    r.close()
    r = ctl(srv, "check")
    assert r.returncode == 0, r.stdout + r.stderr


def test_usage_and_limits_survive_reconstruct(fresh):
    s = fresh()
    s.start()
    quota_set(s, "alice", "storage=100", "messages=20")
    c = s.connect("alice", "secret")
    c.create("Work")
    for i in range(4):
        c.append("INBOX", None, None, msg(i, 500))
    c.select("INBOX")
    c.copy("1:2", "Work")
    c.store("1", "+FLAGS", "(\\Deleted)")
    c.expunge()
    c.logout()
    before = quota_get(s, "alice")
    assert before["messages"] == "5"
    r = ctl(s, "check")
    assert r.returncode == 0, r.stdout + r.stderr
    s.stop()
    # the database is lost: the journal has the limits, the records the
    # usage
    shutil.rmtree(os.path.join(s.dir, "conf", "db"))
    r = ctl(s, "reconstruct")
    assert r.returncode == 0, r.stdout + r.stderr
    assert quota_get(s, "alice") == before
    r = ctl(s, "check")
    assert r.returncode == 0, r.stdout + r.stderr
    # and the server enforces them from there
    s.log.close()
    s.start()
    c = s.connect("alice", "secret")
    quota_set(s, "alice", "messages=5")
    typ, data = c.append("INBOX", None, None, msg(50))
    assert typ == "NO" and b"[OVERQUOTA]" in data[0], data
    c.logout()

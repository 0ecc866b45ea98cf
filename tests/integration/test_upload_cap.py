"""A literal too large for idled to hold (a big APPEND after login) is read
by a worker; one user, and one address, can hold at most
maxliteral_workers_user / _addr workers that way (imapd_slot.c).  The
next upload is refused before any byte of its literal is read: a
synchronizing literal with a tagged NO [LIMIT], a LITERAL+ one with BYE."""
import os

from raw import Raw

SIZE = 100000       # far more than idled holds (8K)
CONF = ("maxliteral_workers_user: 2\nmaxliteral_workers_addr: 3\n"
        "partial_park_delay: 0\n")


def login(s, user, pw, source=None):
    r = Raw(s.port, source=source)
    assert r.cmd(b"a", b"LOGIN " + user + b" " + pw)[-1].startswith(b"a OK")
    return r


def start_upload(r, tag=b"u"):
    """APPEND with a big synchronizing literal, a few of its bytes sent:
    the first line the server answered"""
    r.send(tag + b" APPEND INBOX {%d}\r\n" % SIZE)
    ln = r.line()
    if ln.startswith(b"+"):
        r.send(b"x" * 1000)
    return ln


def finish_upload(r, tag=b"u"):
    r.send(b"x" * (SIZE - 1000) + b"\r\n")
    return r.until_tag(tag)[-1]


def test_uploads_capped_per_user(fresh):
    s = fresh(extra_conf=CONF)
    s.start()
    s.add_user("bob", "pw")
    ups = [login(s, b"alice", b"secret") for _ in range(2)]
    for r in ups:
        assert start_upload(r).startswith(b"+ ")
    # the third of alice's: refused before its literal, the session goes on
    r3 = login(s, b"alice", b"secret")
    ln = start_upload(r3)
    assert ln.startswith(b"u NO [LIMIT]"), ln
    assert b"user" in ln
    assert s.wait_log("refused upload user=alice", "size=%d" % SIZE,
                      "limit=maxliteral_workers_user:2")
    assert r3.cmd(b"n", b"NOOP")[-1].startswith(b"n OK")
    # another user is not held back by alice's
    rb = login(s, b"bob", b"pw", source="127.0.0.5")
    assert start_upload(rb).startswith(b"+ ")
    assert finish_upload(rb).startswith(b"u OK")
    # one of alice's finishes: its slot is free again
    assert finish_upload(ups[0]).startswith(b"u OK")
    assert start_upload(r3).startswith(b"+ ")
    assert finish_upload(r3).startswith(b"u OK")
    assert finish_upload(ups[1]).startswith(b"u OK")
    # a worker that dies holding one gives it back (the kernel drops the
    # lock): a session that ends mid-upload
    r4 = login(s, b"alice", b"secret")
    assert start_upload(r4).startswith(b"+ ")
    gone = s.log_count("disconnect user=alice")
    r4.close()
    assert s.wait_log("disconnect user=alice", count=gone + 1)
    r5 = login(s, b"alice", b"secret")
    r6 = login(s, b"alice", b"secret")
    assert start_upload(r5).startswith(b"+ ")
    assert start_upload(r6).startswith(b"+ ")
    for r in (r5, r6):
        assert finish_upload(r).startswith(b"u OK")
    c = s.connect("alice", "secret")
    c.select("INBOX")
    assert c.search(None, "ALL")[1][0].split()[-1] == b"5"
    c.logout()


def test_uploads_capped_per_address_and_literal_plus(fresh):
    s = fresh(extra_conf=CONF)
    s.start()
    for u in ("u1", "u2", "u3", "u4"):
        s.add_user(u, "pw")
    src = "127.0.0.9"
    ups = [login(s, u, b"pw", src) for u in (b"u1", b"u2", b"u3")]
    for r in ups:
        assert start_upload(r).startswith(b"+ ")
    r4 = login(s, b"u4", b"pw", src)
    ln = start_upload(r4)
    assert ln.startswith(b"u NO [LIMIT]") and b"address" in ln, ln
    assert s.wait_log("refused upload user=u4 addr=" + src,
                      "limit=maxliteral_workers_addr:3")
    # LITERAL+: its bytes are on the way, so the answer is BYE
    r4.send(b"v APPEND INBOX {%d+}\r\n" % SIZE + b"x" * 2000)
    ln = r4.line()
    assert ln.startswith(b"* BYE [LIMIT]"), ln
    assert r4.closed()
    for r in ups:
        assert finish_upload(r).startswith(b"u OK")


def test_long_lines_capped_too(fresh):
    """an over-long line still being sent (skipped by its worker, which
    idled cannot take over) counts against the same caps: the next one
    is answered BYE [LIMIT] and closed"""
    s = fresh(extra_conf=CONF)
    s.start()
    held = [login(s, b"alice", b"secret") for _ in range(2)]
    for r in held:
        r.send(b"a NOOP " + b"x" * 20000)
        assert r.line().startswith(b"a BAD")
    r3 = login(s, b"alice", b"secret")
    r3.send(b"a NOOP " + b"x" * 20000)
    assert r3.line().startswith(b"a BAD")
    ln = r3.line()
    assert ln.startswith(b"* BYE [LIMIT]"), ln
    assert r3.closed()
    assert s.wait_log("refused upload user=alice", "skipping=1",
                      "limit=maxliteral_workers_user:2")
    # the held ones end their lines and go on
    for r in held:
        r.send(b"\r\n")
        assert r.cmd(b"n", b"NOOP")[-1].startswith(b"n OK")


def slot_files(s):
    d = os.path.join(s.dir, "conf", "slots")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_slot_files_last_while_held(fresh):
    """a slot's file is there while an upload holds it and gone when it
    ends, finished or cut off; files left by workers that died holding
    one are removed when master starts"""
    s = fresh(extra_conf=CONF)
    d = os.path.join(s.dir, "conf", "slots")
    os.makedirs(d, exist_ok=True)
    for name in ("u.gone.0", "u.gone.1", "a.127.0.0.77.0"):
        open(os.path.join(d, name), "w").close()
    s.start()
    assert s.wait_log("removed stale upload slots", "count=3")
    assert slot_files(s) == []
    r1 = login(s, b"alice", b"secret")
    r2 = login(s, b"alice", b"secret")
    assert start_upload(r1).startswith(b"+ ")
    assert start_upload(r2).startswith(b"+ ")
    assert slot_files(s) == ["a.127.0.0.1.0", "a.127.0.0.1.1",
                             "u.alice.0", "u.alice.1"]
    assert finish_upload(r1).startswith(b"u OK")
    assert slot_files(s) == ["a.127.0.0.1.1", "u.alice.1"]
    # one that ends mid-upload lets go of its files too
    gone = s.log_count("disconnect user=alice")
    r2.close()
    assert s.wait_log("disconnect user=alice", count=gone + 1)
    assert slot_files(s) == []
    # and the slots still count
    ups = [login(s, b"alice", b"secret") for _ in range(2)]
    for r in ups:
        assert start_upload(r).startswith(b"+ ")
    r3 = login(s, b"alice", b"secret")
    assert start_upload(r3).startswith(b"u NO [LIMIT]")
    for r in ups:
        assert finish_upload(r).startswith(b"u OK")
    assert slot_files(s) == []

"""idled: IDLE sessions parked by fd passing, resumed by changes or input."""
import os
import re
import signal
import subprocess
import time

from conftest import BUILD, deadline, wait_for
from raw import Raw

MSG = b"From: a@example.com\r\nSubject: push\r\n\r\nnew mail\r\n"


def idler(s, mailbox, tag=b"i1"):
    r = Raw(s.port)
    r.cmd(b"l", b"LOGIN alice secret")
    r.cmd(b"s", b"SELECT " + mailbox)
    r.send(tag + b" IDLE\r\n")
    assert r.line().startswith(b"+ ")
    return r


def test_idlers_cost_no_worker(fresh):
    s = fresh(prefork=2, maxchild=6).start()
    c = s.connect("alice", "secret")
    c.create("push")
    c.append("push", None, None, MSG)
    idlers = [idler(s, b"push") for _ in range(30)]
    # 30 sessions idle on at most 6 workers: they must be parked
    assert wait_for(lambda: s.logtext().count("park user=alice") >= 30)
    assert len(s.children()) <= 6
    c.append("push", None, None, MSG)
    for r in idlers:
        assert r.line() == b"* 2 EXISTS"
    for r in idlers:
        r.send(b"DONE\r\n")
        assert r.line().startswith(b"i1 OK")
        r.cmd(b"x", b"LOGOUT")
    c.logout()


def test_parked_idler_sees_expunge_and_flags(fresh):
    s = fresh().start()
    c = s.connect("alice", "secret")
    c.create("box")
    for _ in range(3):
        c.append("box", None, None, MSG)
    r = idler(s, b"box")
    assert wait_for(lambda: "park user=alice" in s.logtext())
    c.select("box")
    # changes while parked: expunge message 2, flag message 3, append
    c.store("2", "+FLAGS", r"(\Deleted)")
    c.expunge()
    c.store("2", "+FLAGS", r"(\Flagged)")
    c.append("box", None, None, MSG)
    got = set()
    end = time.time() + 10
    while time.time() < end and not {"exp", "flag", "exists"} <= got:
        ln = r.line()
        if ln == b"* 2 EXPUNGE":
            got.add("exp")
        elif ln.startswith(b"* 2 FETCH") and b"\\Flagged" in ln:
            got.add("flag")
        elif ln == b"* 3 EXISTS":
            got.add("exists")
        elif ln.startswith(b"* 2 FETCH") and b"\\Deleted" in ln and \
                "exp" not in got:
            pass    # the \Deleted flag, seen before the expunge
        else:
            assert False, ln
    assert got == {"exp", "flag", "exists"}
    # DONE pipelined with a command, after resumes
    r.send(b"DONE\r\nn1 NOOP\r\n")
    assert r.line().startswith(b"i1 OK")
    assert r.line().startswith(b"n1 OK")
    out = r.cmd(b"f1", b"FETCH 1:* (UID)")
    assert len([x for x in out if x.startswith(b"* ")]) == 3
    # a session resumed and re-parked leaves no copy of its socket in a
    # worker: LOGOUT really closes it
    r.send(b"i3 IDLE\r\n")
    assert r.line().startswith(b"+ ")
    c.append("box", None, None, MSG)
    assert r.line() == b"* 4 EXISTS"
    r.send(b"DONE\r\n")
    assert r.line().startswith(b"i3 OK")
    r.cmd(b"o1", b"LOGOUT")
    assert r.closed()


def test_idled_killed_restarts(fresh):
    s = fresh().start()
    c = s.connect("alice", "secret")
    c.create("k")
    assert wait_for(lambda: len(s.children("idled")) == 1)
    pids = s.children("idled")
    os.kill(pids[0], signal.SIGKILL)
    # while idled is down, IDLE is served by the worker
    r = idler(s, b"k")
    c.append("k", None, None, MSG)
    assert r.line() == b"* 1 EXISTS"
    assert r.line() == b"* 1 RECENT"   # the worker takes it as \Recent
    r.send(b"DONE\r\n")
    assert r.line().startswith(b"i1 OK")
    assert wait_for(lambda: len(s.children("idled")) == 1 and
                    s.children("idled") != pids, 15)
    # the new idled takes sessions once it listens
    assert s.wait_log("berth/idled[", "listening on", count=2)
    n = s.logtext().count("park user=alice")
    r.send(b"i2 IDLE\r\n")
    assert r.line().startswith(b"+ ")
    assert wait_for(lambda: s.logtext().count("park user=alice") > n)
    c.append("k", None, None, MSG)
    assert r.line() == b"* 2 EXISTS"
    r.send(b"DONE\r\n")
    assert r.line().startswith(b"i2 OK")


def test_per_user_cap_evicts_oldest_and_keepalive(fresh):
    # no session of alice's but the idlers is open while they park: one
    # waiting meanwhile is parked when clients queue (park_on_backlog),
    # whatever wait_park_delay says, and counts among her parked ones
    s = fresh(extra_conf="idled_maxuser: 3\nimapidlekeepalive: 1s\n"
              "wait_park_delay: 1h\n")
    s.start()
    c = s.connect("alice", "secret")
    c.create("cap")
    c.logout()

    def idle_parks():
        return sum(1 for ln in s.logtext().splitlines()
                   if "park user=alice" in ln and "kind=idle" in ln and
                   "unpark" not in ln)
    first = idler(s, b"cap")
    assert wait_for(lambda: idle_parks() >= 1)
    # the parked session is kept alive
    assert first.line() == b"* OK Still here"
    others = []
    for n in range(3):
        others.append(idler(s, b"cap"))
        assert wait_for(lambda: idle_parks() >= n + 2)
    # the fourth pushed out the oldest, not itself
    ln = first.line()
    while ln == b"* OK Still here":
        ln = first.line()
    assert ln.startswith(b"* BYE [LIMIT]"), ln
    assert first.closed()
    assert "limit=idled_maxuser:3" in s.logtext()
    c = s.connect("alice", "secret")
    c.append("cap", None, None, MSG)
    for r in others:
        ln = r.line()
        while ln == b"* OK Still here":
            ln = r.line()
        assert ln == b"* 1 EXISTS"


def test_idle_timeout_and_operator_view(fresh):
    import subprocess
    from conftest import BUILD
    s = fresh(extra_conf="imapidletimeout: 3s\nimapidlekeepalive: 0\n")
    s.start()
    c = s.connect("alice", "secret")
    c.create("t")
    # gone before the idler: a session left waiting between commands is
    # parked too once partial_park_delay passes (a slow machine)
    c.logout()
    r = idler(s, b"t")
    assert wait_for(lambda: "park user=alice addr=127.0.0.1 kind=idle"
                    in s.logtext())
    out = subprocess.run([os.path.join(BUILD, "tools", "berthctl"), "-C",
                          s.conf, "parked"], capture_output=True,
                         timeout=20)
    text = out.stdout.decode()
    assert out.returncode == 0, out.stderr
    assert "parked sessions: 1" in text, text
    assert re.search(r"idle +alice +127\.0\.0\.1 +t\n", text), text
    assert r.line() == b"* BYE Idle for too long"
    assert "limit=imapidletimeout" in s.logtext()


def test_done_idle_answered_by_idled(fresh):
    s = fresh().start()
    c = s.connect("alice", "secret")
    c.create("re")
    r = idler(s, b"re")
    assert wait_for(lambda: "park user=alice" in s.logtext())
    resumes = s.logtext().count("reason=client-input")
    r.send(b"DONE\r\ni2 IDLE\r\n")
    assert r.line().startswith(b"i1 OK")
    assert r.line().startswith(b"+ ")
    # a round trip through idled: had it handed the session to a worker
    # for that input, its unpark line is written by now
    assert s.parked() >= 1
    # no worker was woken for it, and the session still gets changes
    assert s.logtext().count("reason=client-input") == resumes
    c.append("re", None, None, MSG)
    assert r.line() == b"* 1 EXISTS"
    r.send(b"DONE\r\n")
    assert r.line().startswith(b"i2 OK")


def test_done_then_idle_separately_answered_by_idled(fresh):
    s = fresh().start()
    c = s.connect("alice", "secret")
    c.create("re2")
    r = idler(s, b"re2")
    # the idler's park (c, silent since CREATE, may park too: count only
    # the idler's wakes)
    idle = "kind=idle mailbox=re2 reason=client-input"
    assert wait_for(lambda: "kind=idle mailbox=re2 parked=" in s.logtext())
    resumes = s.logtext().count(idle)
    r.send(b"DONE\r\n")
    assert r.line().startswith(b"i1 OK")
    c.append("re2", None, None, MSG)     # between commands: held back
    r.send(b"i2 IDLE\r\n")
    assert r.line().startswith(b"+ ")
    # idling again: the change made in between is reported now, and
    # DONE and IDLE were answered by idled (no wake to a worker)
    assert r.line() == b"* 1 EXISTS"
    assert s.parked() >= 1      # a round trip through idled, as above
    assert s.logtext().count(idle) == resumes
    r.send(b"DONE\r\n")
    assert r.line().startswith(b"i2 OK")
    # a real command goes to a worker
    out = r.cmd(b"n1", b"NOOP")
    assert out[-1].startswith(b"n1 OK")


def test_silent_sessions_cost_no_worker(fresh):
    """logged-in sessions that send nothing for wait_park_delay are parked;
    the next command goes to a worker, which reports what changed
    meanwhile after it, as an unparked session would"""
    s = fresh(prefork=2, maxchild=6,
              extra_conf="wait_park_delay: 1s\n").start()
    c = s.connect("alice", "secret")
    c.create("quiet")
    for _ in range(3):
        c.append("quiet", None, None, MSG)
    rs = []
    for _ in range(20):
        r = Raw(s.port)
        assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
        assert r.cmd(b"s", b"SELECT quiet")[-1].startswith(b"s OK")
        rs.append(r)
    # 20 silent sessions (and c) on at most 6 workers: parked
    assert wait_for(lambda: s.parked() >= 20, 20), s.parked()
    assert len(s.children()) <= 6
    # while they are parked: expunge the first message, flag the second
    # (then the first), add a fourth
    c.select("quiet")
    c.store("1", "+FLAGS", r"(\Deleted)")
    c.expunge()
    c.store("1", "+FLAGS", r"(\Flagged)")
    c.append("quiet", None, None, MSG)
    for r in rs:
        out = r.cmd(b"n", b"NOOP")
        assert out[-1].startswith(b"n OK"), out
        assert b"* 1 EXPUNGE" in out and b"* 3 EXISTS" in out, out
        assert out.index(b"* 1 EXPUNGE") < out.index(b"* 3 EXISTS"), out
        assert any(ln.startswith(b"* 1 FETCH") and b"\\Flagged" in ln
                   for ln in out), out
    # the view is the one the client has: sequence numbers are right
    out = rs[0].cmd(b"f", b"FETCH 1:* (UID)")
    assert [ln for ln in out if ln.startswith(b"* ")] == [
        b"* 1 FETCH (UID 2)", b"* 2 FETCH (UID 3)", b"* 3 FETCH (UID 4)"], out
    # parked again, then a command with a synchronising literal
    assert wait_for(lambda: s.parked() >= 20, 20), s.parked()
    r = rs[1]
    r.send(b"a APPEND quiet {%d}\r\n" % len(MSG))
    assert r.line().startswith(b"+ ")
    r.send(MSG + b"\r\n")
    assert r.until_tag(b"a")[-1].startswith(b"a OK")
    # LOGOUT of a parked session is answered by idled
    assert wait_for(lambda: s.parked() >= 20, 20), s.parked()
    out = rs[2].cmd(b"z", b"LOGOUT")
    assert out[0] == b"* BYE berth logging out" and out[-1].startswith(
        b"z OK"), out
    c.logout()


def test_500_idlers_hold_no_worker(fresh):
    """500 sessions idle while the pool stays at prefork; new mail reaches
    every one (answered by idled), an expunge too (through workers)."""
    s = fresh(prefork=2, maxchild=20, maxidle=1,
              extra_conf="idled_maxuser: 1000\nidled_maxusernet: 1000\n")
    s.start()
    c = s.connect("alice", "secret")
    c.create("many")
    c.append("many", None, None, MSG)
    idlers = [idler(s, b"many") for _ in range(500)]
    assert wait_for(lambda: s.logtext().count("park user=alice") >= 500,
                    30)
    # master trims spare workers back to prefork once unneeded for
    # maxidle (1 s here); one
    # more serves c's own session
    assert wait_for(lambda: len(s.children()) <= 3, 20), s.children()
    c.append("many", None, None, MSG)
    for r in idlers:
        assert r.line() == b"* 2 EXISTS"
    assert len(s.children()) <= 3
    c.select("many")
    c.store("1", "+FLAGS", r"(\Deleted)")
    c.expunge()
    for r in idlers:
        ln = r.line()
        if ln.startswith(b"* 1 FETCH"):
            ln = r.line()
        assert ln == b"* 1 EXPUNGE", ln
    for r in idlers:
        r.send(b"DONE\r\nz LOGOUT\r\n")
    for r in idlers:
        assert r.line().startswith(b"i1 OK")
        assert r.line() == b"* BYE berth logging out"
        assert r.closed()
    c.logout()


def test_parked_sessions_survive_store_recovery(fresh):
    """A store that needs recovery (berthctl panic) is recovered by
    master; idled (which never opens it) keeps its sessions meanwhile.
    (A watchdog no longer causes a recovery: test_store_life.py.)"""
    s = fresh().start()
    c = s.connect("alice", "secret")
    c.create("rec")
    c.logout()
    r = idler(s, b"rec")
    assert wait_for(lambda: "park user=alice" in s.logtext())
    idled = s.children("idled")
    subprocess.run([os.path.join(BUILD, "tools", "berthctl"), "-C", s.conf,
                    "panic"], check=True, timeout=20)
    assert wait_for(lambda: "recovery done" in s.logtext(), 20)
    assert s.children("idled") == idled
    s.wait_ready()
    c = s.connect("alice", "secret")
    c.append("rec", None, None, MSG)
    assert r.line() == b"* 1 EXISTS"
    r.send(b"DONE\r\n")
    assert r.line().startswith(b"i1 OK")
    c.logout()


def test_malformed_messages_close_only_that_peer(fresh):
    """Garbage, a wrong version, a snapshot without fields (with an fd
    attached) on idled's sockets: idled closes that peer, the fd it was
    sent is closed, and parking still works."""
    import array
    import socket
    import struct
    s = fresh().start()
    c = s.connect("alice", "secret")
    c.create("mal")
    assert wait_for(lambda: len(s.children("idled")) == 1)
    idled = s.children("idled")
    sock = os.path.join(s.dir, "conf", "socket")
    victim_a, victim_b = socket.socketpair()

    def seqpacket(name):
        p = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        p.connect(os.path.join(sock, name))
        return p

    bad = [
        b"hello",                                       # too short
        struct.pack("=HHI", 9, 200, 8),                 # wrong version
        struct.pack("=HHI", 1, 200, 4000),              # bad length
        struct.pack("=HHI", 1, 200, 8),                 # PARK, no fields
    ]
    for msg in bad:
        p = seqpacket("idled")
        fds = array.array("i", [victim_b.fileno()])
        p.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
        p.settimeout(deadline(5))
        assert p.recv(100) == b""       # closed, no answer
        p.close()
    # change messages: garbage and a wrong version
    for msg in [b"x" * 10, struct.pack("=HH", 7, 1) + b"\0" * 40]:
        p = seqpacket("notify")
        p.send(msg)
        p.settimeout(deadline(5))
        assert p.recv(100) == b""
        p.close()
    # idled closed the copies it was sent: the pair's other end sees EOF
    victim_b.close()
    victim_a.settimeout(deadline(5))
    assert victim_a.recv(10) == b""
    assert s.children("idled") == idled
    r = idler(s, b"mal")
    assert wait_for(lambda: "park user=alice" in s.logtext())
    c.append("mal", None, None, MSG)
    assert r.line() == b"* 1 EXISTS"
    assert "malformed" in s.logtext()
    c.logout()


def test_stalled_idled_gets_the_session_not_two_servers(fresh):
    """idled stopped (SIGSTOP) while a session parks: the worker gives up
    waiting and leaves the client to idled, which serves it when it runs
    again; the client is never answered by two processes."""
    s = fresh().start()
    c = s.connect("alice", "secret")
    c.create("st")
    assert wait_for(lambda: len(s.children("idled")) == 1)
    idled = s.children("idled")[0]
    r = Raw(s.port)
    r.cmd(b"l", b"LOGIN alice secret")
    r.cmd(b"s", b"SELECT st")
    os.kill(idled, signal.SIGSTOP)
    try:
        r.send(b"i1 IDLE\r\n")
        assert r.line().startswith(b"+ ")
        assert wait_for(lambda: "did not acknowledge a park" in
                        s.logtext(), 10)
    finally:
        os.kill(idled, signal.SIGCONT)
    assert wait_for(lambda: "park user=alice" in s.logtext())
    c.append("st", None, None, MSG)
    assert r.line() == b"* 1 EXISTS"
    r.send(b"DONE\r\n")
    assert r.line().startswith(b"i1 OK")
    out = r.cmd(b"n", b"NOOP")
    # idled told EXISTS; the first worker to see the message takes it
    # as \Recent (RFC 3501 7.3.2)
    assert out == [b"* 1 RECENT", b"n OK NOOP completed"]
    c.logout()


def test_connections_that_do_not_log_in_are_parked(fresh):
    """40 connections that only take the greeting cost no worker; one
    then logs in through a worker; the rest are closed after
    idled_notauth_timeout"""
    s = fresh(prefork=2, maxchild=6,
              extra_conf="notauth_park_delay: 200ms\n"
                         "idled_notauth_timeout: 3s\n").start()
    quiet = [Raw(s.port) for _ in range(40)]
    assert wait_for(lambda: s.logtext().count("kind=notauth") >= 40, 15)
    assert len(s.children()) <= 6
    r = quiet.pop()
    out = r.cmd(b"l", b"LOGIN alice secret")
    assert out[-1].startswith(b"l OK"), out
    assert r.cmd(b"n", b"NOOP")[-1].startswith(b"n OK")
    for q in quiet:
        assert q.line().startswith(b"* BYE")
        assert q.closed()
    assert "limit=idled_notauth_timeout" in s.logtext()
    r.cmd(b"o", b"LOGOUT")

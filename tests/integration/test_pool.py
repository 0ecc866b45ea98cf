"""master's worker pool: a trimmed worker never takes a client's session
with it (srv.h SRV_TRIM_SIGNAL)."""
import os
import re
import signal
import time

from conftest import wait_for
from poll import free_port
from raw import Raw


def worker_of(s, user):
    """the pid of the imapd that logged user in (its log line's ident)"""
    m = re.findall(r"berth/imapd\[(\d+)\]: \w+: login user=" + user + " ",
                   s.logtext())
    return int(m[-1]) if m else None


def test_trim_spares_the_session_being_served(fresh):
    """master trims a worker it counts ready; that worker may just have
    taken a client.  The trim is obeyed when the worker next waits for a
    client: the session goes on to its end, then the worker exits (not
    killed, not an error) and master replaces it."""
    # the session stays in its worker (never parked meanwhile)
    s = fresh(prefork=1, extra_conf="wait_park_delay: 0\n"
              "notauth_park_delay: 0\npark_on_backlog: no\n").start()
    r = Raw(s.port)
    assert r.cmd(b"a", b"LOGIN alice secret")[-1].startswith(b"a OK")
    assert wait_for(lambda: worker_of(s, "alice"))
    pid = worker_of(s, "alice")
    assert pid in s.children()
    os.kill(pid, signal.SIGUSR1)
    # the session is untouched: no BYE, commands answered
    assert r.cmd(b"b", b"NOOP")[-1] == b"b OK NOOP completed"
    assert r.cmd(b"c", b"SELECT INBOX")[-1].startswith(b"c OK")
    assert pid in s.children()
    lines = r.cmd(b"d", b"LOGOUT")
    assert lines[0].startswith(b"* BYE") and lines[-1].startswith(b"d OK")
    assert r.closed()
    # then it goes, and master keeps prefork with a new one
    assert wait_for(lambda: pid not in s.children())
    assert wait_for(lambda: len(s.children()) >= 1)
    log = s.logtext()
    assert f"pid={pid} killed" not in log, log
    assert f"pid={pid} exited with" not in log, log
    assert "stopping session" not in log, log


def test_slow_starter_is_not_killed(fresh):
    """A worker slow to report ready (a loaded machine) is not SIGKILLed:
    a kill inside the store's open makes failchk ask for recovery, which
    stops every session.  master runs failchk (which reclaims what dead
    processes held) and leaves the starter alone."""
    s = fresh()
    slow = os.path.join(s.dir, "slowstart")
    with open(slow, "w") as f:
        f.write("#!/bin/sh\nexec sleep 600\n")
    os.chmod(slow, 0o755)
    port = free_port()
    s.write_master(extra=f'  slow          cmd="{slow}" '
                   f'listen="127.0.0.1:{port}" prefork=1 maxchild=1\n')
    s.start()
    assert wait_for(lambda: s.children("sleep"))
    pid = s.children("sleep")[0]
    assert s.wait_log(f"pid={pid} not ready after", "checking the mail "
                      "store", timeout=20), s.logtext()
    # the mail service is unaffected, and the starter is still there
    c = s.connect("alice", "secret")
    c.select("INBOX")
    c.logout()
    assert pid in s.children("sleep")
    log = s.logtext()
    assert f"pid={pid} killed" not in log, log
    assert "needs recovery" not in log, log


# sessions stay in the worker that took them (never parked meanwhile)
HELD = "wait_park_delay: 0\nnotauth_park_delay: 0\npark_on_backlog: no\n"


def burst(s, n):
    """n clients each logged in and held by a worker"""
    rs = [Raw(s.port) for _ in range(n)]
    for r in rs:
        assert r.greeting.startswith(b"* OK"), r.greeting
        r.send(b"a LOGIN alice secret\r\n")
    for r in rs:
        assert r.until_tag(b"a")[-1].startswith(b"a OK")
    return rs


def test_pool_kept_across_bursts_then_trimmed(fresh):
    """A pool grown by a burst serves the next burst with the same
    workers when it comes within maxidle (no fork, no trim: a worker's
    start costs tens of ms of CPU); once the load has not needed the
    surplus for maxidle, it goes back to prefork, each worker ending
    cleanly."""
    s = fresh(prefork=1, maxchild=8, extra_conf=HELD).start()
    rs = burst(s, 5)
    # 5 held and a ready one on top
    assert wait_for(lambda: len(s.children()) >= 6)
    for r in rs:
        r.cmd(b"z", b"LOGOUT")
        r.close()
    grown = set(s.children())
    # a pause well within maxidle (60 s by default), longer than any
    # trimming window the pool used to have (half the surplus after 2 s)
    time.sleep(5)
    rs = burst(s, 4)
    assert set(s.children()) == grown, (grown, s.children())
    for r in rs:
        r.cmd(b"z", b"LOGOUT")
        r.close()
    # a short maxidle on reload: the surplus goes, one a second
    s.maxidle = 1
    s.write_master()
    os.kill(s.proc.pid, signal.SIGHUP)
    assert wait_for(lambda: len(s.children()) == 1, 30), s.children()
    log = s.logtext()
    for pid in grown:
        assert f"pid={pid} killed" not in log, log
        assert f"pid={pid} exited with" not in log, log
    # and it stays there: prefork is never trimmed
    c = s.connect("alice", "secret")
    c.logout()

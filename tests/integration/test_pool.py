"""master's worker pool: a trimmed worker never takes a client's session
with it (srv.h SRV_TRIM_SIGNAL)."""
import os
import re
import signal

from conftest import wait_for
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

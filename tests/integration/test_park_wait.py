"""A worker waiting for a session's next command: it sleeps in one
blocking wait (no polling for clients queued on its listeners), and a
session idled did not take is offered again rather than kept in the
worker for the whole timeout (imapd_session.c imapd_wait_input)."""
import os

from conftest import wait_for
from raw import Raw


def server_inode(client):
    """the inode of the server's end of a loopback TCP connection"""
    port = client.s.getsockname()[1]
    with open("/proc/net/tcp") as f:
        for ln in f.readlines()[1:]:
            fields = ln.split()
            if int(fields[2].split(":")[1], 16) == port:
                return fields[9]
    return None


def worker_of(s, client):
    """the pid of the imapd serving client"""
    want = f"socket:[{server_inode(client)}]"
    for pid in s.children():
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == want:
                    return pid
        except OSError:
            continue
    return None


def wakeups(pid):
    """how often pid has gone to sleep and woken (voluntary context
    switches)"""
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("voluntary_ctxt_switches:"):
                return int(ln.split()[1])
    return None


def test_waiting_worker_sleeps_until_it_parks(fresh):
    """with park_on_backlog on, a logged-in session between commands
    keeps its worker asleep until wait_park_delay parks it; the worker
    used to look for queued clients every 10 ms (300 wake-ups in 3 s)"""
    s = fresh(prefork=1, extra_conf="wait_park_delay: 3s\n"
              "park_on_backlog: yes\n").start()
    r = Raw(s.port)
    assert r.cmd(b"a", b"LOGIN alice secret")[-1].startswith(b"a OK")
    pid = worker_of(s, r)
    assert pid is not None
    before = wakeups(pid)
    assert s.wait_log("park user=alice", "kind=wait", timeout=30), \
        s.logtext()
    woke = wakeups(pid) - before
    assert woke < 60, woke
    # parked, and served again at the next command
    assert r.cmd(b"b", b"NOOP")[-1].startswith(b"b OK")
    r.cmd(b"z", b"LOGOUT")


def test_park_offered_again_after_idled_was_away(fresh):
    """idled could not be reached when a silent connection was due to
    park: it is offered again and parked once idled is back, instead of
    holding its worker until the timeout"""
    s = fresh(prefork=1, extra_conf="notauth_park_delay: 300ms\n").start()
    sock = os.path.join(s.dir, "conf", "socket", "idled")
    os.rename(sock, sock + ".away")
    try:
        r = Raw(s.port)
        assert s.wait_log("idled unavailable", timeout=20), s.logtext()
    finally:
        os.rename(sock + ".away", sock)
    assert wait_for(lambda: s.parked() == 1, 20), s.logtext()
    assert s.log_count("park user=- addr=127.0.0.1 kind=notauth") == 1
    assert r.cmd(b"a", b"LOGIN alice secret")[-1].startswith(b"a OK")
    r.cmd(b"z", b"LOGOUT")

"""authd: admission limits, connection accounting, maxlogins_*."""
import os
import signal
import time

from raw import Raw
from test_master import wait_for


def greeted(r):
    return r.greeting.startswith(b"* OK")


def test_maxconns_per_address(fresh):
    s = fresh(extra_conf="authd_maxconns_addr: 3\n").start()
    held = [Raw(s.port, source="127.0.0.5") for _ in range(3)]
    assert all(greeted(r) for r in held)
    r = Raw(s.port, source="127.0.0.5")
    assert r.greeting.startswith(b"* BYE [UNAVAILABLE] Too many "
                                 b"connections"), r.greeting
    assert r.closed()
    assert "refuse addr=127.0.0.5 limit=authd_maxconns_addr" in \
        s.logtext()
    # another address is not affected
    other = Raw(s.port, source="127.0.0.6")
    assert greeted(other)
    # a closed connection frees its place
    held.pop().cmd(b"l", b"LOGOUT")
    assert wait_for(lambda: greeted(Raw(s.port, source="127.0.0.5")))


def test_maxconns_per_network(fresh):
    s = fresh(extra_conf="authd_maxconns_net: 2\n").start()
    a = Raw(s.port, source="127.0.7.1")
    b = Raw(s.port, source="127.0.7.2")
    assert greeted(a) and greeted(b)
    c = Raw(s.port, source="127.0.7.3")
    assert c.greeting.startswith(b"* BYE [UNAVAILABLE]"), c.greeting
    assert "limit=authd_maxconns_net" in s.logtext()
    assert greeted(Raw(s.port, source="127.0.8.3"))


def test_connection_rate(fresh):
    s = fresh(extra_conf="authd_maxrate_addr: 3\n"
              "authd_rate_window: 1m\n").start()
    for _ in range(3):
        r = Raw(s.port, source="127.0.0.9")
        assert greeted(r)
        r.close()
    r = Raw(s.port, source="127.0.0.9")
    assert r.greeting.startswith(b"* BYE [UNAVAILABLE] Too many new"), \
        r.greeting
    assert "limit=authd_maxrate_addr" in s.logtext()


def login(s, source, user=b"alice", pw=b"secret", tag=b"l"):
    r = Raw(s.port, source=source)
    return r, r.cmd(tag, b"LOGIN " + user + b" " + pw)[-1]


def test_maxlogins_per_user(fresh):
    s = fresh(extra_conf="maxlogins_per_user: 2\n").start()
    a, ra = login(s, "127.0.0.10")
    b, rb = login(s, "127.0.0.11")
    assert ra.startswith(b"l OK") and rb.startswith(b"l OK")
    c, rc = login(s, "127.0.0.12")
    assert rc.startswith(b"l NO [LIMIT]"), rc
    assert "limit=maxlogins_per_user:2" in s.logtext()
    # still not logged in: it may try again once a session ends
    a.cmd(b"o", b"LOGOUT")
    assert wait_for(lambda: c.cmd(b"l2", b"LOGIN alice secret")[-1]
                    .startswith(b"l2 OK"))


def test_maxlogins_per_host(fresh):
    s = fresh(extra_conf="maxlogins_per_host: 1\n").start()
    s.add_user("bob", "pw")
    a, ra = login(s, "127.0.0.20")
    assert ra.startswith(b"l OK")
    b, rb = login(s, "127.0.0.20")
    assert rb.startswith(b"l NO [LIMIT]"), rb
    assert "limit=maxlogins_per_host:1" in s.logtext()
    # the same user elsewhere, or another user here, is fine
    assert login(s, "127.0.0.21")[1].startswith(b"l OK")
    assert login(s, "127.0.0.20", b"bob", b"pw")[1].startswith(b"l OK")


def test_counts_replayed_after_authd_restart(fresh):
    s = fresh(extra_conf="authd_maxconns_addr: 2\n").start()
    a = Raw(s.port, source="127.0.0.30")
    b = Raw(s.port, source="127.0.0.30")
    assert greeted(a) and greeted(b)
    assert wait_for(lambda: len(s.children("authd")) == 1)
    old = s.children("authd")
    os.kill(old[0], signal.SIGKILL)
    assert wait_for(lambda: s.children("authd") not in ([], old), 15)
    # the holders tell the new authd what they hold on their next call
    for r in (a, b):
        assert r.cmd(b"c", b"CAPABILITY")[-1].startswith(b"c OK")
    r = Raw(s.port, source="127.0.0.30")
    assert r.greeting.startswith(b"* BYE [UNAVAILABLE]"), r.greeting
    a.cmd(b"o", b"LOGOUT")
    assert wait_for(lambda: greeted(Raw(s.port, source="127.0.0.30")))

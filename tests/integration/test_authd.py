"""authd: admission limits, connection accounting, maxlogins_*."""
import os
import signal

import pytest

from fakeauthd import FakeSaslauthd
from raw import Raw
from conftest import wait_for


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
    # the holders tell the new authd what they hold once it is up, while
    # their clients say nothing: a third connection is refused again
    def refused():
        r = Raw(s.port, source="127.0.0.30")
        g = r.greeting
        r.close()
        return g.startswith(b"* BYE [UNAVAILABLE]")
    assert wait_for(refused, 15)
    for r in (a, b):
        assert r.cmd(b"c", b"NOOP")[-1].startswith(b"c OK")
    a.cmd(b"o", b"LOGOUT")
    assert wait_for(lambda: greeted(Raw(s.port, source="127.0.0.30")))


def slow_backend(fresh, delay=0.0, hang=(), conf=""):
    """a server whose password checks go to a fake saslauthd"""
    import tempfile
    from conftest import Server
    d = tempfile.mkdtemp(prefix="berth-sa-")
    os.chmod(d, 0o755)
    fake = FakeSaslauthd(os.path.join(d, "mux"),
                         {"alice": "secret", "bob": "hunter2"}, delay, hang)
    s = fresh(extra_conf="sasl_pwcheck_method: saslauthd\n"
              f"sasl_saslauthd_path: {fake.path}\n" + conf)
    s.fake = fake
    return s, fake


def send_logins(s, n, user=b"alice", pw=b"secret", source="127.0.0.40"):
    rs = []
    for i in range(n):
        r = Raw(s.port, timeout=30, source=source)
        r.send(b"l LOGIN " + user + b" " + pw + b"\r\n")
        rs.append(r)
    return rs


def test_shed_when_queue_full(fresh):
    # each check holds the one thread 3 s: the six logins, sent back to
    # back, must all reach authd within that for the queue to fill (at
    # 1 s a check they spread past it at load 40)
    s, fake = slow_backend(fresh, delay=3.0, conf="authd_backend_threads: 1\n"
                           "authd_queue_max: 2\n")
    try:
        s.start()
        rs = send_logins(s, 6)
        out = [r.until_tag(b"l")[-1] for r in rs]
        ok = [o for o in out if o.startswith(b"l OK")]
        shed = [o for o in out if o.startswith(b"l NO [UNAVAILABLE]")]
        assert len(ok) + len(shed) == 6, out
        assert len(shed) >= 2 and len(ok) >= 2, out
        assert "reason=queue-full" in s.logtext()
        # shed requests never reached the backend
        assert fake.checks == len(ok)
    finally:
        fake.stop()


def test_shed_after_queue_deadline(fresh):
    # the first check holds the one thread 3 s, so the others wait past
    # the 1 s deadline unless they reach authd 2 s apart (at 0.8 s a
    # check, arriving 0.6 s apart at load 40 was enough to shed none)
    s, fake = slow_backend(fresh, delay=3.0, conf="authd_backend_threads: 1\n"
                           "authd_queue_timeout: 1s\n")
    try:
        s.start()
        rs = send_logins(s, 4)
        out = [r.until_tag(b"l")[-1] for r in rs]
        assert any(o.startswith(b"l NO [UNAVAILABLE]") for o in out), out
        assert any(o.startswith(b"l OK") for o in out), out
        # shed for the deadline, and never sent to the backend
        assert "reason=deadline" in s.logtext()
        assert fake.checks == sum(o.startswith(b"l OK") for o in out)
    finally:
        fake.stop()


def test_hung_backend_times_out_and_others_go_on(fresh):
    s, fake = slow_backend(fresh, hang={"carol"},
                           conf="authd_backend_threads: 1\n"
                           "authd_backend_timeout: 1s\n")
    try:
        s.start()
        r = Raw(s.port, timeout=30, source="127.0.0.41")
        out = r.cmd(b"h", b"LOGIN carol whatever")
        # answered although the backend never answers: by the timeout
        assert out[-1].startswith(b"h NO [UNAVAILABLE]"), out
        assert "reason=backend-timeout" in s.logtext()
        # the stuck thread is replaced: other logins go on
        r2 = Raw(s.port, timeout=30, source="127.0.0.42")
        assert r2.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
        assert "backend thread added" in s.logtext()
        # and the session that timed out may try again
        assert r.cmd(b"n", b"NOOP")[-1].startswith(b"n OK")
    finally:
        fake.stop()


def test_counts_freed_when_a_parked_session_closes(fresh):
    s = fresh(extra_conf="authd_maxconns_addr: 2\n"
              "authd_delay_base: 300ms\nauthd_box_addr: 100\n").start()
    for i in range(3):
        r = Raw(s.port, source="127.0.15.1")
        assert greeted(r), r.greeting
        r.send(b"a LOGIN alice wrong\r\n")
        # parked in idled for the delay; the client goes away meanwhile
        assert wait_for(lambda: s.parked() == 1)
        r.close()
        assert wait_for(lambda: s.parked() == 0)
    assert greeted(Raw(s.port, source="127.0.15.1"))


def test_logins_waiting_for_a_slow_backend_hold_no_worker(fresh):
    """60 logins (LOGIN and AUTHENTICATE PLAIN with SASL-IR) against a
    backend that takes a second a check: while authd checks, the sessions
    wait in idled, not in workers; every one logs in and works, and a
    wrong password is delayed and answered from idled too"""
    import base64
    # 61 sessions of alice from one /24: once logged in, those not yet
    # read park (park_on_backlog) and would pass idled_maxusernet (40)
    # on a slow run, evicting the oldest; the cap is not under test
    s, fake = slow_backend(fresh, delay=1.0,
                           conf="authd_backend_threads: 60\n"
                           "authd_delay_base: 300ms\n"
                           "idled_maxusernet: 100\n")
    # room for every session to hold a worker once logged in: what is
    # checked is that none holds one while its password is checked
    s.prefork, s.maxchild = 2, 80
    s.write_master()
    s.start()
    try:
        # idled's link to authd is made by its first hold or tick; a
        # login parks only once it is up
        assert s.wait_log("peer role=idled"), s.logtext()
        # the backend holds every check until the workers are counted
        fake.released.clear()
        rs = []
        for i in range(60):
            r = Raw(s.port, timeout=30, source="127.0.9.%d" % (i + 1))
            if i % 2:
                ir = base64.b64encode(b"\0alice\0secret")
                r.send(b"l AUTHENTICATE PLAIN " + ir + b"\r\n")
            else:
                r.send(b"l LOGIN alice secret\r\n")
            rs.append(r)
        bad = Raw(s.port, timeout=30, source="127.0.9.200")
        bad.send(b"l LOGIN alice wrong\r\n")
        # the checks are under way (60 threads: the 61st queued in
        # authd): the 61 logins hold no worker meanwhile
        assert wait_for(lambda: fake.checks >= 60, 30), fake.checks
        assert len(s.children()) <= 6, len(s.children())
        fake.released.set()
        for r in rs:
            ln = r.line()
            assert ln.startswith(b"l OK [CAPABILITY"), ln
            out = r.cmd(b"s", b"SELECT INBOX")
            assert out[-1].startswith(b"s OK"), out
            r.cmd(b"o", b"LOGOUT")
        assert bad.line().startswith(b"l NO [AUTHENTICATIONFAILED]")
        assert bad.cmd(b"l2", b"LOGIN alice secret")[-1].startswith(
            b"l2 OK")
        assert "login user=alice addr=127.0.9.1 mech=PLAIN" in s.logtext()
    finally:
        fake.stop()


def test_login_while_idled_is_stalled(fresh):
    """idled stopped while a LOGIN parks: the worker leaves the session to
    it; once idled runs again the client is told to try again, and can"""
    s = fresh().start()
    assert wait_for(lambda: len(s.children("idled")) == 1)
    assert s.wait_log("peer role=idled"), s.logtext()
    r0 = Raw(s.port)
    assert r0.cmd(b"a", b"LOGIN alice secret")[-1].startswith(b"a OK")
    idled = s.children("idled")[0]
    os.kill(idled, signal.SIGSTOP)
    try:
        r = Raw(s.port, timeout=30)
        r.send(b"l LOGIN alice secret\r\n")
        assert wait_for(lambda: "did not acknowledge a park" in
                        s.logtext(), 10)
    finally:
        os.kill(idled, signal.SIGCONT)
    assert r.line().startswith(b"l NO [UNAVAILABLE]")
    assert r.cmd(b"m", b"LOGIN alice secret")[-1].startswith(b"m OK")

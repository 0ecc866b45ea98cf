"""The pre-login front: while no worker is ready, master hands new clients
to idled, which admits them through authd, greets them and holds them
until their first command, which a worker then takes.  A client never
waits in the listen backlog for a worker (master_front.c,
idled_front.c)."""
import re
import socket

from conftest import wait_for
from raw import Raw
from test_tls import TlsRaw, client_ctx
from test_proxy import CONF as PROXY_CONF, V2_LOCAL, gone, proxied, v1, v2
from test_proxy import start as proxy_start

BIG = 100000  # an APPEND literal idled cannot hold: it keeps its worker


def conn(s):
    """a greeted client (behind a LOCAL header where the service takes
    PROXY headers)"""
    if not getattr(s, "proxy", False):
        return Raw(s.port)
    r = Raw.nogreeting(s.port)
    r.send(V2_LOCAL)
    r.greeting = r.line()
    return r


def hold_worker(s, user, password):
    """a logged-in client in the middle of a large APPEND: its worker
    reads the literal and cannot be parked (over implicit TLS where the
    server has TLS: its plaintext logins may be refused)"""
    r = TlsRaw(s) if s.tls_port else conn(s)
    assert r.cmd(b"a", b"LOGIN " + user + b" " + password)[-1].startswith(
        b"a OK")
    r.send(b"h APPEND INBOX {%d}\r\n" % BIG)
    assert r.line().startswith(b"+ ")
    r.send(b"Subject: held\r\n\r\n" + b"x" * 1000)
    return r


def release(r):
    """finish the held APPEND and log out"""
    r.send(b"x" * (BIG - 1000 - len(b"Subject: held\r\n\r\n")) + b"\r\n")
    assert r.until_tag(b"h")[-1].startswith(b"h OK"), "append"
    r.cmd(b"z", b"LOGOUT")
    r.close()


def caps(greeting):
    m = re.match(rb"\* OK \[CAPABILITY ([^\]]*)\] ", greeting)
    assert m, greeting
    return m.group(1)


def busy_server(fresh, extra="", proxy=False, **kw):
    """maxchild=2 and both workers held by clients mid-command"""
    s = fresh(prefork=1, maxchild=2, extra_conf=extra, **kw)
    s.add_user("bob", "hunter2")
    s.proxy = proxy
    if proxy:
        proxy_start(s)
        assert s.wait_log("berth/idled[", "listening on", timeout=15)
    else:
        s.start()
    first = conn(s)  # a worker's greeting, to compare
    worker_caps = caps(first.greeting)
    first.cmd(b"z", b"LOGOUT")
    holders = [hold_worker(s, b"alice", b"secret"),
               hold_worker(s, b"bob", b"hunter2")]
    assert s.wait_log("service=imap maxchild=2 reached", timeout=20), \
        s.logtext()
    return s, holders, worker_caps


def test_greeting_while_every_worker_is_busy(fresh):
    """every worker is held mid-command: a new client is greeted at once
    (by idled, with the capabilities a worker sends), and its login is
    served as soon as a worker is free"""
    s, holders, worker_caps = busy_server(fresh)
    n = s.log_count("front=idled")
    r = Raw(s.port)
    assert caps(r.greeting) == worker_caps
    # greeted while both holders still hold their workers
    assert s.log_count("front=idled") == n + 1
    assert len(s.children()) == 2
    r.send(b"c LOGIN alice secret\r\n")
    release(holders[0])
    assert r.until_tag(b"c")[-1].startswith(b"c OK"), s.logtext()
    assert r.cmd(b"d", b"SELECT INBOX")[-1].startswith(b"d OK")
    r.cmd(b"z", b"LOGOUT")
    release(holders[1])


def test_front_pipelined_and_partial_commands(fresh):
    """a fronted client's unfinished command waits in idled (no worker),
    and commands sent in one go are all answered once a worker is free"""
    s, holders, _ = busy_server(fresh)
    r = Raw(s.port)
    r.send(b"a CAPABILITY\r\nb LOGIN alice sec")
    release(holders[0])
    out = r.until_tag(b"a")
    assert out[0].startswith(b"* CAPABILITY ") and out[-1].startswith(
        b"a OK"), out
    r.send(b"ret\r\nc NOOP\r\n")
    assert r.until_tag(b"b")[-1].startswith(b"b OK")
    assert r.until_tag(b"c")[-1].startswith(b"c OK")
    release(holders[1])


def test_front_admission_refused_before_greeting(fresh):
    """per-address limits apply to clients idled greets: over the limit
    the first line is the BYE, never a greeting"""
    s, holders, _ = busy_server(fresh, "authd_maxconns_addr: 2\n")
    held = [Raw(s.port, source="127.0.0.7") for _ in range(2)]
    assert all(h.greeting.startswith(b"* OK") for h in held)
    assert s.log_count("front=idled") >= 2
    r = Raw(s.port, source="127.0.0.7", timeout=30)
    assert r.greeting.startswith(b"* BYE [UNAVAILABLE] Too many "
                                 b"connections"), r.greeting
    assert r.closed()
    assert "refuse addr=127.0.0.7 limit=authd_maxconns_addr" in s.logtext()
    # a fronted client that goes frees its place
    held.pop().close()
    assert wait_for(lambda: Raw(s.port, source="127.0.0.7").greeting
                    .startswith(b"* OK"), 20)
    for h in holders:
        release(h)


def test_front_too_long_line_refused_without_worker(fresh):
    """the pre-login limits hold in the front: an over-long first line is
    refused by idled while every worker is busy"""
    s, holders, _ = busy_server(fresh)
    r = Raw(s.port)
    r.send(b"a LOGIN " + b"x" * 9000 + b"\r\n")
    assert r.line().startswith(b"* BYE Command line too long"), s.logtext()
    for h in holders:
        release(h)


def test_front_proxy_protocol(fresh):
    """a service behind a load balancer: idled reads the PROXY header of
    the clients it greets, and the real address is what authd and the
    logs see"""
    s, holders, _ = busy_server(fresh, PROXY_CONF, proxy=True)
    r = proxied(s, v1("192.0.2.44", 4000))
    assert r.greeting.startswith(b"* OK"), r.greeting
    assert wait_for(lambda: "connect addr=192.0.2.44 port=4000 front=idled"
                    in s.logtext())
    r2 = proxied(s, v2("2001:db8::9", 4001))
    assert r2.greeting.startswith(b"* OK"), r2.greeting
    assert "connect addr=2001:db8::9 port=4001 front=idled" in s.logtext()
    # an untrusted source is refused without a greeting
    bad = Raw.nogreeting(s.port, source="127.0.1.5")
    bad.send(v1("192.0.2.45", 4002))
    assert gone(bad)
    assert "refused addr=127.0.1.5 limit=proxy_protocol" in s.logtext()
    r.send(b"l LOGIN alice secret\r\n")
    release(holders[0])
    assert r.until_tag(b"l")[-1].startswith(b"l OK")
    assert wait_for(lambda: re.search(
        r"login user=alice addr=192\.0\.2\.44 ", s.logtext()))
    release(holders[1])


def test_front_literals_refused_before_read(fresh):
    """a fronted client announcing a literal over maxliteral_preauth is
    refused before any byte of it is read, while every worker is busy: a
    synchronizing one with a tagged BAD and no continuation (the session
    goes on), a LITERAL+ one with BYE"""
    s, holders, _ = busy_server(fresh)
    r = Raw(s.port)
    r.send(b"a LOGIN {60000000}\r\n")
    ln = r.line()
    assert ln.startswith(b"a BAD [TOOBIG] "), ln
    assert r.cmd(b"z", b"LOGOUT")[-1].startswith(b"z OK")
    r2 = Raw(s.port)
    r2.send(b"b LOGIN {60000000+}\r\n" + b"x" * 4000)
    assert r2.line().startswith(b"* BYE [TOOBIG] "), s.logtext()
    assert r2.closed()
    assert s.log_count("refused literal too big user=- addr=127.0.0.1 "
                       "limit=maxliteral_preauth") == 2
    assert s.log_count("front=idled") >= 2
    for h in holders:
        release(h)


def test_front_half_lines_hold_no_worker(fresh):
    """fronted clients that stop inside their first command (a half line,
    a partial literal) wait in idled: once workers are free again they
    take none, and each is served when it finishes its command"""
    s, holders, _ = busy_server(fresh)
    halves = [Raw(s.port) for _ in range(6)]
    for i, h in enumerate(halves):
        h.send(b"h LOGIN alice" if i % 2 else b"h LOGIN {5}\r\nali")
    for i, h in enumerate(halves):
        if i % 2 == 0:
            assert h.line().startswith(b"+ "), s.logtext()
    for h in holders:
        release(h)
    # the holders logged out; idled still holds every unfinished one
    assert wait_for(lambda: s.parked() == len(halves), 30), s.logtext()
    for i, h in enumerate(halves):
        h.send(b" secret\r\n" if i % 2 else b"ce secret\r\n")
        assert h.until_tag(b"h")[-1].startswith(b"h OK"), s.logtext()
        h.cmd(b"z", b"LOGOUT")


def test_front_tls_capabilities_and_starttls(fresh):
    """with TLS and plaintext logins refused, the greeting idled sends
    lists STARTTLS and LOGINDISABLED as a worker's does, and STARTTLS
    from a fronted client goes through tlsd once a worker is free"""
    s, holders, worker_caps = busy_server(fresh, tls=True,
                                          allowplaintext=False)
    assert b" STARTTLS" in worker_caps and b" LOGINDISABLED" in worker_caps
    n = s.log_count("front=idled")
    r = Raw(s.port)
    assert caps(r.greeting) == worker_caps
    assert s.log_count("front=idled") == n + 1
    r.send(b"t STARTTLS\r\n")
    release(holders[0])
    assert r.line().startswith(b"t OK Begin TLS negotiation now")
    r.s = client_ctx(s).wrap_socket(r.s, server_hostname="localhost")
    out = r.cmd(b"c", b"CAPABILITY")
    assert b"LOGINDISABLED" not in out[0] and b"STARTTLS" not in out[0]
    assert b"AUTH=PLAIN" in out[0], out
    assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
    r.cmd(b"z", b"LOGOUT")
    release(holders[1])

"""A stalled SASL exchange costs no worker: an AUTHENTICATE whose client
owes its next response is parked in idled after partial_park_delay while
authd keeps the exchange under the connection's id; the worker that takes
the session back when the response comes goes on where the first one
stopped."""
import base64

from raw import Raw
from test_master import wait_for
from test_sasl import MECHS, scram

CONF = "partial_park_delay: 100ms\n" + MECHS


def b64(b):
    return base64.b64encode(b)


def parked_at_least(s, n, timeout=30):
    return wait_for(lambda: s.parked() >= n, timeout)


def stall_plain(s, tag=b"a"):
    """a connection stopped after AUTHENTICATE PLAIN's "+" """
    r = Raw(s.port, timeout=20)
    r.send(tag + b" AUTHENTICATE PLAIN\r\n")
    assert r.line().startswith(b"+"), tag
    return r


def stall_login(s, tag=b"a", user=b"alice"):
    """a connection stopped inside AUTHENTICATE LOGIN after the user
    name, where the password is asked for"""
    r = Raw(s.port, timeout=20)
    r.send(tag + b" AUTHENTICATE LOGIN\r\n")
    assert r.line().startswith(b"+ "), tag
    r.send(b64(user) + b"\r\n")
    assert r.line().startswith(b"+ "), tag
    return r


def test_stalled_authenticate_costs_no_worker(fresh):
    """40 exchanges stalled inside AUTHENTICATE PLAIN and LOGIN on four
    workers are all parked; a normal client logs in meanwhile; finished
    later, they log in (or fail, or cancel) as if never parked"""
    s = fresh(prefork=2, maxchild=4, extra_conf=CONF).start()
    plain = [stall_plain(s) for _ in range(20)]
    login = [stall_login(s) for _ in range(20)]
    assert parked_at_least(s, 40), s.parked()
    assert len(s.children()) <= 4
    c = s.connect("alice", "secret")
    assert c.noop()[0] == "OK"
    c.logout()
    # finished: PLAIN and LOGIN log in
    plain[0].send(b64(b"\0alice\0secret") + b"\r\n")
    out = plain[0].until_tag(b"a")
    assert out[-1].startswith(b"a OK"), out
    assert plain[0].cmd(b"s", b"SELECT INBOX")[-1].startswith(b"s OK")
    login[0].send(b64(b"secret") + b"\r\n")
    out = login[0].until_tag(b"a")
    assert out[-1].startswith(b"a OK"), out
    # a wrong password: the usual NO after the penalty
    plain[1].send(b64(b"\0alice\0wrong") + b"\r\n")
    out = plain[1].until_tag(b"a")
    assert out[-1].startswith(b"a NO [AUTHENTICATIONFAILED]"), out
    login[1].send(b64(b"wrong") + b"\r\n")
    out = login[1].until_tag(b"a")
    assert out[-1].startswith(b"a NO [AUTHENTICATIONFAILED]"), out
    # "*" cancels; malformed base64 is BAD; the session goes on
    plain[2].send(b"*\r\n")
    assert plain[2].until_tag(b"a")[-1] == b"a BAD Authentication cancelled"
    assert plain[2].cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
    login[2].send(b"not!base64\r\n")
    out = login[2].until_tag(b"a")
    assert out[-1].startswith(b"a BAD Invalid base64"), out
    # a response sent in two pieces, the first while parked
    plain[3].send(b64(b"\0alice\0secret")[:8])
    plain[3].send(b64(b"\0alice\0secret")[8:] + b"\r\n")
    assert plain[3].until_tag(b"a")[-1].startswith(b"a OK")
    log = s.logtext()
    assert "login ok user=alice addr=127.0.0.1 mech=PLAIN" in log
    assert "login ok user=alice addr=127.0.0.1 mech=LOGIN" in log
    # a cancelled exchange is gone from authd
    assert wait_for(lambda: "reason=cancelled" in s.logtext())
    for q in plain + login:
        q.close()


def test_parked_exchange_freed_when_client_closes(fresh):
    """a client that hangs up while its exchange is parked: authd drops
    the exchange (told by idled's CLOSED), and says so"""
    s = fresh(prefork=2, maxchild=4, extra_conf=CONF).start()
    r = stall_login(s, user=b"bob")
    assert parked_at_least(s, 1), s.parked()
    r.close()
    assert wait_for(lambda: "sasl exchange dropped user=bob addr=127.0.0.1 "
                    "mech=LOGIN" in s.logtext() and "reason=closed" in
                    s.logtext(), 20), s.logtext()[-3000:]


def test_parked_exchange_times_out_in_idled(fresh):
    """a parked exchange whose client never answers gets the worker's
    timeout NO from idled at sasl_response_timeout, counted as a failed
    login, and authd's exchange ends; the session goes on"""
    s = fresh(prefork=2, maxchild=4, extra_conf=CONF +
              "sasl_response_timeout: 2s\nmaxbadlogins: 2\n").start()
    r = stall_plain(s)
    assert parked_at_least(s, 1), s.parked()
    r.send(b"AGFs")		# a response begun, never finished
    out = r.until_tag(b"a")
    assert out[-1] == b"a NO Authentication timed out", out
    assert "limit=sasl_response_timeout:2s" in s.logtext()
    assert wait_for(lambda: "reason=cancelled" in s.logtext())
    assert r.cmd(b"n", b"NOOP")[-1].startswith(b"n OK")
    # the second failure reaches maxbadlogins: BYE after the NO
    r.send(b"b AUTHENTICATE PLAIN\r\n")
    assert r.line().startswith(b"+")
    out = r.until_tag(b"b")
    assert out[-1] == b"b NO Authentication timed out", out
    assert r.line() == b"* BYE Too many failed logins"


class Stalling:
    """a Raw whose every response to a "+" waits until the session is
    parked"""

    def __init__(self, r, s):
        self.r, self.s, self.plus, self.parks = r, s, False, 0

    def line(self):
        ln = self.r.line()
        self.plus = ln.startswith(b"+")
        return ln

    def send(self, data):
        if self.plus:
            assert parked_at_least(self.s, 1), self.s.parked()
            self.parks += 1
        self.r.send(data)


def test_scram_parked_between_steps(fresh):
    """SCRAM-SHA-256 whose client stops before each response: parked at
    every step, and the server's signature still verifies"""
    s = fresh(prefork=2, maxchild=4, extra_conf=CONF).start()
    w = Stalling(Raw(s.port, timeout=20), s)
    ln, verified = scram(w, b"a1", "SCRAM-SHA-256", "alice", "secret",
                         ir=False)
    assert ln.startswith(b"a1 OK"), ln
    assert verified
    assert w.parks == 3
    w2 = Stalling(Raw(s.port, timeout=20), s)
    ln, _ = scram(w2, b"b1", "SCRAM-SHA-256", "alice", "wrong", ir=False)
    assert ln.startswith(b"b1 NO [AUTHENTICATIONFAILED]"), ln


def test_detached_exchanges_bounded_per_address(fresh):
    """past sasl_detached_max_addr stalled exchanges from one address,
    the next is refused with NO [LIMIT] (logged with the limit), not held
    by a worker"""
    s = fresh(prefork=2, maxchild=4, extra_conf=CONF +
              "sasl_detached_max_addr: 3\n").start()
    held = [stall_plain(s) for _ in range(3)]
    assert parked_at_least(s, 3), s.parked()
    r = stall_plain(s, b"z")
    out = r.until_tag(b"z")
    assert out[-1].startswith(b"z NO [LIMIT]"), out
    assert "refused sasl detach user=- addr=127.0.0.1 mech=PLAIN " \
        "limit=sasl_detached_max_addr:3" in s.logtext()
    assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
    for q in held:
        q.close()

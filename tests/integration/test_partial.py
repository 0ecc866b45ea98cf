"""Commands a client has not finished cost no worker: a partial line or
literal, before or after login, is parked in idled, which completes it;
pre-login line and literal limits are small and refused before any byte
of a literal is read; every literal size is range-checked; a stalled SASL
exchange is bounded."""
import select
import time

from poll import deadline
from raw import Raw
from conftest import wait_for

MSG = b"From: a@example.com\r\nSubject: part\r\n\r\nbody\r\n"


def parked_at_least(s, n, timeout=30):
    return wait_for(lambda: s.parked() >= n, timeout)


def greeted(port):
    """a new connection gets "* OK" (not a BYE, not silence)"""
    r = Raw(port, timeout=10)
    ok = r.greeting.startswith(b"* OK")
    return r, ok


def test_half_lines_before_login_cost_no_worker(fresh):
    """600 connections that stop in the middle of "a LOGIN alice" on 10
    workers: all parked; a normal client still gets its greeting and logs
    in; a half line finished later is answered"""
    # idled logs out a connection that has not logged in after
    # idled_notauth_timeout (60s), a deadline of the server's that the
    # test's (scaled) ones do not stretch: under load the 600 connections
    # can take longer than that, and the first would be gone
    s = fresh(prefork=2, maxchild=10,
              extra_conf="notauth_park_delay: 100ms\n"
                         "idled_notauth_timeout: 1h\n").start()
    half = []
    for _ in range(600):
        r = Raw(s.port, timeout=20)
        assert r.greeting.startswith(b"* OK"), r.greeting
        r.send(b"a LOGIN alice")
        half.append(r)
    assert parked_at_least(s, 600, 60), s.parked()
    assert len(s.children()) <= 10
    c = s.connect("alice", "secret")
    assert c.noop()[0] == "OK"
    c.logout()
    r = half[7]
    r.send(b" secret\r\n")
    out = r.until_tag(b"a")
    assert out[-1].startswith(b"a OK"), out
    assert r.cmd(b"b", b"NOOP")[-1].startswith(b"b OK")
    for q in half:
        q.close()


def test_half_lines_after_login_cost_no_worker(fresh):
    """logged-in sessions that stop mid-command are parked too; finishing
    the command later gets its reply"""
    s = fresh(prefork=2, maxchild=10,
              extra_conf="wait_park_delay: 100ms\nidled_maxuser: 1000\n"
                         "idled_maxusernet: 1000\n").start()
    half = []
    for _ in range(150):
        r = Raw(s.port, timeout=20)
        assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
        r.send(b"a SELECT INB")
        half.append(r)
    assert parked_at_least(s, 150, 60), s.parked()
    assert len(s.children()) <= 10
    c = s.connect("alice", "secret")
    assert c.select("INBOX")[0] == "OK"
    c.logout()
    for r in half[:20]:
        r.send(b"OX\r\n")
    for r in half[:20]:
        out = r.until_tag(b"a")
        assert out[-1].startswith(b"a OK"), out
        assert b"* 0 EXISTS" in out, out
    for q in half:
        q.close()


def test_unfinished_commands_parked_whatever_the_wait_delays(fresh):
    """a command stopped in the middle is parked after partial_park_delay
    even when sessions between commands would wait for ever, before login
    and after it: a pool of 4 workers holds 40 such sessions, and a
    normal client still logs in"""
    s = fresh(prefork=1, maxchild=4,
              extra_conf="notauth_park_delay: 1h\nwait_park_delay: 1h\n"
                         "partial_park_delay: 50ms\nidled_maxuser: 1000\n"
                         "idled_maxusernet: 1000\n"
                         # half[0] must outlive the whole test, which
                         # may take longer than the 60s default under load
                         "idled_notauth_timeout: 1h\n").start()
    half = []
    for i in range(20):
        r = Raw(s.port, timeout=20)
        assert r.greeting.startswith(b"* OK"), r.greeting
        r.send(b"a LOGIN alice")
        half.append(r)
        r = Raw(s.port, timeout=20)
        assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
        r.send(b"a SELECT INB")
        half.append(r)
    assert parked_at_least(s, 40, 60), s.parked()
    assert len(s.children()) <= 4
    c = s.connect("alice", "secret")
    assert c.noop()[0] == "OK"
    c.logout()
    half[0].send(b" secret\r\n")
    assert half[0].until_tag(b"a")[-1].startswith(b"a OK")
    half[1].send(b"OX\r\n")
    assert half[1].until_tag(b"a")[-1].startswith(b"a OK")
    for q in half:
        q.close()


def test_waiting_sessions_parked_when_clients_queue(fresh):
    """with every worker waiting on a silent client and more clients
    queued on the listener, the waiting sessions are parked at once
    (park_on_backlog), whatever the park delays: 2 workers greet 12
    silent connections, before and after login, and a normal client
    still logs in; the parked sessions still work"""
    s = fresh(prefork=1, maxchild=2,
              extra_conf="notauth_park_delay: 1h\nwait_park_delay: 1h\n"
                         "idled_maxuser: 1000\nidled_maxusernet: 1000\n"
              ).start()
    quiet = []
    for i in range(6):
        r = Raw(s.port, timeout=20)
        assert r.greeting.startswith(b"* OK"), r.greeting
        quiet.append(r)
        r = Raw(s.port, timeout=20)
        assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
        quiet.append(r)
    assert len(s.children()) <= 2
    c = s.connect("alice", "secret")
    assert c.noop()[0] == "OK"
    c.logout()
    for r in quiet[:2]:
        assert r.cmd(b"n", b"NOOP")[-1].startswith(b"n OK")
    for q in quiet:
        q.close()


def test_partial_literal_parked_and_finished(fresh):
    """a LOGIN whose first literal stops after 2 bytes is parked with what
    it has; idled continues the next literal itself, and the worker that
    gets the whole command sends no second continuation"""
    s = fresh(prefork=2, maxchild=4,
              extra_conf="notauth_park_delay: 100ms\n"
                         "wait_park_delay: 100ms\n").start()
    r = Raw(s.port)
    r.send(b"a LOGIN {5}\r\n")
    assert r.line().startswith(b"+ ")
    r.send(b"al")
    assert parked_at_least(s, 1), s.parked()
    r.send(b"ice {6}\r\n")
    assert r.line().startswith(b"+ ")
    r.send(b"secret\r\n")
    out = r.until_tag(b"a")
    assert out[-1].startswith(b"a OK"), out
    assert not [ln for ln in out if ln.startswith(b"+")], out
    # after login: a literal idled can hold is continued by idled, one
    # too big for it by the worker it wakes; each exactly once
    assert parked_at_least(s, 1), s.parked()
    big = b"x" * 20000
    r.send(b"b APPEND INBOX {%d}\r\n" % len(MSG))
    assert r.line().startswith(b"+ ")
    assert parked_at_least(s, 1), s.parked()
    r.send(MSG)
    assert parked_at_least(s, 1), s.parked()
    r.send(b"\r\n")
    out = r.until_tag(b"b")
    assert out[-1].startswith(b"b OK"), out
    assert not [ln for ln in out if ln.startswith(b"+")], out
    assert parked_at_least(s, 1), s.parked()
    r.send(b"c APPEND INBOX {%d}\r\n" % len(big))
    assert r.line().startswith(b"+ ")
    r.send(big + b"\r\n")
    out = r.until_tag(b"c")
    assert out[-1].startswith(b"c OK"), out
    assert not [ln for ln in out if ln.startswith(b"+")], out


def refuse_big_login_literal(r):
    r.send(b"a LOGIN {60000000}\r\n")
    ln = r.line()
    assert ln.startswith(b"a BAD [TOOBIG]"), ln
    assert b"4096" in ln, ln
    # no byte of it was read: the next command is one
    assert r.cmd(b"b", b"NOOP")[-1].startswith(b"b OK")


def test_big_literal_before_login_refused(fresh):
    """a literal over maxliteral_preauth before login gets a tagged BAD
    naming the limit instead of a continuation, from a worker and from
    idled; the session goes on"""
    s = fresh(prefork=2, maxchild=4,
              extra_conf="notauth_park_delay: 100ms\n").start()
    first = Raw(s.port)
    refuse_big_login_literal(first)
    r = Raw(s.port)
    assert parked_at_least(s, 2), s.parked()
    refuse_big_login_literal(r)
    assert "limit=maxliteral_preauth:4096" in s.logtext()
    # a small one is fine before login
    r.send(b"c LOGIN {5}\r\n")
    assert r.line().startswith(b"+ ")
    r.send(b"alice secret\r\n")
    assert r.until_tag(b"c")[-1].startswith(b"c OK")


def test_long_line_before_login_refused(fresh):
    s = fresh(prefork=2, maxchild=4,
              extra_conf="notauth_park_delay: 100ms\n").start()
    for wait in (False, True):
        r = Raw(s.port)
        r.send(b"a NOOP\r\n")
        assert r.line().startswith(b"a OK")
        if wait:
            assert parked_at_least(s, 1), s.parked()
        r.send(b"b LOGIN " + b"x" * 40000)
        ln = r.line()
        assert ln.startswith(b"* BYE Command line too long"), ln
        assert r.closed()
    assert "limit=imap_maxline_preauth:4096" in s.logtext()


def test_literal_plus_over_limit_says_bye(fresh):
    """a LITERAL+ literal over the limit: "* BYE [TOOBIG]" before the
    close, before login (also from idled) and after"""
    s = fresh(prefork=2, maxchild=4,
              extra_conf="notauth_park_delay: 100ms\n").start()
    r = Raw(s.port)
    r.send(b"a LOGIN {60000+}\r\n")
    ln = r.line()
    assert ln.startswith(b"* BYE [TOOBIG]"), ln
    assert r.closed()
    r = Raw(s.port)
    assert parked_at_least(s, 1), s.parked()
    r.send(b"a LOGIN {60000+}\r\n")
    ln = r.line()
    assert ln.startswith(b"* BYE [TOOBIG]"), ln
    assert r.closed()
    r = Raw(s.port)
    assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
    r.send(b"a APPEND INBOX {2000000+}\r\n")
    ln = r.line()
    assert ln.startswith(b"* BYE [TOOBIG]"), ln
    assert b"1048576" in ln, ln
    assert r.closed()


def test_literal_size_that_wraps_is_bad(fresh):
    """18446744073709551621 is not 5: BAD, before and after login, from
    a worker and from idled"""
    s = fresh(prefork=2, maxchild=4,
              extra_conf="notauth_park_delay: 100ms\n").start()
    huge = b"{18446744073709551621}"
    r = Raw(s.port)
    out = r.cmd(b"a", b"LOGIN " + huge)
    assert out == [b"a BAD Invalid literal size"], out
    assert parked_at_least(s, 1), s.parked()
    out = r.cmd(b"b", b"LOGIN " + huge)
    assert out == [b"b BAD Invalid literal size"], out
    assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
    out = r.cmd(b"c", b"APPEND INBOX " + huge)
    assert out == [b"c BAD Invalid literal size"], out
    assert r.cmd(b"d", b"NOOP")[-1].startswith(b"d OK")
    r.send(b"e LOGIN {18446744073709551621+}\r\n")
    assert r.line() == b"* BYE Invalid literal size"


def test_stalled_authenticate_times_out(fresh):
    """AUTHENTICATE waiting for a response the client never sends ends
    after sasl_response_timeout as a failed exchange; the session goes
    on"""
    s = fresh(prefork=2, maxchild=4,
              extra_conf="sasl_response_timeout: 1s\n").start()
    r = Raw(s.port)
    r.send(b"a AUTHENTICATE PLAIN\r\n")
    assert r.line().startswith(b"+")
    out = r.until_tag(b"a")
    assert out[-1] == b"a NO Authentication timed out", out
    assert "limit=sasl_response_timeout:1s" in s.logtext()
    # a trickle does not extend it
    r.send(b"b AUTHENTICATE PLAIN\r\n")
    assert r.line().startswith(b"+")
    r.send(b"AGFs")
    out = r.until_tag(b"b")
    assert out[-1] == b"b NO Authentication timed out", out
    assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")


def test_half_line_flood_bounded_per_address(fresh):
    """half-line connections from one address are bounded by authd's
    admission per address; the refusal names the limit"""
    s = fresh(prefork=2, maxchild=6,
              extra_conf="notauth_park_delay: 100ms\n"
                         "authd_maxconns_addr: 20\n").start()
    held = []
    for _ in range(20):
        r = Raw(s.port, source="127.0.0.9")
        assert r.greeting.startswith(b"* OK"), r.greeting
        r.send(b"a LOGIN ali")
        held.append(r)
    assert parked_at_least(s, 20), s.parked()
    r = Raw(s.port, source="127.0.0.9", timeout=20)
    assert r.greeting.startswith(b"* BYE"), r.greeting
    assert "limit=authd_maxconns_addr" in s.logtext()
    # another address is not affected
    r, ok = greeted(s.port)
    assert ok
    for q in held:
        q.close()


def test_stalled_big_append_bounded(fresh):
    """after login a literal too big for idled is read by a worker; a
    client that stops in the middle of it is logged out after
    stall_timeout, not timeout"""
    s = fresh(prefork=2, maxchild=4,
              extra_conf="stall_timeout: 2s\nwait_park_delay: 100ms\n"
                         ).start()
    r = Raw(s.port, timeout=20)
    assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
    r.send(b"a APPEND INBOX {100000}\r\n")
    assert r.line().startswith(b"+ ")
    r.send(b"x" * 20000)
    assert r.line() == b"* BYE Command stalled for too long"
    assert r.closed()
    assert "limit=stall_timeout:2s" in s.logtext()



def trickle_until_answer(r, piece, every=0.2, timeout=15):
    """send piece every `every` seconds until the server says something:
    that line (None if nothing came by the deadline)"""
    r.s.setblocking(False)
    end = time.time() + deadline(timeout)
    try:
        while time.time() < end:
            try:
                r.s.send(piece)
            except BlockingIOError:
                pass
            if select.select([r.s], [], [], every)[0]:
                r.s.setblocking(True)
                r.s.settimeout(deadline(10))
                return r.line()
    except (ConnectionResetError, BrokenPipeError):
        return b"<reset>"
    return None


def test_trickled_big_append_bounded(fresh):
    """a client that keeps a big APPEND literal going with a few bytes now
    and then (each well within stall_timeout) is logged out once a
    stall_timeout window brings less than stall_min_rate bytes a second"""
    s = fresh(prefork=2, maxchild=4,
              extra_conf="stall_timeout: 2s\nstall_min_rate: 1K\n").start()
    r = Raw(s.port, timeout=20)
    assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
    r.send(b"a APPEND INBOX {100000}\r\n")
    assert r.line().startswith(b"+ ")
    r.send(b"x" * 20000)
    assert trickle_until_answer(r, b"x" * 50) == \
        b"* BYE Command sent too slowly"
    assert r.closed()
    assert s.wait_log("autologout slow command user=alice",
                      "window=2s limit=stall_min_rate:1024")


def test_trickled_long_line_bounded(fresh):
    """the same for an over-long line whose rest the worker skips"""
    s = fresh(prefork=2, maxchild=4,
              extra_conf="stall_timeout: 2s\nstall_min_rate: 1K\n").start()
    r = Raw(s.port, timeout=20)
    assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
    r.send(b"a NOOP " + b"x" * 80000)
    assert r.line().startswith(b"a BAD")
    assert trickle_until_answer(r, b"x" * 50) == \
        b"* BYE Command sent too slowly"
    assert s.wait_log("autologout slow command user=alice",
                      "limit=stall_min_rate:1024")


def test_slow_big_append_above_rate_completes(fresh):
    """an upload that comes in pieces, but at more than stall_min_rate,
    crosses stall_timeout windows and is stored"""
    s = fresh(prefork=2, maxchild=4,
              extra_conf="stall_timeout: 3s\nstall_min_rate: 1K\n").start()
    r = Raw(s.port, timeout=20)
    assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
    body = MSG + b"x" * (100000 - len(MSG))
    r.send(b"a APPEND INBOX {%d}\r\n" % len(body))
    assert r.line().startswith(b"+ ")
    for i in range(0, len(body), 5000):
        r.send(body[i:i + 5000])
        time.sleep(0.4)     # pacing the upload, not a measure
    r.send(b"\r\n")
    assert r.until_tag(b"a")[-1].startswith(b"a OK")
    assert "autologout" not in s.logtext()


def notify_session(s, source):
    r = Raw(s.port, source=source)
    assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
    assert r.cmd(b"s", b"SELECT box")[-1].startswith(b"s OK")
    out = r.cmd(b"n", b"NOTIFY SET (selected (MessageNew MessageExpunge))")
    assert out[-1].startswith(b"n OK"), out
    return r


def test_changes_wait_for_an_unfinished_command(fresh):
    """a NOTIFY session parked in the middle of a command is not woken by
    a change (it would go back and forth between idled and workers); the
    worker that gets the whole command reports the change after it"""
    s = fresh(prefork=2, maxchild=4,
              extra_conf="notify_park_delay: 100ms\n").start()
    c = s.connect("alice", "secret")
    c.create("box")
    c.append("box", None, None, MSG)
    c.append("box", None, None, MSG)
    half = notify_session(s, "127.0.0.2")
    sync = notify_session(s, "127.0.0.3")
    assert wait_for(lambda: s.logtext().count(
        "park user=alice addr=127.0.0.2 kind=wait") >= 1 and
        s.logtext().count("park user=alice addr=127.0.0.3 kind=wait") >= 1,
        20), s.logtext()
    # idled has the unfinished command once it continues its literal
    half.send(b"a NOOP {1}\r\n")
    assert half.line().startswith(b"+ ")
    c.select("box")
    c.store("1", "+FLAGS", r"(\Deleted)")
    c.expunge()
    # idled takes the change for every session watching box at once: by
    # the time the complete one hears of it, the other was decided on
    assert sync.line() == b"* 1 EXPUNGE"
    # still parked: neither the change nor the unfinished command woke it
    assert "unpark user=alice addr=127.0.0.2 kind=wait mailbox=box" \
        not in s.logtext(), s.logtext()
    half.send(b"x\r\n")
    out = half.until_tag(b"a")
    assert out == [b"* 1 EXPUNGE", b"a OK NOOP completed"], out
    c.logout()


def test_trickle_does_not_keep_a_worker(fresh):
    """a byte every 0.2 s before login, on every worker: the sessions are
    parked notauth_park_delay after a worker took them all the same, and
    a normal client gets its greeting"""
    s = fresh(prefork=2, maxchild=4,
              extra_conf="notauth_park_delay: 1s\n").start()
    rs = [Raw(s.port, timeout=20) for _ in range(4)]
    # a long tag: the trickle outlasts the park however slow the run
    tag = b"a" * 50
    line = tag + b" LOGIN alice secret\r\n"
    sent = 0

    def trickle():
        nonlocal sent
        if sent < len(line) - 2:
            for r in rs:
                r.send(line[sent:sent + 1])
            sent += 1
        time.sleep(0.2)
        return s.parked() >= 4
    assert wait_for(trickle, 60), s.parked()
    assert sent < len(line) - 2, "the trickle ended before the park"
    r, ok = greeted(s.port)
    assert ok
    for q in rs:
        q.send(line[sent:])
    for q in rs:
        assert q.until_tag(tag)[-1].startswith(tag + b" OK")

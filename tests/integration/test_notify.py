"""NOTIFY (RFC 5465): STATUS and LIST for other mailboxes, the selected
mailbox's events, and sessions waiting under NOTIFY parked in idled and
woken by changes to the mailboxes their spec covers."""
import re
import socket
import time

import pytest

from conftest import Server
from raw import Raw
from conftest import wait_for

MSG = b"From: a@example.com\r\nSubject: push\r\n\r\nnew mail\r\n"
SUPPORTED = (b"[BADEVENT (MessageNew MessageExpunge FlagChange "
             b"MailboxName SubscriptionChange)]")
USERS = ["n%d" % i for i in range(1, 17)]


@pytest.fixture(scope="module")
def ns():
    s = Server(prefork=2, maxchild=5,
               extra_conf="notify_park_delay: 100ms\n")
    for u in USERS:
        s.add_user(u, "pw")
    s.start()
    yield s
    s.finish()


def parks(s, user, kind="wait"):
    """how many times idled took a session of user (of kind)"""
    return s.logtext().count(": park user=%s addr=127.0.0.1 kind=%s" %
                             (user, kind))


def parked_again(s, user, before, kind="wait"):
    assert wait_for(lambda: parks(s, user, kind) > before), s.logtext()
    return parks(s, user, kind)


def session(s, user, *cmds):
    r = Raw(s.port)
    assert r.cmd(b"l", b"LOGIN " + user.encode() + b" pw")[-1].startswith(
        b"l OK")
    for i, c in enumerate(cmds):
        out = r.cmd(b"s%d" % i, c)
        assert out[-1].startswith(b"s%d OK" % i), out
    return r


def other(s, user):
    return s.connect(user, "pw")


def quiet(rs):
    """nothing is due to any of rs: a NOOP, which reports whatever a
    parked session would have been told of the changes made so far
    (they got their OK before), answers only OK"""
    for r in rs if isinstance(rs, list) else [rs]:
        assert r.cmd(b"q", b"NOOP") == [b"q OK NOOP completed"]


def status_prefix(got):
    """STATUS lines without their UIDVALIDITY (it varies)"""
    return [g.split(b" UIDVALIDITY")[0] for g in got]


def test_capability_advertises_notify(ns):
    r = Raw(ns.port)
    assert b" NOTIFY" in r.greeting
    out = r.cmd(b"c", b"CAPABILITY")
    assert b" NOTIFY" in out[0]
    out = r.cmd(b"l", b"LOGIN n1 pw")
    assert b" NOTIFY" in out[-1]
    out = r.cmd(b"c2", b"CAPABILITY")
    assert b" NOTIFY" in out[0]
    r.cmd(b"o", b"LOGOUT")


def test_malformed_is_bad_unsupported_is_badevent(ns):
    r = session(ns, "n1")
    for cmd, why in [
            (b"NOTIFY", b"SET or NONE"),
            (b"NOTIFY SET", b"at least one event group"),
            (b"NOTIFY SET (selected (MessageNew))", b"together"),
            (b"NOTIFY SET (selected (FlagChange))", b"FlagChange"),
            (b"NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",
             b"fetch attributes"),
            (b"NOTIFY SET (selected (MessageNew MessageExpunge "
             b"MailboxName))", b"message events only"),
            (b"NOTIFY SET (selected NONE) (selected-delayed NONE)",
             b"only one"),
            (b"NOTIFY SET (somewhere (MailboxName))", b"somewhere"),
            (b"NOTIFY SET (selected (MessageNew (NOSUCHATT) "
             b"MessageExpunge))", b"NOSUCHATT")]:
        out = r.cmd(b"b", cmd)
        assert out[-1].startswith(b"b BAD ") and why in out[-1], (cmd, out)
    for ev in (b"AnnotationChange", b"MailboxMetadataChange", b"Foo"):
        if ev == b"AnnotationChange":
            cmd = b"NOTIFY SET (personal (MessageNew MessageExpunge " + \
                ev + b"))"
        else:
            cmd = b"NOTIFY SET (personal (" + ev + b"))"
        out = r.cmd(b"e", cmd)
        assert out[-1].startswith(b"e NO " + SUPPORTED), out
    # refused: nothing set, so a change to a mailbox they named is not
    # reported
    c = other(ns, "n1")
    c.append("INBOX", None, None, MSG)
    quiet(r)
    c.logout()
    r.cmd(b"o", b"LOGOUT")


def test_two_mailboxes_parked_get_status(ns):
    u = "n2"
    c = other(ns, u)
    c.create("a")
    c.create("b")
    before = parks(ns, u)
    rs = []
    for _ in range(8):
        r = Raw(ns.port)
        r.cmd(b"l", b"LOGIN n2 pw")
        out = r.cmd(b"n", b"NOTIFY SET STATUS (mailboxes (a b) "
                    b"(MessageNew MessageExpunge))")
        assert status_prefix(out) == [
            b"* STATUS a (MESSAGES 0 UIDNEXT 1",
            b"* STATUS b (MESSAGES 0 UIDNEXT 1",
            b"n OK NOTIFY completed"], out
        rs.append(r)
    # eight sessions waiting on at most five workers: all in idled
    assert wait_for(lambda: parks(ns, u) >= before + 8), ns.logtext()
    assert len(ns.children()) <= 5
    c.append("a", None, None, MSG)
    c.append("b", None, None, MSG)
    for r in rs:
        got = status_prefix([r.line(), r.line()])
        assert sorted(got) == [b"* STATUS a (MESSAGES 1 UIDNEXT 2",
                               b"* STATUS b (MESSAGES 1 UIDNEXT 2"], got
    quiet(rs)
    for r in rs:
        r.cmd(b"o", b"LOGOUT")
    c.logout()


def test_selected_events_while_parked(ns):
    u = "n3"
    c = other(ns, u)
    c.create("box")
    for _ in range(3):
        c.append("box", None, None, MSG)
    before = parks(ns, u)
    r = session(ns, u, b"SELECT box", b"NOTIFY SET (selected (MessageNew "
                b"MessageExpunge FlagChange))")
    parked_again(ns, u, before)
    c.select("box")
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
        elif ln.startswith(b"* 2 FETCH (UID 3 FLAGS (\\Flagged"):
            got.add("flag")
        elif ln == b"* 3 EXISTS":
            got.add("exists")
        elif re.match(rb"\* \d+ RECENT$", ln):
            pass    # the new message is \Recent here
        elif ln.startswith(b"* 2 FETCH (UID 2 FLAGS (\\Deleted") and \
                "exp" not in got:
            pass    # the \Deleted flag, seen before the expunge
        else:
            assert False, ln
    assert got == {"exp", "flag", "exists"}
    # the RECENT a worker sends right after its EXISTS
    r.s.settimeout(0.5)
    try:
        ln = r.line()
        assert re.match(rb"\* \d+ RECENT$", ln), ln
    except socket.timeout:
        pass
    r.s.settimeout(10)
    quiet(r)
    out = r.cmd(b"f", b"UID FETCH 1:* (FLAGS)")
    assert [x.split(b" FLAGS")[0] for x in out[:-1]] == [
        b"* 1 FETCH (UID 1", b"* 2 FETCH (UID 3", b"* 3 FETCH (UID 4"]
    r.cmd(b"o", b"LOGOUT")
    c.logout()


def test_message_new_fetch_attributes(ns):
    u = "n4"
    c = other(ns, u)
    c.create("fbox")
    before = parks(ns, u)
    r = session(ns, u, b"SELECT fbox", b"NOTIFY SET (selected (MessageNew "
                b"(UID BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge))")
    parked_again(ns, u, before)
    c.append("fbox", None, None, MSG)
    assert r.line() == b"* 1 EXISTS"
    assert r.line() == b"* 1 RECENT"
    ln = r.line()
    assert ln.startswith(b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] "
                         b"{"), ln
    assert r.line() == b"Subject: push"
    assert r.line() == b""
    assert r.line() == b")"
    # the fetch did not set \Seen
    out = r.cmd(b"f", b"FETCH 1 (FLAGS)")
    assert out[0] == b"* 1 FETCH (FLAGS (\\Recent))"
    r.cmd(b"o", b"LOGOUT")
    c.logout()


def test_mailbox_name_create_rename_delete(ns):
    u = "n5"
    c = other(ns, u)
    n = parks(ns, u)
    r = session(ns, u, b"NOTIFY SET (personal (MailboxName))")
    n = parked_again(ns, u, n)
    c.create("m1")
    assert r.line() == b'* LIST (\\HasNoChildren) "/" m1'
    n = parked_again(ns, u, n)
    c.rename("m1", "m2")
    assert r.line() == \
        b'* LIST (\\HasNoChildren) "/" m2 ("OLDNAME" (m1))'
    n = parked_again(ns, u, n)
    c.delete("m2")
    assert r.line() == b'* LIST (\\NonExistent) "/" m2'
    n = parked_again(ns, u, n)
    # its own changes are not reported back
    out = r.cmd(b"c", b"CREATE mine")
    assert len(out) == 1 and out[0].startswith(b"c OK [MAILBOXID (F"), out
    quiet(r)
    r.cmd(b"o", b"LOGOUT")
    c.logout()


def test_subscription_change(ns):
    u = "n6"
    c = other(ns, u)
    c.create("sub")
    n = parks(ns, u)
    r = session(ns, u, b"NOTIFY SET (subtree sub (SubscriptionChange))")
    n = parked_again(ns, u, n)
    c.subscribe("sub")
    assert r.line() == b'* LIST (\\HasNoChildren \\Subscribed) "/" sub'
    n = parked_again(ns, u, n)
    c.unsubscribe("sub")
    assert r.line() == b'* LIST (\\HasNoChildren) "/" sub'
    n = parked_again(ns, u, n)
    # outside the subtree: nothing
    c.subscribe("INBOX")
    quiet(r)
    r.cmd(b"o", b"LOGOUT")
    c.logout()


def test_notify_none_stops_notifications(ns):
    u = "n7"
    c = other(ns, u)
    c.create("x")
    n = parks(ns, u)
    r = session(ns, u, b"NOTIFY SET (mailboxes x (MessageNew "
                b"MessageExpunge))")
    n = parked_again(ns, u, n)
    c.append("x", None, None, MSG)
    assert r.line().startswith(b"* STATUS x (MESSAGES 1 UIDNEXT 2 ")
    assert r.cmd(b"n", b"NOTIFY NONE") == [b"n OK NOTIFY completed"]
    c.append("x", None, None, MSG)
    quiet(r)
    r.cmd(b"o", b"LOGOUT")
    c.logout()


def test_selected_delayed_holds_expunges(ns):
    u = "n8"
    c = other(ns, u)
    c.create("d")
    for _ in range(3):
        c.append("d", None, None, MSG)
    n = parks(ns, u)
    r = session(ns, u, b"SELECT d", b"NOTIFY SET (selected-delayed "
                b"(MessageNew MessageExpunge FlagChange))")
    n = parked_again(ns, u, n)
    c.select("d")
    c.store("1", "+FLAGS", r"(\Deleted)")
    c.expunge()
    # woken, nothing may be said of the expunge: parked again, held
    n = parked_again(ns, u, n)
    c.append("d", None, None, MSG)
    got = [r.line()]
    while got[-1] != b"* 4 EXISTS":
        assert got[-1].startswith(b"* 1 FETCH (UID 1 FLAGS (\\Deleted"), \
            got
        got.append(r.line())
    # resumed with an expunge held back: what was said stays said
    n = parked_again(ns, u, n)
    c.store("2", "+FLAGS", r"(\Flagged)")    # UID 3, still number 3 here
    # the RECENT the resume sent after its EXISTS, if this session
    # claimed \Recent before the appender's did
    ln = r.line()
    while re.match(rb"\* \d+ RECENT$", ln):
        ln = r.line()
    assert ln.startswith(b"* 3 FETCH (UID 3 FLAGS (\\Flagged"), ln
    n = parked_again(ns, u, n)
    # still held while parked: the next change pushed is the next line
    c.append("d", None, None, MSG)
    assert r.line() == b"* 5 EXISTS"
    # a command that allows expunges gets it
    out = [x for x in r.cmd(b"p", b"NOOP") if not x.endswith(b" RECENT")]
    assert out == [b"* 1 EXPUNGE", b"p OK NOOP completed"], out
    out = r.cmd(b"f", b"FETCH 1:* (UID)")
    assert len(out) == 5, out
    r.cmd(b"o", b"LOGOUT")
    c.logout()


def test_resumed_state_reports_each_change_once(ns):
    u = "n9"
    c = other(ns, u)
    c.create("r")
    n = parks(ns, u)
    r = session(ns, u, b"ENABLE CONDSTORE", b"NOTIFY SET (mailboxes r "
                b"(MessageNew MessageExpunge FlagChange))")
    n = parked_again(ns, u, n)
    c.append("r", None, None, MSG)
    assert r.line().startswith(b"* STATUS r (MESSAGES 1 UIDNEXT 2 ")
    n = parked_again(ns, u, n)
    c.append("r", None, None, MSG)
    assert r.line().startswith(b"* STATUS r (MESSAGES 2 UIDNEXT 3 ")
    n = parked_again(ns, u, n)
    c.select("r")
    c.store("1", "+FLAGS", r"(\Seen)")
    ln = r.line()
    assert ln.startswith(b"* STATUS r (MESSAGES 2 UIDNEXT 3 ") and \
        b" HIGHESTMODSEQ " in ln, ln
    n = parked_again(ns, u, n)
    quiet(r)
    r.cmd(b"o", b"LOGOUT")
    c.logout()


def test_idle_under_notify(ns):
    u = "n10"
    c = other(ns, u)
    c.create("i")
    c.create("o")
    n = parks(ns, u, "idle")
    r = session(ns, u, b"SELECT i", b"NOTIFY SET (selected (MessageNew "
                b"MessageExpunge)) (mailboxes o (MessageNew "
                b"MessageExpunge))")
    r.send(b"t IDLE\r\n")
    assert r.line().startswith(b"+ ")
    n = parked_again(ns, u, n, "idle")
    c.append("i", None, None, MSG)
    assert r.line() == b"* 1 EXISTS"
    c.append("o", None, None, MSG)
    ln = r.line()
    if ln == b"* 1 RECENT":
        ln = r.line()   # a worker answered, not idled: it took \Recent
    assert ln.startswith(b"* STATUS o (MESSAGES 1 UIDNEXT 2 "), ln
    r.send(b"DONE\r\n")
    assert r.line() == b"t OK IDLE terminated"
    r.cmd(b"x", b"LOGOUT")
    c.logout()


def test_without_selected_group_nothing_pushed(ns):
    u = "n11"
    c = other(ns, u)
    c.create("s")
    c.create("t")
    n = parks(ns, u)
    # personal covers s too, but message events for the selected mailbox
    # come only from a selected group (none here: SELECTED NONE)
    r = session(ns, u, b"SELECT s", b"NOTIFY SET (personal (MessageNew "
                b"MessageExpunge))")
    n = parked_again(ns, u, n)
    c.append("s", None, None, MSG)
    c.append("t", None, None, MSG)
    # s changed first: the first line pushed is t's, nothing came for s
    assert r.line().startswith(b"* STATUS t (MESSAGES 1 UIDNEXT 2 ")
    # a command still gets RFC 3501's updates
    assert r.cmd(b"p", b"NOOP") == [b"* 1 EXISTS", b"* 1 RECENT",
                                     b"p OK NOOP completed"]
    r.cmd(b"o", b"LOGOUT")
    c.logout()


def test_notify_set_replaces_and_inboxes(ns):
    u = "n12"
    c = other(ns, u)
    c.create("q")
    n = parks(ns, u)
    r = session(ns, u, b"NOTIFY SET (mailboxes q (MessageNew "
                b"MessageExpunge))")
    out = r.cmd(b"n", b"NOTIFY SET STATUS (inboxes (MessageNew "
                b"MessageExpunge))")
    assert len(out) == 2 and out[0].startswith(
        b"* STATUS INBOX (MESSAGES 0 UIDNEXT 1 "), out
    n = parked_again(ns, u, n)
    c.append("q", None, None, MSG)
    c.append("INBOX", None, None, MSG)
    assert r.line().startswith(b"* STATUS INBOX (MESSAGES 1 UIDNEXT 2 ")
    quiet(r)
    r.cmd(b"o", b"LOGOUT")
    c.logout()


def test_selected_delayed_idle_reports_held_expunge(ns):
    """an IDLE started while an expunge is held back goes through a
    worker, which reports the expunge; idled does not answer it alone"""
    u = "n16"
    c = other(ns, u)
    c.create("h")
    for _ in range(2):
        c.append("h", None, None, MSG)
    n = parks(ns, u)
    r = session(ns, u, b"SELECT h", b"NOTIFY SET (selected-delayed "
                b"(MessageNew MessageExpunge))")
    n = parked_again(ns, u, n)
    c.select("h")
    c.store("1", "+FLAGS", r"(\Deleted)")
    c.expunge()
    # held: nothing said between commands.  A round trip through idled:
    # it has the change (announced before the EXPUNGE's OK) by now
    ns.parked()
    r.send(b"i IDLE\r\n")
    got = {r.line(), r.line()}
    assert got == {b"+ idling", b"* 1 EXPUNGE"}, got
    # new mail inside that IDLE is reported (by idled, once parked)
    assert wait_for(lambda: parks(ns, u, "idle") >= 1)
    c.append("h", None, None, MSG)
    assert r.line() == b"* 2 EXISTS"
    r.send(b"DONE\r\n")
    assert r.line().startswith(b"i OK")
    r.cmd(b"o", b"LOGOUT")
    c.logout()

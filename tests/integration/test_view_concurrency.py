"""The selected mailbox's view under concurrency.

The first tests set up one interleaving each; the last two run many
sessions of a few users sharing mailboxes at random APPEND, STORE, COPY,
MOVE, EXPUNGE, UID EXPUNGE, NOOP, FETCH, SEARCH and IDLE for a bounded
time, with and without being parked in idled between commands.
viewcheck fails on any impossible EXPUNGE, EXISTS, FETCH number or MODSEQ
(RFC 3501 7.4.1, RFC 7162) and on a FETCH 1:* that misses a message the
client knows."""

import os
import re

import pytest

from conftest import Server, wait_for
from viewcheck import Session, check_flags, drive, summary

USERS = [("alice", "secret"), ("bob", "hunter2"), ("carol", "pw3")]
BOXES = ["INBOX", "Other"]
SECONDS = 20
MSG = b"From: a@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n"
PARK = "wait_park_delay: 20ms\nnotify_park_delay: 20ms\n"


@pytest.fixture(scope="module")
def srv():
    s = Server(extra_conf=PARK)
    s.add_user("alice", "secret")
    s.start()
    yield s
    s.stop()
    log = s.logtext()
    s.cleanup()
    assert "panic" not in log


def fill(port, box, n):
    """a new mailbox box holding n messages"""
    w = Session(port, "alice", "secret", "writer")
    w.command(b"CREATE " + box.encode(), kind="CREATE", ok_no=False)
    for i in range(n):
        w.command(b"APPEND " + box.encode(), kind="APPEND",
                  literal=MSG % (i, i), ok_no=False)
    w.logout()


def expunge(port, box, seq):
    """another session expunges messages seq of box"""
    w = Session(port, "alice", "secret", "other")
    w.select(box)
    w.command(b"STORE %s +FLAGS.SILENT (\\Deleted)" % seq, kind="STORE",
              noexpunge=True, ok_no=False)
    w.command(b"EXPUNGE", kind="EXPUNGE", ok_no=False)
    w.logout()


def fetches(ctx):
    return [r for r in ctx["got"] if r.startswith(b"* ") and
            b" FETCH (" in r]


def quiet(s):
    assert not s.events, "\n".join(s.examples)


def test_fetch_expunged_not_yet_told(srv):
    """a message another session expunged is still fetchable, with its
    ENVELOPE and body, until this session is told (was: no line, and
    'cache ...: DB_NOTFOUND' when the expunge came during the FETCH)"""
    fill(srv.port, "f1", 3)
    a = Session(srv.port, "alice", "secret", "a")
    a.select("f1")
    a.fetch_all()
    expunge(srv.port, "f1", b"2")
    ctx = a.fetch_all(b"(UID FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE "
                      b"BODY.PEEK[TEXT])")
    got = fetches(ctx)
    assert len(got) == 3 and ctx["status"] == b"OK", ctx["got"]
    assert b"m1" in got[1] and b"body 1" in got[1], got[1]
    assert a.command(b"NOOP", kind="NOOP")["got"][0] == b"* 2 EXPUNGE"
    assert a.fetch_all()["status"] == b"OK" and a.known_uids() == [1, 3]
    quiet(a)
    a.logout()
    assert "DB_NOTFOUND" not in srv.logtext()


def test_uid_commands_number_before_expunges(srv):
    """UID FETCH and UID STORE after another session's expunge answer
    with the message numbers the client has, then the EXPUNGE (was:
    EXPUNGE first, then numbers from before it)"""
    fill(srv.port, "f2", 4)
    a = Session(srv.port, "alice", "secret", "a")
    a.select("f2")
    a.fetch_all()
    expunge(srv.port, "f2", b"1")
    ctx = a.command(b"UID FETCH 3:4 (FLAGS MODSEQ)", kind="UID FETCH",
                    uid=True, ok_no=False)
    got = ctx["got"]
    assert got[0].startswith(b"* 3 FETCH (UID 3 FLAGS ("), got
    assert got[1].startswith(b"* 4 FETCH (UID 4 FLAGS ("), got
    assert got[2] == b"* 1 EXPUNGE", got
    expunge(srv.port, "f2", b"1")
    ctx = a.command(b"UID STORE 4 +FLAGS (\\Flagged)", kind="UID STORE",
                    uid=True, ok_no=False)
    assert ctx["got"][0].startswith(b"* 3 FETCH (UID 4 FLAGS (\\Flagged "), \
        ctx["got"]
    assert ctx["got"][1] == b"* 1 EXPUNGE", ctx["got"]
    a.fetch_all()
    assert a.known_uids() == [3, 4]
    quiet(a)
    a.logout()


def test_parked_view_with_held_expunge(srv):
    """a session parked while an expunge is held back (it was told of
    new mail meanwhile) is resumed with exactly the messages it knows:
    not one appended and expunged before it was told of it (was: an
    EXPUNGE for it, numbers off by one after)"""
    fill(srv.port, "f3", 2)
    a = Session(srv.port, "alice", "secret", "a")
    a.select("f3")
    a.fetch_all()
    expunge(srv.port, "f3", b"1")
    a.fetch_all()                   # UID 1 gone, held back: 2 messages
    w = Session(srv.port, "alice", "secret", "w")
    w.command(b"APPEND f3", kind="APPEND", literal=MSG % (3, 3))
    w.select("f3")
    w.command(b"STORE 2 +FLAGS.SILENT (\\Deleted)", kind="STORE",
              noexpunge=True)
    w.command(b"EXPUNGE", kind="EXPUNGE")       # UID 3, never seen by a
    w.command(b"APPEND f3", kind="APPEND", literal=MSG % (4, 4))
    w.logout()
    a.fetch_all()                   # still held: 2 messages (or 3 at most)
    assert wait_for(lambda: srv.parked() >= 1), "a was not parked"
    a.command(b"NOOP", kind="NOOP")
    a.fetch_all()
    assert a.known_uids() == [2, 4], a.log
    quiet(a)
    a.logout()


def truth(port, box):
    """UID -> flags of box, as a fresh session sees them"""
    f = Session(port, "alice", "secret", "fresh")
    f.select(box)
    f.fetch_all()
    f.logout()
    return f.known_uids(), f.flags


def test_incremental_sync_exact(srv):
    """NOOP after another session's changes reports exactly them (each
    changed message once, by its number after the EXPUNGEs, with its new
    flags; the new ones with EXISTS), and so does a session resumed from
    idled after more changes; several sessions, one holding expunges
    back, all end with the mailbox's flags"""
    fill(srv.port, "inc", 120)
    a = Session(srv.port, "alice", "secret", "a")
    b = Session(srv.port, "alice", "secret", "b")
    for x in (a, b):
        x.select("inc")
        x.fetch_all()
    w = Session(srv.port, "alice", "secret", "w")
    w.select("inc")
    w.command(b"UID STORE 3,17,40:42,99 +FLAGS.SILENT (\\Flagged kw1)",
              kind="STORE", noexpunge=True)
    w.command(b"UID STORE 7,60 +FLAGS.SILENT (\\Deleted)", kind="STORE",
              noexpunge=True)
    w.command(b"EXPUNGE", kind="EXPUNGE")
    w.command(b"APPEND inc", kind="APPEND", literal=MSG % (900, 900))
    b.fetch_all()                   # b: the expunges held back
    got = a.command(b"NOOP", kind="NOOP")["got"]
    assert got.count(b"* 60 EXPUNGE") == 1 and \
        got.count(b"* 7 EXPUNGE") == 1, got
    changed = sorted(int(r.split()[1]) for r in got if b" FETCH (" in r)
    # UIDs 3 17 40 41 42 99 after 7 and 60 went: numbers 3 16 39 40 41 97
    assert changed == [3, 16, 39, 40, 41, 97], got
    assert b"* 119 EXISTS" in got, got
    a.fetch_all()
    assert a.known_uids() == truth(srv.port, "inc")[0]
    # parked, then more changes, then resumed by a command
    assert wait_for(lambda: srv.parked() >= 1), "a was not parked"
    w.command(b"UID STORE 17 -FLAGS.SILENT (kw1)", kind="STORE",
              noexpunge=True)
    w.command(b"UID STORE 100 +FLAGS.SILENT (\\Seen)", kind="STORE",
              noexpunge=True)
    w.command(b"UID STORE 3 +FLAGS.SILENT (\\Deleted)", kind="STORE",
              noexpunge=True)
    w.command(b"UID EXPUNGE 3", kind="UID EXPUNGE", uid=True)
    w.logout()
    got = a.command(b"NOOP", kind="NOOP")["got"]
    assert got.count(b"* 3 EXPUNGE") == 1, got
    changed = sorted(int(r.split()[1]) for r in got if b" FETCH (" in r)
    assert changed == [15, 97], got
    uids, flags = truth(srv.port, "inc")
    for x in (a, b):
        x.command(b"NOOP", kind="NOOP")
        check_flags(x, flags)
        assert x.known_uids() == uids, x.name
        quiet(x)
        x.logout()


# a worker keeps the records of a mailbox of 100 messages or more
CACHE = "view_cache_min: 100\ndebug: yes\n"


def changes(port, box):
    """another session makes 100 changes to box (of 150 messages, UIDs
    1..150 present): flags on 93 messages, 4 expunged, 3 appended"""
    w = Session(port, "alice", "secret", "w")
    w.select(box)
    w.command(b"UID STORE 1:40 +FLAGS.SILENT (\\Flagged kwa)", kind="STORE",
              noexpunge=True)
    w.command(b"UID STORE 41:90 +FLAGS.SILENT (\\Seen)", kind="STORE",
              noexpunge=True)
    w.command(b"UID STORE 120:122 +FLAGS.SILENT (kwb)", kind="STORE",
              noexpunge=True)
    w.command(b"UID STORE 5,50,100,150 +FLAGS.SILENT (\\Deleted)",
              kind="STORE", noexpunge=True)
    w.command(b"EXPUNGE", kind="EXPUNGE")
    for i in range(3):
        w.command(b"APPEND " + box.encode(), kind="APPEND",
                  literal=MSG % (500 + i, i))
    w.logout()


def resumed_from_cache(srv, box):
    return any("view rebuilt user=alice mailbox=%s " % box in ln and
               "cached=yes" in ln for ln in srv.logtext().splitlines())


def check_resume(srv, a, box, got):
    """got: what a parked session was told on resuming after changes():
    the EXPUNGEs of 5, 50, 100 and 150 (numbers 150, 100, 50, 5, each
    once, highest first), one FETCH for each of the 90 changed messages
    still there, by its number after those, EXISTS 149; and its view and
    flags are then the mailbox's"""
    assert [r for r in got if r.endswith(b" EXPUNGE")] == [
        b"* 150 EXPUNGE", b"* 100 EXPUNGE", b"* 50 EXPUNGE",
        b"* 5 EXPUNGE"], got
    nos = sorted(int(r.split()[1]) for r in got if b" FETCH (" in r)
    # UIDs 1:4 6:40 41:49 51:90 120:122 less 5 and 50: numbers
    # 1:4 5:39 40:48 49:88, and 120:122 -> 117:119
    want = list(range(1, 89)) + [117, 118, 119]
    assert nos == want, got
    assert b"* 149 EXISTS" in got, got
    uids, flags = truth(srv.port, box)
    a.command(b"NOOP", kind="NOOP")
    check_flags(a, flags)
    a.fetch_all()
    assert a.known_uids() == uids
    quiet(a)


def cache_srv():
    """one worker, so that the session resumes where it was listed"""
    s = Server(prefork=1, maxchild=1, extra_conf=PARK + CACHE)
    s.add_user("alice", "secret")
    s.start()
    return s


def test_resume_after_changes_from_cached_records():
    """a session parked between commands, resumed by its next command
    after another session's 100 changes, by a worker that kept the
    mailbox's records and read only what changed since: exactly the
    EXPUNGEs, FETCHes and EXISTS an unparked session gets"""
    srv = cache_srv()
    try:
        fill(srv.port, "big", 150)
        a = Session(srv.port, "alice", "secret", "a")
        a.select("big")
        a.fetch_all()
        assert wait_for(lambda: srv.parked() >= 1), "a was not parked"
        changes(srv.port, "big")
        got = a.command(b"NOOP", kind="NOOP")["got"]
        check_resume(srv, a, "big", got)
        assert resumed_from_cache(srv, "big"), srv.logtext()[-3000:]
        a.logout()
    finally:
        srv.stop()
        srv.cleanup()


def test_idle_woken_by_changes_from_cached_records():
    """the same for a parked IDLE, woken by the changes (once or more, as
    they come) and told them while it idles: every changed message's
    FETCH, the 4 EXPUNGEs, EXISTS 149 (read until they all came, with a
    deadline), numbers right throughout, then DONE answered"""
    srv = cache_srv()
    try:
        fill(srv.port, "big", 150)
        a = Session(srv.port, "alice", "secret", "a")
        a.select("big")
        a.fetch_all()
        a.c.send(b"i1 IDLE\r\n")
        assert a.c.response().startswith(b"+"), a.log
        assert wait_for(lambda: srv.parked() >= 1), "a was not parked"
        changes(srv.port, "big")
        ctx = {"kind": "IDLE", "noexpunge": False}
        want = set(range(1, 91)) - {5, 50} | {120, 121, 122}
        got, told = [], set()
        while not want <= told or a.n != 149 or \
                sum(r.endswith(b" EXPUNGE") for r in got) < 4:
            r = a.c.response_within(30)
            assert r is not None, got
            got.append(r)
            a.untagged(r, ctx)
            m = re.search(rb" FETCH \(.*UID (\d+)", r)
            if m:
                told.add(int(m.group(1)))
        a.c.send(b"DONE\r\n")
        assert a.c.response() == b"i1 OK IDLE terminated", a.log
        assert sum(r.endswith(b" EXPUNGE") for r in got) == 4, got
        uids, flags = truth(srv.port, "big")
        a.command(b"NOOP", kind="NOOP")
        check_flags(a, flags)
        a.fetch_all()
        assert a.known_uids() == uids
        quiet(a)
        assert resumed_from_cache(srv, "big"), srv.logtext()[-3000:]
        a.logout()
    finally:
        srv.stop()
        srv.cleanup()


def run(extra_conf, pause, notify=False):
    s = Server(maxchild=40, extra_conf=extra_conf)
    for u, p in USERS:
        s.add_user(u, p)
    s.start()
    try:
        for u, p in USERS:
            c = s.connect(u, p)
            c.create("Other")
            c.logout()
        # VIEW_SEED=n replays a failed run's choices (not its timing)
        seed = os.environ.get("VIEW_SEED")
        sessions, errors, seed = drive(s.port, USERS, 4, SECONDS, BOXES,
                                       pause=pause, notify=notify,
                                       seed=int(seed) if seed else None)
        total = summary(sessions)
        examples = [e for x in sessions for e in x.examples][:15]
        log = s.logtext()
        assert not errors, "seed %d\n%s" % (seed, "\n".join(errors))
        assert not total, "seed %d: %s\n%s" % (seed, dict(total),
                                               "\n".join(examples))
        assert "DB_NOTFOUND" not in log, log[-3000:]
        assert "panic" not in log
    finally:
        s.stop()
        # shown when the test failed: what went wrong anywhere in the run,
        # then how it ended
        print("\n".join(ln for ln in s.logtext().splitlines()
                        if ": error: " in ln or ": warning: " in ln or
                        "stopping" in ln or "exited" in ln))
        print(s.logtext()[-3000:])
        s.cleanup()


def test_view_busy():
    """sessions that never wait long enough to be parked"""
    run("", 0.0)


def test_view_parked():
    """sessions parked in idled between commands now and then, resumed
    by workers that keep every mailbox's records and read only what
    changed since"""
    run(PARK + "view_cache_min: 1\n", 0.15)


def test_view_notify_parked():
    """under NOTIFY selected-delayed, parked and woken by changes (the
    mailboxes' records kept as above)"""
    run(PARK + "view_cache_min: 1\n", 0.15, notify=True)

"""IMAP4rev2 (RFC 9051) beside IMAP4rev1, UTF8=ACCEPT (RFC 6855) and
LITERAL- (RFC 7888): what changes once a session enables them, and what
stays for one that does not.  Raw sockets: the exact form of responses
is what is checked."""
import re

import pytest

from conftest import wait_for
import raw
from raw import Raw, login, ok, status

TIMEOUT = 20
MSG = b"From: a@example.com\r\nSubject: rev2\r\n\r\nbody\r\n"


def append(r, box, msg=MSG, flags=b""):
    return ok(raw.append(r, box, msg, flags))


def test_literal_minus(fresh):
    s = fresh(extra_conf="literalminus: yes\n").start()
    r = Raw(s.port, timeout=TIMEOUT)
    caps = ok(r.cmd(b"c", b"CAPABILITY"))[0]
    assert b" LITERAL-" in caps and b"LITERAL+" not in caps, caps
    ok(r.cmd(b"L", b"LOGIN alice secret"))
    # up to 4096 bytes without a continuation
    r.send(b"A APPEND INBOX {4096+}\r\n" + b"x" * 4096 + b"\r\n")
    ok(r.until_tag(b"A"))
    # past it: BAD [TOOBIG], and the bytes on the way end the session
    r.send(b"B APPEND INBOX {4097+}\r\n")
    out = r.until_tag(b"B")
    assert out[-1].startswith(b"B BAD [TOOBIG]"), out
    assert r.closed()
    assert wait_for(lambda: "limit=literalminus:4096" in s.logtext())
    # without the option: LITERAL+, any size up to maxliteral
    t = fresh().start()
    r = Raw(t.port, timeout=TIMEOUT)
    caps = ok(r.cmd(b"c", b"CAPABILITY"))[0]
    assert b" LITERAL+" in caps and b"LITERAL-" not in caps, caps
    ok(r.cmd(b"L", b"LOGIN alice secret"))
    r.send(b"A APPEND INBOX {5000+}\r\n" + b"x" * 5000 + b"\r\n")
    ok(r.until_tag(b"A"))
    r.cmd(b"z", b"LOGOUT")


def untagged(lines, word):
    return [ln for ln in lines if re.match(rb"\* (\d+ )?" + word + rb"\b",
                                           ln)]


def test_rev2_enabled_session(server):
    a = login(server)
    caps = ok(a.cmd(b"c", b"CAPABILITY"))[0]
    assert b" IMAP4rev1 " in caps and b" IMAP4rev2" in caps, caps
    assert b" UTF8=ACCEPT" in caps, caps
    ok(a.cmd(b"c", b"CREATE r2"))
    append(a, b"r2")
    append(a, b"r2", flags=b"\\Deleted")
    b = login(server)
    out = ok(b.cmd(b"e", b"ENABLE IMAP4rev2"))
    assert out[0] == b"* ENABLED IMAP4rev2", out
    out = ok(b.cmd(b"e", b"ENABLE IMAP4rev2"))
    assert out[0] == b"* ENABLED", out        # only what is new
    out = ok(b.cmd(b"s", b"SELECT r2"))
    assert b"* 2 EXISTS" in out, out
    assert not untagged(out, b"RECENT"), out
    assert not [x for x in out if b"[UNSEEN" in x], out
    assert b'* LIST () "/" r2' in out, out
    out = ok(b.cmd(b"f", b"FETCH 1:* FLAGS"))
    assert not [x for x in out if b"\\Recent" in x], out
    # not taken from the IMAP4rev1 sessions
    out = ok(a.cmd(b"s", b"EXAMINE r2"))
    assert b"* 2 RECENT" in out, out
    # SEARCH answers ESEARCH, with the tag, UID for UID SEARCH
    out = ok(b.cmd(b"k", b"SEARCH ALL"))
    assert out[0] == b'* ESEARCH (TAG "k") ALL 1:2', out
    out = ok(b.cmd(b"k", b"UID SEARCH DELETED"))
    assert out[0] == b'* ESEARCH (TAG "k") UID ALL 2', out
    out = ok(b.cmd(b"k", b"SEARCH KEYWORD nosuch"))
    assert out[0] == b'* ESEARCH (TAG "k")', out
    out = ok(a.cmd(b"k", b"SEARCH ALL"))
    assert out[0] == b"* SEARCH 1 2", out     # IMAP4rev1 unchanged
    # STATUS: DELETED; no RECENT in IMAP4rev2
    out = ok(b.cmd(b"t", b"STATUS INBOX (MESSAGES)"))
    out = ok(a.cmd(b"t", b"UNSELECT"))
    out = ok(b.cmd(b"t", b"STATUS r2 (MESSAGES DELETED)"))
    assert out[0] == b"* STATUS r2 (MESSAGES 2 DELETED 1)", out
    assert status(b.cmd(b"t", b"STATUS r2 (RECENT)")) == b"BAD"
    # new mail: EXISTS, no RECENT
    append(a, b"r2")
    out = ok(b.cmd(b"n", b"NOOP"))
    assert b"* 3 EXISTS" in out and not untagged(out, b"RECENT"), out
    for r in (a, b):
        r.cmd(b"z", b"LOGOUT")


def test_utf8_accept(server):
    a = login(server)
    u = login(server)
    # before ENABLE: modified UTF-7 only
    assert status(u.cmd(b"c", "CREATE \"Grüße\"".encode())) == b"BAD"
    out = ok(u.cmd(b"e", b"ENABLE UTF8=ACCEPT"))
    assert out[0] == b"* ENABLED UTF8=ACCEPT", out
    ok(u.cmd(b"c", "CREATE \"Grüße\"".encode()))
    ok(u.cmd(b"c", b'CREATE "a&b"'))
    out = ok(u.cmd(b"l", b'LIST "" "*"'))
    assert '* LIST (\\HasNoChildren) "/" "Grüße"'.encode() in out, out
    assert b'* LIST (\\HasNoChildren) "/" a&b' in out, out
    # the same mailboxes in modified UTF-7 for a session without it
    out = ok(a.cmd(b"l", b'LIST "" "*"'))
    assert b'* LIST (\\HasNoChildren) "/" Gr&APwA3w-e' in out, out
    assert b'* LIST (\\HasNoChildren) "/" a&-b' in out, out
    append(a, b"Gr&APwA3w-e")
    out = ok(u.cmd(b"t", "STATUS \"Grüße\" (MESSAGES)".encode()))
    assert out[0] == "* STATUS \"Grüße\" (MESSAGES 1)".encode(), out
    ok(a.cmd(b"c", b"CREATE &AOQ-"))
    out = ok(u.cmd(b"l", "LIST \"\" \"ä\"".encode()))
    assert out[0] == '* LIST (\\HasNoChildren) "/" "ä"'.encode(), out
    out = ok(u.cmd(b"s", "SELECT \"Grüße\"".encode()))
    assert b"* 1 EXISTS" in out, out
    ok(u.cmd(b"r", "RENAME \"ä\" \"ö\"".encode()))
    out = ok(a.cmd(b"l", b'LIST "" "&APY-"'))
    assert out[0] == b'* LIST (\\HasNoChildren) "/" &APY-', out
    # quoted strings must be UTF-8 now, and no control character may
    # hide in a name
    assert status(u.cmd(b"x", b'CREATE "bad\xff\xfe"')) == b"BAD"
    assert status(u.cmd(b"x", b'SEARCH SUBJECT "\xc3\x28"')) == b"BAD"
    assert status(u.cmd(b"x", b'CREATE "bad\x01"')) == b"BAD"
    # a literal carries any bytes (a search string in a charset)
    ok(u.cmd(b"x", "SEARCH CHARSET UTF-8 SUBJECT \"ü\"".encode()))
    for r in (a, u):
        r.cmd(b"z", b"LOGOUT")


def test_rev2_utf8_parked(fresh):
    """what ENABLE turned on travels with a parked session"""
    s = fresh(extra_conf="wait_park_delay: 200ms\n").start()
    a = login(s)
    ok(a.cmd(b"c", b"CREATE &AOQ-"))
    append(a, b"&AOQ-")
    b = login(s)
    ok(b.cmd(b"e", b"ENABLE IMAP4rev2"))
    ok(b.cmd(b"s", "SELECT \"ä\"".encode()))
    n = s.logtext().count("park user=alice")
    assert wait_for(lambda: s.logtext().count("park user=alice") > n)
    append(a, b"&AOQ-")
    out = ok(b.cmd(b"n", b"NOOP"))
    assert b"* 2 EXISTS" in out and not untagged(out, b"RECENT"), out
    out = ok(b.cmd(b"k", b"SEARCH ALL"))
    assert out[0] == b'* ESEARCH (TAG "k") ALL 1:2', out
    out = ok(b.cmd(b"l", b'LIST "" "*"'))
    assert '"/" "ä"'.encode() in b"".join(out), out
    for r in (a, b):
        r.cmd(b"z", b"LOGOUT")


@pytest.fixture(scope="module")
def server():
    from conftest import Server
    s = Server()
    s.add_user("alice", "secret")
    s.start()
    yield s
    s.finish()


def test_utf8_append_and_notify(server):
    """APPEND's UTF8 data item (RFC 6855 4) once enabled, and NOTIFY
    mailbox names in UTF-8"""
    a = login(server)
    u = login(server)
    ok(a.cmd(b"c", b"CREATE &AOk-t&AOk-"))          # "été"
    msg = "From: é@example.com\r\nSubject: déjà\r\n\r\nvu\r\n".encode()
    lit = b"~{%d}" % len(msg)
    # not before UTF8=ACCEPT
    u.send(b"A APPEND INBOX UTF8 (" + lit + b"\r\n")
    assert u.line().startswith(b"+")
    u.send(msg + b")\r\n")
    out = u.until_tag(b"A")
    assert status(out) == b"BAD", out
    ok(u.cmd(b"e", b"ENABLE UTF8=ACCEPT"))
    u.send(b"A APPEND \"\xc3\xa9t\xc3\xa9\" UTF8 (" + lit + b"\r\n")
    assert u.line().startswith(b"+")
    u.send(msg + b")\r\n")
    out = ok(u.until_tag(b"A"))
    assert b"[APPENDUID " in out[-1], out
    ok(a.cmd(b"s", b"EXAMINE &AOk-t&AOk-"))
    out = ok(a.cmd(b"f", b"FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]"))
    assert "déjà".encode() in b"".join(out), out
    ok(a.cmd(b"u", b"UNSELECT"))
    # NOTIFY with a UTF-8 name: STATUS for it, named in UTF-8
    ok(u.cmd(b"n", b"NOTIFY SET (mailboxes \"\xc3\xa9t\xc3\xa9\" "
             b"(MessageNew MessageExpunge))"))
    u.send(b"i IDLE\r\n")
    assert u.line().startswith(b"+")
    append(a, b"&AOk-t&AOk-")
    while True:
        ln = u.line()
        if ln.startswith(b"* STATUS"):
            break
    assert ln.startswith(b'* STATUS "\xc3\xa9t\xc3\xa9" (MESSAGES 2 '), ln
    u.send(b"DONE\r\n")
    ok(u.until_tag(b"i"))
    assert status(u.cmd(b"n", b'NOTIFY SET (mailboxes "\xc3\x28" '
                        b'(MessageNew))')) == b"BAD"
    for r in (a, u):
        r.cmd(b"z", b"LOGOUT")

"""IMAP4rev2 (RFC 9051) beside IMAP4rev1, UTF8=ACCEPT (RFC 6855) and
LITERAL- (RFC 7888): what changes once a session enables them, and what
stays for one that does not.  Raw sockets: the exact form of responses
is what is checked."""
import re

import pytest

from conftest import wait_for
from raw import Raw

TIMEOUT = 20
MSG = b"From: a@example.com\r\nSubject: rev2\r\n\r\nbody\r\n"


def login(server):
    r = Raw(server.port, timeout=TIMEOUT)
    out = r.cmd(b"L", b"LOGIN alice secret")
    assert out[-1].startswith(b"L OK"), out
    return r


def ok(lines):
    assert lines[-1].split(b" ", 2)[1] == b"OK", lines
    return lines


def status(lines):
    return lines[-1].split(b" ", 2)[1]


def append(r, box, msg=MSG, flags=b""):
    r.send(b"A APPEND " + box + (b" (" + flags + b")" if flags else b"") +
           b" {%d+}\r\n" % len(msg) + msg + b"\r\n")
    return ok(r.until_tag(b"A"))


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

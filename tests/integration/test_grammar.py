"""Grammar at the edge: LIST patterns cost linear work, mailbox names are
modified UTF-7 without control characters, every number is range-checked,
CONDSTORE's FETCH modifier, and BODYSTRUCTURE stays grammatical whatever
the message."""
import pytest

from raw import Raw

# the whole exchange of one test is bounded by the socket timeout, so a
# regression fails instead of hanging; nothing here asserts a duration
TIMEOUT = 20


def login(server):
    r = Raw(server.port, timeout=TIMEOUT)
    assert r.cmd(b"L", b"LOGIN alice secret")[-1].startswith(b"L OK")
    return r


def tagged(lines):
    return lines[-1].split(b" ", 2)[1]


def listed(r, pattern):
    """names LIST returns for pattern (quoted as given)"""
    out = r.cmd(b"l", b'LIST "" ' + pattern)
    assert out[-1].startswith(b"l OK"), out
    return [ln.rsplit(b' "/" ', 1)[1] for ln in out[:-1]
            if ln.startswith(b"* LIST")]


def test_list_pathological_pattern(server):
    r = login(server)
    name = b"a" * 990
    assert tagged(r.cmd(b"c", b"CREATE " + name)) == b"OK"
    try:
        # the backtracking matcher ran 184 s on four '*a' and past the
        # watchdog on five; twenty is answered at once
        pat = b'"' + b"*a" * 20 + b'b"'
        assert listed(r, pat) == []
        assert listed(r, b'"' + b"*a" * 20 + b'"') == [name]
        assert listed(r, b'"%a%a%a%a%a%a%a%a%a%ab"') == []
        assert listed(r, b'"a%"') == [name]
    finally:
        r.cmd(b"d", b"DELETE " + name)
    r.cmd(b"z", b"LOGOUT")
    r.close()


def test_create_with_nul_refused(server):
    r = login(server)
    r.send(b"c1 CREATE {5}\r\n")
    assert r.line().startswith(b"+")
    r.send(b"nu\x00ll\r\n")
    out = r.until_tag(b"c1")
    assert tagged(out) == b"BAD" and b"NUL" in out[-1], out
    # neither the prefix nor anything else was created
    assert listed(r, b'"nu*"') == []
    r.cmd(b"z", b"LOGOUT")
    r.close()


BAD_NAMES = [
    b"{3}\r\na\x01b",           # control character
    b"{4}\r\na\x1b[m",
    b"\"tab\there\"",
    b"{5}\r\ncaf\xc3\xa9",       # 8-bit, no UTF8=ACCEPT
    b"\"&AOk\"",                 # unterminated shift
    b"\"a&b\"",
    b"\"&AGE-\"",                # printable ASCII encoded
    b"\"&AOl-\"",                # padding bits set
    b"\"&AO/-\"",                # '/' is not modified BASE64
    b"\"&2D0-\"",                # lone surrogate
]


def send_lit(r, tag, before, arg, after=b""):
    """send a command whose argument may be a synchronising literal"""
    if arg.startswith(b"{"):
        head, body = arg.split(b"\r\n", 1)
        r.send(tag + b" " + before + head + b"\r\n")
        ln = r.line()
        if not ln.startswith(b"+"):
            return [ln]
        r.send(body + after + b"\r\n")
    else:
        r.send(tag + b" " + before + arg + after + b"\r\n")
    return r.until_tag(tag)


@pytest.mark.parametrize("arg", BAD_NAMES)
def test_bad_mailbox_names_refused(server, arg):
    r = login(server)
    assert tagged(r.cmd(b"s", b"SELECT INBOX")) == b"OK"
    cases = [
        (b"CREATE ", b""), (b"DELETE ", b""), (b"SELECT ", b""),
        (b"EXAMINE ", b""), (b"SUBSCRIBE ", b""), (b"UNSUBSCRIBE ", b""),
        (b"STATUS ", b" (MESSAGES)"), (b"RENAME INBOX/x ", b""),
        (b"RENAME ", b" x"), (b"LIST \"\" ", b""), (b"LIST ", b" \"*\""),
        (b"LSUB \"\" ", b""), (b"COPY 1:* ", b""), (b"MOVE 1:* ", b""),
        (b"APPEND ", b" {1+}\r\nx"),
    ]
    for i, (before, after) in enumerate(cases):
        tag = b"t%d" % i
        out = send_lit(r, tag, before, arg, after)
        assert out[-1].startswith(tag + b" BAD"), (before, out)
    out = send_lit(r, b"n", b"NOTIFY SET (mailboxes ", arg,
                   b" (MessageNew))")
    assert tagged(out) == b"BAD", out
    r.cmd(b"z", b"LOGOUT")
    r.close()


def test_good_modified_utf7_accepted(server):
    r = login(server)
    name = b"&AOk-t&AOk-"
    assert tagged(r.cmd(b"c", b"CREATE " + name)) == b"OK"
    assert listed(r, b'"&AOk-*"') == [name]
    assert tagged(r.cmd(b"s", b"STATUS " + name + b" (MESSAGES)")) == b"OK"
    assert tagged(r.cmd(b"d", b"DELETE " + name)) == b"OK"
    assert tagged(r.cmd(b"c", b'CREATE "a&-b"')) == b"OK"
    assert tagged(r.cmd(b"d", b'DELETE "a&-b"')) == b"OK"
    r.cmd(b"z", b"LOGOUT")
    r.close()

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


def select_with_messages(r, count):
    """a fresh mailbox of the test's own with count messages, selected"""
    r.cmd(b"x", b"DELETE nums")
    assert tagged(r.cmd(b"c", b"CREATE nums")) == b"OK"
    for i in range(count):
        msg = b"From: a@example.com\r\nSubject: m%d\r\n\r\nbody %d\r\n" % (
            i, i)
        out = r.cmd(b"a", b"APPEND nums {%d+}\r\n" % len(msg) + msg)
        assert tagged(out) == b"OK", out
    assert tagged(r.cmd(b"s", b"SELECT nums")) == b"OK"


@pytest.mark.parametrize("item", [
    b"BODY[]<-1.5>", b"BODY[]<+5.5>", b"BODY[]<5.0>", b"BODY[]<5.-1>",
    b"BODY[]<4294967296.1>", b"BODY[]<1.4294967296>", b"BODY[]< 1.5>",
    b"BODY[]<1.+5>", b"BODY[]<1.5", b"BODY[]<.5>", b"BODY[]<1.>",
    b"BODY.PEEK[TEXT]<18446744073709551617.1>",
])
def test_partial_ranges_refused(server, item):
    r = login(server)
    select_with_messages(r, 1)
    out = r.cmd(b"f", b"FETCH 1 (" + item + b")")
    assert tagged(out) == b"BAD", out
    # the largest valid offset and length are fine
    out = r.cmd(b"g", b"FETCH 1 (BODY.PEEK[]<4294967295.4294967295>)")
    assert tagged(out) == b"OK" and b"BODY[]<4294967295> {0}" in out[0], out
    out = r.cmd(b"h", b"FETCH 1 (BODY.PEEK[]<0.4>)")
    assert out[0].endswith(b"BODY[]<0> {4}"), out
    r.cmd(b"z", b"LOGOUT")
    r.close()


@pytest.mark.parametrize("cmd", [
    b"FETCH 0 FLAGS", b"FETCH 4294967296 FLAGS", b"FETCH 1:4294967296 FLAGS",
    b"FETCH 0:* FLAGS", b"UID FETCH 0 FLAGS", b"UID FETCH 99999999999 FLAGS",
    b"FETCH -1 FLAGS", b"FETCH +1 FLAGS", b"STORE 0 +FLAGS (\\Seen)",
    b"FETCH 1 FLAGS (CHANGEDSINCE 0)",
    b"FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)",
    b"FETCH 1 FLAGS (CHANGEDSINCE -1)", b"FETCH 1 FLAGS (CHANGEDSINCE)",
    b"FETCH 1 FLAGS (NOSUCHMODIFIER 1)",
    b"STORE 1 (UNCHANGEDSINCE 9223372036854775808) +FLAGS (\\Seen)",
    b"STORE 1 (UNCHANGEDSINCE -1) +FLAGS (\\Seen)",
    b"STORE 1 (UNCHANGEDSINCE 18446744073709551617) +FLAGS (\\Seen)",
])
def test_numbers_refused(server, cmd):
    r = login(server)
    select_with_messages(r, 1)
    out = r.cmd(b"n", cmd)
    assert tagged(out) == b"BAD", out
    r.cmd(b"z", b"LOGOUT")
    r.close()


def modseqs(lines):
    out = {}
    for ln in lines:
        if b" FETCH (" in ln and b"MODSEQ (" in ln:
            n = int(ln.split()[1])
            out[n] = int(ln.split(b"MODSEQ (", 1)[1].split(b")")[0])
    return out


def test_fetch_changedsince(server):
    r = login(server)
    select_with_messages(r, 3)
    out = r.cmd(b"f", b"FETCH 1:* (FLAGS) (CHANGEDSINCE 1)")
    assert tagged(out) == b"OK", out
    before = modseqs(out)
    assert sorted(before) == [1, 2, 3], out
    high = max(before.values())
    out = r.cmd(b"s", b"STORE 2 +FLAGS.SILENT (\\Flagged)")
    assert tagged(out) == b"OK", out
    # only the changed message, with its MODSEQ
    out = r.cmd(b"g", b"FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % high)
    assert tagged(out) == b"OK", out
    after = modseqs(out)
    assert list(after) == [2] and after[2] > high, out
    # UID FETCH: UID and MODSEQ implied
    out = r.cmd(b"u", b"UID FETCH 1:* FLAGS (CHANGEDSINCE %d)" % high)
    assert tagged(out) == b"OK", out
    fl = [ln for ln in out if b" FETCH (" in ln]
    assert len(fl) == 1 and b"UID " in fl[0] and b"MODSEQ (" in fl[0], out
    out = r.cmd(b"h", b"FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % after[2])
    assert tagged(out) == b"OK" and len(out) == 1, out
    # STORE (UNCHANGEDSINCE n): a message changed since fails
    out = r.cmd(b"t", b"STORE 2 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % high)
    assert tagged(out) == b"OK" and b"[MODIFIED 2]" in out[-1], out
    r.cmd(b"z", b"LOGOUT")
    r.close()

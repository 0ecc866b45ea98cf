"""Grammar at the edge: LIST patterns cost linear work, mailbox names are
modified UTF-7 without control characters, every number is range-checked,
CONDSTORE's FETCH modifier, and BODYSTRUCTURE stays grammatical whatever
the message."""
import os
import random

import pytest

import conftest
from raw import login, status as tagged

# the whole exchange of one test is bounded by the socket timeout (raw's
# TIMEOUT), so a regression fails instead of hanging; nothing here
# asserts a duration


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
    # and the refusal is logged with its reason (wait for the line)
    assert server.wait_log("refused CREATE user=alice"), \
        server.logtext()[-2000:]
    assert 'reason="Mailbox name contains NUL"' in server.logtext()
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


# ---- BODYSTRUCTURE: RFC 3501 body grammar, checked strictly ----

class Syntax(Exception):
    pass


class BodyParser:
    """recursive descent over one FETCH response's BODY/BODYSTRUCTURE"""

    def __init__(self, data, pos=0):
        self.d = data
        self.i = pos

    def fail(self, what):
        raise Syntax("%s at %d: %r" % (what, self.i,
                                         self.d[max(0, self.i - 40):
                                                self.i + 40]))

    def peek(self, s):
        return self.d.startswith(s, self.i)

    def expect(self, s):
        if not self.peek(s):
            self.fail("expected %r" % s)
        self.i += len(s)

    def sp(self):
        self.expect(b" ")

    def number(self):
        j = self.i
        while self.i < len(self.d) and self.d[self.i:self.i + 1].isdigit():
            self.i += 1
        if j == self.i or int(self.d[j:self.i]) > 4294967295:
            self.fail("expected a number")
        return int(self.d[j:self.i])

    def string(self):
        if self.peek(b'"'):
            self.i += 1
            out = b""
            while True:
                if self.i >= len(self.d):
                    self.fail("unterminated quoted string")
                c = self.d[self.i]
                if c == 0x22:
                    self.i += 1
                    return out
                if c == 0x5c:
                    nxt = self.d[self.i + 1:self.i + 2]
                    if nxt not in (b'"', b"\\"):
                        self.fail("bad escape")
                    out += nxt
                    self.i += 2
                    continue
                if c in (0, 0x0a, 0x0d) or c >= 0x80:
                    self.fail("byte 0x%02x in a quoted string" % c)
                out += bytes([c])
                self.i += 1
        if self.peek(b"{"):
            j = self.d.index(b"}\r\n", self.i)
            n = int(self.d[self.i + 1:j])
            self.i = j + 3
            out = self.d[self.i:self.i + n]
            if len(out) != n:
                self.fail("short literal")
            if b"\0" in out:
                self.fail("NUL in a literal")
            self.i += n
            return out
        self.fail("expected a string")

    def nstring(self):
        if self.peek(b"NIL"):
            self.i += 3
            return None
        return self.string()

    def param(self):
        if self.peek(b"NIL"):
            self.i += 3
            return
        self.expect(b"(")
        self.string()
        self.sp()
        self.string()
        while self.peek(b" "):
            self.sp()
            self.string()
            self.sp()
            self.string()
        self.expect(b")")

    def dsp(self):
        if self.peek(b"NIL"):
            self.i += 3
            return
        self.expect(b"(")
        self.string()
        self.sp()
        self.param()
        self.expect(b")")

    def lang(self):
        if self.peek(b"("):
            self.i += 1
            self.string()
            while self.peek(b" "):
                self.sp()
                self.string()
            self.expect(b")")
        else:
            self.nstring()

    def extension(self):
        if self.peek(b"("):
            self.i += 1
            self.extension()
            while self.peek(b" "):
                self.sp()
                self.extension()
            self.expect(b")")
        elif self.d[self.i:self.i + 1].isdigit():
            self.number()
        else:
            self.nstring()

    def ext_tail(self):
        """[SP dsp [SP lang [SP loc *(SP extension)]]]"""
        for step in (self.dsp, self.lang, self.nstring):
            if not self.peek(b" "):
                return
            self.sp()
            step()
        while self.peek(b" "):
            self.sp()
            self.extension()

    def address(self):
        self.expect(b"(")
        for k in range(4):
            if k:
                self.sp()
            self.nstring()
        self.expect(b")")

    def addresses(self):
        if self.peek(b"NIL"):
            self.i += 3
            return
        self.expect(b"(")
        self.address()
        while self.peek(b"("):
            self.address()
        self.expect(b")")

    def envelope(self):
        self.expect(b"(")
        self.nstring()
        self.sp()
        self.nstring()
        for _ in range(6):
            self.sp()
            self.addresses()
        self.sp()
        self.nstring()
        self.sp()
        self.nstring()
        self.expect(b")")

    def body(self, ext, path, parts):
        """one body; parts gets (path, octets) of every leaf and
        message/rfc822 part, path as IMAP section numbers"""
        self.expect(b"(")
        if self.peek(b"("):
            n = 0
            while self.peek(b"("):
                n += 1
                self.body(ext, path + [n], parts)
            self.sp()
            self.string()
            if self.peek(b" "):
                if not ext:
                    self.fail("extension data in BODY")
                self.sp()
                self.param()
                self.ext_tail()
            self.expect(b")")
            return
        t = self.string().upper()
        self.sp()
        st = self.string().upper()
        self.sp()
        self.param()
        self.sp()
        self.nstring()
        self.sp()
        self.nstring()
        self.sp()
        self.string()
        self.sp()
        octets = self.number()
        parts.append((path or [1], octets))
        if t == b"MESSAGE" and st == b"RFC822":
            self.sp()
            self.envelope()
            self.sp()
            self.body(ext, (path or [1]) + [], [])
            self.sp()
            self.number()
        elif t == b"TEXT":
            self.sp()
            self.number()
        if self.peek(b" "):
            if not ext:
                self.fail("extension data in BODY")
            self.sp()
            self.nstring()
            self.ext_tail()
        self.expect(b")")


def read_literal(r, n):
    """n bytes after a literal announcement, as one bytes object"""
    parts, have = [r.buf[:n]], len(r.buf[:n])
    r.buf = r.buf[n:]
    while have < n:
        d = r.s.recv(min(1 << 20, n - have))
        if not d:
            raise EOFError
        parts.append(d)
        have += len(d)
    return b"".join(parts)


def fetch_all(r, tag, cmd, sizes=None):
    """untagged responses to cmd with literals inlined, and the tagged
    line; with sizes (a list), literals are only measured into it"""
    r.send(tag + b" " + cmd + b"\r\n")
    out, cur = [], []
    while True:
        ln = r.line()
        cur.append(ln)
        if ln.endswith(b"}") and b"{" in ln:
            n = int(ln[ln.rindex(b"{") + 1:-1])
            lit = read_literal(r, n)
            if sizes is not None:
                sizes.append(len(lit))
                lit = b""
            cur.append(b"\r\n" + lit)
            continue
        out.append(b"".join(cur))
        cur = []
        if ln.startswith(tag + b" "):
            return out


def check_fetch_line(line):
    """parse a whole "* n FETCH (UID u ENVELOPE e BODY b BODYSTRUCTURE b)"
    strictly; returns (uid, BODYSTRUCTURE's parts)"""
    p = BodyParser(line)
    try:
        p.expect(b"* ")
        p.number()
        p.expect(b" FETCH (")
        uid, parts = None, None
        while True:
            if p.peek(b"UID "):
                p.i += 4
                uid = p.number()
            elif p.peek(b"BODYSTRUCTURE "):
                p.i += 14
                parts = []
                p.body(True, [], parts)
            elif p.peek(b"BODY "):
                p.i += 5
                p.body(False, [], [])
            elif p.peek(b"ENVELOPE "):
                p.i += 9
                p.envelope()
            else:
                p.fail("unexpected FETCH item")
            if p.peek(b")"):
                break
            p.sp()
        p.expect(b")")
        if p.i != len(line):
            p.fail("trailing bytes")
    except (Syntax, ValueError, IndexError) as e:
        raise AssertionError("%s in %r" % (e, line[:4000]))
    return uid, parts


HEADER_JUNK = [
    b"Subject: nul\x00inside", b"Subject: 8bit \xe9\xff", b"Subject: =?x?q?=00?=",
    b"From: \"unterminated", b"From: <<<@@@>>>", b"From: g: a@b, (c (d) ;",
    b"To: ,,,;;;:::", b"To: a@b (comment", b"Cc: \"\\\"q\\\\\" <x@y>",
    b"Content-ID: <\xff\x00>", b"Content-Description: a\r\n\tfolded\x01",
    b"Content-Disposition: attachment; filename=\"\x00\"",
    b"Content-Disposition: \x01", b"Content-Disposition: ;",
    b"Content-Disposition: inline (comment); a=b; c",
    b"Content-Language: en, fr", b"Content-Location: \x80",
    b"Content-Transfer-Encoding: \x01base64",
    b"Content-Transfer-Encoding: \"quoted\"", b"Content-MD5: \\",
    b"Date: 99 Foo 99999999 99:99:99 +99999", b"Message-ID: \x00",
    b"X-Long: " + b"x" * 3000, b"broken header line", b":", b" leading",
]

CONTENT_TYPES = [
    b"text/\x01plain", b"te xt/plain", b"/", b"text/", b"\xff/\xfe",
    b"text/plain; charset=\"\x00\"", b"text/plain; name=\"unterminated",
    b"text/plain; a=\x80\x81; b=\"c\\\"d\"", b"multipart/mixed",
    b"multipart/mixed; boundary=", b"multipart/mixed; boundary=\"\"",
    b"message/rfc822", b"message/partial; id=x", b"application/x\"y",
    b"TEXT/HTML; CHARSET=UTF-8", b"text/plain;;;;=;=x;y=",
    b"image/png; name*=utf-8''%e2%82%ac", b"audio/basic ; x = y",
    b"multipart/digest; boundary=d", b"message/RFC822; x=\"(\"",
    b"text/plain; " + b"p=v; " * 300, b"\"text\"/\"plain\"",
]


def body_lines(rng):
    out = []
    for _ in range(rng.randrange(0, 6)):
        out.append(rng.choice([b"plain line", b"--", b"---", b"--x--",
                               b"\xe9\xff 8bit", b"", b"(((", b"\"\\",
                               b"=?utf-8?q?x?=", b"\x01\x02", b" "]))
    return b"\r\n".join(out)


def entity(rng, depth):
    """header + body of one random, often broken, MIME entity"""
    hdr = [rng.choice(HEADER_JUNK) for _ in range(rng.randrange(0, 3))]
    r = rng.random()
    if depth > 40 or r < 0.3:
        if rng.random() < 0.5:
            hdr.append(b"Content-Type: " + rng.choice(CONTENT_TYPES))
        return b"\r\n".join(hdr) + b"\r\n\r\n" + body_lines(rng)
    if r < 0.6:
        b = b"b%d_%d" % (depth, rng.randrange(1000))
        hdr.append(b"Content-Type: multipart/" +
                   rng.choice([b"mixed", b"alternative", b"digest"]) +
                   b"; boundary=\"" + b + b"\"")
        kids = [entity(rng, depth + 1)
                for _ in range(rng.randrange(0, 4))]
        body = b"preamble\r\n"
        for k in kids:
            body += b"--" + b + b"\r\n" + k + b"\r\n"
        if rng.random() < 0.8:
            body += b"--" + b + b"--\r\nepilogue"
        return b"\r\n".join(hdr) + b"\r\n\r\n" + body
    if r < 0.7:
        hdr.append(b"Content-Type: multipart/mixed" + rng.choice(
            [b"", b"; boundary=", b"; boundary=\"\"", b"; boundary=nowhere"]))
        return b"\r\n".join(hdr) + b"\r\n\r\n" + body_lines(rng)
    hdr.append(b"Content-Type: message/rfc822")
    return b"\r\n".join(hdr) + b"\r\n\r\n" + entity(rng, depth + 1)


def deep_multipart(n):
    head, tail = b"", b""
    for i in range(n):
        head += (b"Content-Type: multipart/mixed; boundary=d%d\r\n\r\n"
                 b"--d%d\r\n" % (i, i))
        tail = b"\r\n--d%d--\r\n" % i + tail
    return b"Subject: deep\r\n" + head + b"\r\nleaf\r\n" + tail


def deep_message(n):
    return b"".join(b"Subject: level %d\r\nContent-Type: message/rfc822"
                    b"\r\n\r\n" % i for i in range(n)) + \
        b"Subject: inner\r\n\r\nleaf\r\n"


def nasty_messages(seed, count):
    rng = random.Random(seed)
    out = [
        b"", b"\r\n", b"no header separator", b"Subject: x\r\n",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary\r\n",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\nnever\r\n",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
        b"Content-Type: message/rfc822\r\n\r\n",
        deep_multipart(12), deep_multipart(33), deep_multipart(60),
        deep_message(12), deep_message(33), deep_message(60),
        b"Content-Type: multipart/mixed; boundary=s\r\n\r\n" +
        b"--s\r\n\r\nx\r\n" * 300 + b"--s--\r\n",
    ]
    for i in range(count):
        m = entity(rng, 0)
        if rng.random() < 0.2:
            m = m.replace(b"\r\n", b"\n")
        out.append(m)
    return out


def test_bodystructure_grammar(server):
    r = login(server)
    r.cmd(b"x", b"DELETE mime")
    assert tagged(r.cmd(b"c", b"CREATE mime")) == b"OK"
    appended = 0
    msgs = nasty_messages(9, 250)
    for m in msgs:
        out = r.cmd(b"a", b"APPEND mime {%d+}\r\n" % len(m) + m)
        appended += tagged(out) == b"OK"
    # only messages with a NUL may be refused (no literal8)
    assert appended >= sum(b"\0" not in m for m in msgs), appended
    assert tagged(r.cmd(b"s", b"SELECT mime")) == b"OK"
    out = fetch_all(r, b"f", b"FETCH 1:* (UID ENVELOPE BODY BODYSTRUCTURE)")
    assert out[-1].startswith(b"f OK"), out[-1]
    lines = [ln for ln in out[:-1] if b" FETCH (" in ln]
    parsed = [check_fetch_line(ln) for ln in lines]
    assert len(lines) == appended
    checked = 0
    for uid, parts in parsed:
        # BODYSTRUCTURE and sections agree: BODY[path] has its octets
        for path, octets in parts[:4]:
            sec = b".".join(b"%d" % n for n in path)
            got = fetch_all(r, b"g", b"UID FETCH %d (BODY.PEEK[%s])" % (
                uid, sec))
            assert got[-1].startswith(b"g OK"), got
            want = b"BODY[%s] {%d}\r\n" % (sec, octets)
            assert any(want in g for g in got[:-1]), (want, got[0][:300])
            checked += 1
    assert checked > appended
    r.cmd(b"z", b"LOGOUT")
    r.close()


def test_search_nesting_bounded(server):
    r = login(server)
    select_with_messages(r, 2)
    # OR chains spread over literals nest without limit in the grammar;
    # the parser, search_match and search_free recurse on them
    for depth, want in ((900, b"OK"), (1100, b"BAD")):
        r.send(b"s SEARCH " + b"OR SUBJECT {2+}\r\nm0 " * depth + b"ALL\r\n")
        out = r.until_tag(b"s")
        assert tagged(out) == want, (depth, out[-1])
        if want == b"OK":
            assert out[0] == b"* SEARCH 1 2", out[0]
    out = r.cmd(b"t", b"SEARCH " + b"NOT " * 1100 + b"ALL")
    assert tagged(out) == b"BAD", out
    # a literal may carry a NUL; a search string must not (it cut the key)
    out = r.cmd(b"u", b"SEARCH SUBJECT {3+}\r\nm\x00z")
    assert tagged(out) == b"BAD" and b"NUL" in out[-1], out
    for key in (b"SINCE 1-Feb-2024", b'SENTBEFORE "01-Feb-2024"'):
        out = r.cmd(b"d", b"SEARCH " + key)
        assert tagged(out) == b"OK", (key, out)
    for key in (b"LARGER -1", b"LARGER 4294967296", b"SMALLER +5",
                b"SINCE +1-Feb-2024", b'SINCE " 1-Feb-2024"',
                b"BEFORE 001-Feb-2024", b"ON 1-Feb-02024", b"ON 1-Feb-+024",
                b"MODSEQ 9223372036854775808", b"MODSEQ 18446744073709551617"):
        out = r.cmd(b"n", b"SEARCH " + key)
        assert tagged(out) == b"BAD", (key, out)
    r.cmd(b"z", b"LOGOUT")
    r.close()


def test_search_long_key_linear(server):
    """a long key against a long body: the naive substring scan was
    len(body) x len(key), about a minute here"""
    r = login(server)
    r.cmd(b"x", b"DELETE big")
    assert tagged(r.cmd(b"c", b"CREATE big")) == b"OK"
    msg = b"Subject: big\r\n\r\n" + b"a" * 600000 + b"\r\n"
    out = r.cmd(b"a", b"APPEND big {%d+}\r\n" % len(msg) + msg)
    assert tagged(out) == b"OK", out
    assert tagged(r.cmd(b"s", b"SELECT big")) == b"OK"
    key = b"A" * 300000
    for tail, hit in ((b"b", False), (b"", True)):
        out = r.cmd(b"f", b"SEARCH BODY {%d+}\r\n" % (len(key) + len(tail)) +
                    key + tail)
        assert tagged(out) == b"OK", out
        assert out[0] == (b"* SEARCH 1" if hit else b"* SEARCH"), out[0]
    r.cmd(b"z", b"LOGOUT")
    r.close()


def test_list_children_attributes(server):
    r = login(server)
    names = [b"kids", b"kids/a", b"kids.x", b"kids x", b"kids/a/b", b"kidz"]
    for n in names:
        assert tagged(r.cmd(b"c", b'CREATE "' + n + b'"')) == b"OK"
    try:
        out = r.cmd(b"l", b'LIST "" "kid*"')
        attrs = {}
        for ln in out[:-1]:
            a, n = ln.split(b"(", 1)[1].split(b") \"/\" ", 1)
            attrs[n.strip(b'"')] = a
        assert set(attrs) == set(names), out
        for n in names:
            want = b"HasChildren" if n in (b"kids", b"kids/a") else \
                b"HasNoChildren"
            assert attrs[n].endswith(b"\\" + want), (n, attrs[n])
    finally:
        for n in reversed(names):
            r.cmd(b"d", b'DELETE "' + n + b'"')
    r.cmd(b"z", b"LOGOUT")
    r.close()


def vmhwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmHWM:"):
                return int(ln.split()[1])
    return 0


def asan_build():
    """imapd built with AddressSanitizer: its quarantine keeps freed
    memory resident, so a peak says nothing about what was in use"""
    with open(os.path.join(conftest.BUILD, "imapd", "imapd"), "rb") as f:
        return b"__asan_init" in f.read()


def test_fetch_many_sections_streams(fresh):
    """FETCH of one message's body a hundred times is sent as it is
    built: the worker's peak memory stays far below the 60 MB response.
    A server of its own: VmHWM is the worker's peak over its life, and
    the module's server has run other tests' searches in it"""
    if asan_build():
        pytest.skip("peak memory is not meaningful under ASan")
    server = fresh().start()
    r = login(server)
    assert tagged(r.cmd(b"c", b"CREATE fat")) == b"OK"
    msg = b"Subject: fat\r\n\r\n" + (b"z" * 998 + b"\r\n") * 600
    out = r.cmd(b"a", b"APPEND fat {%d+}\r\n" % len(msg) + msg)
    assert tagged(out) == b"OK", out
    assert tagged(r.cmd(b"s", b"SELECT fat")) == b"OK"
    items = b" ".join(b"BODY.PEEK[]<%d.%d>" % (i, len(msg))
                      for i in range(100))
    sizes = []
    out = fetch_all(r, b"f", b"FETCH 1 (" + items + b")", sizes)
    assert tagged(out) == b"OK", out[-1]
    assert sizes == [len(msg) - i for i in range(100)], sizes[:3]
    peak = max(vmhwm_kb(p) for p in server.children("imapd"))
    print("imapd peak VmHWM %d kB" % peak)
    assert peak < 30 * 1024, peak
    r.cmd(b"z", b"LOGOUT")
    r.close()


def test_fetch_body_sets_seen_once(server):
    """FETCH BODY[] reports FLAGS with the new \\Seen for exactly the
    messages it marked (the cursor over them replaced a scan per
    message)"""
    r = login(server)
    select_with_messages(r, 6)
    assert tagged(r.cmd(b"s", b"STORE 2,5 +FLAGS.SILENT (\\Seen)")) == b"OK"
    out = fetch_all(r, b"f", b"FETCH 1:6 (BODY[])")
    assert tagged(out) == b"OK", out[-1]
    with_flags = sorted(int(ln.split()[1]) for ln in out[:-1]
                        if b" FLAGS (" in ln)
    assert with_flags == [1, 3, 4, 6], out
    r.cmd(b"z", b"LOGOUT")
    r.close()


@pytest.mark.parametrize("date, ok", [
    (b'"02-Feb-2026 10:00:00 +0100"', True),
    (b'" 2-Feb-2026 10:00:00 -0130"', True),
    (b'"02-Feb-2026 -1:00:00 +0100"', False),
    (b'"02-Feb-2026 10:-5:00 +0100"', False),
    (b'"02-Feb-2026 10:00:00 +-100"', False),
    (b'"02-Feb-2026 10:00:00 +100"', False),
    (b'"2-Feb-2026 10:00:00 +0100"', True),
    (b'"-2-Feb-2026 10:00:00 +0100"', False),
    (b'"02-Feb--026 10:00:00 +0100"', False),
    (b'"02-Feb-2026 10:00:00  +0100"', False),
    (b'"02-Feb-2026 1:00:00 +0100"', False),
])
def test_append_date_time_digits(server, date, ok):
    r = login(server)
    msg = b"Subject: d\r\n\r\nx\r\n"
    out = r.cmd(b"a", b"APPEND INBOX " + date + b" {%d+}\r\n" % len(msg) +
                msg)
    assert tagged(out) == (b"OK" if ok else b"BAD"), out
    r.cmd(b"z", b"LOGOUT")
    r.close()


@pytest.mark.parametrize("cmd", [b"UID NOOP", b"UID SELECT INBOX",
                                 b"UID APPEND INBOX {1+}\r\nx", b"UID FROB 1",
                                 b"UID"])
def test_uid_prefix_only_where_the_table_allows(server, cmd):
    """UID goes only before the commands RFC 3501 6.4.8 and its
    extensions name (FETCH, STORE, COPY, MOVE, SEARCH, SORT, THREAD,
    EXPUNGE); anything else is a BAD that names the command"""
    r = login(server)
    assert tagged(r.cmd(b"s", b"SELECT INBOX")) == b"OK"
    out = r.cmd(b"u", cmd)
    assert tagged(out) == b"BAD", out
    if cmd != b"UID":
        assert b"UID " + cmd.split()[1] in out[-1], out
    assert tagged(r.cmd(b"f", b"UID FETCH 1:* FLAGS")) == b"OK"

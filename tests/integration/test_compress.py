"""COMPRESS=DEFLATE (RFC 4978): raw deflate both ways after the tagged
OK, with a client that keeps one zlib stream each way (as Thunderbird
does), and the compressed session parked in idled and resumed: inside
IDLE (idled writes the new mail itself, as stored blocks) and between
commands (the client's compressor refers back to what it sent before
the park, so the resuming worker needs the restored window)."""
import zlib

import pytest

from conftest import wait_for
from raw import Raw, ok

TIMEOUT = 20
MSG = b"From: a@example.com\r\nSubject: zz\r\n\r\nbody\r\n"


class Z:
    """a compressed IMAP connection on top of a Raw one"""

    def __init__(self, raw):
        self.r = raw
        self.c = zlib.compressobj(wbits=-15)
        self.d = zlib.decompressobj(wbits=-15)
        self.buf = raw.buf    # what came after the OK is compressed
        raw.buf = b""
        self.plain = self.d.decompress(self.buf)
        self.buf = b""

    def send(self, data):
        self.r.send(self.c.compress(data) + self.c.flush(zlib.Z_SYNC_FLUSH))

    def line(self):
        while b"\r\n" not in self.plain:
            d = self.r.s.recv(65536)
            if not d:
                raise EOFError(self.plain)
            self.plain += self.d.decompress(d)
        ln, self.plain = self.plain.split(b"\r\n", 1)
        return ln

    def until_tag(self, tag):
        out = []
        while True:
            ln = self.line()
            out.append(ln)
            if ln.startswith(tag + b" "):
                return out

    def cmd(self, tag, text):
        self.send(tag + b" " + text + b"\r\n")
        return self.until_tag(tag)


def login(s):
    r = Raw(s.port, timeout=TIMEOUT)
    ok(r.cmd(b"L", b"LOGIN alice secret"))
    return r


def compress(r):
    caps = ok(r.cmd(b"c", b"CAPABILITY"))[0]
    assert b" COMPRESS=DEFLATE" in caps, caps
    out = r.cmd(b"z", b"COMPRESS DEFLATE")
    assert out == [b"z OK DEFLATE active"], out
    return Z(r)


def append(r, box, n=1):
    for _ in range(n):
        r.send(b"A APPEND " + box + b" {%d+}\r\n" % len(MSG) + MSG +
               b"\r\n")
        ok(r.until_tag(b"A"))


def exists(z):
    """the next '* N EXISTS' (RECENT may come beside it)"""
    while True:
        ln = z.line()
        if ln.endswith(b" EXISTS"):
            return int(ln.split()[1])
        assert ln.endswith(b" RECENT"), ln


@pytest.fixture(scope="module")
def parking():
    from conftest import Server
    s = Server(extra_conf="wait_park_delay: 200ms\n")
    s.add_user("alice", "secret")
    s.start()
    yield s
    s.finish()


def test_compress_session(parking):
    z = compress(login(parking))
    caps = ok(z.cmd(b"c", b"CAPABILITY"))[0]
    assert b"COMPRESS" not in caps, caps
    out = z.cmd(b"z", b"COMPRESS DEFLATE")
    assert out[-1].startswith(b"z NO [COMPRESSIONACTIVE]"), out
    ok(z.cmd(b"c", b"CREATE zbox"))
    append(z, b"zbox", 3)
    out = ok(z.cmd(b"s", b"SELECT zbox"))
    assert b"* 3 EXISTS" in out, out
    # a large response comes whole through the deflater
    big = b"From: a@example.com\r\nSubject: big\r\n\r\n" + \
        b"".join(b"line %06d of the big one\r\n" % i for i in range(20000))
    z.send(b"A APPEND zbox {%d+}\r\n" % len(big) + big + b"\r\n")
    ok(z.until_tag(b"A"))
    z.send(b"f FETCH 4 BODY.PEEK[]\r\n")
    head = z.line()
    assert head.endswith(b"{%d}" % len(big)), head
    while len(z.plain) < len(big):
        z.plain += z.d.decompress(z.r.s.recv(65536))
    assert z.plain[:len(big)] == big
    z.plain = z.plain[len(big):]
    ok(z.until_tag(b"f"))
    out = z.cmd(b"o", b"LOGOUT")
    assert out[0].startswith(b"* BYE"), out


def test_compress_idle_parked(parking):
    """IDLE on a compressed session parks in idled; new mail comes as
    idled writes it; DONE (deflated) wakes a worker that ends it"""
    s = parking
    a = login(s)
    ok(a.cmd(b"c", b"CREATE zidle"))
    z = compress(login(s))
    ok(z.cmd(b"s", b"SELECT zidle"))
    # this session's IDLE park: the other session (a) is parked between
    # commands too, at a moment of the scheduler's choosing
    n = s.log_count("park user=alice", "kind=idle", "mailbox=zidle")
    z.send(b"i IDLE\r\n")
    assert z.line() == b"+ idling"
    assert s.wait_log("park user=alice", "kind=idle", "mailbox=zidle",
                      count=n + 1)
    append(a, b"zidle")
    assert exists(z) == 1
    append(a, b"zidle")
    assert exists(z) == 2
    z.send(b"DONE\r\n")
    out = z.until_tag(b"i")
    assert out[-1] == b"i OK IDLE terminated", out
    out = ok(z.cmd(b"f", b"UID FETCH 1:* (UID)"))
    assert len([x for x in out if x.startswith(b"* ")]) == 2, out
    z.cmd(b"o", b"LOGOUT")
    a.cmd(b"o", b"LOGOUT")


def test_compress_wait_parked(parking):
    """between commands: parked, then the next command (whose deflated
    form refers back into what the client sent before the park) is read
    by another worker with the restored window"""
    s = parking
    z = compress(login(s))
    ok(z.cmd(b"c", b"CREATE zwait"))
    text = b"STATUS zwait (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)"
    ok(z.cmd(b"s1", text))
    for rnd in range(2):
        n = s.logtext().count("park user=alice")
        assert wait_for(lambda: s.logtext().count("park user=alice") > n)
        out = ok(z.cmd(b"s2", text))
        assert out[0].startswith(b"* STATUS zwait (MESSAGES 0"), out
    assert "compressed-state-broken" not in s.logtext()
    z.cmd(b"o", b"LOGOUT")


def test_compress_broken_input(parking):
    z = compress(login(parking))
    ok(z.cmd(b"n", b"NOOP"))
    z.r.send(b"\xff\xff\xff\xff not deflate")
    assert z.r.closed()
    assert wait_for(lambda: "reason=compressed-input-broken" in
                    parking.logtext())


def test_compress_before_login(parking):
    r = Raw(parking.port, timeout=TIMEOUT)
    caps = r.cmd(b"c", b"CAPABILITY")[0]
    assert b"COMPRESS" not in caps
    out = r.cmd(b"z", b"COMPRESS DEFLATE")
    assert out[-1].startswith(b"z BAD") or out[-1].startswith(b"z NO"), out
    assert r.cmd(b"z", b"LOGIN alice secret")[-1].startswith(b"z OK")
    out = r.cmd(b"z", b"COMPRESS LZMA")
    assert out[-1].startswith(b"z BAD"), out
    r.cmd(b"o", b"LOGOUT")


def test_compress_bye_on_stop(fresh):
    """a worker stopped by master says BYE to a compressed session in
    deflate (a stored block after its last flush), not in plain text"""
    s = fresh(extra_conf="wait_park_delay: 0\n").start()
    z = compress(login(s))
    ok(z.cmd(b"n", b"NOOP"))
    s.stop()
    ln = z.line()
    assert ln.startswith(b"* BYE [UNAVAILABLE]"), ln

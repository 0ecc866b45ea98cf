"""CATENATE (RFC 4469): APPEND builds a message from text literals and IMAP
URLs (RFC 5092) naming messages or parts of them on this server; the
stored message is the byte-exact concatenation.  A URL that names nothing
this user may read here is NO [BADURL url], a result over the size limit
NO [TOOBIG], a full quota NO [OVERQUOTA]; in a MULTIAPPEND any failure
leaves nothing behind.  Raw sockets: the exact bytes are what is checked."""
import re
import socket
import subprocess
import os

import pytest

from conftest import BUILD, Server
from poll import wait_for
from raw import login, status as st

HOST = "mail.example.test"
LIMIT = 30000

BASE = (b"From: ann@example.com\r\n"
        b"Subject: the original\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=XX\r\n"
        b"\r\n"
        b"preamble\r\n"
        b"--XX\r\n"
        b"Content-Type: text/plain\r\n"
        b"\r\n"
        b"first part\r\n"
        b"--XX\r\n"
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"\r\n"
        b"AAECAwQFBgc=\r\n"
        b"--XX--\r\n")
PART1_MIME = b"Content-Type: text/plain\r\n\r\n"
PART1 = b"first part"
PART2 = b"AAECAwQFBgc="
HEADER = BASE[:BASE.index(b"\r\n\r\n") + 4]
TEXT = BASE[len(HEADER):]


@pytest.fixture(scope="module")
def srv():
    s = Server(extra_conf=f"servername: {HOST}\n"
                          f"maxmessagesize: {LIMIT}\n")
    for u in ("ann", "ben", "cy", "dee", "eve"):
        s.add_user(u, "secret")
    s.start()
    yield s
    s.finish()


def lit(data, plus=True):
    return b"{%d%s}\r\n" % (len(data), b"+" if plus else b"") + data


def append(r, box, data):
    r.send(b"A APPEND " + box + b" " + lit(data) + b"\r\n")
    out = r.until_tag(b"A")
    m = re.search(rb"\[APPENDUID (\d+) (\d+)\]", out[-1])
    assert m, out
    return int(m.group(1)), int(m.group(2))


def cat(r, tag, head, parts):
    """APPEND head CATENATE (parts): parts are (b"TEXT", bytes) sent as
    synchronizing literals (waiting for the continuation) or (b"URL",
    bytes) sent quoted; the tagged reply's lines"""
    r.send(tag + b" APPEND " + head + b" CATENATE (")
    for i, (kind, v) in enumerate(parts):
        sp = b" " if i else b""
        if kind == b"TEXT":
            r.send(sp + b"TEXT {%d}\r\n" % len(v))
            ln = r.line()
            assert ln.startswith(b"+"), ln
            r.send(v)
        else:
            r.send(sp + b"URL \"" + v + b"\"")
    r.send(b")\r\n")
    return r.until_tag(tag)


def appenduid(out):
    m = re.search(rb"\[APPENDUID (\d+) ([\d:,]+)\]", out[-1])
    assert m and st(out) == b"OK", out
    return int(m.group(1)), m.group(2)


def read_exact(r, n):
    while len(r.buf) < n:
        d = r.s.recv(65536)
        if not d:
            raise EOFError(r.buf)
        r.buf += d
    data, r.buf = r.buf[:n], r.buf[n:]
    return data


def fetch(r, box, uid, item=b"BODY.PEEK[]"):
    """the bytes of item of message uid in box"""
    assert st(r.cmd(b"S", b"EXAMINE " + box)) == b"OK"
    r.send(b"F UID FETCH %d (%s)\r\n" % (uid, item))
    data = None
    while True:
        ln = r.line()
        if ln.startswith(b"F "):
            assert st([ln]) == b"OK", ln
            return data
        m = re.search(rb"~?\{(\d+)\}$", ln)
        if m:
            data = read_exact(r, int(m.group(1)))


def count(r, box):
    out = r.cmd(b"T", b"STATUS " + box + b" (MESSAGES)")
    return int(re.search(rb"MESSAGES (\d+)", out[0]).group(1))


def test_capability(srv):
    r = login(srv, b"ann")
    caps = r.cmd(b"C", b"CAPABILITY")[0].split()
    assert b"CATENATE" in caps and b"MULTIAPPEND" in caps
    r.close()


def test_text_url_text(srv):
    r = login(srv, b"ann")
    assert st(r.cmd(b"c", b"CREATE Drafts")) in (b"OK", b"NO")
    v, uid = append(r, b"INBOX", BASE)
    url = b"/INBOX;UIDVALIDITY=%d/;UID=%d/;SECTION=TEXT" % (v, uid)
    head = b"From: ann@example.com\r\nSubject: fwd\r\n\r\nSee below.\r\n"
    tail = b"\r\n-- \r\nann\r\n"
    out = cat(r, b"A1", b"Drafts (\\Seen) \"03-Dec-2026 08:00:00 +0000\"",
              [(b"TEXT", head), (b"URL", url), (b"TEXT", tail)])
    dv, duid = appenduid(out)
    got = fetch(r, b"Drafts", int(duid))
    assert got == head + TEXT + tail
    out = r.cmd(b"G", b"UID FETCH %s (FLAGS INTERNALDATE)" % duid)
    assert b"\\Seen" in out[0] and b"03-Dec-2026 08:00:00 +0000" in out[0]
    # the whole message, named by an absolute URL with this server and
    # user, sent as a literal; and the same without the UIDVALIDITY
    full = b"imap://ann;AUTH=*@%s/INBOX;UIDVALIDITY=%d/;UID=%d" % (
        HOST.upper().encode(), v, uid)
    r.send(b"A2 APPEND Drafts CATENATE (URL " + lit(full) +
           b" URL \"/inbox/;UID=%d\")\r\n" % uid)
    out = r.until_tag(b"A2")
    _, duid = appenduid(out)
    assert fetch(r, b"Drafts", int(duid)) == BASE + BASE
    r.close()


def test_sections_and_partial(srv):
    r = login(srv, b"ben")
    v, uid = append(r, b"INBOX", BASE)
    box = b"/INBOX;UIDVALIDITY=%d/;UID=%d" % (v, uid)
    cases = [
        (b"/;SECTION=1", PART1),
        (b"/;SECTION=1.MIME", PART1_MIME),
        (b"/;SECTION=2", PART2),
        (b"/;section=header", HEADER),
        (b"/;SECTION=HEADER.FIELDS%20(Subject)",
         b"Subject: the original\r\n\r\n"),
        (b"/;PARTIAL=6.3", BASE[6:9]),
        (b"/;SECTION=1/;PARTIAL=6", PART1[6:]),
        (b"/;SECTION=TEXT/;PARTIAL=0.8", TEXT[:8]),
    ]
    for suffix, want in cases:
        out = cat(r, b"P", b"INBOX", [(b"TEXT", b"X: y\r\n\r\n"),
                                     (b"URL", box + suffix)])
        _, nuid = appenduid(out)
        assert fetch(r, b"INBOX", int(nuid)) == b"X: y\r\n\r\n" + want, \
            suffix
    # a partial past the end names empty data: only the text is stored
    out = cat(r, b"P", b"INBOX", [(b"URL", box + b"/;PARTIAL=99999.5"),
                                 (b"TEXT", b"X: z\r\n\r\nonly\r\n")])
    _, nuid = appenduid(out)
    assert fetch(r, b"INBOX", int(nuid)) == b"X: z\r\n\r\nonly\r\n"
    # relative to the selected mailbox; a mailbox named in UTF-8
    assert st(r.cmd(b"c", b"CREATE &AOk-t&AOk-")) == b"OK"
    ev, euid = append(r, b"&AOk-t&AOk-", b"Subject: ete\r\n\r\nsummer\r\n")
    assert st(r.cmd(b"s", b"SELECT INBOX")) == b"OK"
    out = cat(r, b"R", b"INBOX", [
        (b"URL", b";UID=%d/;SECTION=1" % uid),
        (b"URL", b"%%C3%%A9t%%C3%%A9;UIDVALIDITY=%d/;UID=%d/;SECTION=TEXT"
         % (ev, euid))])
    _, nuid = appenduid(out)
    assert fetch(r, b"INBOX", int(nuid)) == PART1 + b"summer\r\n"
    r.close()


def test_bad_urls(srv):
    r = login(srv, b"cy")
    v, uid = append(r, b"INBOX", BASE)
    n = count(r, b"INBOX")
    bad = [
        b"/INBOX;UIDVALIDITY=%d/;UID=%d" % (v + 1, uid),   # UIDVALIDITY
        b"/INBOX;UIDVALIDITY=%d/;UID=%d" % (v, uid + 50),  # no such UID
        b"/Nosuch/;UID=%d" % uid,                          # no mailbox
        b"imap://cy@other.example.net/INBOX/;UID=%d" % uid,  # server
        b"imap://ann@%s/INBOX/;UID=%d" % (HOST.encode(), uid),  # user
        b";UID=%d" % uid,                       # nothing selected
        b"/INBOX/;UID=%d/;SECTION=7" % uid,     # no such part
        b"/INBOX/;UID=%d/;SECTION=BOGUS" % uid,  # not a section
        b"/INBOX/;UID=%d;URLAUTH=anonymous:internal:00" % uid,
        b"/INBOX/;UID=0",                       # not a UID
        b"/INBOX;UID=%d" % uid,                 # grammar: "/" missing
        b"/INBOX/;UID=%d/;SECTION=%%00" % uid,   # an escaped NUL
    ]
    for url in bad:
        out = cat(r, b"B", b"INBOX", [(b"TEXT", b"Subject: x\r\n\r\n"),
                                     (b"URL", url)])
        assert st(out) == b"NO", (url, out)
        assert out[-1].startswith(b"B NO [BADURL " + url + b"] "), out
    # the URL is said as url-resp-text: nothing in it may end the code
    out = cat(r, b"B", b"INBOX", [(b"URL", b"/INBOX/;UID=1] x")])
    assert out[-1].startswith(b"B NO [BADURL /INBOX/;UID=1??x] "), out
    assert count(r, b"INBOX") == n
    assert srv.wait_log("append refused user=cy", "reason=\"bad url: "
                        "UIDVALIDITY differs\"")
    # grammar errors of the list itself are BAD
    for l in (b"()", b"(TEXT)", b"(URL)", b"(FOO \"x\")", b"(TEXT \"x\")",
              b"(URL (a))"):
        out = r.cmd(b"G", b"APPEND INBOX CATENATE " + l)
        assert st(out) == b"BAD", (l, out)
    assert count(r, b"INBOX") == n
    r.close()


def test_url_server(srv):
    """an absolute URL names this server by servername or the host name,
    with no port, the port the client reached or the service's; any
    other host or port is another server: NO [BADURL]"""
    r = login(srv, b"eve")
    v, uid = append(r, b"INBOX", BASE)
    n = count(r, b"INBOX")
    path = b"/INBOX;UIDVALIDITY=%d/;UID=%d/;SECTION=1" % (v, uid)
    me = socket.gethostname().encode()
    good = [b"imap://eve@%s%s" % (HOST.encode(), path),
            b"imap://eve@%s:%d%s" % (HOST.encode(), srv.port, path),
            b"imap://%s:%d%s" % (HOST.upper().encode(), srv.port, path),
            b"imap://eve@%s%s" % (me, path),
            b"imap://%s:%d%s" % (me, srv.port, path)]
    for url in good:
        out = cat(r, b"G", b"INBOX", [(b"TEXT", b"X: y\r\n\r\n"),
                                     (b"URL", url)])
        _, nuid = appenduid(out)
        assert fetch(r, b"INBOX", int(nuid)) == b"X: y\r\n\r\n" + PART1, url
    n += len(good)
    other = [p for p in (1, 143, 993, 65535) if p != srv.port]
    bad = [b"imap://eve@%s:%d%s" % (HOST.encode(), p, path) for p in other]
    bad += [b"imap://eve@%s:%d%s" % (me, other[0], path),
            b"imap://eve@%s.evil.example%s" % (HOST.encode(), path),
            b"imap://eve@%s%s" % (HOST.encode()[:-1], path),
            b"imap://eve@x%s%s" % (HOST.encode(), path),
            b"imap://eve@127.0.0.1:%d%s" % (srv.port, path),
            b"//other.example.net:%d%s" % (srv.port, path)]
    for url in bad:
        out = cat(r, b"B", b"INBOX", [(b"TEXT", b"Subject: x\r\n\r\n"),
                                     (b"URL", url)])
        assert out[-1].startswith(b"B NO [BADURL " + url + b"] "), out
    assert count(r, b"INBOX") == n
    assert srv.wait_log("append refused user=eve",
                        "reason=\"bad url: another server\"")
    r.close()


def test_too_big(srv):
    r = login(srv, b"dee")
    body = b"Subject: big\r\n\r\n" + b"y" * 12000 + b"\r\n"
    v, uid = append(r, b"INBOX", body)
    n = count(r, b"INBOX")
    url = b"/INBOX;UIDVALIDITY=%d/;UID=%d" % (v, uid)
    # two copies fit, a third does not: refused before it is read
    out = cat(r, b"A", b"INBOX", [(b"URL", url), (b"URL", url)])
    appenduid(out)
    out = cat(r, b"B", b"INBOX", [(b"URL", url)] * 3)
    assert st(out) == b"NO" and b"[TOOBIG]" in out[-1], out
    # text literals count too
    out = cat(r, b"C", b"INBOX", [(b"URL", url), (b"URL", url),
                                 (b"TEXT", b"z" * 7000)])
    assert st(out) == b"NO" and b"[TOOBIG]" in out[-1], out
    assert count(r, b"INBOX") == n + 1
    assert srv.wait_log("append refused user=dee", "too big",
                        f"limit={LIMIT}")
    r.close()


def test_multiappend_all_or_nothing(srv):
    r = login(srv, b"ann")
    v, uid = append(r, b"INBOX", BASE)
    assert st(r.cmd(b"c", b"CREATE Multi")) == b"OK"
    url = b"\"/INBOX;UIDVALIDITY=%d/;UID=%d/;SECTION=1\"" % (v, uid)
    t1 = b"Subject: m1\r\n\r\n"
    plain = b"Subject: plain\r\n\r\nbody\r\n"
    # a bad URL in the third message: the first two are not kept
    r.send(b"A APPEND Multi CATENATE (TEXT " + lit(t1) + b" URL " + url +
           b") " + lit(plain) + b" CATENATE (URL \"/INBOX/;UID=%d\")\r\n"
           % (uid + 100))
    out = r.until_tag(b"A")
    assert st(out) == b"NO" and b"[BADURL " in out[-1], out
    assert count(r, b"Multi") == 0
    # and all three when every URL resolves
    r.send(b"B APPEND Multi CATENATE (TEXT " + lit(t1) + b" URL " + url +
           b") (\\Flagged) " + lit(plain) + b" CATENATE (URL " + url +
           b" TEXT " + lit(b"\r\n") + b")\r\n")
    out = r.until_tag(b"B")
    _, uids = appenduid(out)
    lo, hi = (int(x) for x in uids.split(b":"))
    assert hi - lo == 2
    assert fetch(r, b"Multi", lo) == t1 + PART1
    assert fetch(r, b"Multi", lo + 1) == plain
    assert fetch(r, b"Multi", hi) == PART1 + b"\r\n"
    assert count(r, b"Multi") == 3
    r.close()


def test_binary_text_and_quota(srv):
    r = login(srv, b"ben")
    v, uid = append(r, b"INBOX", BASE)
    # a literal8 text part carries a NUL, stored as sent
    t = b"Subject: bin\r\n\r\na\x00b\r\n"
    r.send(b"A APPEND INBOX CATENATE (TEXT ~{%d+}\r\n" % len(t) + t +
           b" URL \"/INBOX/;UID=%d/;SECTION=2\")\r\n" % uid)
    out = r.until_tag(b"A")
    _, nuid = appenduid(out)
    assert fetch(r, b"INBOX", int(nuid), b"BINARY.PEEK[]") == t + PART2
    # the store's quota check: one more message is too many
    n = count(r, b"INBOX")
    res = subprocess.run([os.path.join(BUILD, "tools", "berthctl"), "-C",
                          srv.conf, "quota", "set", "ben",
                          f"messages={n}"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    out = cat(r, b"Q", b"INBOX", [(b"URL", b"/INBOX/;UID=%d" % uid)])
    assert st(out) == b"NO" and b"[OVERQUOTA]" in out[-1], out
    assert count(r, b"INBOX") == n
    r.close()


def test_utf8_text_part(srv):
    """RFC 6855 4: a CATENATE part may be UTF8 (literal8) once UTF-8 is
    enabled, a BAD before"""
    r = login(srv, b"cy")
    v, uid = append(r, b"INBOX", BASE)
    t = "Subject: d\u00e9j\u00e0 vu\r\n\r\n".encode()
    part = b"UTF8 (~{%d+}\r\n" % len(t) + t + b")"
    url = b" URL \"/INBOX/;UID=%d/;SECTION=1\")\r\n" % uid
    n = count(r, b"INBOX")
    r.send(b"U APPEND INBOX CATENATE (" + part + url)
    assert st(r.until_tag(b"U")) == b"BAD"
    assert count(r, b"INBOX") == n
    assert st(r.cmd(b"E", b"ENABLE UTF8=ACCEPT")) == b"OK"
    r.send(b"U APPEND INBOX CATENATE (" + part + url)
    _, nuid = appenduid(r.until_tag(b"U"))
    assert fetch(r, b"INBOX", int(nuid)) == t + PART1
    r.close()


def test_literal_rules_apply(fresh):
    """LITERAL- limits every literal of a CATENATE; the upload cap counts
    a large text part as it counts an APPEND literal"""
    s = fresh(extra_conf="literalminus: yes\n"
                         "maxliteral_workers_user: 1\n")
    s.add_user("eve", "secret")
    s.start()
    a = login(s, b"eve")
    # up to 4096 bytes without a continuation, in any part
    a.send(b"A APPEND INBOX CATENATE (TEXT {4096+}\r\n" + b"x" * 4096 +
           b" TEXT {1+}\r\ny)\r\n")
    appenduid(a.until_tag(b"A"))
    # the second text literal past it: BAD [TOOBIG], the session ends
    a.send(b"A APPEND INBOX CATENATE (TEXT {1+}\r\nx TEXT {4097+}\r\n")
    out = a.until_tag(b"A")
    assert out[-1].startswith(b"A BAD [TOOBIG]"), out
    assert a.closed()
    a = login(s, b"eve")
    # a large synchronizing text literal holds the user's one slot ...
    a.send(b"B APPEND INBOX CATENATE (TEXT {100000}\r\n")
    assert a.line().startswith(b"+")
    a.send(b"x" * 1000)
    b = login(s, b"eve")
    # ... so a second one is refused before the client sends it
    b.send(b"C APPEND INBOX CATENATE (TEXT {100000}\r\n")
    ln = b.line()
    assert ln.startswith(b"C NO [LIMIT]"), ln
    a.send(b"x" * 99000 + b")\r\n")
    _, uid = appenduid(a.until_tag(b"B"))
    assert fetch(a, b"INBOX", int(uid)) == b"x" * 100000
    a.close()
    b.close()


def test_parked_session_catenates(fresh):
    """a session parked in idled between commands, and one parked in the
    middle of a CATENATE, resume in a worker and catenate"""
    s = fresh(extra_conf="wait_park_delay: 200ms\n")
    s.add_user("fay", "secret")
    s.start()
    r = login(s, b"fay")
    v, uid = append(r, b"INBOX", BASE)
    assert st(r.cmd(b"s", b"SELECT INBOX")) == b"OK"
    n = s.logtext().count("park user=fay")
    assert wait_for(lambda: s.logtext().count("park user=fay") > n)
    out = cat(r, b"A", b"INBOX", [(b"TEXT", b"Subject: p\r\n\r\n"),
                                 (b"URL", b";UID=%d/;SECTION=1" % uid)])
    _, nuid = appenduid(out)
    # parked again, now with half a command: the text literal announced
    # and continued, its bytes not sent yet
    assert st(r.cmd(b"s", b"SELECT INBOX")) == b"OK"
    n = s.logtext().count("park user=fay")
    r.send(b"B APPEND INBOX CATENATE (URL \";UID=%s\" "
           b"TEXT {6}\r\n" % nuid)
    assert r.line().startswith(b"+")
    assert wait_for(lambda: s.logtext().count("park user=fay") > n)
    r.send(b" again)\r\n")
    _, uid2 = appenduid(r.until_tag(b"B"))
    assert fetch(r, b"INBOX", int(uid2)) == b"Subject: p\r\n\r\n" + \
        PART1 + b" again"
    r.close()

"""A large message's body is served byte for byte, whole and in parts,
and the worker serving it keeps its memory bounded: it streams the file
in chunks instead of building the response (issue 15, item 1)."""
import hashlib
import os
import random
import re

import pytest

from conftest import Server
from raw import Raw

SIZE = 24 * 1024 * 1024
BOUND_KB = 8 * 1024     # the worker's peak may grow by this much at most
HDR = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: large\r\n"
       b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n")


def big_message():
    """SIZE bytes of printable lines after HDR, the same every run"""
    rnd = random.Random(15)
    table = bytes(33 + i % 94 for i in range(256))
    body = bytearray()
    block = rnd.randbytes(76 * 4096).translate(table)
    n = 0
    while len(body) < SIZE - len(HDR):
        # each block shifted, so that offsets are told apart
        b = block[n % 76:] + block[:n % 76]
        for i in range(0, len(b), 76):
            body += b[i:i + 76] + b"\r\n"
        n += 1
    return HDR + bytes(body[:SIZE - len(HDR)])


@pytest.fixture(scope="module")
def big():
    s = Server()
    with open(s.conf) as f:
        conf = f.read().replace("maxliteral: 1M", "maxliteral: 64M")
    with open(s.conf, "w") as f:
        f.write(conf)
    s.add_user("alice", "secret")
    s.start()
    msg = big_message()
    r = Raw(s.port, timeout=120)
    r.cmd(b"l", b"LOGIN alice secret")
    r.send(b"a APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
    assert r.until_tag(b"a")[-1].startswith(b"a OK")
    r.cmd(b"o", b"LOGOUT")
    r.close()
    yield s, msg
    s.finish()


def read_response(r, tag):
    """the untagged data up to the tagged line, literals resolved: a
    list of (line, [literal bytes])"""
    out = []
    while True:
        ln, lits = r.line(), []
        while True:
            m = re.search(rb"~?\{(\d+)\}$", ln)
            if not m:
                break
            n = int(m.group(1))
            while len(r.buf) < n:
                d = r.s.recv(1 << 20)
                if not d:
                    raise EOFError
                r.buf += d
            lits.append(r.buf[:n])
            r.buf = r.buf[n:]
            ln += b"<lit>" + r.line()
        out.append((ln, lits))
        if ln.startswith(tag + b" "):
            return out


def worker_of(server, sock):
    """pid of the imapd holding the server end of sock"""
    port = sock.getsockname()[1]
    inode = None
    with open("/proc/net/tcp") as f:
        for ln in f.readlines()[1:]:
            fields = ln.split()
            if (int(fields[2].split(":")[1], 16) == port and
                    int(fields[1].split(":")[1], 16) == server.port):
                inode = fields[9]
    assert inode is not None
    for pid in server.children("imapd"):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == \
                        f"socket:[{inode}]":
                    return pid
            except OSError:
                pass
    raise AssertionError("no worker holds the session")


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith(key + ":"):
                return int(ln.split()[1])
    raise AssertionError(key)


def fetch_bounded(r, pid, tag, items):
    """FETCH 1 items; the literals, and the worker's peak growth (kB)
    over its size when the FETCH began"""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")            # the peak (VmHWM) starts again from here
    base = status_kb(pid, "VmRSS")
    r.send(tag + b" FETCH 1 " + items + b"\r\n")
    resp = read_response(r, tag)
    assert resp[-1][0].startswith(tag + b" OK"), resp[-1][0]
    lits = [lit for ln, ls in resp[:-1] for lit in ls]
    return lits, status_kb(pid, "VmHWM") - base


def test_large_body_streamed(big):
    s, msg = big
    body = msg[len(HDR):]
    r = Raw(s.port, timeout=120)
    r.cmd(b"l", b"LOGIN alice secret")
    r.cmd(b"s", b"SELECT INBOX")
    pid = worker_of(s, r.s)
    cases = [
        (b"BODY.PEEK[]", msg),
        (b"BODY.PEEK[]<1000.5000000>", msg[1000:5001000]),
        (b"BODY.PEEK[]<%d.100>" % (len(msg) - 10), msg[-10:]),
        (b"BODY.PEEK[]<%d.100>" % (len(msg) + 5), b""),
        (b"BODY.PEEK[TEXT]", body),
        (b"BODY.PEEK[TEXT]<7.1000>", body[7:1007]),
        (b"BODY.PEEK[HEADER]", HDR),
        (b"BINARY.PEEK[]", msg),
        (b"BINARY.PEEK[]<3.1048576>", msg[3:3 + 1048576]),
        (b"RFC822", msg),
    ]
    for i, (items, want) in enumerate(cases):
        lits, grew = fetch_bounded(r, pid, b"f%d" % i, items)
        assert len(lits) == 1, items
        assert len(lits[0]) == len(want), items
        assert hashlib.sha256(lits[0]).digest() == \
            hashlib.sha256(want).digest(), items
        assert grew < BOUND_KB, (items, grew)
    r.cmd(b"o", b"LOGOUT")
    r.close()


def test_large_parts_and_sizes(big):
    """a part of the message is its range too; sizes without the body"""
    s, msg = big
    body = msg[len(HDR):]
    r = Raw(s.port, timeout=120)
    r.cmd(b"l", b"LOGIN alice secret")
    r.cmd(b"s", b"EXAMINE INBOX")
    r.send(b"f FETCH 1 (RFC822.SIZE BINARY.SIZE[] BODY.PEEK[1]<10.20> "
           b"BODY.PEEK[HEADER.FIELDS (Subject)])\r\n")
    resp = read_response(r, b"f")
    assert resp[-1][0].startswith(b"f OK")
    line, lits = resp[0]
    assert b"RFC822.SIZE %d" % len(msg) in line
    assert b"BINARY.SIZE[] %d" % len(msg) in line
    assert lits == [body[10:30], b"Subject: large\r\n\r\n"]
    r.cmd(b"o", b"LOGOUT")
    r.close()

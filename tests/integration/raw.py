"""A minimal raw IMAP connection for what imaplib cannot express."""
import socket
import time

from poll import deadline


class Raw:
    def __init__(self, port, timeout=10, source=None, greet=True):
        """source: a loopback address to connect from, e.g. 127.0.0.2;
        greet: read the greeting (into .greeting) now"""
        self.s = socket.create_connection(
            ("127.0.0.1", port), timeout=deadline(timeout),
            source_address=(source, 0) if source else None)
        self.buf = b""
        self.greeting = self.line() if greet else None

    @classmethod
    def nogreeting(cls, port, timeout=10, source=None):
        """connected, the first line not read yet"""
        return cls(port, timeout, source, greet=False)

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError(self.buf)
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def until_tag(self, tag):
        """lines up to and including the tagged one"""
        out = []
        while True:
            ln = self.line()
            out.append(ln)
            if ln.startswith(tag + b" "):
                return out

    def cmd(self, tag, text):
        self.send(tag + b" " + text + b"\r\n")
        return self.until_tag(tag)

    def closed(self, timeout=5):
        """True when the server closes the connection"""
        self.s.settimeout(deadline(timeout))
        end = time.time() + deadline(timeout)
        try:
            while time.time() < end:
                if not self.s.recv(65536):
                    return True
        except (ConnectionResetError, socket.timeout):
            return False
        return False

    def close(self):
        self.s.close()


# --- what most raw-socket tests do with a Raw ------------------------------

TIMEOUT = 20


def login(server, user=b"alice", password=b"secret", timeout=TIMEOUT):
    """a Raw connection to server, logged in as user"""
    r = Raw(server.port, timeout=timeout)
    out = r.cmd(b"L", b"LOGIN " + user + b" " + password)
    assert out[-1].startswith(b"L OK"), out
    return r


def status(lines):
    """the tagged reply's word: b"OK", b"NO" or b"BAD" """
    return lines[-1].split(b" ", 2)[1]


def ok(lines):
    assert status(lines) == b"OK", lines
    return lines


def bad(lines):
    assert status(lines) == b"BAD", lines
    return lines


def append(r, box, msg, flags=b""):
    """APPEND msg to box (with flags, a space-separated list) as a
    non-synchronizing literal; the lines up to the tagged reply"""
    r.send(b"A APPEND " + box + (b" (" + flags + b")" if flags else b"") +
           b" {%d+}\r\n" % len(msg) + msg + b"\r\n")
    return r.until_tag(b"A")


def esearch(lines, tag):
    """the ESEARCH responses to the command tagged tag"""
    return [ln for ln in lines
            if ln.startswith(b'* ESEARCH (TAG "' + tag + b'")')]

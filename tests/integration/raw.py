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

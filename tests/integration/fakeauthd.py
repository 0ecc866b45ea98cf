"""A stand-in saslauthd on a private socket: slow, or hanging, on demand.

It speaks saslauthd's protocol (four counted strings in: login, password,
service, realm; one counted string out: "OK ..." or "NO ..."), checks the
password against a dict, and answers after `delay` seconds -- or never,
for users in `hang`, until the test ends.  Every check is counted; while
`released` is clear, checks are held (counted, not answered).  `order`
keeps the user and password of each check in the order they came.
"""
import os
import socket
import struct
import threading
import time


class FakeSaslauthd:
    def __init__(self, path, users, delay=0.0, hang=()):
        self.path = path
        self.users = dict(users)
        self.delay = delay
        self.hang = set(hang)
        self.checks = 0
        self.order = []         # (user, password) of every check, in turn
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.released = threading.Event()
        self.released.set()
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o777)
        self.sock.listen(256)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.answer, args=(c,),
                             daemon=True).start()

    @staticmethod
    def field(c):
        n = struct.unpack("!H", FakeSaslauthd.read(c, 2))[0]
        return FakeSaslauthd.read(c, n)

    @staticmethod
    def read(c, n):
        out = b""
        while len(out) < n:
            d = c.recv(n - len(out))
            if not d:
                raise EOFError
            out += d
        return out

    def answer(self, c):
        c.settimeout(30)
        try:
            user, pw = self.field(c).decode(), self.field(c)
            self.field(c)
            self.field(c)
            with self.lock:
                self.checks += 1
                self.order.append((user, pw.decode(errors="replace")))
            if user in self.hang:
                self.stopping.wait(60)
                return
            self.released.wait(60)
            time.sleep(self.delay)
            ok = self.users.get(user) == pw.decode(errors="replace")
            text = b"OK \"Success.\"" if ok else b"NO \"authentication failed\""
            c.sendall(struct.pack("!H", len(text)) + text)
        except (OSError, EOFError):
            pass
        finally:
            c.close()

    def stop(self):
        self.stopping.set()
        self.sock.close()
        self.thread.join(5)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

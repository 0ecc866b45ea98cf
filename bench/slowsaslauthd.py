#!/usr/bin/env python3
"""slowsaslauthd - a stand-in saslauthd whose every check takes DELAY.

Owns: the fake password backend of the "slow" benchmarks, speaking the
protocol libsasl2's saslauthd client uses (lib/checkpw.c): on a Unix
stream socket, one request per connection, four counted strings (a
big-endian u16 length, then bytes) -- login, password, service, realm --
and one counted reply, "OK" or "NO <reason>".

Every check sleeps DELAY seconds first (a loaded Kerberos KDC), one
thread per connection so checks overlap as they would against a real
backend; the delay is the backend's, not a queue of ours.

Does not: PAM, caching, credentials of any kind beyond the user table.

    slowsaslauthd.py SOCKET USERSFILE [DELAY]

USERSFILE has lines "user:password".  A login "user@realm" is looked up
as "user".  Stops on SIGTERM/SIGINT, or by itself after --max-seconds
(default 3600), and prints "checks=N ok=N no=N" on stderr when it stops.
"""
import os
import signal
import socketserver
import struct
import sys
import threading
import time


class Handler(socketserver.BaseRequestHandler):
    def _counted(self, f):
        hdr = f.read(2)
        if len(hdr) != 2:
            raise EOFError
        (n,) = struct.unpack("!H", hdr)
        data = f.read(n)
        if len(data) != n:
            raise EOFError
        return data.decode("utf-8", "replace")

    def handle(self):
        self.request.settimeout(10)
        f = self.request.makefile("rb")
        try:
            login = self._counted(f)
            password = self._counted(f)
            self._counted(f)        # service
            self._counted(f)        # realm
        except (EOFError, OSError):
            return
        time.sleep(self.server.delay)
        user = login.split("@", 1)[0]
        ok = self.server.users.get(user) == password
        with self.server.lock:
            self.server.checks += 1
            if ok:
                self.server.ok += 1
        reply = b"OK" if ok else b"NO authentication failed"
        try:
            self.request.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            pass


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 1024


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    limit = 3600.0
    for a in sys.argv[1:]:
        if a.startswith("--max-seconds="):
            limit = float(a.split("=", 1)[1])
    if len(args) < 2:
        sys.exit("usage: slowsaslauthd.py SOCKET USERSFILE [DELAY]")
    path, usersfile = args[0], args[1]
    delay = float(args[2]) if len(args) > 2 else 0.1
    users = {}
    with open(usersfile) as f:
        for ln in f:
            if ":" in ln:
                u, p = ln.rstrip("\n").split(":", 1)
                users[u] = p
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = Server(path, Handler)
    os.chmod(path, 0o777)
    srv.delay, srv.users = delay, users
    srv.lock = threading.Lock()
    srv.checks = srv.ok = 0

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Timer(limit, stop).start()
    print("ready", flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
        try:
            os.unlink(path)
        except OSError:
            pass
        print(f"checks={srv.checks} ok={srv.ok} no={srv.checks - srv.ok}",
              file=sys.stderr, flush=True)
        os._exit(0)


if __name__ == "__main__":
    main()

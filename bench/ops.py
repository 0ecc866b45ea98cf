#!/usr/bin/python3
"""bench/ops.py - what the journal costs and how long reconstruct takes.

    bench/ops.py append [--build DIR] [--base DIR] [-n N] [--rounds R]
    bench/ops.py reconstruct [--build DIR] [--messages N] [--mailboxes M]

append: APPENDs per second on one connection (a 2 KB message with a
LITERAL+ literal over TCP_NODELAY, each answered before the next is sent), for the build in --build and, with
--base, for another build (e.g. one without the journal) in the same run,
alternating rounds; prints key=value lines and the ratio.

reconstruct: fills N messages into M mailboxes of one user with IMAP
APPENDs (LITERAL+, one at a time), stops
the server, deletes the Berkeley DB environment, times berthctl
reconstruct, and checks the message count over IMAP afterwards.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import conftest  # noqa: E402

MSG = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: bench\r\n"
       b"\r\n" + b"x" * 2000 + b"\r\n")


def server(build):
    conftest.BUILD = build
    conftest.PROGDIR = ":".join(os.path.join(build, d) for d in (
        "imapd", "authd", "idled", "tlsd", "lmtpd", "tools", "master"))
    s = conftest.Server()
    s.add_user("alice", "secret")
    return s


def raw_appends(port, n):
    """n APPENDs with a non-synchronizing literal (LITERAL+) over a
    TCP_NODELAY socket, each answered before the next: the server's
    time, not the client's round trips; returns the seconds taken"""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = sock.makefile("rb")
    f.readline()
    sock.sendall(b"l LOGIN alice secret\r\n")
    while not f.readline().startswith(b"l "):
        pass
    cmd = b"a APPEND INBOX {%d+}\r\n" % len(MSG) + MSG + b"\r\n"
    t = time.monotonic()
    for _ in range(n):
        sock.sendall(cmd)
        while True:
            ln = f.readline()
            if ln.startswith(b"a "):
                assert ln.startswith(b"a OK"), ln
                break
    took = time.monotonic() - t
    sock.close()
    return took


def append_rate(build, n):
    s = server(build).start()
    try:
        raw_appends(s.port, 20)
        rate = n / raw_appends(s.port, n)
    finally:
        s.cleanup()
    return rate


def cmd_append(a):
    runs = {a.build: [], a.base: []} if a.base else {a.build: []}
    for _ in range(a.rounds):
        for b in runs:
            runs[b].append(append_rate(b, a.n))
    best = {}
    for b, rates in runs.items():
        best[b] = sorted(rates)[len(rates) // 2]
        print(f"build={b} appends_per_s_median={best[b]:.0f} "
              f"rounds={' '.join(f'{r:.0f}' for r in rates)}")
    if a.base:
        print(f"ratio={best[a.build] / best[a.base]:.3f} "
              f"(journal / base, median of {a.rounds} rounds)")


def cmd_reconstruct(a):
    s = server(a.build).start()
    try:
        c = s.connect("alice", "secret")
        per = a.messages // a.mailboxes
        for m in range(a.mailboxes):
            c.create(f"box{m:03d}")
        c.logout()
        t = time.monotonic()
        sock = socket.create_connection(("127.0.0.1", s.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = sock.makefile("rb")
        f.readline()
        sock.sendall(b"l LOGIN alice secret\r\n")
        while not f.readline().startswith(b"l "):
            pass
        for m in range(a.mailboxes):
            for i in range(per):
                body = MSG + f"{m}/{i}\r\n".encode()
                flags = b"(\\Seen) " if i % 2 else b""
                sock.sendall(b"a APPEND box%03d %s{%d+}\r\n" % (
                    m, flags, len(body)) + body + b"\r\n")
                while not f.readline().startswith(b"a "):
                    pass
        sock.close()
        fill = time.monotonic() - t
        s.stop()
        jsize = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in
                    os.walk(os.path.join(s.dir, "spool", "journal"))
                    for f in fs)
        shutil.rmtree(os.path.join(s.dir, "conf", "db"))
        t = time.monotonic()
        r = subprocess.run([os.path.join(a.build, "tools", "berthctl"),
                            "-C", s.conf, "reconstruct"],
                           capture_output=True, text=True)
        took = time.monotonic() - t
        assert r.returncode == 0, r.stdout + r.stderr
        s.log.close()
        s.start()
        c = s.connect("alice", "secret")
        total = 0
        for m in range(a.mailboxes):
            typ, st = c.status(f"box{m:03d}", "(MESSAGES)")
            total += int(st[0].split(b"MESSAGES ")[1].rstrip(b")"))
        c.logout()
        print(f"messages={per * a.mailboxes} mailboxes={a.mailboxes} "
              f"fill_s={fill:.1f} journal_bytes={jsize} "
              f"reconstruct_s={took:.2f} "
              f"per_s={per * a.mailboxes / took:.0f} back={total}")
    finally:
        s.cleanup()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    ap = sub.add_parser("append")
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--base")
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    rp = sub.add_parser("reconstruct")
    rp.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    rp.add_argument("--messages", type=int, default=10000)
    rp.add_argument("--mailboxes", type=int, default=50)
    a = p.parse_args()
    a.build = os.path.abspath(a.build)
    if getattr(a, "base", None):
        a.base = os.path.abspath(a.base)
    (cmd_append if a.cmd == "append" else cmd_reconstruct)(a)


if __name__ == "__main__":
    main()

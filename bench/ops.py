#!/usr/bin/python3
"""bench/ops.py - APPEND rates, what the journal costs, and how long
reconstruct takes.

    bench/ops.py append [--build DIR] [--base DIR] [--servers LIST]
                        [--conns 1,4] [-n N] [--rounds R] [--size BYTES]
    bench/ops.py reconstruct [--build DIR] [--messages N] [--mailboxes M]
                             [--backup]

append: APPENDs per second of a --size (4 KB) message into one user's
INBOX, with a LITERAL+ literal over TCP_NODELAY, each answered before the
next is sent, on each of --conns connections at once (1 and 4: the
APPEND lines of issue 15's table), for the berth build in --build, with
--base for another build (e.g. the one before a change), and with
--servers for Dovecot and Cyrus from Debian (bench/peers.py, defaults
kept: Dovecot's mail_fsync=optimized fsyncs the new maildir file, Cyrus
fsyncs the file, its index and its database); every server in the same
run, rounds alternating, medians and ratios printed.  berth makes an
APPEND durable with one fdatasync, its user's journal's (the message's
bytes ride in it; store_redo.c), shared by the sessions writing the same
journal at once (group commit).

reconstruct: fills N messages into M mailboxes of one user with IMAP
MULTIAPPENDs of --batch messages (LITERAL+; every other one \\Seen), stops
the server, deletes the Berkeley DB environment, times berthctl
reconstruct, and checks the message count over IMAP afterwards.  With
--backup it first times berthctl backup of the filled store while it
serves (and the backup's size), a second backup after 100 more messages
(incremental: only their files copied), and a restore into a fresh
store.

One run (2 cores shared with other work; load average in the output):
see the commit that last changed these figures.
"""
import argparse
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import conftest  # noqa: E402
import peers  # noqa: E402

MSG = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: bench\r\n"
       b"\r\n" + b"x" * 2000 + b"\r\n")


def message(size, tag):
    """a distinct message of about size bytes (no server may skip the
    write of one it has)"""
    head = (b"From: a@example.org\r\nTo: b@example.org\r\n"
            b"Subject: bench %s\r\n\r\n" % tag)
    line = b"x" * 76 + b"\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


def server(build):
    conftest.BUILD = build
    conftest.PROGDIR = ":".join(os.path.join(build, d) for d in (
        "imapd", "authd", "idled", "tlsd", "lmtpd", "tools", "master"))
    s = conftest.Server()
    s.add_user("alice", "secret")
    s.add_user("user0", "pw")
    return s


def raw_appends(port, n, user="alice", password="secret", size=2000,
                seed=0):
    """n APPENDs with a non-synchronizing literal (LITERAL+) over a
    TCP_NODELAY socket, each answered before the next: the server's
    time, not the client's round trips; returns the seconds taken"""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = sock.makefile("rb")
    f.readline()
    sock.sendall(b"l LOGIN %s %s\r\n" % (user.encode(), password.encode()))
    while not f.readline().startswith(b"l "):
        pass
    t = time.monotonic()
    for i in range(n):
        body = message(size, b"%d.%d" % (seed, i))
        sock.sendall(b"a APPEND INBOX {%d+}\r\n" % len(body) + body +
                     b"\r\n")
        while True:
            ln = f.readline()
            if ln.startswith(b"a "):
                assert ln.startswith(b"a OK"), ln
                break
    took = time.monotonic() - t
    sock.close()
    return took


def _appender(args):
    port, n, user, password, size, seed = args
    return raw_appends(port, n, user, password, size, seed)


def conn_rate(port, conns, n, user, password, size):
    """APPENDs per second of conns connections doing n each at once"""
    seed = int(time.monotonic() * 1000)
    with multiprocessing.Pool(conns) as pool:
        t = time.monotonic()
        pool.map(_appender, [(port, n, user, password, size,
                              seed * 100 + k) for k in range(conns)])
        took = time.monotonic() - t
    return conns * n / took


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


class Target:
    """one server to append to: a berth build, or a peer"""

    def __init__(self, label, build=None, peer=None):
        self.label, self.build, self.peer = label, build, peer

    def start(self):
        if self.build:
            self.s = server(self.build).start()
            self.port, self.user, self.pw = self.s.port, "user0", "pw"
        else:
            self.s = peers.make(self.peer, users=1).start()
            self.s.login_all()
            self.port, self.user, self.pw = self.s.port, "user0", "pw"
        return self

    def stop(self):
        if self.build:
            self.s.cleanup()
        else:
            self.s.stop()


def cmd_append(a):
    targets = [Target("berth", build=a.build)]
    if a.base:
        targets.append(Target("berth-base", build=a.base))
    for name in filter(None, a.servers.split(",")):
        targets.append(Target(name, peer=name))
    conns = [int(c) for c in a.conns.split(",")]
    runs = {(t.label, c): [] for t in targets for c in conns}
    for _ in range(a.rounds):
        for t in targets:
            t.start()
            try:
                raw_appends(t.port, 20, t.user, t.pw, a.size)  # warm-up
                for c in conns:
                    runs[(t.label, c)].append(conn_rate(
                        t.port, c, a.n, t.user, t.pw, a.size))
            finally:
                t.stop()
            print(f"# round done server={t.label} loadavg={loadavg()}",
                  flush=True)
    med = {}
    for (label, c), rates in runs.items():
        med[(label, c)] = sorted(rates)[len(rates) // 2]
        print(f"server={label} conns={c} size={a.size} "
              f"appends_per_s_median={med[(label, c)]:.0f} "
              f"rounds={' '.join(f'{r:.0f}' for r in rates)}")
    for t in targets[1:]:
        print(f"ratio berth/{t.label}: " + " ".join(
            f"{c}conn={med[('berth', c)] / med[(t.label, c)]:.2f}"
            for c in conns if med[(t.label, c)] > 0))
    print(f"loadavg={loadavg()}")


def du(path):
    return sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in
               os.walk(path) for f in fs)


def ctl(build, conf, *args):
    t = time.monotonic()
    r = subprocess.run([os.path.join(build, "tools", "berthctl"), "-C",
                        conf, *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return time.monotonic() - t, r.stdout


def backup_figures(a, s, per):
    """berthctl backup of the filled server while it serves, again after
    100 more messages (incremental), and restore into a fresh store"""
    bk = os.path.join(s.dir, "backup")
    full, out = ctl(a.build, s.conf, "backup", bk)
    size = du(bk)
    c = s.connect("alice", "secret")
    for i in range(100):
        c.append("box000", None, None, MSG + f"more {i}\r\n".encode())
    c.logout()
    incr, out2 = ctl(a.build, s.conf, "backup", bk)
    copied = re.search(r"files_copied=(\d+)", out2).group(1)
    spool = du(os.path.join(s.dir, "spool"))
    # each figure as soon as it is known: a bounded run cut short
    # still says what it measured
    print(f"backup messages={per * a.mailboxes} backup_s={full:.2f} "
          f"backup_bytes={size} spool_bytes={spool} "
          f"incremental_s={incr:.2f} incremental_files={copied} "
          f"load={loadavg()}", flush=True)
    d = conftest.Server()
    try:
        d.chown()
        rest, _ = ctl(a.build, d.conf, "restore", bk)
    finally:
        d.cleanup()
    print(f"restore messages={per * a.mailboxes + 100} restore_s={rest:.2f} "
          f"load={loadavg()}", flush=True)


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
            for i0 in range(0, per, a.batch):
                cmd = [b"a APPEND box%03d" % m]
                for i in range(i0, min(per, i0 + a.batch)):
                    body = MSG + f"{m}/{i}\r\n".encode()
                    flags = b" (\\Seen)" if i % 2 else b""
                    cmd.append(b"%s {%d+}\r\n" % (flags, len(body)) +
                               body)
                sock.sendall(b"".join(cmd) + b"\r\n")
                while True:
                    ln = f.readline()
                    if ln.startswith(b"a "):
                        assert ln.startswith(b"a OK"), ln
                        break
        sock.close()
        fill = time.monotonic() - t
        if a.backup:
            backup_figures(a, s, per)
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
    ap.add_argument("--servers", default="",
                    help="peers beside berth: dovecot,cyrus")
    ap.add_argument("--conns", default="1,4")
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("-n", type=int, default=300,
                    help="APPENDs per connection")
    ap.add_argument("--rounds", type=int, default=3)
    rp = sub.add_parser("reconstruct")
    rp.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    rp.add_argument("--messages", type=int, default=10000)
    rp.add_argument("--mailboxes", type=int, default=50)
    rp.add_argument("--batch", type=int, default=100,
                    help="messages per MULTIAPPEND while filling")
    rp.add_argument("--backup", action="store_true",
                    help="also time berthctl backup (full, incremental) "
                    "and restore of the filled store")
    a = p.parse_args()
    a.build = os.path.abspath(a.build)
    if getattr(a, "base", None):
        a.base = os.path.abspath(a.base)
    try:
        (cmd_append if a.cmd == "append" else cmd_reconstruct)(a)
    finally:
        peers.kill_all()


if __name__ == "__main__":
    main()

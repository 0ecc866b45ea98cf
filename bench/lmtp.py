#!/usr/bin/python3
"""lmtp - LMTP delivery rate: berth's lmtpd beside Dovecot's LMTP and
Cyrus's lmtpd, in the same run, over each server's LMTP Unix socket.

Lines (each for --seconds, after a warm-up):
  1conn   a 4 KB message to one recipient, one connection
  8conn   the same over 8 connections at once
  50rcpt  one 4 KB message to 50 recipients, one connection
Each prints deliveries per second (messages, and recipient copies for
50rcpt), then the ratios berth / peer.  Every delivery waits for its
per-recipient 250s; the client pipelines MAIL, RCPT and DATA.

What each server fsyncs (defaults kept): berth commits the Berkeley DB
transaction without flushing its log and writes a message of up to
64 KB without fsync, then appends the recipients' journal lines, with
the message's bytes in one of them, writes the same lines into the
partition's commit log (lib/store/store_wal.c) and fdatasyncs that log
once before any 250: one flush per message whatever the recipients (per
32 recipients), shared with concurrent deliveries (recovery writes back
journal lines from the log, then replays the journals:
lib/store/store_redo.c); Dovecot (mail_fsync = optimized)
fsyncs the maildir file before the 250; Cyrus fsyncs the message file,
the index and its database (twoskip) commit.

    bench/lmtp.py [--servers berth,dovecot,cyrus] [--seconds 10]
                  [--base DIR]

With the commit log (load average 22 to 24, 8 s per line, same run):
  berth    1conn 77.3/s  8conn 257.0/s  50rcpt 28.64 msgs/s (1432 copies/s)
  dovecot  1conn 35.1/s  8conn 120.3/s  50rcpt 1.45 msgs/s (72 copies/s)
  cyrus    1conn 20.7/s  8conn  47.1/s  50rcpt 0.40 msgs/s (20 copies/s)
  berth/dovecot 2.20 2.14 19.8; berth/cyrus 3.74 5.45 71.1
Before it (one fdatasync per recipient's journal), load about 11:
  berth 160.5 440.3 4.28; dovecot 42.0 181.4 1.90; cyrus 26.7 50.7 0.48

--base DIR runs another berth build (e.g. the one before a change) too,
as "berth-base", in the same run.

Before the journal became the write-ahead record (three fsyncs per
message: file, directory, log, and the journal's), one run here (2
cores, load average about 20 from other work; noisy):
  berth    1conn 55.0/s  8conn 218.2/s  50rcpt 52.1 msgs/s (2604 copies/s)
  dovecot  1conn 38.8/s  8conn 104.2/s  50rcpt 1.37 msgs/s (69 copies/s)
  cyrus    1conn 19.5/s  8conn  35.9/s  50rcpt 0.55 msgs/s (27 copies/s)
  berth/dovecot 1.42 2.09 38.0; berth/cyrus 2.82 6.08 95.2
"""
import argparse
import multiprocessing
import os
import socket
import sys
import time

import peers

MSG = (b"From: bench@example.org\r\nTo: user@example.org\r\n"
       b"Subject: lmtp bench\r\n\r\n" + (b"x" * 76 + b"\r\n") * 52)


def rcpt_addr(name, u):
    return f"user{u}" if name == "cyrus" else f"user{u}@localhost"


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(60)
        self.s.connect(path)
        self.buf = b""
        self.reply()
        self.s.sendall(b"LHLO bench.example\r\n")
        self.reply()

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError(self.buf)
            self.buf += d
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def reply(self):
        out = [self.line()]
        while out[-1][3:4] == b"-":
            out.append(self.line())
        return out

    def deliver(self, rcpts, n):
        """one transaction, pipelined; raises unless all got 250"""
        cmd = b"MAIL FROM:<bench@example.org>\r\n" + b"".join(
            b"RCPT TO:<%s>\r\n" % r.encode() for r in rcpts) + b"DATA\r\n"
        self.s.sendall(cmd)
        for _ in range(1 + len(rcpts)):
            r = self.reply()[-1]
            if not r.startswith(b"250"):
                raise RuntimeError(r)
        r = self.reply()[-1]
        if not r.startswith(b"354"):
            raise RuntimeError(r)
        # a distinct message each time: no server may skip the write
        self.s.sendall(MSG + b"n=%d\r\n.\r\n" % n)
        for _ in rcpts:
            r = self.reply()[-1]
            if not r.startswith(b"250"):
                raise RuntimeError(r)


def worker(path, rcpts, seconds, seed, q):
    c = Client(path)
    n = 0
    end = time.time() + seconds
    while time.time() < end:
        c.deliver(rcpts, seed * 10**7 + n)
        n += 1
    q.put(n)


def run(path, rcpts_of, conns, seconds):
    q = multiprocessing.Queue()
    ps = [multiprocessing.Process(target=worker, args=(
        path, rcpts_of(i), seconds, i + 1, q)) for i in range(conns)]
    t0 = time.time()
    for p in ps:
        p.start()
    total = sum(q.get(timeout=seconds + 120) for _ in ps)
    for p in ps:
        p.join()
    return total / (time.time() - t0)


# ---- the servers' LMTP sockets -------------------------------------------

def start_berth(users, build=None):
    import conftest
    if build:
        # the other build's programs, for this server only
        saved = conftest.BUILD, conftest.PROGDIR, peers.BUILD
        conftest.BUILD = peers.BUILD = build
        conftest.PROGDIR = ":".join(os.path.join(build, d) for d in (
            "imapd", "authd", "idled", "tlsd", "lmtpd", "tools", "master"))
        try:
            return start_berth(users)
        finally:
            conftest.BUILD, conftest.PROGDIR, peers.BUILD = saved
    b = peers.Berth(users=users)
    orig = peers.Server.write_master

    def write_master(self, prefork=None, extra=""):
        self.lmtp = os.path.join(self.dir, "conf", "socket", "lmtp")
        lmtpd = os.path.join(peers.BUILD, "lmtpd", "lmtpd")
        orig(self, prefork, extra + f'  lmtp cmd="{lmtpd}" listen='
             f'"{self.lmtp}" prefork=8 maxchild=20\n')
    peers.Server.write_master = write_master
    try:
        # Server writes master.conf in its constructor
        b.start()
    finally:
        peers.Server.write_master = orig
    return b, b.server.lmtp


def start_dovecot(users):
    peers.apt_install(["dovecot-lmtpd"])
    conf = peers.DOVECOT_CONF
    peers.DOVECOT_CONF = conf.replace(
        "protocols = imap", "protocols = imap lmtp").replace(
        "{extra}", "service lmtp {{\n  process_min_avail = 8\n}}\n"
        "auth_username_format = %Ln\n{extra}").replace(
        "home={d}/mail/%u", "home={d}/mail/%u allow_all_users=yes")
    try:
        d = peers.Dovecot(users=users)
        d.start()
    finally:
        peers.DOVECOT_CONF = conf
    return d, os.path.join(d.dir, "run", "lmtp")


def start_cyrus(users):
    conf = peers.CYRUS_CONF
    peers.CYRUS_CONF = conf.replace(
        "\n}}\nEVENTS", '\n  lmtpunix      cmd="{bin}/lmtpd -C {conf}" '
        'listen="{conf}.lmtp" prefork=8\n}}\nEVENTS')
    try:
        c = peers.Cyrus(users=users)
        c.start()
    finally:
        peers.CYRUS_CONF = conf
    return c, c.conf + ".lmtp"


STARTERS = {"berth": start_berth, "dovecot": start_dovecot,
            "cyrus": start_cyrus}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", default="berth,dovecot,cyrus")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--base", help="another berth build, run as berth-base")
    a = ap.parse_args()
    peers.on_signals()
    rows = {}
    names = a.servers.split(",")
    if a.base:
        names.insert(names.index("berth") + 1 if "berth" in names else 0,
                     "berth-base")
    for name in names:
        if name == "berth-base":
            srv, path = start_berth(a.users, os.path.abspath(a.base))
        else:
            srv, path = STARTERS[name](a.users)
        try:
            srv.login_all()
            for _ in range(50):
                if os.path.exists(path):
                    break
                time.sleep(0.1)
            one = lambda i, n=name: [rcpt_addr(n, i % a.users)]  # noqa: E731
            fifty = lambda i, n=name: [rcpt_addr(n, u)  # noqa: E731
                                       for u in range(50)]
            run(path, one, 1, 1)        # warm-up
            res = {"1conn": run(path, one, 1, a.seconds),
                   "8conn": run(path, one, 8, a.seconds)}
            r50 = run(path, fifty, 1, a.seconds)
            res["50rcpt"] = r50
            rows[name] = res
            print(f"server={name} 1conn_msgs_s={res['1conn']:.1f} "
                  f"8conn_msgs_s={res['8conn']:.1f} "
                  f"50rcpt_msgs_s={r50:.2f} "
                  f"50rcpt_copies_s={50 * r50:.1f} "
                  f"loadavg={os.getloadavg()[0]:.1f}", flush=True)
        finally:
            srv.stop()
    if "berth" in rows:
        for name, res in rows.items():
            if name == "berth":
                continue
            print(f"ratio berth/{name}: " + " ".join(
                f"{k}={rows['berth'][k] / v:.2f}" for k, v in res.items()
                if v > 0))


if __name__ == "__main__":
    try:
        main()
    finally:
        peers.kill_all()
    sys.exit(0)

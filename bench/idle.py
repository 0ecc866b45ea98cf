#!/usr/bin/env python3
"""IDLE benchmark: N parked sessions over U users, berth against its peers.

Owns: one run of bench/idlebench per (server, N), each against a freshly
started server (bench/peers.py): server memory (sum of PSS over its whole
process tree) before and after the idlers are in IDLE and the tree has
settled (berth's worker pool back at its size before the logins, waited
for up to 240 s and reported as pool_settle_s), bytes per idler, process
count, APPEND-to-EXISTS latency at every idler (p50/p99/max, missed =
none within 10 s), and the time to DONE+LOGOUT them all; then ratios
berth vs each peer from the same run.

    bench/idle.py [--servers berth,dovecot,dovecot-hib,cyrus] [--users 50]
                  [--rounds 5] [--repeat 1] [--peer-max 5000]
                  [--dgram-qlen Q] [N ...]

N defaults to 1000 3000.  Peers above --peer-max idlers are skipped
(they need a process per session, or fds past one process's limit);
berth runs at any N.  fs.inotify.max_user_instances is raised for
Dovecot when writable and restored afterwards; net.unix.max_dgram_qlen
is left as it is unless --dgram-qlen is given (Cyrus sends change
notices as Unix datagrams, and a full queue drops them; berth keeps a
SOCK_SEQPACKET connection to idled instead).  round_max_ms is each
round's slowest EXISTS.  Output: key=value lines, one per server and N,
and a ratio table (peer / berth: above 1 means berth is better).

Does not: tune berth; it runs with the config bench/peers.py gives it.
"""
import argparse
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

ALL = ["berth", "dovecot", "dovecot-hib", "cyrus"]


def readline(p, timeout):
    """a line of p's stdout within timeout, or raise (unbuffered: select
    must see what a buffered reader would already have taken)"""
    end = time.time() + timeout
    buf = b""
    while not buf.endswith(b"\n"):
        r, _, _ = select.select([p.stdout], [], [], max(end - time.time(), 0))
        if not r:
            raise TimeoutError("idlebench did not answer")
        c = os.read(p.stdout.fileno(), 1)
        if not c:
            break
        buf += c
    return buf.decode()


def fds_of(pid):
    try:
        n = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/limits") as f:
            lim = [ln.split()[3] for ln in f if ln.startswith("Max open")]
        return n, lim[0] if lim else "?"
    except OSError:
        return 0, "?"


def by_prog(pids):
    """PSS per program name, "imapd:1234,idled:567" (kB)"""
    groups = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        groups.setdefault(comm, []).append(pid)
    return ",".join(f"{c}:{peers.pss_kb(ps)}" for c, ps in
                    sorted(groups.items()))


def run(name, n, args, gen):
    peer = peers.make(name, users=args.users, password="pw")
    res = {"server": name, "idlers": n}
    p = None
    try:
        peer.start()
        peer.login_all()
        # measured in the same settled state as after: berth's pool back
        # at prefork, Cyrus's reused processes counted both times
        time.sleep(14 if name == "berth" else 3)
        peers.settle(peer.pid, quiet=5, limit=120)
        before = peer.tree()
        res["pss_before_kb"] = peers.pss_kb(before)
        ip = peer.idled_pid() if name == "berth" else None
        idled_before = peers.pss_kb([ip]) if ip else 0
        res["processes_before"] = len(before)
        res["pss_by_prog_before"] = by_prog(before)
        p = subprocess.Popen([gen, "127.0.0.1", str(peer.port), str(n),
                              str(args.users), "pw", str(args.rounds)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             bufsize=0)
        line = readline(p, 400)
        if not line.startswith("idling"):
            raise RuntimeError(f"idlebench: {line!r} {peer.logtail(1500)}")
        idling = int(line.split()[1])
        res["idling"] = idling
        res.update(peers.kv(readline(p, 10)))
        # Cyrus and Dovecot keep a process per session; berth's pool
        # grown by the login burst shrinks back to prefork once maxidle
        # (master.conf, default 60 s) has passed, one worker a second:
        # measured in that steady state, as before the logins
        time.sleep(14 if name == "berth" else 5)
        t0 = time.time()
        while (name == "berth" and time.time() - t0 < 240 and
               len(peer.tree()) > res["processes_before"]):
            time.sleep(2)
        res["pool_settle_s"] = round(time.time() - t0)
        peers.settle(peer.pid, quiet=5, limit=60)
        procs = peer.tree()
        after = peers.pss_kb(procs)
        res["pss_after_kb"] = after
        res["processes"] = len(procs)
        res["pss_by_prog_after"] = by_prog(procs)
        res["bytes_per_idler"] = round(
            (after - res["pss_before_kb"]) * 1024 / max(idling, 1))
        if name == "berth":
            ip = peer.idled_pid()
            if ip:
                res["idled_pss_kb"] = peers.pss_kb([ip])
                res["idled_bytes_per_idler"] = round(
                    (res["idled_pss_kb"] - idled_before) * 1024 /
                    max(idling, 1))
                res["idled_fds"], res["idled_fd_limit"] = fds_of(ip)
        out, _ = p.communicate(b"go\n", timeout=args.rounds * 16 + 90)
        for ln in out.decode().splitlines():
            res.update(peers.kv(ln))
        p = None
        if name == "berth":
            res["log_warnings"] = len(peer.warnings())
            res["_warn"] = peer.warnings()[:8]
    except Exception as e:
        res["error"] = str(e).replace("\n", " | ")[:600]
    finally:
        if p is not None:
            p.kill()
            p.wait()
        peer.stop()
    return res


KEYS = ["idlers", "idling", "setup_failed", "processes_before",
        "pss_before_kb", "pss_after_kb", "pool_settle_s",
        "bytes_per_idler", "processes", "p50_ms", "p99_ms", "max_ms",
        "samples", "missed", "append_failed", "round_max_ms",
        "logout_all_s", "closed",
        "not_closed", "setup_s", "literal_plus", "idled_pss_kb",
        "idled_bytes_per_idler",
        "idled_fds", "idled_fd_limit", "pss_by_prog_before",
        "pss_by_prog_after", "log_warnings", "error"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", default=",".join(ALL))
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--peer-max", type=int, default=5000)
    ap.add_argument("--dgram-qlen", type=int, default=0,
                    help="raise net.unix.max_dgram_qlen for the run (Cyrus "
                    "sends change notices as Unix datagrams; "
                    "Debian's default queue is 10)")
    ap.add_argument("n", nargs="*", type=int)
    args = ap.parse_args()
    servers = args.servers.split(",")
    for s in servers:
        if s not in ALL:
            ap.error(f"unknown server {s}")
    gen = peers.compile_c("idlebench")
    peers.on_signals()
    table = []
    qlen = peers.Sysctl("net.unix.max_dgram_qlen", args.dgram_qlen)
    with peers.Sysctl("fs.inotify.max_user_instances", 65536) as sc, qlen:
        print(f"# {sc.note}; {qlen.note}", flush=True)
        try:
            for rep in range(1, args.repeat + 1):
                for n in args.n or [1000, 3000]:
                    got = {}
                    for s in servers:
                        if s != "berth" and n > args.peer_max:
                            print(f"# idle server={s} idlers={n} skipped "
                                  f"(peers run to --peer-max "
                                  f"{args.peer_max})", flush=True)
                            continue
                        got[s] = run(s, n, args, gen)
                        peers.print_result("idle", got[s], rep, KEYS)
                    table.append((rep, n, got))
        finally:
            peers.kill_all()
    print("# ratios: peer / berth (above 1: berth better)")
    peers.print_ratios(
        [(f"run={rep} idlers={n}", got) for rep, n, got in table],
        [("mem_per_idler", "bytes_per_idler"), ("p99", "p99_ms"),
         ("logout_all", "logout_all_s")], [("missed", "missed")], ".1f")


if __name__ == "__main__":
    main()

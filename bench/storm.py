#!/usr/bin/env python3
"""Login-storm benchmark: berth against Dovecot and Cyrus, same run.

Owns: one run of bench/stormbench per server (bench/peers.py starts a
fresh one each time): A attackers guessing passwords as fast as the
server answers for S seconds while a legitimate client logs in every
200 ms; the server's process tree sampled about once a second (sum of
PSS, process count) for its peak; then ratios berth vs each peer.

    bench/storm.py [--servers berth,dovecot,cyrus] [--attackers 200]
                   [--seconds 60] [--users 50] [--slow] [--repeat 1]

--slow gives every server a password backend whose checks take 100 ms
(bench/slowsaslauthd.py for berth and Cyrus, bench/slowcheckpw for
Dovecot's checkpassword passdb).  Output: key=value lines per server and
a ratio table; for each figure it says which way is better.

Does not: tune any server for storms beyond the load settings every
benchmark uses (bench/peers.py); berth has no penalties yet (XXX(#4)).
"""
import argparse
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402


class Sampler(threading.Thread):
    """PSS and process count of a tree, about once a second"""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.stop_ev = pid, threading.Event()
        self.peak_kb = self.peak_procs = 0
        self.samples = []

    def run(self):
        while not self.stop_ev.is_set():
            t = peers.tree(self.pid)
            kb = peers.pss_kb(t)
            self.samples.append((time.time(), len(t), kb))
            self.peak_kb = max(self.peak_kb, kb)
            self.peak_procs = max(self.peak_procs, len(t))
            self.stop_ev.wait(1.0)

    def stop(self):
        self.stop_ev.set()
        self.join(timeout=30)


def run(name, args, gen):
    peer = peers.make(name, users=args.users, password="pw", slow=args.slow)
    res = {"server": name, "slow": int(args.slow)}
    p = sampler = None
    try:
        peer.start()
        peer.login_all()
        time.sleep(14 if name == "berth" else 3)
        peers.settle(peer.pid, quiet=4, limit=60)
        t = peer.tree()
        res["processes_before"], res["pss_before_kb"] = len(t), \
            peers.pss_kb(t)
        sampler = Sampler(peer.pid)
        sampler.start()
        p = subprocess.Popen([gen, "127.0.0.1", str(peer.port),
                              str(args.attackers), str(args.seconds),
                              str(args.users), "pw", "0"],
                             stdout=subprocess.PIPE,
                             stderr=open(os.devnull, "w")
                             if not args.verbose else None, text=True)
        out, _ = p.communicate(timeout=args.seconds + 60)
        p = None
        sampler.stop()
        for ln in out.splitlines():
            res.update(peers.kv(ln))
        res["peak_pss_kb"] = sampler.peak_kb
        res["peak_processes"] = sampler.peak_procs
        if name == "berth":
            w = peer.warnings()
            res["log_warnings"] = len(w)
            # one line of each kind, so a flood shows as a count
            kinds = {}
            for ln in w:
                key = ln.split(": ", 2)[-1][:60]
                kinds.setdefault(key, ln)
            res["_warn"] = list(kinds.values())[:8]
    except Exception as e:
        res["error"] = str(e).replace("\n", " | ")[:600]
    finally:
        if sampler:
            sampler.stop()
        if p is not None:
            p.kill()
            p.wait()
        peer.stop()
        if peer.backend:
            res.update({f"backend_{k}": v for k, v in
                        peers.kv(peer.backend.stats).items()})
    return res


KEYS = ["slow", "attackers", "seconds", "legit_attempts", "legit_ok",
        "legit_fail", "legit_fail_no", "legit_fail_bye",
        "legit_fail_closed", "legit_fail_refused", "legit_fail_timeout",
        "legit_p50_ms", "legit_p99_ms", "legit_max_ms", "legit_p99_all_ms",
        "attacker_answers", "attacker_checks_per_s", "attacker_connects",
        "attacker_refused", "attacker_bye", "attacker_closed",
        "attacker_timeouts", "attacker_ok", "processes_before",
        "pss_before_kb", "peak_processes", "peak_pss_kb", "backend_checks",
        "backend_ok", "backend_no", "log_warnings", "error"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", default="berth,dovecot,cyrus")
    ap.add_argument("--attackers", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--slow", action="store_true")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--verbose", action="store_true",
                    help="stormbench's per-second progress on stderr")
    args = ap.parse_args()
    gen = peers.compile_c("stormbench")
    peers.on_signals()
    table = []
    try:
        for rep in range(1, args.repeat + 1):
            got = {}
            for s in args.servers.split(","):
                got[s] = run(s, args, gen)
                peers.print_result("storm", got[s], rep, KEYS)
            table.append((rep, got))
    finally:
        peers.kill_all()
    print("# ratios: peer / berth; legit_p99 (successful logins only), "
          "legit_p99_all (failures as infinitely slow) and peak_*: above 1 "
          "berth better; attacker_checks: above 1 the peer let attackers "
          "try more")
    peers.print_ratios(
        [(f"run={rep} slow={int(args.slow)}", got) for rep, got in table],
        [("legit_p99", "legit_p99_ms"), ("legit_p99_all", "legit_p99_all_ms"),
         ("attacker_checks", "attacker_checks_per_s"),
         ("peak_pss", "peak_pss_kb"), ("peak_processes", "peak_processes")],
        [("legit_fail", "legit_fail")], ".3g")


if __name__ == "__main__":
    main()

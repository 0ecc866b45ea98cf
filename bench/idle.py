#!/usr/bin/env python3
"""IDLE benchmark: N parked sessions over U users on berth.

Reports server memory (sum of PSS over master and its descendants) before
and after the idlers connect, per idler, the process count, APPEND-to-
EXISTS latency at every idler, and the time to DONE+LOGOUT them all.

    bench/idle.py [N ...]        (default 1000 3000; run from the tree)

XXX(#3): the same run against Dovecot and Cyrus (PEERS.md) is not here
yet; this prints berth's figures only.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BUILD = os.environ.get("top_builddir", os.path.join(TOP, "build"))
os.environ["top_builddir"] = BUILD
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from conftest import Server  # noqa: E402

USERS = 50


def tree(pid):
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(p))
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def pss_kb(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for ln in f:
                    if ln.startswith("Pss:"):
                        total += int(ln.split()[1])
        except OSError:
            pass
    return total


def run(n):
    gen = os.path.join(BUILD, "idlebench")
    s = Server(prefork=4, maxchild=100,
               extra_conf="imapidlekeepalive: 10m\nidled_maxuser: 1000\n"
                          "idled_maxusernet: 1000\n")
    for u in range(USERS):
        s.add_user(f"user{u}", "pw")
    s.start()
    try:
        for u in range(USERS):
            s.connect(f"user{u}", "pw").logout()
        time.sleep(1)
        before = pss_kb(tree(s.proc.pid))
        p = subprocess.Popen([gen, "127.0.0.1", str(s.port), str(n),
                              str(USERS), "pw", "5"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        line = p.stdout.readline()
        if not line.startswith("idling"):
            bad = [ln for ln in s.logtext().splitlines()
                   if ": warning:" in ln or ": error:" in ln]
            raise RuntimeError("generator: " + line + "\n".join(bad[:20]))
        # the pool grown by the login burst shrinks back to prefork
        time.sleep(14)
        procs = tree(s.proc.pid)
        after = pss_kb(procs)
        out, _ = p.communicate("go\n", timeout=300)
        per = (after - before) * 1024 / n
        print(f"berth idlers={n} users={USERS} pss_before_kb={before} "
              f"pss_after_kb={after} bytes_per_idler={per:.0f} "
              f"processes={len(procs)}")
        for ln in out.splitlines():
            print(f"berth idlers={n} {ln}")
    finally:
        s.cleanup()


def main():
    gen = os.path.join(BUILD, "idlebench")
    subprocess.run(["cc", "-O2", "-Wall", "-o", gen,
                    os.path.join(HERE, "idlebench.c")], check=True)
    for n in [int(a) for a in sys.argv[1:]] or [1000, 3000]:
        run(n)


if __name__ == "__main__":
    main()

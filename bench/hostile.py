#!/usr/bin/env python3
"""Hostile-load benchmark: berth against Dovecot under the attacks of
a hostile client (slowloris, big pre-login literals, churn, a
pathological LIST), while a legitimate client logs in every 200 ms.

Owns: one run per server (bench/peers.py starts a fresh one each time)
of these load generators at once, each a process of its own (this file
with --gen KIND), all from loopback addresses, for --seconds:

  slow-pre    half lines before login ("a LOGIN userN" and no CRLF) and
              partial literals ("a LOGIN {64}" and a few of its bytes),
              one byte more every 10 s, reconnecting 1 s after a close
  slow-post   the same after a LOGIN: "b SELECT INB" and no CRLF
  big         "a LOGIN {60000000}" (and the LITERAL+ form): the bytes the
              server lets in, up to --big-mb each, then held
  churn       bursts of --churn-burst connections every 5 s that log in,
              SELECT INBOX and LOGOUT (the pool grows, then trims), and
              between them --churn-rate connections a second that only
              say LOGOUT; --churn-total connections in all
  list        one LOGIN, then LIST "" "*a*a*a*a*a*ab" against a mailbox
              named --list-len bytes of a's (made before the run)
  legit       every 200 ms a new connection from 127.3.0.1 that logs in
              as user0 and logs out; its latency is connect to the tagged
              OK, a NO/BAD/BYE/close or no OK within 15 s a failure

and the server's tree sampled once a second (sum of PSS, process count),
and for berth the Berkeley DB lockers (berthctl stats, else db5.3_stat -c)
before the run, at its peak and once its pool is back to its size before
the run (berth keeps a grown pool for maxidle, 60 s by default; waited
for up to POOL_SETTLE_S, reported as pool_settle_s).  For berth, where
the legitimate logins' time went, from its log: greeting to authd's
check done, and from there to the worker's login line (p50/p99), and how
many of them idled greeted for want of a ready worker.
HOSTILE_TRACE=FILE writes every legitimate login's phases (connect,
greeting, login, in ms, and when in the run it began) to FILE.SERVER.

    bench/hostile.py [--servers berth,dovecot] [--seconds 60]
                     [--slow-pre 300] [--slow-post 100] [--big 20]
                     [--big-mb 16] [--churn-burst 150]
                     [--churn-total 10000] [--churn-rate 100]
                     [--list-len 990]
                     [--maxchild 100] [--build DIR]

--build (or BENCH_BUILD, or top_builddir) is berth's build directory.
Targets, printed with the result: legit p99 under 50 ms, no legit
failures, lockers flat (no more after the run, once the pool is back,
than before it).  Output: key=value lines per server and a ratio
table (peer / berth: above 1 means berth is better).

Does not: tune either server for attacks; Dovecot keeps its mail in the
fs layout (maildir:...:LAYOUT=fs) so that a 990-byte hierarchical name
can exist at all (Maildir++ makes one directory of the whole name).
Bounds: every generator holds at most 15,000 connections (its fd limit
is 20,000), every connection's address is on 127/8, every generator
stops by itself at --seconds plus its drain time.
"""
import argparse
import asyncio
import os
import resource
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MAXCONN = 15000
FDMAX = 20000
PATTERN = b'"*a*a*a*a*a*ab"'
TARGET_P99_MS = 50
POOL_SETTLE_S = 240


def gen_src(kind_no, i):
    """the source address of a generator's i-th connection: a botnet,
    one address each, 250 to a /24"""
    return f"127.{10 + kind_no}.{i // 250 % 250}.{i % 250 + 1}"


# ---- generators (run as: hostile.py --gen KIND ...) ----------------------

class Stats(dict):
    def add(self, k, n=1):
        self[k] = self.get(k, 0) + n


async def g_open(a, src):
    """connect from src and read the greeting: (reader, writer) or None"""
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", a.port, local_addr=(src, 0), limit=1 << 20), 15)
    except (OSError, asyncio.TimeoutError):
        return None
    try:
        ln = await asyncio.wait_for(r.readline(), 30)
    except (OSError, asyncio.TimeoutError):
        ln = b""
    if not ln.startswith(b"* OK"):
        w.close()
        return None
    return r, w


async def g_until_tag(r, tag, timeout, bye_ends=True):
    """lines up to the tagged one: its line, b"" when closed, or the BYE
    (unless bye_ends is false: LOGOUT's comes before its OK)"""
    end = time.monotonic() + timeout
    while True:
        ln = await asyncio.wait_for(r.readline(),
                                    max(end - time.monotonic(), 0.01))
        if not ln or ln.startswith(tag + b" "):
            return ln
        if bye_ends and ln.startswith(b"* BYE"):
            return ln


async def g_hold(r, w, drip, st, deadline):
    """hold a connection, one more byte of drip every 10 s, until the
    deadline or the server closes (counted as closed_by_server)"""
    i = 0
    while time.monotonic() < deadline:
        try:
            ln = await asyncio.wait_for(r.readline(), min(
                10, max(deadline - time.monotonic(), 0.01)))
            if not ln:
                st.add("closed_by_server")
                return
            if ln.startswith(b"* BYE") or b" BAD" in ln[:12]:
                st.add("answered")
            continue
        except asyncio.TimeoutError:
            pass
        except OSError:
            st.add("closed_by_server")
            return
        if i < len(drip) and time.monotonic() < deadline:
            try:
                w.write(drip[i:i + 1])
                await w.drain()
            except OSError:
                st.add("closed_by_server")
                return
            i += 1


async def slow_one(a, i, st, deadline, post):
    """one slowloris: reconnects 1 s after each close until deadline"""
    src = gen_src(2 if post else 1, i)
    while time.monotonic() < deadline:
        c = await g_open(a, src)
        if c is None:
            st.add("no_greeting")
            await asyncio.sleep(1)
            continue
        r, w = c
        st.add("connected")
        try:
            if post:
                w.write(b"l LOGIN user%d pw\r\n" % (2 + i % (a.users - 2)))
                ln = await g_until_tag(r, b"l", 30)
                if not ln.startswith(b"l OK"):
                    st.add("login_failed")
                    w.close()
                    await asyncio.sleep(1)
                    continue
                w.write(b"b SELECT INB")
                drip = b"OXXXXXXXXXXXXXXXXXXXXX"
            elif i % 2 == 0:
                w.write(b"a LOGIN user%d" % (i % a.users))
                drip = b" pwxxxxxxxxxxxxxxxxxxxxxxxxxx"
            else:
                w.write(b"a LOGIN {64}\r\n")
                drip = b"u" * 50
            await w.drain()
            st.add("holding")
            await g_hold(r, w, drip, st, deadline)
        except (OSError, asyncio.TimeoutError):
            st.add("closed_by_server")
        w.close()
        if time.monotonic() < deadline:
            st.add("reconnects")
            await asyncio.sleep(1)


async def big_one(a, i, st, deadline):
    """one pre-login literal of 60,000,000 bytes: what the server lets in"""
    c = await g_open(a, gen_src(3, i))
    if c is None:
        st.add("no_greeting")
        return
    r, w = c
    plus = i % 2 == 1
    limit = a.big_mb << 20
    chunk = b"x" * 65536
    sent = 0
    try:
        w.write(b"a LOGIN {60000000%s}\r\n" % (b"+" if plus else b""))
        await w.drain()
        if not plus:
            ln = await asyncio.wait_for(r.readline(), 15)
            if not ln.startswith(b"+"):
                st.add("refused_at_once")
                w.close()
                return
            st.add("got_continuation")
        while sent < limit and time.monotonic() < deadline:
            w.write(chunk)
            await asyncio.wait_for(w.drain(), 5)
            sent += len(chunk)
    except (OSError, asyncio.TimeoutError):
        pass
    st.add("bytes_sent", sent)
    if sent >= limit:
        st.add("took_all")
        await g_hold(r, w, b"", st, deadline)
    else:
        st.add("stopped_early")
    w.close()


async def churn_one(a, i, st):
    c = await g_open(a, gen_src(4, i))
    if c is None:
        st.add("no_greeting")
        return
    r, w = c
    try:
        w.write(b"l LOGIN user%d pw\r\n" % (2 + i % (a.users - 2)))
        ln = await g_until_tag(r, b"l", 30)
        if not ln.startswith(b"l OK"):
            st.add("login_failed")
            return
        w.write(b"s SELECT INBOX\r\n")
        await g_until_tag(r, b"s", 30)
        await asyncio.sleep(0.5)	# all of a burst logged in at once
        w.write(b"z LOGOUT\r\n")
        await g_until_tag(r, b"z", 30)
        st.add("ok")
    except (OSError, asyncio.TimeoutError):
        st.add("failed")
    finally:
        w.close()


async def churn_short(a, i, st, sem):
    """a connection that only says LOGOUT"""
    async with sem:
        c = await g_open(a, gen_src(4, i))
        if c is None:
            st.add("short_refused")
            return
        r, w = c
        try:
            w.write(b"z LOGOUT\r\n")
            ln = await g_until_tag(r, b"z", 30, bye_ends=False)
            st.add("short_ok" if ln.startswith(b"z OK") else
                   "short_failed")
        except (OSError, asyncio.TimeoutError):
            st.add("short_failed")
        finally:
            w.close()


async def churn(a, st, deadline):
    """bursts of logins every 5 s, and --churn-rate short connections a
    second between them; --churn-total connections in all"""
    n = [0]
    sem = asyncio.Semaphore(200)

    async def bursts():
        while time.monotonic() < deadline and n[0] < a.churn_total:
            k = min(a.count, a.churn_total - n[0])
            first, t0 = n[0], time.monotonic()
            n[0] += k
            await asyncio.gather(*(churn_one(a, first + j, st)
                                   for j in range(k)))
            st.add("bursts")
            await asyncio.sleep(max(5 - (time.monotonic() - t0), 0.5))

    async def shorts():
        tasks, nxt = [], time.monotonic()
        while a.churn_rate > 0 and time.monotonic() < deadline and \
                n[0] < a.churn_total:
            n[0] += 1
            tasks.append(asyncio.ensure_future(churn_short(a, n[0], st,
                                                           sem)))
            nxt += 1 / a.churn_rate
            await asyncio.sleep(max(nxt - time.monotonic(), 0))
        if tasks:
            await asyncio.gather(*tasks)

    await asyncio.gather(bursts(), shorts())
    st["connections"] = n[0]


async def list_run(a, st, deadline):
    c = await g_open(a, "127.9.0.1")
    if c is None:
        st["result"] = "no_greeting"
        return
    r, w = c
    w.write(b"l LOGIN user1 pw\r\n")
    if not (await g_until_tag(r, b"l", 30)).startswith(b"l OK"):
        st["result"] = "login_failed"
        return
    await asyncio.sleep(5)		# the other attacks are under way
    t0 = time.monotonic()
    w.write(b'p LIST "" ' + PATTERN + b"\r\n")
    try:
        ln = await g_until_tag(r, b"p", max(deadline - time.monotonic(),
                                            30))
        st["ms"] = round((time.monotonic() - t0) * 1000, 1)
        st["result"] = ln[2:].split(b" ", 1)[0].decode() if ln else "closed"
    except asyncio.TimeoutError:
        st["ms"] = "timeout"
        st["result"] = "timeout"
    w.close()


def legit(a):
    """every 200 ms, a thread: connect, LOGIN user0, LOGOUT; besides the
    latency, the phases of the slow ones (connect, greeting, login) and
    when in the run they started, to tell what the time went on"""
    lat, fails, lock = [], {}, threading.Lock()
    phases, start = [], time.monotonic()

    def one():
        t0 = time.monotonic()
        why = None
        tc = tg = t0
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(15)
            s.bind(("127.3.0.1", 0))
            s.connect(("127.0.0.1", a.port))
            tc = time.monotonic()
            f = s.makefile("rb")
            g = f.readline()
            tg = time.monotonic()
            if not g.startswith(b"* OK"):
                why = "bye" if g.startswith(b"* BYE") else "closed"
            else:
                s.sendall(b"a LOGIN user0 pw\r\n")
                while why is None:
                    ln = f.readline()
                    if not ln:
                        why = "closed"
                    elif ln.startswith(b"a OK"):
                        break
                    elif ln.startswith(b"a "):
                        why = "no"
                    elif ln.startswith(b"* BYE"):
                        why = "bye"
                    elif time.monotonic() - t0 > 15:
                        why = "timeout"
            took = time.monotonic() - t0
            if why is None:
                s.sendall(b"z LOGOUT\r\n")
            s.close()
        except socket.timeout:
            why = "timeout"
        except OSError:
            why = "refused"
        with lock:
            if why is None:
                lat.append(took * 1000)
                phases.append((took * 1000, t0 - start, (tc - t0) * 1000,
                               (tg - tc) * 1000, (t0 + took - tg) * 1000))
            else:
                fails[why] = fails.get(why, 0) + 1

    threads, t_end = [], time.monotonic() + a.seconds
    nxt = time.monotonic()
    while nxt < t_end:
        t = threading.Thread(target=one, daemon=True)
        t.start()
        threads.append(t)
        nxt += 0.2
        time.sleep(max(nxt - time.monotonic(), 0))
    for t in threads:
        t.join(timeout=20)
    lat.sort()
    out = {"legit_attempts": len(threads), "legit_ok": len(lat),
           "legit_fail": sum(fails.values())}
    for k in ("no", "bye", "closed", "refused", "timeout"):
        out[f"legit_fail_{k}"] = fails.get(k, 0)
    if lat:
        out["legit_p50_ms"] = f"{lat[len(lat) // 2]:.1f}"
        out["legit_p99_ms"] = f"{lat[len(lat) * 99 // 100]:.1f}"
        out["legit_max_ms"] = f"{lat[-1]:.1f}"
        # the slowest three: at=second of the run, then connect (accept
        # queue, SYN retries), greeting (a worker took it, authd admitted
        # it), login (authd, the check, the store) in ms
        trace = os.environ.get("HOSTILE_TRACE")
        if trace:
            with open(trace, "w") as f:
                for p in sorted(phases, key=lambda p: p[1]):
                    f.write("at=%.2f total=%.1f connect=%.1f greet=%.1f "
                            "login=%.1f\n" % (p[1], p[0], p[2], p[3], p[4]))
        phases.sort(reverse=True)
        out["legit_slowest"] = ",".join(
            f"at{p[1]:.1f}s:{p[2]:.0f}/{p[3]:.0f}/{p[4]:.0f}"
            for p in phases[:3])
    return out


# the counts each generator reports even when nothing happened
ZERO = {"slow-pre": ("connected", "no_greeting", "holding", "answered",
                     "closed_by_server", "reconnects"),
        "slow-post": ("connected", "no_greeting", "login_failed", "holding",
                      "answered", "closed_by_server", "reconnects"),
        "big": ("no_greeting", "got_continuation", "refused_at_once",
                "bytes_sent", "took_all", "stopped_early", "answered",
                "closed_by_server"),
        "churn": ("ok", "no_greeting", "login_failed", "failed", "bursts",
                  "short_ok", "short_refused", "short_failed")}


def generator(a):
    resource.setrlimit(resource.RLIMIT_NOFILE, (FDMAX, FDMAX))
    if a.count > MAXCONN:
        sys.exit(f"hostile: at most {MAXCONN} connections a generator")
    if a.gen == "legit":
        res = legit(a)
    else:
        st = Stats((k, 0) for k in ZERO.get(a.gen, ()))
        deadline = time.monotonic() + a.seconds

        async def main():
            if a.gen in ("slow-pre", "slow-post"):
                await asyncio.gather(*(slow_one(a, i, st, deadline,
                                                a.gen == "slow-post")
                                       for i in range(a.count)))
            elif a.gen == "big":
                await asyncio.gather(*(big_one(a, i, st, deadline)
                                       for i in range(a.count)))
            elif a.gen == "churn":
                await churn(a, st, deadline)
            elif a.gen == "list":
                await list_run(a, st, deadline + 120)
        asyncio.run(main())
        res = {f"{a.gen.replace('-', '_')}_{k}": v for k, v in st.items()}
    print(" ".join(f"{k}={v}" for k, v in res.items()), flush=True)


# ---- the orchestrator ----------------------------------------------------

class Sampler(threading.Thread):
    """PSS and process count of a tree, and berth's lockers, about once a
    second"""

    def __init__(self, pid, lockers):
        super().__init__(daemon=True)
        self.pid, self.lockers, self.stop_ev = pid, lockers, threading.Event()
        self.peak_kb = self.peak_procs = self.peak_lockers = 0

    def run(self):
        n = 0
        while not self.stop_ev.is_set():
            t = peers.tree(self.pid)
            self.peak_kb = max(self.peak_kb, peers.pss_kb(t))
            self.peak_procs = max(self.peak_procs, len(t))
            if self.lockers and n % 5 == 0:
                cur = self.lockers().get("current", 0)
                self.peak_lockers = max(self.peak_lockers, cur)
            n += 1
            self.stop_ev.wait(1.0)

    def stop(self):
        self.stop_ev.set()
        self.join(timeout=30)


def berth_lockers(peer):
    """{"current": n, "max": n, "possible": n}: berthctl stats, or
    db5.3_stat -c on berth's store where berthctl has no stats"""
    try:
        out = subprocess.run([os.path.join(peers.BUILD, "tools", "berthctl"),
                              "-C", peer.server.conf, "stats"],
                             capture_output=True, text=True, timeout=20)
        kv = peers.kv(out.stdout)
        if out.returncode == 0 and "lockers" in kv:
            return {"current": int(kv["lockers"]),
                    "max": int(kv.get("lockers_hwm", -1)),
                    "possible": int(kv.get("lockers_max", -1))}
    except (OSError, subprocess.TimeoutExpired, ValueError):
        pass
    env = os.path.join(peer.dir, "conf", "db")
    try:
        out = subprocess.run(["db5.3_stat", "-c", "-h", env],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    got = {}
    for ln in out.stdout.splitlines():
        w = ln.split("\t", 1)
        if len(w) != 2:
            continue
        if w[1] == "Number of current lockers":
            got["current"] = int(w[0])
        elif w[1] == "Maximum number of lockers at any one time":
            got["max"] = int(w[0])
        elif w[1] == "Maximum number of lockers possible":
            got["possible"] = int(w[0])
    return got


def log_ms(line):
    """the time of day of a log line ("HH:MM:SS.mmm ...") in ms, or None"""
    try:
        h, m, s = line.split(" ", 1)[0].split(":")
        return (int(h) * 3600 + int(m) * 60 + float(s)) * 1000
    except ValueError:
        return None


def berth_phases(log):
    """where berth's time went in the legitimate logins (127.3.0.1), from
    its log, by session: greeted (the connect line: by a worker, or by
    idled when none was ready, front=idled), authd's check done (login
    ok), and a worker's login line (the session set up); p50/p99 of each
    step in ms, and how many idled greeted"""
    ses = {}
    for ln in log.splitlines():
        i = ln.find("session=")
        if i < 0:
            continue
        sid, t = ln[i + 8:].split(" ", 1)[0], log_ms(ln)
        if t is None:
            continue
        if "connect addr=127.3.0.1 " in ln:
            ses[sid] = {"c": t, "front": "front=idled" in ln}
        elif sid not in ses:
            continue
        elif "login ok user=user0 " in ln:
            ses[sid]["a"] = t
        elif "login user=user0 addr=127.3.0.1 " in ln:
            ses[sid]["l"] = t
    done = [v for v in ses.values() if "a" in v and "l" in v]
    out = {"legit_front_greeted": sum(1 for v in ses.values()
                                      if v["front"])}
    for key, a, b in (("greet_to_checked", "c", "a"),
                      ("checked_to_worker", "a", "l")):
        xs = sorted(v[b] - v[a] for v in done)
        if xs:
            out[f"legit_{key}_p50_ms"] = f"{xs[len(xs) // 2]:.0f}"
            out[f"legit_{key}_p99_ms"] = f"{xs[len(xs) * 99 // 100]:.0f}"
    return out


def make_list_mailbox(peer, length):
    """a mailbox of about length bytes of a's (hierarchy levels of at most
    200): its length, 0 if the server refused it"""
    import imaplib
    c = imaplib.IMAP4("127.0.0.1", peer.port, timeout=30)
    try:
        c.login("user1", "pw")
        typ, data = c.list('""', '""')
        sep = "/"
        if typ == "OK" and data and data[0]:
            d = data[0].decode().split('"')
            if len(d) >= 3 and len(d[1]) == 1:
                sep = d[1]
        parts, n = [], 0
        while n < length:
            k = min(200, length - n - (1 if parts else 0))
            if k <= 0:
                break
            parts.append("a" * k)
            n += k + (1 if len(parts) > 1 else 0)
        name = sep.join(parts)
        typ, _ = c.create(name)
        return len(name) if typ == "OK" else 0
    finally:
        try:
            c.logout()
        except Exception:
            pass


def run(name, args, me):
    kw = {"users": args.users, "password": "pw"}
    if name == "berth":
        kw["maxchild"] = args.maxchild
    peer = peers.make(name, **kw)
    res = {"server": name}
    procs, sampler = [], None
    lockers = (lambda: berth_lockers(peer)) if name == "berth" else None
    try:
        peer.start()
        peer.login_all()
        res["list_name_len"] = make_list_mailbox(peer, args.list_len)
        time.sleep(14 if name == "berth" else 3)
        peers.settle(peer.pid, quiet=4, limit=60)
        t = peer.tree()
        res["processes_before"], res["pss_before_kb"] = len(t), \
            peers.pss_kb(t)
        if lockers:
            lk = lockers()
            res["lockers_before"] = lk.get("current", "?")
            res["lockers_possible"] = lk.get("possible", "?")
        sampler = Sampler(peer.pid, lockers)
        sampler.start()
        gens = [("legit", 1), ("slow-pre", args.slow_pre),
                ("slow-post", args.slow_post), ("big", args.big),
                ("churn", args.churn_burst)]
        if res["list_name_len"]:
            gens.append(("list", 1))
        for kind, n in gens:
            if n <= 0:
                continue
            env = dict(os.environ)
            if env.get("HOSTILE_TRACE"):
                env["HOSTILE_TRACE"] += "." + name
            procs.append(subprocess.Popen(
                [sys.executable, me, "--gen", kind, "--port", str(peer.port),
                 "--seconds", str(args.seconds), "--count", str(n),
                 "--users", str(args.users), "--big-mb", str(args.big_mb),
                 "--churn-total", str(args.churn_total),
                 "--churn-rate", str(args.churn_rate)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True, env=env))
        for p in procs:
            out, _ = p.communicate(timeout=args.seconds + 240)
            for ln in out.splitlines():
                res.update(peers.kv(ln))
        procs = []
        sampler.stop()
        res["peak_pss_kb"] = sampler.peak_kb
        res["peak_processes"] = sampler.peak_procs
        # berth keeps a pool grown by the churn for maxidle (master.conf,
        # 60 s by default), then stops one worker a second: lockers are
        # compared once it is back where it started (each live worker
        # holds its own), waited for up to POOL_SETTLE_S
        t0 = time.time()
        while (time.time() - t0 < POOL_SETTLE_S and
               len(peer.tree()) > res["processes_before"]):
            time.sleep(2)
        res["pool_settle_s"] = round(time.time() - t0)
        res["processes_after"] = peers.settle(peer.pid, quiet=5, limit=60)
        if name == "berth":
            res.update(berth_phases(peer.server.logtext()))
        if lockers:
            lk = lockers()
            res["lockers_peak"] = max(sampler.peak_lockers,
                                      lk.get("current", 0))
            res["lockers_after"] = lk.get("current", "?")
            res["lockers_max_ever"] = lk.get("max", "?")
        res["log_warnings"] = len(peer.warnings())
        kinds = {}
        for ln in peer.warnings():
            kinds.setdefault(ln.split(": ", 2)[-1][:60], ln)
        res["_warn"] = list(kinds.values())[:8]
    except Exception as e:
        res["error"] = str(e).replace("\n", " | ")[:600]
    finally:
        if sampler:
            sampler.stop()
        for p in procs:
            p.kill()
            p.wait()
        peer.stop()
    return res


def verdict(r):
    """the targets, as met=yes/no words"""
    try:
        p99 = float(r.get("legit_p99_ms", "inf"))
    except ValueError:
        p99 = float("inf")
    nofail = str(r.get("legit_fail")) == "0"
    words = [f"target_p99={'yes' if p99 < TARGET_P99_MS else 'no'}",
             f"target_no_fail={'yes' if nofail else 'no'}"]
    if "lockers_after" in r:
        # flat: none left over once the pool is back (a pool that ends
        # smaller than it began holds fewer)
        try:
            flat = int(r["lockers_after"]) <= int(r["lockers_before"])
        except (TypeError, ValueError):
            flat = False
        words.append(f"target_lockers_flat={'yes' if flat else 'no'}")
    return " ".join(words)


KEYS = ["seconds", "legit_attempts", "legit_ok", "legit_fail",
        "legit_fail_no", "legit_fail_bye", "legit_fail_closed",
        "legit_fail_refused", "legit_fail_timeout", "legit_p50_ms",
        "legit_p99_ms", "legit_max_ms", "legit_slowest",
        "processes_before", "pss_before_kb",
        "legit_front_greeted", "legit_greet_to_checked_p50_ms",
        "legit_greet_to_checked_p99_ms", "legit_checked_to_worker_p50_ms",
        "legit_checked_to_worker_p99_ms",
        "peak_processes", "peak_pss_kb", "pool_settle_s", "processes_after",
        "lockers_before",
        "lockers_peak", "lockers_after", "lockers_max_ever",
        "lockers_possible", "list_name_len", "list_ms", "list_result",
        "slow_pre_connected", "slow_pre_no_greeting", "slow_pre_holding",
        "slow_pre_closed_by_server", "slow_pre_answered",
        "slow_pre_reconnects", "slow_post_connected",
        "slow_post_no_greeting", "slow_post_login_failed",
        "slow_post_answered",
        "slow_post_closed_by_server", "big_got_continuation",
        "big_refused_at_once", "big_bytes_sent", "big_took_all",
        "big_stopped_early", "big_closed_by_server", "big_no_greeting",
        "churn_bursts", "churn_connections", "churn_ok",
        "churn_login_failed", "churn_failed", "churn_no_greeting",
        "churn_short_ok", "churn_short_failed", "churn_short_refused",
        "log_warnings", "error"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", default="berth,dovecot")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--slow-pre", type=int, default=300)
    ap.add_argument("--slow-post", type=int, default=100)
    ap.add_argument("--big", type=int, default=20)
    ap.add_argument("--big-mb", type=int, default=16)
    ap.add_argument("--churn-burst", type=int, default=150)
    ap.add_argument("--churn-total", type=int, default=10000)
    ap.add_argument("--churn-rate", type=int, default=100)
    ap.add_argument("--list-len", type=int, default=990)
    ap.add_argument("--maxchild", type=int, default=100)
    ap.add_argument("--build", default=None)
    ap.add_argument("--gen", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.gen:
        generator(args)
        return
    for n in ("slow_pre", "slow_post", "big", "churn_burst", "churn_rate"):
        if not 0 <= getattr(args, n) <= MAXCONN:
            sys.exit(f"hostile: --{n.replace('_', '-')} 0..{MAXCONN}")
    if args.users < 3 or not 1 <= args.seconds <= 3600:
        sys.exit("hostile: --users at least 3, --seconds 1..3600")
    build = args.build or os.environ.get("BENCH_BUILD")
    if build:
        os.environ["top_builddir"] = os.path.abspath(build)
    global peers
    sys.path.insert(0, HERE)
    import peers  # noqa: E402
    # a 990-byte hierarchical name needs Dovecot's fs layout
    peers.DOVECOT_CONF = peers.DOVECOT_CONF.replace(
        "mail_location = maildir:{d}/mail/%u",
        "mail_location = maildir:{d}/mail/%u:LAYOUT=fs")
    peers.on_signals()
    me = os.path.abspath(__file__)
    print(f"# targets: legit p99 < {TARGET_P99_MS} ms, 0 legit failures, "
          "lockers flat (after <= before); berth maxchild="
          f"{args.maxchild}", flush=True)
    got = {}
    try:
        for s in args.servers.split(","):
            got[s] = run(s, args, me)
            got[s]["seconds"] = args.seconds
            peers.print_result("hostile", got[s], 1, KEYS)
            print(f"# {s}: {verdict(got[s])}", flush=True)
    finally:
        peers.kill_all()
    print("# ratios: peer / berth; legit_p99, peak_* and list: above 1 "
          "berth better")
    peers.print_ratios(
        [("run=1", got)],
        [("legit_p99", "legit_p99_ms"), ("legit_max", "legit_max_ms"),
         ("peak_pss", "peak_pss_kb"), ("peak_processes", "peak_processes"),
         ("list", "list_ms")],
        [("legit_fail", "legit_fail")], ".3g")


peers = None

if __name__ == "__main__":
    main()

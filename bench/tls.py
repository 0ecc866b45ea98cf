#!/usr/bin/env python3
"""TLS benchmark: IMAPS handshakes and parked IDLE sessions over TLS,
berth beside Dovecot (hibernation off and on), in the same run.

Owns, per server, each freshly started (bench/peers.py) with the same
self-signed RSA-2048 certificate and an implicit-TLS port:
  - full handshakes per second (after --warmup seconds of them, not
    counted): P client processes of T threads for S
    seconds, each thread connecting, completing the TLS handshake,
    reading the IMAP greeting and closing, one after another, from
    rotating 127.x.y.z addresses (P x T connections in flight); also the
    time from connect to greeting (p50/p99);
  - resumed handshakes per second: the same, each connection offering
    the session ticket of the previous one; counted are connections the
    server resumed (resumed_pct says how many of them did);
  - N parked IDLE sessions over TLS (default 1000 and 5000; --with-8000
    adds 8000): server memory per session (PSS of the whole server tree
    after the sessions idle and the tree settles, minus before), process
    count, APPEND->EXISTS latency at every idler over several rounds
    (p50/p99/max; missed = no EXISTS within 10 s of its user's APPEND),
    and what it is made of: the APPEND itself (append_p50/p99_ms) and
    from its OK to the EXISTS (ok_exists_p50/p99_ms), and how far apart
    the first and last EXISTS of a round came (spread_ms).  The client
    is bench/idlebench in C with TLS idlers (epoll; a process per
    --per-proc idlers, default 2,500: a process may hold 20,000 fds, and
    one process reading thousands of TLS sockets must not be what is
    measured); the APPENDs come from its parent over the plaintext port.

    bench/tls.py [--servers berth,dovecot,dovecot-hib] [--seconds 10]
                 [--warmup 3]
                 [--procs 2] [--threads 8] [--users 50] [--rounds 5] [--tlsd 2]
                 [--per-proc 2500]
                 [--with-8000] [--peer-max 5000] [--no-handshakes]
                 [--no-idle] [N ...]

Output: key=value lines per server and test, then a table and ratio
lines, each ratio oriented so that above 1 means berth does better.
Bounded: handshakes S seconds per kind, IDLE setup 300 s, rounds 12 s
each; everything it started is stopped on exit (peers.kill_all).

Does not: tune berth beyond what bench/peers.py gives it, plus its TLS
keys and the tlsd service.
"""
import argparse
import multiprocessing as mp
import os
import select
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

ALL = ["berth", "dovecot", "dovecot-hib"]


# ---- the certificate -----------------------------------------------------

def certificate():
    """a self-signed RSA-2048 certificate and key, made once per build
    tree; (cert, key) paths readable by every server"""
    d = os.path.join(peers.CACHE, "tls")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    if not os.path.exists(cert):
        os.makedirs(d, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", key, "-out", cert, "-days",
                        "365", "-subj", "/CN=localhost"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(d, 0o755)
        os.chmod(cert, 0o644)
        os.chmod(key, 0o644)
    return cert, key


# ---- the servers, with TLS -----------------------------------------------

class DovecotTLS(peers.Dovecot):
    """peers.Dovecot plus ssl = yes and an implicit-TLS listener"""

    def __init__(self, hibernate=False, **kw):
        super().__init__(hibernate=hibernate, **kw)
        self.tls_port = peers.free_port()

    def _start(self):
        cert, key = certificate()
        orig = peers.DOVECOT_CONF
        conf = orig.replace("ssl = no\n", f"ssl = yes\nssl_cert = <{cert}\n"
                            f"ssl_key = <{key}\n")
        listener = "  inet_listener imap {{\n"
        conf = conf.replace(listener, (
            "  inet_listener imaps {{\n    address = 127.0.0.1\n"
            f"    port = {self.tls_port}\n    ssl = yes\n  }}}}\n") +
            listener)
        if conf.count("imaps") != 1 or "ssl = yes" not in conf:
            raise RuntimeError("peers.DOVECOT_CONF changed; fix tls.py")
        peers.DOVECOT_CONF = conf
        try:
            super()._start()
        finally:
            peers.DOVECOT_CONF = orig


class BerthTLS(peers.Berth):
    """peers.Berth plus tlsd on an implicit-TLS port (master.conf service
    "imaps", --tlsd processes) and the certificate"""

    def __init__(self, tlsd=2, **kw):
        cert, key = certificate()
        kw["extra_conf"] = kw.get("extra_conf", "") + (
            f"tls_server_cert: {cert}\ntls_server_key: {key}\n")
        super().__init__(**kw)
        self.tls_port = peers.free_port()
        self.tlsd = tlsd

    def _start(self):
        me, orig = self, peers.Server

        class Server(orig):
            def start(self, wait=True):
                self.write_master(extra=(
                    f'  imaps cmd="tlsd" listen="127.0.0.1:{me.tls_port}" '
                    f'prefork={me.tlsd} maxchild={me.tlsd} maxfds=20000 '
                    f'handoff="{self.dir}/conf/socket/tlsd"\n'))
                return orig.start(self, wait)
        peers.Server = Server
        try:
            super()._start()
        finally:
            peers.Server = orig


def make(name, **kw):
    if name == "berth":
        return BerthTLS(tlsd=kw.pop("tlsd", 2), **kw)
    kw.pop("tlsd", None)
    return DovecotTLS(hibernate=name == "dovecot-hib", **kw)


def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def wait_tls_greeting(port, timeout=30):
    """until the implicit-TLS port greets"""
    end = time.time() + timeout
    err = None
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), 5) as s:
                with client_ctx().wrap_socket(s) as t:
                    if t.recv(100).startswith(b"* OK"):
                        return
        except OSError as e:
            err = e
        time.sleep(0.3)
    raise RuntimeError(f"no TLS greeting on {port}: {err}")


# ---- handshakes per second -----------------------------------------------

def read_greeting(t):
    buf = b""
    while b"\r\n" not in buf:
        d = t.recv(512)
        if not d:
            raise EOFError
        buf += d
    if not buf.startswith(b"* OK"):
        raise RuntimeError(buf[:80])


def hs_thread(port, end, resume, src_base, out):
    """handshakes one after another until end; appends to out: ok,
    resumed, errors, and the seconds from connect to greeting of each"""
    ctx = client_ctx()
    sess = None
    i = 0
    while time.monotonic() < end:
        i += 1
        src = f"{src_base}.{i % 250 + 1}"
        t0 = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), 10,
                                          source_address=(src, 0)) as s:
                with ctx.wrap_socket(s, session=sess if resume else None
                                     ) as t:
                    read_greeting(t)
                    out["ok"] += 1
                    out["resumed"] += t.session_reused
                    out["lat"].append(time.monotonic() - t0)
                    if resume:
                        sess = t.session
        except (OSError, EOFError, RuntimeError, ssl.SSLError):
            out["errors"] += 1
            sess = None


def hs_worker(port, seconds, resume, pno, threads, q):
    """one client process: threads connections at a time (the handshake
    and the reads release the GIL), for seconds"""
    import threading
    outs = [{"ok": 0, "resumed": 0, "errors": 0, "lat": []}
            for _ in range(threads)]
    end = time.monotonic() + seconds
    ts = [threading.Thread(target=hs_thread, args=(
        port, end, resume, f"127.{20 + pno}.{k}", outs[k]))
        for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    q.put((sum(o["ok"] for o in outs), sum(o["resumed"] for o in outs),
           sum(o["errors"] for o in outs),
           [x for o in outs for x in o["lat"]]))


def cpu_by_prog(pids):
    """{program: CPU seconds so far} over pids (utime + stime), and
    "exited": those of their children reaped so far"""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        f = st.rsplit(")", 1)[1].split()
        out[comm] = out.get(comm, 0) + (int(f[11]) + int(f[12])) / tick
        # children that exited meanwhile (imapd after its last session)
        # count in their parent's cutime/cstime once reaped
        out["exited"] = out.get("exited", 0) + (int(f[13]) +
                                                int(f[14])) / tick
    return out


def tls_facts(port):
    """what a handshake with the server negotiates, as the bench's client
    (Python's ssl: OpenSSL's defaults) sees it, plus the key exchange
    group and signature from openssl s_client with the same defaults:
    {"tls_version", "tls_cipher", "tls_group", "tls_sig", "tls_key"}"""
    out = {}
    with socket.create_connection(("127.0.0.1", port), 10) as s:
        with client_ctx().wrap_socket(s) as t:
            read_greeting(t)
            out["tls_version"] = t.version()
            out["tls_cipher"] = t.cipher()[0]
    r = subprocess.run(["openssl", "s_client", "-connect",
                        f"127.0.0.1:{port}", "-brief"],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=20)
    for ln in r.stderr.splitlines() + r.stdout.splitlines():
        k, _, v = ln.partition(":")
        v = v.strip().replace(" ", "")
        if k in ("Server Temp Key", "Negotiated TLS1.3 group"):
            out["tls_group"] = v
        elif k == "Peer signature type":
            out["tls_sig"] = v
    r = subprocess.run(["openssl", "x509", "-noout", "-text", "-in",
                        certificate()[0]], capture_output=True, text=True)
    for ln in r.stdout.splitlines():
        if "Public Key Algorithm" in ln or "Public-Key:" in ln:
            out["tls_key"] = (out.get("tls_key", "") + ln.split(":")[-1]
                              .strip().replace(" ", ""))
    return out


def hs_perf_start(peer, kind):
    """BENCH_PERF=DIR: perf record -a -g over a handshake phase into
    DIR/<server>-hs-<kind>.data (the server's functions by process:
    perf report --comm tlsd); or None"""
    d = os.environ.get("BENCH_PERF")
    if not d:
        return None
    os.makedirs(d, exist_ok=True)
    return subprocess.Popen(["perf", "record", "-q", "-a", "-g", "-F",
                             "999", "-o",
                             os.path.join(d, f"{peer.name}-hs-{kind}.data")],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def handshakes(peer, seconds, procs, threads, resume):
    """one kind of handshake for seconds; rates, latencies and the
    server's CPU per handshake by program"""
    port = peer.tls_port
    key = "resumed" if resume else "full"
    prof = hs_perf_start(peer, key)
    cpu0 = cpu_by_prog(peer.tree())
    q = mp.Queue()
    ps = [mp.Process(target=hs_worker, args=(port, seconds, resume, i,
                                             threads, q))
          for i in range(procs)]
    t0 = time.monotonic()
    for p in ps:
        p.start()
    got = [q.get(timeout=seconds + 60) for _ in ps]
    el = time.monotonic() - t0
    for p in ps:
        p.join(10)
    ok = sum(g[0] for g in got)
    res = sum(g[1] for g in got)
    err = sum(g[2] for g in got)
    lat = [x for g in got for x in g[3]]
    cpu1 = cpu_by_prog(peer.tree())
    perf_stop(prof)
    used = {c: cpu1[c] - cpu0.get(c, 0) for c in cpu1}
    out = {f"hs_{key}_per_s": round((res if resume else ok) / el, 1),
           f"hs_{key}_errors": err}
    if lat:
        out[f"hs_{key}_p50_ms"] = round(pct(lat, 0.5) * 1000, 1)
        out[f"hs_{key}_p99_ms"] = round(pct(lat, 0.99) * 1000, 1)
    if resume:
        out["hs_resumed_pct"] = round(100.0 * res / max(ok, 1), 1)
    out[f"hs_{key}_load_avg"] = os.getloadavg()[0]
    out[f"hs_{key}_cpu_us"] = round(sum(used.values()) * 1e6 / max(ok, 1))
    out[f"hs_{key}_cpu_us_by_prog"] = ",".join(
        f"{c}:{round(v * 1e6 / max(ok, 1))}" for c, v in
        sorted(used.items()) if v > 0)
    return out


# ---- parked IDLE sessions over TLS ---------------------------------------

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


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else None


def perf_start(peer, n):
    """BENCH_PERF=DIR: perf record -a -g over the rounds into
    DIR/<server>-<n>.data (what the APPENDs and the fan-out cost, by
    process and function, the client's share included); or None"""
    d = os.environ.get("BENCH_PERF")
    if not d:
        return None
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, f"{peer.name}-{n}.data")
    return subprocess.Popen(["perf", "record", "-q", "-a", "-g", "-F",
                             "499", "-o", out], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def perf_stop(prof):
    if prof is not None:
        prof.send_signal(2)
        prof.wait(60)


def idle_test(peer, n, args):
    """bench/idlebench with its idlers on the TLS port (C, epoll, one
    process per --per-proc idlers), its APPENDs over plaintext"""
    res = {}
    gen = peers.compile_c("idlebench")
    time.sleep(3)
    peers.settle(peer.pid, quiet=4, limit=60)
    before = peer.tree()
    res["pss_before_kb"] = peers.pss_kb(before)
    res["processes_before"] = len(before)
    p = subprocess.Popen([gen, "127.0.0.1", str(peer.port), str(n),
                          str(args.users), "pw", str(args.rounds),
                          str(args.per_proc), str(peer.tls_port)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         bufsize=0)
    try:
        line = readline(p, 400)
        if not line.startswith("idling"):
            raise RuntimeError(f"idlebench: {line!r}")
        res["idling"] = int(line.split()[1])
        got = peers.kv(readline(p, 10))
        res["setup_failed"] = got.get("setup_failed")
        res["setup_s"] = got.get("setup_s")
        res["client_processes"] = got.get("processes")
        # Dovecot hibernates after 2 s; berth's pool grown by the logins
        # shrinks back to prefork once maxidle (master.conf, default 60 s)
        # has passed, one worker a second: measured in that steady state
        time.sleep(12)
        t0 = time.time()
        while (peer.name == "berth" and time.time() - t0 < 240 and
               len(peer.tree()) > res["processes_before"]):
            time.sleep(2)
        res["pool_settle_s"] = round(time.time() - t0)
        peers.settle(peer.pid, quiet=5, limit=60)
        procs = peer.tree()
        res["pss_after_kb"] = peers.pss_kb(procs)
        res["processes"] = len(procs)
        res["bytes_per_session"] = round(
            (res["pss_after_kb"] - res["pss_before_kb"]) * 1024 /
            max(res["idling"], 1))
        res["load_avg"] = os.getloadavg()[0]
        # the server's CPU over the rounds, by program: what the APPENDs
        # and the fan-out of their EXISTS cost
        cpu0 = cpu_by_prog(peer.tree())
        ccpu0 = cpu_by_prog(peers.tree(p.pid))
        prof = perf_start(peer, n)
        p.stdin.write(b"go\n")
        out = ""
        while "rounds=" not in out:     # the logouts come after
            ln = readline(p, args.rounds * 16 + 30)
            if not ln:
                raise RuntimeError("idlebench: no result")
            out += ln
        cpu1 = cpu_by_prog(peer.tree())
        ccpu1 = cpu_by_prog(peers.tree(p.pid))
        perf_stop(prof)
        res["rounds_client_cpu_ms"] = round(
            (ccpu1.get("idlebench", 0) - ccpu0.get("idlebench", 0)) * 1000)
        out = out.encode() + p.communicate(timeout=90)[0]
        p = None
        res["rounds_cpu_ms_by_prog"] = ",".join(
            f"{c}:{round((v - cpu0.get(c, 0)) * 1000)}" for c, v in
            sorted(cpu1.items()) if v - cpu0.get(c, 0) > 0)
        for ln in out.decode().splitlines():
            res.update(peers.kv(ln))
        res["load_avg_end"] = os.getloadavg()[0]
    finally:
        if p is not None:
            p.kill()
            p.wait()
    return res


# ---- the run -------------------------------------------------------------

def run(name, args, n=None):
    peer = make(name, users=args.users, password="pw", tlsd=args.tlsd)
    res = {"server": name}
    try:
        peer.start()
        wait_tls_greeting(peer.tls_port)
        peer.login_all()
        if n is None:
            # warm-up, not counted: every server's pools and caches as in
            # steady state (berth's worker pool grows to the connections
            # in flight, Dovecot's imap-login to process_min_avail)
            handshakes(peer, args.warmup, args.procs, args.threads, False)
            res.update(tls_facts(peer.tls_port))
            for resume in (False, True):
                res.update(handshakes(peer, args.seconds, args.procs,
                                      args.threads, resume))
        else:
            res["sessions"] = n
            res.update(idle_test(peer, n, args))
        w = peer.warnings()
        res["log_warnings"] = len(w)
        res["_warn"] = w[:6]
    except Exception as e:
        res["error"] = (str(e) or repr(e)).replace("\n", " | ")[:600]
    finally:
        peer.stop()
    return res


HS_KEYS = ["tls_version", "tls_cipher", "tls_group", "tls_sig", "tls_key",
           "hs_full_per_s", "hs_full_load_avg", "hs_resumed_load_avg", "hs_full_p50_ms", "hs_full_p99_ms",
           "hs_full_errors", "hs_full_cpu_us", "hs_full_cpu_us_by_prog",
           "hs_resumed_per_s", "hs_resumed_pct", "hs_resumed_p50_ms",
           "hs_resumed_p99_ms", "hs_resumed_errors", "hs_resumed_cpu_us",
           "hs_resumed_cpu_us_by_prog", "log_warnings", "error"]
IDLE_KEYS = ["sessions", "idling", "setup_failed", "setup_s",
             "client_processes", "processes_before", "pss_before_kb",
             "pss_after_kb", "pool_settle_s", "bytes_per_session",
             "processes", "p50_ms",
             "p99_ms", "max_ms", "samples", "missed", "append_failed",
             "round_max_ms", "spread_ms", "append_p50_ms", "append_p99_ms",
             "ok_exists_p50_ms", "ok_exists_p99_ms",
             "rounds_cpu_ms_by_prog", "rounds_client_cpu_ms", "load_avg",
             "load_avg_end", "log_warnings", "error"]


def ratio(good, bad):
    """good / bad, two decimals; n/a when either is missing or bad is 0"""
    try:
        g, b = float(good), float(bad)
        return f"{g / b:.2f}" if b > 0 else "n/a"
    except (TypeError, ValueError):
        return "n/a"


def table(hs, idle, servers):
    print("# table (ratios: above 1 means berth does better)")
    cols = ["metric"] + servers + [f"vs {s}" for s in servers
                                   if s != "berth"]
    rows = []

    def row(metric, got, key, higher_better):
        b = got.get("berth", {}).get(key)
        vals = [str(got.get(s, {}).get(key, "-")) for s in servers]
        rs = [ratio(b, got.get(s, {}).get(key)) if higher_better else
              ratio(got.get(s, {}).get(key), b)
              for s in servers if s != "berth"]
        rows.append([metric] + vals + rs)
    if hs:
        row("full handshakes/s", hs, "hs_full_per_s", True)
        row("resumed handshakes/s", hs, "hs_resumed_per_s", True)
        row("resumed %", hs, "hs_resumed_pct", True)
        row("full: server CPU us/handshake", hs, "hs_full_cpu_us", False)
        row("resumed: server CPU us/handshake", hs, "hs_resumed_cpu_us",
            False)
        row("full: connect->greeting p50 ms", hs, "hs_full_p50_ms", False)
        row("resumed: connect->greeting p50 ms", hs, "hs_resumed_p50_ms",
            False)
    for n, got in idle:
        row(f"{n}: bytes/session", got, "bytes_per_session", False)
        row(f"{n}: processes", got, "processes", False)
        row(f"{n}: APPEND->EXISTS p99 ms", got, "p99_ms", False)
        row(f"{n}: APPEND p99 ms", got, "append_p99_ms", False)
        row(f"{n}: OK->EXISTS p99 ms", got, "ok_exists_p99_ms", False)
        row(f"{n}: load average", got, "load_avg", False)
        row(f"{n}: missed", got, "missed", False)
    w = [max(len(r[i]) for r in rows + [cols]) for i in range(len(cols))]
    for r in [cols] + rows:
        print("| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) +
              " |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", default=",".join(ALL))
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=3,
                    help="seconds of handshakes before measuring")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8,
                    help="connections in flight per client process")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tlsd", type=int, default=2,
                    help="tlsd processes (prefork = maxchild)")
    ap.add_argument("--per-proc", type=int, default=2500,
                    help="TLS idlers per client process")
    ap.add_argument("--with-8000", action="store_true")
    ap.add_argument("--peer-max", type=int, default=5000,
                    help="Dovecot runs only up to this many sessions")
    ap.add_argument("--no-handshakes", action="store_true")
    ap.add_argument("--no-idle", action="store_true")
    ap.add_argument("n", nargs="*", type=int)
    args = ap.parse_args()
    servers = args.servers.split(",")
    for s in servers:
        if s not in ALL:
            ap.error(f"unknown server {s}")
    ns = args.n or [1000, 5000]
    if args.with_8000:
        ns.append(8000)
    peers.on_signals()
    hs, idle = {}, []
    with peers.Sysctl("fs.inotify.max_user_instances", 65536) as sc:
        print(f"# {sc.note}", flush=True)
        try:
            if not args.no_handshakes:
                for s in servers:
                    hs[s] = run(s, args)
                    peers.print_result("handshakes", hs[s], 1, HS_KEYS)
            if not args.no_idle:
                for n in ns:
                    got = {}
                    for s in servers:
                        if s != "berth" and n > args.peer_max:
                            print(f"# {s} sessions={n} skipped (peers run "
                                  f"to --peer-max {args.peer_max})")
                            continue
                        got[s] = run(s, args, n)
                        peers.print_result("tls_idle", got[s], 1,
                                           IDLE_KEYS)
                    idle.append((n, got))
        finally:
            peers.kill_all()
    table(hs, idle, servers)


if __name__ == "__main__":
    main()

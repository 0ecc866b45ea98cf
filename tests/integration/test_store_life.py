"""Store handles survive every way a process ends.

Workers that master trims (SIGTERM), that are killed outright (SIGKILL) or
stopped by their watchdog (SIGALRM) must leave no lockers in the Berkeley
DB environment, and no single worker's death may cost other users their
sessions.  Lockers are read from `berthctl stats`.

Tolerance for "flat": with the pool back at prefork, lockers must be below
the baseline plus one worker's worth (LOCKERS_PER_WORKER, 9: eight
database handles and the environment).  Every leak is a whole process's
handles, so a single leaked worker already fails; what the margin admits
is a failchk or berthctl run caught in the middle (it holds one or two).

CHURN connections per run (default 2,000, bounded in time by the server's
pace: a few seconds); bench/store_churn.sh runs the same test with 10,000.
"""
import os
import random
import signal
import socket
import subprocess
import threading

import pytest

from conftest import BUILD, wait_for

CHURN = int(os.environ.get("BERTH_STORE_CHURN", "2000"))
LOCKERS_PER_WORKER = 9
LIMITS = """authd_maxrate_addr: 1000000
authd_maxconns_addr: 100000
authd_maxconns_net: 100000
authd_maxconns_wide: 100000
"""


def stats(srv):
    out = subprocess.run([os.path.join(BUILD, "tools", "berthctl"), "-C",
                          srv.conf, "stats"], capture_output=True,
                         timeout=20, text=True)
    assert out.returncode == 0, out.stderr
    return dict((k, int(v)) for k, v in
                (ln.split("=", 1) for ln in out.stdout.split()))


def settled(srv, base):
    """the pool is back at prefork and holds no dead worker's lockers"""
    if len(srv.children()) != srv.prefork:
        return False
    return stats(srv)["lockers"] < base + LOCKERS_PER_WORKER


def baseline(srv):
    assert wait_for(lambda: len(srv.children()) == srv.prefork, 20)
    # one reading per worker: each idle worker holds the same handles
    return stats(srv)["lockers"]


def worker_of(srv, sock):
    """pid of the imapd child holding the server side of sock"""
    cport = sock.getsockname()[1]
    inode = None
    with open("/proc/net/tcp") as f:
        for ln in f.readlines()[1:]:
            p = ln.split()
            if (int(p[1].split(":")[1], 16) == srv.port and
                    int(p[2].split(":")[1], 16) == cport):
                inode = p[9]
    assert inode is not None
    want = f"socket:[{inode}]"
    for pid in srv.children():
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == want:
                    return pid
        except OSError:
            continue
    return None


def session(srv, user=None, password=None):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    if user:
        s.sendall(f"l LOGIN {user} {password}\r\n".encode())
        while True:
            ln = f.readline()
            assert ln, "EOF during LOGIN"
            if ln.startswith(b"l "):
                assert ln.startswith(b"l OK"), ln
                break
    return s, f


def churn_one(port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
    except OSError:
        return False
    try:
        f = s.makefile("rb")
        if not f.readline().startswith(b"* OK"):
            return False
        s.sendall(b"a LOGOUT\r\n")
        while f.readline():
            pass
        return True
    except OSError:
        return False
    finally:
        s.close()


def waiting(pid):
    """is pid blocked in poll (waiting for a client or in accept)?  Such
    a worker is not inside Berkeley DB, which never polls: a kill there
    is what this test is about, a kill inside the library would need a
    recovery, which is another test's"""
    try:
        with open(f"/proc/{pid}/wchan") as f:
            return "poll" in f.read()
    except OSError:
        return False


def kill_some(srv, killed):
    """what master's trimming does (SRV_TRIM_SIGNAL, SIGUSR1) and what an
    operator or an OOM killer does (SIGTERM, SIGKILL), to workers waiting
    in poll"""
    pids = [p for p in srv.children() if waiting(p)]
    random.shuffle(pids)
    for pid, sig in zip(pids, (signal.SIGKILL, signal.SIGTERM,
                               signal.SIGUSR1)):
        try:
            os.kill(pid, sig)
            killed[sig] = killed.get(sig, 0) + 1
        except ProcessLookupError:
            pass


def test_sizing_logged(fresh):
    srv = fresh(prefork=1, maxchild=12, maxidle=1, extra_conf=LIMITS).start()
    # 12 workers + checkpoint + authd + idled + recover + 16 spare
    assert "store sizing procs=32 lockers=1024" in srv.logtext()
    st = stats(srv)
    assert st["lockers_max"] == 32 * 32
    assert st["locks_max"] == 32 * 500
    # a reload that outgrows the tables says so (they change at recovery)
    srv.maxchild = 30
    srv.write_master()
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "store sized for procs=32; the new "
                    "configuration allows procs=50" in srv.logtext(), 10)


def test_lockers_flat_after_churn(fresh):
    srv = fresh(prefork=2, maxchild=12, maxidle=1, extra_conf=LIMITS).start()
    base = baseline(srv)
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()
    killed = {}
    rounds = 20

    def client(n):
        for _ in range(n):
            ok = churn_one(srv.port)
            with lock:
                counts["ok" if ok else "failed"] += 1

    # rounds of concurrent clients grow the pool past prefork; between
    # rounds some workers are killed
    for r in range(rounds):
        ts = [threading.Thread(target=client, args=(CHURN // rounds // 24
                                                    + 1,))
              for _ in range(24)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=120)
        kill_some(srv, killed)
    peak = stats(srv)
    print(f"lockers before={base} churn={counts['ok'] + counts['failed']} "
          f"ok={counts['ok']} failed={counts['failed']} "
          f"sigterm={killed.get(signal.SIGTERM)} "
          f"sigkill={killed.get(signal.SIGKILL)} "
          f"hwm={peak['lockers_hwm']}")
    assert counts["ok"] > CHURN // 2
    assert killed.get(signal.SIGKILL, 0) > 0
    # master trims the grown pool (SIGUSR1) and failchk reclaims what
    # the killed ones held
    assert wait_for(lambda: settled(srv, base), 40), \
        f"lockers {stats(srv)['lockers']} base {base}"
    after = stats(srv)["lockers"]
    print(f"lockers after={after}")
    log = srv.logtext()
    assert "needs recovery" not in log
    assert "recovering the mail store" not in log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT,
                                 signal.SIGHUP])
def test_stop_tells_client_bye(fresh, sig):
    """SIGTERM (or SIGINT, SIGHUP) to a worker serving a session: the
    client is told why, the worker closes the store (no lockers left, no
    failchk needed: exit status 0)"""
    srv = fresh(prefork=1, maxchild=4, maxidle=1, extra_conf=LIMITS).start()
    base = baseline(srv)
    s, f = session(srv, "alice", "secret")
    pid = worker_of(srv, s)
    assert pid
    os.kill(pid, sig)
    ln = f.readline()
    assert ln.startswith(b"* BYE [UNAVAILABLE]"), ln
    assert f.readline() == b""
    s.close()
    assert wait_for(lambda: settled(srv, base), 20)
    log = srv.logtext()
    assert f"pid={pid} killed by signal" not in log
    assert f"pid={pid} exited with status" not in log


def test_watchdog_costs_one_client(fresh):
    """a worker's watchdog cancels its own client only: no store
    recovery, the other user's session carries on"""
    # each session keeps its worker: park_on_backlog would park alice's
    # while bob's connection waits for a worker (a first login, creating
    # the special-use mailboxes, keeps a worker long enough on a loaded
    # machine), and worker_of finds no worker holding it
    srv = fresh(prefork=2, maxchild=4, maxidle=1,
                extra_conf=LIMITS + "park_on_backlog: no\n").start()
    srv.add_user("bob", "hunter2")
    base = baseline(srv)
    a, fa = session(srv, "alice", "secret")
    b, fb = session(srv, "bob", "hunter2")
    pa, pb = worker_of(srv, a), worker_of(srv, b)
    assert pa and pb and pa != pb
    os.kill(pa, signal.SIGALRM)
    ln = fa.readline()
    assert ln == b"* BYE [UNAVAILABLE] command took too long\r\n", ln
    assert wait_for(lambda: "stopped by its watchdog" in srv.logtext(), 10)
    # failchk takes back what the dead worker held
    assert wait_for(lambda: stats(srv)["lockers"] <
                    base + 2 * LOCKERS_PER_WORKER, 20)
    b.sendall(b"n NOOP\r\n")
    while True:
        ln = fb.readline()
        assert ln, "bob's session was dropped"
        if ln.startswith(b"n "):
            assert ln.startswith(b"n OK"), ln
            break
    b.sendall(b"s SELECT INBOX\r\n")
    while True:
        ln = fb.readline()
        assert ln, "bob's session was dropped"
        if ln.startswith(b"s "):
            assert ln.startswith(b"s OK"), ln
            break
    log = srv.logtext()
    assert "needs recovery" not in log
    assert "recovering the mail store" not in log
    assert pb in srv.children()
    a.close()
    b.close()


def ctl(srv, *args):
    return subprocess.run([os.path.join(BUILD, "tools", "berthctl"), "-C",
                           srv.conf] + list(args), capture_output=True,
                          timeout=20, text=True)


def test_recovery_tells_clients_bye(fresh):
    """a store that really needs recovery (berthctl panic: every user
    gets DB_RUNRECOVERY): master's failchk finds out, master recovers;
    a worker's client is told BYE with the reason, a session parked in
    idled survives, and new clients are served afterwards"""
    srv = fresh(prefork=2, maxchild=6, maxidle=1, extra_conf=LIMITS).start()
    srv.add_user("bob", "hunter2")
    assert wait_for(lambda: srv.parked() == 0, 20)	# idled is up
    a, fa = session(srv, "alice", "secret")
    b, fb = session(srv, "bob", "hunter2")
    b.sendall(b"i IDLE\r\n")
    assert fb.readline().startswith(b"+")
    assert wait_for(lambda: srv.parked() == 1, 20)
    r = ctl(srv, "panic")
    assert r.returncode == 0, r.stderr
    ln = fa.readline()
    assert ln.startswith(b"* BYE [UNAVAILABLE]"), ln
    assert fa.readline() == b""
    assert wait_for(lambda: "recovery done" in srv.logtext(), 30)
    b.sendall(b"DONE\r\n")
    while True:
        ln = fb.readline()
        assert ln, "the parked session was dropped"
        if ln.startswith(b"i "):
            assert ln.startswith(b"i OK"), ln
            break
    c, fc = session(srv, "alice", "secret")
    c.sendall(b"s SELECT INBOX\r\n")
    while True:
        ln = fc.readline()
        assert ln
        if ln.startswith(b"s "):
            assert ln.startswith(b"s OK"), ln
            break
    for s in (a, b, c):
        s.close()


def hold_store(srv):
    """an imapd -s serving a socketpair: it keeps the store open (ten
    lockers) until its client hangs up; None when it could not open it
    (exit status 74: no room in the lock table)"""
    ours, theirs = socket.socketpair()
    p = subprocess.Popen([os.path.join(BUILD, "imapd", "imapd"), "-C",
                          srv.conf, "-s"], stdin=theirs, stdout=theirs,
                         stderr=subprocess.DEVNULL)
    theirs.close()
    ours.settimeout(20)
    if ours.makefile("rb").readline().startswith(b"* OK"):
        return p, ours
    ours.close()
    assert p.wait(timeout=20) == 74
    return None


def test_full_lock_table_is_a_shortage(fresh):
    """live processes fill the lock table: a new worker refuses its
    client with BYE [UNAVAILABLE], master logs the shortage and does not
    recover the store (a session in the other worker carries on); once
    the holders are gone, clients are served again"""
    # x keeps its worker while y waits for one (park_on_backlog would
    # park x and hand y the worker that has the store open)
    srv = fresh(prefork=1, maxchild=2, maxidle=1,
                extra_conf=LIMITS + "park_on_backlog: no\n").start()
    base = baseline(srv)
    holders = []

    def fill():
        for _ in range(200):
            h = hold_store(srv)
            if h is None:
                return
            holders.append(h)
        raise AssertionError("the lock table never filled")
    fill()
    # a berthctl checkpoint (EVENTS) that held a process's worth while
    # the table filled leaves room for a worker when it ends: fill that
    assert wait_for(lambda: not srv.children("berthctl"), 20)
    fill()
    st = stats(srv)
    print(f"holders={len(holders)} lockers={st['lockers']} "
          f"max={st['lockers_max']}")
    # the worker there is serves x; the one master forks to stand ready
    # finds no room and refuses y: at once, or, when y came while no
    # worker was ready and idled greeted it, at its first command
    x, fx = session(srv, "alice", "secret")
    y = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    fy = y.makefile("rb")
    ln = fy.readline()
    if ln.startswith(b"* OK"):
        y.sendall(b"c CAPABILITY\r\n")
        ln = fy.readline()
    y.close()
    assert ln.startswith(b"* BYE [UNAVAILABLE]"), ln
    assert wait_for(lambda: "lock table full" in srv.logtext(), 10)
    x.sendall(b"n NOOP\r\n")
    assert fx.readline().startswith(b"n OK")
    for p, s in holders:
        s.close()
    for p, s in holders:
        assert p.wait(timeout=20) == 0	# closed the store and exited
    z = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    assert z.makefile("rb").readline().startswith(b"* OK")
    z.close()
    x.close()
    log = srv.logtext()
    assert "needs recovery" not in log
    assert "recovery done" not in log
    assert "refused addr=127.0.0.1 limit=lock_table" in log

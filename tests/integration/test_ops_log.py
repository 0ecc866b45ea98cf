"""Logging and master's pidfile: every line of one session names the same
session id in tlsd, imapd, idled and authd; real syslog with
syslog_facility and syslog_prefix; with no /dev/log the daemons say so once
on stderr and log there; master_pid_file is written, refused to a second
master while the first lives, taken over from a dead one and removed at a
clean exit.

The syslog tests run master in a private mount namespace (unshare, as
root) whose /dev is an overlay of the real one: /dev/log there is the
test's own datagram socket, or is absent.
"""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import BUILD, PROGDIR, Server, deadline, wait_for, \
    wait_greeting

MASTER = os.path.join(BUILD, "master", "master")


def session_of(line):
    m = re.search(r" session=([0-9a-f]+)$", line)
    return m.group(1) if m else None


def lines_with(text, *parts):
    return [ln for ln in text.splitlines() if all(p in ln for p in parts)]


def test_session_id_across_processes(fresh):
    srv = fresh(tls=True).start()
    ctx = ssl.create_default_context(cafile=srv.cert)
    raw = socket.create_connection(("127.0.0.1", srv.tls_port),
                                   timeout=deadline(20))
    c = ctx.wrap_socket(raw, server_hostname="localhost")
    f = c.makefile("rb")
    assert f.readline().startswith(b"* OK")
    c.sendall(b"a LOGIN alice secret\r\n")
    while not f.readline().startswith(b"a OK"):
        pass
    c.sendall(b"b SELECT INBOX\r\n")
    while not f.readline().startswith(b"b OK"):
        pass
    c.sendall(b"c IDLE\r\n")
    assert f.readline().startswith(b"+")
    assert srv.wait_log("berth/idled[", "park user=alice", "kind=idle")
    c.sendall(b"DONE\r\n")
    while not f.readline().startswith(b"c OK"):
        pass
    c.sendall(b"d LOGOUT\r\n")
    while not f.readline().startswith(b"d OK"):
        pass
    c.close()
    # LOGOUT is answered where the session is: a worker, or idled
    assert wait_for(lambda: srv.log_count("disconnect user=alice") +
                    srv.log_count("unpark user=alice", "reason=logout") > 0,
                    10)
    log = srv.logtext()
    login = lines_with(log, "berth/imapd[", "login user=alice")
    assert len(login) == 1, log
    sid = session_of(login[0])
    assert sid, login
    mine = [ln for ln in log.splitlines() if ln.endswith(f" session={sid}")]
    procs = {re.search(r"berth/(\w+)\[", ln).group(1) for ln in mine}
    assert procs >= {"tlsd", "imapd", "idled", "authd"}, mine
    # the session's own events, each once, under its id
    for proc, event in (("tlsd", " tls addr="), ("authd", "login ok user"),
                        ("idled", "park user=alice"),
                        ("imapd", "login user=alice")):
        assert lines_with("\n".join(mine), f"berth/{proc}[", event), \
            (proc, event, mine)
    # lines of the daemons that are about no session carry none
    ready = lines_with(log, "berth/master[", "ready generation=")
    assert ready and session_of(ready[0]) is None


def test_sessions_have_their_own_ids(fresh):
    srv = fresh().start()
    srv.add_user("bob", "pw")
    a = srv.connect("alice", "secret")
    b = srv.connect("bob", "pw")
    a.logout()
    b.logout()
    assert srv.wait_log("disconnect user=bob")
    log = srv.logtext()
    ida = {session_of(ln) for ln in lines_with(log, "user=alice")}
    idb = {session_of(ln) for ln in lines_with(log, "user=bob")}
    assert len(ida) == 1 and len(idb) == 1 and None not in ida | idb, log
    assert ida != idb


# --- master_pid_file ------------------------------------------------------

def start_master(srv, extra_args=(), **kw):
    env = dict(os.environ, BERTH_PROGDIR=PROGDIR)
    srv.chown()
    srv.log = open(srv.logpath, "ab")
    srv.proc = subprocess.Popen([MASTER, "-C", srv.conf, "-M", srv.mconf,
                                 *extra_args], stdout=srv.log,
                                stderr=srv.log, env=env,
                                start_new_session=True, **kw)
    return srv.proc


def test_pidfile(fresh):
    srv = fresh()
    pidfile = os.path.join(srv.dir, "master.pid")
    with open(srv.conf, "a") as f:
        f.write(f"master_pid_file: {pidfile}\n")
    srv.start()
    with open(pidfile) as f:
        assert f.read() == f"{srv.proc.pid}\n"
    # a second master, even on other ports, is refused before it binds
    other = Server()
    try:
        with open(other.conf, "a") as f:
            f.write(f"master_pid_file: {pidfile}\n")
        other.chown()
        r = subprocess.run([MASTER, "-C", other.conf, "-M", other.mconf,
                            "-D"], capture_output=True, text=True,
                           timeout=30,
                           env=dict(os.environ, BERTH_PROGDIR=PROGDIR))
        assert r.returncode == 1, r
        assert f"another master is running: pid={srv.proc.pid}" in r.stderr
        assert pidfile in r.stderr
    finally:
        other.cleanup()
    with open(pidfile) as f:
        assert f.read() == f"{srv.proc.pid}\n"
    assert srv.stop() == 0
    assert not os.path.exists(pidfile) or os.path.getsize(pidfile) == 0


def test_pidfile_of_a_dead_master_is_taken_over(fresh):
    srv = fresh()
    pidfile = os.path.join(srv.dir, "master.pid")
    with open(srv.conf, "a") as f:
        f.write(f"master_pid_file: {pidfile}\n")
    srv.start()
    first = srv.proc.pid
    srv.stop(signal.SIGKILL)
    with open(pidfile) as f:
        assert f.read() == f"{first}\n"     # left behind by the kill
    srv.start()
    with open(pidfile) as f:
        assert f.read() == f"{srv.proc.pid}\n"
    assert srv.wait_log("berth/master[", f"pid={first} left it")


def test_pidfile_with_fork(fresh):
    """without -D master forks: the file names the process that runs"""
    srv = fresh()
    pidfile = os.path.join(srv.dir, "master.pid")
    with open(srv.conf, "a") as f:
        f.write(f"master_pid_file: {pidfile}\n")
    p = start_master(srv)
    assert p.wait(timeout=30) == 0      # the parent returns at once
    assert wait_for(lambda: os.path.exists(pidfile) and
                    os.path.getsize(pidfile) > 0, 15)
    with open(pidfile) as f:
        pid = int(f.read())
    assert pid != p.pid
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0].endswith(b"master")
    os.kill(pid, signal.SIGTERM)
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 30)
    assert not os.path.exists(pidfile) or os.path.getsize(pidfile) == 0


# --- syslog ---------------------------------------------------------------

def can_unshare():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    r = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return r.returncode == 0


needs_ns = pytest.mark.skipif(not can_unshare(), reason="needs root and "
                              "unshare -m (a private /dev/log)")


def ns_master(srv, devlog, args):
    """master in a mount namespace whose /dev is an overlay: /dev/log is
    the socket devlog, or absent (devlog None)"""
    up, work = os.path.join(srv.dir, "up"), os.path.join(srv.dir, "work")
    os.mkdir(up)
    os.mkdir(work)
    setup = (f"mount -t overlay overlay -o lowerdir=/dev,upperdir={up},"
             f"workdir={work} /dev && rm -f /dev/log")
    if devlog:
        setup += f" && touch /dev/log && mount --bind {devlog} /dev/log"
    cmd = f"{setup} && exec {MASTER} -C {srv.conf} -M {srv.mconf} {args}"
    env = dict(os.environ, BERTH_PROGDIR=PROGDIR)
    env.pop("BERTH_LOG_NODEVLOG", None)
    srv.chown()
    srv.log = open(srv.logpath, "ab")
    srv.proc = subprocess.Popen(["unshare", "-m", "sh", "-c", cmd],
                                stdin=subprocess.DEVNULL, stdout=srv.log,
                                stderr=srv.log, env=env,
                                start_new_session=True)
    return srv.proc


class Syslog:
    """a datagram socket standing in for /dev/log"""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.lines = []

    def wait(self, *parts, timeout=15):
        """until a line holds every one of parts; that line"""
        end = time.time() + deadline(timeout)
        while True:
            for ln in self.lines:
                if all(p in ln for p in parts):
                    return ln
            left = end - time.time()
            if left <= 0:
                raise AssertionError(f"no syslog line with {parts}: "
                                     f"{self.lines[-30:]}")
            self.sock.settimeout(left)
            try:
                self.lines.append(self.sock.recv(65536).decode(
                    errors="replace"))
            except socket.timeout:
                pass

    def close(self):
        self.sock.close()


@needs_ns
def test_syslog_facility_and_prefix(fresh):
    srv = fresh()
    with open(srv.conf, "a") as f:
        f.write("syslog_facility: LOCAL3\nsyslog_prefix: tb\n")
    log = Syslog(os.path.join(srv.dir, "devlog"))
    try:
        ns_master(srv, log.path, "-F")
        wait_greeting(srv.port, srv.proc, "master", srv.logtext, 20, 0.1)
        ready = log.wait("tb/master[", "ready generation=")
        # LOG_LOCAL3 | LOG_INFO
        assert ready.startswith(f"<{19 * 8 + 6}>"), ready
        c = srv.connect("alice", "secret")
        c.logout()
        login = log.wait("tb/imapd[", "login user=alice")
        assert login.startswith(f"<{19 * 8 + 6}>"), login
        sid = re.search(r" session=([0-9a-f]+)$", login).group(1)
        log.wait("tb/authd[", "login ok user=alice", f"session={sid}")
        # nothing went to stderr: it is not a terminal
        assert "ready generation" not in srv.logtext()
    finally:
        srv.stop()
        log.close()


@needs_ns
def test_no_devlog_says_so_once_and_logs_to_stderr(fresh):
    srv = fresh()
    ns_master(srv, None, "-F")
    wait_greeting(srv.port, srv.proc, "master", srv.logtext, 20, 0.1)
    c = srv.connect("alice", "secret")
    c.logout()
    assert srv.wait_log("berth/imapd[", "login user=alice")
    assert srv.wait_log("berth/authd[", "login ok user=alice")
    text = srv.logtext()
    assert len(lines_with(text, "no syslog socket /dev/log")) == 1, text
    assert lines_with(text, "berth/master[", "ready generation=")


def test_bad_facility_is_fatal(fresh):
    srv = fresh()
    with open(srv.conf, "a") as f:
        f.write("syslog_facility: local9\n")
    srv.chown()
    r = subprocess.run([MASTER, "-C", srv.conf, "-M", srv.mconf, "-D"],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, BERTH_PROGDIR=PROGDIR))
    assert r.returncode == 1
    assert "syslog_facility: unknown facility 'local9'" in r.stderr


@needs_ns
def test_berthctl_errors_on_stderr_and_syslog(fresh):
    """berthctl run by a script (stderr not a terminal) says its errors on
    stderr and in syslog, a bad configuration's included"""
    srv = fresh()
    log = Syslog(os.path.join(srv.dir, "devlog"))
    up, work = os.path.join(srv.dir, "up"), os.path.join(srv.dir, "work")
    os.mkdir(up)
    os.mkdir(work)
    ctl = os.path.join(BUILD, "tools", "berthctl")

    def ns_ctl(conf, *args):
        cmd = (f"mount -t overlay overlay -o lowerdir=/dev,upperdir={up},"
               f"workdir={work} /dev && rm -f /dev/log && touch /dev/log && "
               f"mount --bind {log.path} /dev/log && exec {ctl} -C {conf} "
               + " ".join(args))
        env = dict(os.environ)
        env.pop("BERTH_LOG_NODEVLOG", None)
        return subprocess.run(["unshare", "-m", "sh", "-c", cmd],
                              capture_output=True, text=True, timeout=60,
                              env=env)
    try:
        srv.chown()
        r = ns_ctl(srv.conf, "user", "delete", "nosuch")
        assert r.returncode == 1 and "no such user" in r.stderr, r
        assert "no syslog socket" not in r.stderr
        log.wait("berth/berthctl[", "no such user")
        bad = os.path.join(srv.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write(f"configdirectory: {srv.dir}/conf\nmaxliteral: banana\n")
        r = ns_ctl(bad, "user", "list")
        assert r.returncode == 1 and "maxliteral" in r.stderr, r
        log.wait("berth/berthctl[", "maxliteral")
    finally:
        log.close()

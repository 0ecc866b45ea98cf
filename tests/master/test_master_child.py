"""master on its own, with tests/test_child as every child (no imapd).

Covers START before listening, a failing START, config errors at start and
on reload, prefork counts, maxchild and the backlog, SIGHUP adding and
removing services without dropping a connection, DAEMON respawn with
back-off, and SIGTERM shutdown.  Loopback only.
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import pytest

# waiting with a deadline, and ports: shared with the integration tests
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..",
                                "integration"))
from poll import deadline, free_port, wait_for  # noqa: E402

BUILD = os.environ.get("top_builddir") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
MASTER = os.path.join(BUILD, "master", "master")
CHILD = os.path.join(BUILD, "tests", "test_child")


class Master:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="berth-master-")
        os.chmod(self.dir, 0o777)	# children may run as nobody
        self.port = free_port()
        self.conf = os.path.join(self.dir, "imapd.conf")
        self.mconf = os.path.join(self.dir, "master.conf")
        self.logpath = os.path.join(self.dir, "master.log")
        self.proc = None
        user = "nobody" if os.geteuid() == 0 else pwd.getpwuid(
            os.geteuid()).pw_name
        with open(self.conf, "w") as f:
            f.write(f"configdirectory: {self.dir}\nberth_user: {user}\n")

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, services="", start="", daemon="", events=""):
        with open(self.mconf, "w") as f:
            f.write(f"# test\nSTART {{\n{start}}}\nSERVICES {{\n{services}"
                    f"}}\nEVENTS {{\n{events}}}\nDAEMON {{\n{daemon}}}\n")

    def service(self, name="echo", port=None, prefork=1, maxchild=10):
        port = self.port if port is None else port
        return (f'  {name} cmd="{CHILD} service" '
                f'listen="127.0.0.1:{port}" prefork={prefork} '
                f'maxchild={maxchild}\n')

    def run(self, timeout=20):
        return subprocess.run([MASTER, "-C", self.conf, "-M", self.mconf,
                               "-D"], capture_output=True, timeout=timeout)

    def start(self):
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(
            [MASTER, "-C", self.conf, "-M", self.mconf, "-D"],
            stdout=self.log, stderr=self.log, start_new_session=True)
        return self

    def logtext(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def children(self, word="service"):
        """pids of master's children whose argv holds word"""
        out = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if ppid == self.proc.pid and word.encode() in argv:
                out.append(int(pid))
        return out

    def hup(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None


def hello_pid(port, timeout=3):
    """connect and read the greeting: the socket and the pid of the child
    serving it, or (None, None) if refused"""
    try:
        s = socket.create_connection(("127.0.0.1", port),
                                     timeout=deadline(timeout))
    except OSError:
        return None, None
    try:
        g = s.recv(100)
        if g.startswith(b"hello ") and g.endswith(b"\n"):
            return s, int(g.split()[1])
    except OSError:
        pass
    s.close()
    return None, None


def hello(port, timeout=3):
    """connect and read the greeting; the socket, or None if refused"""
    return hello_pid(port, timeout)[0]


def greets(port):
    s = hello(port, timeout=1)
    if s is None:
        return False
    s.close()
    return True


@pytest.fixture
def m():
    made = Master()
    yield made
    made.stop()
    print(f"---- master log {made.dir} ----")
    try:
        print(made.logtext()[-6000:])
    except FileNotFoundError:
        pass
    shutil.rmtree(made.dir, ignore_errors=True)


def test_start_runs_before_listening(m):
    marker = m.path("start.out")
    m.write(services=m.service(),
            start=f'  probe cmd="{CHILD} start {marker} '
                  f'127.0.0.1:{m.port}"\n')
    m.start()
    assert wait_for(lambda: greets(m.port))
    with open(marker) as f:
        assert f.read() == "refused\n"


def test_failing_start_is_fatal(m):
    m.write(services=m.service(), start=f'  broken cmd="{CHILD} fail"\n')
    r = m.run()
    assert r.returncode != 0
    assert "start=broken" in r.stderr.decode()
    assert not greets(m.port)


def test_config_error_names_file_line_key(m):
    m.write(services=f'  echo cmd="{CHILD} service" listen="127.0.0.1:1"'
            f' maxchild=lots\n')
    r = m.run()
    assert r.returncode != 0
    err = r.stderr.decode()
    assert f"{m.mconf}:5: entry 'echo': key 'maxchild': bad value 'lots'" \
        in err, err


def test_unknown_program_is_reported(m):
    m.write(services=m.service(), start='  x cmd="no-such-program"\n')
    r = m.run()
    assert r.returncode != 0
    assert "no-such-program" in r.stderr.decode()


def test_prefork_and_reload(m):
    m.write(services=m.service(prefork=2))
    m.start()
    assert wait_for(lambda: len(m.children()) == 2)
    held = hello(m.port)
    assert held is not None
    # the busy one is replaced so that two stay ready
    assert wait_for(lambda: len(m.children()) == 3)
    m.write(services=m.service(prefork=4))
    m.hup()
    assert wait_for(lambda: len(m.children()) == 5)
    # a bad file on reload is logged; the running config stays
    with open(m.mconf, "a") as f:
        f.write("BOGUS {\n}\n")
    m.hup()
    assert wait_for(lambda: "reload failed" in m.logtext())
    assert greets(m.port)
    held.sendall(b"still here\n")
    held.close()


def test_sighup_adds_and_removes_services(m):
    port2 = free_port()
    m.write(services=m.service())
    m.start()
    assert wait_for(lambda: greets(m.port))
    m.write(services=m.service() + m.service("two", port2))
    m.hup()
    assert wait_for(lambda: greets(port2))
    held = hello(port2)
    assert held is not None
    m.write(services=m.service())
    m.hup()
    assert wait_for(lambda: not greets(port2))
    # the session on the removed service was not dropped: still served
    held.settimeout(10)
    held.sendall(b"ping\n")
    assert held.recv(10) == b"ping\n"
    assert greets(m.port)
    held.close()


def test_maxchild_backlog(m):
    m.write(services=m.service(prefork=1, maxchild=2))
    m.start()
    assert wait_for(lambda: greets(m.port))
    (a, apid), b = hello_pid(m.port), hello(m.port)
    assert a and b
    assert wait_for(lambda: "service=echo maxchild=2 reached" in
                    m.logtext())
    assert len(m.children()) == 2
    # waits in the listen backlog: no third worker; the one a frees
    # takes it
    c = socket.create_connection(("127.0.0.1", m.port), timeout=10)
    a.close()
    assert c.recv(100) == b"hello %d\n" % apid
    assert len(m.children()) == 2
    assert m.logtext().count("maxchild=2 reached") == 1
    b.close()
    c.close()


def test_daemon_respawned_with_backoff(m):
    pids = m.path("daemon.pids")
    m.write(services=m.service(), daemon=f'  d cmd="{CHILD} daemon {pids}"\n')
    m.start()

    def started():
        try:
            with open(pids) as f:
                return [int(x) for x in f.read().split()]
        except FileNotFoundError:
            return []
    assert wait_for(lambda: len(started()) == 1)
    os.kill(started()[0], signal.SIGKILL)
    assert wait_for(lambda: len(started()) == 2)
    # back-off starts at 1 s and doubles
    assert "daemon=d restarting in 1000 ms" in m.logtext()
    os.kill(started()[1], signal.SIGKILL)
    assert wait_for(lambda: "daemon=d restarting in 2000 ms" in
                    m.logtext())


def test_sigterm_stops_everything(m):
    pids = m.path("daemon.pids")
    m.write(services=m.service(prefork=3),
            daemon=f'  d cmd="{CHILD} daemon {pids}"\n')
    m.start()
    assert wait_for(lambda: len(m.children()) == 3 and
                    len(m.children("daemon")) == 1)
    kids = m.children() + m.children("daemon")
    held = hello(m.port)
    assert m.stop() == 0
    for pid in kids:
        assert not os.path.exists(f"/proc/{pid}") or \
            open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert not greets(m.port)
    held.close()

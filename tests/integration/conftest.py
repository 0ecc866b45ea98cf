"""Fixtures: a real berth master on loopback in a temporary directory.

Each Server writes imapd.conf and master.conf, creates users with Debian's
saslpasswd2, starts master -D with BERTH_PROGDIR pointing at the build
tree, and waits for the greeting.  Logs are kept and printed on failure.
"""
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from poll import deadline, free_port, wait_for  # noqa: F401 (for tests)

BUILD = os.environ.get("top_builddir") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
PROGDIR = ":".join(os.path.join(BUILD, d)
                   for d in ("imapd", "authd", "idled", "indexd", "tlsd",
                             "lmtpd", "tools", "master"))


def make_cert(dir, name="localhost", days=30, extra=()):
    """a self-signed certificate and key for name in dir; their paths"""
    cert = os.path.join(dir, f"{name}.crt")
    key = os.path.join(dir, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", str(days),
                    "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name},IP:127.0.0.1",
                    *extra],
                   check=True, capture_output=True)
    return cert, key


def wait_greeting(port, proc, what, logtext, timeout, step):
    """until the server on port answers a connection with "* OK"; raises
    (with logtext()) when proc exits or timeout passes"""
    end = time.time() + deadline(timeout)
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {logtext()}")
        try:
            with socket.create_connection(("127.0.0.1", port),
                                          timeout=2) as s:
                if s.recv(200).startswith(b"* OK"):
                    return
        except OSError:
            pass
        time.sleep(step)
    raise RuntimeError(f"{what} not ready: {logtext()}")


def wait_group_gone(pgid, timeout, step):
    """until no process of group pgid is left, at most timeout seconds"""
    end = time.time() + timeout
    while time.time() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(step)


class Server:
    def __init__(self, allowplaintext=True, prefork=2, maxchild=20,
                 extra_conf="", tls=False, maxidle=None, indexd=False):
        self.dir = tempfile.mkdtemp(prefix="berth-test-")
        # indexd: the full-text indexer runs (etc/master.conf has it)
        self.indexd = indexd
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        # tls: an imaps service (tlsd) on tls_port and STARTTLS on port
        self.tls_port = free_port() if tls else None
        if tls:
            self.cert, self.key = make_cert(self.dir)
            extra_conf = (f"tls_server_cert: {self.cert}\n"
                          f"tls_server_key: {self.key}\n" + extra_conf)
        self.prefork = prefork
        self.maxchild = maxchild
        # master.conf maxidle of the imap service (None: the default)
        self.maxidle = maxidle
        self.conf = os.path.join(self.dir, "imapd.conf")
        self.mconf = os.path.join(self.dir, "master.conf")
        self.sasldb = os.path.join(self.dir, "sasldb2")
        self.logpath = os.path.join(self.dir, "master.log")
        self.proc = None
        with open(self.conf, "w") as f:
            f.write(f"""configdirectory: {self.dir}/conf
partition-default: {self.dir}/spool
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {self.sasldb}
sasl_mech_list: PLAIN LOGIN
allowplaintext: {"yes" if allowplaintext else "no"}
berth_user: {self.user()}
idle_poll: 200ms
maxliteral: 1M
imap_maxline: 8K
authd_delay_base: 100ms
authd_delay_max: 1s
{extra_conf}""")
        self.write_master()

    @staticmethod
    def user():
        return "nobody" if os.geteuid() == 0 else pwd.getpwuid(
            os.geteuid()).pw_name

    def write_master(self, prefork=None, extra=""):
        prefork = self.prefork if prefork is None else prefork
        idle = f" maxidle={self.maxidle}" if self.maxidle else ""
        with open(self.mconf, "w") as f:
            f.write(f"""# test master.conf
START {{
  recover       cmd="berthctl recover"
}}
SERVICES {{
  imap          cmd="imapd" listen="127.0.0.1:{self.port}" prefork={prefork} maxchild={self.maxchild}{idle} handoff="{self.dir}/conf/socket/handoff"
{self.tls_service()}{extra}}}
EVENTS {{
  checkpoint    cmd="berthctl checkpoint" period=30
}}
DAEMON {{
  authd         cmd="authd"
  idled         cmd="idled"
{self.indexd_daemon()}}}
""")

    def indexd_daemon(self):
        """the indexd line of master.conf's DAEMON, when it runs"""
        return '  indexd        cmd="indexd"\n' if self.indexd else ""

    def tls_service(self):
        """the imaps line of master.conf, when the server has TLS"""
        if not self.tls_port:
            return ""
        return (f'  imaps         cmd="tlsd" listen="127.0.0.1:{self.tls_port}"'
                f' prefork=2 maxchild=2 maxfds=4096'
                f' handoff="{self.dir}/conf/socket/tlsd"\n')

    def add_user(self, name, password):
        subprocess.run(["saslpasswd2", "-f", self.sasldb, "-p", "-c", name],
                       input=password.encode(), check=True)

    def chown(self):
        if os.geteuid() != 0:
            return
        pw = pwd.getpwnam("nobody")
        for root, dirs, files in os.walk(self.dir):
            for n in dirs + files:
                os.lchown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def start(self, wait=True):
        self.chown()
        env = dict(os.environ, BERTH_PROGDIR=PROGDIR)
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "master", "master"), "-C", self.conf,
             "-M", self.mconf, "-D"], stdout=self.log, stderr=self.log,
            env=env, start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=15):
        wait_greeting(self.port, self.proc, "master", self.logtext, timeout,
                      0.1)
        # master greets before its daemons listen: a session that waits
        # before idled does is served in its worker for good (an IDLE
        # tries to park once), which tests of parking do not expect
        n = self.log_count("berth/master[", "ready generation=")
        if not wait_for(lambda: self.log_count("berth/idled[",
                                               "listening on") >= n,
                        timeout):
            raise RuntimeError(f"idled not listening: {self.logtext()}")

    def parked(self):
        """how many sessions idled holds, as berthctl parked says (-1
        if it cannot tell)"""
        out = subprocess.run([os.path.join(BUILD, "tools", "berthctl"),
                              "-C", self.conf, "parked"],
                             capture_output=True, timeout=20)
        for ln in out.stdout.decode().splitlines():
            if ln.startswith("parked sessions: "):
                return int(ln.split(": ", 1)[1])
        return -1

    def logtext(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_count(self, *parts):
        """how many lines of the log hold every one of parts"""
        return sum(1 for ln in self.logtext().splitlines()
                   if all(p in ln for p in parts))

    def wait_log(self, *parts, count=1, timeout=10):
        """until count lines of the log hold every one of parts"""
        return wait_for(lambda: self.log_count(*parts) >= count, timeout)

    def connect(self, user=None, password=None):
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=deadline(20))
        if user:
            c.login(user, password)
        return c

    def children(self, name="imapd"):
        """pids of master's children running program name"""
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv0 = f.read().split(b"\0")[0]
            except OSError:
                continue
            if ppid == self.proc.pid and argv0.endswith(name.encode()):
                out.append(int(pid))
        return out

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
            if sig == signal.SIGKILL:
                # the group's other processes die a moment later; their
                # listening sockets close only then
                wait_group_gone(self.proc.pid, 10, 0.05)
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def finish(self):
        """the end of a shared server: stopped cleanly, no panic logged,
        its directory removed"""
        code = self.stop()
        log = self.logtext()
        self.cleanup()
        assert code == 0, log
        assert "panic" not in log, log


@pytest.fixture(scope="module")
def server():
    s = Server()
    s.add_user("alice", "secret")
    s.add_user("bob", "hunter2")
    s.start()
    yield s
    s.finish()


@pytest.fixture
def fresh():
    """a server of the test's own, started by the test"""
    made = []

    def make(**kw):
        s = Server(**kw)
        s.add_user("alice", "secret")
        made.append(s)
        return s
    yield make
    for s in made:
        s.stop()
        # shown by pytest only when the test failed
        print(f"---- master log {s.dir} ----")
        print(s.logtext()[-6000:])
        s.cleanup()


def pytest_runtest_makereport(item, call):
    if call.excinfo is not None and "server" in item.funcargs:
        print("---- master log ----")
        print(item.funcargs["server"].logtext()[-4000:])

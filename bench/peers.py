"""peers - the servers the benchmarks compare, started side by side.

Owns: installing (on demand, idempotently), configuring, starting in the
foreground and stopping Dovecot (default and with hibernation), Cyrus and
berth, each in a temporary directory on a given loopback port with users
user0..user<N-1> sharing one password; the "slow password backend"
(100 ms a check) for each; and measuring a server's process tree (sum of
PSS, process count).  Imported by bench/idle.py and bench/storm.py.

Does not: touch the system's own services or /etc; every file a server
writes is under its temporary directory, removed by stop().  berth runs
through tests/integration/conftest.Server, as berth's tests do, so the
harness works with whatever berth is built in top_builddir.

Invariants: a started peer is in its own session (process group), so
stop() kills every process it left; kill_all() stops every peer still
running (callers put it in a finally).  See /work/shared/PEERS.md for
why each setting is there.
"""
import grp
import imaplib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BUILD = os.environ.get("top_builddir", os.path.join(TOP, "build"))
os.environ["top_builddir"] = BUILD
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
try:
    import pytest  # noqa: F401  (conftest imports it for its fixtures)
except ImportError:
    import types
    _stub = types.ModuleType("pytest")
    _stub.fixture = lambda *a, **k: (a[0] if a and callable(a[0])
                                     else (lambda f: f))
    sys.modules["pytest"] = _stub
from conftest import (Server, free_port, wait_greeting,  # noqa: E402
                      wait_group_gone)

CACHE = os.path.join(BUILD, "bench-peers")
CYRUS_BIN = "/usr/lib/cyrus/bin"
SLOW_DELAY = 0.1
_running = []


def log(msg):
    print(f"# {msg}", file=sys.stderr, flush=True)


# ---- process trees -------------------------------------------------------

def tree(pid):
    """pid and all its descendants"""
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(p))
            except (OSError, ValueError, IndexError):
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
                        break
        except OSError:
            pass
    return total


def settle(pid, quiet=4.0, limit=60.0, target=None):
    """wait until pid's tree keeps its process count for quiet seconds
    (or reaches target processes); returns the count"""
    end = time.time() + limit
    last, since = -1, time.time()
    while time.time() < end:
        n = len(tree(pid))
        if target is not None and n <= target:
            return n
        if n != last:
            last, since = n, time.time()
        elif time.time() - since >= quiet:
            return n
        time.sleep(0.5)
    return last


def kv(line):
    """the key=value words of line, as a dict"""
    out = {}
    for w in line.split():
        if "=" in w:
            k, v = w.split("=", 1)
            out[k] = v
    return out


def print_result(kind, res, rep, keys):
    """one result line ("<kind> server=S run=R k=v ..." for keys in res),
    then the server log's warnings it carries"""
    fields = " ".join(f"{k}={res[k]}" for k in keys if k in res)
    print(f"{kind} server={res['server']} run={rep} {fields}", flush=True)
    for w in res.get("_warn", []):
        print(f"#   {res['server']} log: {w}", flush=True)


def ratio(a, b, fmt):
    """a / b formatted with fmt; "inf" when b is 0, "n/a" when either is
    missing or both infinite"""
    try:
        a, b = float(a), float(b)
        if a == b == float("inf"):
            return "n/a"
        return f"{a / b:{fmt}}" if b > 0 else "inf"
    except (TypeError, ValueError):
        return "n/a"


def print_ratios(rows, fields, counts, fmt):
    """rows: (head, {server: result}).  For each peer beside berth, one
    line "ratio <head> peer=P": fields [(name, key)] as peer / berth,
    counts [(name, key)] as "peer/berth"
    """
    for head, got in rows:
        b = got.get("berth")
        if not b:
            continue
        for s, r in got.items():
            if s == "berth":
                continue
            words = [f"{name}={ratio(r.get(k), b.get(k), fmt)}"
                     for name, k in fields]
            words += [f"{name}={r.get(k)}/{b.get(k)}" for name, k in counts]
            print(f"ratio {head} peer={s} " + " ".join(words), flush=True)


# ---- installing ----------------------------------------------------------

_updated = False


def _installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       capture_output=True, text=True)
    return r.returncode == 0 and "ok installed" in r.stdout


def apt_install(pkgs):
    global _updated
    missing = [p for p in pkgs if not _installed(p)]
    if not missing:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _updated:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env,
                       stdout=subprocess.DEVNULL, timeout=600)
        _updated = True
    log("installing " + " ".join(missing))
    subprocess.run(["apt-get", "install", "-y", "-q",
                    "--no-install-recommends"] + missing, check=True,
                   env=env, stdout=subprocess.DEVNULL, timeout=900)


def cyrus_root():
    """cyrus-imapd unpacked (it conflicts with dovecot-imapd)"""
    # cyrus-common wants an MTA: the light msmtp-mta only where there is
    # none (installing it would remove the Postfix test_lmtp.py uses)
    apt_install(["cyrus-common", "cyrus-admin", "sasl2-bin"] +
                ([] if os.path.exists("/usr/sbin/sendmail") else
                 ["msmtp-mta"]))
    root = os.path.join(CACHE, "cyrus-imapd")
    if os.path.exists(os.path.join(root, "usr/lib/cyrus/bin/imapd")):
        return root
    os.makedirs(CACHE, exist_ok=True)
    dl = tempfile.mkdtemp(dir=CACHE)
    os.chmod(dl, 0o777)     # apt's _apt user downloads into it
    subprocess.run(["apt-get", "download", "-q", "cyrus-imapd"], cwd=dl,
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=600)
    deb = [f for f in os.listdir(dl) if f.endswith(".deb")][0]
    subprocess.run(["dpkg", "-x", os.path.join(dl, deb), root + ".tmp"],
                   check=True)
    os.rename(root + ".tmp", root)
    shutil.rmtree(dl, ignore_errors=True)
    return root


# libraries a load generator links with (idlebench speaks TLS too)
C_LIBS = {"idlebench": ["-lssl", "-lcrypto"]}


def compile_c(name, out_dir=None):
    """cc -O2 -Wall bench/<name>.c into out_dir (BUILD), again when it or
    bench/benchutil.h changed; returns the path"""
    out = os.path.join(out_dir or BUILD, name)
    src = os.path.join(HERE, name + ".c")
    newest = max(os.path.getmtime(src),
                 os.path.getmtime(os.path.join(HERE, "benchutil.h")))
    if not os.path.exists(out) or os.path.getmtime(out) < newest:
        subprocess.run(["cc", "-O2", "-Wall", "-o", out, src] +
                       C_LIBS.get(name, []), check=True)
    return out


# ---- the slow password backend -------------------------------------------

class SlowSaslauthd:
    """bench/slowsaslauthd.py on a socket in dir, readable by anyone"""

    def __init__(self, dir, users, password, delay=SLOW_DELAY):
        self.sock = os.path.join(dir, "saslauthd", "mux")
        os.makedirs(os.path.dirname(self.sock), exist_ok=True)
        os.chmod(os.path.dirname(self.sock), 0o755)
        table = os.path.join(dir, "saslauthd", "users")
        with open(table, "w") as f:
            for u in range(users):
                f.write(f"user{u}:{password}\n")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "slowsaslauthd.py"),
             self.sock, table, str(delay), "--max-seconds=3600"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("slowsaslauthd: " + self.proc.stderr.read())
        self.stats = ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                _, err = self.proc.communicate(timeout=10)
                self.stats = err.strip().splitlines()[-1] if err else ""
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---- the peers -----------------------------------------------------------

class Peer:
    """a server: start(), pid (root of its tree), port, stop()"""
    name = "?"

    def __init__(self, users=50, password="pw", slow=False, port=None,
                 keep=None):
        self.users, self.password, self.slow = users, password, slow
        self.port = port or free_port()
        self.proc = None
        self.backend = None
        self.dir = None
        # keep: a directory that holds the server's mail across runs
        # (see keep_data); None: all of it goes with stop()
        self.keep = keep

    def keep_data(self, subs, owner):
        """the server's mail subdirectories subs of self.dir as symbolic
        links into self.keep, made (owned by owner, a (uid, gid)) when
        missing: a mailbox filled once serves later runs, on any port
        (the configuration is written anew each time).  The kept
        directories are the caller's to remove."""
        if self.keep is None:
            return
        os.makedirs(self.keep, exist_ok=True)
        for sub in subs:
            src = os.path.join(self.keep, sub)
            if not os.path.isdir(src):
                os.makedirs(src)
                os.chown(src, *owner)
            dst = os.path.join(self.dir, sub)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.symlink(src, dst)

    @property
    def pid(self):
        return self.proc.pid

    def tree(self):
        return tree(self.pid)

    def pss_kb(self):
        return pss_kb(self.tree())

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait_greeting(self, timeout=30):
        wait_greeting(self.port, self.proc, self.name, self.logtail, timeout,
                      0.2)

    def login_all(self):
        """every user logs in once (Cyrus creates INBOX then) and checks
        that INBOX can be selected"""
        for u in range(self.users):
            c = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
            c.login(f"user{u}", self.password)
            typ, _ = c.select("INBOX")
            if typ != "OK":
                raise RuntimeError(f"{self.name}: SELECT INBOX user{u}")
            c.logout()

    def check(self):
        """a right password works and a wrong one does not"""
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        try:
            c.login("user0", self.password + "x")
            raise RuntimeError(f"{self.name}: a wrong password worked")
        except imaplib.IMAP4.error:
            pass
        finally:
            try:
                c.shutdown()
            except OSError:
                pass
        self.login_all()

    LOG = None          # its log file in self.dir, if it writes one

    def logtail(self, n=3000):
        if self.LOG is None:
            return ""
        try:
            with open(os.path.join(self.dir, self.LOG), "rb") as f:
                return f.read().decode(errors="replace")[-n:]
        except OSError:
            return ""

    def warnings(self):
        return []

    def start(self):
        _running.append(self)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _kill_tree(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        wait_group_gone(self.proc.pid, 10, 0.1)

    def save_log(self):
        """copy the server's log to BUILD/bench-logs (kept after stop)"""
        text = self.logtail(10**9)
        if not text:
            return None
        d = os.path.join(BUILD, "bench-logs")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, time.strftime("%Y%m%d-%H%M%S-") +
                            f"{self.name}-{self.port}.log")
        with open(path, "w") as f:
            f.write(text)
        self.saved_log = path
        return path

    def stop(self):
        try:
            self._stop()
            if self.proc is not None and not getattr(self, "saved_log",
                                                     None):
                self.save_log()
        finally:
            if self.backend:
                self.backend.stop()
            if self in _running:
                _running.remove(self)
            if self.dir and os.environ.get("BENCH_KEEP") is None:
                shutil.rmtree(self.dir, ignore_errors=True)

    def _stop(self):
        self._kill_tree()


class Berth(Peer):
    """berth built in top_builddir, via conftest.Server"""
    name = "berth"
    # the load generator's clients share one IPv4 /16 (127.1.0.0/16):
    # authd's per-/16 admission limit would refuse past 10,000
    CONF = ("imapidlekeepalive: 10m\nidled_maxuser: 1000\n"
            "idled_maxusernet: 1000\nauthd_maxconns_wide: 0\n")

    def __init__(self, users=50, password="pw", slow=False, port=None,
                 prefork=4, maxchild=100, extra_conf="", keep=None):
        super().__init__(users, password, slow, port, keep)
        self.prefork, self.maxchild = prefork, maxchild
        self.extra_conf = extra_conf
        self.server = None

    def _start(self):
        # BENCH_BERTH_CONF: imapd.conf lines for experiments ("\n" as a
        # separator); the figures to quote use berth's defaults
        conf = self.CONF + self.extra_conf + os.environ.get(
            "BENCH_BERTH_CONF", "").replace("\\n", "\n")
        if conf and not conf.endswith("\n"):
            conf += "\n"
        # the indexer runs as etc/master.conf has it; BENCH_INDEXD=0
        # measures without it
        s = Server(prefork=self.prefork, maxchild=self.maxchild,
                   extra_conf="",
                   indexd=os.environ.get("BENCH_INDEXD", "1") != "0")
        self.server, self.dir = s, s.dir
        nobody = pwd.getpwnam("nobody")
        self.keep_data(("conf", "spool"), (nobody.pw_uid, nobody.pw_gid))
        if self.port:
            s.port = self.port
            s.write_master()
        if self.slow:
            self.backend = SlowSaslauthd(s.dir, self.users, self.password)
            conf += ("sasl_pwcheck_method: saslauthd\n"
                     f"sasl_saslauthd_path: {self.backend.sock}\n")
        # Server wrote imapd.conf with sasldb; the last value of a key
        # wins only if berth's cfg says so, so rewrite the file instead
        with open(s.conf) as f:
            lines = [ln for ln in f if not (self.slow and ln.startswith(
                ("sasl_pwcheck_method:", "sasl_auxprop_plugin:")))]
        with open(s.conf, "w") as f:
            f.writelines(lines)
            f.write(conf)
        for u in range(self.users):
            s.add_user(f"user{u}", self.password)
        s.start(wait=False)
        self.proc = s.proc
        # recovery of kept mail runs before master listens
        s.wait_ready(timeout=15 if self.keep is None else 300)

    def _stop(self):
        if self.server is None:
            return
        if self.keep is not None and self.proc.poll() is None:
            # recovery at the next start checks each commit-log record
            # against its journal: a checkpoint leaves it none
            nobody = pwd.getpwnam("nobody")
            subprocess.run([os.path.join(BUILD, "tools", "berthctl"),
                            "-C", self.server.conf, "checkpoint"],
                           user=nobody.pw_uid, group=nobody.pw_gid,
                           extra_groups=[], capture_output=True,
                           timeout=300, check=False)
        try:
            self.server.stop()
        except Exception:
            pass
        self._kill_tree()

    def logtail(self, n=3000):
        return self.server.logtext()[-n:] if self.server else ""

    def log_lines(self, *words):
        text = self.server.logtext() if self.server else ""
        return [ln for ln in text.splitlines()
                if any(w in ln for w in words)]

    def warnings(self):
        return self.log_lines(": warning:", ": error:", "panic", "fatal")

    def idled_pid(self):
        pids = self.server.children("idled") if self.server else []
        return pids[0] if pids else None


DOVECOT_CONF = """# written by bench/peers.py
base_dir = {d}/run
state_dir = {d}/state
instance_name = bench{port}
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{d}/mail/%u
mail_max_userip_connections = 100000
default_process_limit = 20000
default_client_limit = 19000
default_vsz_limit = 0
{passdb}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  service_count = 0
  process_min_avail = 2
  process_limit = 8
  client_limit = 19000
}}
service imap-urlauth-login {{
  process_limit = 1
}}
service imap {{
  process_limit = 20000
{imap_extra}}}
service anvil {{
  client_limit = 19000
}}
service auth {{
  client_limit = 19000
}}
{extra}
"""

DOVECOT_HIB = """imap_hibernate_timeout = 2s
service imap-hibernate {
  unix_listener imap-hibernate {
    mode = 0660
    group = $default_internal_group
  }
  client_limit = 19000
}
"""


class Dovecot(Peer):
    """Dovecot from Debian, tuned for load; hibernate=True adds
    imap_hibernate_timeout = 2s"""
    LOG = "dovecot.log"

    def __init__(self, users=50, password="pw", slow=False, port=None,
                 hibernate=False, keep=None):
        super().__init__(users, password, slow, port, keep)
        self.hibernate = hibernate
        self.name = "dovecot-hib" if hibernate else "dovecot"

    def _start(self):
        apt_install(["dovecot-imapd"])
        d = self.dir = tempfile.mkdtemp(prefix=f"bench-{self.name}-")
        os.chmod(d, 0o755)
        nobody = pwd.getpwnam("nobody")
        mail = os.path.join(d, "mail")
        if self.keep is not None:
            self.keep_data(("mail",), (nobody.pw_uid,
                                       grp.getgrnam("nogroup").gr_gid))
        else:
            os.makedirs(mail)
            os.chown(mail, nobody.pw_uid, grp.getgrnam("nogroup").gr_gid)
        users = os.path.join(d, "users")
        with open(users, "w") as f:
            for u in range(self.users):
                f.write(f"user{u}:{self.password}\n")
        os.chmod(users, 0o644)
        if self.slow:
            helper = compile_c("slowcheckpw", d)
            os.chmod(helper, 0o755)
            passdb = ("passdb {\n  driver = checkpassword\n"
                      f"  args = {helper}\n}}\n")
        else:
            passdb = ("passdb {\n  driver = passwd-file\n"
                      "  args = scheme=PLAIN username_format=%u "
                      f"{users}\n}}\n")
        imap_extra = ""
        extra = ""
        if self.hibernate:
            imap_extra = ("  unix_listener imap-master {\n"
                          "    user = $default_internal_user\n  }\n")
            extra = DOVECOT_HIB
        self.conf = os.path.join(d, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(d=d, port=self.port, passdb=passdb,
                                        imap_extra=imap_extra, extra=extra))
        r = subprocess.run(["doveconf", "-c", self.conf, "-n"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("doveconf: " + r.stderr)
        self.proc = subprocess.Popen(
            ["dovecot", "-F", "-c", self.conf],
            stdout=open(os.path.join(d, "stdout.log"), "ab"),
            stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_greeting()

    def warnings(self):
        return [ln for ln in self.logtail(10**8).splitlines()
                if "Warning" in ln or "Error" in ln or "Fatal" in ln]


CYRUS_CONF = """# written by bench/peers.py
START {{
  recover       cmd="{bin}/ctl_cyrusdb -C {conf} -r"
}}
SERVICES {{
  imap          cmd="{root}/usr/lib/cyrus/bin/imapd -C {conf}" listen="127.0.0.1:{port}" prefork=5 maxchild=-1 maxfds=1024
}}
EVENTS {{
  checkpoint    cmd="{bin}/ctl_cyrusdb -C {conf} -c" period=30
}}
DAEMON {{
  idled         cmd="{root}/usr/lib/cyrus/bin/idled -C {conf}"
}}
"""

CYRUS_IMAPD = """configdirectory: {d}/conf
partition-default: {d}/spool
servername: bench
admins: cyrus
allowplaintext: yes
sasl_mech_list: PLAIN LOGIN
{sasl}
autocreate_quota: 0
altnamespace: no
unixhierarchysep: no
syslog_prefix: cyrus-bench{port}
idlesocket: {d}/conf/socket/idle
notifysocket: {d}/conf/socket/notify
lmtpsocket: {d}/conf/socket/lmtp
"""


class Cyrus(Peer):
    """Cyrus IMAP from Debian (unpacked), with idled"""
    name = "cyrus"
    LOG = "master.log"

    def _start(self):
        root = cyrus_root()
        d = self.dir = tempfile.mkdtemp(prefix="bench-cyrus-")
        os.chmod(d, 0o755)
        cy = pwd.getpwnam("cyrus")
        mailgid = grp.getgrnam("mail").gr_gid
        self.keep_data(("conf", "spool"), (cy.pw_uid, mailgid))
        if self.keep is not None:
            # what a stopped Cyrus leaves of its processes and sockets
            for sub in ("conf/proc", "conf/socket", "conf/lock"):
                shutil.rmtree(os.path.join(d, sub), ignore_errors=True)
        for sub in ("conf", "spool", "conf/db", "conf/socket", "conf/proc",
                    "conf/log", "conf/msg", "conf/user", "conf/quota",
                    "conf/sieve", "conf/ptclient", "conf/lock"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        sasldb = os.path.join(d, "sasldb2")
        if self.slow:
            self.backend = SlowSaslauthd(d, self.users, self.password)
            sasl = ("sasl_pwcheck_method: saslauthd\n"
                    f"sasl_saslauthd_path: {self.backend.sock}\n")
        else:
            sasl = ("sasl_pwcheck_method: auxprop\n"
                    "sasl_auxprop_plugin: sasldb\n"
                    f"sasl_sasldb_path: {sasldb}\n")
            for u in range(self.users):
                subprocess.run(["saslpasswd2", "-f", sasldb, "-u", "bench",
                                "-p", "-c", f"user{u}"],
                               input=self.password.encode(), check=True)
        self.conf = os.path.join(d, "imapd.conf")
        with open(self.conf, "w") as f:
            f.write(CYRUS_IMAPD.format(d=d, sasl=sasl, port=self.port))
        self.mconf = os.path.join(d, "cyrus.conf")
        with open(self.mconf, "w") as f:
            f.write(CYRUS_CONF.format(bin=CYRUS_BIN, root=root,
                                      port=self.port, conf=self.conf))
        for top, dirs, files in os.walk(d, followlinks=True):
            for n in dirs + files:
                os.lchown(os.path.join(top, n), cy.pw_uid, mailgid)
        os.chown(d, cy.pw_uid, mailgid)
        self.proc = subprocess.Popen(
            [os.path.join(CYRUS_BIN, "master"), "-C", self.conf, "-M",
             self.mconf, "-l", "1024", "-p", os.path.join(d, "master.pid"),
             "-D"],
            stdout=open(os.path.join(d, "master.log"), "ab"),
            stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_greeting()


def make(name, **kw):
    """a peer by benchmark name: berth, dovecot, dovecot-hib, cyrus"""
    if name == "berth":
        return Berth(**kw)
    if name == "dovecot":
        return Dovecot(**kw)
    if name == "dovecot-hib":
        return Dovecot(hibernate=True, **kw)
    if name == "cyrus":
        return Cyrus(**kw)
    raise ValueError(f"unknown server {name}")


def kill_all():
    for p in list(_running):
        try:
            p.stop()
        except Exception as e:
            log(f"stopping {p.name}: {e}")


def on_signals():
    """SIGTERM and SIGHUP unwind like Ctrl-C, so finally blocks run"""
    def raise_kbd(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, raise_kbd)
    signal.signal(signal.SIGHUP, raise_kbd)


class Sysctl:
    """set a sysctl for the run if writable, restore it afterwards"""

    def __init__(self, key, value):
        self.path = "/proc/sys/" + key.replace(".", "/")
        self.key, self.value, self.old, self.note = key, value, None, ""

    def __enter__(self):
        try:
            with open(self.path) as f:
                self.old = f.read().strip()
            if self.value and int(self.old) < int(self.value):
                with open(self.path, "w") as f:
                    f.write(str(self.value))
                self.note = f"{self.key}={self.value} (was {self.old})"
            else:
                self.note = f"{self.key}={self.old}"
                self.old = None
        except OSError as e:
            self.note = f"{self.key} not writable ({e.strerror}); left " \
                        f"at {self.old}"
            self.old = None
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            try:
                with open(self.path, "w") as f:
                    f.write(self.old)
            except OSError:
                pass


if __name__ == "__main__":
    # bench/peers.py [--slow] [names]: start each, check logins, stop
    slow = "--slow" in sys.argv
    names = [a for a in sys.argv[1:] if not a.startswith("--")] or [
        "berth", "dovecot", "dovecot-hib", "cyrus"]
    on_signals()
    try:
        for n in names:
            p = make(n, users=5, slow=slow)
            t0 = time.time()
            p.start()
            p.check()
            print(f"{n} slow={int(slow)} port={p.port} ok "
                  f"processes={len(p.tree())} pss_kb={p.pss_kb()} "
                  f"check_s={time.time() - t0:.1f}")
            for w in p.warnings()[:10]:
                print(f"  {w}")
            if p.backend:
                p.stop()
                print(f"  backend {p.backend.stats}")
            p.stop()
    finally:
        kill_all()

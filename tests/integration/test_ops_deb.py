"""The Debian package: scripts/deb builds berth_*.deb with
dpkg-buildpackage; its contents install beside cyrus-common and
dovecot-core (no man page or program of theirs), the configuration is
conffiles, the unit runs real paths with LimitNOFILE and hardening, and
the maintainer scripts never remove mail.

test_install_serve_purge installs the package on this machine with
dpkg -i (as root: the berth user, its directories, the enabled unit),
starts master with the unit's ExecStart command line (master drops to
the berth user), logs in over IMAPS with the self-signed certificate the
first start made, delivers a message, stops it, purges the package and
checks that the mail is still there.  One run at a time on a machine (a
lock); it leaves the machine as it found it.

Skips only where dpkg-buildpackage or debhelper is missing (scripts/test
and scripts/deb install them), or, for the install, without root.
"""
import fcntl
import glob
import imaplib
import os
import pwd
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import tempfile
import time

import pytest

from conftest import deadline, free_port, wait_for

SRC = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))

pytestmark = pytest.mark.skipif(
    shutil.which("dh") is None or shutil.which("dpkg-buildpackage") is None
    or shutil.which("fakeroot") is None,
    reason="dpkg-buildpackage, debhelper or fakeroot is missing: install "
    "dpkg-dev, debhelper and fakeroot (scripts/test and scripts/deb do)")

# names other mail servers' Debian packages install
FOREIGN = {"usr/share/man/man8/master.8.gz", "usr/share/man/man8/imapd.8.gz",
           "usr/share/man/man8/lmtpd.8.gz", "usr/share/man/man5/imapd.conf.5.gz",
           "usr/share/man/man5/master.conf.5.gz",
           "usr/share/man/man8/idled.8.gz", "usr/sbin/imapd", "usr/sbin/master",
           "usr/sbin/lmtpd"}


@pytest.fixture(scope="module")
def deb():
    r = subprocess.run([os.path.join(SRC, "scripts", "deb")], cwd=SRC,
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout + r.stderr
    debs = sorted(glob.glob(os.path.join(SRC, "deb", "berth_*.deb")),
                  key=os.path.getmtime)
    assert debs
    d = tempfile.mkdtemp(prefix="berth-deb-")
    subprocess.run(["dpkg-deb", "-R", debs[-1], d], check=True)
    yield debs[-1], d
    shutil.rmtree(d, ignore_errors=True)


def test_contents(deb):
    path, root = deb
    files = set()
    for dp, dn, fn in os.walk(root):
        for n in fn:
            files.add(os.path.relpath(os.path.join(dp, n), root))
    assert "usr/sbin/berthctl" in files
    for p in ("master", "imapd", "authd", "idled", "tlsd", "lmtpd"):
        assert f"usr/lib/berth/{p}" in files, sorted(files)
    assert not (FOREIGN & files), FOREIGN & files
    assert "usr/share/man/man8/berth-imapd.8.gz" in files
    assert "usr/share/man/man8/berthctl.8.gz" in files
    with open(os.path.join(root, "DEBIAN", "conffiles")) as f:
        conf = f.read().split()
    assert "/etc/berth/imapd.conf" in conf and \
        "/etc/berth/master.conf" in conf


def test_unit(deb):
    path, root = deb
    units = glob.glob(os.path.join(root, "lib/systemd/system/berth.service")) \
        + glob.glob(os.path.join(root, "usr/lib/systemd/system/berth.service"))
    assert units
    with open(units[0]) as f:
        unit = f.read()
    assert "@" not in unit.split("ExecStart=", 1)[1].split("\n", 1)[0]
    assert "ExecStart=/usr/lib/berth/master -F -C /etc/berth/imapd.conf" \
        in unit
    for key in ("LimitNOFILE=", "ProtectSystem=", "PrivateTmp=yes",
                "NoNewPrivileges=yes"):
        assert key in unit


def test_scripts_keep_mail(deb):
    path, root = deb
    with open(os.path.join(root, "DEBIAN", "postinst")) as f:
        postinst = f.read()
    assert "adduser --system" in postinst and "sasl" in postinst
    assert "/var/spool/berth" in postinst and "/var/lib/berth" in postinst
    for s in ("postrm", "prerm", "postinst"):
        p = os.path.join(root, "DEBIAN", s)
        if os.path.exists(p):
            with open(p) as f:
                text = f.read()
            assert "rm -rf /var/spool" not in text
            assert "rm -rf /var/lib/berth" not in text


LOCK = "/run/lock/berth-test-deb.lock"
DATA = ("/var/lib/berth", "/var/spool/berth")


def installed(pkg="berth"):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       capture_output=True, text=True)
    return r.returncode == 0 and "installed" in r.stdout and \
        "not-installed" not in r.stdout


def dpkg(*args):
    r = subprocess.run(["dpkg", *args], capture_output=True, text=True,
                       timeout=600,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


def exec_start(unit_text):
    line = re.search(r"^ExecStart=(.*)$", unit_text, re.M).group(1)
    return shlex.split(line)


def greeting(port):
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            return s.recv(100).startswith(b"* OK")
    except OSError:
        return False


@pytest.fixture
def machine():
    """the machine's dpkg, one test at a time; puts back what it found"""
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root")
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    had_user = True
    try:
        pwd.getpwnam("berth")
    except KeyError:
        had_user = False
    if installed() or any(os.path.exists(d) for d in DATA):
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        pytest.skip("berth is installed here, or its data directories "
                    "exist: the test does not touch them")
    procs = []
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if installed():
            subprocess.run(["dpkg", "--purge", "berth"], capture_output=True)
        for d in DATA:
            shutil.rmtree(d, ignore_errors=True)
        if os.path.exists("/run/berth-master.pid"):
            os.unlink("/run/berth-master.pid")
        if not had_user:
            subprocess.run(["deluser", "--quiet", "berth"],
                           capture_output=True)
            subprocess.run(["delgroup", "--quiet", "berth"],
                           capture_output=True)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def test_install_serve_purge(deb, machine):
    path, root = deb
    dpkg("-i", path)
    pw = pwd.getpwnam("berth")
    for d in DATA:
        assert os.stat(d).st_uid == pw.pw_uid, d
    r = subprocess.run(["getent", "group", "sasl"], capture_output=True,
                       text=True)
    if r.returncode == 0:
        assert "berth" in r.stdout.strip().split(":")[-1].split(","), r
    assert os.path.exists("/etc/systemd/system/multi-user.target.wants/"
                          "berth.service")
    unit = [u for u in ("/lib/systemd/system/berth.service",
                        "/usr/lib/systemd/system/berth.service")
            if os.path.exists(u)]
    with open(unit[0]) as f:
        argv = exec_start(f.read())
    assert argv[0] == "/usr/lib/berth/master" and os.access(argv[0], os.X_OK)

    # the administrator's edit: loopback ports of the test's own
    port, tls_port = free_port(), free_port()
    with open("/etc/berth/master.conf") as f:
        mconf = f.read()
    mconf = mconf.replace('listen="143"', f'listen="127.0.0.1:{port}"')
    mconf = mconf.replace('listen="993"', f'listen="127.0.0.1:{tls_port}"')
    with open("/etc/berth/master.conf", "w") as f:
        f.write(mconf)
    r = subprocess.run(["berthctl", "user", "add", "alice", "-p"],
                       input="secret\n", capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r

    log = tempfile.TemporaryFile()
    p = subprocess.Popen(argv, stdout=log, stderr=log,
                         start_new_session=True)
    machine.append(p)

    def logtext():
        log.seek(0)
        return log.read().decode(errors="replace")
    assert wait_for(lambda: greeting(port) or p.poll() is not None,
                    60), logtext()
    assert p.poll() is None, logtext()
    with open("/run/berth-master.pid") as f:
        assert f.read() == f"{p.pid}\n"
    # the first start made a self-signed certificate
    assert os.path.exists("/var/lib/berth/tls/server.pem")
    ctx = ssl.create_default_context(cafile="/var/lib/berth/tls/server.pem")
    ctx.check_hostname = False
    c = imaplib.IMAP4_SSL("127.0.0.1", tls_port, ssl_context=ctx,
                          timeout=deadline(20))
    c.login("alice", "secret")
    msg = b"From: a@example.org\r\nSubject: kept\r\n\r\nbody\r\n"
    typ, _ = c.append("INBOX", None, None, msg)
    assert typ == "OK"
    c.logout()
    # the workers run as berth, not root
    workers = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as f:
                st = f.read()
            prog = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if prog == "/usr/lib/berth/imapd":
            uid = int(re.search(r"^Uid:\s+(\d+)", st, re.M).group(1))
            workers.append(uid)
    assert workers and set(workers) == {pw.pw_uid}, workers
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=60) == 0, logtext()
    # removed, or emptied where master (as berth) may not unlink it
    assert not os.path.exists("/run/berth-master.pid") or \
        os.path.getsize("/run/berth-master.pid") == 0

    spool = [os.path.join(dp, n) for dp, dn, fn in os.walk("/var/spool/berth")
             for n in fn]
    assert spool
    found = [f for f in spool if open(f, "rb").read().endswith(b"body\r\n")]
    assert found, spool
    dpkg("--purge", "berth")
    assert not installed()
    assert not os.path.exists("/etc/berth/imapd.conf")
    assert not os.path.exists("/usr/lib/berth/master")
    # mail and the database stay: berthctl(8) says how to remove them
    for f in found:
        with open(f, "rb") as fh:
            assert fh.read().endswith(b"body\r\n")
    assert os.path.exists("/var/lib/berth/sasldb2")
    assert not os.path.exists("/run/berth-master.pid")
    pwd.getpwnam("berth")

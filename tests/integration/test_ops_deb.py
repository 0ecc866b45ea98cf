"""The Debian package: scripts/deb builds berth_*.deb with
dpkg-buildpackage; its contents install beside cyrus-common and
dovecot-core (no man page or program of theirs), the configuration is
conffiles, the unit runs real paths with LimitNOFILE and hardening, and
the maintainer scripts never remove mail.

Runs with BERTH_TEST_DEB=1 where debhelper is installed (scripts/deb
installs it): the build takes minutes, more than the everyday suite
should spend.
"""
import glob
import os
import shutil
import subprocess
import tempfile

import pytest

SRC = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))

pytestmark = pytest.mark.skipif(
    shutil.which("dh") is None or shutil.which("dpkg-buildpackage") is None
    or not os.environ.get("BERTH_TEST_DEB"),
    reason="set BERTH_TEST_DEB=1 (the build takes minutes) and install "
    "debhelper (scripts/deb does)")

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

"""SASL through authd: SCRAM with a real client, Debian's saslauthd as a
backend, malformed and oversized SASL data, authd killed mid-login."""
import base64
import hashlib
import hmac
import os
import shutil
import signal
import socket
import subprocess
import tempfile

import pytest

from fakeauthd import FakeSaslauthd
from raw import Raw
from conftest import deadline, wait_for

MECHS = "sasl_mech_list: PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-1\n"


def b64(b):
    return base64.b64encode(b)


def scram(r, tag, mech, user, password, ir=True, tamper=False):
    """an RFC 5802 client exchange; returns (tagged line, server verified)"""
    h = {"SCRAM-SHA-1": hashlib.sha1,
         "SCRAM-SHA-256": hashlib.sha256}[mech]
    nonce = b64(os.urandom(18)).decode()
    bare = f"n={user},r={nonce}".encode()
    first = b"n,," + bare
    if ir:
        r.send(tag + b" AUTHENTICATE " + mech.encode() + b" " + b64(first) +
               b"\r\n")
    else:
        r.send(tag + b" AUTHENTICATE " + mech.encode() + b"\r\n")
        ln = r.line()
        assert ln.strip() == b"+", ln
        r.send(b64(first) + b"\r\n")
    ln = r.line()
    if not ln.startswith(b"+ "):
        return ln, False
    sfirst = base64.b64decode(ln[2:])
    attrs = dict(a.split(b"=", 1) for a in sfirst.split(b","))
    assert attrs[b"r"].startswith(nonce.encode())
    salted = hashlib.pbkdf2_hmac(h().name, password.encode(),
                                 base64.b64decode(attrs[b"s"]),
                                 int(attrs[b"i"]))
    ckey = hmac.new(salted, b"Client Key", h).digest()
    stored = h(ckey).digest()
    final_wo = b"c=" + b64(b"n,,") + b",r=" + attrs[b"r"]
    auth = bare + b"," + sfirst + b"," + final_wo
    sig = hmac.new(stored, auth, h).digest()
    proof = bytes(a ^ b for a, b in zip(ckey, sig))
    if tamper:
        proof = bytes([proof[0] ^ 1]) + proof[1:]
    r.send(b64(final_wo + b",p=" + b64(proof)) + b"\r\n")
    ln = r.line()
    verified = False
    if ln.startswith(b"+ "):
        # additional data with success: the server's signature
        sfinal = base64.b64decode(ln[2:])
        skey = hmac.new(salted, b"Server Key", h).digest()
        want = b"v=" + b64(hmac.new(skey, auth, h).digest())
        verified = sfinal == want
        r.send(b"\r\n")
        ln = r.line()
    return ln, verified


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-1"])
def test_scram_end_to_end(fresh, mech):
    s = fresh(extra_conf=MECHS).start()
    r = Raw(s.port)
    caps = r.cmd(b"c", b"CAPABILITY")[0]
    assert b"AUTH=" + mech.encode() in caps, caps
    ln, verified = scram(r, b"a1", mech, "alice", "secret")
    assert ln.startswith(b"a1 OK"), ln
    assert verified, "the server's signature did not verify"
    assert r.cmd(b"s", b"SELECT INBOX")[-1].startswith(b"s OK")
    # without SASL-IR, and with a wrong password
    r2 = Raw(s.port)
    ln, _ = scram(r2, b"b1", mech, "alice", "secret", ir=False)
    assert ln.startswith(b"b1 OK"), ln
    r3 = Raw(s.port)
    ln, _ = scram(r3, b"c1", mech, "alice", "wrong")
    assert ln.startswith(b"c1 NO [AUTHENTICATIONFAILED]"), ln
    r4 = Raw(s.port)
    ln, _ = scram(r4, b"d1", mech, "alice", "secret", tamper=True)
    assert ln.startswith(b"d1 NO"), ln
    assert f"login ok user=alice addr=127.0.0.1 mech={mech}" in s.logtext()


def saslauthd_or_skip(dbpath, rundir):
    """Debian's saslauthd -a sasldb on a private socket, reading our sasldb
    (it only reads /etc/sasldb2: bind-mounted in a private namespace)"""
    exe = shutil.which("saslauthd") or "/usr/sbin/saslauthd"
    if os.geteuid() != 0 or not os.path.exists(exe):
        pytest.skip("needs root and sasl2-bin's saslauthd")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot make a private mount namespace: " +
                    probe.stderr.decode())
    p = subprocess.Popen(
        ["unshare", "-m", "sh", "-c",
         f"mount --bind {dbpath} /etc/sasldb2 && exec {exe} -a sasldb "
         f"-m {rundir} -n 2 -d"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    mux = os.path.join(rundir, "mux")
    if not wait_for(lambda: os.path.exists(mux), 10):
        os.killpg(p.pid, signal.SIGKILL)
        pytest.skip("saslauthd did not start")
    return p, mux


def stop_group(p):
    """stop saslauthd and its workers; a worker busy in a check may
    ignore SIGTERM for a while"""
    os.killpg(p.pid, signal.SIGTERM)
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(10)


def test_real_saslauthd_backend(fresh):
    run = tempfile.mkdtemp(prefix="berth-saslauthd-")
    os.chmod(run, 0o755)
    s = fresh()
    p, mux = saslauthd_or_skip(s.sasldb, run)
    try:
        with open(s.conf, "a") as f:
            f.write(f"sasl_pwcheck_method: saslauthd\n"
                    f"sasl_saslauthd_path: {mux}\n")
        s.start()
        r = Raw(s.port)
        assert r.cmd(b"a", b"LOGIN alice secret")[-1].startswith(b"a OK")
        r2 = Raw(s.port)
        assert r2.cmd(b"b", b"AUTHENTICATE PLAIN " +
                      b64(b"\0alice\0secret"))[-1].startswith(b"b OK")
        r3 = Raw(s.port)
        out = r3.cmd(b"c", b"LOGIN alice nope")
        assert out[-1].startswith(b"c NO [AUTHENTICATIONFAILED]"), out
    finally:
        stop_group(p)
        shutil.rmtree(run, ignore_errors=True)


def hung(fresh, conf=""):
    d = tempfile.mkdtemp(prefix="berth-sa-")
    os.chmod(d, 0o755)
    fake = FakeSaslauthd(os.path.join(d, "mux"), {}, hang={"alice"})
    s = fresh(extra_conf=MECHS + "sasl_pwcheck_method: saslauthd\n"
              f"sasl_saslauthd_path: {fake.path}\n" + conf)
    return s, fake


def test_hung_saslauthd_times_out_while_scram_gets_through(fresh):
    s, fake = hung(fresh, "authd_backend_timeout: 2s\n"
                   "authd_backend_threads: 2\n")
    try:
        s.start()
        stuck = Raw(s.port, timeout=30)
        stuck.send(b"p LOGIN alice secret\r\n")
        # the LOGIN is with saslauthd, which never answers
        assert wait_for(lambda: fake.checks == 1), fake.checks
        # SCRAM reads sasldb itself (auxprop): it does not need saslauthd
        r = Raw(s.port)
        ln, verified = scram(r, b"a1", "SCRAM-SHA-256", "alice", "secret")
        assert ln.startswith(b"a1 OK") and verified, ln
        out = stuck.until_tag(b"p")[-1]
        assert out.startswith(b"p NO [UNAVAILABLE]"), out
        assert "reason=backend-timeout" in s.logtext()
        assert fake.checks == 1
    finally:
        fake.stop()


def authd_pid(s):
    assert wait_for(lambda: len(s.children("authd")) == 1)
    return s.children("authd")[0]


def test_malformed_sasl_answered_and_authd_lives(fresh):
    s = fresh(extra_conf=MECHS).start()
    pid = authd_pid(s)
    r = Raw(s.port)
    cases = [
        b"AUTHENTICATE PLAIN !!!!",                     # not base64
        b"AUTHENTICATE PLAIN QUJD=x==",                 # padding inside
        b"AUTHENTICATE " + b"X" * 40 + b" =",           # mechanism too long
        b"AUTHENTICATE PLAIN " + b64(b"no separators"),
        b"AUTHENTICATE SCRAM-SHA-256 " + b64(b"garbage"),
        b"AUTHENTICATE SCRAM-SHA-1 " + b64(b"n,,n=alice"),
        b"AUTHENTICATE NOSUCHMECH =",
        b"LOGIN " + b"u" * 300 + b" x",                 # user too long
    ]
    for i, c in enumerate(cases):
        tag = b"m%d" % i
        out = r.cmd(tag, c)
        assert out[-1].startswith((tag + b" BAD", tag + b" NO")), (c, out)
    # a response over 16 KB decoded is a line over the pre-login limit
    big = Raw(s.port)
    assert big.cmd(b"n", b"NOOP")[-1].startswith(b"n OK")
    big.send(b"m AUTHENTICATE PLAIN " + b64(b"x" * 20000) + b"\r\n")
    assert big.line().startswith(b"* BYE Command line too long")
    # a continuation that is not base64, or too long, ends the exchange
    r.send(b"x1 AUTHENTICATE PLAIN\r\n")
    assert r.line().startswith(b"+")
    r.send(b"%%%\r\n")
    assert r.line().startswith(b"x1 BAD")
    r.send(b"x2 AUTHENTICATE LOGIN\r\n")
    assert r.line().startswith(b"+")
    r.send(b64(b"y" * 30000) + b"\r\n")
    assert r.line().startswith(b"x2 BAD")
    # garbage straight onto authd's socket closes only that connection
    path = os.path.join(s.dir, "conf", "socket", "authd")
    g = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    g.connect(path)
    g.send(b"\x01\x00\x01\x00\xff\xff\x00\x00garbage")
    g.settimeout(deadline(5))
    assert g.recv(100) == b""
    g.close()
    assert r.cmd(b"ok", b"LOGIN alice secret")[-1].startswith(b"ok OK")
    assert s.children("authd") == [pid]


def test_authd_killed_mid_login_answers_unavailable(fresh):
    d = tempfile.mkdtemp(prefix="berth-sa-")
    os.chmod(d, 0o755)
    fake = FakeSaslauthd(os.path.join(d, "mux"), {"alice": "secret"},
                         delay=3.0)
    s = fresh(extra_conf="sasl_pwcheck_method: saslauthd\n"
              f"sasl_saslauthd_path: {fake.path}\n")
    try:
        s.start()
        pid = authd_pid(s)
        # idled's link to authd is up: the LOGIN waits for its answer
        # parked in idled
        assert s.wait_log("peer role=idled"), s.logtext()
        # one login waiting on the backend, one between two SASL steps
        waiting = Raw(s.port, timeout=30)
        waiting.send(b"w LOGIN alice secret\r\n")
        between = Raw(s.port, timeout=30)
        between.send(b"b AUTHENTICATE PLAIN\r\n")
        assert between.line().startswith(b"+")
        # the LOGIN is with the backend (which would say OK after 3 s)
        assert wait_for(lambda: fake.checks == 1), fake.checks
        os.kill(pid, signal.SIGKILL)
        # answered for authd's death (idled lost its link: the answer
        # will not come), not by the backend's late OK nor when the
        # login's wait runs out
        out = waiting.until_tag(b"w")[-1]
        assert out.startswith(b"w NO [UNAVAILABLE]"), out
        assert "logins waiting for it answered count=1" in s.logtext()
        between.send(b64(b"\0alice\0secret") + b"\r\n")
        out = between.until_tag(b"b")[-1]
        assert out.startswith(b"b NO [UNAVAILABLE]"), out
        # master restarts authd; the same sessions can log in again
        assert wait_for(lambda: s.children("authd") not in ([], [pid]), 15)
        fake.delay = 0
        assert wait_for(lambda: waiting.cmd(b"w2", b"LOGIN alice secret")
                        [-1].startswith(b"w2 OK"), 10)
    finally:
        fake.stop()

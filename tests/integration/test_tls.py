"""tlsd: IMAPS and STARTTLS, TLS sessions parked like plaintext ones,
faults in the handshake, certificate reloads, session resumption."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

import imaplib
import pytest

from conftest import make_cert
from raw import Raw
from conftest import wait_for

MSG = b"From: a@example.com\r\nSubject: over tls\r\n\r\nsecret mail\r\n"


class TlsRaw(Raw):
    """Raw over implicit TLS"""

    def __init__(self, s, timeout=10, greet=True, ctx=None, sni=None):
        ctx = ctx or client_ctx(s)
        tcp = socket.create_connection(("127.0.0.1", s.tls_port),
                                       timeout=timeout)
        self.s = ctx.wrap_socket(tcp, server_hostname=sni or "localhost")
        self.buf = b""
        self.greeting = self.line() if greet else None


def client_ctx(s, **kw):
    ctx = ssl.create_default_context(cafile=s.cert)
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


@pytest.fixture
def tls(fresh):
    """a started server with TLS and plaintext logins refused"""
    s = fresh(tls=True, allowplaintext=False,
              extra_conf="tls_handshake_timeout: 2s\n").start()
    return s


def tlsd_loaded(s, n=2):
    """all n tlsd processes (the fixture's prefork=2) have loaded their
    certificates: a tlsd makes its signalfd just after the load, and
    only from then is a SIGHUP a reload rather than a start"""
    pids = s.children("tlsd")
    if len(pids) < n:
        return False
    for p in pids:
        try:
            fds = os.listdir(f"/proc/{p}/fd")
            if not any(os.readlink(f"/proc/{p}/fd/{f}") ==
                       "anon_inode:[signalfd]" for f in fds):
                return False
        except OSError:
            return False
    return True


def imaps(s, **kw):
    return imaplib.IMAP4_SSL("localhost", s.tls_port,
                             ssl_context=client_ctx(s, **kw), timeout=20)


def test_imaps_roundtrip(tls):
    c = imaps(tls)
    caps = c.capabilities
    assert "AUTH=PLAIN" in caps and "AUTH=LOGIN" in caps
    assert "LOGINDISABLED" not in caps and "STARTTLS" not in caps
    c.login("alice", "secret")
    c.append("INBOX", None, None, MSG)
    c.select("INBOX")
    typ, data = c.fetch("1", "(BODY[])")
    assert typ == "OK" and data[0][1] == MSG
    c.logout()
    log = tls.logtext()
    assert "tls addr=127.0.0.1" in log and "version=TLSv1.3" in log
    # imapd sees the client's address and the TLS facts, not tlsd's
    assert wait_for(lambda: "connect addr=127.0.0.1" in tls.logtext() and
                    "tls=TLSv1.3" in tls.logtext())


def test_starttls_roundtrip(tls):
    c = imaplib.IMAP4("127.0.0.1", tls.port, timeout=20)
    assert "STARTTLS" in c.capabilities
    assert "LOGINDISABLED" in c.capabilities
    with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
        c.login("alice", "secret")
    c.starttls(ssl_context=client_ctx(tls))
    # fresh capabilities, asked again after the handshake
    assert "STARTTLS" not in c.capabilities
    assert "LOGINDISABLED" not in c.capabilities
    assert "AUTH=PLAIN" in c.capabilities
    with pytest.raises(imaplib.IMAP4.error, match="already active"):
        c._simple_command("STARTTLS")
    c.login("alice", "secret")
    c.select("INBOX")
    c.logout()


def test_starttls_refused_after_login(fresh):
    s = fresh(tls=True).start()
    r = Raw(s.port)
    assert r.cmd(b"l", b"LOGIN alice secret")[-1].startswith(b"l OK")
    assert r.cmd(b"t", b"STARTTLS")[-1].startswith(b"t BAD")
    r.cmd(b"z", b"LOGOUT")


def test_starttls_pipelined_input_discarded(tls):
    r = Raw(tls.port)
    # the injection: a command after STARTTLS in the same packet
    r.send(b"a STARTTLS\r\nb LOGIN alice secret\r\n")
    assert r.line().startswith(b"a OK Begin TLS negotiation now")
    assert r.buf == b""
    r.s = client_ctx(tls).wrap_socket(r.s, server_hostname="localhost")
    out = r.cmd(b"c", b"CAPABILITY")
    assert not any(ln.startswith(b"b ") for ln in out), out
    assert b"LOGINDISABLED" not in out[0] and b"AUTH=PLAIN" in out[0]
    # still not logged in: b LOGIN was never run
    assert r.cmd(b"d", b"SELECT INBOX")[-1].startswith(b"d BAD")
    r.cmd(b"z", b"LOGOUT")
    assert wait_for(lambda: "starttls user=- addr=127.0.0.1 discarded="
                    "22" in tls.logtext())


def test_curl_imaps(tls):
    if shutil.which("curl") is None:
        pytest.skip("no curl")
    r = subprocess.run(["curl", "-sS", "--cacert", tls.cert, "-u",
                        "alice:secret",
                        f"imaps://localhost:{tls.tls_port}/"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"INBOX" in r.stdout
    # STARTTLS required (--ssl-reqd) on the plaintext port
    r = subprocess.run(["curl", "-sS", "--ssl-reqd", "--cacert", tls.cert,
                        "-u", "alice:secret",
                        f"imap://localhost:{tls.port}/"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"INBOX" in r.stdout


def s_client(s, *args, data=b"a LOGOUT\r\n", port=None, verify=True):
    v = ["-verify_return_error"] if verify else []
    return subprocess.run(["openssl", "s_client", "-connect",
                           f"127.0.0.1:{port or s.tls_port}", "-CAfile",
                           s.cert, *v, "-ign_eof", *args],
                          input=data, capture_output=True, timeout=30)


def test_openssl_s_client_and_resumption(tls, tmp_path):
    for v in ("-tls1_2", "-tls1_3"):
        sess = str(tmp_path / f"sess{v}")
        r = s_client(tls, v, "-sess_out", sess)
        assert b"* OK [CAPABILITY" in r.stdout, r.stdout + r.stderr
        assert b"Verify return code: 0 (ok)" in r.stdout
        # two tlsd processes share the ticket keys: any of them resumes
        for _ in range(3):
            r = s_client(tls, v, "-sess_in", sess)
            assert b"Reused, TLSv1." in r.stdout, r.stdout
            assert b"* BYE" in r.stdout
    assert "resumed=yes" in tls.logtext()
    # STARTTLS with s_client too
    r = s_client(tls, "-starttls", "imap", port=tls.port)
    assert b"Verify return code: 0 (ok)" in r.stdout, r.stdout + r.stderr


def tls_idler(s, mailbox, tag=b"i1"):
    r = TlsRaw(s)
    r.cmd(b"l", b"LOGIN alice secret")
    r.cmd(b"s", b"SELECT " + mailbox)
    r.send(tag + b" IDLE\r\n")
    assert r.line().startswith(b"+ ")
    return r


def test_idle_over_tls_parks_and_wakes(fresh):
    # maxidle=1: the workers the logins took go once the sessions park
    # (by default master keeps a grown pool a minute)
    s = fresh(tls=True, prefork=2, maxchild=6, maxidle=1).start()
    c = s.connect("alice", "secret")
    c.create("push")
    c.append("push", None, None, MSG)
    idlers = [tls_idler(s, b"push") for _ in range(20)]
    # 20 IDLEs over TLS on at most 6 workers: parked in idled
    assert wait_for(lambda: s.logtext().count("park user=alice") >= 20)
    assert wait_for(lambda: len(s.children()) <= 3, 20), s.children()
    assert s.parked() >= 20
    # idled tells the idlers itself: none goes back to a worker (a
    # worker count is no proof: one forked for a login of the burst may
    # come after the wait above, at load)
    unparked = s.log_count("unpark user=alice", "kind=idle")
    c.append("push", None, None, MSG)
    for r in idlers:
        assert r.line() == b"* 2 EXISTS"
    assert s.log_count("unpark user=alice", "kind=idle") == unparked, \
        s.logtext()
    # idled saw the client's address, not tlsd's socketpair
    assert "park user=alice addr=127.0.0.1" in s.logtext()
    for r in idlers:
        r.send(b"DONE\r\n")
        assert r.line().startswith(b"i1 OK")
        assert r.cmd(b"z", b"LOGOUT")[-1].startswith(b"z OK")
    c.logout()


def test_silent_tls_session_parks_before_login(fresh):
    s = fresh(tls=True, prefork=2, maxchild=6).start()
    rs = [TlsRaw(s) for _ in range(10)]
    assert wait_for(lambda: s.parked() >= 10, 20), s.parked()
    for r in rs:
        out = r.cmd(b"a", b"LOGIN alice secret")
        assert out[-1].startswith(b"a OK"), out
        r.cmd(b"z", b"LOGOUT")


def test_garbage_and_stalled_handshakes_block_no_one(tls):
    stalled = [socket.create_connection(("127.0.0.1", tls.tls_port))
               for _ in range(5)]
    g = socket.create_connection(("127.0.0.1", tls.tls_port), timeout=10)
    g.sendall(b"GET / HTTP/1.0\r\n\r\n")
    # a record too large for TLS
    big = socket.create_connection(("127.0.0.1", tls.tls_port), timeout=10)
    big.sendall(b"\x16\x03\x01\xff\xff" + b"\x01" * 1000)
    # others are served meanwhile
    c = imaps(tls)
    c.login("alice", "secret")
    c.logout()
    assert wait_for(lambda: "TLS handshake failed addr=127.0.0.1" in
                    tls.logtext() and "http request" in tls.logtext())
    assert wait_for(lambda: tls.logtext().count("TLS handshake timed out "
                    "addr=127.0.0.1") >= 5, 10)
    assert "limit=tls_handshake_timeout:2s" in tls.logtext()
    for x in stalled + [g, big]:
        x.settimeout(5)
        try:
            while x.recv(100):
                pass    # a TLS alert, then the close
        except ConnectionResetError:
            pass
        x.close()
    log = tls.logtext()
    assert "packet length too long" in log or "record" in log, log


def test_client_vanishing_mid_record(tls):
    r = TlsRaw(tls)
    r.cmd(b"l", b"LOGIN alice secret")
    # half a record, then gone
    os.write(r.s.fileno(), b"\x17\x03\x03\x00\x40" + b"x" * 10)
    r.s.close()
    assert wait_for(lambda: 'reason="unexpected eof while reading"' in
                    tls.logtext())
    assert wait_for(lambda: "disconnect user=alice" in tls.logtext())
    c = imaps(tls)
    c.login("alice", "secret")
    c.logout()


def test_sighup_reloads_certificate_keeps_session(tls):
    r = TlsRaw(tls)
    r.cmd(b"l", b"LOGIN alice secret")
    old = r.s.getpeercert(binary_form=True)
    tmp = os.path.join(tls.dir, "new")
    os.mkdir(tmp)
    cert, key = make_cert(tmp)
    shutil.copy(cert, tls.cert)
    shutil.copy(key, tls.key)
    tls.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: tls.logtext().count("reloaded certificates")
                    >= 2)
    # the open session goes on
    assert r.cmd(b"n", b"NOOP")[-1].startswith(b"n OK")
    c = TlsRaw(tls)
    assert c.s.getpeercert(binary_form=True) != old
    c.cmd(b"z", b"LOGOUT")
    r.cmd(b"z", b"LOGOUT")


def test_bad_certificate_on_reload_keeps_running(tls):
    # a tlsd still starting would read the bad file as its first load
    assert wait_for(lambda: tlsd_loaded(tls))
    ca = os.path.join(tls.dir, "ca.crt")
    shutil.copy(tls.cert, ca)
    tls.cert = ca
    with open(os.path.join(tls.dir, "localhost.crt"), "w") as f:
        f.write("not a certificate\n")
    tls.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "reload failed, keeping the running "
                    "certificates" in tls.logtext())
    assert "localhost.crt: no start line" in tls.logtext()
    c = imaps(tls)
    c.login("alice", "secret")
    c.logout()


def start_failure(fresh, conf, want):
    """master starts, tlsd refuses to with want in its log"""
    s = fresh(tls=True)
    with open(s.conf, "a") as f:
        f.write(conf(s.dir))
    s.start(wait=False)
    assert wait_for(lambda: want(s.dir) in s.logtext(), 15), s.logtext()


def test_missing_certificate_is_named(fresh):
    start_failure(fresh, lambda d: f"tls_server_cert: {d}/nope.crt\n",
                  lambda d: f"cannot read TLS certificate {d}/nope.crt")


def test_mismatched_key_is_named(fresh):
    def conf(d):
        return f"tls_server_key: {make_cert(d, 'other')[1]}\n"
    start_failure(fresh, conf, lambda d: f"TLS key {d}/other.key does not "
                  "match certificate")


def expired_cert(d):
    """a certificate that expired yesterday, and its key"""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    k = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(k.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=10))
            .not_valid_after(now - datetime.timedelta(days=1))
            .sign(k, hashes.SHA256()))
    with open(f"{d}/old.crt", "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(f"{d}/old.key", "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
    return f"tls_server_cert: {d}/old.crt\ntls_server_key: {d}/old.key\n"


def test_expired_certificate_is_named(fresh):
    start_failure(fresh, expired_cert,
                  lambda d: f"TLS certificate {d}/old.crt has expired")


def test_sni_picks_the_certificate(fresh):
    s = fresh(tls=True)
    cert, key = make_cert(s.dir, "other.example.org")
    with open(s.conf, "a") as f:
        f.write(f"tls_sni_certs: *.example.org={cert},{key}\n")
    s.start()
    r = s_client(s, "-servername", "imap.example.org", verify=False)
    assert b"CN = other.example.org" in r.stdout, r.stdout
    r = s_client(s, "-servername", "localhost")
    assert b"CN = localhost" in r.stdout, r.stdout


def test_renegotiation_refused(tls):
    p = subprocess.Popen(["openssl", "s_client", "-connect",
                          f"127.0.0.1:{tls.tls_port}", "-tls1_2",
                          "-CAfile", tls.cert],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: "tls addr=127.0.0.1" in tls.logtext())
        p.stdin.write(b"R\n")
        p.stdin.flush()
        assert wait_for(lambda: "TLS renegotiation refused addr=127.0.0.1"
                        in tls.logtext())
    finally:
        p.kill()
        p.wait()
    c = imaps(tls)
    c.login("alice", "secret")
    c.logout()


def test_tlsd_crash_is_restarted(tls):
    # master starts the tlsd processes after it is ready
    assert wait_for(lambda: len(tls.children("tlsd")) == 2)
    pids = tls.children("tlsd")
    os.kill(pids[0], signal.SIGKILL)
    assert wait_for(lambda: len(tls.children("tlsd")) == 2 and
                    pids[0] not in tls.children("tlsd"), 15)
    for _ in range(4):
        c = imaps(tls)
        c.login("alice", "secret")
        c.logout()


@pytest.mark.skipif(shutil.which("mbsync") is None, reason="no mbsync")
def test_mbsync_over_tls(tls, tmp_path):
    c = imaps(tls)
    c.login("alice", "secret")
    c.create("Sync")
    c.append("Sync", None, None, MSG)
    c.logout()
    maildir = tmp_path / "mail"
    maildir.mkdir()
    for ssltype, port in (("IMAPS", tls.tls_port), ("STARTTLS", tls.port)):
        rc = tmp_path / f"mbsyncrc-{ssltype}"
        rc.write_text(f"""IMAPAccount berth
Host localhost
Port {port}
User alice
Pass secret
SSLType {ssltype}
CertificateFile {tls.cert}

IMAPStore remote
Account berth

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns Sync
Create Both
SyncState *
""")
        r = subprocess.run(["mbsync", "-c", str(rc), "-a"],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode() + r.stdout.decode()
    files = os.listdir(maildir / "Sync" / "cur") + \
        os.listdir(maildir / "Sync" / "new")
    assert len(files) == 1


def test_default_configs_serve_tls(fresh):
    """etc/master.conf and etc/imapd.conf as shipped, moved to a temporary
    directory and loopback ports: a self-signed certificate is made on the
    first start, IMAPS and STARTTLS work, plaintext logins are refused"""
    s = fresh(tls=True)
    top = os.environ.get("top_srcdir") or os.path.join(
        os.path.dirname(__file__), "..", "..")

    def moved(text):
        text = text.replace("/var/lib/berth", f"{s.dir}/conf")
        text = text.replace("/var/spool/berth", f"{s.dir}/spool")
        text = text.replace('listen="143"', f'listen="127.0.0.1:{s.port}"')
        return text.replace('listen="993"',
                            f'listen="127.0.0.1:{s.tls_port}"')
    with open(os.path.join(top, "etc", "master.conf")) as f:
        mconf = moved(f.read())
    with open(s.mconf, "w") as f:
        f.write(mconf)
    with open(os.path.join(top, "etc", "imapd.conf")) as f:
        conf = moved(f.read())
    conf = conf.replace("berth_user: berth", f"berth_user: {s.user()}")
    conf = conf.replace(f"sasl_sasldb_path: {s.dir}/conf/sasldb2",
                        f"sasl_sasldb_path: {s.sasldb}")
    with open(s.conf, "w") as f:
        f.write(conf)
    s.start()
    assert wait_for(lambda: "made a self-signed certificate" in
                    s.logtext())
    s.cert = f"{s.dir}/conf/tls/server.pem"
    c = imaps(s)
    assert "AUTH=PLAIN" in c.capabilities
    c.login("alice", "secret")
    c.logout()
    c = imaplib.IMAP4("127.0.0.1", s.port, timeout=20)
    assert "LOGINDISABLED" in c.capabilities
    assert "STARTTLS" in c.capabilities
    with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
        c.login("alice", "secret")
    c.starttls(ssl_context=client_ctx(s))
    c.login("alice", "secret")
    c.logout()


def test_plaintext_on_loopback_when_configured(fresh):
    s = fresh(tls=True, allowplaintext=False,
              extra_conf="allowplaintext_loopback: yes\n").start()
    c = imaplib.IMAP4("127.0.0.1", s.port, timeout=20)
    assert "LOGINDISABLED" not in c.capabilities
    c.login("alice", "secret")
    c.logout()


def test_no_shared_cipher_is_named(tls):
    r = s_client(tls, "-tls1_2", "-cipher", "AES128-SHA", verify=False)
    assert b"BEGIN CERTIFICATE" not in r.stdout
    assert wait_for(lambda: 'reason="no shared cipher"' in tls.logtext())


def connections(s):
    """berthctl connections: the first line, and whether alice holds 2"""
    from conftest import BUILD
    out = subprocess.run([os.path.join(BUILD, "tools", "berthctl"), "-C",
                          s.conf, "connections"],
                         capture_output=True, text=True).stdout
    return out.split("\n", 1)[0], "2  alice" in out


def test_refused_address_costs_no_handshake(fresh):
    s = fresh(tls=True, extra_conf="authd_maxconns_addr: 1\n").start()
    # the probe that saw the server ready is gone from authd's count
    assert wait_for(lambda: connections(s)[0] == "connections: 0")
    first = TlsRaw(s)
    tcp = socket.create_connection(("127.0.0.1", s.tls_port), timeout=10)
    with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
        client_ctx(s).wrap_socket(tcp, server_hostname="localhost")
    tcp.close()
    assert wait_for(lambda: "limit=authd_maxconns_addr" in s.logtext())
    # one handshake only: the refused client got none
    assert s.logtext().count("tls addr=127.0.0.1") == 1
    first.cmd(b"z", b"LOGOUT")


def client_cert(d, ca_cert, ca_key, name="client"):
    """a client certificate for CN=name signed by the CA; its paths"""
    key, csr, crt = (f"{d}/{name}.{x}" for x in ("key", "csr", "crt"))
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                    "-out", csr, "-subj", f"/CN={name}"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_cert,
                    "-CAkey", ca_key, "-CAcreateserial", "-out", crt,
                    "-days", "2"], check=True, capture_output=True)
    return crt, key


def test_client_certificates_required(fresh):
    s = fresh(tls=True)
    ca, cakey = make_cert(s.dir, "ca")
    crt, key = client_cert(s.dir, ca, cakey)
    with open(s.conf, "a") as f:
        f.write(f"tls_client_certs: require\ntls_client_ca_file: {ca}\n")
    s.start()
    r = s_client(s, "-cert", crt, "-key", key)
    assert b"* OK [CAPABILITY" in r.stdout, r.stdout + r.stderr
    # imapd knows who the certificate says the client is
    assert wait_for(lambda: 'peer="/CN=client"' in s.logtext())
    r = s_client(s, "-tls1_2")
    assert b"* OK [CAPABILITY" not in r.stdout
    assert wait_for(lambda: "peer did not return a certificate" in
                    s.logtext())


def test_tls_versions_limit_the_protocol(fresh):
    s = fresh(tls=True, extra_conf="tls_versions: tls1_3\n").start()
    r = s_client(s, "-tls1_2")
    assert b"* OK [CAPABILITY" not in r.stdout
    assert wait_for(lambda: 'reason="unsupported protocol"' in s.logtext())
    r = s_client(s, "-tls1_3")
    assert b"* OK [CAPABILITY" in r.stdout


def test_notify_over_tls_parks_and_wakes(fresh):
    s = fresh(tls=True, prefork=2, maxchild=5,
              extra_conf="notify_park_delay: 100ms\n").start()
    c = s.connect("alice", "secret")
    c.create("a")
    rs = []
    for _ in range(8):
        r = TlsRaw(s)
        r.cmd(b"l", b"LOGIN alice secret")
        out = r.cmd(b"n", b"NOTIFY SET STATUS (mailboxes (a) "
                    b"(MessageNew MessageExpunge))")
        assert out[-1] == b"n OK NOTIFY completed", out
        rs.append(r)
    # eight NOTIFY sessions over TLS on at most five workers: in idled
    assert wait_for(lambda: s.logtext().count("park user=alice "
                    "addr=127.0.0.1 kind=wait") >= 8), s.logtext()
    assert len(s.children()) <= 5
    c.append("a", None, None, MSG)
    for r in rs:
        assert r.line().startswith(b"* STATUS a (MESSAGES 1 UIDNEXT 2")
    for r in rs:
        assert r.cmd(b"o", b"LOGOUT")[-1].startswith(b"o OK")
    c.logout()


def seqpacket(path):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    c.settimeout(10)
    c.connect(path)
    return c


def ipc(mtype, fields=b""):
    """an ipc message: {u16 version; u16 type; u32 len} and fields"""
    import struct
    return struct.pack("=HHI", 1, mtype, 8 + len(fields)) + fields


def test_malformed_messages_close_only_that_peer(tls):
    conf = os.path.join(tls.dir, "conf", "socket")
    pids = tls.children("tlsd")
    # to tlsd's STARTTLS socket: garbage, then a STARTTLS without fields
    for msg in (b"garbage", ipc(301)):
        a, b = socket.socketpair()
        c = seqpacket(os.path.join(conf, "tlsd"))
        socket.send_fds(c, [msg], [b.fileno()])
        b.close()
        assert c.recv(100) == b""       # closed, no TAKEN
        a.settimeout(10)
        assert a.recv(100) == b""       # and the client fd with it
        c.close()
    # to a worker's handoff socket: a NEW session without fields
    a, b = socket.socketpair()
    c = seqpacket(os.path.join(conf, "handoff"))
    socket.send_fds(c, [ipc(300)], [b.fileno()])
    b.close()
    a.settimeout(10)
    assert a.recv(100) == b""
    assert wait_for(lambda: "malformed TLS session from tlsd dropped" in
                    tls.logtext())
    assert "malformed STARTTLS message" in tls.logtext()
    assert tls.children("tlsd") == pids
    c = imaps(tls)
    c.login("alice", "secret")
    c.logout()


def test_oversized_record_in_session(tls):
    r = TlsRaw(tls)
    r.cmd(b"l", b"LOGIN alice secret")
    # a record header longer than TLS allows, under the session's TLS
    os.write(r.s.fileno(), b"\x17\x03\x03\x48\x01" + b"x" * 200)
    assert wait_for(lambda: "tls closed addr=127.0.0.1" in tls.logtext())
    assert wait_for(lambda: "disconnect user=alice" in tls.logtext())
    c = imaps(tls)
    c.login("alice", "secret")
    c.logout()
    assert 'reason="packet length too long"' in tls.logtext()


def test_authd_counts_each_tls_connection_once(fresh):
    tls = fresh(tls=True, extra_conf="wait_park_delay: 1s\n").start()

    def conns():
        return connections(tls)
    rs = [TlsRaw(tls) for _ in range(3)]
    rs[0].cmd(b"l", b"LOGIN alice secret")
    p = Raw(tls.port)
    p.cmd(b"t", b"STARTTLS")
    p.s = client_ctx(tls).wrap_socket(p.s, server_hostname="localhost")
    p.cmd(b"l", b"LOGIN alice secret")
    # held by tlsd, then a worker, then idled: counted once each
    assert wait_for(lambda: conns() == ("connections: 4", True)), conns()
    assert wait_for(lambda: tls.parked() >= 4, 20)
    assert conns() == ("connections: 4", True)
    for r in rs + [p]:
        r.close()
    assert wait_for(lambda: conns()[0] == "connections: 0"), conns()


def test_greetings_do_not_recycle_the_worker(fresh):
    # a worker is replaced after 250 logins, not after 250 connections
    # that only took the greeting: a new worker costs tens of ms of CPU
    s = fresh(tls=True, prefork=1, maxchild=1).start()
    ctx = client_ctx(s)
    sess = None
    for i in range(260):
        with socket.create_connection(("127.0.0.1", s.tls_port), 10) as t:
            with ctx.wrap_socket(t, server_hostname="localhost",
                                 session=sess) as c:
                assert c.recv(4096).startswith(b"* OK [CAPABILITY")
                sess = c.session
    assert wait_for(lambda: s.logtext().count(" tls=TLSv1.3") >= 260)
    pids = {ln.split("imapd[")[1].split("]")[0]
            for ln in s.logtext().splitlines()
            if "imapd[" in ln and " tls=TLSv1.3" in ln}
    assert len(pids) == 1, pids
    c = imaps(s)
    c.login("alice", "secret")
    c.logout()


def test_tls13_ciphersuites_configurable(fresh):
    s = fresh(tls=True, extra_conf="tls_ciphersuites: "
              "TLS_CHACHA20_POLY1305_SHA256\n").start()
    r = s_client(s, "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256")
    assert b"* OK [CAPABILITY" not in r.stdout
    assert wait_for(lambda: 'reason="no shared cipher"' in s.logtext())
    r = s_client(s, "-tls1_3", "-ciphersuites",
                 "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256")
    assert b"* OK [CAPABILITY" in r.stdout, r.stdout + r.stderr
    assert b"TLS_CHACHA20_POLY1305_SHA256" in r.stdout
    # TLS 1.2 keeps tls_ciphers
    r = s_client(s, "-tls1_2")
    assert b"* OK [CAPABILITY" in r.stdout


@pytest.mark.parametrize("bad", ["TLS_AES_128_GCM_SHA256:TLS_NOPE_SHA1",
                                 "ECDHE-RSA-AES128-GCM-SHA256"])
def test_bad_ciphersuites_are_named(fresh, bad):
    start_failure(fresh, lambda d: f"tls_ciphersuites: {bad}\n",
                  lambda d: f"tls_ciphersuites '{bad}': unknown TLS 1.3 "
                  "cipher suite")


def ca_and_leaf(d, name="localhost", serial=4242):
    """a CA, a certificate for name it signed with serial (the chain
    file: leaf then CA) and its key"""
    ca, cakey = make_cert(d, "ocspca")
    key, csr, crt = (f"{d}/leaf-{name}.{x}" for x in ("key", "csr", "crt"))
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                    "-out", csr, "-subj", f"/CN={name}"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca,
                    "-CAkey", cakey, "-set_serial", str(serial), "-out",
                    crt, "-days", "2"], check=True, capture_output=True)
    chain = f"{d}/chain-{name}.pem"
    with open(chain, "w") as f:
        f.write(open(crt).read() + open(ca).read())
    return ca, cakey, crt, chain, key


def ocsp_response(d, ca, cakey, crt, out, revoked=False, serial=4242):
    """a DER OCSP response about crt (serial) signed by the CA, written
    to out"""
    exp = "301231235959Z"
    sn = f"{serial:04X}"
    line = (f"R\t{exp}\t250101000000Z\t{sn}\tunknown\t/CN=x\n"
            if revoked else f"V\t{exp}\t\t{sn}\tunknown\t/CN=x\n")
    with open(f"{d}/index.txt", "w") as f:
        f.write(line)
    subprocess.run(["openssl", "ocsp", "-issuer", ca, "-cert", crt,
                    "-no_nonce", "-reqout", f"{d}/req.der"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "ocsp", "-index", f"{d}/index.txt",
                    "-rsigner", ca, "-rkey", cakey, "-CA", ca, "-reqin",
                    f"{d}/req.der", "-respout", f"{out}.new", "-ndays",
                    "2"], check=True, capture_output=True)
    os.replace(f"{out}.new", out)


def test_ocsp_stapled_and_reloaded(fresh):
    s = fresh(tls=True)
    ca, cakey, crt, chain, key = ca_and_leaf(s.dir)
    resp = f"{s.dir}/ocsp.der"
    ocsp_response(s.dir, ca, cakey, crt, resp)
    other, okey = make_cert(s.dir, "other.example.org")
    with open(s.conf, "a") as f:
        f.write(f"tls_server_cert: {chain}\ntls_server_key: {key}\n"
                f"tls_ocsp_file: {resp}\n"
                f"tls_sni_certs: other.example.org={other},{okey}\n")
    s.start()
    r = s_client(s, "-status", verify=False)
    assert b"OCSP Response Status: successful" in r.stdout, r.stdout
    assert b"Cert Status: good" in r.stdout
    # a fresh response, read again on SIGHUP
    ocsp_response(s.dir, ca, cakey, crt, resp, revoked=True)
    s.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: s.logtext().count("reloaded certificates") >= 2)
    r = s_client(s, "-status", verify=False)
    assert b"Cert Status: revoked" in r.stdout, r.stdout
    # not stapled for a certificate it is not about (SNI)
    r = s_client(s, "-status", "-servername", "other.example.org",
                 verify=False)
    assert b"CN = other.example.org" in r.stdout, r.stdout
    assert b"OCSP response: no response sent" in r.stdout, r.stdout


def test_ocsp_stapled_for_each_sni_certificate(fresh):
    # each tls_sni_certs entry staples its own response
    # (name=cert,key,ocsp): the default certificate's is good, the SNI
    # one's revoked, and each client gets the one about the certificate
    # it was sent; a reload reads the SNI entry's file again
    s = fresh(tls=True)
    ca, cakey, crt, chain, key = ca_and_leaf(s.dir)
    resp = f"{s.dir}/ocsp.der"
    ocsp_response(s.dir, ca, cakey, crt, resp)
    _, _, ocrt, ochain, okey = ca_and_leaf(s.dir, "other.example.org", 4343)
    oresp = f"{s.dir}/other-ocsp.der"
    ocsp_response(s.dir, ca, cakey, ocrt, oresp, revoked=True, serial=4343)
    with open(s.conf, "a") as f:
        f.write(f"tls_server_cert: {chain}\ntls_server_key: {key}\n"
                f"tls_ocsp_file: {resp}\n"
                f"tls_sni_certs: other.example.org={ochain},{okey},{oresp}"
                "\n")
    s.start()
    r = s_client(s, "-status", "-servername", "other.example.org",
                 verify=False)
    assert b"CN = other.example.org" in r.stdout, r.stdout
    assert b"OCSP Response Status: successful" in r.stdout, r.stdout
    assert b"Serial Number: 10F7" in r.stdout, r.stdout
    assert b"Cert Status: revoked" in r.stdout, r.stdout
    r = s_client(s, "-status", "-servername", "localhost", verify=False)
    assert b"Serial Number: 1092" in r.stdout, r.stdout
    assert b"Cert Status: good" in r.stdout, r.stdout
    ocsp_response(s.dir, ca, cakey, ocrt, oresp, serial=4343)
    s.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: s.logtext().count("reloaded certificates") >= 2)
    r = s_client(s, "-status", "-servername", "other.example.org",
                 verify=False)
    assert b"Serial Number: 10F7" in r.stdout, r.stdout
    assert b"Cert Status: good" in r.stdout, r.stdout


def test_sni_ocsp_for_another_certificate_is_refused(fresh):
    # the entry's response is about the default certificate's serial
    def conf(d):
        ca, cakey, crt, chain, key = ca_and_leaf(d)
        ocsp_response(d, ca, cakey, crt, f"{d}/ocsp.der")
        _, _, _, ochain, okey = ca_and_leaf(d, "other.example.org", 4343)
        return (f"tls_sni_certs: other.example.org={ochain},{okey},"
                f"{d}/ocsp.der\n")
    start_failure(fresh, conf, lambda d: "tls_sni_certs other.example.org "
                  f"ocspfile {d}/ocsp.der: no status for the serial number "
                  "of the certificate of other.example.org")


def test_ocsp_file_errors_are_named(fresh, tmp_path):
    def conf(d):
        with open(f"{d}/junk.der", "wb") as f:
            f.write(b"not an OCSP response")
        return f"tls_ocsp_file: {d}/junk.der\n"
    start_failure(fresh, conf, lambda d: f"tls_ocsp_file {d}/junk.der: not "
                  "a DER OCSP response")


def test_ocsp_for_another_certificate_is_refused(fresh):
    # the response is about the CA's leaf; the server's certificate is
    # the default self-signed one
    def conf(d):
        ca, cakey, crt, chain, key = ca_and_leaf(d)
        ocsp_response(d, ca, cakey, crt, f"{d}/ocsp.der")
        return f"tls_ocsp_file: {d}/ocsp.der\n"
    start_failure(fresh, conf, lambda d: f"tls_ocsp_file {d}/ocsp.der: no "
                  "status for the serial number of tls_server_cert")


def test_session_cap_holds_new_clients_and_logs_once(fresh):
    # maxfds=84 gives the one tlsd (84 - 64 reserved) / 2 = 10 sessions;
    # the 11th client waits in the listen backlog unanswered until a
    # session ends, the held ones go on, and being full is one log line
    # however often it is reached again
    s = fresh(tls=True)
    s.tls_service = lambda: (
        f'  imaps         cmd="tlsd" listen="127.0.0.1:{s.tls_port}"'
        f' prefork=1 maxchild=1 maxfds=84'
        f' handoff="{s.dir}/conf/socket/tlsd"\n')
    s.write_master()
    s.start()
    held = [TlsRaw(s) for _ in range(10)]
    assert s.wait_log("berth/tlsd[", "holding 10 connections", "limit=maxfds")
    for i in range(3):
        # connected (the kernel's backlog), its handshake not answered
        tcp = socket.create_connection(("127.0.0.1", s.tls_port),
                                       timeout=60)
        got = {}

        def handshake():
            try:
                t = client_ctx(s).wrap_socket(tcp,
                                              server_hostname="localhost")
                got["line"] = t.recv(200)
                got["tls"] = t
            except OSError as e:
                got["error"] = e
        th = threading.Thread(target=handshake)
        th.start()
        # the sessions it holds are served meanwhile
        assert held[-1].cmd(b"n", b"NOOP")[-1].startswith(b"n OK")
        held[i].cmd(b"z", b"LOGOUT")
        held[i].close()
        th.join(60)
        assert got.get("line", b"").startswith(b"* OK"), got
        held[i] = TlsRaw.__new__(TlsRaw)
        held[i].s, held[i].buf = got["tls"], b""
    # a later line of tlsd's: every earlier one is in the log by then
    s.proc.send_signal(signal.SIGHUP)
    assert s.wait_log("berth/tlsd[", "reloaded certificates connections=10")
    assert s.log_count("berth/tlsd[", "holding 10 connections") == 1, \
        s.logtext()
    assert s.log_count("berth/tlsd[", "accept:") == 0
    for c in held:
        assert c.cmd(b"z", b"LOGOUT")[-1].startswith(b"z OK")


def test_tls_connections_keep_alive_as_configured(fresh):
    # tlsd sets keep-alive on its listener once; each accepted client's
    # socket inherits it with tcp_keepalive_idle (found dead in minutes)
    s = fresh(tls=True, extra_conf="tcp_keepalive_idle: 77s\n").start()
    r = TlsRaw(s)

    def timers():
        out = subprocess.run(
            ["ss", "-tnoH", "state", "established",
             f"( sport = :{s.tls_port} )"],
            capture_output=True, text=True).stdout
        return [ln for ln in out.splitlines() if ln.strip()]
    # while the greeting is unacknowledged ss shows the retransmission
    # timer ("on"); the keep-alive one once the client has acked it
    assert wait_for(lambda: len(timers()) == 1 and
                    "timer:(keepalive,1min1" in timers()[0]), timers()
    r.cmd(b"z", b"LOGOUT")

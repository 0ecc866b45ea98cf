"""tlsd: IMAPS and STARTTLS, TLS sessions parked like plaintext ones,
faults in the handshake, certificate reloads, session resumption."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time

import imaplib
import pytest

from conftest import make_cert
from raw import Raw
from test_master import wait_for

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


def s_client(s, *args, data=b"a LOGOUT\r\n", port=None):
    return subprocess.run(["openssl", "s_client", "-connect",
                           f"127.0.0.1:{port or s.tls_port}", "-CAfile",
                           s.cert, "-verify_return_error",
                           "-ign_eof", *args],
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

"""PROXY protocol v1/v2 on the plaintext port (imapd) and the implicit-TLS
port (tlsd, before admission and the handshake): the real client address
reaches the logs, admission (authd) and idled; untrusted sources and bad
headers are refused, logged once."""
import socket
import ssl
import struct

import pytest

from raw import Raw
from conftest import deadline, wait_for

SIG = b"\r\n\r\n\0\r\nQUIT\n"


def v1(src, sport, dst=None, dport=143):
    fam = "TCP6" if ":" in src else "TCP4"
    dst = dst or ("::1" if ":" in src else "127.0.0.1")
    return f"PROXY {fam} {src} {dst} {sport} {dport}\r\n".encode()


def v2(src, sport, dst=None, dport=143, tlvs=b""):
    dst = dst or ("::1" if ":" in src else "127.0.0.1")
    if ":" in src:
        fam, af = 0x21, socket.AF_INET6
    else:
        fam, af = 0x11, socket.AF_INET
    addrs = (socket.inet_pton(af, src) + socket.inet_pton(af, dst) +
             struct.pack("!HH", sport, dport))
    return SIG + bytes([0x21, fam]) + struct.pack(
        "!H", len(addrs) + len(tlvs)) + addrs + tlvs


V2_LOCAL = SIG + b"\x20\x00\x00\x00"
CONF = "proxy_protocol: yes\nproxy_trusted: 127.0.0.0/24\n"


def proxied(s, header, source="127.0.0.2"):
    """a connection that sends header first, then reads the greeting"""
    r = Raw.nogreeting(s.port, source=source)
    r.send(header)
    r.greeting = r.line()
    return r


def count(s, text):
    return s.logtext().count(text)


def gone(r, timeout=5):
    """the server closed r without a word (a reset counts: the refused
    bytes were never read)"""
    r.s.settimeout(deadline(timeout))
    try:
        return r.s.recv(100) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def start(s):
    """start s and wait for a greeting behind a LOCAL header (master's
    own readiness probe sends none)"""
    s.start(wait=False)

    def greets():
        try:
            r = Raw.nogreeting(s.port, timeout=2)
            r.send(V2_LOCAL)
            ok = r.line().startswith(b"* OK")
            r.close()
            return ok
        except (OSError, EOFError):
            return False
    assert wait_for(greets, timeout=15), s.logtext()
    return s


def test_v1_real_address_logged_and_bytes_after_kept(fresh):
    s = start(fresh(extra_conf=CONF))
    r = Raw.nogreeting(s.port, source="127.0.0.2")
    # the header and the first command in one segment: the command is
    # the IMAP layer's, not the header reader's
    r.send(v1("203.0.113.9", 40001) + b"a LOGIN alice secret\r\n")
    assert r.line().startswith(b"* OK")
    assert r.until_tag(b"a")[-1].startswith(b"a OK")
    assert wait_for(lambda: "connect addr=203.0.113.9 port=40001" in
                    s.logtext())
    assert r.cmd(b"b", b"LOGOUT")[-1].startswith(b"b OK")


def test_v2_tcp4_tcp6_tlvs_and_local(fresh):
    s = start(fresh(extra_conf=CONF))
    r = proxied(s, v2("2001:db8::9", 993))
    assert r.greeting.startswith(b"* OK"), r.greeting
    assert wait_for(lambda: "connect addr=2001:db8::9 port=993" in
                    s.logtext())
    tlvs = b"\x04\x00\x03abc" + b"\x02\x00\x0bexample.org"
    r2 = proxied(s, v2("198.51.100.20", 50000, tlvs=tlvs) +
                 b"c CAPABILITY\r\n")
    assert r2.greeting.startswith(b"* OK")
    assert r2.until_tag(b"c")[-1].startswith(b"c OK")
    assert wait_for(lambda: "connect addr=198.51.100.20 port=50000" in
                    s.logtext())
    # LOCAL (a balancer's health check): the socket's own address
    r3 = proxied(s, V2_LOCAL, source="127.0.0.3")
    assert r3.greeting.startswith(b"* OK")
    assert wait_for(lambda: "connect addr=127.0.0.3 " in s.logtext())
    # v1 UNKNOWN: the same
    r4 = proxied(s, b"PROXY UNKNOWN\r\n", source="127.0.0.4")
    assert r4.greeting.startswith(b"* OK")
    assert wait_for(lambda: "connect addr=127.0.0.4 " in s.logtext())


def test_admission_limit_follows_the_proxy_address(fresh):
    s = start(fresh(extra_conf=CONF + "authd_maxconns_addr: 2\n"))
    # one client behind two balancer addresses
    held = [proxied(s, v1("198.51.100.7", 1000 + i),
                    source=f"127.0.0.{10 + i}") for i in range(2)]
    assert all(r.greeting.startswith(b"* OK") for r in held)
    r = proxied(s, v2("198.51.100.7", 1003), source="127.0.0.12")
    assert r.greeting.startswith(b"* BYE [UNAVAILABLE] Too many "
                                 b"connections"), r.greeting
    assert wait_for(lambda: "refuse addr=198.51.100.7 "
                    "limit=authd_maxconns_addr" in s.logtext())
    # another client through the same balancer is not affected
    other = proxied(s, v1("198.51.100.8", 1004), source="127.0.0.12")
    assert other.greeting.startswith(b"* OK"), other.greeting


def test_parked_session_keeps_the_proxy_address(fresh):
    s = start(fresh(extra_conf=CONF))
    r = proxied(s, v1("203.0.113.77", 2000))
    assert r.cmd(b"a", b"LOGIN alice secret")[-1].startswith(b"a OK")
    assert r.cmd(b"b", b"SELECT INBOX")[-1].startswith(b"b OK")
    r.send(b"c IDLE\r\n")
    assert r.line().startswith(b"+")
    assert wait_for(lambda: "park user=alice addr=203.0.113.77 kind=idle"
                    in s.logtext())
    r.send(b"DONE\r\n")
    assert r.until_tag(b"c")[-1].startswith(b"c OK")


def test_untrusted_source_refused_once(fresh):
    s = start(fresh(extra_conf="proxy_protocol: yes\n"
                    "proxy_trusted: 127.0.0.0/28, ::1\n"))
    r = Raw.nogreeting(s.port, source="127.0.1.5")
    r.send(v1("203.0.113.9", 40001))
    assert gone(r)
    line = ("refused addr=127.0.1.5 limit=proxy_protocol reason=\"PROXY "
            "header from an address not in proxy_trusted\"")
    assert wait_for(lambda: line in s.logtext())
    assert count(s, line) == 1
    # and nothing reached authd under either address
    assert "connect addr=203.0.113.9" not in s.logtext()
    assert "connect addr=127.0.1.5" not in s.logtext()


def test_malformed_and_missing_headers_refused(fresh):
    s = start(fresh(extra_conf=CONF + "proxy_timeout: 300ms\n"))
    cases = [
        ("127.0.0.20", b"a CAPABILITY\r\n", "not a PROXY header"),
        ("127.0.0.21", b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n",
         "v1: bad port"),
        ("127.0.0.22", SIG + b"\x21\x11\xff\xff",
         "v2: header longer than 2048 bytes"),
        ("127.0.0.23", b"PROXY TCP4 1.2.3.4 ", "PROXY header incomplete "
         "in time"),
        ("127.0.0.24", b"", "no PROXY header in time"),
    ]
    for src, data, why in cases:
        r = Raw.nogreeting(s.port, source=src)
        if data:
            r.send(data)
        assert gone(r), src
        line = (f"refused addr={src} limit=proxy_protocol "
                f"reason=\"{why}\"")
        assert wait_for(lambda: line in s.logtext()), line
        assert count(s, f"addr={src} ") == 1


def test_per_service_key(fresh):
    """imapd.conf "<service>_proxy_protocol" turns it on for one
    master.conf entry: the other port takes plain clients"""
    s = fresh(extra_conf="proxy_trusted: 127.0.0.0/24\n"
              "lb_proxy_protocol: yes\n")
    from conftest import free_port
    lbport = free_port()
    s.write_master(extra=f'  lb cmd="imapd" listen="127.0.0.1:{lbport}" '
                   f'prefork=1 maxchild=5\n')
    s.start()
    assert Raw(s.port).greeting.startswith(b"* OK")
    r = Raw.nogreeting(lbport, source="127.0.0.30")
    r.send(v1("192.0.2.30", 3000))
    assert r.line().startswith(b"* OK")
    assert wait_for(lambda: "connect addr=192.0.2.30 port=3000" in
                    s.logtext())
    plain = Raw.nogreeting(lbport, source="127.0.0.31")
    plain.send(b"a CAPABILITY\r\n")
    assert gone(plain)


def test_tls_proxy_v1_v2_before_the_handshake(fresh):
    """imaps_proxy_protocol: tlsd reads the header before admission and
    the handshake; logs, authd and imapd see the real client; the
    plaintext service takes no header"""
    s = fresh(tls=True, extra_conf="imaps_proxy_protocol: yes\n"
              "proxy_trusted: 127.0.0.0/28\n").start()
    ctx = ssl.create_default_context(cafile=s.cert)

    def imaps(header, source):
        tcp = socket.create_connection(("127.0.0.1", s.tls_port), timeout=10,
                                       source_address=(source, 0))
        tcp.sendall(header)
        r = Raw.__new__(Raw)
        r.s = ctx.wrap_socket(tcp, server_hostname="localhost")
        r.buf = b""
        r.greeting = r.line()
        return r

    r = imaps(v1("203.0.113.5", 41000, dport=993), "127.0.0.2")
    assert r.greeting.startswith(b"* OK"), r.greeting
    assert r.cmd(b"a", b"LOGIN alice secret")[-1].startswith(b"a OK")
    assert wait_for(lambda: "tls addr=203.0.113.5" in s.logtext())
    assert wait_for(lambda: "connect addr=203.0.113.5 port=41000" in
                    s.logtext())
    # parked over TLS: idled holds the real client too
    assert r.cmd(b"b", b"SELECT INBOX")[-1].startswith(b"b OK")
    r.send(b"c IDLE\r\n")
    assert r.line().startswith(b"+")
    assert wait_for(lambda: "park user=alice addr=203.0.113.5 kind=idle"
                    in s.logtext())
    r2 = imaps(v2("2001:db8::5", 41001, dport=993), "127.0.0.3")
    assert r2.greeting.startswith(b"* OK"), r2.greeting
    assert wait_for(lambda: "connect addr=2001:db8::5 port=41001" in
                    s.logtext())
    # the plaintext service is not behind the balancer
    assert Raw(s.port).greeting.startswith(b"* OK")
    # untrusted: refused before any TLS, logged once
    tcp = socket.create_connection(("127.0.0.1", s.tls_port), timeout=10,
                                   source_address=("127.0.1.9", 0))
    tcp.sendall(v1("203.0.113.6", 41002))
    r3 = Raw.__new__(Raw)
    r3.s = tcp
    assert gone(r3)
    line = ("refused addr=127.0.1.9 limit=proxy_protocol reason=\"PROXY "
            "header from an address not in proxy_trusted\"")
    assert wait_for(lambda: line in s.logtext())
    assert count(s, line) == 1
    # a ClientHello where the header should be
    tcp = socket.create_connection(("127.0.0.1", s.tls_port), timeout=10,
                                   source_address=("127.0.0.4", 0))
    with pytest.raises((ssl.SSLError, OSError)):
        ctx.wrap_socket(tcp, server_hostname="localhost")
    assert wait_for(lambda: "refused addr=127.0.0.4 limit=proxy_protocol "
                    "reason=\"not a PROXY header\"" in s.logtext())

"""User names: one rule for LOGIN and every SASL mechanism (lib/uname,
applied in authd).  Surrounding blanks are trimmed and the failure counts
against the canonical user; NUL, control characters, invalid UTF-8 and
over-long names are refused with a tagged BAD that says why, and the
refusal is logged with its reason."""
import base64
import os
import subprocess

from conftest import BUILD
from raw import Raw
from conftest import wait_for

MECHS = "sasl_mech_list: PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-1\n"
FAST = "authd_delay_base: 10ms\nauthd_delay_max: 20ms\n"


def b64(b):
    return base64.b64encode(b)


def berthctl(s, *args):
    out = subprocess.run([os.path.join(BUILD, "tools", "berthctl"), "-C",
                          s.conf] + list(args), capture_output=True,
                         timeout=20)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


def user_failures(s, user):
    """the failures berthctl penalties shows for user, or None"""
    rc, out, err = berthctl(s, "penalties")
    assert rc == 0, err
    lines = out.splitlines()
    start = [i for i, ln in enumerate(lines) if ln.startswith("users")]
    assert start, out
    for ln in lines[start[0] + 1:]:
        w = ln.split()
        if not w or ln.startswith(("clients", "networks")):
            break
        if w[-1] == user:
            return float(w[1])
    return None


def login_literal(r, tag, user, pw):
    """LOGIN with the user name as a literal (any byte in it)"""
    r.send(tag + b" LOGIN {%d}\r\n" % len(user))
    ln = r.line()
    assert ln.startswith(b"+"), ln
    r.send(user + b" " + pw + b"\r\n")
    return r.until_tag(tag)[-1]


def auth_login(r, tag, user, pw, ir=False):
    """AUTHENTICATE LOGIN; the tagged line"""
    if ir:
        r.send(tag + b" AUTHENTICATE LOGIN " + b64(user) + b"\r\n")
    else:
        r.send(tag + b" AUTHENTICATE LOGIN\r\n")
        ln = r.line()
        assert ln.startswith(b"+"), ln
        r.send(b64(user) + b"\r\n")
    ln = r.line()
    if not ln.startswith(b"+"):
        return ln
    r.send(b64(pw) + b"\r\n")
    return r.until_tag(tag)[-1]


def auth_plain(r, tag, authz, user, pw):
    r.send(tag + b" AUTHENTICATE PLAIN " + b64(authz + b"\0" + user + b"\0" +
                                               pw) + b"\r\n")
    return r.until_tag(tag)[-1]


def test_padded_names_fail_against_the_user(fresh):
    s = fresh(extra_conf=FAST).start()
    r = Raw(s.port, source="127.0.21.1")
    assert r.cmd(b"a", b'LOGIN "alice " wrong')[-1].startswith(
        b"a NO [AUTHENTICATIONFAILED]")
    assert r.cmd(b"b", b'LOGIN " alice" wrong')[-1].startswith(
        b"b NO [AUTHENTICATIONFAILED]")
    assert auth_plain(r, b"c", b"", b"\talice ", b"wrong").startswith(
        b"c NO [AUTHENTICATIONFAILED]")
    r.close()
    r = Raw(s.port, source="127.0.21.1")
    assert auth_login(r, b"d", b" alice", b"wrong").startswith(
        b"d NO [AUTHENTICATIONFAILED]")
    r.close()
    log = s.logtext()
    assert "login failed user=-" not in log, log
    assert log.count("login failed user=alice addr=127.0.21.1") == 4, log
    assert "fails_user=4.0" in log, log
    assert user_failures(s, "alice") >= 3.9
    # the canonical name and the padded one log in, as alice
    r = Raw(s.port, source="127.0.21.2")
    assert r.cmd(b"e", b'LOGIN "alice " secret')[-1].startswith(b"e OK")
    r.close()
    assert wait_for(lambda: "login ok user=alice addr=127.0.21.2" in
                    s.logtext())


def test_nul_in_user_name_refused(fresh):
    s = fresh(extra_conf=FAST).start()
    r = Raw(s.port, source="127.0.22.1")
    ln = auth_login(r, b"a", b"alice\0junk", b"secret")
    assert ln.startswith(b"a BAD") and b"NUL" in ln, ln
    ln = auth_login(r, b"b", b"alice\0", b"secret", ir=True)
    assert ln.startswith(b"b BAD") and b"NUL" in ln, ln
    # not logged in: the session still is not authenticated
    assert r.cmd(b"c", b"SELECT INBOX")[-1].startswith(b"c BAD")
    # PLAIN's fields cannot hold a NUL: an extra one is malformed
    ln = auth_plain(r, b"d", b"", b"alice", b"secret\0x")
    assert ln.startswith(b"d BAD"), ln
    # nor can LOGIN's, relayed as PLAIN
    ln = login_literal(r, b"e", b"alice\0x", b"secret")
    assert ln.startswith(b"e BAD") and b"NUL in user name" in ln, ln
    assert r.cmd(b"f", b"SELECT INBOX")[-1].startswith(b"f BAD")
    r.close()
    assert wait_for(lambda: 'login refused user=- addr=127.0.22.1 '
                    'mech=LOGIN reason="NUL in user name"' in s.logtext())
    assert s.logtext().count('mech=LOGIN reason="NUL in user name"') == 3


def test_control_characters_refused_everywhere(fresh):
    s = fresh(extra_conf=FAST + MECHS).start()
    r = Raw(s.port, source="127.0.23.1")
    ln = login_literal(r, b"a", b"ali\x01ce", b"secret")
    assert ln.startswith(b"a BAD") and b"control character" in ln, ln
    ln = auth_login(r, b"b", b"alice\r\n", b"secret")
    assert ln.startswith(b"b BAD") and b"control character" in ln, ln
    ln = auth_plain(r, b"c", b"", b"ali\x1bce", b"secret")
    assert ln.startswith(b"c BAD") and b"control character" in ln, ln
    # the authzid too
    ln = auth_plain(r, b"d", b"x\x7f", b"alice", b"secret")
    assert ln.startswith(b"d BAD") and b"control character" in ln, ln
    for tag, mech in ((b"e", b"SCRAM-SHA-256"), (b"f", b"SCRAM-SHA-1")):
        r.send(tag + b" AUTHENTICATE " + mech + b" " +
               b64(b"n,,n=ali\x07ce,r=abcdefgh") + b"\r\n")
        ln = r.until_tag(tag)[-1]
        assert ln.startswith(tag + b" BAD") and b"control" in ln, ln
        r.send(tag + b" AUTHENTICATE " + mech + b" " +
               b64(b"n,a=x\x01,n=alice,r=abcdefgh") + b"\r\n")
        ln = r.until_tag(tag)[-1]
        assert ln.startswith(tag + b" BAD") and b"control" in ln, ln
    r.close()
    log = s.logtext()
    for mech in ("PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-1"):
        assert (f"addr=127.0.23.1 mech={mech} "
                'reason="control character in user name"') in log, log


def test_invalid_utf8_and_long_names_refused(fresh):
    s = fresh(extra_conf=FAST).start()
    r = Raw(s.port, source="127.0.24.1")
    ln = auth_plain(r, b"a", b"", b"ali\xffce", b"secret")
    assert ln.startswith(b"a BAD") and b"UTF-8" in ln, ln
    ln = auth_plain(r, b"b", b"", b"\xc0\xafalice", b"secret")
    assert ln.startswith(b"b BAD") and b"UTF-8" in ln, ln
    ln = auth_login(r, b"c", b"a" * 256, b"secret")
    assert ln.startswith(b"c BAD") and b"too long" in ln, ln
    ln = auth_login(r, b"d", b"   ", b"secret", ir=True)
    assert ln.startswith(b"d BAD") and b"empty" in ln, ln
    ln = r.cmd(b"e", b'LOGIN "" secret')[-1]
    assert ln.startswith(b"e BAD") and b"empty" in ln, ln
    ln = r.cmd(b"f", b'LOGIN " " secret')[-1]
    assert ln.startswith(b"f BAD") and b"empty" in ln, ln
    r.close()


def test_canonical_names_still_log_in(fresh):
    s = fresh(extra_conf=MECHS).start()
    s.add_user("b\u00f6b", "pw2")
    r = Raw(s.port, source="127.0.25.1")
    assert r.cmd(b"a", b"LOGIN alice secret")[-1].startswith(b"a OK")
    r.close()
    r = Raw(s.port, source="127.0.25.1")
    assert auth_plain(r, b"b", b"", b"alice", b"secret").startswith(b"b OK")
    r.close()
    r = Raw(s.port, source="127.0.25.1")
    assert auth_plain(r, b"c", b"alice", b"alice",
                      b"secret").startswith(b"c OK")
    r.close()
    r = Raw(s.port, source="127.0.25.1")
    assert auth_login(r, b"d", b"alice", b"secret").startswith(b"d OK")
    r.close()
    r = Raw(s.port, source="127.0.25.1")
    assert auth_login(r, b"e", "b\u00f6b".encode(), b"pw2",
                      ir=True).startswith(b"e OK")
    r.close()
    assert wait_for(lambda: "login ok user=b\u00f6b" in s.logtext())
    assert "login refused" not in s.logtext()


def cram(r, tag, user, pw):
    """AUTHENTICATE CRAM-MD5 (a response authd does not parse: libsasl2's
    canon_user callback applies the rule); the tagged line"""
    import hashlib
    import hmac
    r.send(tag + b" AUTHENTICATE CRAM-MD5\r\n")
    ln = r.line()
    assert ln.startswith(b"+ "), ln
    chal = base64.b64decode(ln[2:])
    digest = hmac.new(pw, chal, hashlib.md5).hexdigest().encode()
    r.send(b64(user + b" " + digest) + b"\r\n")
    return r.until_tag(tag)[-1]


def test_every_mechanism_passes_the_rule(fresh):
    s = fresh(extra_conf=FAST + "sasl_mech_list: PLAIN LOGIN CRAM-MD5\n")
    s.start()
    r = Raw(s.port, source="127.0.26.1")
    ln = cram(r, b"a", b"ali\x01ce", b"secret")
    assert ln.startswith(b"a BAD"), ln
    assert wait_for(lambda: "addr=127.0.26.1 mech=CRAM-MD5" in s.logtext()
                    and "control character in user name" in s.logtext())
    # padded: checked as alice, and the failure counts against alice
    ln = cram(r, b"b", b" alice", b"wrong")
    assert ln.startswith(b"b NO [AUTHENTICATIONFAILED]"), ln
    assert wait_for(lambda: "login failed user=alice addr=127.0.26.1 "
                    "mech=CRAM-MD5" in s.logtext())
    ln = cram(r, b"c", b"alice ", b"secret")
    assert ln.startswith(b"c OK"), ln
    r.close()


def test_name_in_the_continuation(fresh):
    s = fresh(extra_conf=FAST).start()
    r = Raw(s.port, source="127.0.27.1")
    for tag, user, want in ((b"a", b" alice", b"a NO [AUTHENTICATIONFAILED]"),
                            (b"b", b"al\x02ice", b"b BAD")):
        r.send(tag + b" AUTHENTICATE PLAIN\r\n")
        ln = r.line()
        assert ln.startswith(b"+"), ln
        r.send(b64(b"\0" + user + b"\0wrong") + b"\r\n")
        ln = r.until_tag(tag)[-1]
        assert ln.startswith(want), ln
    assert b"control character" in ln, ln
    r.close()
    assert wait_for(lambda: "login failed user=alice addr=127.0.27.1 "
                    "mech=PLAIN" in s.logtext())
    assert wait_for(lambda: 'login refused user=- addr=127.0.27.1 '
                    'mech=PLAIN reason="control character in user name"'
                    in s.logtext())

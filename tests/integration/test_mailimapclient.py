"""Perl's Mail::IMAPClient (Debian libmail-imapclient-perl), a second
widely used client library beside Python's imaplib and imapflow: an
everyday session (imapclient.pl), plain and under COMPRESS=DEFLATE, with
the server's side of the data checked afterwards."""
import os
import re
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def have_module():
    return subprocess.run(["perl", "-MMail::IMAPClient", "-e", "1"],
                          capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(not have_module(),
                                reason="no Mail::IMAPClient (install "
                                "libmail-imapclient-perl)")


def run(server, box, mode):
    r = subprocess.run(["perl", os.path.join(HERE, "imapclient.pl"),
                        str(server.port), "alice", "secret", box, mode],
                       capture_output=True, timeout=120)
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    return dict(ln.split("=", 1) for ln in out.splitlines() if "=" in ln)


@pytest.mark.parametrize("mode", ["plain", "compress"])
def test_everyday_session(server, mode):
    box = "perl-" + mode
    got = run(server, box, mode)
    assert got["done"] == "1"
    assert ("compress" in got) == (mode == "compress")
    assert "IMAP4rev1" in got["capability"].split()
    assert got["listed"] == "1"
    assert got["appended"] == "1,2,3"
    assert got["count"] == "3"
    assert got["search"] == "2,3"
    # SORT (SUBJECT) on the base subject: alpha, Re: alpha, beta
    assert got["sort"] == "2,3,1"
    assert got["thread"] == "2"        # "alpha" (two) and "beta"
    assert got["body"] == "ok"
    assert got["flagged"] == "1"
    assert re.fullmatch(r"\* 4 EXISTS", got["idle"]), got["idle"]
    assert got["left"] == "2"         # alpha and the new gamma
    # the server's side: what stayed, what moved, with its flags
    c = server.connect("alice", "secret")
    typ, data = c.select(box)
    assert typ == "OK" and data == [b"2"]
    typ, data = c.fetch("1:2", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"UID 2 " in data[0][0] and b"alpha" in data[0][1], data
    assert b"UID 4 " in data[2][0] and b"gamma" in data[2][1], data
    c.select("INBOX")
    typ, data = c.search(None, "HEADER", "Message-ID",
                         f"{box}@example.com")
    hits = data[0].split()
    assert len(hits) == 2, data
    typ, data = c.fetch(b",".join(hits).decode(),
                        "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subjects = b" ".join(d[1] for d in data if isinstance(d, tuple))
    assert b"Re: alpha" in subjects and b"beta" in subjects, data
    flagged = [d[0] for d in data if isinstance(d, tuple) and
               b"\\Flagged" in d[0]]
    assert len(flagged) == 1, data
    c.logout()

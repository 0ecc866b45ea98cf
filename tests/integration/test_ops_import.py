"""berthctl import: mail moved in from Maildir++ and mbox files.

A Maildir++ tree as Dovecot leaves it (dovecot-uidlist, dovecot-keywords,
":2," flags, folders .Sent and .Lists.berth) and an mbox file as
UW-IMAP, Dovecot and mutt leave it (X-IMAP, X-UID, Status, X-Status,
X-Keywords, mboxrd ">From " quoting) are imported into a running server
and read back over IMAP: the source's UIDs, UIDVALIDITY, flags,
keywords and dates, and the messages with CRLF line ends and without
the mbox bookkeeping headers.
"""
import os
import re
import time

from test_ops_reconstruct import ctl


def write(path, text, mtime=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def idate(t):
    return time.strftime("%d-%b-%Y %H:%M:%S +0000", time.gmtime(t))


def fetch_all(c, name):
    typ, data = c.status(f'"{name}"', "(UIDVALIDITY)")
    uv = int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))
    c.select(f'"{name}"', readonly=True)
    typ, data = c.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
    out = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        meta = item[0].decode()
        uid = int(re.search(r"UID (\d+)", meta).group(1))
        flags = sorted(f for f in re.search(r"FLAGS \((.*?)\)", meta)
                       .group(1).split() if f != "\\Recent")
        out[uid] = (flags, re.search(r'INTERNALDATE "(.*?)"', meta)
                    .group(1), item[1])
    c.close()
    return uv, out


def make_maildir(root):
    t1, t2, t3 = 1700000000, 1700003600, 1700007200
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    write(os.path.join(root, "dovecot-uidlist"),
          "3 V1234567 N10 G0123456789abcdef\n"
          "3 :1700000000.M1P1.host\n"
          "5 G0123 :1700003600.M2P1.host\n")
    write(os.path.join(root, "dovecot-keywords"), "0 $Label1\n1 project\n")
    write(os.path.join(root, "cur", "1700000000.M1P1.host,S=30:2,RSa"),
          "Subject: first\n\nfirst\n", t1)
    write(os.path.join(root, "cur", "1700003600.M2P1.host:2,Fb"),
          "Subject: second\n\nsecond\n", t2)
    write(os.path.join(root, "new", "1700007200.M3P1.host"),
          "Subject: new\r\n\r\nnew one\r\n", t3)
    sent = os.path.join(root, ".Sent")
    write(os.path.join(sent, "dovecot-uidlist"), "1 777 3\n2 sent1\n")
    write(os.path.join(sent, "cur", "sent1:2,S"), "Subject: s\n\ns\n", t1)
    os.makedirs(os.path.join(sent, "new"), exist_ok=True)
    write(os.path.join(root, ".Lists.berth", "new", "l1"),
          "Subject: list\n\nl\n", t2)
    os.makedirs(os.path.join(root, ".Lists.berth", "cur"), exist_ok=True)
    return t1, t2, t3


def test_import_maildir(server):
    root = os.path.join(server.dir, "maildir-src")
    t1, t2, t3 = make_maildir(root)
    server.chown()
    r = ctl(server, "import", "bob", "maildir", root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "messages=5" in r.stdout and "folders=3" in r.stdout, r.stdout
    c = server.connect("bob", "hunter2")
    typ, lines = c.list()
    names = {ln.decode().rsplit(" ", 1)[1].strip('"') for ln in lines}
    assert {"INBOX", "Sent", "Lists", "Lists/berth"} <= names, names
    uv, msgs = fetch_all(c, "INBOX")
    assert uv == 1234567
    assert sorted(msgs)[:2] == [3, 5] and sorted(msgs)[2] > 5
    assert msgs[3] == (["$Label1", "\\Answered", "\\Seen"], idate(t1),
                       b"Subject: first\r\n\r\nfirst\r\n")
    assert msgs[5] == (["\\Flagged", "project"], idate(t2),
                       b"Subject: second\r\n\r\nsecond\r\n")
    new = msgs[sorted(msgs)[2]]
    assert new == ([], idate(t3), b"Subject: new\r\n\r\nnew one\r\n")
    uv, msgs = fetch_all(c, "Sent")
    assert uv == 777 and list(msgs) == [2]
    assert msgs[2][0] == ["\\Seen"]
    uv, msgs = fetch_all(c, "Lists/berth")
    assert len(msgs) == 1
    c.logout()
    r = ctl(server, "check", "bob")
    assert r.returncode == 0, r.stdout + r.stderr


MBOX = """From MAILER-DAEMON Fri Jul  8 12:08:34 2011
Date: 08 Jul 2011 12:08:34 +0000
Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA
X-IMAP: 1300000000 0000000003
Status: RO

This text is part of the internal format of your mail folder.

From alice@example.org Tue Mar  5 10:00:00 2024
Subject: one
X-UID: 2
Status: RO
X-Status: AF
X-Keywords: $Label1 work
Content-Length: 25

>From the start
body one

From bob@example.org Wed Mar  6 11:30:00 2024
Subject: two
 folded
X-UID: 3
Status: O

>>From quoted
two
"""


def test_import_mbox(server):
    path = os.path.join(server.dir, "archive.mbox")
    write(path, MBOX)
    server.chown()
    r = ctl(server, "import", "alice", "mbox", path, "Archive")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "messages=2" in r.stdout, r.stdout
    c = server.connect("alice", "secret")
    uv, msgs = fetch_all(c, "Archive")
    assert uv == 1300000000
    assert msgs == {
        2: (["$Label1", "\\Answered", "\\Flagged", "\\Seen", "work"],
            "05-Mar-2024 10:00:00 +0000",
            b"Subject: one\r\n\r\nFrom the start\r\nbody one\r\n"),
        3: ([], "06-Mar-2024 11:30:00 +0000",
            b"Subject: two\r\n folded\r\n\r\n>From quoted\r\ntwo\r\n"),
    }
    # again: the UIDs are taken now, the messages get new ones
    r = ctl(server, "import", "alice", "mbox", path, "Archive")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "renumbered=2" in r.stdout, r.stdout
    uv, msgs = fetch_all(c, "Archive")
    assert sorted(msgs) == [2, 3, 4, 5] and uv == 1300000000
    c.logout()


def test_import_errors(server):
    r = ctl(server, "import", "alice", "mbox", "/nonexistent/file")
    assert r.returncode == 1 and "/nonexistent/file" in r.stderr
    r = ctl(server, "import", "alice", "maildir", server.dir)
    assert r.returncode == 1 and "not a maildir" in r.stderr
    r = ctl(server, "import", "alice", "zip", "x")
    assert r.returncode == 2 and "usage" in r.stderr
    r = ctl(server, "import", "alice", "maildir")
    assert r.returncode == 2
    notmbox = os.path.join(server.dir, "imapd.conf")
    r = ctl(server, "import", "alice", "mbox", notmbox)
    assert r.returncode == 1 and "not an mbox" in r.stderr
    # a folder name no client could send is skipped and said
    root = os.path.join(server.dir, "bad-maildir")
    os.makedirs(os.path.join(root, "cur"))
    os.makedirs(os.path.join(root, ".bad&name", "cur"))
    write(os.path.join(root, ".bad&name", "cur", "m1:2,S"), "S: x\n\nx\n")
    server.chown()
    r = ctl(server, "import", "alice", "maildir", root)
    assert r.returncode == 1, r.stdout + r.stderr
    assert 'skipped user=alice folder="bad&name"' in r.stdout

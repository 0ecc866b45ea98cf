"""Real client programs from Debian against berth."""
import os
import shutil
import subprocess

import pytest

MSG = (b"From: sender@example.com\r\nTo: alice@example.com\r\n"
       b"Subject: via mbsync\r\nMessage-ID: <mb1@example.com>\r\n\r\n"
       b"synchronised\r\n")


@pytest.mark.skipif(shutil.which("mbsync") is None, reason="no mbsync")
def test_mbsync_roundtrip(server, tmp_path):
    c = server.connect("alice", "secret")
    c.create("Sync")
    c.append("Sync", None, None, MSG)
    c.logout()
    maildir = tmp_path / "mail"
    maildir.mkdir()
    rc = tmp_path / "mbsyncrc"
    rc.write_text(f"""IMAPAccount berth
Host 127.0.0.1
Port {server.port}
User alice
Pass secret
SSLType None
AuthMechs LOGIN

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
    # a message made locally goes up to the server
    new = maildir / "Sync" / "new" / "1.local:2,"
    new.write_bytes(MSG.replace(b"mb1", b"mb2").replace(b"via", b"from"))
    r = subprocess.run(["mbsync", "-c", str(rc), "-a"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    c = server.connect("alice", "secret")
    c.select("Sync")
    assert c.search(None, "SUBJECT", '"from mbsync"')[1] != [b""]
    c.logout()

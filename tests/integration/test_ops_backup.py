"""berthctl backup and restore while the server serves.

A backup taken while two clients APPEND is restored into a fresh
directory and served by a second master: every mailbox of every user is
compared over IMAP with the original (mailboxes, UIDVALIDITY, UIDNEXT,
HIGHESTMODSEQ, UIDs, flags, internal dates, bytes); the mailboxes being
appended to hold a prefix of what was appended, at least every APPEND
acknowledged before the backup began, each message byte-identical.
A second run into the same directory copies only the new message files.
A restore refuses a directory that is not a finished backup and a store
that is not empty.
"""
import hashlib
import os
import re
import threading

from test_ops_reconstruct import ctl, fill, state


def users(srv):
    srv.add_user("bob", "hunter2")
    srv.add_user("john.doe", "pw")


def field(out, key):
    return int(re.search(rf"\b{key}=(\d+)", out).group(1))


class Appender(threading.Thread):
    """APPENDs numbered messages to alice's mailbox until told to stop;
    acked[uid] = sha1 of the bytes, for every APPEND answered OK"""

    def __init__(self, srv, mailbox):
        super().__init__(daemon=True)
        self.srv, self.mailbox = srv, mailbox
        self.acked = {}
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            c = self.srv.connect("alice", "secret")
            i = 0
            while not self.stop.is_set() and i < 2000:
                body = (f"Subject: {self.mailbox} {i}\r\n\r\n"
                        f"{self.mailbox} message {i}\r\n").encode()
                typ, data = c.append(self.mailbox, "(\\Seen)", None, body)
                assert typ == "OK", data
                uid = int(re.search(rb"APPENDUID \d+ (\d+)",
                                    data[0]).group(1))
                self.acked[uid] = hashlib.sha1(body).hexdigest()
                i += 1
            c.logout()
        except Exception as e:  # reported by the test
            self.error = e


def restored(fresh, bk):
    srv = fresh()
    users(srv)
    srv.chown()     # berthctl runs as the server's user
    r = ctl(srv, "restore", bk)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "restore done" in r.stdout
    srv.start()
    r = ctl(srv, "check")
    assert r.returncode == 0, r.stdout + r.stderr
    return srv


def test_backup_during_appends_then_restore(fresh):
    srv = fresh()
    users(srv)
    srv.start()
    fill(srv)
    c = srv.connect("alice", "secret")
    c.create("Busy1")
    c.create("Busy2")
    c.logout()
    quiet = {u: state(srv, u, p) for u, p in
             (("bob", "hunter2"), ("john.doe", "pw"))}
    alice = state(srv)
    bk = os.path.join(srv.dir, "backup")

    apps = [Appender(srv, "Busy1"), Appender(srv, "Busy2")]
    for a in apps:
        a.start()
    assert all(wait_acked(a, 5) for a in apps)
    before = {a.mailbox: set(a.acked) for a in apps}
    r = ctl(srv, "backup", bk)
    assert r.returncode == 0, r.stdout + r.stderr
    assert field(r.stdout, "files_copied") > 0
    for a in apps:
        a.stop.set()
        a.join(60)
        assert a.error is None, a.error

    dst = restored(fresh, bk)
    got = state(dst)
    for name, box in alice.items():
        if not name.startswith("Busy"):
            assert got[name] == box, name
    for a in apps:
        msgs = got[a.mailbox]["msgs"]
        uids = [m[0] for m in msgs]
        # a prefix of what was appended, with every APPEND answered
        # before the backup began
        assert uids == list(range(1, len(uids) + 1))
        assert before[a.mailbox] <= set(uids)
        for uid, flags, idate, modseq, sha in msgs:
            assert a.acked.get(uid, sha) == sha
            assert [f for f in flags if f != "\\Recent"] == ["\\Seen"]
    for u, p in (("bob", "hunter2"), ("john.doe", "pw")):
        assert state(dst, u, p) == quiet[u]
    dst.stop()

    # quiet now: a second run copies what the first lacked, a third
    # only the three new messages, and its restore is the server's mail
    r = ctl(srv, "backup", bk)
    assert r.returncode == 0, r.stdout + r.stderr
    total = field(r.stdout, "files_copied") + field(r.stdout, "files_kept")
    c = srv.connect("alice", "secret")
    for i in range(3):
        c.append("Work", None, None, f"Subject: new {i}\r\n\r\n{i}\r\n"
                 .encode())
    c.logout()
    r = ctl(srv, "backup", bk)
    assert r.returncode == 0, r.stdout + r.stderr
    assert field(r.stdout, "files_copied") == 3, r.stdout
    assert field(r.stdout, "files_kept") == total, r.stdout
    dst = restored(fresh, bk)
    for u, p in (("alice", "secret"), ("bob", "hunter2"),
                 ("john.doe", "pw")):
        assert state(dst, u, p) == state(srv, u, p), u


def wait_acked(a, n):
    from poll import wait_for
    return wait_for(lambda: len(a.acked) >= n or a.error is not None, 30)


def test_restore_refuses(fresh):
    srv = fresh()
    users(srv)
    srv.start()
    fill(srv)
    bk = os.path.join(srv.dir, "backup")
    # not a backup
    os.makedirs(bk)
    srv.chown()
    dst = fresh()
    dst.chown()
    r = ctl(dst, "restore", bk)
    assert r.returncode == 1 and "not a finished backup" in r.stderr
    r = ctl(srv, "backup", bk)
    assert r.returncode == 0, r.stdout + r.stderr
    # an unfinished one (killed before its end: no BACKUP file)
    os.rename(os.path.join(bk, "BACKUP"), os.path.join(bk, "BACKUP.x"))
    r = ctl(dst, "restore", bk)
    assert r.returncode == 1 and "not a finished backup" in r.stderr
    os.rename(os.path.join(bk, "BACKUP.x"), os.path.join(bk, "BACKUP"))
    # a store that holds mail
    r = ctl(srv, "restore", bk)
    assert r.returncode == 1 and "empty store" in r.stderr, r.stderr
    # misuse
    r = ctl(srv, "backup")
    assert r.returncode == 2
    r = ctl(srv, "restore", "a", "b")
    assert r.returncode == 2

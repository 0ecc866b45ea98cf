"""The store's commit path under crashes: the database's commits are not
flushed one by one (the users' journals are the flushed write-ahead
record), so recovery must put back what a power cut takes from the
database and from small message files; kill -9 of master, imapd and
lmtpd in the middle of an APPEND and delivery storm loses nothing that
was acknowledged."""
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading

from conftest import BUILD
from poll import deadline, wait_for
from test_lmtp import Lmtp, lmtp_server

BERTHCTL = os.path.join(BUILD, "tools", "berthctl")


def ctl(s, *args):
    return subprocess.run([BERTHCTL, "-C", s.conf] + list(args),
                          capture_output=True, text=True, timeout=120)


def msg(tag, n=1500):
    return (f"From: a@example.org\r\nTo: alice@example.org\r\n"
            f"Subject: {tag}\r\nMessage-ID: <{tag}@example.org>\r\n\r\n"
            + "body line\r\n" * (n // 11) + f"{tag}\r\n").encode()


def state(c):
    """every mailbox of c: UIDVALIDITY, UIDNEXT and (uid, flags, sha1 of
    the bytes) of each message; and the subscriptions"""
    out = {}
    typ, lst = c.list()
    for ln in lst:
        name = ln.decode().rsplit(' "/" ', 1)[1].strip('"')
        typ, st = c.status(f'"{name}"', "(UIDVALIDITY UIDNEXT MESSAGES)")
        st = st[0].decode()
        c.select(f'"{name}"', readonly=True)
        msgs = []
        if int(re.search(r"MESSAGES (\d+)", st).group(1)):
            typ, data = c.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
            for part in data:
                if not isinstance(part, tuple):
                    continue
                uid = int(re.search(rb"UID (\d+)", part[0]).group(1))
                flags = sorted(re.search(rb"FLAGS \(([^)]*)\)",
                                         part[0]).group(1).split())
                msgs.append((uid, flags, hashlib.sha1(part[1]).hexdigest()))
        c.close()
        out[name] = (re.search(r"UIDVALIDITY (\d+)", st).group(1),
                     re.search(r"UIDNEXT (\d+)", st).group(1), sorted(msgs))
    typ, subs = c.lsub()
    out["subscribed"] = sorted(ln for ln in subs if ln)
    return out


def sha(data):
    return hashlib.sha1(data).hexdigest()


def test_power_cut_replays_the_journal(fresh):
    """the database as a power cut leaves it (its state at an earlier
    commit: the log on disk ends there) and a small message's file gone
    (written, never fsync'd): recovery puts back every acknowledged
    change from the journal - appends, flags, expunge, rename, delete,
    create, copy, subscriptions - and the file from its F line"""
    s = fresh()
    s.start()
    c = s.connect("alice", "secret")
    for name in ("Keep", "Old", "Gone"):
        c.create(name)
    c.subscribe("Keep")
    for i in range(3):
        c.append("INBOX", "(\\Seen)" if i else None, None, msg(f"early{i}"))
    c.append("Old", None, None, msg("old0"))
    c.logout()
    s.stop()
    # what the disk holds of the database after the power cut: the state
    # of a cleanly stopped server, before the commits below
    snap = os.path.join(s.dir, "db-snapshot")
    shutil.copytree(os.path.join(s.dir, "conf", "db"), snap)

    s.log.close()
    s.start()
    c = s.connect("alice", "secret")
    lost = msg("lost-file")
    c.append("INBOX", None, None, lost)
    for i in range(4):
        c.append("INBOX", "(\\Flagged)" if i % 2 else None, None,
                 msg(f"late{i}"))
    c.select("INBOX")
    c.uid("STORE", "1", "+FLAGS", "(\\Answered $Work)")
    c.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
    c.expunge()
    c.uid("COPY", "3:4", "Keep")
    c.close()
    c.rename("Old", "New")
    c.delete("Gone")
    c.create("Fresh")
    c.append("Fresh", None, None, msg("fresh0"))
    c.unsubscribe("Keep")
    c.subscribe("Fresh")
    want = state(c)
    c.logout()
    s.stop(signal.SIGKILL)

    shutil.rmtree(os.path.join(s.dir, "conf", "db"))
    shutil.copytree(snap, os.path.join(s.dir, "conf", "db"))
    path = os.path.join(s.dir, "spool", sha(lost)[:2], sha(lost))
    assert os.path.exists(path)
    os.truncate(path, 0)      # delayed allocation: the name, no bytes

    s.log.close()
    s.start()
    with open(path, "rb") as f:
        assert f.read() == lost
    c = s.connect("alice", "secret")
    assert state(c) == want
    assert s.log_count("redo user=alice") == 1, s.logtext()
    # counters moved on: the next UID is a new one
    typ, data = c.append("INBOX", None, None, msg("after"))
    uid = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))
    assert uid == int(want["INBOX"][1])
    c.logout()
    r = ctl(s, "check")
    assert r.returncode == 0, r.stdout + r.stderr


def spool_files(s):
    top = os.path.join(s.dir, "spool")
    return [os.path.join(top, d, f) for d in os.listdir(top) if len(d) == 2
            for f in os.listdir(os.path.join(top, d))]


def multiappend(s, msgs):
    """one MULTIAPPEND of msgs into alice's INBOX (LITERAL+), answered OK
    (its messages are flushed together)"""
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"* OK")
    cmd = b"l LOGIN alice secret\r\nm APPEND INBOX"
    for m in msgs:
        cmd += b" {%d+}\r\n" % len(m) + m
    sock.sendall(cmd + b"\r\n")
    lines = []
    while not lines or not lines[-1].startswith(b"m "):
        lines.append(f.readline())
        assert lines[-1], lines
    assert lines[-1].startswith(b"m OK"), lines
    sock.close()


def lose_unsynced(path):
    """what a power cut may take from a journal: the lines past its
    synced mark (never flushed by themselves: the commit log was), and
    the header's end set back to the mark"""
    with open(path, "r+b") as f:
        data = f.read()
        hdr = data[:data.index(b"\n")].split(b"\t")
        end, synced = int(hdr[3]), int(hdr[4])
        assert synced < end
        f.seek(synced)
        f.write(b"\0" * (end - synced))
        f.seek(len(b"\t".join(hdr[:3])) + 1)
        f.write(b"%020d" % synced)


def test_power_cut_takes_unflushed_journal_lines(fresh):
    """a power cut takes the database's last commits, a small message's
    bytes and the users' journal lines written since their last
    checkpoint (each transaction flushed only the commit log): recovery
    writes the lines back from the log, then replays them - an LMTP
    delivery to two users, a MULTIAPPEND (one flush for its messages), an
    APPEND, a flag change - and the state is what the clients were
    told"""
    s = lmtp_server()
    try:
        c = s.connect("alice", "secret")
        c.append("INBOX", None, None, msg("early"))
        c.logout()
        s.stop()
        snap = os.path.join(s.dir, "db-snapshot")
        shutil.copytree(os.path.join(s.dir, "conf", "db"), snap)
        old = set(spool_files(s))
        s.log.close()
        s.start()
        wait_for(lambda: os.path.exists(s.lmtp))
        lm = Lmtp(s)
        lm.send(b"LHLO test\r\n")
        lm.reply()
        both = msg("both")
        lm.send(b"MAIL FROM:<x@example.org>\r\n"
                b"RCPT TO:<alice@example.org>\r\n"
                b"RCPT TO:<bob@example.org>\r\nDATA\r\n")
        assert [lm.reply()[0][:3] for _ in range(4)] == \
            [b"250", b"250", b"250", b"354"]
        lm.send(both + b".\r\n")
        assert [lm.reply()[0][:3] for _ in range(2)] == [b"250", b"250"]
        lm.s.close()
        multiappend(s, [msg(f"multi{i}") for i in range(3)])
        c = s.connect("alice", "secret")
        c.append("INBOX", None, None, msg("late"))
        c.select("INBOX")
        c.uid("STORE", "1", "+FLAGS", "(\\Flagged)")
        want = {u: state(s.connect(u, "secret")) for u in ("alice", "bob")}
        c.logout()
        s.stop(signal.SIGKILL)

        shutil.rmtree(os.path.join(s.dir, "conf", "db"))
        shutil.copytree(snap, os.path.join(s.dir, "conf", "db"))
        for u in ("alice", "bob"):
            lose_unsynced(os.path.join(s.dir, "spool", "journal", u))
        # the small files written since: names, no bytes
        new = sorted(set(spool_files(s)) - old)
        assert len(new) == 5
        for path in new:
            os.truncate(path, 0)
        s.log.close()
        s.start()
        got = {u: state(s.connect(u, "secret")) for u in ("alice", "bob")}
        assert got == want
        assert s.log_count("commit log records=") == 1, s.logtext()
        r = ctl(s, "check")
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        s.cleanup()


def test_commits_do_not_flush_the_log(fresh):
    """an APPEND's one flush is the journal's: the database's log is not
    flushed at every commit (berthctl stats: log_syncs)"""
    s = fresh()
    s.start()
    c = s.connect("alice", "secret")
    c.select("INBOX")

    def syncs():
        r = ctl(s, "stats")
        assert r.returncode == 0, r.stderr
        return int(re.search(r"log_syncs[=: ]+(\d+)", r.stdout).group(1))

    before = syncs()
    for i in range(20):
        c.append("INBOX", None, None, msg(f"m{i}"))
    after = syncs()
    c.logout()
    assert after - before < 5, (before, after)


class Ledger:
    """what the server acknowledged, by the clients that were told"""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}        # tag -> (mailbox, uid or None)
        self.errors = []

    def add(self, tag, box, uid):
        with self.lock:
            self.acked[tag] = (box, uid)

    def count(self):
        with self.lock:
            return len(self.acked)


def appender(s, name, ledger, stop):
    """APPENDs of unique messages, LITERAL+, one at a time; a broken
    connection (its worker killed) is reconnected; every tagged OK is
    written in the ledger with its APPENDUID"""
    i = 0
    while not stop.is_set():
        try:
            sock = socket.create_connection(("127.0.0.1", s.port),
                                            timeout=deadline(20))
            f = sock.makefile("rb")
            if not f.readline().startswith(b"* OK"):
                raise EOFError
            sock.sendall(b"l LOGIN alice secret\r\n")
            ln = f.readline()
            while ln and not ln.startswith(b"l "):
                ln = f.readline()
            if not ln.startswith(b"l OK"):
                raise EOFError
            while not stop.is_set():
                tag = f"{name}-{i}"
                i += 1
                body = msg(tag, 800)
                sock.sendall(b"a APPEND INBOX {%d+}\r\n" % len(body) +
                             body + b"\r\n")
                ln = f.readline()
                while ln and not ln.startswith(b"a "):
                    ln = f.readline()
                if not ln:
                    raise EOFError
                if ln.startswith(b"a OK"):
                    m = re.search(rb"APPENDUID \d+ (\d+)", ln)
                    ledger.add(tag, "INBOX", int(m.group(1)))
        except (OSError, EOFError):
            pass
        finally:
            try:
                sock.close()
            except Exception:
                pass


def deliverer(s, name, ledger, stop):
    """LMTP deliveries to alice and bob; each 250 goes in the ledger"""
    i = 0
    while not stop.is_set():
        try:
            lm = Lmtp(s)
            lm.send(b"LHLO test\r\n")
            lm.reply()
            while not stop.is_set():
                tag = f"{name}-{i}"
                i += 1
                lm.send(b"MAIL FROM:<x@example.org>\r\n")
                if not lm.reply()[0].startswith(b"250"):
                    raise EOFError
                lm.send(b"RCPT TO:<alice@example.org>\r\n"
                        b"RCPT TO:<bob@example.org>\r\n")
                if not all(lm.reply()[0].startswith(b"250")
                           for _ in range(2)):
                    raise EOFError
                lm.send(b"DATA\r\n")
                if not lm.reply()[0].startswith(b"354"):
                    raise EOFError
                lm.send(msg(tag, 800) + b".\r\n")
                # one reply per recipient; each 250 is that copy's
                if lm.reply()[0].startswith(b"250"):
                    ledger.add(tag, "INBOX", None)
                if lm.reply()[0].startswith(b"250"):
                    ledger.add(tag + "@bob", "bob", None)
        except (OSError, EOFError, IndexError):
            pass
        finally:
            try:
                lm.s.close()
            except Exception:
                pass


def subjects(s, user):
    """Subject: -> UID of user's INBOX"""
    c = s.connect(user, "secret")
    c.select("INBOX", readonly=True)
    typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS "
                      "(SUBJECT)])")
    have = {}
    for part in data:
        if isinstance(part, tuple):
            uid = int(re.search(rb"UID (\d+)", part[0]).group(1))
            have[part[1].decode().split(":", 1)[1].strip()] = uid
    c.logout()
    return have


def test_kill9_during_append_storm(fresh):
    """appenders and an LMTP deliverer (to alice and bob at once) storm
    INBOX while imapd workers, lmtpd and then master's whole process
    group are killed with SIGKILL (the group restarted each time,
    recovery run); afterwards every acknowledged message is there, with
    the UID its APPENDUID named, and every copy bob was told of"""
    s = lmtp_server()
    try:
        ledger = Ledger()
        stop = threading.Event()
        threads = [threading.Thread(target=appender,
                                    args=(s, f"imap{k}", ledger, stop))
                   for k in range(3)]
        threads.append(threading.Thread(target=deliverer,
                                        args=(s, "lmtp", ledger, stop)))
        for t in threads:
            t.start()
        try:
            for rnd in range(3):
                for prog in ("imapd", "lmtpd", "imapd"):
                    n = ledger.count()
                    assert wait_for(lambda: ledger.count() >= n + 15, 60)
                    for pid in s.children(prog)[:2]:
                        try:
                            os.kill(pid, 9)
                        except ProcessLookupError:
                            pass
                n = ledger.count()
                assert wait_for(lambda: ledger.count() >= n + 15, 60)
                s.stop(signal.SIGKILL)
                s.log.close()
                s.start()
                wait_for(lambda: os.path.exists(s.lmtp))
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        s.stop(signal.SIGKILL)
        s.log.close()
        s.start()
        have = subjects(s, "alice")
        bobs = subjects(s, "bob")
        missing = [t for t, (b, u) in ledger.acked.items()
                   if (t.split("@")[0] not in bobs if b == "bob"
                       else t not in have)]
        assert not missing, (len(ledger.acked), missing[:10])
        assert any(b == "bob" for b, u in ledger.acked.values())
        wrong = [(t, u, have[t]) for t, (b, u) in ledger.acked.items()
                 if u is not None and have[t] != u]
        assert not wrong, wrong[:10]
        assert len(ledger.acked) >= 12 * 15
        assert any(t.startswith("lmtp-") for t in ledger.acked)
    finally:
        s.cleanup()


def test_torn_journal_tail_set_right(fresh):
    """a crash that wrote a journal's header (its end moved on) but only
    part of the lines: recovery sets the end back to the last whole line
    and clears the torn bytes, so lines appended afterwards are read (a
    reader stops at the first NUL of a gap)"""
    s = fresh()
    s.start()
    c = s.connect("alice", "secret")
    c.append("INBOX", None, None, msg("before"))
    c.logout()
    s.stop()
    path = os.path.join(s.dir, "spool", "journal", "alice")
    with open(path, "r+b") as f:
        data = f.read()
        end = data.index(b"\0")
        assert data[end - 1:end] == b"\n"
        hdr = data[:data.index(b"\n")].split(b"\t")
        off = len(b"\t".join(hdr[:3])) + 1       # the end field
        assert int(hdr[3]) == end
        f.seek(end)
        f.write(b"I\t1\t9")                      # a torn line
        f.seek(off)
        f.write(b"%020d" % (end + 60))           # the end past a gap
    s.log.close()
    s.start()
    c = s.connect("alice", "secret")
    c.append("INBOX", None, None, msg("after"))
    c.logout()
    s.stop()
    r = ctl(s, "check")
    assert r.returncode == 0, r.stdout + r.stderr

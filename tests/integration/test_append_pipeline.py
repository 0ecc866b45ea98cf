"""Pipelined APPENDs: a client that sends several APPENDs without waiting
for the answers gets them after one flush of the commit log for all the
commands whose input was at hand (group commit within a session), never
before that flush; killed between the write and the flush, nothing of
them was acknowledged and a power cut loses nothing that was.

The server's flush is held by a lock the test takes on the commit log's
first byte (store_wal_sync waits for it there, an OFD lock, which a
POSIX lock of the test's conflicts with): /proc/locks then shows the
worker waiting, the observable point between the write and the flush."""
import fcntl
import os
import re
import shutil
import signal
import socket

from poll import deadline, wait_for
from raw import Raw
from test_store_crash import lose_unsynced, msg, spool_files, state


def no_checkpoint(s):
    """master.conf without the checkpoint event: a checkpoint replaces
    the commit log's file, and the test's lock must stay on the one the
    server flushes"""
    with open(s.mconf) as f:
        text = f.read()
    text = re.sub(r"\n\s*checkpoint\s+cmd=[^\n]*", "", text)
    with open(s.mconf, "w") as f:
        f.write(text)


def wal_path(s):
    return os.path.join(s.dir, "spool", "journal", ".wal")


def flush_waiter(ino):
    """is some process waiting for a lock on inode ino (/proc/locks)?"""
    with open("/proc/locks") as f:
        return any("->" in ln and f":{ino} " in ln for ln in f)


def hold_flush(s):
    """a lock on the commit log's first byte: every flush waits; the fd
    (closing it lets them go) and the file's inode"""
    fd = os.open(wal_path(s), os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX, 1, 0)
    return fd, os.fstat(fd).st_ino


def login(s):
    r = Raw(s.port)
    r.send(b"l LOGIN alice secret\r\n")
    assert r.until_tag(b"l")[-1].startswith(b"l OK")
    return r


def pipelined(tags, body=lambda t: msg(t, 300)):
    """APPENDs of tags, LITERAL+, as one write"""
    out = b""
    for t in tags:
        m = body(t)
        out += b"%s APPEND INBOX {%d+}\r\n" % (t.encode(), len(m)) + m + \
            b"\r\n"
    return out


def nothing_sent(r):
    """what the server sent the client so far, read without waiting"""
    r.s.setblocking(False)
    try:
        got = r.s.recv(65536)
    except BlockingIOError:
        got = b""
    finally:
        r.s.settimeout(deadline(20))
    return r.buf + got


def test_pipelined_appends_answered_after_one_flush(fresh):
    """ten APPENDs sent at once: none answered while the flush waits,
    then all ten, in order, with consecutive UIDs, and the log says one
    flush covered several of them"""
    s = fresh()
    no_checkpoint(s)
    s.start()
    r = login(s)
    r.send(b"a0 APPEND INBOX {%d+}\r\n" % len(msg("first")) +
           msg("first") + b"\r\n")
    assert r.until_tag(b"a0")[-1].startswith(b"a0 OK")
    fd, ino = hold_flush(s)
    tags = [f"p{i}" for i in range(10)]
    try:
        r.send(pipelined(tags))
        assert wait_for(lambda: flush_waiter(ino), 20), open(
            "/proc/locks").read()
        assert nothing_sent(r) == b""
    finally:
        os.close(fd)
    uids = []
    for t in tags:
        lines = r.until_tag(t.encode())
        assert lines[-1].startswith(t.encode() + b" OK"), lines
        uids.append(int(re.search(rb"APPENDUID \d+ (\d+)",
                                  lines[-1]).group(1)))
    assert uids == list(range(uids[0], uids[0] + 10)), uids
    r.send(b"z LOGOUT\r\n")
    r.until_tag(b"z")
    groups = [int(m) for m in re.findall(
        r"group commit user=alice addr=\S+ commands=(\d+)", s.logtext())]
    assert groups and max(groups) >= 2, s.logtext()[-3000:]
    assert sum(groups) <= 10, groups


def test_pipelined_appends_killed_before_flush(fresh):
    """the server killed while pipelined APPENDs wait for their flush,
    then what a power cut takes (the database's last commits, the
    journal's and the commit log's unflushed lines, small files' bytes):
    the client was told nothing, and the state after recovery is the
    one before them"""
    s = fresh()
    no_checkpoint(s)
    s.start()
    c = s.connect("alice", "secret")
    c.append("INBOX", None, None, msg("early"))
    c.logout()
    s.stop()
    snap = os.path.join(s.dir, "db-snapshot")
    shutil.copytree(os.path.join(s.dir, "conf", "db"), snap)
    old = set(spool_files(s))
    s.log.close()
    s.start()
    want = state(s.connect("alice", "secret"))
    r = login(s)
    fd, ino = hold_flush(s)
    try:
        r.send(pipelined([f"k{i}" for i in range(5)]))
        assert wait_for(lambda: flush_waiter(ino), 20), open(
            "/proc/locks").read()
        assert nothing_sent(r) == b""
        s.stop(signal.SIGKILL)
    finally:
        os.close(fd)
    rest = b""
    try:
        while True:
            d = r.s.recv(65536)
            if not d:
                break
            rest += d
    except OSError:
        pass
    assert b" OK" not in rest, rest

    # the power cut: the database as snapshotted, the journal's lines
    # past its synced mark, the commit log's records past its durable
    # mark, the new small files' bytes
    shutil.rmtree(os.path.join(s.dir, "conf", "db"))
    shutil.copytree(snap, os.path.join(s.dir, "conf", "db"))
    lose_unsynced(os.path.join(s.dir, "spool", "journal", "alice"))
    with open(wal_path(s), "r+b") as f:
        hdr = f.read(54).split(b"\t")
        end, durable = int(hdr[2]), int(hdr[3])
        assert durable < end, hdr
        f.seek(durable)
        f.write(b"\0" * (end - durable))
        f.seek(len(b"\t".join(hdr[:2])) + 1)
        f.write(b"%020d" % durable)
    new = sorted(set(spool_files(s)) - old)
    assert 1 <= len(new) <= 5, new
    for path in new:
        os.truncate(path, 0)
    s.log.close()
    s.start()
    assert state(s.connect("alice", "secret")) == want

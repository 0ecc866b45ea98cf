"""Nothing on disk is ever deleted for want of a database record.

A master started with its Berkeley DB environment removed while the spool
holds mail must refuse to start, say which directory and what to run
(berthctl reconstruct), and leave every message file where it was; the
sweeps of recovery and checkpoints remove only files the database itself
saw lose their last record.
"""
import os
import shutil
import subprocess

from conftest import BUILD


def spool_files(srv):
    out = set()
    spool = os.path.join(srv.dir, "spool")
    for root, dirs, files in os.walk(spool):
        if os.path.basename(root) == "tmp":
            continue
        for n in files:
            out.add(os.path.join(root, n))
    return out


def ctl(srv, *args):
    return subprocess.run([os.path.join(BUILD, "tools", "berthctl"), "-C",
                           srv.conf, *args], capture_output=True, text=True,
                          timeout=60)


def fill(srv):
    c = srv.connect("alice", "secret")
    c.create("Work")
    for i in range(5):
        c.append("INBOX", None, None,
                 f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode())
        c.append("Work", None, None,
                 f"Subject: w{i}\r\n\r\nwork {i}\r\n".encode())
    c.logout()


def test_missing_environment_refuses_and_keeps_mail(fresh):
    srv = fresh().start()
    fill(srv)
    srv.stop()
    before = {p for p in spool_files(srv) if len(os.path.basename(p)) == 40}
    assert len(before) == 10
    shutil.rmtree(os.path.join(srv.dir, "conf", "db"))
    srv.start(wait=False)
    assert srv.proc.wait(timeout=30) != 0
    log = srv.logtext()
    assert "berthctl reconstruct" in log, log
    assert os.path.join(srv.dir, "conf") + "/db" in log, log
    assert before <= spool_files(srv)
    # and again: a second start finds the new empty environment, still
    # not known complete, and refuses the same way
    srv.log.close()
    srv.start(wait=False)
    assert srv.proc.wait(timeout=30) != 0
    assert before <= spool_files(srv)
    # berthctl on it refuses too, and checkpoint sweeps nothing
    r = ctl(srv, "checkpoint")
    assert r.returncode != 0
    r = ctl(srv, "mailbox", "list", "alice")
    assert r.returncode != 0 and "reconstruct" in r.stderr, r.stderr
    assert before <= spool_files(srv)


def test_sweep_keeps_unknown_files(fresh):
    """a file the database never knew (a restored or stray message file)
    survives recovery; a file whose last record was expunged does not"""
    srv = fresh().start()
    c = srv.connect("alice", "secret")
    c.append("INBOX", None, None, b"Subject: gone\r\n\r\nbye\r\n")
    c.select("INBOX")
    c.store("1", "+FLAGS", "\\Deleted")
    c.expunge()
    c.logout()
    srv.stop()
    gone = {p for p in spool_files(srv) if len(os.path.basename(p)) == 40}
    assert len(gone) == 1
    stray = os.path.join(srv.dir, "spool", "ab", "ab" + "0" * 38)
    with open(stray, "w") as f:
        f.write("Subject: stray\r\n\r\nnot in the database\r\n")
    srv.log.close()
    srv.start()
    files = spool_files(srv)
    assert stray in files
    assert not (gone & files)

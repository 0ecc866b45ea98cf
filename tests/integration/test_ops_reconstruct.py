"""berthctl reconstruct and check: the database rebuilt from the spool.

Mail that went through mailboxes, flags, keywords, COPY, MOVE, expunges,
a rename and subscriptions is compared over IMAP before the Berkeley DB
environment is deleted and after berthctl reconstruct rebuilt it: the
same mailboxes, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, UIDs, flags,
internal dates and bytes, so a client need download nothing again.
berthctl check compares database, journals and files read-only and exits
1 on an injected difference.
"""
import hashlib
import os
import re
import shutil
import subprocess

from conftest import BUILD


def ctl(srv, *args):
    return subprocess.run([os.path.join(BUILD, "tools", "berthctl"), "-C",
                           srv.conf, *args], capture_output=True, text=True,
                          timeout=120)


def state(srv, user="alice", password="secret"):
    """everything a client sees of user's mail"""
    c = srv.connect(user, password)
    c.enable("CONDSTORE") if "ENABLE" in c.capabilities else None
    out = {}
    typ, lines = c.list()
    # names with their attributes (special-use among them)
    out["list"] = sorted(ln.decode() for ln in lines)
    names = sorted(re.match(rb'\(.*?\) "?.*?"? (.*)$', ln).group(1)
                   .decode().strip('"') for ln in lines)
    typ, subs = c.lsub()
    out["lsub"] = sorted(s.decode() for s in subs if s)
    for name in names:
        typ, st = c.status(f'"{name}"',
                           "(UIDVALIDITY UIDNEXT MESSAGES HIGHESTMODSEQ)")
        box = {"status": st[0].decode().split("(", 1)[1]}
        typ, _ = c.select(f'"{name}"', readonly=True)
        typ, data = c.uid("FETCH", "1:*",
                          "(UID FLAGS INTERNALDATE MODSEQ BODY.PEEK[])")
        msgs = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta = item[0].decode()
            uid = re.search(r"UID (\d+)", meta).group(1)
            flags = sorted(re.search(r"FLAGS \((.*?)\)", meta).group(1)
                           .split())
            idate = re.search(r'INTERNALDATE "(.*?)"', meta).group(1)
            modseq = re.search(r"MODSEQ \((\d+)\)", meta).group(1)
            msgs.append((int(uid), flags, idate, modseq,
                         hashlib.sha1(item[1]).hexdigest()))
        box["msgs"] = sorted(msgs)
        c.close()
        out[name] = box
    c.logout()
    return out


def fill(srv):
    c = srv.connect("alice", "secret")
    for n in ("Work", "Archive", "Lists/berth"):
        c.create(n)
    c.subscribe("Work")
    c.subscribe("Lists/berth")
    for i in range(8):
        flags = "(\\Seen $Label1)" if i % 3 == 0 else "(\\Flagged)" \
            if i % 3 == 1 else None
        c.append("INBOX", flags, f'"0{i + 1}-Mar-2024 10:0{i}:00 +0100"',
                 f"Subject: m{i}\r\nFrom: a@example.org\r\n\r\nbody {i}\r\n"
                 .encode())
    c.append("Lists/berth", None, None, b"Subject: list\r\n\r\nlist\r\n")
    c.select("INBOX")
    c.uid("COPY", "1:3", "Work")          # messages in two mailboxes
    c.uid("COPY", "1", "Archive")         # and in three
    c.uid("MOVE", "4", "Archive")
    c.uid("STORE", "5", "+FLAGS", "(\\Deleted)")
    c.expunge()
    c.uid("STORE", "6", "+FLAGS", "(\\Answered custom)")
    c.uid("STORE", "2", "-FLAGS", "(\\Flagged)")
    c.close()
    c.rename("Archive", "Old")
    c.unsubscribe("Lists/berth")
    c.create("Gone")
    c.append("Gone", None, None, b"Subject: gone\r\n\r\nx\r\n")
    c.delete("Gone")
    c.logout()
    c = srv.connect("bob", "hunter2")
    c.create("Sent")    # made at the first login, with \Sent
    typ, data = c._simple_command("CREATE", "Kept", "(USE (\\Archive))")
    assert typ == "OK", data
    c.logout()
    c = srv.connect("john.doe", "pw")
    c.append("INBOX", None, None, b"Subject: dot\r\n\r\ndot\r\n")
    c.logout()
    c = srv.connect("bob", "hunter2")
    c.append("Sent", "(\\Seen)", None, b"Subject: bob\r\n\r\nbob\r\n")
    c.logout()


def test_reconstruct_after_losing_the_environment(fresh):
    srv = fresh()
    srv.add_user("bob", "hunter2")
    srv.add_user("john.doe", "pw")
    srv.start()
    fill(srv)
    before = state(srv)
    bob_before = state(srv, "bob", "hunter2")
    dot_before = state(srv, "john.doe", "pw")
    assert before["Old"]["msgs"] and before["Work"]["msgs"]
    assert any("\\Sent" in ln and "Sent" in ln for ln in bob_before["list"])
    assert any("\\Archive" in ln and "Kept" in ln
               for ln in bob_before["list"])
    r = ctl(srv, "check")
    assert r.returncode == 0, r.stdout + r.stderr
    srv.stop()

    shutil.rmtree(os.path.join(srv.dir, "conf", "db"))
    srv.log.close()
    srv.start(wait=False)
    assert srv.proc.wait(timeout=30) != 0
    assert "berthctl reconstruct" in srv.logtext()

    # a stray file in no mailbox is reported and kept
    stray = os.path.join(srv.dir, "spool", "cd", "cd" + "1" * 38)
    with open(stray, "w") as f:
        f.write("Subject: stray\r\n\r\nstray\r\n")
    r = ctl(srv, "reconstruct")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "orphan file=" + stray in r.stdout, r.stdout
    assert os.path.exists(stray)
    assert "reconstructed user=alice" in r.stdout
    srv.log.close()
    srv.start()
    assert state(srv) == before
    assert state(srv, "bob", "hunter2") == bob_before
    assert state(srv, "john.doe", "pw") == dot_before
    r = ctl(srv, "check")
    assert r.returncode == 0, r.stdout + r.stderr
    # the server goes on from there: new UIDs follow the old ones
    c = srv.connect("alice", "secret")
    typ, data = c.append("Work", None, None, b"Subject: after\r\n\r\nx\r\n")
    uid = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))
    assert uid == int(re.search(r"UIDNEXT (\d+)",
                                before["Work"]["status"]).group(1))
    c.logout()
    srv.stop()
    r = ctl(srv, "reconstruct", "--purge")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not os.path.exists(stray)


def test_reconstruct_one_user_and_mailbox(fresh):
    srv = fresh()
    srv.add_user("bob", "hunter2")
    srv.add_user("john.doe", "pw")
    srv.start()
    fill(srv)
    before = state(srv)
    srv.stop()
    r = ctl(srv, "reconstruct", "alice", "Work")
    assert r.returncode == 0, r.stdout + r.stderr
    r = ctl(srv, "reconstruct", "alice")
    assert r.returncode == 0, r.stdout + r.stderr
    srv.log.close()
    srv.start()
    assert state(srv) == before


def test_check_finds_differences(fresh):
    srv = fresh()
    srv.add_user("bob", "hunter2")
    srv.add_user("john.doe", "pw")
    srv.start()
    fill(srv)
    r = ctl(srv, "check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "differences=0" in r.stdout
    # a message file gone
    c = srv.connect("bob", "hunter2")
    c.select("Sent")
    typ, data = c.uid("FETCH", "1", "BODY.PEEK[]")
    c.logout()
    guid = hashlib.sha1(data[0][1]).hexdigest()
    path = os.path.join(srv.dir, "spool", guid[:2], guid)
    moved = path + ".aside"
    os.rename(path, moved)
    r = ctl(srv, "check", "bob")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "missing" in r.stdout and "user=bob" in r.stdout
    os.rename(moved, path)
    # a journal line the database never saw
    # (the lines end at the first NUL: zeros are written ahead)
    with open(os.path.join(srv.dir, "spool", "journal", "alice"),
              "r+b") as f:
        end = f.read().index(b"\0")
        f.seek(end)
        f.write(b"S\tNever\n")
    r = ctl(srv, "check")
    assert r.returncode == 1
    assert "subscription=Never" in r.stdout, r.stdout
    r = ctl(srv, "check", "bob")
    assert r.returncode == 0, r.stdout

"""master: config errors, pools, SIGHUP, crashes, restarts, durability."""
import os
import signal
import subprocess
import time

from conftest import BUILD, PROGDIR, Server, wait_for

MSG = b"From: a@example.com\r\nSubject: keep me\r\n\r\nimportant\r\n"


def run_master(s):
    return subprocess.run(
        [os.path.join(BUILD, "master", "master"), "-C", s.conf, "-M",
         s.mconf, "-D"], capture_output=True, timeout=20,
        env=dict(os.environ, BERTH_PROGDIR=PROGDIR))


def test_master_conf_error_names_file_line_key(fresh):
    s = fresh()
    with open(s.mconf, "w") as f:
        f.write("START {\n}\nSERVICES {\n  imap cmd=\"imapd\" "
                "listen=\"127.0.0.1:1\" prefork=lots\n}\n")
    r = run_master(s)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert f"{s.mconf}:4" in err and "prefork" in err and "imap" in err


def test_imapd_conf_error_names_file_line_key(fresh):
    s = fresh()
    with open(s.conf, "a") as f:
        f.write("allowplaintext: perhaps\n")
    r = run_master(s)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "allowplaintext" in err and s.conf in err


def test_unknown_imapd_conf_key_warns(fresh):
    s = fresh()
    with open(s.conf, "a") as f:
        f.write("frobnicate: 1\n")
    s.start()
    s.stop()
    assert "frobnicate" in s.logtext()


def test_prefork_and_sighup(fresh):
    s = fresh(prefork=2).start()
    assert wait_for(lambda: len(s.children()) >= 2)
    s.write_master(prefork=4)
    s.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: len(s.children()) >= 4)
    # a client connected across the reload keeps working
    c = s.connect("alice", "secret")
    # a service added on reload listens; the old one keeps its session
    from conftest import free_port
    import imaplib
    port2 = free_port()
    s.write_master(prefork=4, extra=f'  imap2 cmd="imapd" '
                   f'listen="127.0.0.1:{port2}" prefork=1\n')
    s.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: _greets(port2))
    assert c.noop()[0] == "OK"
    # and removed on the next reload
    s.write_master(prefork=4)
    s.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: not _greets(port2))
    assert c.noop()[0] == "OK"
    c.logout()
    assert s.stop() == 0


def _greets(port):
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as k:
            return k.recv(100).startswith(b"* OK")
    except OSError:
        return False


def test_imapd_killed_mid_session(fresh):
    s = fresh().start()
    c = s.connect("alice", "secret")
    c.select("INBOX")
    victims = s.children()
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    c2 = None
    assert wait_for(lambda: len(set(s.children()) - set(victims)) >= 1)
    c2 = s.connect("alice", "secret")
    assert c2.append("INBOX", None, None, MSG)[0] == "OK"
    c2.logout()
    assert s.stop() == 0


def test_data_survives_restart(fresh):
    s = fresh().start()
    c = s.connect("alice", "secret")
    c.create("kept")
    c.append("kept", None, None, MSG)
    c.logout()
    assert s.stop() == 0
    s.start()
    c = s.connect("alice", "secret")
    typ, d = c.select("kept")
    assert d == [b"1"]
    assert c.fetch("1", "(BODY.PEEK[])")[1][0][1] == MSG
    c.logout()


def test_acknowledged_append_survives_sigkill(fresh):
    s = fresh().start()
    c = s.connect("alice", "secret")
    for i in range(5):
        assert c.append("INBOX", None, None, MSG + b"%d\r\n" % i)[0] == "OK"
    # the whole process group dies without warning
    s.stop(signal.SIGKILL)
    s.start()
    c = s.connect("alice", "secret")
    typ, d = c.select("INBOX")
    assert d == [b"5"]
    for i in range(5):
        assert c.fetch(str(i + 1), "(BODY.PEEK[])")[1][0][1] == \
            MSG + b"%d\r\n" % i
    # UIDs are never reused after the crash
    typ, d = c.append("INBOX", None, None, MSG)
    assert b"APPENDUID" in d[0] and d[0].split()[2] == b"6]"
    c.logout()


def test_authd_restarted(fresh):
    s = fresh().start()
    assert wait_for(lambda: len(s.children("authd")) == 1)
    pids = s.children("authd")
    os.kill(pids[0], signal.SIGKILL)
    assert wait_for(lambda: len(s.children("authd")) == 1 and
                    s.children("authd") != pids, 15)
    # the new authd admits connections once it listens
    assert s.wait_log("berth/authd[", "listening on", count=2)
    c = s.connect("alice", "secret")
    c.logout()


def test_workers_killed_under_load_lose_no_acknowledged_mail(fresh):
    """SIGKILL workers at random while sessions write; every APPEND that
    got its OK is there afterwards, and the server keeps serving (master
    runs recovery itself if a worker died inside the database)."""
    import imaplib
    import random
    import threading

    s = fresh(prefork=3).start()
    acked = []
    stop = threading.Event()

    def writer(n):
        c = None
        i = 0
        while not stop.is_set():
            try:
                if c is None:
                    c = s.connect("alice", "secret")
                body = MSG + b"w%d-%d\r\n" % (n, i)
                if c.append("INBOX", None, None, body)[0] == "OK":
                    acked.append(body)
                c.store("1:*", "+FLAGS", r"(\Seen)") if i % 5 == 0 else None
                i += 1
            except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError):
                c = None
                time.sleep(0.05)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    rnd = random.Random(7)
    for _ in range(8):
        time.sleep(0.3)
        kids = s.children()
        if kids:
            try:
                os.kill(rnd.choice(kids), signal.SIGKILL)
            except ProcessLookupError:
                pass    # it exited between listing and kill
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(30)
    assert acked
    c = None
    for _ in range(100):
        try:
            c = s.connect("alice", "secret")
            break
        except (imaplib.IMAP4.error, OSError):
            time.sleep(0.2)
    assert c is not None, s.logtext()[-3000:]
    typ, d = c.select("INBOX")
    n = int(d[0])
    assert n >= len(acked)
    typ, d = c.fetch("1:*", "(BODY.PEEK[TEXT])")
    stored = {x[1] for x in d if isinstance(x, tuple)}
    for body in acked:
        assert body.split(b"\r\n\r\n", 1)[1] in stored
    c.logout()
    assert s.stop() == 0

"""berthctl behaves like a Unix admin tool: --help and usage without a
configuration, errors on stderr with a non-zero exit, and every
subcommand's refusals."""
import os
import socket
import subprocess

import pytest

from conftest import BUILD, wait_for
from raw import Raw

CTL = os.path.join(BUILD, "tools", "berthctl")


def run(*args, conf=None, input=None):
    argv = [CTL] + (["-C", conf] if conf else []) + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          input=input,
                          env=dict(os.environ, BERTH_CONFIG="/nonexistent"))


def test_help_without_config():
    r = run("--help")
    assert r.returncode == 0 and "usage: berthctl" in r.stdout
    assert "reconstruct" in r.stdout and r.stderr == ""
    r = run("mailbox", "--help")
    assert r.returncode == 0 and "mailbox rename" in r.stdout


@pytest.mark.parametrize("args", [
    [], ["bogus"], ["user"], ["user", "delete"], ["user", "add"],
    ["mailbox"], ["mailbox", "create", "alice"], ["recover", "x"],
    ["check", "a", "b"], ["reconstruct", "a", "b", "c", "d"],
    ["penalty", "clear"], ["who", "x", "y"], ["kick"], ["-C"],
])
def test_usage_errors_without_config(args):
    r = run(*args)
    assert r.returncode == 2, (args, r)
    assert "usage: berthctl" in r.stderr and r.stdout == ""


def test_missing_config_is_an_error():
    r = run("user", "list", conf="/nonexistent/imapd.conf")
    assert r.returncode == 1 and "/nonexistent/imapd.conf" in r.stderr


def test_subcommand_errors(fresh):
    srv = fresh().start()
    conf = srv.conf
    r = run("user", "list", conf=conf)
    assert r.returncode == 0 and r.stdout.split() == ["alice"], r
    r = run("user", "delete", "nosuch", conf=conf)
    assert r.returncode == 1 and "no such user" in r.stderr, r
    r = run("user", "passwd", "nosuch", "-p", conf=conf, input="x\n")
    assert r.returncode == 1 and "no such user" in r.stderr
    r = run("user", "add", "carol", "-p", conf=conf, input="\n")
    assert r.returncode == 1 and "empty password" in r.stderr
    r = run("user", "add", "carol", "-p", conf=conf, input="pw\n")
    assert r.returncode == 0, r
    r = run("user", "list", conf=conf)
    assert sorted(r.stdout.split()) == ["alice", "carol"]
    r = run("user", "delete", "carol", "--bogus", conf=conf)
    assert r.returncode == 2
    r = run("mailbox", "create", "carol", "INBOX", conf=conf)
    assert r.returncode == 0, r
    r = run("mailbox", "create", "carol", "Sub/Deep", conf=conf)
    assert r.returncode == 0, r
    r = run("user", "delete", "carol", "--keep-mail", conf=conf)
    assert r.returncode == 0 and "mailboxes kept" in r.stdout, r
    r = run("mailbox", "list", "carol", conf=conf)
    assert "INBOX" in r.stdout
    r = run("user", "add", "carol", "-p", conf=conf, input="pw\n")
    r = run("user", "delete", "carol", conf=conf)
    assert r.returncode == 0, r
    assert "deleted with its 3 mailboxes" in r.stdout, r
    r = run("mailbox", "list", "carol", conf=conf)
    assert r.returncode == 0 and r.stdout == ""
    r = run("user", "list", conf=conf)
    assert r.stdout.split() == ["alice"]

    r = run("mailbox", "create", "alice", "Work", conf=conf)
    assert r.returncode == 0, r
    r = run("mailbox", "create", "alice", "Work", conf=conf)
    assert r.returncode == 1 and "already exists" in r.stderr
    r = run("mailbox", "rename", "alice", "Work", "Job", conf=conf)
    assert r.returncode == 0, r
    r = run("mailbox", "rename", "alice", "Work", "Job2", conf=conf)
    assert r.returncode == 1 and "no such mailbox" in r.stderr
    r = run("mailbox", "delete", "alice", "Nope", conf=conf)
    assert r.returncode == 1 and "no such mailbox" in r.stderr
    r = run("mailbox", "delete", "alice", "INBOX", conf=conf)
    assert r.returncode == 1
    r = run("mailbox", "list", "alice", conf=conf)
    assert r.returncode == 0 and "Job\t" in r.stdout, r
    r = run("mailbox", "frob", "alice", conf=conf)
    assert r.returncode == 2
    c = srv.connect("alice", "secret")
    assert any(b"Job" in ln for ln in c.list()[1])
    c.logout()

    r = run("check", conf=conf)
    assert r.returncode == 0, r
    r = run("reconstruct", "--bogus", conf=conf)
    assert r.returncode == 2
    r = run("reconstruct", "--purge", "alice", conf=conf)
    assert r.returncode == 2

    r = run("who", conf=conf)
    assert r.returncode == 0 and "USER" in r.stdout, r

    r = run("config", conf=conf)
    assert r.returncode == 0, r
    assert "configdirectory: " + srv.dir in r.stdout
    assert "partition-default: " in r.stdout
    assert "maxliteral: 1M" in r.stdout
    r = run("config", "-x", conf=conf)
    assert r.returncode == 2
    with open(conf, "a") as f:
        f.write("no_such_key: 1\n")
    r = run("config", conf=conf)
    assert r.returncode == 1 and "no_such_key" in r.stderr, r


# --- who and kick ---------------------------------------------------------

def who_rows(conf, *args):
    r = run("who", *args, conf=conf)
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0].split()[:6] == ["SESSION", "USER", "ADDRESS", "STATE",
                                    "WHERE", "SINCE"]
    return [ln.split() for ln in lines[1:]]


def test_who_and_kick(fresh):
    # logged-in sessions stay in their worker between commands, even
    # while clients queue for a worker (under load bob's connection did,
    # and park_on_backlog parked the active session: two parked)
    srv = fresh(tls=True, extra_conf="wait_park_delay: 1h\n"
                                     "park_on_backlog: no\n").start()
    srv.add_user("bob", "pw")
    conf = srv.conf
    active = Raw(srv.port)
    active.cmd(b"a", b"LOGIN alice secret")
    idler = Raw(srv.port)
    idler.cmd(b"a", b"LOGIN alice secret")
    idler.cmd(b"b", b"SELECT INBOX")
    idler.send(b"c IDLE\r\n")
    assert idler.line().startswith(b"+")
    bob = Raw(srv.port)
    bob.cmd(b"a", b"LOGIN bob pw")
    # a TLS client that has not begun its handshake waits in tlsd
    tls = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=10)
    assert wait_for(lambda: srv.parked() == 1, 10)

    def table():
        return {(r[1], r[3], r[4].split("[")[0]) for r in who_rows(conf)}

    want = {("alice", "active", "imapd"), ("alice", "parked", "idled"),
            ("bob", "active", "imapd"), ("-", "tls", "tlsd")}
    assert wait_for(lambda: table() == want, 10), who_rows(conf)
    rows = who_rows(conf)
    assert all(r[2] == "127.0.0.1" for r in rows), rows
    assert len({r[0] for r in rows}) == 4       # one session id each
    pids = {int(r[4].split("[")[1].rstrip("]")) for r in rows
            if r[3] == "active"}
    assert pids <= set(srv.children("imapd")), (pids, rows)
    assert {r[1] for r in who_rows(conf, "alice")} == {"alice"}
    assert len(who_rows(conf, "alice")) == 2
    assert who_rows(conf, "nobody-here") == []

    r = run("kick", "alice", conf=conf)
    assert r.returncode == 0, r
    assert "kicked 2 sessions of alice: all ended" in r.stdout, r
    for c in (active, idler):
        lines = []
        try:
            while True:
                lines.append(c.line())
        except (EOFError, ConnectionResetError):
            pass
        assert any(ln.startswith(b"* BYE") and b"administrator" in ln
                   for ln in lines), lines
    # the others go on
    assert bob.cmd(b"b", b"NOOP")[-1].startswith(b"b OK")
    assert {r[1] for r in who_rows(conf)} == {"bob", "-"}
    assert srv.wait_log("berth/authd[", "kick user=alice sessions=2")
    assert srv.wait_log("berth/imapd[", "kicked user=alice")
    assert srv.wait_log("berth/idled[", "unpark user=alice",
                        "reason=kicked")
    # the kick lines name each session, as its other lines do
    sids = {ln.rsplit("session=", 1)[1] for ln in srv.logtext().splitlines()
            if "kick user=alice addr=" in ln and " holder=" in ln}
    assert len(sids) == 2
    for sid in sids:
        assert srv.log_count("login user=alice", f"session={sid}") == 1

    r = run("kick", "alice", conf=conf)
    assert r.returncode == 1 and "no sessions of alice" in r.stderr, r
    bob.close()
    tls.close()


def test_who_kick_errors(fresh):
    srv = fresh()           # not started: no authd
    srv.chown()
    r = run("who", conf=srv.conf)
    assert r.returncode == 1 and "authd is not reachable" in r.stderr, r
    r = run("kick", "alice", conf=srv.conf)
    assert r.returncode == 1 and "authd is not reachable" in r.stderr, r
    for args in (["kick"], ["kick", "a", "b"], ["who", "a", "b"],
                 ["kick", "--all"], ["who", "-x"]):
        r = run(*args, conf=srv.conf)
        assert r.returncode == 2 and "usage: berthctl" in r.stderr, (args, r)


@pytest.mark.parametrize("args,code,text", [
    (["parked"], 1, "idled is not reachable"),
    (["penalties"], 1, "authd is not reachable"),
    (["penalties", "-n", "0"], 2, "usage: berthctl penalties"),
    (["penalties", "-n", "x"], 2, "usage: berthctl penalties"),
    (["penalty", "clear", "192.0.2.1"], 1, "authd is not reachable"),
    (["penalty", "frob", "192.0.2.1"], 2, "usage: berthctl penalty"),
    (["connections"], 1, "authd is not reachable"),
    (["connections", "-n"], 2, "usage: berthctl connections"),
    (["who"], 1, "authd is not reachable"),
    (["kick", "alice"], 1, "authd is not reachable"),
    (["deliver"], 2, "usage: berthctl deliver"),
    (["deliver", "alice"], 75, "lmtp"),
    (["stats"], 1, "open environment"),
    (["panic"], 1, "open environment"),
    (["user", "frob", "x"], 2, "usage: berthctl user"),
    (["mailbox", "list"], 2, "usage: berthctl mailbox"),
    (["config", "-x"], 2, "usage: berthctl config"),
])
def test_errors_without_a_server(fresh, args, code, text):
    """every subcommand that needs a daemon or the store says what is
    missing, on stderr, with a non-zero status"""
    srv = fresh()           # configured, never started
    srv.chown()
    r = run(*args, conf=srv.conf, input="Subject: x\n\nbody\n")
    assert r.returncode == code, (args, r)
    assert text in r.stderr, (args, r)
    assert r.stdout == "", (args, r)


def test_output_lost_is_an_error(fresh):
    """a command whose output cannot be written (stdout on a full disk)
    says so and fails, instead of exiting 0 with nothing printed"""
    srv = fresh().start()
    argv = [CTL, "-C", srv.conf, "user", "list"]
    with open("/dev/full", "w") as full:
        r = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=60,
                           env=dict(os.environ, BERTH_CONFIG="/nonexistent"))
    assert r.returncode == 1, r
    assert "berthctl: stdout: " in r.stderr, r


def test_runs_as_berth_user_and_leaves_no_root_files(fresh):
    # run by root, berthctl drops to berth_user before it touches the
    # store: whatever it creates (a user's journal, mailboxes, database
    # files, the checkpoint's compaction) the server can write later
    if os.geteuid() != 0:
        pytest.skip("needs root")
    srv = fresh().start()
    conf = srv.conf
    assert run("user", "add", "dave", "-p", conf=conf,
               input="pw\n").returncode == 0
    for args in (["mailbox", "create", "dave", "Work"],
                 ["mailbox", "rename", "dave", "Work", "Job"],
                 ["checkpoint"], ["check"]):
        r = run(*args, conf=conf)
        assert r.returncode == 0, (args, r)
    owners = {}
    for top in ("conf", "spool"):
        for dp, dn, fn in os.walk(os.path.join(srv.dir, top)):
            for n in dn + fn:
                p = os.path.join(dp, n)
                owners.setdefault(os.lstat(p).st_uid, []).append(p)
    assert 0 not in owners, owners[0][:10]
    assert os.stat(os.path.join(srv.dir, "spool", "journal",
                                "dave")).st_uid != 0

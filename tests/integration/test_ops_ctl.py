"""berthctl behaves like a Unix admin tool: --help and usage without a
configuration, errors on stderr with a non-zero exit, and every
subcommand's refusals."""
import os
import subprocess

import pytest

from conftest import BUILD

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
    ["penalty", "clear"], ["who", "x"], ["-C"],
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

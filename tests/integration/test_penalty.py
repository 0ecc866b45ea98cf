"""authd penalties: delays that grow, the penalty box, known clients on a
penalised network, persistence across an authd restart, priorities."""
import os
import re
import signal

import pytest

from fakeauthd import FakeSaslauthd
from raw import Raw
from conftest import wait_for

PEN = ("authd_delay_base: 200ms\nauthd_delay_max: 1s\n"
       "authd_penalty_halflife: 10m\n")


def attempt(s, source, user=b"alice", pw=b"wrong", tag=b"a"):
    """one login on a new connection: (greeting, tagged reply)"""
    r = Raw(s.port, timeout=30, source=source)
    if not r.greeting.startswith(b"* OK"):
        return r.greeting, None
    out = r.cmd(tag, b"LOGIN " + user + b" " + pw)[-1]
    r.close()
    return r.greeting, out


def delays(s, addr):
    """the delay_ms authd gave each failed login from addr, in turn"""
    return [int(re.search(r" delay_ms=(\d+)", ln).group(1))
            for ln in s.logtext().splitlines()
            if f"login failed user=alice addr={addr} " in ln and
            " delay_ms=" in ln]


def test_failures_delayed_then_refused_clean_address_unaffected(fresh):
    s = fresh(extra_conf=PEN + "authd_box_addr: 4\n").start()
    for i in range(4):
        g, out = attempt(s, "127.0.3.1")
        assert out.startswith(b"a NO [AUTHENTICATIONFAILED]"), out
    # doubling from 200 ms, up to the 1 s cap
    assert delays(s, "127.0.3.1") == [200, 400, 800, 1000], s.logtext()
    log = s.logtext()
    assert "penalty box addr=127.0.3.1" in log
    assert "login failed user=alice addr=127.0.3.1 mech=PLAIN" in log
    assert "delay_ms=400" in log and "fails_addr=" in log
    # boxed: refused at admission, no SASL work
    g, out = attempt(s, "127.0.3.1")
    assert g.startswith(b"* BYE [UNAVAILABLE] Too many failed logins"), g
    assert "refuse addr=127.0.3.1 limit=authd_box_addr" in s.logtext()
    # a clean address elsewhere logs in, with no penalty of its own
    g, out = attempt(s, "127.1.0.2", pw=b"secret")
    assert out.startswith(b"a OK"), out
    assert "addr=127.1.0.2 limit=" not in s.logtext()
    assert "secret" not in s.logtext() and "wrong" not in s.logtext()


def test_known_user_gets_in_from_penalised_network(fresh):
    s = fresh(extra_conf=PEN + "authd_box_addr: 4\nauthd_box_net: 6\n"
              "authd_delay_base: 50ms\nauthd_delay_max: 100ms\n").start()
    s.add_user("bob", "hunter2")
    # bob works from 127.2.0.5 (an office NAT)
    assert attempt(s, "127.2.0.5", b"bob", b"hunter2")[1].startswith(b"a OK")
    # a botnet in the same /24 ...
    for i in range(6):
        assert attempt(s, f"127.2.0.{10 + i}")[1].startswith(b"a NO")
    assert "penalty box net=127.2.0.0/24" in s.logtext()
    g, _ = attempt(s, "127.2.0.40")
    assert g.startswith(b"* BYE [UNAVAILABLE]"), g
    assert "limit=authd_box_net" in s.logtext()
    # ... and behind bob's own address
    for i in range(4):
        assert attempt(s, "127.2.0.5")[1].startswith(b"a NO")
    assert "penalty box addr=127.2.0.5" in s.logtext()
    # bob still gets in from his address
    g, out = attempt(s, "127.2.0.5", b"bob", b"hunter2")
    assert out is not None and out.startswith(b"a OK"), (g, out)


def test_maxbadlogins_closes_the_connection(fresh):
    s = fresh(extra_conf="maxbadlogins: 2\n").start()
    r = Raw(s.port, timeout=30, source="127.0.3.50")
    assert r.cmd(b"a", b"LOGIN alice x")[-1].startswith(b"a NO")
    out = r.cmd(b"b", b"LOGIN alice y")
    assert out[-1].startswith(b"b NO [AUTHENTICATIONFAILED]"), out
    assert r.line().startswith(b"* BYE")
    assert r.closed()
    assert "limit=maxbadlogins:2" in s.logtext()


def test_penalties_survive_authd_restart(fresh):
    s = fresh(extra_conf=PEN + "authd_box_addr: 3\n").start()
    for i in range(3):
        assert attempt(s, "127.0.4.1")[1].startswith(b"a NO")
    assert attempt(s, "127.0.4.1")[0].startswith(b"* BYE")
    assert wait_for(lambda: len(s.children("authd")) == 1)
    old = s.children("authd")
    os.kill(old[0], signal.SIGKILL)
    assert wait_for(lambda: s.children("authd") not in ([], old), 15)
    assert wait_for(lambda: "penalty database loaded entries=" in
                    s.logtext().split("restarting")[-1], 10)
    # still boxed after recovery; the clean address still gets in
    assert attempt(s, "127.0.4.1")[0].startswith(
        b"* BYE [UNAVAILABLE] Too many failed logins")
    assert attempt(s, "127.0.4.2", pw=b"secret")[1].startswith(b"a OK")


def test_known_pair_jumps_the_queue(fresh):
    import tempfile
    d = tempfile.mkdtemp(prefix="berth-sa-")
    os.chmod(d, 0o755)
    fake = FakeSaslauthd(os.path.join(d, "mux"), {"alice": "secret"},
                         delay=0.3)
    s = fresh(extra_conf=PEN + "sasl_pwcheck_method: saslauthd\n"
              f"sasl_saslauthd_path: {fake.path}\n"
              "authd_backend_threads: 1\nauthd_queue_timeout: 10s\n"
              "authd_box_addr: 100\nauthd_box_net: 100\n"
              "authd_delay_base: 10ms\nauthd_delay_max: 10ms\n",
              maxchild=30)
    try:
        s.start()
        # alice has logged in from 127.0.5.5; the attackers have failed
        assert attempt(s, "127.0.5.5", pw=b"secret")[1].startswith(b"a OK")
        for i in range(6):
            assert attempt(s, f"127.0.6.{i + 1}")[1].startswith(b"a NO")
        rs = []
        for i in range(6):
            r = Raw(s.port, timeout=30, source=f"127.0.6.{i + 1}")
            r.send(b"a LOGIN alice guess\r\n")
            rs.append(r)
        # one of them checked (the one thread busy), five queued
        assert wait_for(lambda: fake.checks == 8 and queued(s) == 5, 20), \
            (fake.checks, queued(s))
        me = Raw(s.port, timeout=30, source="127.0.5.5")
        out = me.cmd(b"m", b"LOGIN alice secret")[-1]
        assert out.startswith(b"m OK"), out
        for r in rs:
            r.until_tag(b"a")
        # behind the check already running, before the five queued
        assert fake.order[7:].index(("alice", "secret")) == 1, fake.order
    finally:
        fake.stop()


def test_parked_penalty_costs_no_worker(fresh):
    """100 failed logins wait out their delay at once on a pool of at
    most 6 workers: the delays are parked in idled, all 100 at the same
    time, not slept in workers (6 at a time)"""
    s = fresh(prefork=2, maxchild=6,
              extra_conf="authd_delay_base: 3s\nauthd_delay_max: 3s\n"
              "authd_box_addr: 1000\nauthd_box_net: 1000\n").start()
    rs = []
    for i in range(100):
        r = Raw(s.port, timeout=60, source=f"127.0.9.{i + 1}")
        r.send(b"a LOGIN alice wrong\r\n")
        rs.append(r)
    # a failed login stays parked after its reply, until its next
    # command: the count reaches 100 however slow the run
    assert wait_for(lambda: s.parked() == 100, 60), s.parked()
    if "delays served in the worker" in s.logtext():
        pytest.skip("imapd_park_penalty not available")
    assert len(s.children()) <= 6
    for r in rs:
        assert r.until_tag(b"a")[-1].startswith(
            b"a NO [AUTHENTICATIONFAILED]")
    # and the sessions are usable again: the next command resumes them
    assert rs[0].cmd(b"n", b"NOOP")[-1].startswith(b"n OK")


def queued(s):
    """logins waiting in authd's queue, as berthctl connections says"""
    for ln in berthctl(s, "connections")[1].splitlines():
        if ln.startswith("queued logins: "):
            return int(ln.split(": ", 1)[1])
    return -1


def berthctl(s, *args):
    import subprocess
    from conftest import BUILD
    out = subprocess.run([os.path.join(BUILD, "tools", "berthctl"), "-C",
                          s.conf] + list(args), capture_output=True,
                         timeout=20)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


def test_berthctl_lists_and_clears_penalties(fresh):
    s = fresh(extra_conf=PEN + "authd_box_addr: 3\n"
              "authd_delay_base: 10ms\n").start()
    for i in range(3):
        assert attempt(s, "127.0.11.1")[1].startswith(b"a NO")
    assert attempt(s, "127.0.12.1", b"mallory")[1].startswith(b"a NO")
    assert attempt(s, "127.0.11.1")[0].startswith(b"* BYE")
    rc, out, err = berthctl(s, "penalties")
    assert rc == 0, err
    lines = out.splitlines()
    clients = lines.index([ln for ln in lines if ln.startswith("clients")][0])
    # most failures first, with the box shown
    first = lines[clients + 2].split()
    assert first[-1] == "127.0.11.1" and first[-2] == "yes", out
    assert first[1] == "3", out
    assert "127.0.12.1" in lines[clients + 3], out
    assert "127.0.11.0/24" in out and "mallory" in out and "alice" in out
    rc, out, _ = berthctl(s, "penalty", "clear", "127.0.11.1")
    assert rc == 0 and "cleared a:127.0.11.1" in out, out
    assert attempt(s, "127.0.11.1", pw=b"secret")[1].startswith(b"a OK")
    assert "penalty cleared addr=127.0.11.1 by berthctl" in s.logtext()
    rc, out, _ = berthctl(s, "penalty", "clear", "127.0.11.0/24")
    assert rc == 0, out
    rc, out, _ = berthctl(s, "penalty", "clear", "mallory")
    assert rc == 0 and "cleared u:mallory" in out, out
    rc, out, _ = berthctl(s, "penalty", "clear", "10.9.9.9")
    assert rc == 1 and "no penalty" in out, out
    rc, out, _ = berthctl(s, "penalty", "clear", "10.9.0.0/20")
    assert rc == 1, out
    held = Raw(s.port, source="127.0.13.1")
    held.cmd(b"l", b"LOGIN alice secret")
    rc, out, _ = berthctl(s, "connections")
    assert rc == 0 and "connections: " in out and "127.0.13.1" in out, out
    assert "alice" in out


def test_storm_is_summarised(fresh):
    s = fresh(extra_conf=PEN + "authd_log_burst: 3\n"
              "authd_log_interval: 2s\nauthd_delay_base: 10ms\n"
              "authd_delay_max: 10ms\nauthd_box_addr: 1000\n"
              "authd_box_net: 1000\n").start()
    rs = []
    for i in range(12):
        r = Raw(s.port, timeout=30, source=f"127.0.14.{i % 3 + 1}")
        r.send(b"a LOGIN alice wrong\r\n")
        rs.append(r)
    for r in rs:
        assert r.until_tag(b"a")[-1].startswith(b"a NO")
    assert wait_for(lambda: "storm interval_s=" in s.logtext(), 10)
    log = s.logtext()
    assert log.count("login failed user=alice") < 12
    storm = [ln for ln in log.splitlines() if "storm interval_s=" in ln][0]
    assert "suppressed=" in storm and "top_addrs=127.0.14." in storm
    assert "top_users=alice:" in storm
    # a quiet interval ends the storm with one more line, then silence
    assert wait_for(lambda: "ended=yes" in s.logtext(), 10)


def test_refusals_wait_in_idled_not_in_workers(fresh):
    """a boxed client's BYE is held back for authd_delay_max in idled (a
    tarpit: a client that waits for it retries once per delay) and costs
    no worker; past idled_tarpit_addr per address the BYE comes at once"""
    import select
    s = fresh(prefork=2, maxchild=6,
              extra_conf=PEN + "authd_box_addr: 2\nauthd_delay_max: 15s\n"
              "idled_tarpit_addr: 20\n").start()
    for _ in range(2):
        assert attempt(s, "127.0.4.1")[1].startswith(b"a NO")
    conns = [Raw.nogreeting(s.port, timeout=40, source="127.0.4.1")
             for _ in range(21)]
    # twenty wait in idled for their BYE, holding no worker ...
    assert wait_for(lambda: s.parked() == 20, 15), s.parked()
    assert len(s.children()) <= 6
    # ... and the one past the tarpit's room for that address has its
    # BYE at once, while they wait
    ready, _, _ = select.select([r.s for r in conns], [], [], 15)
    assert len(ready) == 1, len(ready)
    early = [r for r in conns if r.s in ready][0]
    conns.remove(early)
    assert early.line().startswith(b"* BYE [UNAVAILABLE] Too many failed")
    assert early.closed()
    # a waiting one gets the same once the delay is over
    r = conns.pop()
    assert r.line().startswith(b"* BYE [UNAVAILABLE] Too many failed")
    assert r.closed()
    for r in conns:
        r.close()

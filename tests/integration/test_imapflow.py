"""A real client with IDLE and CONDSTORE support (the imapflow library)
parked in idled: it must see every change, as from an unparked session."""
import json
import select
import os
import shutil
import subprocess

import pytest

from conftest import wait_for

NODE_DIR = os.path.join(os.path.dirname(__file__), "..", "node")
MSG = b"From: a@example.com\r\nSubject: flow\r\n\r\nnew mail\r\n"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or
    not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "imapflow")),
    reason="node and tests/node/node_modules (npm ci) are needed")


class Flow:
    def __init__(self, port, mailbox):
        self.p = subprocess.Popen(
            ["node", os.path.join(NODE_DIR, "idle_watch.js"), str(port),
             "alice", "secret", mailbox], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True)
        self.buf = b""

    def event(self, timeout=10):
        # our own buffer: select() cannot see lines a buffered reader
        # has already taken from the pipe
        fd = self.p.stdout.fileno()
        while b"\n" not in self.buf:
            r, _, _ = select.select([fd], [], [], timeout)
            assert r, "no event from the imapflow client in %ds" % timeout
            d = os.read(fd, 65536)
            assert d, "imapflow client exited"
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        ev = json.loads(line)
        assert ev["ev"] != "error", ev
        return ev

    def stop(self):
        self.p.stdin.write("stop\n")
        self.p.stdin.flush()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def test_imapflow_idle_parked(fresh):
    s = fresh().start()
    c = s.connect("alice", "secret")
    c.create("flow")
    for _ in range(3):
        c.append("flow", None, None, MSG)
    f = Flow(s.port, "flow")
    try:
        ev = f.event()
        assert ev["ev"] == "open" and ev["exists"] == 3
        assert ev["condstore"]
        assert f.event()["ev"] == "idling"
        assert wait_for(lambda: "park user=alice" in s.logtext())
        parks = s.logtext().count("park user=alice")
        c.select("flow")
        c.store("1", "+FLAGS", r"(\Flagged)")
        c.store("2", "+FLAGS", r"(\Deleted)")
        c.expunge()
        c.append("flow", None, None, MSG)
        # the \Flagged change (with its MODSEQ), the expunge of 2 (its
        # \Deleted flag may be reported first or not at all, depending
        # on when the resumed worker looked), and the new message
        got = []
        while not (any(e["ev"] == "exists" for e in got) and
                   any(e["ev"] == "expunge" for e in got)):
            got.append(f.event())
        flags = [e for e in got if e["ev"] == "flags"]
        assert any(e["seq"] == 1 and "\\Flagged" in e["flags"] and
                   e["modseq"] for e in flags), got
        assert all(e["seq"] in (1, 2) for e in flags), got
        rest = [e for e in got if e["ev"] != "flags"]
        assert rest == [{"ev": "expunge", "seq": 2},
                        {"ev": "exists", "count": 3, "prev": 2}], got
        # it was parked again after each resume
        assert wait_for(lambda: s.logtext().count("park user=alice") >
                        parks)
        f.stop()
        while True:
            ev = f.event()
            if ev["ev"] == "status":
                assert ev["messages"] == 3
            if ev["ev"] == "bye":
                break
    finally:
        f.kill()
    c.logout()


def flow_run(port, *args):
    out = subprocess.run(["node", os.path.join(NODE_DIR, "qresync.js"),
                          str(port), "alice", "secret"] + list(args),
                         capture_output=True, text=True, timeout=60)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert "error" not in res, (res, out.stderr)
    return res


def test_imapflow_qresync_resync_and_move(fresh):
    """imapflow resyncs with QRESYNC after another client's changes (a
    flag, an expunge, a MOVE out), then MOVEs; both sides agree"""
    s = fresh().start()
    c = s.connect("alice", "secret")
    c.create("qbox")
    c.create("qdst")
    for _ in range(4):
        c.append("qbox", None, None, MSG)
    first = flow_run(s.port, "qbox", "open")
    assert first["qresync"] and [m["uid"] for m in first["messages"]] == \
        [1, 2, 3, 4]
    c.select("qbox")
    c.uid("STORE", "2", "+FLAGS", r"(\Flagged)")
    c.uid("STORE", "3", "+FLAGS", r"(\Deleted)")
    c.expunge()
    assert c.uid("MOVE", "4", "qdst")[0] == "OK"
    res = flow_run(s.port, "qbox", "resync", first["uidValidity"],
                   first["highestModseq"], "qdst")
    gone = sorted(e["uid"] for e in res["events"] if e["ev"] == "vanished")
    assert gone == [3, 4], res
    flagged = [e for e in res["events"] if e["ev"] == "flags"]
    assert [e["uid"] for e in flagged] == [2], res
    assert "\\Flagged" in flagged[0]["flags"], res
    assert [m["uid"] for m in res["messages"]] == [1, 2], res
    # its MOVE of message 1 (UID 1): gone here, in qdst for the server
    assert res["moved"] and res["moved"][0][0] == 1, res
    assert [m["uid"] for m in res["after"]] == [2], res
    c.select("qdst")
    typ, d = c.uid("SEARCH", "ALL")
    assert d[0].split() == [b"1", str(res["moved"][0][1]).encode()], d
    c.select("qbox")
    assert c.uid("SEARCH", "ALL")[1][0].split() == [b"2"]
    c.logout()

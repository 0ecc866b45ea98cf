"""SEARCH over a mailbox of thousands of messages reads their records a
batch at a time: the worker's memory does not grow with the mailbox
(about 1 KB a record when all were read at once), and the answers across
batch boundaries are the same as message by message (issue 15, item 1)."""
import pytest

from conftest import Server
from raw import Raw
from test_fetch_large import status_kb, worker_of
from test_grammar import asan_build

N = 5000                # messages: 5.5 MB of records read at once
BOUND_KB = 3 * 1024     # the worker's peak may grow by this much at most
MARK_EVERY = 257        # a batch is 256 records: marks straddle them


def message(i):
    mark = b" marker" if i % MARK_EVERY == 0 else b""
    return (b"From: s%d@example.org\r\nSubject: note %05d%s\r\n\r\n"
            b"text %05d%s\r\n" % (i % 7, i, mark, i, mark))


@pytest.fixture(scope="module")
def filled():
    s = Server()
    s.add_user("alice", "secret")
    s.start()
    r = Raw(s.port, timeout=300)
    r.cmd(b"l", b"LOGIN alice secret")
    for start in range(1, N + 1, 1000):    # at most 1000 an APPEND
        parts = [b"a APPEND INBOX"]
        for i in range(start, min(N + 1, start + 1000)):
            m = message(i)
            parts.append(b" {%d+}\r\n" % len(m) + m)
        r.send(b"".join(parts) + b"\r\n")
        assert r.until_tag(b"a")[-1].startswith(b"a OK")
    yield s, r
    r.cmd(b"o", b"LOGOUT")
    r.close()
    s.finish()


def hits(lines):
    for ln in lines:
        if ln.startswith(b"* SEARCH"):
            return [int(x) for x in ln.split()[2:]]
    raise AssertionError(lines)


def test_search_memory_bounded(filled):
    """SEARCH LARGER over every message: the worker's peak grows by less
    than BOUND_KB (all records at once were 5.5 MB)"""
    if asan_build():
        pytest.skip("peak memory is not meaningful under ASan")
    s, r = filled
    assert r.cmd(b"s", b"SELECT INBOX")[-1].startswith(b"s OK")
    pid = worker_of(s, r.s)
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")
    base = status_kb(pid, "VmRSS")
    out = r.cmd(b"f", b"SEARCH LARGER 1")
    assert out[-1].startswith(b"f OK"), out[-1]
    assert hits(out) == list(range(1, N + 1))
    grew = status_kb(pid, "VmHWM") - base
    print("imapd peak growth %d kB" % grew)
    assert grew < BOUND_KB, grew


@pytest.mark.parametrize("key", [b"SUBJECT marker", b"BODY marker",
                                 b"TEXT marker", b"OR FROM s3 SUBJECT marker"])
def test_search_across_batches(filled, key):
    """every batch's matches, in order, none lost at a batch's edge"""
    s, r = filled
    assert r.cmd(b"s", b"SELECT INBOX")[-1].startswith(b"s OK")
    out = r.cmd(b"f", b"SEARCH " + key)
    assert out[-1].startswith(b"f OK"), out[-1]
    want = [i for i in range(1, N + 1) if i % MARK_EVERY == 0 or
            (key.startswith(b"OR") and i % 7 == 3)]
    assert hits(out) == want


def test_search_uid_range_in_last_batch(filled):
    """a UID range that starts in one batch and ends in the next"""
    s, r = filled
    assert r.cmd(b"s", b"SELECT INBOX")[-1].startswith(b"s OK")
    out = r.cmd(b"f", b"UID SEARCH UID 250:260 SUBJECT note")
    assert hits(out) == list(range(250, 261))

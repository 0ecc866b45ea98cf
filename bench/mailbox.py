#!/usr/bin/python3
"""bench/mailbox.py - big mailboxes: berth beside Dovecot and Cyrus.

    bench/mailbox.py [--servers berth,dovecot,cyrus] [--sizes 10000,100000]
                     [--lines search,select,...,append]
                     [--rounds 5] [--keep DIR] [--append-count 500]

For each size, each server gets one INBOX of that many 4 KB messages
(filled with MULTIAPPEND over three connections, LITERAL+ where offered,
not timed), then each line is measured on it, servers side by side in the
same run; key=value lines per server and size, then a table of ratios
(berth / the best peer; above 1 is berth ahead).  Times are medians of
--rounds.

Lines (issue 15's table, item 1 and its benchmark lines):
  search        UID SEARCH SUBJECT "message 12", BODY oscar (a word in
                nearly every message), BODY "alpha bravo charlie" (a
                phrase in a few), ms, with the hits counted (the same on
                every server); search_body_first_ms is the first BODY
                search, where berth builds its full-text index;
                search_peak_kb the serving process's VmHWM over the
                searches (reset before)
  select        SELECT INBOX, ms (a connection that selected it before)
  noop          NOOP after another session changed the flags of 100
                messages spread over the mailbox, ms (the 100 FETCHes read)
  changedsince  UID FETCH 1:* (FLAGS) (CHANGEDSINCE n) after 100 changes,
                ms, on a session that saw modseq n
  resume        a session in IDLE (berth: parked in idled; waited for)
                while another flags 100 messages, DONE sent once that
                STORE is answered: ms from that answer to the last of
                the 100 FETCHes at the idler (pushed during the IDLE,
                before its OK, or at a NOOP after it), and the server's
                CPU a round (resume_cpu_ms, its indexer left out)
  bodies        FETCH 1:* BODY.PEEK[], messages per second
  bigbody       the serving process's peak memory (VmHWM, reset before)
                during FETCH BODY.PEEK[] of a 64 MB message, and its
                growth over the size it had (kB); the message is put in
                another mailbox once
  meta          FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE), messages per
                second
  store         STORE 1:* +FLAGS (\\Seen) and -FLAGS in turn, messages per
                second
  append        durable APPENDs of distinct 4 KB messages into the filled
                INBOX (bench/appendbench, in C), messages per second: on
                one connection and on four at once, each one at a time
                (append1, append4: the next sent when the last was
                answered) and pipelined (append1_pipe, append4_pipe:
                APPEND_WINDOW commands outstanding, LITERAL+); beside
                each, the disk's fdatasync rate of a 4 KB block in the
                server's directory measured just before and after
                (fsync_per_s, the mean), and p99 from an APPEND sent to
                its OK; --append-count per connection (last: the INBOX
                grows)
--keep DIR keeps each server's mail in DIR/<server>-<size> and fills it
only the first time (at 100,000 a fill takes each peer half an hour):
a later run starts every server on the mail kept, gives back what the
last run's lines added (messages past size, the flags they set),
untimed, and measures.  Remove DIR to start afresh.
Run as root from the tree after building in build/ (peers.py installs the
peers with apt on first use).  Other engineers add their lines as
functions in LINES.
"""
import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import peers  # noqa: E402

PW = "pw"
CHANGES = 100
BIG = 64 * 1000 * 1000     # under the 64 MiB limit peers default to
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet "
         "kilo lima mike november oscar papa quebec romeo sierra tango "
         "uniform victor whiskey xray yankee zulu").split()


def message(i, size=4096):
    """message i: about size bytes, words that vary with i"""
    rnd = random.Random(i)
    hdr = (f"From: sender{i % 97}@example.org\r\nTo: user0@example.org\r\n"
           f"Subject: message {i} {WORDS[i % len(WORDS)]}\r\n"
           f"Date: Thu, 3 Dec 2026 03:00:00 +0000\r\n"
           f"Message-ID: <{i}.bench@example.org>\r\n\r\n").encode()
    body = bytearray()
    while len(hdr) + len(body) < size:
        body += (" ".join(rnd.choice(WORDS) for _ in range(10)) +
                 "\r\n").encode()
    return hdr + bytes(body)


class Conn:
    """a raw IMAP connection: what the lines need and imaplib hides"""

    def __init__(self, port, user="user0", timeout=600):
        self.s = socket.create_connection(("127.0.0.1", port),
                                          timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0
        self.n = 0
        self.line()
        caps = b" ".join(self.cmd(b"CAPABILITY"))
        self.literalplus = b"LITERAL+" in caps
        self.multiappend = b"MULTIAPPEND" in caps
        r = self.cmd(b"LOGIN %s %s" % (user.encode(), PW.encode()))
        assert r[-1].split()[1] == b"OK", r[-1]

    # the input is a bytearray read from at self.pos and compacted when
    # half consumed: slicing a bytes object per line or literal copied
    # the whole buffer each time, and a FETCH of 40 MB measured the
    # client (quadratic), not the server
    def fill(self):
        if self.pos > (1 << 20) and self.pos * 2 > len(self.buf):
            del self.buf[:self.pos]
            self.pos = 0
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError(bytes(self.buf[-200:]))
        self.buf += d

    def line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                break
            self.fill()
        ln = bytes(self.buf[self.pos:i])
        self.pos = i + 2
        return ln

    def take(self, n, keep):
        """n bytes of a literal: returned, or dropped (b"")"""
        out = []
        while n > 0:
            if self.pos >= len(self.buf):
                self.fill()
            k = min(n, len(self.buf) - self.pos)
            if keep:
                out.append(bytes(self.buf[self.pos:self.pos + k]))
            self.pos += k
            n -= k
        return b"".join(out)

    def response(self, tag, keep_literals=False):
        """lines up to the tagged one (literals skipped, or kept)"""
        out = []
        while True:
            ln = self.line()
            while ln.endswith(b"}"):
                m = re.search(rb"\{(\d+)\}$", ln)
                if not m:
                    break
                ln += self.take(int(m.group(1)), keep_literals)
                ln += self.line()
            out.append(ln)
            if ln.startswith(tag + b" "):
                return out

    def send(self, text):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + text + b"\r\n")
        return tag

    def cmd(self, text):
        return self.response(self.send(text))

    def timed(self, text):
        t = time.monotonic()
        r = self.cmd(text)
        return time.monotonic() - t, r

    def append_many(self, mailbox, msgs):
        """one MULTIAPPEND (or APPENDs) of msgs"""
        if not self.multiappend:
            for m in msgs:
                self._append_one(mailbox, m)
            return
        self.n += 1
        tag = b"t%d" % self.n
        first = True
        for m in msgs:
            lit = b"{%d%s}" % (len(m), b"+" if self.literalplus else b"")
            self.s.sendall((tag + b" APPEND " + mailbox + b" " if first
                            else b" ") + lit + b"\r\n")
            first = False
            if not self.literalplus:
                ln = self.line()
                assert ln.startswith(b"+"), ln
            self.s.sendall(m)
        self.s.sendall(b"\r\n")
        r = self.response(tag)
        assert r[-1].split()[1] == b"OK", r[-1]

    def _append_one(self, mailbox, m):
        tag = self.send(b"APPEND " + mailbox + b" {%d}" % len(m))
        ln = self.line()
        assert ln.startswith(b"+"), ln
        self.s.sendall(m + b"\r\n")
        r = self.response(tag)
        assert r[-1].split()[1] == b"OK", r[-1]

    def close(self):
        try:
            self.s.sendall(b"z LOGOUT\r\n")
            self.s.close()
        except OSError:
            pass


def populate(peer, n, conns=3, batch=250):
    """n messages into user0's INBOX, MULTIAPPEND over conns connections
    (berth lets three of a user's sessions read literals at once)"""
    t = time.monotonic()
    errors = []

    def worker(k):
        try:
            c = Conn(peer.port)
            for start in range(k * batch, n, conns * batch):
                c.append_many(b"INBOX", [message(i) for i in
                                         range(start, min(n, start + batch))])
            c.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    th = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    if errors:
        raise errors[0]
    c = Conn(peer.port)
    r = c.cmd(b"SELECT INBOX")
    c.close()
    exists = [int(ln.split()[1]) for ln in r if ln.endswith(b" EXISTS")]
    assert exists and exists[0] == n, (peer.name, exists, n)
    return time.monotonic() - t


def reuse(peer, n):
    """a kept mailbox as a fill left it: the messages past n (the append
    line's) expunged, the flags the lines set cleared; False when it
    was never filled"""
    if peer.keep is None or not os.path.exists(
            os.path.join(peer.keep, "filled")):
        return False
    c = Conn(peer.port)
    r = c.cmd(b"SELECT INBOX")
    exists = [int(ln.split()[1]) for ln in r if ln.endswith(b" EXISTS")]
    assert exists and exists[0] >= n, (peer.name, exists, n)
    if exists[0] > n:
        c.cmd(b"STORE %d:* +FLAGS.SILENT (\\Deleted)" % (n + 1))
        c.cmd(b"EXPUNGE")
    r = c.cmd(b"STORE 1:* -FLAGS.SILENT (\\Flagged \\Seen)")
    assert r[-1].split()[1] == b"OK", r[-1]
    c.close()
    return True


def fill_all(running, size, together):
    """populate every server, one after another or all at once (a kept
    mailbox is reused)"""
    def one(pe):
        if reuse(pe, size):
            print(f"server={pe.name} messages={size} reused={pe.keep} "
                  f"load={loadavg()}", flush=True)
            return
        fill = populate(pe, size)
        if pe.keep is not None:
            with open(os.path.join(pe.keep, "filled"), "w") as f:
                f.write(f"{size} {fill:.1f}\n")
        print(f"server={pe.name} messages={size} fill_s={fill:.1f} "
              f"load={loadavg()}", flush=True)
    if not together:
        for pe in running:
            one(pe)
        return
    errors = []

    def guarded(pe):
        try:
            one(pe)
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    th = [threading.Thread(target=guarded, args=(pe,), daemon=True)
          for pe in running]
    for x in th:
        x.start()
    for x in th:
        while x.is_alive():     # a signal ends the wait (and the run)
            x.join(1)
    if errors:
        raise errors[0]


def changes(peer, n, k, _round=None):
    """another session flags k messages spread over n, a set not
    flagged before"""
    salt = peer.__dict__.setdefault("_salt", 0)
    peer._salt += 1
    c = Conn(peer.port)
    c.cmd(b"SELECT INBOX")
    uids = sorted({1 + (i * n // k + salt) % n for i in range(k)})
    r = c.cmd(b"UID STORE %s +FLAGS.SILENT (\\Flagged)" % (
        ",".join(map(str, uids)).encode()))
    assert r[-1].split()[1] == b"OK", r[-1]
    c.close()
    return len(uids)


def fetches(lines):
    return sum(1 for ln in lines if b" FETCH " in ln and
               ln.startswith(b"* "))


def med(xs):
    return statistics.median(xs)


# ---- lines ---------------------------------------------------------------

def line_select(peer, n, a):
    c = Conn(peer.port)
    c.cmd(b"SELECT INBOX")
    ts = []
    for _ in range(a.rounds):
        t, r = c.timed(b"SELECT INBOX")
        assert r[-1].split()[1] == b"OK"
        ts.append(t)
    c.close()
    return {"select_ms": med(ts) * 1000}


def line_noop(peer, n, a):
    c = Conn(peer.port)
    c.cmd(b"SELECT INBOX")
    ts, seen = [], []
    for k in range(a.rounds):
        changes(peer, n, CHANGES, k)
        t, r = c.timed(b"NOOP")
        ts.append(t)
        seen.append(fetches(r))
    c.close()
    return {"noop_after_100_ms": med(ts) * 1000,
            "noop_fetches": min(seen)}


def line_changedsince(peer, n, a):
    ts, seen = [], []
    for k in range(a.rounds):
        c = Conn(peer.port)
        c.cmd(b"ENABLE CONDSTORE")
        r = c.cmd(b"SELECT INBOX (CONDSTORE)")
        ms = [int(m.group(1)) for ln in r for m in
              [re.search(rb"HIGHESTMODSEQ (\d+)", ln)] if m]
        changes(peer, n, CHANGES, k)
        t, r = c.timed(b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % ms[0])
        ts.append(t)
        seen.append(fetches(r))
        c.close()
    return {"changedsince_ms": med(ts) * 1000,
            "changedsince_fetches": min(seen)}


def parked(peer, before):
    """berth: until idled holds more than before sessions"""
    end = time.time() + 10
    while time.time() < end:
        if peer.server.parked() > before:
            return True
        time.sleep(0.05)
    return False


def tree_cpu_s(peer):
    """CPU seconds so far of peer's processes (utime + stime, reaped
    children too), berth's full-text indexer left out: it indexes the
    filled mailbox at nice 10 meanwhile, and the peers run none"""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in peer.tree():
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
        except OSError:
            continue
        if st[st.index("(") + 1:st.rindex(")")] == "indexd":
            continue
        x = st.rsplit(")", 1)[1].split()
        total += sum(int(v) for v in x[11:15])
    return total / tick


def idle_fetches(c, tag, want):
    """read the idler's responses until want FETCHes came: to the IDLE's
    OK (DONE sent already), then NOOPs for a server that reports them
    only at a later command (at most 3); (time the last came, count)"""
    got, t = 0, None
    pending = [tag]
    noops = 0
    while True:
        ln = c.line()
        if ln.startswith(b"* ") and b" FETCH " in ln:
            got += 1
            if got == want:
                t = time.monotonic()
        elif ln.startswith(pending[0] + b" "):
            if got >= want or noops == 3:
                return (t or time.monotonic()), got
            noops += 1
            pending = [c.send(b"NOOP")]


def line_resume(peer, n, a):
    """a session in IDLE (berth: parked in idled; waited for) while
    another, selected before, flags 100 messages spread over the
    mailbox; DONE goes as soon as that STORE is answered.  resume_ms:
    from the STORE's answer (the change committed) to the last of the
    100 FETCHes at the idler, whether the server pushed them during the
    IDLE, sent them before the IDLE's OK, or (NOOP sent) at the next
    command: every server timed on the same thing.  resume_cpu_ms: the
    server's CPU a round, all its processes (the STORE included)."""
    ts, seen, cpu = [], [], 0.0
    for k in range(a.rounds):
        c = Conn(peer.port)
        c.cmd(b"SELECT INBOX")
        ch = Conn(peer.port)
        ch.cmd(b"SELECT INBOX")
        salt = peer.__dict__.setdefault("_salt", 0)
        peer._salt += 1
        uids = sorted({1 + (i * n // CHANGES + salt) % n
                       for i in range(CHANGES)})
        before = peer.server.parked() if peer.name == "berth" else 0
        tag = c.send(b"IDLE")
        assert c.line().startswith(b"+")
        if peer.name == "berth":
            parked(peer, before)
        else:
            time.sleep(3)   # dovecot-hib hibernates after 2 s
        cpu0 = tree_cpu_s(peer)
        r = ch.cmd(b"UID STORE %s +FLAGS.SILENT (\\Flagged)" % (
            ",".join(map(str, uids)).encode()))
        t = time.monotonic()
        c.s.sendall(b"DONE\r\n")
        assert r[-1].split()[1] == b"OK", r[-1]
        end, got = idle_fetches(c, tag, len(uids))
        cpu += tree_cpu_s(peer) - cpu0
        ts.append(max(end - t, 0.0))
        seen.append(got)
        c.close()
        ch.close()
    return {"resume_ms": med(ts) * 1000, "resume_fetches": min(seen),
            "resume_cpu_ms": cpu * 1000 / a.rounds}


def line_bodies(peer, n, a):
    c = Conn(peer.port)
    c.cmd(b"EXAMINE INBOX")
    c.cmd(b"FETCH 1:* BODY.PEEK[]")          # the page cache warm
    ts = []
    for _ in range(max(1, a.rounds // 2)):
        t, r = c.timed(b"FETCH 1:* BODY.PEEK[]")
        assert fetches(r) == n, (fetches(r), n)
        ts.append(t)
    c.close()
    return {"bodies_msg_per_s": n / med(ts)}


def line_meta(peer, n, a):
    c = Conn(peer.port)
    c.cmd(b"EXAMINE INBOX")
    c.cmd(b"FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)")     # warm
    ts = []
    for _ in range(max(1, a.rounds // 2)):
        t, r = c.timed(b"FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)")
        assert fetches(r) == n, (fetches(r), n)
        ts.append(t)
    c.close()
    return {"meta_msg_per_s": n / med(ts)}


def line_store(peer, n, a):
    """STORE 1:* +FLAGS (\\Seen) then -FLAGS, alternately (untagged
    FETCHes read); a flag the other lines do not use"""
    c = Conn(peer.port)
    c.cmd(b"SELECT INBOX")
    ts = []
    for k in range(a.rounds):
        t, r = c.timed(b"STORE 1:* %sFLAGS (\\Seen)" % (
            b"-" if k % 2 else b"+"))
        assert r[-1].split()[1] == b"OK", r[-1]
        ts.append(t)
    c.close()
    return {"store_msg_per_s": n / med(ts)}


APPEND_COUNT = 500     # APPENDs per connection and measure
APPEND_WINDOW = 32     # outstanding commands of a pipelining client
APPEND_MODES = (("append1", 1, 1), ("append4", 4, 1),
                ("append1_pipe", 1, APPEND_WINDOW),
                ("append4_pipe", 4, APPEND_WINDOW))


def fsync_rate(gen, where):
    """the disk's fdatasync rate of a 4 KB block in where, over 1 s"""
    out = subprocess.run([gen, "fsync", where, "1000"], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return float(peers.kv(out.strip())["fdatasync_per_s"])


def line_append(peer, n, a):
    """durable APPENDs into the filled INBOX on 1 and 4 connections, one
    at a time and pipelined, each beside the disk's fsync rate of the
    same minute (run last: the INBOX grows)"""
    gen = peers.compile_c("appendbench")
    out = {}
    for key, conns, window in APPEND_MODES:
        before = fsync_rate(gen, peer.dir)
        r = subprocess.run([gen, "127.0.0.1", str(peer.port), "user0", PW,
                            str(conns), str(a.append_count), str(window)],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"appendbench: {r.stderr.strip()}")
        after = fsync_rate(gen, peer.dir)
        res = peers.kv(r.stdout.strip())
        out[f"{key}_msg_per_s"] = float(res["msg_per_s"])
        out[f"{key}_p99_ms"] = float(res["p99_ms"])
        out[f"{key}_fsync_per_s"] = (before + after) / 2
        out[f"{key}_load"] = float(loadavg())
    return out


def server_pid_of(peer, sock):
    """the process of peer's tree holding the server end of sock"""
    port = sock.getsockname()[1]
    inode = None
    with open("/proc/net/tcp") as f:
        for ln in f.readlines()[1:]:
            x = ln.split()
            if int(x[2].split(":")[1], 16) == port and \
                    int(x[1].split(":")[1], 16) == peer.port:
                inode = x[9]
    for pid in peer.tree():
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == \
                        f"socket:[{inode}]":
                    return pid
        except OSError:
            pass
    return None


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith(key + ":"):
                return int(ln.split()[1])
    return -1


def line_bigbody(peer, n, a):
    c = Conn(peer.port)
    if not getattr(peer, "_bigbody", False):
        # put on a connection of its own: the FETCH below comes on a new
        # session, without what the APPEND's literal left
        c.cmd(b"CREATE big")
        c.cmd(b"CREATE INBOX.big")     # Cyrus's namespace
        ns = b"big"
        r = c.cmd(b"LIST \"\" *")
        if any(ln.endswith(b"INBOX.big") for ln in r):
            ns = b"INBOX.big"
        peer._bigmbox = ns
        r = c.cmd(b"STATUS " + ns + b" (MESSAGES)")
        if not any(b"MESSAGES 0)" not in ln and b"MESSAGES" in ln
                   for ln in r if ln.startswith(b"* STATUS")):
            c.append_many(ns, [message(1, BIG)])    # not kept from before
        peer._bigbody = True
        c.close()
        c = Conn(peer.port)
    c.cmd(b"EXAMINE " + peer._bigmbox)
    pid = server_pid_of(peer, c.s)
    peaks, grew = [], []
    for _ in range(max(1, a.rounds // 2)):
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        base = status_kb(pid, "VmRSS")
        r = c.cmd(b"FETCH 1 BODY.PEEK[]")
        assert r[-1].split()[1] == b"OK"
        peaks.append(status_kb(pid, "VmHWM"))
        grew.append(peaks[-1] - base)
    c.close()
    return {"bigbody_peak_kb": max(peaks), "bigbody_growth_kb": max(grew)}


# ---- SEARCH lines (issue 15 items 2, 3 and 5) ------------------------------

# the searches, timed on a session that selected the mailbox; the first
# BODY search is timed apart (berth builds its full-text index then, the
# peers as configured by peers.py have none and scan every time)
SEARCHES = (
    ("search_subject_ms", b'UID SEARCH SUBJECT "message 12"'),
    ("search_body_word_ms", b"UID SEARCH BODY oscar"),
    ("search_body_phrase_ms", b'UID SEARCH BODY "alpha bravo charlie"'),
)


def search_hits(lines):
    for ln in lines:
        if ln.startswith(b"* SEARCH"):
            return len(ln.split()) - 2
    return -1


def line_search(peer, n, a):
    c = Conn(peer.port)
    c.cmd(b"SELECT INBOX")
    pid = server_pid_of(peer, c.s)
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")
    t, r = c.timed(b'UID SEARCH BODY "november oscar papa"')
    assert r[-1].split()[1] == b"OK", r[-1]
    out = {"search_body_first_ms": t * 1000}
    for key, cmd in SEARCHES:
        ts, hits = [], None
        for _ in range(max(1, min(a.rounds, 3))):
            t, r = c.timed(cmd)
            assert r[-1].split()[1] == b"OK", r[-1]
            ts.append(t)
            hits = search_hits(r)
        out[key] = med(ts) * 1000
        out[key[:-3] + "_hits"] = hits
    out["search_peak_kb"] = status_kb(pid, "VmHWM")
    c.close()
    return out


LINES = {
    "search": line_search,
    "select": line_select,
    "noop": line_noop,
    "changedsince": line_changedsince,
    "resume": line_resume,
    "bodies": line_bodies,
    "bigbody": line_bigbody,
    "meta": line_meta,
    "store": line_store,
    "append": line_append,
}
# higher is better for these keys; lower for the rest
HIGHER = {"bodies_msg_per_s", "meta_msg_per_s", "store_msg_per_s",
          "append1_msg_per_s", "append4_msg_per_s",
          "append1_pipe_msg_per_s", "append4_pipe_msg_per_s"}
RATIO_KEYS = ["select_ms", "noop_after_100_ms", "changedsince_ms",
              "resume_ms", "resume_cpu_ms", "bodies_msg_per_s", "bigbody_growth_kb",
              "meta_msg_per_s", "store_msg_per_s", "append1_msg_per_s",
              "append4_msg_per_s", "append1_pipe_msg_per_s",
              "append4_pipe_msg_per_s"]
RATIO_KEYS += [k for k, _ in SEARCHES] + ["search_body_first_ms"]


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--servers", default="berth,dovecot,cyrus")
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--lines", default=",".join(LINES))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--keep", help="keep each server's mail here and "
                   "reuse it (filled the first time)")
    p.add_argument("--append-count", type=int, default=APPEND_COUNT,
                   help="APPENDs per connection and measure of the "
                   "append line")
    p.add_argument("--fill-together", action="store_true",
                   help="fill every server at once (the fill is not "
                   "timed against the others; at 100,000 it takes the "
                   "peers half an hour each)")
    a = p.parse_args()
    names = a.servers.split(",")
    lines = a.lines.split(",")
    peers.on_signals()
    results = {}
    try:
        for size in map(int, a.sizes.split(",")):
            running = []
            for name in names:
                keep = (os.path.join(os.path.abspath(a.keep),
                                     f"{name}-{size}") if a.keep else None)
                pe = peers.make(name, users=2, password=PW, keep=keep, **(
                    {"extra_conf": "maxliteral: 100M\n"
                     "maxliteral_workers_user: 8\n"}
                    if name == "berth" else {}))
                pe.start()
                pe.login_all()
                running.append(pe)
            fill_all(running, size, a.fill_together)
            for line in lines:
                for pe in running:
                    try:
                        res = LINES[line](pe, size, a)
                    except Exception as e:  # noqa: BLE001
                        print(f"server={pe.name} messages={size} "
                              f"line={line} error={e!r} "
                              f"load={loadavg()}", flush=True)
                        continue
                    results.setdefault((pe.name, size), {}).update(res)
                    print(f"server={pe.name} messages={size} line={line} " +
                          " ".join(f"{k}={v:.1f}" if isinstance(v, float)
                                   else f"{k}={v}" for k, v in res.items())
                          + f" load={loadavg()}", flush=True)
            for pe in running:
                pe.stop()
    finally:
        peers.kill_all()
    print("\nratios: berth against the best peer (above 1: berth ahead)")
    for size in map(int, a.sizes.split(",")):
        for key in RATIO_KEYS:
            b = results.get(("berth", size), {}).get(key)
            others = [results[(nm, size)][key] for nm in names
                      if nm != "berth" and key in results.get((nm, size),
                                                             {})]
            if b is None or not others:
                continue
            best = max(others) if key in HIGHER else min(others)
            if key in HIGHER:
                r = b / best if best else float("inf")
            else:
                r = best / b if b else float("inf")
            print(f"messages={size} {key}: berth={b:.1f} "
                  f"best_peer={best:.1f} ratio={r:.2f}")


if __name__ == "__main__":
    main()

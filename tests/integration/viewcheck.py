"""A checker of a session's message numbers, as RFC 3501 and RFC 7162
define them, over a raw socket so that every untagged response is seen.

Session tracks what the client has been told about the selected mailbox:
the message count (EXISTS less EXPUNGE), each message number's UID once a
FETCH reported it, and each UID's last MODSEQ.  It records an impossible
event (Session.events, a Counter by kind, with Session.examples) when the
server sends:

- `* N EXPUNGE` with N outside 1..count, or during FETCH, STORE or SEARCH
  without the UID prefix (RFC 3501 7.4.1), or anywhere but inside a
  command (5.5);
- `* N EXISTS` lower than the count (5.2: only EXPUNGE lowers it);
- `* N FETCH` with N outside 1..count, a UID other than the one known for
  N, or UIDs not ascending with message numbers (2.3.1.1);
- a MODSEQ lower than the one last reported for that UID (RFC 7162 3.1.1);
  a HIGHESTMODSEQ lower than one reported before for the mailbox;
- `* SEARCH` numbers above the count, or UIDs not in the view;
- a FETCH 1:* that does not answer exactly one line for every message the
  client knows (1..count when it was sent), each with its known UID;
- after the run, once a NOOP has told it everything, flags that differ
  from the mailbox's for a message whose flags it was told (a change the
  server's view sync never reported; its own .SILENT changes excepted);
- BAD for a command whose message numbers the client knows are valid.

drive() runs many such sessions at random APPEND, STORE, COPY, MOVE,
EXPUNGE, UID EXPUNGE, NOOP, FETCH, SEARCH, IDLE and re-SELECT, for a
bounded time, optionally pausing between commands (so that the server
parks them), and then checks that every session's view, after a NOOP,
equals the mailbox as a fresh SELECT sees it.
"""
import collections
import random
import re
import socket
import threading
import time

FETCH_RE = re.compile(rb"^\* (\d+) FETCH \((.*)\)$", re.S)
NUM_RE = re.compile(rb"^\* (\d+) (EXISTS|EXPUNGE|RECENT)$")
HMS_RE = re.compile(rb"HIGHESTMODSEQ (\d+)")


class Closed(Exception):
    pass


class Conn:
    """lines with their literals, over a socket"""

    def __init__(self, port, timeout=30):
        self.s = socket.create_connection(("127.0.0.1", port),
                                          timeout=timeout)
        self.timeout = timeout
        self.buf = b""

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise Closed(self.buf[:200])
        self.buf += d

    def response(self):
        """one response: a line with any literals inlined"""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            ln, self.buf = self.buf.split(b"\r\n", 1)
            m = re.search(rb"\{(\d+)\}$", ln)
            if not m:
                return out + ln
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            out += ln + b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]

    def response_within(self, seconds):
        """a response, or None if none starts within seconds"""
        if b"\r\n" in self.buf:
            return self.response()
        self.s.settimeout(seconds)
        try:
            self._fill()
        except socket.timeout:
            return None
        finally:
            self.s.settimeout(self.timeout)
        return self.response()

    def send(self, data):
        self.s.sendall(data)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


FLAGS_RE = re.compile(rb"(?:^|[ (])FLAGS \(([^)]*)\)")


def fetch_flags(body):
    """the FLAGS of a FETCH response's body, without \\Recent, or None"""
    m = FLAGS_RE.search(body)
    if not m:
        return None
    return frozenset(f.lower() for f in m.group(1).split()
                     if f.lower() != b"\\recent")


def fetch_items(body):
    """UID and MODSEQ of a FETCH response's parenthesised body"""
    uid = modseq = None
    m = re.search(rb"(?:^|[ (])UID (\d+)", body)
    if m:
        uid = int(m.group(1))
    m = re.search(rb"MODSEQ \((\d+)\)", body)
    if m:
        modseq = int(m.group(1))
    return uid, modseq


class Session:
    """one client's view, checked against every response"""

    def __init__(self, port, user, password, name, hms=None):
        self.c = Conn(port)
        self.name = name
        self.user = user
        self.events = collections.Counter()
        self.stats = collections.Counter()     # what was exercised
        self.examples = []
        # shared by sessions: (user, box) -> [(when, HIGHESTMODSEQ)]
        self.hms = hms if hms is not None else {}
        self.n = 0
        self.uids = []          # msgno - 1 -> UID or None
        self.modseq = {}        # UID -> last MODSEQ
        self.flags = {}         # UID -> flags last told (no \Recent)
        self.box = None
        self.closing = None     # SELECT sent, [CLOSED] not seen yet
        self.ntag = 0
        self.log = collections.deque(maxlen=40)
        self.c.response()       # greeting
        self.command(b"LOGIN %s %s" % (user.encode(), password.encode()),
                     kind="LOGIN")

    # ---- bookkeeping ----

    def bad(self, kind, detail):
        self.events[kind] += 1
        if len(self.examples) < 20:
            self.examples.append("%s %s: %s\n    recent: %s" % (
                self.name, kind, detail,
                b" | ".join(list(self.log)[-12:]).decode(errors="replace")))

    def reset(self):
        self.n = 0
        self.uids = []
        self.modseq = {}
        self.flags = {}

    def set_uid(self, no, uid):
        known = self.uids[no - 1]
        if known is not None and known != uid:
            self.bad("fetch-uid-changed", "msgno %d was UID %d, now %d" %
                     (no, known, uid))
            return
        for i in range(no - 2, -1, -1):
            if self.uids[i] is not None:
                if self.uids[i] >= uid:
                    self.bad("uid-order", "msgno %d UID %d after msgno "
                             "%d UID %d" % (no, uid, i + 1, self.uids[i]))
                    return
                break
        for i in range(no, self.n):
            if self.uids[i] is not None:
                if self.uids[i] <= uid:
                    self.bad("uid-order", "msgno %d UID %d before msgno "
                             "%d UID %d" % (no, uid, i + 1, self.uids[i]))
                    return
                break
        self.uids[no - 1] = uid

    def untagged(self, r, ctx):
        """apply one untagged response; ctx: the command in progress"""
        if r.startswith(b"* OK [CLOSED]") and self.closing is not None:
            self.reset()
            self.box, self.closing = self.closing, None
            return
        m = NUM_RE.match(r)
        if m:
            num, what = int(m.group(1)), m.group(2)
            self.stats[what.decode()] += 1
            if what == b"EXISTS":
                if num < self.n:
                    self.bad("exists-decreased", "%d < %d" % (num, self.n))
                    return
                self.uids += [None] * (num - self.n)
                self.n = num
            elif what == b"EXPUNGE":
                if ctx is None:
                    self.bad("expunge-outside-command", r)
                elif ctx.get("noexpunge"):
                    self.bad("expunge-during-" + ctx["kind"], r)
                if num < 1 or num > self.n:
                    self.bad("expunge-out-of-range", "%d of %d" % (
                        num, self.n))
                    return
                uid = self.uids.pop(num - 1)
                self.n -= 1
                if uid is not None:
                    self.modseq.pop(uid, None)
                    self.flags.pop(uid, None)
            return
        m = FETCH_RE.match(r)
        if m:
            no = int(m.group(1))
            uid, modseq = fetch_items(m.group(2))
            if no < 1 or no > self.n:
                self.bad("fetch-out-of-range", "%d of %d" % (no, self.n))
                return
            if uid is None:
                uid = self.uids[no - 1]
            else:
                self.set_uid(no, uid)
            if ctx is not None and ctx.get("lines") is not None:
                ctx["lines"].setdefault(no, uid)
            flags = fetch_flags(m.group(2))
            if uid is not None and flags is not None:
                self.flags[uid] = flags
            if uid is not None and modseq is not None:
                old = self.modseq.get(uid, 0)
                if modseq < old:
                    self.bad("modseq-backwards", "UID %d %d -> %d" % (
                        uid, old, modseq))
                else:
                    self.modseq[uid] = modseq
            return
        if r.startswith(b"* SEARCH"):
            nums = [int(x) for x in r.split()[2:] if x.isdigit()]
            if ctx is not None and ctx.get("uid"):
                known = set(u for u in self.uids if u is not None)
                full = None not in self.uids
                for u in nums:
                    if full and u not in known:
                        self.bad("search-unknown-uid", u)
            else:
                for x in nums:
                    if x < 1 or x > self.n:
                        self.bad("search-out-of-range", "%d of %d" % (
                            x, self.n))
            return
        m = HMS_RE.search(r)
        if m and self.box is not None and ctx is not None:
            # not lower than any reported before this command was sent,
            # to this session or another one (RFC 7162 3.1.2.1)
            v = int(m.group(1))
            seen = self.hms.setdefault((self.user, self.box), [])
            for when, old in list(seen):
                if when < ctx["sent"] and old > v:
                    self.bad("highestmodseq-backwards", "%s %d < %d" % (
                        self.box, v, old))
                    break
            seen.append((time.monotonic(), v))
            del seen[:-64]

    # ---- commands ----

    def command(self, text, kind, literal=None, noexpunge=False, uid=False,
                lines=False, ok_no=True):
        """send text (with a LITERAL+ literal), apply every response;
        the tagged status (b"OK", b"NO", b"BAD") and its line"""
        self.ntag += 1
        tag = b"v%d" % self.ntag
        ctx = {"kind": kind, "noexpunge": noexpunge, "uid": uid,
               "lines": {} if lines else None, "n0": self.n,
               "sent": time.monotonic(), "got": []}
        self.stats[kind] += 1
        if b".SILENT" in text.upper():
            # its own change is not reported back: flags unknown now
            self.flags = {}
        if literal is not None:
            self.c.send(tag + b" " + text + b" {%d+}\r\n" % len(literal) +
                        literal + b"\r\n")
        else:
            self.c.send(tag + b" " + text + b"\r\n")
        self.log.append(b">" + tag + b" " + text)
        while True:
            r = self.c.response()
            self.log.append(r[:120])
            ctx["got"].append(r)
            if r.startswith(tag + b" "):
                st = r.split(b" ", 2)[1]
                break
            if r.startswith(b"* "):
                self.untagged(r, ctx)
        if st == b"BAD" or (st == b"NO" and not ok_no):
            self.bad("unexpected-" + st.decode().lower(), r)
        ctx["status"] = st
        ctx["tagline"] = r
        return ctx

    def select(self, box):
        """SELECT box; what comes before its [CLOSED] (RFC 7162 3.2.11)
        is of the mailbox selected before"""
        if self.box is None:
            self.reset()
            self.box = box
        else:
            self.closing = box
        ctx = self.command(b"SELECT %s (CONDSTORE)" % box.encode(),
                           kind="SELECT", ok_no=False)
        if self.closing is not None:
            self.bad("select-without-closed", box)
            self.closing = None
        if ctx["status"] != b"OK":
            self.box = None
        return ctx

    def idle(self, seconds):
        self.ntag += 1
        tag = b"v%d" % self.ntag
        ctx = {"kind": "IDLE", "noexpunge": False}
        self.stats["IDLE"] += 1
        self.c.send(tag + b" IDLE\r\n")
        self.log.append(b">" + tag + b" IDLE")
        while True:
            r = self.c.response()
            self.log.append(r[:120])
            if r.startswith(b"+"):
                break
            if r.startswith(tag + b" "):
                self.bad("idle-refused", r)
                return
            self.untagged(r, ctx)
        end = time.time() + seconds
        while time.time() < end:
            r = self.c.response_within(max(0.01, end - time.time()))
            if r is None:
                break
            self.log.append(r[:120])
            self.untagged(r, ctx)
        self.c.send(b"DONE\r\n")
        while True:
            r = self.c.response()
            self.log.append(r[:120])
            if r.startswith(tag + b" "):
                if not r.startswith(tag + b" OK"):
                    self.bad("idle-end", r)
                return
            self.untagged(r, ctx)

    def fetch_all(self, items=b"(UID FLAGS MODSEQ)"):
        """FETCH 1:*: one line per known message, with its known UID"""
        n0, known = self.n, list(self.uids)
        if n0 == 0:
            return self.command(b"NOOP", kind="NOOP")
        ctx = self.command(b"FETCH 1:* " + items, kind="FETCH",
                           noexpunge=True, lines=True, ok_no=False)
        got = ctx["lines"]
        missing = [i for i in range(1, n0 + 1) if i not in got]
        if missing:
            self.bad("fetch-all-missing", "%d of %d: %s" % (
                len(missing), n0, missing[:10]))
        for no, uid in got.items():
            if no <= n0 and known[no - 1] is not None and \
                    uid != known[no - 1]:
                self.bad("fetch-all-wrong-uid", "msgno %d UID %s, known "
                         "%d" % (no, uid, known[no - 1]))
        return ctx

    def known_uids(self):
        return [u for u in self.uids if u is not None]

    def logout(self):
        try:
            self.c.send(b"z LOGOUT\r\n")
            while True:
                r = self.c.response()
                if r.startswith(b"z "):
                    break
        except (Closed, OSError):
            pass
        self.c.close()


MSG = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: view %d\r\n"
       b"Message-ID: <%d.%d@example.org>\r\n\r\nbody %d\r\n")


def random_step(s, rng, boxes):
    """one random command of s (selected in one of boxes)"""
    other = rng.choice([b for b in boxes if b != s.box] or boxes)
    k = rng.random()
    n = s.n
    no = rng.randint(1, n) if n else None
    uids = s.known_uids()
    if k < 0.16:
        i = rng.randrange(1 << 30)
        dst = s.box if rng.random() < 0.7 else other
        s.command(b"APPEND %s (\\Seen)" % dst.encode(), kind="APPEND",
                  literal=MSG % (i, i, rng.randrange(1000), i), ok_no=False)
    elif k < 0.32 and no:
        op = rng.choice([b"+FLAGS", b"-FLAGS", b"+FLAGS.SILENT",
                         b"FLAGS"])
        fl = rng.choice([b"(\\Deleted)", b"(\\Flagged)", b"(\\Seen)",
                         b"(\\Deleted \\Seen)", b"(kw1)"])
        hi = min(n, no + rng.randint(0, 3))
        s.command(b"STORE %d:%d %s %s" % (no, hi, op, fl), kind="STORE",
                  noexpunge=True, ok_no=False)
    elif k < 0.38 and uids:
        u = rng.choice(uids)
        s.command(b"UID STORE %d:%d +FLAGS (\\Deleted)" % (u, u + 5),
                  kind="UID STORE", uid=True, ok_no=False)
    elif k < 0.44 and no:
        s.command(b"COPY %d %s" % (no, other.encode()), kind="COPY",
                  ok_no=False)
    elif k < 0.50 and no:
        s.command(b"MOVE %d:%d %s" % (no, min(n, no + 1), other.encode()),
                  kind="MOVE", ok_no=False)
    elif k < 0.54 and uids:
        s.command(b"UID MOVE %d %s" % (rng.choice(uids), other.encode()),
                  kind="UID MOVE", uid=True, ok_no=False)
    elif k < 0.60:
        s.command(b"EXPUNGE", kind="EXPUNGE", ok_no=False)
    elif k < 0.64 and uids:
        u = rng.choice(uids)
        s.command(b"UID EXPUNGE %d:%d" % (u, u + 3), kind="UID EXPUNGE",
                  uid=True, ok_no=False)
    elif k < 0.68:
        s.command(b"NOOP", kind="NOOP")
    elif k < 0.78:
        s.fetch_all(rng.choice([b"(UID FLAGS MODSEQ)",
                                b"(UID FLAGS ENVELOPE RFC822.SIZE)",
                                b"(FLAGS MODSEQ BODY.PEEK[HEADER])"]))
    elif k < 0.82 and no:
        s.command(b"FETCH %d (FLAGS MODSEQ BODYSTRUCTURE)" % no,
                  kind="FETCH", noexpunge=True, ok_no=False)
    elif k < 0.86 and uids:
        s.command(b"UID FETCH %d:* (FLAGS MODSEQ)" % rng.choice(uids),
                  kind="UID FETCH", uid=True, ok_no=False)
    elif k < 0.90:
        s.command(rng.choice([b"SEARCH ALL", b"SEARCH DELETED",
                              b"SEARCH UNSEEN"]), kind="SEARCH",
                  noexpunge=True, ok_no=False)
    elif k < 0.93:
        s.command(b"UID SEARCH ALL", kind="UID SEARCH", uid=True,
                  ok_no=False)
    elif k < 0.97:
        s.idle(rng.uniform(0.05, 0.3))
    else:
        s.select(rng.choice(boxes))


def settle(sessions, port, password):
    """after the run: every session's view, once told everything (NOOP,
    FETCH 1:*), must be the mailbox as a fresh SELECT sees it"""
    truth = {}
    for s in sessions:
        if s.box is None:
            continue
        s.command(b"NOOP", kind="NOOP")
        key = (s.user, s.box)
        if key not in truth:
            f = Session(port, s.user, password[s.user], "fresh")
            f.select(s.box)
            f.fetch_all()
            truth[key] = (f.known_uids(), dict(f.flags))
            f.logout()
        check_flags(s, truth[key][1])
        s.fetch_all()
        if s.known_uids() != truth[key][0] or None in s.uids:
            s.bad("view-differs", "%s: %d known, store %d" % (
                s.box, len(s.known_uids()), len(truth[key][0])))


def check_flags(s, flags):
    """every flag set s was told of is the mailbox's (flags: UID ->
    flags of a fresh session)"""
    for uid, had in sorted(s.flags.items()):
        if uid in flags and flags[uid] != had:
            s.bad("flags-stale", "UID %d told %s, store %s" % (
                uid, b" ".join(sorted(had)), b" ".join(sorted(
                    flags[uid]))))
            break


def drive(port, users, per_user, seconds, boxes, pause=0.0, seed=None,
          notify=False):
    """per_user sessions of each (user, password) in users, at random for
    seconds; pause: up to this many seconds between commands now and
    then (to be parked); notify: under NOTIFY selected-delayed (new mail
    and flag changes come between commands, expunges only where a
    command allows them); returns the sessions (their .events)"""
    seed = seed if seed is not None else random.randrange(1 << 30)
    password = dict(users)
    hms = {}
    sessions = []
    for ui, (user, pw) in enumerate(users):
        for j in range(per_user):
            s = Session(port, user, pw, "%s/%d" % (user, j), hms=hms)
            s.select(boxes[j % len(boxes)])
            if notify:
                s.command(b"NOTIFY SET (selected-delayed (MessageNew "
                          b"MessageExpunge FlagChange))", kind="NOTIFY",
                          ok_no=False)
            sessions.append(s)
    errors = []
    end = time.time() + seconds

    def run(s, rng):
        try:
            while time.time() < end:
                random_step(s, rng, boxes)
                if pause and rng.random() < 0.3:
                    time.sleep(rng.uniform(0, pause))
        except Exception as e:      # noqa: B902 - reported below
            errors.append("%s: %r\n    recent: %s" % (
                s.name, e, b" | ".join(s.log).decode(errors="replace")))

    threads = [threading.Thread(target=run, args=(
        s, random.Random(seed + i))) for i, s in enumerate(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    if not errors:
        settle(sessions, port, password)
    for s in sessions:
        s.logout()
    return sessions, errors, seed


def summary(sessions):
    total = collections.Counter()
    for s in sessions:
        total.update(s.events)
    return total

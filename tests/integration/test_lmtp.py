"""lmtpd: LMTP (RFC 2033) delivery over the Unix socket and TCP, read
back over IMAP; refusals at RCPT and for size; +folder; duplicate
suppression; idlers woken; kill -9 mid-DATA."""
import os
import re
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import BUILD, Server, free_port
from raw import Raw
from test_master import wait_for

LMTPD = os.path.join(BUILD, "lmtpd", "lmtpd")
MAXSIZE = 100 * 1024


def lmtp_server(extra_conf=""):
    s = Server(prefork=2, maxchild=8, extra_conf="maxmessagesize: 100K\n" +
               extra_conf)
    s.lmtp = os.path.join(s.dir, "conf", "socket", "lmtp")
    s.lmtp_port = free_port()
    s.write_master(extra=f"""  lmtp  cmd="{LMTPD}" listen="{s.lmtp}" prefork=1 maxchild=4
  lmtptcp  cmd="{LMTPD}" listen="127.0.0.1:{s.lmtp_port}" prefork=0 maxchild=2
""")
    for u in ("alice", "bob", "carol"):
        s.add_user(u, "secret")
    s.start()
    wait_for(lambda: os.path.exists(s.lmtp))
    # alice and bob have logged in once (their INBOX exists); carol has
    # a password but no mailbox yet
    for u in ("alice", "bob"):
        s.connect(u, "secret").logout()
    return s


@pytest.fixture(scope="module")
def srv():
    s = lmtp_server("lmtp_fuzzy_mailbox_match: yes\n"
                    "notify_park_delay: 100ms\n")
    c = s.connect("alice", "secret")
    c.create("lists")
    c.create("lists/berth")
    c.logout()
    yield s
    s.finish()


class Lmtp:
    """a raw LMTP client on the Unix socket (or TCP with port)"""

    def __init__(self, s, port=None):
        if port:
            self.s = socket.create_connection(("127.0.0.1", port),
                                              timeout=20)
        else:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.settimeout(20)
            self.s.connect(s.lmtp)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError(self.buf)
            self.buf += d
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def reply(self):
        """one reply's lines (multi-line ones whole)"""
        out = [self.line()]
        while out[-1][3:4] == b"-":
            out.append(self.line())
        return out

    def cmd(self, text):
        self.send(text + b"\r\n")
        return self.reply()

    def code(self, text):
        return self.cmd(text)[-1][:9]

    def close(self):
        self.s.close()


def session(s, port=None):
    c = Lmtp(s, port)
    assert c.greeting[0].startswith(b"220 ")
    assert c.cmd(b"LHLO mta.example")[-1].startswith(b"250 ")
    return c


def count(s, user, mailbox="INBOX"):
    c = s.connect(user, "secret")
    typ, data = c.select(mailbox, readonly=True)
    assert typ == "OK", data
    c.logout()
    return int(data[0])


def fetch_last(s, user, mailbox="INBOX"):
    c = s.connect(user, "secret")
    typ, data = c.select(mailbox, readonly=True)
    n = int(data[0])
    typ, data = c.fetch(str(n), "(BODY.PEEK[])")
    c.logout()
    return data[0][1]


def stuff(body):
    """dot-stuff as an LMTP client must: a dot opening a CRLF line"""
    out = re.sub(rb"(?m)(?<=\r\n)\.", b"..", body)
    return b"." + out if out.startswith(b".") else out


def deliver(s, rcpts, msg, frm=b"sender@example.org"):
    """one transaction; the replies after DATA"""
    c = session(s)
    assert c.code(b"MAIL FROM:<" + frm + b">") == b"250 2.1.0"
    for r in rcpts:
        c.cmd(b"RCPT TO:<" + r + b">")
    assert c.cmd(b"DATA")[0].startswith(b"354")
    c.send(stuff(msg) + b".\r\n")
    out = [c.reply()[0] for _ in rcpts]
    c.cmd(b"QUIT")
    c.close()
    return out


def msg(subject, body=b"hello\r\n", msgid=None):
    h = b"From: a@example.org\r\nTo: alice@example.org\r\nSubject: " + \
        subject + b"\r\n"
    if msgid:
        h += b"Message-ID: <" + msgid + b">\r\n"
    return h + b"\r\n" + body


def trace_stripped(got):
    """the message without the Return-Path: and Received: we add"""
    m = re.match(rb"Return-Path: <[^>]*>\r\nReceived: from [^\r]*\r\n"
                 rb"(\t[^\r]*\r\n)+", got)
    assert m, got[:400]
    return got[m.end():], got[:m.end()]


def test_lhlo_extensions_and_greeting(srv):
    c = Lmtp(srv)
    assert b"LMTP" in c.greeting[0]
    got = c.cmd(b"LHLO mta.example")
    exts = [ln[4:] for ln in got[1:]]
    assert got[0].startswith(b"250-")
    for e in (b"PIPELINING", b"ENHANCEDSTATUSCODES", b"8BITMIME",
              b"CHUNKING", b"SIZE %d" % MAXSIZE):
        assert e in exts, got
    assert c.code(b"NOOP") == b"250 2.0.0"
    assert c.code(b"RSET") == b"250 2.0.0"
    assert c.cmd(b"QUIT")[0].startswith(b"221 2.0.0")
    c.close()


def test_protocol_errors_answered_and_session_goes_on(srv):
    c = Lmtp(srv)
    assert c.code(b"MAIL FROM:<a@b>") == b"503 5.5.1"
    assert c.code(b"HELO mta") == b"500 5.5.1"
    c.cmd(b"LHLO mta")
    assert c.code(b"RCPT TO:<alice@x>") == b"503 5.5.1"
    assert c.code(b"DATA") == b"503 5.5.1"
    assert c.code(b"FROB") == b"500 5.5.2"
    assert c.code(b"VRFY alice") == b"502 5.5.1"
    assert c.code(b"MAIL FROM:<a@b> FOO=BAR") == b"555 5.5.4"
    # a command line over 512 bytes is refused, whole, and the session
    # goes on in step
    assert c.code(b"NOOP " + b"x" * 2000) == b"500 5.5.2"
    assert c.code(b"MAIL FROM:<a@b>") == b"250 2.1.0"
    assert c.code(b"MAIL FROM:<a@b>") == b"503 5.5.1"
    # RCPT accepted, DATA without recipients refused
    assert c.code(b"RSET") == b"250 2.0.0"
    assert c.code(b"MAIL FROM:<>") == b"250 2.1.0"
    assert c.code(b"RCPT TO:<nobody@example.org>") == b"550 5.1.1"
    assert c.code(b"DATA") == b"503 5.5.1"
    assert c.cmd(b"QUIT")[0].startswith(b"221")
    c.close()
    assert wait_for(lambda: "reason=line too long limit=512"
                    in srv.logtext())


def test_unknown_recipient_refused_at_rcpt(srv):
    c = session(srv)
    c.cmd(b"MAIL FROM:<x@example.org>")
    got = c.cmd(b"RCPT TO:<nobody@example.org>")
    assert got[0].startswith(b"550 5.1.1 "), got
    # a password but no mailbox: unknown to delivery too
    assert c.code(b"RCPT TO:<carol@example.org>") == b"550 5.1.1"
    c.close()
    assert wait_for(lambda: re.search(
        r"refused session=\S+ from=<x@example.org> to=<nobody@example.org>"
        r" reason=no such user", srv.logtext()))


def test_smtplib_lmtp_per_recipient_results(srv):
    # smtplib reads one reply after DATA (it knows no LMTP replies per
    # recipient): one recipient accepted, one refused at RCPT
    before = count(srv, "bob")
    body = msg(b"smtplib", msgid=b"smtplib-1@example.org")
    with smtplib.LMTP(srv.lmtp) as c:
        refused = c.sendmail("sender@example.org",
                             ["nobody@example.org", "Bob@Example.ORG"], body)
    assert set(refused) == {"nobody@example.org"}
    assert refused["nobody@example.org"][0] == 550
    assert count(srv, "bob") == before + 1
    got, trace = trace_stripped(fetch_last(srv, "bob"))
    assert got == body
    assert trace.startswith(b"Return-Path: <sender@example.org>\r\n")
    assert b"by " in trace and b"(berth lmtpd) with LMTP id " in trace
    assert b"from mta" not in trace  # smtplib's LHLO names its host
    log = srv.logtext()
    assert re.search(r"deliver session=\S+ queue_id=- "
                     r"from=<sender@example.org> to=<Bob@Example.ORG> "
                     r"user=bob mailbox=INBOX size=\d+ "
                     r"msgid=<smtplib-1@example.org> result=stored", log)


def test_pipelined_transaction_one_reply_per_recipient(srv):
    before = count(srv, "alice")
    body = msg(b"pipelined")
    c = Lmtp(srv)
    c.send(b"LHLO mta.example\r\nMAIL FROM:<p@example.org> SIZE=%d "
           b"BODY=8BITMIME\r\nRCPT TO:<alice@example.org>\r\n"
           b"RCPT TO:<ghost@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
           b"RCPT TO:<alice+lists@example.org>\r\nDATA\r\n" % len(body))
    assert c.reply()[-1].startswith(b"250 ")
    codes = [c.reply()[0][:9] for _ in range(6)]
    assert codes == [b"250 2.1.0", b"250 2.1.5", b"550 5.1.1",
                     b"250 2.1.5", b"250 2.1.5", b"354 Start"], codes
    c.send(body + b".\r\nQUIT\r\n")
    replies = [c.reply()[0] for _ in range(3)]
    assert all(r.startswith(b"250 2.0.0 <") for r in replies), replies
    assert b"<alice@example.org>" in replies[0]
    assert b"<bob@example.org>" in replies[1]
    assert b"<alice+lists@example.org>" in replies[2]
    assert c.reply()[0].startswith(b"221")
    c.close()
    assert count(srv, "alice") == before + 1
    assert trace_stripped(fetch_last(srv, "alice", "lists"))[0] == body


def test_dot_unstuffing_and_bytes_kept_as_sent(srv):
    body = (b"From: a@example.org\r\nSubject: dots\r\n\r\n"
            b".leading dot\r\n"
            b"..two dots\r\n"
            b".\r\n"            # a lone dot, stuffed: not the end
            b"bare\nlf\n.not a line start\n"
            b"8-bit \xe9\xe8\xff and NUL-free binary \x01\x7f\r\n"
            b"cr\ronly\r\n"
            b"last line\r\n")
    assert deliver(srv, [b"alice@example.org"], body)[0].startswith(
        b"250 2.0.0")
    got, _ = trace_stripped(fetch_last(srv, "alice"))
    assert got == body


def test_empty_body_and_long_lines_kept(srv):
    body = b"Subject: long\r\n\r\n" + b"y" * 5000 + b"\r\n"
    assert deliver(srv, [b"alice@example.org"], body)[0][:3] == b"250"
    assert trace_stripped(fetch_last(srv, "alice"))[0] == body


def test_bdat_chunks_concatenated_exactly(srv):
    body = (b"From: a@example.org\r\nSubject: chunks\r\n\r\n"
            b".no unstuffing in BDAT\r\n.\r\nstill the message\r\n")
    c = session(srv)
    c.cmd(b"MAIL FROM:<b@example.org>")
    assert c.code(b"RCPT TO:<alice@example.org>") == b"250 2.1.5"
    assert c.code(b"RCPT TO:<bob@example.org>") == b"250 2.1.5"
    # chunk borders inside a CRLF and inside a header name
    parts = [body[:17], body[17:40], body[40:41], body[41:]]
    for p in parts[:-1]:
        c.send(b"BDAT %d\r\n" % len(p) + p)
        assert c.reply()[0].startswith(b"250 2.0.0")
    assert c.code(b"DATA") == b"503 5.5.1"
    c.send(b"BDAT %d LAST\r\n" % len(parts[-1]) + parts[-1])
    assert c.reply()[0].startswith(b"250 2.0.0 <alice@")
    assert c.reply()[0].startswith(b"250 2.0.0 <bob@")
    # BDAT without a transaction: its bytes are read and dropped
    c.send(b"BDAT 5 LAST\r\nQUIT\r")
    assert c.reply()[0].startswith(b"503 5.5.1")
    assert c.code(b"NOOP") == b"250 2.0.0"
    c.close()
    assert trace_stripped(fetch_last(srv, "alice"))[0] == body
    assert trace_stripped(fetch_last(srv, "bob"))[0] == body


def test_pipelined_bdat(srv):
    body = b"Subject: pipelined bdat\r\n\r\nbody\r\n"
    c = session(srv)
    c.send(b"MAIL FROM:<b@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
           b"BDAT 10\r\n" + body[:10] + b"BDAT %d LAST\r\n" %
           (len(body) - 10) + body[10:] + b"QUIT\r\n")
    got = [c.reply()[0][:9] for _ in range(5)]
    assert got == [b"250 2.1.0", b"250 2.1.5", b"250 2.0.0", b"250 2.0.0",
                   b"221 2.0.0"], got
    c.close()
    assert trace_stripped(fetch_last(srv, "bob"))[0] == body


def test_size_refused_at_mail_and_after_data(srv):
    c = session(srv)
    got = c.cmd(b"MAIL FROM:<big@example.org> SIZE=%d" % (MAXSIZE + 1))
    assert got[0].startswith(b"552 5.3.4"), got
    before = count(srv, "alice"), count(srv, "bob")
    # no SIZE given: refused after the data, one reply per recipient,
    # nothing stored, and the session goes on
    assert c.code(b"MAIL FROM:<big@example.org>") == b"250 2.1.0"
    c.cmd(b"RCPT TO:<alice@example.org>")
    c.cmd(b"RCPT TO:<bob@example.org>")
    assert c.cmd(b"DATA")[0].startswith(b"354")
    line = b"z" * 998 + b"\r\n"
    c.send(b"Subject: big\r\n\r\n" + line * (MAXSIZE // 1000 + 5) +
           b".\r\n")
    assert c.reply()[0].startswith(b"552 5.3.4")
    assert c.reply()[0].startswith(b"552 5.3.4")
    assert c.code(b"NOOP") == b"250 2.0.0"
    # and by BDAT
    c.cmd(b"MAIL FROM:<big@example.org>")
    c.cmd(b"RCPT TO:<alice@example.org>")
    big = b"Subject: big\r\n\r\n" + line * (MAXSIZE // 1000 + 5)
    c.send(b"BDAT %d LAST\r\n" % len(big) + big)
    assert c.reply()[0].startswith(b"552 5.3.4")
    assert c.code(b"NOOP") == b"250 2.0.0"
    c.close()
    assert (count(srv, "alice"), count(srv, "bob")) == before
    assert "reason=maxmessagesize" in srv.logtext()


def quota_set(s, user, *limits):
    r = subprocess.run([os.path.join(BUILD, "tools", "berthctl"), "-C",
                        s.conf, "quota", "set", user, *limits],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_quota_refused_at_rcpt_and_after_data(srv):
    """RFC 9208 limits at delivery: 452 4.2.2 for a recipient whose quota
    is full (or that this message would overfill), 552 5.2.2 when the
    message alone is larger than the quota: at RCPT when MAIL gave SIZE=,
    else per recipient after the data; the others get their copy"""
    srv.add_user("dave", "secret")
    srv.connect("dave", "secret").logout()
    quota_set(srv, "dave", "storage=8", "messages=3")
    c = session(srv)
    # the message alone exceeds the quota, declared
    got = c.cmd(b"MAIL FROM:<q@example.org> SIZE=%d" % (9 * 1024))
    assert got[0].startswith(b"250 2.1.0"), got
    assert c.code(b"RCPT TO:<dave@example.org>") == b"552 5.2.2"
    assert c.code(b"RCPT TO:<alice@example.org>") == b"250 2.1.5"
    assert c.code(b"RSET") == b"250 2.0.0"
    before = count(srv, "alice")
    # not declared: found after the data, for dave only
    c.cmd(b"MAIL FROM:<q@example.org>")
    assert c.code(b"RCPT TO:<dave@example.org>") == b"250 2.1.5"
    assert c.code(b"RCPT TO:<alice@example.org>") == b"250 2.1.5"
    assert c.cmd(b"DATA")[0].startswith(b"354")
    c.send(msg(b"too big for dave", b"y" * 9000 + b"\r\n") + b".\r\n")
    assert c.reply()[0].startswith(b"552 5.2.2 <dave@")
    assert c.reply()[0].startswith(b"250 2.0.0 <alice@")
    assert count(srv, "alice") == before + 1
    # fits alone, not in the room left: 452 after the data
    c.cmd(b"MAIL FROM:<q@example.org>")
    c.cmd(b"RCPT TO:<dave@example.org>")
    c.cmd(b"DATA")
    c.send(msg(b"half", b"h" * 5000 + b"\r\n") + b".\r\n")
    assert c.reply()[0].startswith(b"250 2.0.0 <dave@")
    c.cmd(b"MAIL FROM:<q@example.org>")
    assert c.code(b"RCPT TO:<dave@example.org>") == b"250 2.1.5"
    c.send(b"BDAT 5000 LAST\r\n" + b"B" * 4998 + b"\r\n")
    assert c.reply()[0].startswith(b"452 4.2.2 <dave@")
    # the message count: full is refused at RCPT
    quota_set(srv, "dave", "storage=none", "messages=2")
    c.cmd(b"MAIL FROM:<q@example.org>")
    c.cmd(b"RCPT TO:<dave@example.org>")
    c.cmd(b"DATA")
    c.send(msg(b"second") + b".\r\n")
    assert c.reply()[0].startswith(b"250 2.0.0 <dave@")
    c.cmd(b"MAIL FROM:<q@example.org>")
    assert c.code(b"RCPT TO:<dave@example.org>") == b"452 4.2.2"
    assert c.cmd(b"QUIT")[0].startswith(b"221")
    c.close()
    assert count(srv, "dave") == 2
    assert srv.wait_log("to=<dave@example.org>", "result=overquota",
                        count=2)
    assert "reason=over message quota" in srv.logtext()


def test_plus_folder_exact_fuzzy_and_fallback(srv):
    before = count(srv, "alice", "lists/berth"), count(srv, "alice")
    for rcpt in (b"alice+lists/berth@example.org",
                 b"alice+Lists.Berth@example.org",    # fuzzy: case, '.'
                 b"alice+lists/berth/nothere@example.org"):   # parent
        assert deliver(srv, [rcpt], msg(b"plus"))[0][:3] == b"250"
    assert count(srv, "alice", "lists/berth") == before[0] + 3
    # no such folder: INBOX
    assert deliver(srv, [b"alice+nothere@example.org"],
                   msg(b"plus"))[0][:3] == b"250"
    assert count(srv, "alice") == before[1] + 1


def message_files(s):
    """the message files of s's partition (named by their SHA-1)"""
    spool = os.path.join(s.dir, "spool")
    return {f for d in os.listdir(spool) if re.fullmatch(r"[0-9a-f]{2}", d)
            for f in os.listdir(os.path.join(spool, d))
            if re.fullmatch(r"[0-9a-f]{40}", f)}


def test_one_file_for_every_recipient(srv):
    # three recipients, two users, two of alice's mailboxes: one file
    before = message_files(srv)
    body = msg(b"shared", body=b"one copy on disk\r\n")
    got = deliver(srv, [b"alice@example.org", b"bob@example.org",
                        b"alice+lists@example.org"], body)
    assert all(r.startswith(b"250 2.0.0") for r in got), got
    new = message_files(srv) - before
    assert len(new) == 1, new
    for user, mbox in (("alice", "INBOX"), ("bob", "INBOX"),
                       ("alice", "lists")):
        assert trace_stripped(fetch_last(srv, user, mbox))[0] == body


def test_downcase_rcpt_off_keeps_case(fresh):
    # lmtp_downcase_rcpt: no - "Alice" is not alice (the default
    # lower-cases the user part: test_smtplib_lmtp_per_recipient_results)
    s = fresh(extra_conf="lmtp_downcase_rcpt: no\n")
    path = os.path.join(s.dir, "conf", "socket", "lmtp")
    s.write_master(extra=f'  lmtp cmd="{LMTPD}" listen="{path}" '
                   f'prefork=1 maxchild=2\n')
    s.start()
    s.lmtp = path
    s.connect("alice", "secret").logout()
    c = session(s)
    c.cmd(b"MAIL FROM:<d@example.org>")
    assert c.code(b"RCPT TO:<Alice@example.org>") == b"550 5.1.1"
    assert c.code(b"RCPT TO:<alice@Example.ORG>") == b"250 2.1.5"
    c.close()


def test_duplicate_suppressed_per_mailbox(srv):
    body = msg(b"dup", msgid=b"dup-1@example.org")
    before = count(srv, "alice"), count(srv, "alice", "lists")
    assert deliver(srv, [b"alice@example.org"], body)[0][:9] == b"250 2.0.0"
    # the MTA retries (its reply was lost): 250 again, stored once
    got = deliver(srv, [b"alice@example.org"], body)[0]
    assert got.startswith(b"250 2.0.0") and b"duplicate" in got, got
    assert count(srv, "alice") == before[0] + 1
    # another mailbox of the same user is another delivery
    assert deliver(srv, [b"alice+lists@example.org"], body)[0][:3] == b"250"
    assert count(srv, "alice", "lists") == before[1] + 1
    assert "result=duplicate" in srv.logtext()


def test_parked_idler_gets_exists_at_once(srv):
    n = count(srv, "bob")
    r = Raw(srv.port)
    r.cmd(b"l", b"LOGIN bob secret")
    r.cmd(b"s", b"SELECT INBOX")
    r.send(b"i IDLE\r\n")
    assert r.line().startswith(b"+ ")
    assert wait_for(lambda: "park user=bob" in srv.logtext())
    assert deliver(srv, [b"bob@example.org"], msg(b"idle"))[0][:3] == b"250"
    assert r.line() == b"* %d EXISTS" % (n + 1)
    r.send(b"DONE\r\n")
    while not r.line().startswith(b"i OK"):
        pass
    r.close()


def test_parked_notify_session_hears_of_it(srv):
    n = count(srv, "bob")
    parks = srv.logtext().count("park user=bob addr=127.0.0.1 kind=wait")
    r = Raw(srv.port)
    r.cmd(b"l", b"LOGIN bob secret")
    r.cmd(b"s", b"SELECT INBOX")
    assert r.cmd(b"n", b"NOTIFY SET (selected (MessageNew "
                 b"MessageExpunge))")[-1].startswith(b"n OK")
    # waiting under NOTIFY, the session is parked in idled
    assert wait_for(lambda: srv.logtext().count(
        "park user=bob addr=127.0.0.1 kind=wait") > parks)
    assert deliver(srv, [b"bob@example.org"], msg(b"notify"))[0][:3] == \
        b"250"
    assert r.line() == b"* %d EXISTS" % (n + 1)
    r.cmd(b"x", b"LOGOUT")
    r.close()


def test_recent_goes_to_one_session(srv):
    # two sessions select after a delivery: one of them sees it \Recent
    # (a first SELECT takes what earlier tests delivered)
    c = srv.connect("bob", "secret")
    c.select("INBOX")
    c.logout()
    assert deliver(srv, [b"bob@example.org"], msg(b"recent"))[0][:3] == \
        b"250"
    recent = []
    for _ in range(2):
        c = srv.connect("bob", "secret")
        c.select("INBOX")
        recent.append(int(c.response("RECENT")[1][0]))
        c.logout()
    assert sorted(recent) == [0, 1], recent


def test_tcp_listener(srv):
    c = session(srv, port=srv.lmtp_port)
    c.cmd(b"MAIL FROM:<t@example.org>")
    assert c.code(b"RCPT TO:<alice@example.org>") == b"250 2.1.5"
    c.cmd(b"DATA")
    c.send(b"Subject: tcp\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0].startswith(b"250 2.0.0")
    c.close()


def test_timeout_says_421(fresh):
    s = fresh(extra_conf="lmtp_timeout: 1s\n")
    path = os.path.join(s.dir, "conf", "socket", "lmtp")
    s.write_master(extra=f'  lmtp cmd="{LMTPD}" listen="{path}" '
                   f'prefork=1 maxchild=2\n')
    s.start()
    s.lmtp = path
    c = Lmtp(s)
    assert c.line().startswith(b"421 4.4.2")
    c.close()


def test_kill9_mid_data_loses_nothing_acknowledged(fresh):
    s = fresh()
    path = os.path.join(s.dir, "conf", "socket", "lmtp")
    s.write_master(extra=f'  lmtp cmd="{LMTPD}" listen="{path}" '
                   f'prefork=1 maxchild=2\n')
    s.start()
    s.lmtp = path
    s.connect("alice", "secret").logout()
    acked = msg(b"acked", body=b"kept\r\n")
    assert deliver(s, [b"alice@example.org"], acked)[0][:3] == b"250"
    c = session(s)
    c.cmd(b"MAIL FROM:<k@example.org>")
    c.cmd(b"RCPT TO:<alice@example.org>")
    assert c.cmd(b"DATA")[0].startswith(b"354")
    c.send(b"Subject: partial\r\n\r\n" + b"p" * 50000)
    assert wait_for(lambda: any(
        f.startswith("spool.") for f in os.listdir(
            os.path.join(s.dir, "spool", "tmp"))))
    pids = s.children("lmtpd")
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    with pytest.raises((EOFError, OSError)):
        c.send(b"more\r\n.\r\n")
        c.reply()
    # the whole suite killed too, then started again (recovery)
    s.stop(signal.SIGKILL)
    s.start()
    assert count(s, "alice") == 1
    assert trace_stripped(fetch_last(s, "alice"))[0] == acked
    # recovery swept the partial spool file
    assert not [f for f in os.listdir(os.path.join(s.dir, "spool", "tmp"))
                if f.startswith("spool.")]


def berthctl_deliver(s, args, data):
    return subprocess.run([os.path.join(BUILD, "tools", "berthctl"), "-C",
                           s.conf, "deliver"] + args, input=data,
                          capture_output=True, timeout=30)


def test_berthctl_deliver_exit_codes(srv):
    before = count(srv, "alice"), count(srv, "alice", "lists")
    lf = b"From: a@example.org\nSubject: piped\nMessage-ID: <pipe-1@x>\n" \
        b"\nline one\n.dot line\n"
    r = berthctl_deliver(srv, ["-f", "bounce@example.org", "alice"], lf)
    assert r.returncode == 0, r.stderr
    got, trace = trace_stripped(fetch_last(srv, "alice"))
    assert got == lf.replace(b"\n", b"\r\n")
    assert trace.startswith(b"Return-Path: <bounce@example.org>\r\n")
    # again: a duplicate, still exit 0, stored once
    assert berthctl_deliver(srv, ["alice"], lf).returncode == 0
    assert count(srv, "alice") == before[0] + 1
    r = berthctl_deliver(srv, ["-m", "lists", "alice"], b"Subject: m\n\nx\n")
    assert r.returncode == 0, r.stderr
    assert count(srv, "alice", "lists") == before[1] + 1
    # sysexits: unknown user 67, too large 65
    assert berthctl_deliver(srv, ["nobody"], b"x\n").returncode == 67
    assert berthctl_deliver(srv, ["carol"], b"x\n").returncode == 67
    big = b"Subject: big\n\n" + b"z" * (MAXSIZE + 10)
    assert berthctl_deliver(srv, ["alice"], big).returncode == 65
    assert count(srv, "alice") == before[0] + 1


# ---- a real MTA: Debian's Postfix, private, delivering over LMTP --------

POSTFIX_MAIN = """compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.test.example
mydomain = example.org
myorigin = example.org
mydestination = example.org
inet_interfaces = loopback-only
inet_protocols = ipv4
local_transport = lmtp:unix:{sock}
local_recipient_maps =
alias_maps =
alias_database =
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
syslog_name = postfix-berth-test
biff = no
smtputf8_enable = no
"""
# no listener of its own: mail comes in by sendmail (postdrop, pickup)
POSTFIX_MASTER = "".join(
    f"{n:10s} {t:10s} {p} - n {w} {m} {cmd}\n" for n, t, p, w, m, cmd in (
        ("pickup", "unix", "n", "60", "1", "pickup"),
        ("cleanup", "unix", "n", "-", "0", "cleanup"),
        ("qmgr", "unix", "n", "300", "1", "qmgr"),
        ("rewrite", "unix", "-", "-", "-", "trivial-rewrite"),
        ("bounce", "unix", "-", "-", "0", "bounce"),
        ("defer", "unix", "-", "-", "0", "bounce"),
        ("trace", "unix", "-", "-", "0", "bounce"),
        ("verify", "unix", "-", "-", "1", "verify"),
        ("flush", "unix", "n", "1000", "0", "flush"),
        ("proxymap", "unix", "-", "-", "-", "proxymap"),
        ("showq", "unix", "n", "-", "-", "showq"),
        ("error", "unix", "-", "-", "-", "error"),
        ("retry", "unix", "-", "-", "-", "error"),
        ("discard", "unix", "-", "-", "-", "discard"),
        ("lmtp", "unix", "-", "-", "-", "lmtp"),
        ("anvil", "unix", "-", "-", "1", "anvil"),
        ("scache", "unix", "-", "-", "1", "scache"),
        ("postlog", "unix-dgram", "n", "-", "1", "postlogd")))


@pytest.fixture
def postfix(srv):
    """a Postfix of the test's own, its queue and config under srv's
    directory, delivering every local recipient to srv's lmtpd"""
    import pwd
    if os.geteuid() != 0 or not os.path.exists("/usr/sbin/postfix"):
        pytest.skip("needs root and Debian's postfix (scripts/deps)")
    d = os.path.join(srv.dir, "postfix")
    etc = os.path.join(d, "etc")
    os.makedirs(etc)
    os.makedirs(os.path.join(d, "queue"))
    os.makedirs(os.path.join(d, "data"))
    pf = pwd.getpwnam("postfix")
    os.chown(os.path.join(d, "data"), pf.pw_uid, pf.pw_gid)
    with open(os.path.join(etc, "main.cf"), "w") as f:
        f.write(POSTFIX_MAIN.format(d=d, sock=srv.lmtp))
    with open(os.path.join(etc, "master.cf"), "w") as f:
        f.write(POSTFIX_MASTER)
    r = subprocess.run(["/usr/sbin/postfix", "-c", etc, "start"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    pf_log = os.path.join(d, "maillog")

    def maillog():
        try:
            with open(pf_log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def sendmail(rcpts, data, frm="sender@example.org"):
        r = subprocess.run(["/usr/sbin/sendmail", "-C", etc, "-f", frm] +
                           rcpts, input=data, capture_output=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
    yield sendmail, maillog
    subprocess.run(["/usr/sbin/postfix", "-c", etc, "stop"],
                   capture_output=True, timeout=60)
    print("---- postfix maillog ----\n" + maillog()[-4000:])


def test_postfix_delivers_over_lmtp(srv, postfix):
    sendmail, maillog = postfix
    before = count(srv, "alice"), count(srv, "bob")
    body = (b"Subject: via postfix\nMessage-ID: <postfix-1@example.org>\n"
            b"\nhello from a real MTA\n.a line with a dot\n")
    sendmail(["alice@example.org", "bob@example.org",
              "nobody@example.org"], body)
    # Postfix hands each recipient over and logs berth's reply
    assert wait_for(lambda: maillog().count("status=sent") >= 2 and
                    "status=bounced" in maillog(), 60), maillog()
    log = maillog()
    assert re.search(r"to=<nobody@example.org>, relay=\S+, .*"
                     r"status=bounced \(host \S+ said: 550 5\.1\.1 ", log)
    assert (count(srv, "alice"), count(srv, "bob")) == \
        (before[0] + 1, before[1] + 1)
    got, trace = trace_stripped(fetch_last(srv, "bob"))
    assert trace.startswith(b"Return-Path: <sender@example.org>\r\n")
    assert b"Received: from mta.test.example" in trace
    assert got.endswith(b"\r\nhello from a real MTA\r\n.a line with a "
                        b"dot\r\n"), got
    # the queue id Postfix gave the message is in berth's delivery lines
    qid = re.search(r"postfix-berth-test/cleanup\[\d+\]: ([0-9A-F]+): "
                    r"message-id=<postfix-1@example.org>", log).group(1)
    assert re.search(rf"deliver session=\S+ queue_id={qid} "
                     r"from=<sender@example.org> to=<bob@example.org> ",
                     srv.logtext())


def test_store_failure_is_451_and_stores_nothing(fresh):
    if os.geteuid() != 0:
        pytest.skip("needs root: lmtpd runs as nobody, the test as root")
    s = fresh(extra_conf="virtdomains: userid\ndefaultdomain: "
              "example.org\n")
    path = os.path.join(s.dir, "conf", "socket", "lmtp")
    s.write_master(extra=f'  lmtp cmd="{LMTPD}" listen="{path}" '
                   f'prefork=1 maxchild=2\n')
    s.start()
    s.lmtp = path
    s.connect("alice", "secret").logout()
    ctl = os.path.join(BUILD, "tools", "berthctl")
    subprocess.run([ctl, "-C", s.conf, "mailbox", "create",
                    "dave@example.com", "INBOX"], check=True, timeout=30)
    s.chown()
    # virtdomains: userid: the domain is part of the user name, except
    # in the defaultdomain
    c = session(s)
    c.cmd(b"MAIL FROM:<v@example.net>")
    assert c.code(b"RCPT TO:<Dave@Example.COM>") == b"250 2.1.5"
    assert c.code(b"RCPT TO:<dave@example.org>") == b"550 5.1.1"
    assert c.code(b"RCPT TO:<alice@example.org>") == b"250 2.1.5"
    assert c.code(b"RCPT TO:<alice@example.com>") == b"550 5.1.1"
    assert c.cmd(b"DATA")[0].startswith(b"354")
    c.send(b"Subject: v\r\n\r\nx\r\n.\r\n")
    assert c.reply()[0].startswith(b"250 2.0.0 <Dave@")
    assert c.reply()[0].startswith(b"250 2.0.0 <alice@")
    # the spool cannot be written: 451 4.3.0, nothing stored
    tmp = os.path.join(s.dir, "spool", "tmp")
    os.chmod(tmp, 0o500)
    try:
        c.cmd(b"MAIL FROM:<v@example.net>")
        c.cmd(b"RCPT TO:<alice@example.org>")
        assert c.code(b"DATA") == b"451 4.3.0"
        c.send(b"BDAT 3 LAST\r\nabc")
        assert c.reply()[0].startswith(b"451 4.3.0")
    finally:
        os.chmod(tmp, 0o750)
    assert c.code(b"NOOP") == b"250 2.0.0"
    c.close()
    assert count(s, "alice") == 1
    assert "spool failed" in s.logtext()

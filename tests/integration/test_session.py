"""Login, mailboxes, messages: round trips with Python's imaplib."""
import imaplib
import re

import pytest

from raw import Raw

MULTI = (b"From: Ann Example <ann@example.com>\r\n"
         b"To: bob@example.org, \"Carl, Jr.\" <carl@example.net>\r\n"
         b"Subject: =?UTF-8?B?SMOpbGxv?= there\r\n"
         b"Date: Mon, 2 Feb 2026 10:00:00 +0100\r\n"
         b"Message-ID: <m1@example.com>\r\n"
         b"MIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
         b"preamble\r\n"
         b"--outer\r\n"
         b"Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
         b"--inner\r\n"
         b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
         b"plain words here\r\n"
         b"--inner\r\n"
         b"Content-Type: text/html\r\n\r\n"
         b"<b>html words</b>\r\n"
         b"--inner--\r\n"
         b"--outer\r\n"
         b"Content-Type: message/rfc822\r\n\r\n"
         b"From: x@example.com\r\nSubject: inner\r\n\r\ninner body\r\n"
         b"--outer\r\n"
         b"Content-Type: application/octet-stream\r\n"
         b"Content-Transfer-Encoding: base64\r\n"
         b"Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\n"
         b"AAECAw==\r\n"
         b"--outer--\r\n")

SIMPLE = b"From: a@example.com\r\nSubject: simple\r\n\r\nbody text\r\n"


def test_greeting_and_capability(server):
    c = server.connect()
    typ, caps = c.capability()
    assert typ == "OK"
    for cap in (b"IMAP4rev1", b"IDLE", b"LITERAL+", b"SASL-IR",
                b"AUTH=PLAIN", b"UIDPLUS"):
        assert cap in caps[0]
    c.logout()


def test_greeting_lists_what_capability_does(server, fresh):
    """the greeting's CAPABILITY is the whole list, AUTH= entries
    included: clients that read it ask for no other before login"""
    for srv in (server, fresh(allowplaintext=False).start()):
        r = Raw(srv.port)
        g = r.greeting
        assert g.startswith(b"* OK [CAPABILITY "), g
        greeted = g[len(b"* OK [CAPABILITY "):g.index(b"]")].split()
        out = r.cmd(b"c", b"CAPABILITY")
        asked = [ln for ln in out if ln.startswith(b"* CAPABILITY ")]
        assert asked and out[-1].startswith(b"c OK"), out
        assert greeted == asked[0].split()[2:], (g, asked)
        # no mechanism is offered in the clear without allowplaintext
        assert (b"AUTH=PLAIN" in greeted) == (srv is server), g


def test_failed_login(server):
    c = server.connect()
    with pytest.raises(imaplib.IMAP4.error) as e:
        c.login("alice", "wrong")
    assert "AUTHENTICATIONFAILED" in str(e.value)
    with pytest.raises(imaplib.IMAP4.error):
        c.login("nosuchuser", "x")
    c.login("alice", "secret")
    c.logout()


def test_authenticate_plain_sasl_ir(server):
    r = Raw(server.port)
    out = r.cmd(b"a1", b"AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==")
    assert out[-1].startswith(b"a1 OK"), out
    r.cmd(b"a2", b"LOGOUT")


def test_authenticate_login_steps(server):
    r = Raw(server.port)
    r.send(b"a1 AUTHENTICATE LOGIN\r\n")
    assert r.line().startswith(b"+ ")
    r.send(b"YWxpY2U=\r\n")
    assert r.line().startswith(b"+ ")
    r.send(b"c2VjcmV0\r\n")
    assert r.line().startswith(b"a1 OK")
    # cancelled exchange
    r2 = Raw(server.port)
    r2.send(b"b1 AUTHENTICATE PLAIN\r\n")
    assert r2.line().startswith(b"+")
    r2.send(b"*\r\n")
    assert r2.line().startswith(b"b1 BAD")


def test_plaintext_refused_without_allowplaintext(fresh):
    s = fresh(allowplaintext=False).start()
    c = s.connect()
    assert b"LOGINDISABLED" in c.capability()[1][0]
    with pytest.raises(imaplib.IMAP4.error) as e:
        c.login("alice", "secret")
    assert "PRIVACYREQUIRED" in str(e.value)
    r = Raw(s.port)
    out = r.cmd(b"a1", b"AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==")
    assert b"PRIVACYREQUIRED" in out[-1]


def test_create_rename_delete(server):
    c = server.connect("alice", "secret")
    assert c.create("Projects/2026/Q1")[0] == "OK"
    typ, lst = c.list('""', "Projects*")
    names = [l.decode() for l in lst]
    assert any(n.endswith('"/" Projects/2026/Q1') for n in names)
    assert any("\\HasChildren" in n and n.endswith(" Projects")
               for n in names)
    assert c.create("Projects")[0] == "NO"
    assert c.rename("Projects", "Attic")[0] == "OK"
    typ, lst = c.list('""', "*")
    text = b" ".join(lst)
    assert b"Attic/2026/Q1" in text and b"Projects" not in text
    assert c.delete("Attic/2026/Q1")[0] == "OK"
    assert c.delete("nonexistent")[0] == "NO"
    assert c.delete("INBOX")[0] == "NO"
    # % stops at the separator
    typ, lst = c.list('""', "Attic/%")
    assert lst == [b'(\\HasNoChildren) "/" Attic/2026']
    c.logout()


def test_inbox_rename(server):
    c = server.connect("bob", "hunter2")
    c.append("INBOX", None, None, SIMPLE)
    c.append("INBOX", None, None, SIMPLE)
    assert c.rename("INBOX", "Old")[0] == "OK"
    assert c.status("INBOX", "(MESSAGES)")[1][0].endswith(b"(MESSAGES 0)")
    assert c.status("Old", "(MESSAGES)")[1][0].endswith(b"(MESSAGES 2)")
    c.logout()


def test_append_fetch_search_store_copy_expunge(server):
    c = server.connect("alice", "secret")
    c.create("rt")
    typ, d = c.append("rt", r"(\Flagged $Work)",
                      '"02-Feb-2026 10:00:00 +0100"', MULTI)
    assert typ == "OK"
    m = re.search(rb"APPENDUID (\d+) (\d+)", d[0])
    assert m, d
    c.append("rt", None, None, SIMPLE)
    typ, d = c.select("rt")
    assert d == [b"2"]
    # bytes round trip
    typ, d = c.fetch("1", "(BODY.PEEK[])")
    assert d[0][1] == MULTI
    typ, d = c.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE UID)")
    assert b"\\Flagged" in d[0] and b"$Work" in d[0]
    assert b'INTERNALDATE "02-Feb-2026 10:00:00 +0100"' in d[0]
    assert b"RFC822.SIZE %d" % len(MULTI) in d[0]
    typ, d = c.fetch("1", "(BODYSTRUCTURE)")
    bs = d[0]
    assert b'"ALTERNATIVE"' in bs and b'"MIXED"' in bs
    assert b'("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 16 1' in bs
    assert b'"MESSAGE" "RFC822"' in bs
    assert b'("ATTACHMENT" ("FILENAME" "a.bin"))' in bs
    typ, d = c.fetch("1", "(ENVELOPE)")
    assert b'"=?UTF-8?B?SMOpbGxv?= there"' in d[0][0] if isinstance(
        d[0], tuple) else b'"=?UTF-8?B?SMOpbGxv?= there"' in d[0]
    assert b'("Carl, Jr." NIL "carl" "example.net")' in d[0]
    # sections
    typ, d = c.fetch("1", "(BODY.PEEK[1.1] BODY.PEEK[2.HEADER] "
                     "BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[1.2]<3.4>)")
    parts = [x[1] for x in d if isinstance(x, tuple)]
    assert parts[0] == b"plain words here"
    assert parts[1] == b"From: x@example.com\r\nSubject: inner\r\n\r\n"
    assert parts[2] == b"Subject: =?UTF-8?B?SMOpbGxv?= there\r\n\r\n"
    assert parts[3] == b"html"
    # the PEEKs did not set \Seen
    assert b"\\Seen" not in c.fetch("1", "(FLAGS)")[1][0]
    c.fetch("2", "(BODY[TEXT])")
    assert b"\\Seen" in c.fetch("2", "(FLAGS)")[1][0]
    # search
    assert c.search(None, "OR", "LARGER", "2000", "SMALLER", "100")[1] == \
        [b"2"]
    assert c.search(None, "FLAGGED")[1] == [b"1"]
    assert c.search(None, "KEYWORD", "$Work")[1] == [b"1"]
    assert c.search(None, "NOT", "SEEN")[1] == [b"1"]
    assert c.search(None, "BODY", '"html words"')[1] == [b"1"]
    assert c.search(None, "FROM", "ann@example")[1] == [b"1"]
    assert c.search(None, "SENTSINCE", "1-Feb-2026", "SENTBEFORE",
                    "3-Feb-2026")[1] == [b"1"]
    c.literal = "héllo".encode()
    assert c.search("UTF-8", "SUBJECT")[1] == [b"1"]
    assert c.uid("SEARCH", "ALL")[1][0].split().__len__() == 2
    with pytest.raises(imaplib.IMAP4.error) as e:
        c.search(None, "FROBNICATE")
    assert "Unknown search key" in str(e.value)
    # store
    typ, d = c.store("1:2", "+FLAGS", r"(\Deleted)")
    assert typ == "OK" and len(d) == 2 and b"\\Deleted" in d[0]
    typ, d = c.store("2", "-FLAGS.SILENT", r"(\Deleted)")
    assert typ == "OK"
    # copy
    c.create("rt2")
    typ, d = c.copy("1:2", "rt2")
    assert typ == "OK" and b"COPYUID" in d[0]
    assert c.copy("1", "nosuch")[0] == "NO"
    # expunge
    typ, d = c.expunge()
    assert d == [b"1"]
    assert c.search(None, "ALL")[1] == [b"1"]
    typ, d = c.status("rt2", "(MESSAGES UNSEEN UIDNEXT)")
    assert d[0].endswith(b"(MESSAGES 2 UNSEEN 1 UIDNEXT 3)")
    # UID EXPUNGE only removes the named UIDs
    c.select("rt2")
    c.store("1:2", "+FLAGS", r"(\Deleted)")
    uids = c.uid("SEARCH", "ALL")[1][0].split()
    typ, d = c.uid("EXPUNGE", uids[0].decode())
    assert typ == "OK"
    assert c.uid("SEARCH", "ALL")[1][0].split() == uids[1:]
    c.logout()


def test_move(server):
    c = server.connect("alice", "secret")
    c.create("mv1")
    c.create("mv2")
    c.append("mv1", None, None, SIMPLE)
    c.select("mv1")
    typ, d = c._simple_command("MOVE", "1", "mv2")
    assert typ == "OK"
    assert c.status("mv2", "(MESSAGES)")[1][0].endswith(b"(MESSAGES 1)")
    assert c.search(None, "ALL")[1] == [b""]
    c.logout()


def test_concurrent_sessions(server):
    a = server.connect("alice", "secret")
    b = server.connect("alice", "secret")
    a.create("shared")
    for _ in range(3):
        a.append("shared", None, None, SIMPLE)
    a.select("shared")
    b.select("shared")
    # b appends, expunges the first and flags the last
    b.append("shared", None, None, SIMPLE)
    b.store("1", "+FLAGS", r"(\Deleted)")
    b.expunge()
    b.store("2", "+FLAGS", r"(\Answered)")
    typ, d = a.noop()
    assert a.untagged_responses.get("EXPUNGE") == [b"1"]
    assert a.untagged_responses.get("EXISTS")[-1] == b"3"
    fetches = a.untagged_responses.get("FETCH", [])
    # numbered after the EXPUNGE of message 1: the old 3 is now 2
    assert any(f.startswith(b"2 (") and b"\\Answered" in f
               for f in fetches), fetches
    assert a.search(None, "ALL")[1] == [b"1 2 3"]
    a.logout()
    b.logout()


def test_idle_sees_append(server):
    a = server.connect("alice", "secret")
    a.create("idlebox")
    a.logout()
    r = Raw(server.port)
    r.cmd(b"a1", b"LOGIN alice secret")
    r.cmd(b"a2", b"SELECT idlebox")
    r.send(b"a3 IDLE\r\n")
    assert r.line().startswith(b"+ ")
    w = server.connect("alice", "secret")
    w.append("idlebox", None, None, SIMPLE)
    assert r.line() == b"* 1 EXISTS"
    w.select("idlebox")
    w.store("1", "+FLAGS", r"(\Flagged)")
    ln = r.line()
    assert ln.startswith(b"* 1 FETCH") and b"\\Flagged" in ln
    r.send(b"DONE\r\n")
    assert r.line().startswith(b"a3 OK")
    # pipelined DONE plus a command
    r.send(b"a4 IDLE\r\n")
    assert r.line().startswith(b"+ ")
    r.send(b"DONE\r\na5 NOOP\r\n")
    assert r.line().startswith(b"a4 OK")
    assert r.line().startswith(b"a5 OK")
    w.logout()


def test_bad_input(server):
    r = Raw(server.port)
    out = r.cmd(b"a1", b"LOGIN alice")
    assert out[-1].startswith(b"a1 BAD"), out
    out = r.cmd(b"a2", b'LOGIN "alice secret')
    assert out[-1].startswith(b"a2 BAD") and b"quoted" in out[-1]
    out = r.cmd(b"a3", b"FROB")
    assert out[-1].startswith(b"a3 BAD")
    out = r.cmd(b"a4", b"NOOP")
    assert out[-1].startswith(b"a4 OK")
    out = r.cmd(b"a5", b"SELECT INBOX")
    assert out[-1].startswith(b"a5 BAD")     # not logged in
    r.cmd(b"a8", b"LOGIN alice secret")
    # over-long line after login: BAD, and the session goes on (before
    # login: BYE, test_partial)
    out = r.cmd(b"a6", b"NOOP " + b"x" * 20000)
    assert out[-1].startswith(b"a6 BAD") and b"too long" in out[-1]
    out = r.cmd(b"a7", b"NOOP")
    assert out[-1].startswith(b"a7 OK")
    # oversized literal is refused before any byte is sent
    r.send(b"a9 APPEND INBOX {5000000}\r\n")
    ln = r.line()
    assert ln.startswith(b"a9 NO") and b"TOOBIG" in ln
    out = r.cmd(b"a10", b"NOOP")
    assert out[-1].startswith(b"a10 OK")
    # a synchronizing literal within limits gets "+ "
    r.send(b"a11 APPEND INBOX {%d}\r\n" % len(SIMPLE))
    assert r.line().startswith(b"+ ")
    r.send(SIMPLE + b"\r\n")
    assert r.until_tag(b"a11")[-1].startswith(b"a11 OK")
    # LITERAL+
    r.send(b"a12 APPEND INBOX {%d+}\r\n" % len(SIMPLE) + SIMPLE + b"\r\n")
    assert r.until_tag(b"a12")[-1].startswith(b"a12 OK")
    r.close()


def test_not_imap_closes(server):
    r = Raw(server.port)
    r.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.closed()

"""SEARCH evaluated from what delivery cached: header, date, size and
flag keys answer without the message files (removed under the server to
prove it); a header too long for the cache is read from the file."""
import glob
import os
import re

TIMEOUT = 20


def search(c, *keys):
    typ, data = c.uid("SEARCH", *keys)
    assert typ == "OK", (keys, data)
    return [int(x) for x in data[0].split()]


def message(i):
    return (f"From: Ann Sender{i % 3} <ann{i % 3}@example.com>\r\n"
            f"To: Bob Rcpt <bob@example.org>\r\n"
            f"Cc: carl{i % 2}@example.net\r\n"
            f"Bcc: =?UTF-8?Q?D=C3=A9e?= <dee@example.net>\r\n"
            f"Subject: =?UTF-8?B?{'UmVwb3J0IG7CsA=='}?= {i} topic{i % 4}\r\n"
            f"Date: {1 + i % 28:d} Mar 2025 10:00:00 +0100\r\n"
            f"X-Tag: tag{i % 5}\r\n"
            f"\r\n"
            f"common body {'x' * (i * 50)}\r\n").encode()


def remove_files(server):
    """every message file of the partition (content-addressed, in two-hex
    fan-out folders)"""
    files = glob.glob(os.path.join(server.dir, "spool", "[0-9a-f][0-9a-f]",
                                   "*"))
    assert files
    for f in files:
        os.unlink(f)


KEYS = [
    ("SUBJECT", "topic1"), ("SUBJECT", '"report n"'),
    ("FROM", "ann2@"), ("FROM", '"Ann Sender1"'), ("TO", '"bob rcpt"'),
    ("CC", "carl0"), ("BCC", "dee@"), ("HEADER", "X-Tag", "tag3"),
    ("HEADER", "X-Nothing", '""'), ("SENTON", "5-Mar-2025"),
    ("SENTBEFORE", "3-Mar-2025"), ("SENTSINCE", "19-Mar-2025"),
    ("LARGER", "800"), ("SMALLER", "700"), ("FLAGGED",),
    ("NOT", "SUBJECT", "topic2"), ("OR", "CC", "carl1", "HEADER", "X-Tag",
                                  "tag0"),
]


def test_header_keys_answer_without_message_files(fresh):
    s = fresh()
    s.start()
    c = s.connect("alice", "secret")
    c.create("hc")
    for i in range(1, 21):
        flags = "(\\Flagged)" if i % 7 == 0 else None
        c.append("hc", flags, None, message(i))
    c.select("hc")
    before = {}
    for k in KEYS:
        before[k] = search(c, *k)
    assert before[("SUBJECT", "topic1")] == [1, 5, 9, 13, 17]
    assert len(before[KEYS[1]]) == 20
    assert before[("FROM", "ann2@")] == [2, 5, 8, 11, 14, 17, 20]
    assert before[("HEADER", "X-Tag", "tag3")] == [3, 8, 13, 18]
    assert before[("HEADER", "X-Nothing", '""')] == []
    assert before[("SENTON", "5-Mar-2025")] == [4]
    assert before[("SENTBEFORE", "3-Mar-2025")] == [1]
    assert before[("SENTSINCE", "19-Mar-2025")] == [18, 19, 20]
    assert before[("FLAGGED",)] == [7, 14]
    assert search(c, "BODY", "common") == list(range(1, 21))
    remove_files(s)
    for k in KEYS:
        assert search(c, *k) == before[k], k
    # the bodies' text is in the full-text index since the first BODY
    assert search(c, "SUBJECT", "topic", "BODY", "common") == \
        list(range(1, 21))
    c.logout()


def test_header_past_the_cache_is_read_from_the_file(fresh):
    s = fresh()
    s.start()
    c = s.connect("alice", "secret")
    c.create("big")
    pad = "".join(f"X-Pad-{i}: {'p' * 70}\r\n" for i in range(1000))
    c.append("big", None, None, (f"Subject: large header\r\n{pad}"
                                 "X-Last: needle\r\n\r\nbody\r\n").encode())
    c.append("big", None, None, b"Subject: small\r\nX-Last: needle\r\n"
             b"\r\nbody\r\n")
    c.select("big")
    assert search(c, "HEADER", "X-Last", "needle") == [1, 2]
    assert search(c, "SUBJECT", "large") == [1]
    remove_files(s)
    # the small header comes from the cache, the large one needed its file
    assert search(c, "HEADER", "X-Last", "needle") == [2]
    c.logout()


def test_search_keys_any_case(server):
    """every key of the table, in lower and mixed case"""
    c = server.connect("alice", "secret")
    c.create("keys")
    c.append("keys", "(\\Seen)", None, message(1))
    c.select("keys")
    for k in ("all", "Answered", "unanswered", "deleted", "undeleted",
              "draft", "undraft", "flagged", "unflagged", "seen", "unseen",
              "new", "old", "recent", "keyword x", "unkeyword x",
              "larger 1", "smaller 99999", "modseq 1", "older 1",
              "younger 100000", "savedatesupported", "savedbefore 1-Jan-2100",
              "savedon 1-Jan-2000", "savedsince 1-Jan-2000",
              "before 1-Jan-2100", "on 1-Jan-2000", "since 1-Jan-2000",
              "sentbefore 1-Jan-2100", "senton 1-Jan-2000",
              "sentsince 1-Jan-2000", "subject report", "from ann",
              "to bob", "cc carl", "bcc dee", "header x-tag tag",
              "body common", "text common", "uid 1:*", "1:*",
              "not seen", "or seen unseen", "emailid M0", "threadid T0"):
        typ, data = c.search(None, *k.split())
        assert typ == "OK", (k, data)
    c.logout()


def test_search_errors_name_the_key(server):
    c = server.connect("alice", "secret")
    c.select("INBOX")
    for k, err in (("LARGER", "LARGER needs an argument"),
                   ("YOUNGER 0", "YOUNGER needs a number"),
                   ("SENTON 31-Foo-2025", "SENTON needs a date"),
                   ("HEADER X-Tag", "HEADER needs an argument"),
                   ("UID abc", "UID needs a sequence set"),
                   ("OR SEEN", "Missing search key")):
        tag = c._new_tag()
        c.send(tag + b" SEARCH " + k.encode() + b"\r\n")
        while True:
            line = c.readline()
            if line.startswith(tag):
                break
        assert line.split()[1] == b"BAD", (k, line)
        assert re.search(err.encode(), line), (k, line)
    c.logout()

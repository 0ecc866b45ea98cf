"""PARTIAL (RFC 9394): SEARCH, UID SEARCH and SORT RETURN (PARTIAL m:n)
with ranges counted from the last result (-1:-n), beside CONTEXT=SEARCH's
positive ranges (RFC 5267 4.4); what SEARCHRES keeps with PARTIAL (RFC
9394 3.2); UID FETCH's (PARTIAL range) modifier, alone and with
CHANGEDSINCE (RFC 9394 3.3, 3.4); BAD for every malformed range.  Raw
sockets: the exact responses are what is checked."""
import re

from raw import bad, esearch, login, ok


def fill(r, box, n, flagged=()):
    """a new mailbox box of n messages m1..mn (those at the 1-based
    positions in flagged \\Flagged), selected; its UIDs"""
    ok(r.cmd(b"c", b"CREATE " + box))
    uids = []
    for i in range(1, n + 1):
        msg = b"From: a@example.com\r\nSubject: m%d\r\n\r\nbody\r\n" % i
        flags = b" (\\Flagged)" if i in flagged else b""
        r.send(b"A APPEND " + box + flags + b" {%d+}\r\n" % len(msg) +
               msg + b"\r\n")
        out = ok(r.until_tag(b"A"))
        uids.append(int(re.search(rb"APPENDUID \d+ (\d+)", out[-1]).group(1)))
    ok(r.cmd(b"s", b"SELECT " + box))
    return uids


def fetched_uids(lines):
    return [int(re.search(rb"UID (\d+)", ln).group(1))
            for ln in lines if re.match(rb"\* \d+ FETCH ", ln)]


def test_partial_advertised_and_negative_ranges(server):
    r = login(server)
    caps = ok(r.cmd(b"c", b"CAPABILITY"))[0].split()
    assert b"PARTIAL" in caps and b"CONTEXT=SEARCH" in caps
    fill(r, b"pg", 10, flagged=(2, 3, 6, 9))
    # -1 is the last result; the range is echoed as asked
    out = ok(r.cmd(b"a", b"SEARCH RETURN (PARTIAL -1:-3) ALL"))
    assert esearch(out, b"a") == [b'* ESEARCH (TAG "a") PARTIAL (-1:-3 8:10)']
    out = ok(r.cmd(b"b", b"SEARCH RETURN (PARTIAL -3:-1 COUNT) ALL"))
    assert esearch(out, b"b") == [
        b'* ESEARCH (TAG "b") COUNT 10 PARTIAL (-3:-1 8:10)'], out
    # positions in the result, not in the mailbox
    out = ok(r.cmd(b"c", b"SEARCH RETURN (PARTIAL -2:-3 MIN MAX) FLAGGED"))
    assert esearch(out, b"c") == [
        b'* ESEARCH (TAG "c") MIN 2 MAX 9 PARTIAL (-2:-3 3,6)'], out
    # past the start: what there is, or NIL
    out = ok(r.cmd(b"d", b"SEARCH RETURN (PARTIAL -9:-12) ALL"))
    assert esearch(out, b"d") == [b'* ESEARCH (TAG "d") PARTIAL (-9:-12 1:2)']
    out = ok(r.cmd(b"e", b"SEARCH RETURN (PARTIAL -5:-6) FLAGGED"))
    assert esearch(out, b"e") == [b'* ESEARCH (TAG "e") PARTIAL (-5:-6 NIL)']
    # the RFC 5267 form still pages from the first
    out = ok(r.cmd(b"f", b"SEARCH RETURN (PARTIAL 2:3) FLAGGED"))
    assert esearch(out, b"f") == [b'* ESEARCH (TAG "f") PARTIAL (2:3 3,6)']
    # an empty mailbox: NIL
    ok(r.cmd(b"c", b"CREATE pg0"))
    ok(r.cmd(b"s", b"SELECT pg0"))
    out = ok(r.cmd(b"g", b"UID SEARCH RETURN (PARTIAL -1:-100) ALL"))
    assert esearch(out, b"g") == [
        b'* ESEARCH (TAG "g") UID PARTIAL (-1:-100 NIL)'], out
    r.close()


def test_partial_uid_search_and_sort(server):
    r = login(server)
    uids = fill(r, b"pu", 6)
    # expunge two so that UIDs are not message numbers
    ok(r.cmd(b"x", b"STORE 2,4 +FLAGS (\\Deleted)"))
    ok(r.cmd(b"x", b"EXPUNGE"))
    left = [uids[i] for i in (0, 2, 4, 5)]
    out = ok(r.cmd(b"a", b"UID SEARCH RETURN (PARTIAL -1:-2) ALL"))
    assert esearch(out, b"a") == [
        b'* ESEARCH (TAG "a") UID PARTIAL (-1:-2 %d:%d)' % (left[2],
                                                            left[3])], out
    out = ok(r.cmd(b"b", b"UID SEARCH RETURN (PARTIAL -3:-3) ALL"))
    assert esearch(out, b"b") == [
        b'* ESEARCH (TAG "b") UID PARTIAL (-3:-3 %d)' % left[1]], out
    # SORT: from the last of the sort order (subjects m6 m5 m3 m1)
    out = ok(r.cmd(b"c", b"SORT RETURN (PARTIAL -1:-2) (REVERSE SUBJECT) "
                         b"UTF-8 ALL"))
    assert esearch(out, b"c") == [b'* ESEARCH (TAG "c") PARTIAL (-1:-2 2,1)']
    out = ok(r.cmd(b"d", b"UID SORT RETURN (PARTIAL -4:-4) (SUBJECT) "
                         b"UTF-8 ALL"))
    assert esearch(out, b"d") == [
        b'* ESEARCH (TAG "d") UID PARTIAL (-4:-4 %d)' % left[0]], out
    # IMAP4rev2 takes them too
    ok(r.cmd(b"e", b"ENABLE IMAP4rev2"))
    out = ok(r.cmd(b"f", b"SEARCH RETURN (PARTIAL -1:-1) ALL"))
    assert esearch(out, b"f") == [b'* ESEARCH (TAG "f") PARTIAL (-1:-1 4)']
    r.close()


def test_partial_malformed_ranges_are_bad(server):
    r = login(server)
    fill(r, b"pb", 3)
    for rng in (b"-1:3", b"1:-3", b"0:3", b"-0:-3", b"01:3", b"-01:-3",
                b"1:*", b"*:1", b"-1:-*", b"1:4294967296",
                b"-4294967296:-1", b"1:18446744073709551617", b"3", b"-3",
                b"1:2:3", b"--1:-2", b"+1:2", b"-:-", b'"1:3"', b"(1:3)",
                b"1,3"):
        bad(r.cmd(b"b", b"SEARCH RETURN (PARTIAL " + rng + b") ALL"))
        bad(r.cmd(b"b", b"UID FETCH 1:* (FLAGS) (PARTIAL " + rng + b")"))
    # RFC 9394 3.1: one PARTIAL or one ALL
    for q in (b"SEARCH RETURN (PARTIAL -1:-2 ALL) ALL",
              b"SEARCH RETURN (ALL PARTIAL -1:-2) ALL",
              b"SEARCH RETURN (PARTIAL -1:-2 PARTIAL 1:2) ALL",
              b"SEARCH RETURN (PARTIAL) ALL",
              b"UID FETCH 1:* (FLAGS) (PARTIAL 1:2 PARTIAL 1:2)",
              b"UID FETCH 1:* (FLAGS) (PARTIAL)",
              # the modifier is UID FETCH's (RFC 9394 3.3)
              b"FETCH 1:* (FLAGS) (PARTIAL 1:2)"):
        bad(r.cmd(b"b", q))
    # the session is fine afterwards
    out = ok(r.cmd(b"a", b"SEARCH RETURN (PARTIAL -4294967295:-1) ALL"))
    assert esearch(out, b"a") == [
        b'* ESEARCH (TAG "a") PARTIAL (-4294967295:-1 1:3)'], out
    r.close()


def test_partial_save(server):
    """RFC 9394 3.2: "$" keeps what PARTIAL returned (with MIN and MAX
    when asked), or everything found when COUNT is asked"""
    r = login(server)
    uids = fill(r, b"ps", 6)

    def saved():
        out = ok(r.cmd(b"u", b"UID SEARCH RETURN (ALL) UID $"))
        ln = esearch(out, b"u")
        return ln[0].split(b" ALL ")[1] if ln and b" ALL " in ln[0] else b""

    def uidset(*idx):
        return b",".join(b"%d" % uids[i] for i in idx)

    out = ok(r.cmd(b"a", b"SEARCH RETURN (SAVE PARTIAL -1:-2) ALL"))
    assert esearch(out, b"a") == [b'* ESEARCH (TAG "a") PARTIAL (-1:-2 5:6)']
    assert saved() == b"%d:%d" % (uids[4], uids[5])
    ok(r.cmd(b"b", b"SEARCH RETURN (SAVE PARTIAL 3:4 MIN) ALL"))
    assert saved() == uidset(0) + b"," + b"%d:%d" % (uids[2], uids[3])
    ok(r.cmd(b"c", b"SEARCH RETURN (SAVE PARTIAL 2:3 MAX) ALL"))
    assert saved() == b"%d:%d,%d" % (uids[1], uids[2], uids[5])
    ok(r.cmd(b"d", b"SEARCH RETURN (SAVE PARTIAL -3:-3 COUNT) ALL"))
    assert saved() == b"%d:%d" % (uids[0], uids[5])
    ok(r.cmd(b"e", b"SEARCH RETURN (SAVE PARTIAL -7:-9) ALL"))
    assert saved() == b""
    r.close()


def test_uid_fetch_partial(server):
    r = login(server)
    uids = fill(r, b"pf", 8)
    out = ok(r.cmd(b"a", b"UID FETCH 1:* (FLAGS) (PARTIAL -1:-3)"))
    assert fetched_uids(out) == uids[5:8], out
    # no CONDSTORE without CHANGEDSINCE
    assert not any(b"MODSEQ" in ln for ln in out), out
    out = ok(r.cmd(b"b", b"UID FETCH 1:* (UID) (PARTIAL 2:1)"))
    assert fetched_uids(out) == uids[0:2], out
    # positions in the set asked, not in the mailbox
    out = ok(r.cmd(b"c", b"UID FETCH %d:%d (UID) (PARTIAL -1:-2)" %
                   (uids[2], uids[5])))
    assert fetched_uids(out) == uids[4:6], out
    out = ok(r.cmd(b"d", b"UID FETCH 1:* (UID) (PARTIAL 20:30)"))
    assert fetched_uids(out) == [], out
    out = ok(r.cmd(b"e", b"UID FETCH 1:* (UID) (PARTIAL -8:-100)"))
    assert fetched_uids(out) == uids[0:1], out
    # with CHANGEDSINCE, of the messages changed since (RFC 9394 3.4),
    # the modifiers in either order
    out = ok(r.cmd(b"f", b"UID FETCH 1:* (MODSEQ)"))
    top = max(int(x) for x in re.findall(rb"MODSEQ \((\d+)\)",
                                         b"\n".join(out)))
    ok(r.cmd(b"g", b"UID STORE %d,%d,%d +FLAGS.SILENT (x)" %
             (uids[1], uids[3], uids[6])))
    out = ok(r.cmd(b"h", b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d "
                         b"PARTIAL -1:-2)" % top))
    assert fetched_uids(out) == [uids[3], uids[6]], out
    assert all(b"MODSEQ" in ln for ln in out
               if re.match(rb"\* \d+ FETCH ", ln)), out
    out = ok(r.cmd(b"i", b"UID FETCH 1:* (FLAGS) (PARTIAL 1:1 "
                         b"CHANGEDSINCE %d)" % top))
    assert fetched_uids(out) == [uids[1]], out
    r.close()

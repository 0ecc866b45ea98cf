"""CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 4): PARTIAL pages of a
SEARCH or SORT result, RETURN (UPDATE) contexts kept current while other
sessions append, flag and expunge (ADDTO / REMOVEFROM, with sort
positions for SORT, REMOVEFROM before the EXPUNGE), during IDLE too,
CANCELUPDATE, tag reuse, the per-session limit and the keys refused a
context ([NOUPDATE]), contexts ending with the selected mailbox.  Raw
sockets: the exact responses are what is checked."""
from raw import bad, esearch, login, ok
from raw import append as raw_append


def append(r, box, subject, flags=b""):
    msg = b"From: a@example.com\r\nSubject: " + subject + \
        b"\r\n\r\nbody\r\n"
    out = ok(raw_append(r, box, msg, flags))
    # [APPENDUID v uid]
    return int(out[-1].split(b"APPENDUID ")[1].split(b"]")[0].split()[1])


def mailbox(server, name, subjects, flagged=()):
    """a new mailbox with one message per subject (those at the indexes
    in flagged \\Flagged); its UIDs"""
    w = login(server)
    ok(w.cmd(b"c", b"CREATE " + name))
    uids = [append(w, name, s, b"\\Flagged" if i in flagged else b"")
            for i, s in enumerate(subjects)]
    w.close()
    return uids


def test_partial_pages(server):
    mailbox(server, b"ctxp", [b"m%d" % i for i in range(1, 11)],
            flagged=(1, 2, 5))
    r = login(server)
    caps = ok(r.cmd(b"c", b"CAPABILITY"))[0].split()
    assert b"CONTEXT=SEARCH" in caps and b"CONTEXT=SORT" in caps
    ok(r.cmd(b"s", b"SELECT ctxp"))
    out = ok(r.cmd(b"p1", b"SEARCH RETURN (PARTIAL 1:3) ALL"))
    assert esearch(out, b"p1") == [b'* ESEARCH (TAG "p1") PARTIAL (1:3 1:3)']
    # the range as written, the results of positions 2..4
    out = ok(r.cmd(b"p2", b"SEARCH RETURN (PARTIAL 4:2 COUNT) ALL"))
    assert esearch(out, b"p2") == [
        b'* ESEARCH (TAG "p2") COUNT 10 PARTIAL (4:2 2:4)'], out
    # past the end: what there is, or NIL
    out = ok(r.cmd(b"p3", b"SEARCH RETURN (PARTIAL 9:12) ALL"))
    assert esearch(out, b"p3") == [b'* ESEARCH (TAG "p3") PARTIAL (9:12 9:10)']
    out = ok(r.cmd(b"p4", b"UID SEARCH RETURN (PARTIAL 20:30) ALL"))
    assert esearch(out, b"p4") == [
        b'* ESEARCH (TAG "p4") UID PARTIAL (20:30 NIL)'], out
    # positions are in the result, not in the mailbox
    out = ok(r.cmd(b"p5", b"SEARCH RETURN (PARTIAL 2:3) FLAGGED"))
    assert esearch(out, b"p5") == [b'* ESEARCH (TAG "p5") PARTIAL (2:3 3,6)']
    # SORT: positions in sort order (m1 m10 m2 ... m9 reversed)
    out = ok(r.cmd(b"p6", b"SORT RETURN (PARTIAL 1:3) (REVERSE SUBJECT) "
                          b"UTF-8 ALL"))
    assert esearch(out, b"p6") == [
        b'* ESEARCH (TAG "p6") PARTIAL (1:3 9,8,7)'], out
    out = ok(r.cmd(b"p7", b"SORT RETURN (PARTIAL 2:2 MIN) (SUBJECT) "
                          b"UTF-8 FLAGGED"))
    assert esearch(out, b"p7") == [
        b'* ESEARCH (TAG "p7") MIN 2 PARTIAL (2:2 3)'], out
    # RFC 5267 4.4: one PARTIAL or one ALL (RFC 9394's negative ranges:
    # test_paged.py)
    for q in (b"SEARCH RETURN (PARTIAL 1:2 ALL) ALL",
              b"SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL",
              b"SEARCH RETURN (PARTIAL 0:3) ALL",
              b"SEARCH RETURN (PARTIAL 1:*) ALL",
              b"SEARCH RETURN (PARTIAL 1:4294967296) ALL",
              b"SEARCH RETURN (PARTIAL) ALL",
              b"SEARCH RETURN (PARTIAL 3) ALL",
              b"SORT RETURN (SAVE) (ARRIVAL) UTF-8 ALL"):
        bad(r.cmd(b"b", q))
    ok(r.cmd(b"e", b"ENABLE IMAP4rev2"))
    out = ok(r.cmd(b"p8", b"SEARCH RETURN (PARTIAL 10:10) ALL"))
    assert esearch(out, b"p8") == [b'* ESEARCH (TAG "p8") PARTIAL (10:10 10)']
    r.close()


def test_update_search(server):
    uids = mailbox(server, b"ctxu", [b"a", b"b", b"c", b"d"], flagged=(1,))
    r = login(server)
    w = login(server)
    ok(r.cmd(b"s", b"SELECT ctxu"))
    ok(w.cmd(b"s", b"SELECT ctxu"))
    out = ok(r.cmd(b"U1", b"UID SEARCH RETURN (UPDATE COUNT) FLAGGED"))
    assert esearch(out, b"U1") == [b'* ESEARCH (TAG "U1") UID COUNT 1']
    out = ok(r.cmd(b"U2", b"SEARCH RETURN (UPDATE CONTEXT) FLAGGED"))
    assert esearch(out, b"U2") == [b'* ESEARCH (TAG "U2") ALL 2']
    # another session flags one, appends a flagged one, unflags one
    ok(w.cmd(b"f", b"STORE 3 +FLAGS (\\Flagged)"))
    new = append(w, b"ctxu", b"e", b"\\Flagged")
    ok(w.cmd(b"f", b"STORE 2 -FLAGS (\\Flagged)"))
    out = ok(r.cmd(b"n", b"NOOP"))
    # after the EXISTS (RFC 5267 4.3.3)
    at = out.index(b"* 5 EXISTS")
    mine = esearch(out, b"U1")
    assert mine == [b'* ESEARCH (TAG "U1") UID REMOVEFROM (0 %d) '
                    b'ADDTO (0 %d,%d)' % (uids[1], uids[2], new)], out
    assert out.index(mine[0]) > at
    assert esearch(out, b"U2") == [
        b'* ESEARCH (TAG "U2") REMOVEFROM (0 2) ADDTO (0 3,5)'], out
    # an expunge: REMOVEFROM by the old number, before the EXPUNGE
    ok(w.cmd(b"f", b"STORE 3 +FLAGS.SILENT (\\Deleted)"))
    ok(w.cmd(b"x", b"EXPUNGE"))
    out = ok(r.cmd(b"n", b"NOOP"))
    rm = esearch(out, b"U2")
    assert rm == [b'* ESEARCH (TAG "U2") REMOVEFROM (0 3)'], out
    assert out.index(rm[0]) < out.index(b"* 3 EXPUNGE"), out
    assert esearch(out, b"U1") == [
        b'* ESEARCH (TAG "U1") UID REMOVEFROM (0 %d)' % uids[2]], out
    # the session's own STORE counts too (its FETCH first)
    out = ok(r.cmd(b"f", b"STORE 1 +FLAGS (\\Flagged)"))
    assert esearch(out, b"U2") == [b'* ESEARCH (TAG "U2") ADDTO (0 1)'], out
    assert esearch(out, b"U1") == [
        b'* ESEARCH (TAG "U1") UID ADDTO (0 %d)' % uids[0]], out
    # a change that moves nothing says nothing
    ok(w.cmd(b"f", b"STORE 1 +FLAGS (\\Seen)"))
    out = ok(r.cmd(b"n", b"NOOP"))
    assert any(b"FETCH" in ln for ln in out), out
    assert not esearch(out, b"U1") and not esearch(out, b"U2"), out
    # a SEARCH reusing a live context's tag is refused
    bad(r.cmd(b"U1", b"SEARCH RETURN (UPDATE) SEEN"))
    # CANCELUPDATE: quoted tags, each a context's, then no more updates
    bad(r.cmd(b"c", b"CANCELUPDATE"))
    bad(r.cmd(b"c", b'CANCELUPDATE "U1" "nosuch"'))
    bad(r.cmd(b"c", b"CANCELUPDATE U1"))
    ok(r.cmd(b"c", b'CANCELUPDATE "U1"'))
    ok(w.cmd(b"f", b"STORE 1 -FLAGS (\\Flagged)"))
    out = ok(r.cmd(b"n", b"NOOP"))
    assert not esearch(out, b"U1"), out
    assert esearch(out, b"U2") == [
        b'* ESEARCH (TAG "U2") REMOVEFROM (0 1)'], out
    # the cancelled tag may be used again; U2 is still live
    bad(r.cmd(b"c", b'CANCELUPDATE "U1"'))
    ok(r.cmd(b"U1", b"SEARCH RETURN (UPDATE) FLAGGED"))
    # contexts end with the selected mailbox
    ok(r.cmd(b"s", b"UNSELECT"))
    ok(r.cmd(b"s", b"SELECT ctxu"))
    bad(r.cmd(b"c", b'CANCELUPDATE "U2"'))
    ok(w.cmd(b"f", b"STORE 1:* +FLAGS (\\Flagged)"))
    out = ok(r.cmd(b"n", b"NOOP"))
    assert not any(ln.startswith(b"* ESEARCH") for ln in out), out
    r.close()
    w.close()


def test_update_sort(server):
    mailbox(server, b"ctxs", [b"b", b"d", b"f"])
    r = login(server)
    w = login(server)
    ok(r.cmd(b"s", b"SELECT ctxs"))
    ok(w.cmd(b"s", b"SELECT ctxs"))
    out = ok(r.cmd(b"S1", b"SORT RETURN (UPDATE) (REVERSE SUBJECT) UTF-8 "
                          b"UNSEEN"))
    assert esearch(out, b"S1") == [b'* ESEARCH (TAG "S1") ALL 3,2,1'], out
    out = ok(r.cmd(b"S2", b"UID SORT RETURN (UPDATE COUNT) (SUBJECT) "
                          b"UTF-8 UNSEEN"))
    assert esearch(out, b"S2") == [b'* ESEARCH (TAG "S2") UID COUNT 3'], out
    # c and e arrive unseen, a seen; d is read
    for subj, fl in ((b"c", b""), (b"e", b""), (b"a", b"\\Seen")):
        append(w, b"ctxs", subj, fl)
    ok(w.cmd(b"f", b"STORE 2 +FLAGS (\\Seen)"))
    out = ok(r.cmd(b"n", b"NOOP"))
    # S1 (f d b) loses d at 2: (f b); e and c join at 2 and 3: f e c b
    assert esearch(out, b"S1") == [
        b'* ESEARCH (TAG "S1") REMOVEFROM (2 2) ADDTO (2 5,4)'], out
    # S2 (b d f) by UID: d out at 2; c and e join at 2 and 3: b c e f
    assert esearch(out, b"S2") == [
        b'* ESEARCH (TAG "S2") UID REMOVEFROM (2 2) ADDTO (2 4:5)'], out
    # an expunge: the position before removal, before the EXPUNGE
    ok(w.cmd(b"f", b"STORE 1 +FLAGS.SILENT (\\Deleted)"))
    ok(w.cmd(b"x", b"EXPUNGE"))
    out = ok(r.cmd(b"n", b"NOOP"))
    rm = esearch(out, b"S1")
    assert rm == [b'* ESEARCH (TAG "S1") REMOVEFROM (4 1)'], out
    assert out.index(rm[0]) < out.index(b"* 1 EXPUNGE"), out
    assert esearch(out, b"S2") == [
        b'* ESEARCH (TAG "S2") UID REMOVEFROM (1 1)'], out
    r.close()
    w.close()


def test_context_limit_and_refusals(server):
    mailbox(server, b"ctxl", [b"a", b"b"], flagged=(0,))
    r = login(server)
    ok(r.cmd(b"s", b"SELECT ctxl"))
    for i in range(8):
        out = ok(r.cmd(b"T%d" % i, b"UID SEARCH RETURN (UPDATE) FLAGGED"))
        assert not any(b"NOUPDATE" in ln for ln in out), out
    # one more: refused with NOUPDATE, the other options still answered
    out = ok(r.cmd(b"T8", b"UID SEARCH RETURN (UPDATE COUNT) FLAGGED"))
    assert out[0] == b'* ESEARCH (TAG "T8") UID COUNT 1', out
    assert out[1].startswith(b'* NO [NOUPDATE "T8"]'), out
    out = ok(r.cmd(b"T9", b"SORT RETURN (UPDATE) (ARRIVAL) UTF-8 ALL"))
    assert out[1].startswith(b'* NO [NOUPDATE "T9"]'), out
    ok(r.cmd(b"c", b'CANCELUPDATE "T0" "T1"'))
    # keys whose result moves without the messages: refused
    for i, keys in enumerate((b"1:2", b"UID 1:*", b"RECENT",
                              b"OR SEEN NOT NEW", b"YOUNGER 60")):
        tag = b"V%d" % i
        out = ok(r.cmd(tag, b"SEARCH RETURN (UPDATE) " + keys))
        assert out[-2].startswith(b'* NO [NOUPDATE "' + tag + b'"]'), out
    # the refused ones hold no slot: the two freed ones are there
    for tag in (b"W1", b"W2"):
        out = ok(r.cmd(tag, b"SEARCH RETURN (UPDATE) UID 1:2 FLAGGED"))
        assert not any(b"NOUPDATE" in ln for ln in out), out
    out = ok(r.cmd(b"W3", b"SEARCH RETURN (UPDATE) FLAGGED"))
    assert any(ln.startswith(b'* NO [NOUPDATE "W3"]') for ln in out), out
    # CLOSE ends them all: eight again
    ok(r.cmd(b"c", b"CLOSE"))
    ok(r.cmd(b"s", b"SELECT ctxl"))
    for i in range(8):
        out = ok(r.cmd(b"X%d" % i, b"SEARCH RETURN (UPDATE) FLAGGED"))
        assert not any(b"NOUPDATE" in ln for ln in out), out
    r.close()


def test_idle_gets_addto(server):
    mailbox(server, b"ctxi", [b"a"])
    r = login(server)
    w = login(server)
    ok(r.cmd(b"s", b"SELECT ctxi"))
    out = ok(r.cmd(b"I1", b"UID SEARCH RETURN (UPDATE) UNSEEN SUBJECT "
                          b"hello"))
    assert esearch(out, b"I1") == [b'* ESEARCH (TAG "I1") UID'], out
    r.send(b"i IDLE\r\n")
    assert r.line().startswith(b"+ "), "no continuation"
    uid = append(w, b"ctxi", b"hello world")
    append(w, b"ctxi", b"unrelated")
    # the worker that keeps the context tells it while idling
    seen = []
    while True:
        ln = r.line()
        seen.append(ln)
        if ln.startswith(b"* ESEARCH"):
            break
    assert ln == b'* ESEARCH (TAG "I1") UID ADDTO (0 %d)' % uid, seen
    assert b"* 2 EXISTS" in seen or b"* 3 EXISTS" in seen, seen
    ok(w.cmd(b"s", b"SELECT ctxi"))
    ok(w.cmd(b"f", b"UID STORE %d +FLAGS (\\Seen)" % uid))
    while True:
        ln = r.line()
        if ln.startswith(b"* ESEARCH"):
            break
    assert ln == b'* ESEARCH (TAG "I1") UID REMOVEFROM (0 %d)' % uid
    r.send(b"DONE\r\n")
    ok(r.until_tag(b"i"))
    r.close()
    w.close()

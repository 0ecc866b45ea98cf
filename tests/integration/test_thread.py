"""THREAD=REFERENCES (RFC 5256 3): References and In-Reply-To chains,
dummies for messages only referred to (pruned, or kept at the top to hold
two threads), a duplicate Message-ID threaded on its own, loops never
made, root threads grouped by base subject (a reply joins the thread of
the original), siblings in sent-date order; and ESORT (RFC 5267 SORT
RETURN).  Raw sockets: the exact responses are what is checked."""
import raw
from raw import login, ok


def append(r, box, msg):
    return ok(raw.append(r, box, msg))


def mail(day, subject, msgid=None, refs=None, irt=None):
    date = b"%d Jan 2024" % day if day else b"31 Dec 2023"
    h = b"From: a@example.com\r\nDate: " + date + \
        b" 10:00:00 +0000\r\nSubject: " + subject + b"\r\n"
    if msgid:
        h += b"Message-ID: <" + msgid + b">\r\n"
    if refs:
        h += b"References: " + refs + b"\r\n"
    if irt:
        h += b"In-Reply-To: " + irt + b"\r\n"
    return h + b"\r\nbody\r\n"


def test_thread_references(server):
    r = login(server)
    ok(r.cmd(b"c", b"CREATE thr"))
    for m in (
            mail(1, b"Topic", b"a@x"),
            mail(2, b"Re: Topic", b"b@x", b"<a@x>"),
            mail(3, b"Re: Topic", b"c@x", b"<a@x>\r\n <b@x>"),
            mail(4, b"Re: Topic", b"d@x", None, b"<a@x> (sent by d)"),
            mail(5, b"Other", b"e@x", b"<missing@x>"),
            mail(6, b"Re: Other", b"f@x", b"<missing@x>"),
            # no references: joins "Topic" by its base subject
            mail(7, b"Re: Topic", b"g@x"),
            # a Message-ID already taken: a thread of its own
            mail(8, b"Dup", b"a@x"),
            # each names the other as its parent: no loop
            mail(9, b"Loop", b"i@x", b"<j@x>"),
            mail(10, b"Re: Loop", b"j@x", b"<i@x>"),
            # an older reply sorts first among its siblings
            mail(0, b"[list] Re: Topic", b"k@x", b"<a@x>")):
        append(r, b"thr", m)
    ok(r.cmd(b"s", b"SELECT thr"))
    caps = ok(r.cmd(b"c", b"CAPABILITY"))[0].split()
    assert b"THREAD=REFERENCES" in caps and b"THREAD=ORDEREDSUBJECT" in caps
    out = ok(r.cmd(b"t", b"THREAD REFERENCES UTF-8 ALL"))
    assert out[0] == b"* THREAD (1 (11)(2 3)(4)(7))((5)(6))(8)(10 9)", out
    # the search applies first; UID THREAD answers UIDs
    ok(r.cmd(b"e", b"STORE 2 +FLAGS.SILENT (\\Deleted)"))
    ok(r.cmd(b"e", b"EXPUNGE"))
    out = ok(r.cmd(b"t", b"UID THREAD REFERENCES UTF-8 UNDELETED"))
    assert out[0] == b"* THREAD (1 (11)(3)(4)(7))((5)(6))(8)(10 9)", out
    out = ok(r.cmd(b"t", b"THREAD REFERENCES UTF-8 SUBJECT Other"))
    assert out[0] == b"* THREAD ((4)(5))", out
    out = ok(r.cmd(b"t", b"THREAD REFERENCES UTF-8 SUBJECT nothing"))
    assert out[0] == b"* THREAD", out
    out = r.cmd(b"t", b"THREAD REFERENCES UTF-8")
    assert out[-1].startswith(b"t BAD"), out
    r.close()


def test_thread_subject_groups_two_originals(server):
    """two non-replies with one base subject and no references: a dummy
    holds both (RFC 5256 3 step 5.B.iii)"""
    r = login(server)
    ok(r.cmd(b"c", b"CREATE thr2"))
    append(r, b"thr2", mail(3, b"Same", b"s1@x"))
    append(r, b"thr2", mail(1, b"Same", b"s2@x"))
    append(r, b"thr2", mail(2, b"Fwd: Same", b"s3@x"))
    ok(r.cmd(b"s", b"SELECT thr2"))
    out = ok(r.cmd(b"t", b"THREAD REFERENCES US-ASCII ALL"))
    assert out[0] == b"* THREAD ((2 3)(1))", out
    r.close()


def test_thread_subject_gathering_keeps_every_message(server):
    """a root dummy whose first child names the subject gathers the
    originals and replies of that subject; every message is answered
    once (gathering reordered the dummy's children, whose first then
    lent it another subject: the dummy was moved under a thread of its
    own subject and five messages dropped out of the answer)"""
    r = login(server)
    ok(r.cmd(b"c", b"CREATE thr3"))
    for m in (
            mail(1, b"Loop"),
            mail(2, b"Re: Loop", None, b"<i@x>"),
            mail(9, b"Re:  <a@x>", None, b"<i@x>"),
            mail(4, b"Loop"),
            mail(5, b"Loop"),
            mail(6, b"Re:  <a@x>")):
        append(r, b"thr3", m)
    ok(r.cmd(b"s", b"SELECT thr3"))
    out = ok(r.cmd(b"t", b"THREAD REFERENCES US-ASCII ALL"))
    assert out[0] == b"* THREAD ((1)(2)(4)(5)(3))(6)", out
    r.close()


def test_esort(server):
    r = login(server)
    ok(r.cmd(b"c", b"CREATE es"))
    for i, subj in enumerate((b"c", b"a", b"b", b"d", b"e")):
        append(r, b"es", mail(i + 1, subj))
    ok(r.cmd(b"s", b"SELECT es"))
    caps = ok(r.cmd(b"c", b"CAPABILITY"))[0].split()
    assert b"ESORT" in caps
    out = ok(r.cmd(b"e", b"SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) "
                         b"UTF-8 ALL"))
    assert out[0] == b'* ESEARCH (TAG "e") MIN 2 MAX 5 COUNT 5 ' \
        b'ALL 2:3,1,4:5', out
    # RETURN () is ALL; UID SORT answers UIDs; the order is the sort's
    ok(r.cmd(b"x", b"STORE 1 +FLAGS.SILENT (\\Deleted)"))
    ok(r.cmd(b"x", b"EXPUNGE"))
    out = ok(r.cmd(b"e", b"UID SORT RETURN () (REVERSE SUBJECT) UTF-8 ALL"))
    assert out[0] == b'* ESEARCH (TAG "e") UID ALL 5,4,3,2', out
    out = ok(r.cmd(b"e", b"SORT RETURN (COUNT MIN) (SUBJECT) UTF-8 "
                         b"SUBJECT zzz"))
    assert out[0] == b'* ESEARCH (TAG "e") COUNT 0', out
    out = ok(r.cmd(b"e", b"SORT RETURN (ALL) (SUBJECT) UTF-8 SUBJECT zzz"))
    assert out[0] == b'* ESEARCH (TAG "e")', out
    # plain SORT is unchanged
    out = ok(r.cmd(b"e", b"SORT (SUBJECT) UTF-8 ALL"))
    assert out[0] == b"* SORT 1 2 3 4", out
    for bad in (b"SORT RETURN (FROB) (SUBJECT) UTF-8 ALL",
                b"SORT RETURN (SUBJECT) UTF-8 ALL",
                b"SORT RETURN ALL (SUBJECT) UTF-8 ALL"):
        out = r.cmd(b"b", bad)
        assert out[-1].startswith(b"b BAD"), (bad, out)
    r.close()

"""RFC 3501 to the letter, where an independent conformance run found
berth wrong: \\Recent in exactly one session, keywords announced in FLAGS,
.SILENT, the ATOM/ASTRING grammar, COPY and MOVE into the selected
mailbox, ENVELOPE addresses, SEARCH on address headers, LSUB parents,
UNCHANGEDSINCE and LIST's INBOX.  Raw sockets: the order and the exact
form of untagged responses is what is checked."""
import re

import pytest

from conftest import wait_for
import raw
from raw import login, ok, status

TODO = pytest.mark.xfail(strict=True, reason="not fixed yet")

MSG = b"From: a@example.com\r\nSubject: conf\r\n\r\nbody\r\n"


def append(r, box, msg=MSG, flags=b""):
    return ok(raw.append(r, box, msg, flags))


def untagged(lines, word):
    """the numbers of '* n WORD' lines"""
    out = []
    for ln in lines:
        m = re.match(rb"\* (\d+) " + word + rb"\b", ln)
        if m:
            out.append(int(m.group(1)))
    return out


def flags_of(lines):
    """msgno -> the FLAGS list of each untagged FETCH"""
    out = {}
    for ln in lines:
        m = re.match(rb"\* (\d+) FETCH .*FLAGS \(([^)]*)\)", ln)
        if m:
            out[int(m.group(1))] = m.group(2).split()
    return out


def test_recent_select_examine_status(server):
    a = login(server)
    ok(a.cmd(b"c", b"CREATE rc1"))
    append(a, b"rc1")
    append(a, b"rc1")
    out = ok(a.cmd(b"s", b"STATUS rc1 (MESSAGES RECENT)"))
    assert b"* STATUS rc1 (MESSAGES 2 RECENT 2)" in out
    # EXAMINE reports them and does not clear them
    out = ok(a.cmd(b"e", b"EXAMINE rc1"))
    assert untagged(out, b"RECENT") == [2], out
    ok(a.cmd(b"u", b"UNSELECT"))
    out = ok(a.cmd(b"s", b"STATUS rc1 (RECENT)"))
    assert b"* STATUS rc1 (RECENT 2)" in out
    # SELECT takes them: \Recent here, and in no other session
    out = ok(a.cmd(b"s", b"SELECT rc1"))
    assert untagged(out, b"RECENT") == [2], out
    f = flags_of(ok(a.cmd(b"f", b"FETCH 1:* FLAGS")))
    assert b"\\Recent" in f[1] and b"\\Recent" in f[2]
    b = login(server)
    out = ok(b.cmd(b"s", b"STATUS rc1 (RECENT)"))
    assert b"* STATUS rc1 (RECENT 0)" in out
    out = ok(b.cmd(b"e", b"EXAMINE rc1"))
    assert untagged(out, b"RECENT") == [0], out
    out = ok(b.cmd(b"s", b"SELECT rc1"))
    assert untagged(out, b"RECENT") == [0], out
    f = flags_of(ok(b.cmd(b"f", b"FETCH 1:* FLAGS")))
    assert b"\\Recent" not in f[1] + f[2]
    # new ones: counted by STATUS until the selecting session looks
    ok(b.cmd(b"x", b"UNSELECT"))
    append(b, b"rc1")
    append(b, b"rc1")
    out = ok(b.cmd(b"s", b"STATUS rc1 (RECENT)"))
    assert b"* STATUS rc1 (RECENT 2)" in out
    out = ok(a.cmd(b"n", b"NOOP"))
    assert untagged(out, b"EXISTS") == [4], out
    assert untagged(out, b"RECENT") == [4], out
    out = ok(b.cmd(b"s", b"STATUS rc1 (RECENT)"))
    assert b"* STATUS rc1 (RECENT 0)" in out
    a.cmd(b"z", b"LOGOUT")
    b.cmd(b"z", b"LOGOUT")


def test_recent_noop_after_other_append(server):
    a = login(server)
    b = login(server)
    ok(a.cmd(b"c", b"CREATE rc2"))
    append(a, b"rc2")
    out = ok(a.cmd(b"s", b"SELECT rc2"))
    assert untagged(out, b"RECENT") == [1]
    out = ok(b.cmd(b"s", b"SELECT rc2"))
    assert untagged(out, b"RECENT") == [0]
    # the appending session sees it first: it is \Recent there
    out = append(b, b"rc2")
    assert untagged(out, b"EXISTS") == [2], out
    assert untagged(out, b"RECENT") == [1], out
    out = ok(a.cmd(b"n", b"NOOP"))
    assert untagged(out, b"EXISTS") == [2], out
    assert untagged(out, b"RECENT") in ([], [1]), out
    f = flags_of(ok(a.cmd(b"f", b"FETCH 1:* FLAGS")))
    assert b"\\Recent" in f[1] and b"\\Recent" not in f[2]
    f = flags_of(ok(b.cmd(b"f", b"FETCH 1:* FLAGS")))
    assert b"\\Recent" not in f[1] and b"\\Recent" in f[2]
    # a third session appends: the first of the two to look takes it
    c = login(server)
    append(c, b"rc2")
    out = ok(a.cmd(b"n", b"NOOP"))
    assert untagged(out, b"EXISTS") == [3], out
    assert untagged(out, b"RECENT") == [2], out
    out = ok(b.cmd(b"n", b"NOOP"))
    assert untagged(out, b"EXISTS") == [3], out
    assert untagged(out, b"RECENT") in ([], [1]), out
    f = flags_of(ok(b.cmd(b"f", b"FETCH 3 FLAGS")))
    assert b"\\Recent" not in f[3]
    out = ok(c.cmd(b"s", b"STATUS rc2 (RECENT)"))
    assert b"* STATUS rc2 (RECENT 0)" in out
    for r in (a, b, c):
        r.cmd(b"z", b"LOGOUT")


def test_recent_own_append_and_copy(server):
    a = login(server)
    ok(a.cmd(b"c", b"CREATE rc3"))
    ok(a.cmd(b"s", b"SELECT rc3"))
    out = append(a, b"rc3")
    assert untagged(out, b"EXISTS") == [1], out
    assert untagged(out, b"RECENT") == [1], out
    out = ok(a.cmd(b"c", b"COPY 1 rc3"))
    assert untagged(out, b"EXISTS") == [2], out
    assert untagged(out, b"RECENT") == [2], out
    f = flags_of(ok(a.cmd(b"f", b"FETCH 1:* FLAGS")))
    assert b"\\Recent" in f[1] and b"\\Recent" in f[2]
    a.cmd(b"z", b"LOGOUT")


def flags_line(lines):
    for ln in lines:
        if ln.startswith(b"* FLAGS "):
            return ln
    return None


def test_keywords_announced(server):
    a = login(server)
    b = login(server)
    ok(a.cmd(b"c", b"CREATE kw1"))
    append(a, b"kw1", flags=b"$Alpha")
    out = ok(a.cmd(b"s", b"SELECT kw1"))
    assert b"$Alpha" in flags_line(out)
    perm = [ln for ln in out if b"PERMANENTFLAGS" in ln][0]
    assert b"$Alpha" in perm and b"\\*" in perm
    ok(b.cmd(b"s", b"SELECT kw1"))
    # a STORE that brings a new keyword: FLAGS first, then the FETCH
    out = ok(a.cmd(b"t", b"STORE 1 +FLAGS ($Beta)"))
    fl = [i for i, ln in enumerate(out) if ln.startswith(b"* FLAGS ")]
    fe = [i for i, ln in enumerate(out) if b"FETCH" in ln]
    assert fl and fe and fl[0] < fe[0], out
    assert b"$Beta" in out[fl[0]] and b"$Alpha" in out[fl[0]]
    # the other session is told the same way
    out = ok(b.cmd(b"n", b"NOOP"))
    fl = [i for i, ln in enumerate(out) if ln.startswith(b"* FLAGS ")]
    fe = [i for i, ln in enumerate(out) if b"FETCH" in ln]
    assert fl and fe and fl[0] < fe[0], out
    assert b"$Beta" in out[fl[0]]
    # an APPEND with a new keyword into the selected mailbox
    out = append(a, b"kw1", flags=b"$Gamma")
    assert b"$Gamma" in (flags_line(out) or b""), out
    out = ok(a.cmd(b"f", b"FETCH 2 FLAGS"))
    assert flags_line(out) is None
    # known keywords are not announced again
    out = ok(a.cmd(b"t", b"STORE 1 -FLAGS ($Beta)"))
    assert flags_line(out) is None, out
    for r in (a, b):
        r.cmd(b"z", b"LOGOUT")


def test_store_silent_not_echoed(server):
    a = login(server)
    ok(a.cmd(b"c", b"CREATE sil1"))
    append(a, b"sil1")
    ok(a.cmd(b"s", b"SELECT sil1"))
    out = ok(a.cmd(b"t", b"STORE 1 +FLAGS.SILENT (\\Flagged)"))
    assert len(out) == 1, out
    out = ok(a.cmd(b"t", b"UID STORE 1 -FLAGS.SILENT (\\Flagged)"))
    assert len(out) == 1, out
    out = ok(a.cmd(b"t", b"STORE 1 FLAGS.SILENT (\\Seen $K)"))
    assert all(b"FETCH" not in ln for ln in out), out
    # another session's change is still reported
    b = login(server)
    ok(b.cmd(b"s", b"SELECT sil1"))
    ok(b.cmd(b"t", b"STORE 1 +FLAGS.SILENT (\\Answered)"))
    out = ok(a.cmd(b"t", b"STORE 1 +FLAGS.SILENT (\\Draft)"))
    f = flags_of(out)
    assert b"\\Answered" in f[1] and b"\\Draft" in f[1], out
    # under CONDSTORE the new MODSEQ goes out, without FLAGS
    ok(a.cmd(b"e", b"ENABLE CONDSTORE"))
    out = ok(a.cmd(b"t", b"STORE 1 -FLAGS.SILENT (\\Draft)"))
    fetches = [ln for ln in out if b"FETCH" in ln]
    assert len(fetches) == 1 and b"MODSEQ" in fetches[0], out
    assert b"FLAGS" not in fetches[0], out
    for r in (a, b):
        r.cmd(b"z", b"LOGOUT")


def test_atom_grammar(server):
    a = login(server)
    # '[', '}' and "'" are ATOM-CHARs; ']' is an ASTRING-CHAR
    for name in (b"foo[bar}", b"it's", b"a]b", b"x{y"[:1] + b"}"):
        out = a.cmd(b"s", b"SELECT " + name)
        assert status(out) == b"NO", (name, out)
    ok(a.cmd(b"c", b"CREATE g[1]"))
    ok(a.cmd(b"s", b"SELECT g[1]"))
    out = ok(a.cmd(b"l", b'LIST "" g[1]'))
    assert b'* LIST (\\HasNoChildren) "/" g[1]' in out, out
    append(a, b"g[1]", flags=b"$a[b}c")
    out = ok(a.cmd(b"f", b"FETCH 1 FLAGS"))
    assert b"$a[b}c" in flags_of(out)[1], out
    ok(a.cmd(b"t", b"STORE 1 +FLAGS (it's)"))
    out = ok(a.cmd(b"k", b"SEARCH KEYWORD it's"))
    assert b"* SEARCH 1" in out
    # ']' is no ATOM-CHAR: not in a flag, nor where an atom is wanted
    assert status(a.cmd(b"t", b"STORE 1 +FLAGS (a]b)")) == b"BAD"
    # a tag may hold ']' and '[' but not '+'
    out = a.cmd(b"t]1[", b"NOOP")
    assert out[-1].startswith(b"t]1[ OK"), out
    a.cmd(b"z", b"LOGOUT")


def test_copy_move_same_mailbox(server):
    a = login(server)
    ok(a.cmd(b"c", b"CREATE same1"))
    append(a, b"same1")
    out = ok(a.cmd(b"s", b"SELECT same1"))
    uv = re.search(rb"UIDVALIDITY (\d+)", b"\n".join(out)).group(1)
    out = ok(a.cmd(b"c", b"COPY 1 same1"))
    assert b"[COPYUID " + uv + b" 1 2]" in out[-1], out
    assert untagged(out, b"EXISTS") == [2], out
    out = ok(a.cmd(b"m", b"UID MOVE 1 same1"))
    assert any(b"[COPYUID " + uv + b" 1 3]" in ln for ln in out), out
    assert untagged(out, b"EXPUNGE") == [1], out
    assert 2 in untagged(out, b"EXISTS"), out
    out = ok(a.cmd(b"f", b"UID SEARCH ALL"))
    assert b"* SEARCH 2 3" in out, out
    a.cmd(b"z", b"LOGOUT")


ENV = (b"From: ann@example.com (Ann Example)\r\n"
       b"Sender: =?UTF-8?Q?B=C3=A9a?= <bea@example.com>\r\n"
       b"To: undisclosed-recipients:;\r\n"
       b"Cc: Team: carl@example.net, \"Dee D\" <dee@example.net>;, "
       b"eve@example.org\r\n"
       b"Bcc: <fay@example.org> (Fay\r\n F)\r\n"
       b"Subject: env\r\n\r\nbody\r\n")


def test_envelope_addresses(server):
    a = login(server)
    ok(a.cmd(b"c", b"CREATE env1"))
    append(a, b"env1", ENV)
    ok(a.cmd(b"s", b"SELECT env1"))
    out = ok(a.cmd(b"f", b"FETCH 1 ENVELOPE"))
    env = out[0]
    assert b'(("Ann Example" NIL "ann" "example.com"))' in env, env
    assert b'(("=?UTF-8?Q?B=C3=A9a?=" NIL "bea" "example.com"))' in env, env
    assert (b'((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))'
            in env), env
    assert (b'((NIL NIL "Team" NIL)(NIL NIL "carl" "example.net")'
            b'("Dee D" NIL "dee" "example.net")(NIL NIL NIL NIL)'
            b'(NIL NIL "eve" "example.org"))' in env), env
    assert b'(("Fay F" NIL "fay" "example.org"))' in env, env
    a.cmd(b"z", b"LOGOUT")


def test_search_address_display_names(server):
    a = login(server)
    ok(a.cmd(b"c", b"CREATE srch1"))
    append(a, b"srch1", b"From: Ann Example <ann@example.com>\r\n"
           b"To: \"Bob Builder\" <bob@example.org>\r\n"
           b"Cc: carl@example.net (Carl Comment)\r\n"
           b"Bcc: =?UTF-8?Q?D=C3=A9e?= <dee@example.net>\r\n"
           b"Subject: s\r\n\r\nbody\r\n")
    append(a, b"srch1")
    ok(a.cmd(b"s", b"SELECT srch1"))
    for key in (b'FROM "Ann Example"', b"FROM ann@example.com",
                b"FROM \"n Exa\"", b'TO "Bob Builder"', b"TO builder",
                b'CC "Carl Comment"', b"CC carl", b"BCC dee@",
                b"FROM <ann@"):
        out = ok(a.cmd(b"k", b"SEARCH " + key))
        assert b"* SEARCH 1" in out, (key, out)
    a.cmd(b"z", b"LOGOUT")


def test_search_whole_address_value(server):
    """the whole value as a client writes it, "Name <addr>", matches
    whether the name was quoted, folded, a comment or an encoded word"""
    a = login(server)
    ok(a.cmd(b"c", b"CREATE srch3"))
    for frm in (b"Ann\r\n Example <ann@example.com>",
                b"\"Ann  Example\" <ann@example.com>",
                b"ann@example.com (Ann Example)",
                b"=?UTF-8?B?QW5uIEV4YW1wbGU=?= <ann@example.com>",
                b"=?UTF-8?Q?Ann?=\r\n =?UTF-8?Q?_Example?= <ann@example.com>"):
        append(a, b"srch3", b"From: " + frm + b"\r\nSubject: s\r\n\r\nb\r\n")
    append(a, b"srch3", b"From: Ann Other <ann@example.com>\r\n\r\nb\r\n")
    ok(a.cmd(b"s", b"SELECT srch3"))
    out = ok(a.cmd(b"k", b'SEARCH FROM "Ann Example <ann@example.com>"'))
    assert b"* SEARCH 1 2 3 4 5" in out, out
    out = ok(a.cmd(b"k", b'SEARCH TEXT "Ann Example"'))
    assert b"* SEARCH 1 2 3 4 5" in out, out
    a.cmd(b"z", b"LOGOUT")


def test_search_bcc_encoded_word(server):
    a = login(server)
    ok(a.cmd(b"c", b"CREATE srch2"))
    append(a, b"srch2", b"From: =?UTF-8?Q?D=C3=A9e?= <dee@example.net>\r\n"
           b"Subject: s\r\n\r\nbody\r\n")
    ok(a.cmd(b"s", b"SELECT srch2"))
    word = "Dée".encode()
    a.send(b"k SEARCH CHARSET UTF-8 FROM {%d+}\r\n" % len(word) + word +
           b"\r\n")
    out = ok(a.until_tag(b"k"))
    assert b"* SEARCH 1" in out, out
    a.cmd(b"z", b"LOGOUT")


def test_lsub_noselect_parent(server):
    a = login(server)
    ok(a.cmd(b"c", b"CREATE ls/bar/baz"))
    ok(a.cmd(b"s", b"SUBSCRIBE ls/bar/baz"))
    out = ok(a.cmd(b"l", b'LSUB "" ls/%'))
    assert b'* LSUB (\\Noselect) "/" ls/bar' in out, out
    out = ok(a.cmd(b"l", b'LSUB "" ls/%/%'))
    assert b'* LSUB () "/" ls/bar/baz' in out, out
    ok(a.cmd(b"s", b"SUBSCRIBE ls/bar"))
    out = ok(a.cmd(b"l", b'LSUB "" ls/%'))
    assert b'* LSUB () "/" ls/bar' in out, out
    a.cmd(b"z", b"LOGOUT")


def test_unchangedsince(server):
    a = login(server)
    ok(a.cmd(b"c", b"CREATE unc1"))
    append(a, b"unc1")
    ok(a.cmd(b"s", b"SELECT unc1"))
    for bad in (b"x", b"-1", b"1x", b"", b"9223372036854775808"):
        out = a.cmd(b"t", b"STORE 1 (UNCHANGEDSINCE " + bad +
                    b") +FLAGS (\\Seen)")
        assert status(out) == b"BAD", (bad, out)
    # 0 always fails (RFC 7162 3.1.3)
    out = ok(a.cmd(b"t", b"STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)"))
    assert b"[MODIFIED 1]" in out[-1], out
    assert all(b"FETCH" not in ln for ln in out), out
    out = ok(a.cmd(b"f", b"FETCH 1 FLAGS"))
    assert b"\\Seen" not in flags_of(out)[1]
    out = ok(a.cmd(b"t", b"UID STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)"))
    assert b"[MODIFIED 1]" in out[-1], out
    a.cmd(b"z", b"LOGOUT")


def test_list_inbox_any_case(server):
    a = login(server)
    for pat in (b'"inbox*"', b'"InBox"', b'"i%"', b'"*"', b'"%"'):
        out = ok(a.cmd(b"l", b'LIST "" ' + pat))
        assert any(ln.startswith(b"* LIST") and ln.endswith(b" INBOX")
                   for ln in out), (pat, out)
    a.cmd(b"z", b"LOGOUT")


def select_info(out):
    text = b"\n".join(out)
    return (re.search(rb"UIDVALIDITY (\d+)", text).group(1),
            re.search(rb"HIGHESTMODSEQ (\d+)", text).group(1))


def test_qresync(server):
    a = login(server)
    ok(a.cmd(b"c", b"CREATE qr1"))
    for _ in range(5):
        append(a, b"qr1")
    uv, hms = select_info(ok(a.cmd(b"s", b"SELECT qr1")))
    ok(a.cmd(b"t", b"UID STORE 2 +FLAGS (\\Seen)"))
    ok(a.cmd(b"t", b"UID STORE 3 +FLAGS (\\Deleted)"))
    ok(a.cmd(b"x", b"EXPUNGE"))
    b = login(server)
    # QRESYNC must be enabled first
    out = b.cmd(b"s", b"SELECT qr1 (QRESYNC (" + uv + b" " + hms + b"))")
    assert status(out) == b"BAD", out
    out = ok(b.cmd(b"e", b"ENABLE QRESYNC"))
    assert b"* ENABLED QRESYNC" in out, out
    assert b"QRESYNC" in ok(b.cmd(b"c", b"CAPABILITY"))[0]
    out = ok(b.cmd(b"s", b"SELECT qr1 (QRESYNC (" + uv + b" " + hms +
                   b"))"))
    van = [ln for ln in out if ln.startswith(b"* VANISHED")]
    assert van == [b"* VANISHED (EARLIER) 3"], out
    fetches = [ln for ln in out if b"FETCH" in ln]
    assert len(fetches) == 1 and b"UID 2 " in fetches[0], out
    assert b"\\Seen" in fetches[0] and b"MODSEQ (" in fetches[0], out
    assert out.index(van[0]) < out.index(fetches[0])
    # known-uids limit what is reported gone; another UIDVALIDITY: none
    out = ok(b.cmd(b"s", b"EXAMINE qr1 (QRESYNC (" + uv + b" " + hms +
                   b" 1:2,4))"))
    assert not [ln for ln in out if ln.startswith(b"* VANISHED")], out
    out = ok(b.cmd(b"s", b"SELECT qr1 (QRESYNC (1 " + hms + b"))"))
    assert not [ln for ln in out if b"VANISHED" in ln or b"FETCH" in ln]
    # UID FETCH (CHANGEDSINCE m VANISHED)
    out = ok(b.cmd(b"f", b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + hms +
                   b" VANISHED)"))
    assert out[0] == b"* VANISHED (EARLIER) 3", out
    assert len([ln for ln in out if b"FETCH (" in ln]) == 1, out
    assert status(b.cmd(b"f", b"FETCH 1:* (FLAGS) (CHANGEDSINCE " + hms +
                        b" VANISHED)")) == b"BAD"
    # expunges are VANISHED once QRESYNC is on, ours and others'
    ok(a.cmd(b"t", b"UID STORE 4 +FLAGS (\\Deleted)"))
    ok(a.cmd(b"x", b"EXPUNGE"))
    out = ok(b.cmd(b"n", b"NOOP"))
    assert b"* VANISHED 4" in out and not untagged(out, b"EXPUNGE"), out
    ok(b.cmd(b"t", b"UID STORE 1:2 +FLAGS.SILENT (\\Deleted)"))
    out = ok(b.cmd(b"x", b"EXPUNGE"))
    assert b"* VANISHED 1:2" in out and not untagged(out, b"EXPUNGE"), out
    out = ok(b.cmd(b"m", b"UID MOVE 5 qr1"))
    assert b"* VANISHED 5" in out, out
    out = ok(b.cmd(b"f", b"UID SEARCH ALL"))
    assert b"* SEARCH 6" in out, out
    for r in (a, b):
        r.cmd(b"z", b"LOGOUT")


def test_qresync_parked_session(fresh):
    """a session parked in idled comes back with QRESYNC on: VANISHED"""
    s = fresh(extra_conf="wait_park_delay: 200ms\n").start()
    a = login(s)
    ok(a.cmd(b"c", b"CREATE qp"))
    append(a, b"qp")
    append(a, b"qp")
    b = login(s)
    ok(b.cmd(b"e", b"ENABLE QRESYNC"))
    ok(b.cmd(b"s", b"SELECT qp"))
    n = s.logtext().count("park user=alice")
    assert wait_for(lambda: s.logtext().count("park user=alice") > n)
    ok(a.cmd(b"s", b"SELECT qp"))
    ok(a.cmd(b"t", b"STORE 1 +FLAGS.SILENT (\\Deleted)"))
    ok(a.cmd(b"x", b"EXPUNGE"))
    out = ok(b.cmd(b"n", b"NOOP"))
    assert b"* VANISHED 1" in out and not untagged(out, b"EXPUNGE"), out
    for r in (a, b):
        r.cmd(b"z", b"LOGOUT")


def test_esearch(server):
    a = login(server)
    assert b" ESEARCH" in ok(a.cmd(b"c", b"CAPABILITY"))[0]
    ok(a.cmd(b"c", b"CREATE es1"))
    for _ in range(6):
        append(a, b"es1")
    ok(a.cmd(b"s", b"SELECT es1"))
    ok(a.cmd(b"t", b"STORE 2:4,6 +FLAGS (\\Flagged)"))
    out = ok(a.cmd(b"k", b"SEARCH RETURN (MIN MAX COUNT ALL) FLAGGED"))
    assert out[0] == b'* ESEARCH (TAG "k") MIN 2 MAX 6 COUNT 4 ALL 2:4,6', out
    out = ok(a.cmd(b"k", b"UID SEARCH RETURN () FLAGGED"))
    assert out[0] == b'* ESEARCH (TAG "k") UID ALL 2:4,6', out
    out = ok(a.cmd(b"k", b"SEARCH RETURN (COUNT) CHARSET UTF-8 DELETED"))
    assert out[0] == b'* ESEARCH (TAG "k") COUNT 0', out
    out = ok(a.cmd(b"k", b"SEARCH RETURN (MIN) DELETED"))
    assert out[0] == b'* ESEARCH (TAG "k")', out
    assert status(a.cmd(b"k", b"SEARCH RETURN (FOO) ALL")) == b"BAD"
    # MODSEQ: the highest of the messages found (RFC 7162 3.1.5)
    out = ok(a.cmd(b"f", b"FETCH 6 (MODSEQ)"))
    top = re.search(rb"MODSEQ \((\d+)\)", out[0]).group(1)
    out = ok(a.cmd(b"k", b"SEARCH MODSEQ 1"))
    assert out[0] == b"* SEARCH 1 2 3 4 5 6 (MODSEQ " + top + b")", out
    out = ok(a.cmd(b"k", b"SEARCH RETURN (COUNT) MODSEQ 1"))
    assert out[0] == b'* ESEARCH (TAG "k") COUNT 6 MODSEQ ' + top, out
    a.cmd(b"z", b"LOGOUT")


def list_lines(out, word=b"LIST"):
    return [ln for ln in out if ln.startswith(b"* " + word + b" ")]


def test_special_use(server):
    b = login(server, b"bob", b"hunter2")
    caps = ok(b.cmd(b"c", b"CAPABILITY"))[0]
    assert b" SPECIAL-USE" in caps and b" CREATE-SPECIAL-USE" in caps
    # created at the first login
    out = list_lines(ok(b.cmd(b"l", b'LIST "" "*"')))
    for name, attr in ((b"Drafts", b"\\Drafts"), (b"Sent", b"\\Sent"),
                       (b"Trash", b"\\Trash"), (b"Junk", b"\\Junk"),
                       (b"Archive", b"\\Archive")):
        line = [ln for ln in out if ln.endswith(b' "/" ' + name)]
        assert len(line) == 1 and attr in line[0], (name, out)
    out = list_lines(ok(b.cmd(b"l", b'LIST (SPECIAL-USE) "" "*"')))
    assert len(out) == 5 and all(b"INBOX" not in ln for ln in out), out
    # CREATE-SPECIAL-USE; the use follows a rename
    ok(b.cmd(b"c", b'CREATE "Old Mail" (USE (\\Archive))'))
    ok(b.cmd(b"r", b'RENAME "Old Mail" "Older Mail"'))
    out = list_lines(ok(b.cmd(b"l", b'LIST "" "Older Mail"')))
    assert out == [b'* LIST (\\HasNoChildren \\Archive) "/" "Older Mail"']
    out = b.cmd(b"c", b"CREATE flg (USE (\\Flagged))")
    assert status(out) == b"NO" and b"[USEATTR]" in out[-1], out
    assert status(b.cmd(b"c", b"CREATE flg (USE Sent)")) == b"BAD"
    out = list_lines(ok(b.cmd(b"l", b'LIST "" flg')))
    assert out == []
    b.cmd(b"z", b"LOGOUT")


def test_list_extended(server):
    a = login(server)
    assert b" LIST-EXTENDED" in ok(a.cmd(b"c", b"CAPABILITY"))[0]
    ok(a.cmd(b"c", b"CREATE le/a/b"))
    ok(a.cmd(b"c", b"CREATE le/c"))
    ok(a.cmd(b"s", b"SUBSCRIBE le/a/b"))
    ok(a.cmd(b"s", b"SUBSCRIBE le/gone"))
    append(a, b"le/c")
    out = list_lines(ok(a.cmd(b"l", b'LIST (SUBSCRIBED) "" "le/*"')))
    assert out == [b'* LIST (\\HasNoChildren \\Subscribed) "/" le/a/b',
                   b'* LIST (\\NonExistent \\HasNoChildren \\Subscribed) '
                   b'"/" le/gone'], out
    out = list_lines(ok(a.cmd(b"l", b'LIST (SUBSCRIBED RECURSIVEMATCH) '
                               b'"" "le/%"')))
    assert out == [b'* LIST (\\HasChildren) "/" le/a ("CHILDINFO" '
                   b'("SUBSCRIBED"))',
                   b'* LIST (\\NonExistent \\HasNoChildren \\Subscribed) '
                   b'"/" le/gone'], out
    out = list_lines(ok(a.cmd(b"l", b'LIST "" (le/c le/a/b)')))
    assert [ln.rsplit(b" ", 1)[1] for ln in out] == [b"le/a/b", b"le/c"]
    out = ok(a.cmd(b"l", b'LIST "" "le/%" RETURN (SUBSCRIBED CHILDREN '
                         b'SPECIAL-USE STATUS (MESSAGES UIDNEXT))'))
    assert out[:-1] == [b'* LIST (\\HasChildren) "/" le/a',
                        b"* STATUS le/a (MESSAGES 0 UIDNEXT 1)",
                        b'* LIST (\\HasNoChildren) "/" le/c',
                        b"* STATUS le/c (MESSAGES 1 UIDNEXT 2)"], out
    for bad in (b'LIST (RECURSIVEMATCH) "" "*"', b'LIST (FOO) "" "*"',
                b'LIST "" "*" RETURN (FOO)',
                b'LIST "" "*" RETURN (STATUS (FOO))',
                b'LIST "" "*" RETURN (STATUS)'):
        assert status(a.cmd(b"l", bad)) == b"BAD", bad
    # LSUB and the empty pattern as before
    out = ok(a.cmd(b"l", b'LIST "" ""'))
    assert out[0] == b'* LIST (\\Noselect) "/" ""'
    a.cmd(b"z", b"LOGOUT")


def test_objectid_savedate_within_appendlimit(server):
    a = login(server)
    caps = ok(a.cmd(b"c", b"CAPABILITY"))[0]
    for cap in (b" OBJECTID", b" SAVEDATE", b" WITHIN", b" STATUS=SIZE",
                b" APPENDLIMIT=1048576"):
        assert cap in caps, (cap, caps)
    out = ok(a.cmd(b"c", b"CREATE oid1"))
    mid = re.search(rb"\[MAILBOXID \((F[0-9]+)\)\]", out[-1]).group(1)
    ok(a.cmd(b"r", b"RENAME oid1 oid2"))
    out = ok(a.cmd(b"s", b"STATUS oid2 (MAILBOXID SIZE)"))
    assert b"MAILBOXID (" + mid + b")" in out[0], out
    append(a, b"oid2")
    a.send(b'A APPEND oid2 "01-Jan-2001 00:00:00 +0000" {%d+}\r\n' %
           len(MSG) + MSG + b"\r\n")
    ok(a.until_tag(b"A"))
    out = ok(a.cmd(b"s", b"SELECT oid2"))
    assert b"* OK [MAILBOXID (" + mid + b")] Ok" in out, out
    out = ok(a.cmd(b"f", b"FETCH 1:2 (EMAILID THREADID SAVEDATE)"))
    ids = re.findall(rb"EMAILID \((M[0-9a-f]+)\)", b"\n".join(out))
    assert len(ids) == 2 and ids[0] == ids[1], out  # the same bytes
    assert b"THREADID NIL" in out[0] and b'SAVEDATE "' in out[0], out
    ok(a.cmd(b"c", b"COPY 1 INBOX"))
    out = ok(a.cmd(b"k", b"SEARCH EMAILID " + ids[0]))
    assert b"* SEARCH 1 2" in out, out
    # WITHIN: the 2001 message is old, the other young
    out = ok(a.cmd(b"k", b"SEARCH YOUNGER 3600"))
    assert b"* SEARCH 1" in out, out
    out = ok(a.cmd(b"k", b"SEARCH OLDER 3600"))
    assert b"* SEARCH 2" in out, out
    assert status(a.cmd(b"k", b"SEARCH YOUNGER 0")) == b"BAD"
    # SAVEDATE is when it came here, whatever its INTERNALDATE
    out = ok(a.cmd(b"k", b"SEARCH SAVEDSINCE 1-Jan-2020 SAVEDATESUPPORTED"))
    assert b"* SEARCH 1 2" in out, out
    out = ok(a.cmd(b"k", b"SEARCH SAVEDBEFORE 1-Jan-2020"))
    assert out[0] == b"* SEARCH", out
    a.cmd(b"z", b"LOGOUT")


def sort_msg(frm, to, subject, date, body=b"x"):
    return (b"From: " + frm + b"\r\nTo: " + to + b"\r\nSubject: " +
            subject + b"\r\nDate: " + date + b"\r\n\r\n" + body + b"\r\n")


def test_sort(server):
    a = login(server)
    caps = ok(a.cmd(b"c", b"CAPABILITY"))[0]
    assert b" SORT " in caps and b" SORT=DISPLAY" in caps, caps
    ok(a.cmd(b"c", b"CREATE srt"))
    msgs = (
            sort_msg(b"Zed <alpha@example.com>", b"c@example.com",
                     b"Re: [list] Fwd: beta", b"Mon, 2 Feb 2026 10:00:00 +0000",
                     b"xxxxxxxxxx"),
            sort_msg(b"bob@example.com (Anna)", b"\"Bee\" <a@example.com>",
                     b"alpha (fwd)", b"Mon, 2 Feb 2026 09:00:00 -0300"),
            sort_msg(b"=?UTF-8?Q?Carl?= <carl@example.com>",
                     b"b@example.com", b"[fwd: Gamma]",
                     b"Mon, 2 Feb 2026 11:00:00 +0000", b"xxxxx"))
    # one internal date for all: ARRIVAL ties, whatever the clock does
    # between the APPENDs on a loaded machine
    for m in msgs:
        a.send(b'A APPEND srt "02-Feb-2026 12:00:00 +0000" {%d+}\r\n'
               % len(m) + m + b"\r\n")
        ok(a.until_tag(b"A"))
    by_size = sorted(range(3), key=lambda i: (len(msgs[i]), i))
    size_order = b"* SORT " + b" ".join(b"%d" % (i + 1) for i in by_size)
    ok(a.cmd(b"s", b"SELECT srt"))
    def sort(crit, uid=b""):
        out = ok(a.cmd(b"o", uid + b"SORT (" + crit + b") UTF-8 ALL"))
        return out[0]
    assert sort(b"SUBJECT") == b"* SORT 2 1 3"      # alpha beta gamma
    assert sort(b"REVERSE SUBJECT") == b"* SORT 3 1 2"
    assert sort(b"FROM") == b"* SORT 1 2 3"         # alpha bob carl
    assert sort(b"DISPLAYFROM") == b"* SORT 2 3 1"  # Anna Carl Zed
    assert sort(b"TO") == b"* SORT 2 3 1"           # a b c
    assert sort(b"DISPLAYTO") == b"* SORT 3 2 1"    # b@ Bee c@
    assert sort(b"DATE") == b"* SORT 1 3 2"         # 10:00 11:00 12:00Z
    assert sort(b"SIZE") == size_order
    assert sort(b"REVERSE DATE") == b"* SORT 2 3 1"
    assert sort(b"REVERSE ARRIVAL") == b"* SORT 1 2 3"  # ties: by number
    assert sort(b"SUBJECT", b"UID ") == b"* SORT 2 1 3"
    out = ok(a.cmd(b"o", b"SORT (SUBJECT) UTF-8 NOT FROM carl"))
    assert out[0] == b"* SORT 2 1", out
    for bad in (b"SORT (FOO) UTF-8 ALL", b"SORT () UTF-8 ALL",
                b"SORT (REVERSE) UTF-8 ALL", b"SORT SUBJECT UTF-8 ALL",
                b"SORT (SUBJECT) UTF-8 FOO"):
        assert status(a.cmd(b"o", bad)) == b"BAD", bad
    assert status(a.cmd(b"o", b"SORT (SUBJECT) KOI8-R ALL")) == b"NO"
    a.cmd(b"z", b"LOGOUT")


def test_thread_orderedsubject(server):
    a = login(server)
    assert b" THREAD=ORDEREDSUBJECT" in ok(a.cmd(b"c", b"CAPABILITY"))[0]
    ok(a.cmd(b"c", b"CREATE thr"))
    for subj, hour in ((b"b", 5), (b"Re: a", 3), (b"a", 1), (b"c", 2),
                       (b"RE: A", 4), (b"Fwd: b", 6), (b"re: a", 7)):
        append(a, b"thr", sort_msg(b"x@example.com", b"y@example.com", subj,
                                   b"Mon, 2 Feb 2026 %02d:00:00 +0000" % hour))
    ok(a.cmd(b"s", b"SELECT thr"))
    # a: 3 (1h) 2 (3h) 5 (4h) 7 (7h); c: 4 (2h); b: 1 (5h) 6 (6h)
    out = ok(a.cmd(b"t", b"THREAD ORDEREDSUBJECT UTF-8 ALL"))
    assert out[0] == b"* THREAD (3 (2)(5)(7))(4)(1 6)", out
    out = ok(a.cmd(b"t", b"UID THREAD ORDEREDSUBJECT UTF-8 SUBJECT c"))
    assert out[0] == b"* THREAD (4)", out
    out = ok(a.cmd(b"t", b"THREAD ORDEREDSUBJECT UTF-8 SUBJECT zzz"))
    assert out[0] == b"* THREAD", out
    assert status(a.cmd(b"t", b"THREAD FOO UTF-8 ALL")) == b"BAD"
    a.cmd(b"z", b"LOGOUT")


def test_preview(server):
    a = login(server)
    assert b" PREVIEW" in ok(a.cmd(b"c", b"CAPABILITY"))[0]
    ok(a.cmd(b"c", b"CREATE pv"))
    append(a, b"pv", b"Subject: p\r\nContent-Type: text/html\r\n\r\n"
           b"<p>Hello   <b>there</b>,</p>\r\n\r\n<p>second line</p>\r\n")
    append(a, b"pv", b"Subject: q\r\nContent-Type: text/plain\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" +
           b"=C3=A9" * 300 + b"\r\n")
    append(a, b"pv", b"Subject: r\r\nContent-Type: image/png\r\n\r\nxx\r\n")
    ok(a.cmd(b"s", b"SELECT pv"))
    out = ok(a.cmd(b"f", b"FETCH 1 (PREVIEW (LAZY))"))
    assert out[0] == b'* 1 FETCH (PREVIEW "Hello there , second line")', out
    a.send(b"f FETCH 2 PREVIEW\r\n")
    head = a.line()
    m = re.match(rb"\* 2 FETCH \(PREVIEW \{(\d+)\}$", head)
    assert m, head
    assert int(m.group(1)) == 512            # 256 two-byte characters
    ok(a.until_tag(b"f"))
    out = ok(a.cmd(b"f", b"FETCH 3 (PREVIEW)"))
    assert out[0] == b"* 3 FETCH (PREVIEW NIL)", out
    assert status(a.cmd(b"f", b"FETCH 1 (PREVIEW (EAGER))")) == b"BAD"
    a.cmd(b"z", b"LOGOUT")


BIN = (b"Subject: bin\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
       b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
       b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
       b"caf=C3=A9 =\r\nau lait\r\n"
       b"--b\r\nContent-Type: application/octet-stream\r\n"
       b"Content-Transfer-Encoding: base64\r\n\r\n"
       b"AAECAw==\r\n"
       b"--b--\r\n")


def test_binary(server):
    a = login(server)
    assert b" BINARY" in ok(a.cmd(b"c", b"CAPABILITY"))[0]
    ok(a.cmd(b"c", b"CREATE bin"))
    # APPEND takes a literal8
    a.send(b"A APPEND bin ~{%d}\r\n" % len(BIN))
    assert a.line().startswith(b"+")
    a.send(BIN + b"\r\n")
    ok(a.until_tag(b"A"))
    ok(a.cmd(b"s", b"SELECT bin"))
    out = ok(a.cmd(b"f", b"FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2])"))
    assert out[0] == b"* 1 FETCH (BINARY.SIZE[1] 13 BINARY.SIZE[2] 4)", out
    a.send(b"f FETCH 1 (BINARY.PEEK[2] BINARY.PEEK[1]<0.5>)\r\n")
    assert a.line() == b"* 1 FETCH (BINARY[2] ~{4}"
    while len(a.buf) < 4:
        a.buf += a.s.recv(65536)
    assert a.buf[:4] == b"\x00\x01\x02\x03"
    a.buf = a.buf[4:]
    assert a.line() == b" BINARY[1]<0> {5}"
    assert a.line() == "café".encode() + b")"
    ok(a.until_tag(b"f"))
    out = ok(a.cmd(b"f", b"FETCH 1 FLAGS"))
    assert b"\\Seen" not in out[0]
    # BINARY (not PEEK) sets \Seen, as BODY does
    a.send(b"f FETCH 1 BINARY[1]\r\n")
    out = ok(a.until_tag(b"f"))
    assert b"\\Seen" in b"".join(out), out
    assert status(a.cmd(b"f", b"FETCH 1 BINARY[1.TEXT]")) == b"BAD"
    assert status(a.cmd(b"f", b"FETCH 1 BINARY.SIZE[1]<0.1>")) == b"BAD"
    a.cmd(b"z", b"LOGOUT")


def test_multiappend(server):
    a = login(server)
    assert b" MULTIAPPEND" in ok(a.cmd(b"c", b"CAPABILITY"))[0]
    ok(a.cmd(b"c", b"CREATE ma"))
    out = ok(a.cmd(b"s", b"SELECT ma"))
    uv = select_info(out)[0]
    m2 = MSG.replace(b"conf", b"two")
    a.send(b"A APPEND ma (\\Seen) {%d+}\r\n" % len(MSG) + MSG +
           b' (\\Flagged $K) "01-Jan-2020 10:00:00 +0000" {%d+}\r\n' %
           len(m2) + m2 + b" {%d+}\r\n" % len(MSG) + MSG + b"\r\n")
    out = ok(a.until_tag(b"A"))
    assert out[-1].startswith(b"A OK [APPENDUID " + uv + b" 1:3]"), out
    assert untagged(out, b"EXISTS") == [3], out
    out = ok(a.cmd(b"f", b"FETCH 1:3 (FLAGS INTERNALDATE BODY.PEEK[])"))
    text = b"\n".join(out)
    assert text.count(b"\\Seen") == 1 and b"$K" in text, out
    assert b'"01-Jan-2020 10:00:00 +0000"' in text, out
    # all or none: a bad second message, or no such mailbox
    a.send(b"A APPEND ma {%d+}\r\n" % len(MSG) + MSG +
           b' "bad date" {%d+}\r\n' % len(MSG) + MSG + b"\r\n")
    assert status(a.until_tag(b"A")) == b"BAD"
    a.send(b"A APPEND nosuch {%d+}\r\n" % len(MSG) + MSG +
           b" {%d+}\r\n" % len(MSG) + MSG + b"\r\n")
    out = a.until_tag(b"A")
    assert status(out) == b"NO" and b"[TRYCREATE]" in out[-1], out
    out = ok(a.cmd(b"s", b"STATUS ma (MESSAGES)"))
    assert b"(MESSAGES 3)" in out[0], out
    a.cmd(b"z", b"LOGOUT")


def test_searchres(server):
    a = login(server)
    assert b" SEARCHRES" in ok(a.cmd(b"c", b"CAPABILITY"))[0]
    ok(a.cmd(b"c", b"CREATE sr"))
    for _ in range(5):
        append(a, b"sr")
    ok(a.cmd(b"s", b"SELECT sr"))
    ok(a.cmd(b"t", b"STORE 2,4 +FLAGS (\\Flagged)"))
    out = ok(a.cmd(b"k", b"SEARCH RETURN (SAVE) FLAGGED"))
    assert len(out) == 1, out          # SAVE alone: no ESEARCH
    out = ok(a.cmd(b"f", b"FETCH $ (UID)"))
    assert [ln.split()[1] for ln in out[:-1]] == [b"2", b"4"], out
    out = ok(a.cmd(b"k", b"UID SEARCH UID $"))
    assert out[0] == b"* SEARCH 2 4", out
    out = ok(a.cmd(b"k", b"SEARCH NOT $"))
    assert out[0] == b"* SEARCH 1 3 5", out
    # "$" keeps naming the same messages after an expunge
    ok(a.cmd(b"t", b"STORE 1 +FLAGS.SILENT (\\Deleted)"))
    ok(a.cmd(b"x", b"EXPUNGE"))
    out = ok(a.cmd(b"f", b"FETCH $ (UID)"))
    assert [ln.split()[1] for ln in out[:-1]] == [b"1", b"3"], out
    # MIN and MAX alone save only those; SAVE with ALL reports too
    out = ok(a.cmd(b"k", b"SEARCH RETURN (SAVE MIN MAX) ALL"))
    assert out[0] == b'* ESEARCH (TAG "k") MIN 1 MAX 4', out
    out = ok(a.cmd(b"k", b"UID SEARCH $"))
    assert out[0] == b"* SEARCH 2 5", out
    ok(a.cmd(b"c", b"COPY $ INBOX"))
    # a failed SEARCH empties it; reselecting forgets it
    assert status(a.cmd(b"k", b"SEARCH RETURN (SAVE) FOO")) == b"BAD"
    ok(a.cmd(b"k", b"SEARCH RETURN (SAVE) DELETED"))
    out = ok(a.cmd(b"f", b"FETCH $ (UID)"))
    assert len(out) == 1, out
    a.cmd(b"z", b"LOGOUT")


def test_searchres_parked(fresh):
    """a session holding "$" parks like any other; the worker that
    resumes it has the same "$", which still names the same messages
    after an expunge made meanwhile"""
    s = fresh(extra_conf="wait_park_delay: 200ms\n").start()
    a = login(s)
    ok(a.cmd(b"c", b"CREATE srp"))
    for _ in range(5):
        append(a, b"srp")
    b = login(s)
    ok(b.cmd(b"s", b"SELECT srp"))
    ok(b.cmd(b"t", b"STORE 2,4 +FLAGS (\\Flagged)"))
    n = s.logtext().count("park user=alice")
    ok(b.cmd(b"k", b"SEARCH RETURN (SAVE) FLAGGED"))
    assert wait_for(lambda: s.logtext().count("park user=alice") > n)
    ok(a.cmd(b"s", b"SELECT srp"))
    ok(a.cmd(b"t", b"STORE 1 +FLAGS.SILENT (\\Deleted)"))
    ok(a.cmd(b"x", b"EXPUNGE"))
    out = ok(b.cmd(b"f", b"UID FETCH $ (FLAGS)"))
    uids = [re.search(rb"UID (\d+)", ln).group(1) for ln in out
            if re.match(rb"\* \d+ FETCH", ln)]
    assert uids == [b"2", b"4"], out
    out = ok(b.cmd(b"n", b"NOOP"))
    out = ok(b.cmd(b"k", b"SEARCH $"))
    assert out[0] == b"* SEARCH 1 3", out
    for r in (a, b):
        r.cmd(b"z", b"LOGOUT")


CTE = (b"From: a@example.com\r\nSubject: cte\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
       b"--b\r\nContent-Type: text/plain\r\n"
       b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 f\r\n"
       b"--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b--\r\n")


def test_binary_unknown_cte(server):
    """RFC 3516 4.3: BINARY of a part whose encoding the server cannot
    undo fails the command with NO [UNKNOWN-CTE]; BODY of it, and
    BINARY of the other parts, still work"""
    a = login(server)
    ok(a.cmd(b"c", b"CREATE cte"))
    append(a, b"cte", CTE)
    ok(a.cmd(b"s", b"SELECT cte"))
    for item in (b"BINARY.PEEK[1]", b"BINARY.SIZE[1]"):
        out = a.cmd(b"f", b"FETCH 1 (" + item + b")")
        assert out[-1].startswith(b"f NO [UNKNOWN-CTE]"), out
        assert not [x for x in out if b" FETCH " in x and
                    x.startswith(b"* ")], out
    out = ok(a.cmd(b"f", b"FETCH 1 (BINARY.SIZE[2] BODY.PEEK[1])"))
    assert b"BINARY.SIZE[2] 5" in out[0], out
    a.cmd(b"z", b"LOGOUT")

"""STORE over more messages than one store transaction takes
(CMD_STORE_BATCH, 4096): every message changed and reported once, the
UNCHANGEDSINCE refusals of every batch in one MODIFIED list."""
import re

from raw import Raw

N = 4200


def test_store_across_batches(fresh):
    srv = fresh()
    srv.start()
    r = Raw(srv.port, timeout=120)
    assert r.cmd(b"a", b"LOGIN alice secret")[-1].startswith(b"a OK")
    # MULTIAPPEND, LITERAL+, 300 messages a command
    for start in range(0, N, 300):
        r.send(b"b APPEND INBOX")
        for i in range(start, min(N, start + 300)):
            m = f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode()
            r.send(b" {%d+}\r\n" % len(m) + m)
        r.send(b"\r\n")
        assert r.until_tag(b"b")[-1].startswith(b"b OK")
    assert r.cmd(b"c", b"ENABLE CONDSTORE")[-1].startswith(b"c OK")
    out = r.cmd(b"d", b"SELECT INBOX")
    assert b"* %d EXISTS" % N in out
    hms = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"\n".join(out)).group(1))
    # changed after hms: one message in each batch
    for uid in (5, 4150):
        out = r.cmd(b"e", b"UID STORE %d +FLAGS.SILENT (\\Seen)" % uid)
        assert out[-1].startswith(b"e OK"), out
    out = r.cmd(b"f", b"UID STORE 1:* (UNCHANGEDSINCE %d) "
                b"+FLAGS.SILENT (\\Flagged)" % hms)
    assert out[-1].startswith(b"f OK [MODIFIED 5,4150]"), out[-1]
    # each message once: the changed with their MODSEQ, the two kept
    # with the flags they have (the client expected \Flagged)
    fetched = {int(re.search(rb"UID (\d+)", x).group(1)): x
               for x in out if b" FETCH " in x}
    assert len([x for x in out if b" FETCH " in x]) == N
    assert sorted(fetched) == list(range(1, N + 1))
    for uid in (5, 4150):
        assert b"\\Flagged" not in fetched[uid], fetched[uid]
    want = [u for u in range(1, N + 1) if u not in (5, 4150)]
    out = r.cmd(b"g", b"UID SEARCH UNFLAGGED")
    assert out[0] == b"* SEARCH 5 4150", out[0]
    out = r.cmd(b"h", b"UID SEARCH FLAGGED")
    assert [int(x) for x in out[0].split()[2:]] == want
    r.cmd(b"z", b"LOGOUT")
    r.close()

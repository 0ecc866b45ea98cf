"""An IDLE that began while idled could not take it is parked as soon as
idled can (cmd_idle_run tries again), not served by its worker to the
end."""
import os

from conftest import wait_for
from raw import Raw


def test_idle_parks_once_idled_is_back(fresh):
    s = fresh().start()
    sock = os.path.join(s.dir, "conf", "socket", "idled")
    assert os.path.exists(sock)
    r = Raw(s.port)
    assert r.cmd(b"a", b"LOGIN alice secret")[-1].startswith(b"a OK")
    assert r.cmd(b"b", b"SELECT INBOX")[-1].startswith(b"b OK")
    # idled unreachable (as while it restarts): the IDLE stays in its
    # worker, which says so
    os.rename(sock, sock + ".away")
    try:
        r.send(b"c IDLE\r\n")
        assert r.line() == b"+ idling"
        assert s.wait_log("idled unavailable")
    finally:
        os.rename(sock + ".away", sock)
    # idled is back: the worker tries again and the session parks
    assert s.wait_log("park user=alice", "kind=idle"), s.logtext()
    assert wait_for(lambda: s.parked() == 1)
    # and it is the same IDLE: new mail, then DONE
    c = s.connect("alice", "secret")
    c.append("INBOX", None, None, b"Subject: x\r\n\r\nbody\r\n")
    c.logout()
    assert r.line() == b"* 1 EXISTS"
    r.send(b"DONE\r\n")
    assert r.until_tag(b"c")[-1] == b"c OK IDLE terminated"
    assert r.cmd(b"d", b"LOGOUT")[-1].startswith(b"d OK")

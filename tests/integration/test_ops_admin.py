"""Admins log in as any user through SASL authorization.

PLAIN with an authzid (RFC 4616: "authzid NUL authcid NUL password"), as
imapsync and Dovecot master users do: an authcid named in imapd.conf's
admins gets the authzid's session, logged with both names; anyone else
asking for another user's session is refused and the refusal logged with
its reason; a wrong password gets nothing either way.
"""
import imaplib

import pytest


def plain(c, authzid, authcid, password):
    data = f"{authzid}\0{authcid}\0{password}".encode()
    return c.authenticate("PLAIN", lambda _: data)


@pytest.fixture
def srv(fresh):
    s = fresh(extra_conf="admins: root2, admin\n")
    s.add_user("admin", "adminpw")
    s.add_user("bob", "hunter2")
    s.start()
    c = s.connect("bob", "hunter2")
    c.append("INBOX", None, None, b"Subject: for bob\r\n\r\nbob's\r\n")
    c.logout()
    return s


def test_admin_logs_in_as_user(srv):
    c = srv.connect()
    typ, _ = plain(c, "bob", "admin", "adminpw")
    assert typ == "OK"
    typ, data = c.select("INBOX")
    assert data == [b"1"]
    typ, data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"for bob" in data[0][1]
    # what the admin does lands in bob's mailboxes
    c.append("INBOX", None, None, b"Subject: migrated\r\n\r\nx\r\n")
    c.logout()
    c = srv.connect("bob", "hunter2")
    typ, data = c.select("INBOX")
    assert data == [b"2"]
    c.logout()
    assert srv.wait_log("berth/authd[", "login ok user=bob",
                        "authid=admin", "as=admin"), srv.logtext()
    # an admin's own login is an ordinary one
    c = srv.connect()
    typ, _ = plain(c, "admin", "admin", "adminpw")
    assert typ == "OK"
    c.logout()
    assert srv.wait_log("login ok user=admin", "mech=PLAIN")
    assert srv.log_count("login ok user=admin", "as=admin") == 0


def test_only_admins_may(srv):
    srv.add_user("alice", "secret")
    c = srv.connect()
    with pytest.raises(imaplib.IMAP4.error):
        plain(c, "bob", "alice", "secret")
    c.logout()
    assert srv.wait_log("berth/authd[", "login refused", "user=bob",
                        "authid=alice", "reason=\"not an admin"), \
        srv.logtext()
    assert srv.log_count("login ok user=bob", "authid=alice") == 0
    # an admin with a wrong password gets nothing
    c = srv.connect()
    with pytest.raises(imaplib.IMAP4.error):
        plain(c, "bob", "admin", "wrong")
    c.logout()
    assert srv.wait_log("login failed user=admin")
    assert srv.log_count("login ok user=bob", "authid=admin") == 0
    # nor does a name in the list that only starts like an admin's
    srv.add_user("admin2", "pw2")
    c = srv.connect()
    with pytest.raises(imaplib.IMAP4.error):
        plain(c, "bob", "admin2", "pw2")
    c.logout()
    assert srv.wait_log("login refused", "authid=admin2")

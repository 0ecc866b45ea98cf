/*
 * check_snap - unit tests for session snapshots (lib/snap) and change
 * messages (lib/notify): round trips, and refusal of anything short,
 * long, missing or of another version.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "ipc.h"
#include "notify.h"
#include "snap.h"

static struct ipc_msg msg;

/* sample - a snapshot with every field set */
static void
sample(struct snap *sn)
{
	snap_init(sn);
	sn->kind = SNAP_K_IDLE;
	sn->flags = SNAP_F_CONDSTORE | SNAP_F_SELECTED | SNAP_F_NOTIFY;
	strcpy(sn->user, "ann");
	strcpy(sn->addr, "192.0.2.7");
	sn->port = 50123;
	strcpy(sn->tag, "A0042");
	strcpy(sn->mech, "PLAIN");
	sn->conn_id = 0x123456789abcULL;
	sn->failed_logins = 2;
	sn->idle_since_ms = 987654321;
	strcpy(sn->mailbox, "INBOX/Lists");
	sn->mboxid = 17;
	sn->uidvalidity = 1700000000;
	sn->maxuid = 99;
	sn->exists = 42;
	sn->recent_lo = 90;
	sn->recent_hi = 99;
	sn->modseq = 1234;
	ck_assert_int_eq(snap_watch_add(sn, 17,
			     NOTIFY_EV_MESSAGE | SNAP_W_SELECTED, 1234),
	    0);
	ck_assert_int_eq(snap_watch_add(sn, 18, NOTIFY_EV_NEW, 55), 0);
	sn->user_events = NOTIFY_EV_MAILBOXNAME;
	buf_puts(&sn->notify_spec, "opaque\0spec");
	sn->wake_ms = 5000;
	buf_puts(&sn->reply, "a1 NO [AUTHENTICATIONFAILED] x\r\n");
	buf_append(&sn->pending, "DONE\r\n\0x", 8);
	sn->pending_contd = 6;
}

START_TEST(test_round_trip)
{
	struct snap a, b;

	sample(&a);
	ipc_msg_init(&msg, 200);
	ck_assert_int_eq(snap_put(&a, &msg), 0);
	ck_assert_int_eq(snap_get(&msg, &b), 0);
	ck_assert_uint_eq(b.kind, a.kind);
	ck_assert_uint_eq(b.flags, a.flags);
	ck_assert_str_eq(b.user, "ann");
	ck_assert_str_eq(b.addr, "192.0.2.7");
	ck_assert_uint_eq(b.port, 50123);
	ck_assert_str_eq(b.tag, "A0042");
	ck_assert(b.conn_id == a.conn_id);
	ck_assert_uint_eq(b.failed_logins, 2);
	ck_assert(b.idle_since_ms == a.idle_since_ms);
	ck_assert_str_eq(b.mailbox, "INBOX/Lists");
	ck_assert_uint_eq(b.mboxid, 17);
	ck_assert_uint_eq(b.uidvalidity, 1700000000);
	ck_assert_uint_eq(b.maxuid, 99);
	ck_assert_uint_eq(b.exists, 42);
	ck_assert_uint_eq(b.recent_lo, 90);
	ck_assert_uint_eq(b.recent_hi, 99);
	ck_assert(b.modseq == 1234);
	ck_assert_uint_eq(b.nwatch, 2);
	ck_assert_uint_eq(b.watch[1].mboxid, 18);
	ck_assert_uint_eq(b.watch[1].events, NOTIFY_EV_NEW);
	ck_assert(b.watch[1].modseq == 55);
	ck_assert_uint_eq(b.user_events, NOTIFY_EV_MAILBOXNAME);
	ck_assert_uint_eq(b.notify_spec.len, a.notify_spec.len);
	ck_assert(b.wake_ms == 5000);
	ck_assert_str_eq(buf_cstr(&b.reply), buf_cstr(&a.reply));
	ck_assert_uint_eq(b.pending.len, 8);
	ck_assert_mem_eq(b.pending.data, "DONE\r\n\0x", 8);
	ck_assert_uint_eq(b.pending_contd, 6);
	snap_free(&a);
	snap_free(&b);
}
END_TEST

START_TEST(test_watch_merge_and_bound)
{
	struct snap sn;
	uint32_t i;

	snap_init(&sn);
	ck_assert_int_eq(snap_watch_add(&sn, 5, NOTIFY_EV_NEW, 10), 0);
	ck_assert_int_eq(snap_watch_add(&sn, 5, NOTIFY_EV_FLAGS, 7), 0);
	ck_assert_uint_eq(sn.nwatch, 1);
	ck_assert_uint_eq(sn.watch[0].events, NOTIFY_EV_NEW | NOTIFY_EV_FLAGS);
	ck_assert(sn.watch[0].modseq == 7); /* the older view wins */
	for (i = 1; i < SNAP_MAX_WATCH; i++)
		ck_assert_int_eq(snap_watch_add(&sn, 100 + i, 1, 1), 0);
	ck_assert_int_eq(snap_watch_add(&sn, 99999, 1, 1), -1);
	snap_free(&sn);
}
END_TEST

/* a snapshot message with field tag (1..25) dropped */
static void
build_without(int drop)
{
	struct snap a;
	struct ipc_msg full;
	size_t off;

	sample(&a);
	ipc_msg_init(&full, 200);
	ck_assert_int_eq(snap_put(&a, &full), 0);
	snap_free(&a);
	ipc_msg_init(&msg, 200);
	for (off = sizeof(struct ipc_hdr); off + 4 <= full.len;) {
		uint16_t tag, len;

		memcpy(&tag, full.data + off, 2);
		memcpy(&len, full.data + off + 2, 2);
		if (tag != drop)
			ipc_put(&msg, tag, full.data + off + 4, len);
		off += 4 + len;
	}
}

START_TEST(test_missing_field)
{
	struct snap b;

	build_without(_i + 1); /* every tag is required */
	ck_assert_int_eq(snap_get(&msg, &b), -1);
	snap_free(&b);
}
END_TEST

/* pending_contd is optional (absent: no continuation was sent) and never
 * past the pending bytes */
START_TEST(test_pending_contd)
{
	struct snap a, b;

	build_without(26);
	ck_assert_int_eq(snap_get(&msg, &b), 0);
	ck_assert_uint_eq(b.pending.len, 8);
	ck_assert_uint_eq(b.pending_contd, 0);
	snap_free(&b);
	sample(&a);
	a.pending_contd = 9;
	ipc_msg_init(&msg, 200);
	ck_assert_int_eq(snap_put(&a, &msg), 0);
	ck_assert_int_eq(snap_get(&msg, &b), 0);
	ck_assert_uint_eq(b.pending_contd, 0);
	snap_free(&a);
	snap_free(&b);
}
END_TEST

START_TEST(test_bad_values)
{
	struct snap a, b;
	char big[SNAP_MAX_PENDING + 10];

	/* another version */
	sample(&a);
	ipc_msg_init(&msg, 200);
	ipc_put_u32(&msg, 12, 1); /* SNAP_VERS first wins */
	ck_assert_int_eq(snap_put(&a, &msg), 0);
	ck_assert_int_eq(snap_get(&msg, &b), -1);
	snap_free(&b);
	/* an unknown kind */
	a.kind = 9;
	ipc_msg_init(&msg, 200);
	ck_assert_int_eq(snap_put(&a, &msg), 0);
	ck_assert_int_eq(snap_get(&msg, &b), -1);
	snap_free(&b);
	/* pending past its bound */
	a.kind = SNAP_K_IDLE;
	buf_free(&a.pending);
	buf_set_max(&a.pending, 0);
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(buf_append(&a.pending, big, sizeof(big)), 0);
	ipc_msg_init(&msg, 200);
	ck_assert_int_eq(snap_put(&a, &msg), 0);
	ck_assert_int_eq(snap_get(&msg, &b), -1);
	snap_free(&b);
	snap_free(&a);
}
END_TEST

/* saved and zdict are optional (absent: empty), opaque, and bounded */
START_TEST(test_optional_opaque)
{
	struct snap a, b;
	char big[SNAP_MAX_SAVED + 1];

	sample(&a);
	ipc_msg_init(&msg, 200);
	ck_assert_int_eq(snap_put(&a, &msg), 0);
	ck_assert_int_eq(snap_get(&msg, &b), 0);
	ck_assert_uint_eq(b.saved.len, 0);
	ck_assert_uint_eq(b.zdict.len, 0);
	snap_free(&b);
	buf_puts(&a.saved, "2,4:9");
	buf_append(&a.zdict, "\x78\0\x01", 3);
	a.flags |= SNAP_F_DEFLATE | SNAP_F_REV2 | SNAP_F_UTF8;
	ipc_msg_init(&msg, 200);
	ck_assert_int_eq(snap_put(&a, &msg), 0);
	ck_assert_int_eq(snap_get(&msg, &b), 0);
	ck_assert_str_eq(buf_cstr(&b.saved), "2,4:9");
	ck_assert_uint_eq(b.zdict.len, 3);
	ck_assert_mem_eq(b.zdict.data, "\x78\0\x01", 3);
	ck_assert_uint_eq(b.flags, a.flags);
	snap_free(&b);
	/* past its bound: refused */
	buf_free(&a.saved);
	buf_set_max(&a.saved, 0);
	memset(big, '1', sizeof(big));
	ck_assert_int_eq(buf_append(&a.saved, big, sizeof(big)), 0);
	ipc_msg_init(&msg, 200);
	ck_assert_int_eq(snap_put(&a, &msg), 0);
	ck_assert_int_eq(snap_get(&msg, &b), -1);
	snap_free(&b);
	snap_free(&a);
}
END_TEST

/* stored blocks: 0x00, LEN and ~LEN little-endian, at most 65535 bytes
 * each */
START_TEST(test_deflate_stored)
{
	struct buf out = BUF_INIT;
	static char big[70000];

	ck_assert_int_eq(snap_deflate_stored(&out, "abc", 3), 0);
	ck_assert_uint_eq(out.len, 8);
	ck_assert_mem_eq(out.data,
	    "\0\x03\0\xfc\xff"
	    "abc",
	    8);
	buf_reset(&out);
	ck_assert_int_eq(snap_deflate_stored(&out, "", 0), 0);
	ck_assert_mem_eq(out.data, "\0\0\0\xff\xff", 5);
	buf_reset(&out);
	memset(big, 'b', sizeof(big));
	ck_assert_int_eq(snap_deflate_stored(&out, big, sizeof(big)), 0);
	ck_assert_uint_eq(out.len, sizeof(big) + 10);
	ck_assert_mem_eq(out.data, "\0\xff\xff\0\0", 5);
	ck_assert_mem_eq(out.data + 5 + 65535, "\0\x71\x11\x8e\xee", 5);
	buf_free(&out);
	/* a full out refuses */
	buf_set_max(&out, 6);
	ck_assert_int_eq(snap_deflate_stored(&out, "abc", 3), -1);
	buf_free(&out);
}
END_TEST

/* a change message with strings s (len bytes after the header) */
static size_t
change(char *out, uint16_t version, const char *s, size_t len)
{
	struct notify_msg m;

	memset(&m, 0, sizeof(m));
	m.version = version;
	m.what = NOTIFY_EV_NEW;
	m.mboxid = 3;
	m.modseq = 9;
	m.prevmodseq = 8;
	memcpy(out, &m, sizeof(m));
	memcpy(out + sizeof(m), s, len);
	return sizeof(m) + len;
}

START_TEST(test_notify_parse)
{
	char b[NOTIFY_MAX_MSG + 64];
	struct notify_change c;
	size_t n;

	n = change(b, NOTIFY_VERSION, "ann\0INBOX\0\0", 11);
	ck_assert_int_eq(notify_parse(b, n, &c), 0);
	ck_assert_str_eq(c.user, "ann");
	ck_assert_str_eq(c.name, "INBOX");
	ck_assert_str_eq(c.oldname, "");
	ck_assert_uint_eq(c.m.mboxid, 3);
	/* wrong version, a string unterminated, one missing, extra bytes,
	 * too short */
	n = change(b, 1, "ann\0INBOX\0\0", 11);
	ck_assert_int_eq(notify_parse(b, n, &c), -1);
	n = change(b, NOTIFY_VERSION, "ann\0INBOX\0x", 11);
	ck_assert_int_eq(notify_parse(b, n, &c), -1);
	n = change(b, NOTIFY_VERSION, "ann\0INBOX\0", 10);
	ck_assert_int_eq(notify_parse(b, n, &c), -1);
	n = change(b, NOTIFY_VERSION, "ann\0INBOX\0\0z", 12);
	ck_assert_int_eq(notify_parse(b, n, &c), -1);
	ck_assert_int_eq(notify_parse(b, 7, &c), -1);
	/* a user name past its bound */
	memset(b + sizeof(struct notify_msg), 'u', NOTIFY_MAX_USER + 1);
	n = change(b, NOTIFY_VERSION, "", 0) + NOTIFY_MAX_USER + 1;
	memcpy(b + n, "\0\0\0", 3);
	ck_assert_int_eq(notify_parse(b, n + 3, &c), -1);
}
END_TEST

CHECK_MAIN("snap", NULL, CHECK_TEST(test_round_trip),
    CHECK_TEST(test_watch_merge_and_bound), CHECK_LOOP(test_missing_field, 25),
    CHECK_TEST(test_pending_contd), CHECK_TEST(test_bad_values),
    CHECK_TEST(test_optional_opaque), CHECK_TEST(test_deflate_stored),
    CHECK_TEST(test_notify_parse))

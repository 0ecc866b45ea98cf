/*
 * check_view - unit tests for imapd's view of the selected mailbox
 * (imapd/view.c) on a real store in a temporary directory: message
 * numbers after expunges and appends, expunges held back, and the view a
 * resumed session rebuilds from its snapshot.  The session's output is
 * collected in s->out by the stand-ins for io.c below.
 */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "check_tmpstore.h"
#include "imapd.h"
#include "search_ctx.h"
#include "snap.h"
#include "view_cache.h"
#include "cfg.h"
#include "err.h"
#include "store.h"

static struct check_tmpstore tmp;
static struct imap_session sess;
static uint32_t mboxid;
static const char msg[] = "From: a@example.com\r\nSubject: v\r\n\r\nbody\r\n";

/* io.c and imapd_session.c, as far as view.c needs them */
void
io_printf(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	char line[512];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ck_assert(n >= 0 && (size_t)n < sizeof(line));
	buf_append(&s->out, line, (size_t)n);
}

void
io_put(struct imap_session *s, const char *p, size_t len)
{
	buf_append(&s->out, p, len);
}

void
imap_flags_put(struct buf *out, uint32_t flags, const char *kw, int recent)
{
	(void)kw;
	buf_printf(out, "(flags=%u recent=%d)", (unsigned)flags, recent);
}

/* search_ctx.c: these views hold no search context (the contexts'
 * updates are test_context's) */
void
search_ctx_expunge(struct imap_session *s)
{
	ck_assert(s->view.ctx == NULL);
}

void
search_ctx_sync(struct imap_session *s)
{
	ck_assert(s->view.ctx == NULL);
}

void
search_ctx_free(struct imap_session *s)
{
	ck_assert(s->view.ctx == NULL);
}

static void
setup(void)
{
	memset(&sess, 0, sizeof(sess));
	(void)snprintf(sess.user, sizeof(sess.user), "u");
	sess.state = IMAP_S_AUTH;
	check_tmpstore_make(&tmp, "check_view", &sess.st);
}

static void
teardown(void)
{
	view_close(&sess);
	buf_free(&sess.out);
	check_tmpstore_remove(&tmp, &sess.st);
}

static void
append(int n)
{
	uint32_t uv, uid;
	const char *err;

	while (n-- > 0)
		ck_assert_int_eq(store_append(sess.st, "u", "INBOX", msg,
				     strlen(msg), NULL, &uv, &uid, &err),
		    0);
}

static void
expunge(uint32_t uid)
{
	const char *err;

	ck_assert_int_eq(store_expunge(sess.st, mboxid, &uid, 1, &err), 0);
}

static void
open_inbox(void)
{
	struct store_mbox mb;
	uint32_t nrecent;
	const char *err;

	ck_assert_int_eq(view_open(&sess, "INBOX", 0, &mb, &nrecent, &err), 0);
	mboxid = mb.id;
	buf_reset(&sess.out);
}

/* out - what the session was told since the last call */
static const char *
out(void)
{
	static char text[4096];

	(void)snprintf(text, sizeof(text), "%s", buf_cstr(&sess.out));
	buf_reset(&sess.out);
	return text;
}

/* uids - the view's UIDs in message number order, "1 2 3" ("-" gone) */
static const char *
uids(void)
{
	static char text[512];
	size_t i, off = 0;

	text[0] = '\0';
	for (i = 0; i < sess.view.n; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    i ? " %u%s" : "%u%s", sess.view.msgs[i].uid,
		    sess.view.msgs[i].gone ? "-" : "");
	return text;
}

START_TEST(test_open_numbers)
{
	append(3);
	open_inbox();
	ck_assert_str_eq(uids(), "1 2 3");
	ck_assert_uint_eq(view_msgno(&sess, 2), 2);
	ck_assert_uint_eq(view_msgno(&sess, 9), 0);
	ck_assert_uint_eq(view_recent(&sess), 3);
	ck_assert_int_eq(sess.state, IMAP_S_SELECTED);
}
END_TEST

START_TEST(test_expunge_then_append)
{
	append(4);
	open_inbox();
	expunge(2);
	expunge(3);
	append(1);
	view_sync(&sess, 1);
	/* highest first: each number is the same before and after */
	ck_assert_str_eq(out(),
	    "* 3 EXPUNGE\r\n* 2 EXPUNGE\r\n"
	    "* 3 EXISTS\r\n* 3 RECENT\r\n");
	ck_assert_str_eq(uids(), "1 4 5");
	ck_assert_uint_eq(view_msgno(&sess, 4), 2);
	ck_assert_uint_eq(view_msgno(&sess, 5), 3);
	view_sync(&sess, 1);
	ck_assert_str_eq(out(), "");
}
END_TEST

START_TEST(test_expunge_held_back)
{
	append(3);
	open_inbox();
	expunge(1);
	append(1);
	/* FETCH, STORE, SEARCH: no EXPUNGE, numbers stay */
	view_sync(&sess, 0);
	ck_assert_str_eq(out(), "* 4 EXISTS\r\n* 4 RECENT\r\n");
	ck_assert_str_eq(uids(), "1- 2 3 4");
	ck_assert_uint_eq(view_msgno(&sess, 4), 4);
	view_sync(&sess, 0);
	ck_assert_str_eq(out(), "");
	view_sync(&sess, 1);
	ck_assert_str_eq(out(), "* 1 EXPUNGE\r\n");
	ck_assert_str_eq(uids(), "2 3 4");
	ck_assert_uint_eq(view_msgno(&sess, 4), 3);
}
END_TEST

/* snap_of - what a parked session's snapshot says of its view */
static void
snap_of(struct snap *sn)
{
	const struct imap_view *v = &sess.view;

	memset(sn, 0, sizeof(*sn));
	(void)snprintf(sn->mailbox, sizeof(sn->mailbox), "%s", v->name);
	sn->mboxid = v->mboxid;
	sn->uidvalidity = v->uidvalidity;
	sn->maxuid = v->n ? v->msgs[v->n - 1].uid : 0;
	sn->exists = (uint32_t)v->n;
	sn->recent_lo = v->recent_lo;
	sn->recent_hi = v->recent_hi;
	sn->modseq = v->modseq;
	sn->flags = SNAP_F_SELECTED;
}

START_TEST(test_rebuild_as_the_client_knew_it)
{
	struct snap sn;
	const char *err;

	append(3);
	open_inbox();
	snap_of(&sn);
	view_close(&sess);
	/* while parked: 2 expunged, 4 and 5 arrive, 5 expunged again */
	expunge(2);
	append(2);
	expunge(5);
	ck_assert_int_eq(view_rebuild(&sess, &sn, &err), 0);
	/* the client's numbers: 2 still there, nothing past 3 */
	ck_assert_str_eq(uids(), "1 2 3");
	ck_assert_uint_eq(view_msgno(&sess, 3), 3);
	ck_assert_int_eq(sess.state, IMAP_S_SELECTED);
	view_sync(&sess, 1);
	/* 1 and 3 were this session's \Recent, and so is 4 */
	ck_assert_str_eq(out(),
	    "* 2 EXPUNGE\r\n* 3 EXISTS\r\n"
	    "* 3 RECENT\r\n");
	ck_assert_str_eq(uids(), "1 3 4");
}
END_TEST

START_TEST(test_rebuild_held_expunge_stays_held)
{
	struct snap sn;
	const char *err;

	append(2);
	open_inbox();
	snap_of(&sn);
	view_close(&sess);
	expunge(1);
	ck_assert_int_eq(view_rebuild(&sess, &sn, &err), 0);
	view_sync(&sess, 0);
	ck_assert_str_eq(out(), "");
	ck_assert_str_eq(uids(), "1- 2");
	view_sync(&sess, 1);
	ck_assert_str_eq(out(), "* 1 EXPUNGE\r\n");
}
END_TEST

START_TEST(test_rebuild_refused)
{
	struct snap sn;
	const char *err = NULL;

	append(1);
	open_inbox();
	snap_of(&sn);
	view_close(&sess);
	sn.uidvalidity++;
	ck_assert_int_ne(view_rebuild(&sess, &sn, &err), 0);
	ck_assert_str_eq(err, "UIDVALIDITY changed");
	ck_assert_uint_eq(sess.view.n, 0);
	sn.uidvalidity--;
	sn.mboxid = 999;
	ck_assert_int_ne(view_rebuild(&sess, &sn, &err), 0);
}
END_TEST

/* hits - entries brought up to date so far (and listings in *misses) */
static unsigned long long
hits(unsigned long long *misses)
{
	unsigned long long h;

	view_cache_stats(&h, misses);
	return h;
}

/* a worker that kept the mailbox's records rebuilds a parked session's
 * view from what changed since (expunges, flags with a keyword, new
 * mail), exactly as from a listing */
START_TEST(test_rebuild_from_kept_records)
{
	struct err cerr;
	struct snap sn;
	unsigned long long miss;
	uint32_t four = 4;
	const char *err;

	ck_assert_int_eq(cfg_set("view_cache_min", "1", &cerr), 0);
	append(5);
	open_inbox();
	ck_assert_uint_eq(hits(&miss), 0);
	ck_assert_uint_eq(miss, 1);
	snap_of(&sn);
	view_close(&sess);
	expunge(2);
	ck_assert_int_eq(store_set_flags(sess.st, mboxid, &four, 1,
			     STORE_FLAGS_ADD, STORE_F_FLAGGED, "kw1", 0, NULL,
			     NULL, NULL, &err),
	    0);
	append(2);
	expunge(6);
	ck_assert_int_eq(view_rebuild(&sess, &sn, &err), 0);
	ck_assert_uint_eq(hits(&miss), 1);
	ck_assert_uint_eq(miss, 1);
	ck_assert_str_eq(uids(), "1 2 3 4 5");
	/* kw1 came after the snapshot: told with the FETCH */
	ck_assert_str_eq(buf_cstr(&sess.view.keywords), "");
	view_sync(&sess, 1);
	ck_assert_str_eq(out(),
	    "* 2 EXPUNGE\r\n"
	    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft kw1)\r\n"
	    "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen "
	    "\\Draft kw1 \\*)] Flags permitted\r\n"
	    "* 3 FETCH (UID 4 FLAGS (flags=4 recent=1))\r\n"
	    "* 5 EXISTS\r\n"
	    "* 5 RECENT\r\n");
	ck_assert_str_eq(uids(), "1 3 4 5 7");
	/* parked again, the keyword known now: kept with the view */
	snap_of(&sn);
	view_close(&sess);
	ck_assert_int_eq(view_rebuild(&sess, &sn, &err), 0);
	ck_assert_uint_eq(hits(&miss), 2);
	ck_assert_str_eq(buf_cstr(&sess.view.keywords), " kw1");
	ck_assert_str_eq(uids(), "1 3 4 5 7");
}
END_TEST

/* at most four mailboxes kept, the least recently used dropped; none
 * under view_cache_min messages */
START_TEST(test_cache_bounded)
{
	struct store_mbox mb;
	struct err cerr;
	unsigned long long miss, h;
	uint32_t nrecent, uv, uid;
	char name[16];
	const char *err;
	int i;

	ck_assert_int_eq(cfg_set("view_cache_min", "1", &cerr), 0);
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		ck_assert_int_eq(store_mbox_create(sess.st, "u", name, &err),
		    0);
		ck_assert_int_eq(store_append(sess.st, "u", name, msg,
				     strlen(msg), NULL, &uv, &uid, &err),
		    0);
		ck_assert_int_eq(view_open(&sess, name, 0, &mb, &nrecent, &err),
		    0);
	}
	ck_assert_uint_eq(hits(&miss), 0);
	ck_assert_uint_eq(miss, 5);
	ck_assert_int_eq(view_open(&sess, "b4", 0, &mb, &nrecent, &err), 0);
	ck_assert_uint_eq(hits(&miss), 1);
	ck_assert_int_eq(view_open(&sess, "b0", 0, &mb, &nrecent, &err), 0);
	h = hits(&miss);
	ck_assert_uint_eq(h, 1);
	ck_assert_uint_eq(miss, 6);
	/* under the minimum: listed every time */
	ck_assert_int_eq(cfg_set("view_cache_min", "2", &cerr), 0);
	ck_assert_int_eq(view_open(&sess, "b3", 0, &mb, &nrecent, &err), 0);
	ck_assert_int_eq(view_open(&sess, "b3", 0, &mb, &nrecent, &err), 0);
	ck_assert_uint_eq(hits(&miss), 2);
	ck_assert_int_eq(view_open(&sess, "b3", 0, &mb, &nrecent, &err), 0);
	ck_assert_uint_eq(hits(&miss), 2);
	ck_assert_uint_eq(miss, 8);
}
END_TEST

CHECK_MAIN("view", CHECK_OPTS(setup, teardown, 0, 0),
    CHECK_TEST(test_open_numbers), CHECK_TEST(test_expunge_then_append),
    CHECK_TEST(test_expunge_held_back),
    CHECK_TEST(test_rebuild_as_the_client_knew_it),
    CHECK_TEST(test_rebuild_held_expunge_stays_held),
    CHECK_TEST(test_rebuild_refused),
    CHECK_TEST(test_rebuild_from_kept_records), CHECK_TEST(test_cache_bounded))

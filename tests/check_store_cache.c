/*
 * check_store_cache - unit tests for the store's FETCH cache
 * (store_cache.c): records per (mailbox, UID) read through a reader in
 * bulk pages, kept across COPY, MOVE, RENAME INBOX and expunges, checked
 * against the message's guid, the old cache (by guid) read and converted
 * by reconstruct.  On a real environment in a temporary directory.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_run.h"
#include "check_tmpstore.h"
#include "err.h"
#include "store.h"
#include "store_int.h"

static struct check_tmpstore tmp;
static struct store *st;

static void
setup(void)
{
	check_tmpstore_make(&tmp, "check_store_cache", &st);
}

static void
teardown(void)
{
	check_tmpstore_remove(&tmp, &st);
}

/* message i: subject "s<i>", a header of about pad bytes */
static void
message(unsigned i, size_t pad, struct buf *out)
{
	size_t k;

	buf_reset(out);
	buf_printf(out, "From: a%u@example.com\r\nSubject: s%u\r\n", i, i);
	for (k = 0; k + 80 < pad; k += 80)
		buf_printf(out, "X-Pad: %072u\r\n", i);
	buf_printf(out, "\r\nbody %u\r\n", i);
}

static uint32_t
append(const char *mbox, unsigned i, size_t pad)
{
	struct buf b = BUF_INIT;
	uint32_t uv, uid;
	const char *err;

	message(i, pad, &b);
	ck_assert_int_eq(store_append(st, "u", mbox, b.data, b.len, NULL, &uv,
			     &uid, &err),
	    0);
	buf_free(&b);
	return uid;
}

static uint32_t
mbox_id(const char *name)
{
	struct store_mbox mb;
	const char *err;

	ck_assert_int_eq(store_mbox_get(st, "u", name, &mb, &err), 0);
	return mb.id;
}

/* the record of m: its header says subject s<i>, its ENVELOPE too */
static void
expect(struct store_crd *rd, uint32_t mboxid, const struct store_msg *m,
    unsigned i)
{
	const char *hdr, *err, *f[3];
	char want[64];
	size_t len;

	ck_assert_int_eq(store_msg_header(st, rd, mboxid, m, &hdr, &len, &err),
	    0);
	(void)snprintf(want, sizeof(want), "\r\nSubject: s%u\r\n", i);
	ck_assert_ptr_nonnull(memmem(hdr, len, want, strlen(want)));
	ck_assert_int_eq(store_msg_cache(st, rd, mboxid, m, f, &err), 0);
	(void)snprintf(want, sizeof(want), "\"s%u\"", i);
	ck_assert_ptr_nonnull(strstr(f[0], want));
	ck_assert_ptr_nonnull(strstr(f[2], "\"TEXT\" \"PLAIN\""));
}

/* is (mboxid, uid) in mcache, the FETCH cache by mailbox and UID? */
static int
in_mcache(uint32_t mboxid, uint32_t uid)
{
	struct store_ikey ik;
	DBT k, v;
	int r;

	store_ikey(&ik, mboxid, uid);
	store_dbt_key(&k, &v, &ik, sizeof(ik));
	v.flags = DB_DBT_MALLOC;
	r = st->mcache->get(st->mcache, NULL, &k, &v, 0);
	ck_assert(r == 0 || r == DB_NOTFOUND);
	free(v.data);
	return r == 0;
}

/* a mailbox over several bulk pages, read in ascending order, then
 * descending, then alternating with another mailbox through one reader:
 * every message gets its own record */
START_TEST(test_cache_walk)
{
	struct store_crd *rd = store_crd_new();
	struct store_msg *m, *o;
	struct store_mbox mb;
	const char *err;
	uint32_t a, b;
	size_t n, no, i;
	unsigned k;

	ck_assert_int_eq(store_mbox_create(st, "u", "Other", &err), 0);
	for (k = 0; k < 400; k++)
		append(k % 4 ? "INBOX" : "Other", k, 1500);
	a = mbox_id("INBOX");
	b = mbox_id("Other");
	ck_assert_int_eq(store_msg_list(st, a, &mb, &m, &n, &err), 0);
	ck_assert_int_eq(store_msg_list(st, b, &mb, &o, &no, &err), 0);
	ck_assert_uint_eq(n, 300);
	ck_assert_uint_eq(no, 100);
	for (i = 0; i < n; i++)
		expect(rd, a, &m[i], (unsigned)(i / 3 * 4 + i % 3 + 1));
	for (i = n; i-- > 0;)
		expect(rd, a, &m[i], (unsigned)(i / 3 * 4 + i % 3 + 1));
	for (i = 0; i < no; i++) {
		expect(rd, b, &o[i], (unsigned)(i * 4));
		expect(rd, a, &m[i * 3], (unsigned)(i * 4 + 1));
	}
	free(m);
	free(o);
	store_crd_free(&rd);
	ck_assert_ptr_null(rd);
}
END_TEST

/* a message appended after the reader read to the end of the mailbox is
 * read too; a record is taken only for the message (guid) it was built
 * from */
START_TEST(test_cache_after_read)
{
	struct store_crd *rd = store_crd_new();
	struct store_msg *m, x;
	struct store_mbox mb;
	const char *err;
	uint32_t a = mbox_id("INBOX");
	size_t n;

	append("INBOX", 1, 0);
	append("INBOX", 2, 0);
	ck_assert_int_eq(store_msg_list(st, a, &mb, &m, &n, &err), 0);
	expect(rd, a, &m[0], 1);
	free(m);
	append("INBOX", 3, 0);
	ck_assert_int_eq(store_msg_list(st, a, &mb, &m, &n, &err), 0);
	ck_assert_uint_eq(n, 3);
	expect(rd, a, &m[2], 3);
	expect(rd, a, &m[1], 2);
	/* UID 1's key with message 2's guid: message 2's text */
	x = m[0];
	memcpy(x.guid, m[1].guid, sizeof(x.guid));
	expect(rd, a, &x, 2);
	free(m);
	store_crd_free(&rd);
}
END_TEST

/* COPY and MOVE give the new messages records of their own; an expunge
 * drops the source's; RENAME INBOX moves them; an expunged message not
 * yet swept is still read (from its file) */
START_TEST(test_cache_copy_move)
{
	struct store_crd *rd = store_crd_new();
	struct store_msg *m;
	struct store_mbox mb;
	uint32_t uids[3], nu[3], uv, a, c, d, e;
	const char *err;
	size_t n;

	ck_assert_int_eq(store_mbox_create(st, "u", "C", &err), 0);
	ck_assert_int_eq(store_mbox_create(st, "u", "D", &err), 0);
	a = mbox_id("INBOX");
	c = mbox_id("C");
	d = mbox_id("D");
	uids[0] = append("INBOX", 1, 0);
	uids[1] = append("INBOX", 2, 0);
	uids[2] = append("INBOX", 3, 0);
	ck_assert_int_eq(store_copy(st, a, uids, 2, "u", "C", 0, &uv, nu, &err),
	    0);
	ck_assert(in_mcache(c, nu[0]) && in_mcache(c, nu[1]));
	ck_assert_int_eq(store_copy(st, a, uids + 2, 1, "u", "D", 1, &uv, nu,
			     &err),
	    0);
	ck_assert(in_mcache(d, nu[0]));
	ck_assert(!in_mcache(a, uids[2]));
	ck_assert_int_eq(store_expunge(st, a, uids, 1, &err), 0);
	ck_assert(!in_mcache(a, uids[0]));
	ck_assert(in_mcache(a, uids[1]));
	ck_assert_int_eq(store_msg_list(st, c, &mb, &m, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	expect(rd, c, &m[0], 1);
	expect(rd, c, &m[1], 2);
	free(m);
	ck_assert_int_eq(store_msg_list(st, d, &mb, &m, &n, &err), 0);
	expect(rd, d, &m[0], 3);
	free(m);
	/* expunged, its file kept until the sweep */
	ck_assert_int_eq(store_expunge(st, c, nu, 0, &err), 0);
	ck_assert_int_eq(store_msg_list(st, c, &mb, &m, &n, &err), 0);
	ck_assert_int_eq(store_expunge(st, c, &m[0].uid, 1, &err), 0);
	ck_assert(!in_mcache(c, m[0].uid));
	expect(rd, c, &m[0], 1);
	free(m);
	/* RENAME INBOX: its messages move to a new mailbox */
	ck_assert_int_eq(store_mbox_rename(st, "u", "INBOX", "Old", &err), 0);
	e = mbox_id("Old");
	ck_assert_uint_ne(e, a);
	ck_assert(!in_mcache(a, uids[1]));
	ck_assert_int_eq(store_msg_list(st, e, &mb, &m, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(in_mcache(e, m[0].uid));
	expect(rd, e, &m[0], 2);
	free(m);
	store_crd_free(&rd);
}
END_TEST

/* a store made before mcache: its cache by guid is read while mcache
 * has no record; reconstruct writes mcache's and empties the old one */
START_TEST(test_cache_old_layout)
{
	struct store_crd *rd = store_crd_new();
	struct store_msg *m;
	struct store_mbox mb;
	const char *err, *hdr, *f[3];
	uint32_t a = mbox_id("INBOX");
	uint32_t count;
	size_t n, len, i;
	DBT k, v;

	for (i = 0; i < 3; i++)
		append("INBOX", (unsigned)i, 0);
	ck_assert_int_eq(store_msg_list(st, a, &mb, &m, &n, &err), 0);
	/* as the old layout had them: text by guid, none by UID */
	ck_assert_int_eq(st->mcache->truncate(st->mcache, NULL, &count, 0), 0);
	ck_assert_uint_eq(count, 3);
	for (i = 0; i < n; i++) {
		static const char old[] =
		    "(OLD)\0(B)\0(BS)\0HSubject: old\r\n\r\n";

		store_dbt_key(&k, &v, m[i].guid, 40);
		v.data = (void *)old;
		v.size = sizeof(old) - 1;
		ck_assert_int_eq(st->cache->put(st->cache, NULL, &k, &v, 0), 0);
	}
	ck_assert_int_eq(store_msg_header(st, rd, a, &m[1], &hdr, &len, &err),
	    0);
	ck_assert_uint_eq(len, strlen("Subject: old\r\n\r\n"));
	ck_assert_int_eq(store_msg_cache(st, rd, a, &m[1], f, &err), 0);
	ck_assert_str_eq(f[0], "(OLD)");
	ck_assert_str_eq(f[2], "(BS)");
	/* reconstruct: mcache has each message's record, the old cache
	 * none */
	ck_assert_int_eq(store_reconstruct(st, "u", NULL, 0, check_quiet, NULL,
			     &err),
	    0);
	free(m);
	ck_assert_int_eq(store_msg_list(st, a, &mb, &m, &n, &err), 0);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n; i++) {
		ck_assert(in_mcache(a, m[i].uid));
		expect(rd, a, &m[i], (unsigned)i);
		store_dbt_key(&k, &v, m[i].guid, 40);
		v.flags = DB_DBT_MALLOC;
		ck_assert_int_eq(st->cache->get(st->cache, NULL, &k, &v, 0),
		    DB_NOTFOUND);
	}
	free(m);
	store_crd_free(&rd);
}
END_TEST

/* a record larger than the reader's page (an ENVELOPE of 300 KB) is
 * read alone; the header block past STORE_CACHE_HDR_MAX is not kept */
START_TEST(test_cache_large_record)
{
	struct store_crd *rd = store_crd_new();
	struct buf b = BUF_INIT;
	struct store_msg *m;
	struct store_mbox mb;
	uint32_t a = mbox_id("INBOX"), uv, uid;
	const char *err, *hdr, *f[3];
	size_t n, len;
	unsigned k;

	append("INBOX", 1, 0);
	buf_puts(&b, "Subject: s2\r\nTo: ");
	for (k = 0; k < 15000; k++)
		buf_printf(&b, "%sa%05u@example.com", k ? ",\r\n " : "", k);
	buf_puts(&b, "\r\n\r\nbody\r\n");
	ck_assert_int_eq(store_append(st, "u", "INBOX", b.data, b.len, NULL,
			     &uv, &uid, &err),
	    0);
	append("INBOX", 3, 0);
	ck_assert_int_eq(store_msg_list(st, a, &mb, &m, &n, &err), 0);
	ck_assert_uint_eq(n, 3);
	expect(rd, a, &m[0], 1);
	ck_assert_int_eq(store_msg_cache(st, rd, a, &m[1], f, &err), 0);
	ck_assert_ptr_nonnull(strstr(f[0], "\"s2\""));
	ck_assert_uint_gt(strlen(f[0]), 256 * 1024);
	ck_assert_int_eq(store_msg_header(st, rd, a, &m[1], &hdr, &len, &err),
	    STORE_ENOENT);
	expect(rd, a, &m[2], 3);
	expect(rd, a, &m[0], 1);
	free(m);
	buf_free(&b);
	store_crd_free(&rd);
}
END_TEST

CHECK_MAIN("store_cache", CHECK_OPTS(setup, teardown, 60, 0),
    CHECK_TEST(test_cache_walk), CHECK_TEST(test_cache_after_read),
    CHECK_TEST(test_cache_copy_move), CHECK_TEST(test_cache_old_layout),
    CHECK_TEST(test_cache_large_record))

/*
 * store_msg - message records: append, copy/move, expunge, flags, listing,
 * the FETCH cache, and mapping message files.
 *
 * Every change bumps the mailbox's HIGHESTMODSEQ and stamps the changed
 * records with it, inside the same transaction as the change.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bodystructure.h"
#include "buf.h"
#include "envelope.h"
#include "mime.h"
#include "store_int.h"
#include "xalloc.h"

#define MSG_REC_SIZE(m)                                                        \
	(offsetof(struct store_msg, keywords) + strlen((m)->keywords) + 1)

int
store_msg_put(struct store *st, DB_TXN *txn, uint32_t mboxid,
    const struct store_msg *m)
{
	struct store_ikey ik;
	DBT k, v;

	store_ikey(&ik, mboxid, m->uid);
	store_dbt_key(&k, &v, &ik, sizeof(ik));
	v.data = (void *)m;
	v.size = (uint32_t)MSG_REC_SIZE(m);
	store_jnl_msg(st, mboxid, m);
	return st->index->put(st->index, txn, &k, &v, 0);
}

/* store_msg_decode - a DBT value into m */
void
store_msg_decode(const DBT *v, struct store_msg *m)
{
	size_t n = v->size < sizeof(*m) ? v->size : sizeof(*m);

	memset(m, 0, sizeof(*m));
	memcpy(m, v->data, n);
	m->keywords[sizeof(m->keywords) - 1] = '\0';
}

/* store_refs_add - refs[guid] += delta; *now_r the new count */
int
store_refs_add(struct store *st, DB_TXN *txn, const char *guid, int delta,
    uint32_t *now_r)
{
	DBT k, v;
	uint32_t n = 0;
	int r;

	store_dbt_key(&k, &v, guid, 40);
	v.data = &n;
	v.ulen = sizeof(n);
	v.flags = DB_DBT_USERMEM;
	r = st->refs->get(st->refs, txn, &k, &v, DB_RMW);
	if (r != 0 && r != DB_NOTFOUND)
		return r;
	n = (uint32_t)((int)n + delta);
	*now_r = n;
	v.size = sizeof(n);
	if (n == 0)
		return st->refs->del(st->refs, txn, &k, 0);
	return st->refs->put(st->refs, txn, &k, &v, 0);
}

/* store_mb_account - adjust counters of mb for m entering (+1) or
 * leaving (-1) */
static void
store_mb_account(struct store_mbox *mb, const struct store_msg *m, int dir)
{
	mb->exists += (uint32_t)dir;
	mb->size += (uint64_t)((int64_t)dir * (int64_t)m->size);
	if (!(m->flags & STORE_F_SEEN))
		mb->unseen += (uint32_t)dir;
}

struct store_list_arg {
	uint32_t mboxid;
	uint64_t since;
	uint32_t above; /* only UIDs above this */
	uint32_t upto;	/* and up to this (0: all) */
	size_t max;	/* at most this many (0: all) */
	int expunged;
	struct store_mbox *mb;
	struct store_msg *msgs;
	uint32_t *uids;
	size_t n;
};

/* store_list_bulk_size - the bulk buffer of a walk of the index: what
 * the range needs (a record is about 100 bytes), at least a page of db
 * (Berkeley DB's rule), at most 256 KB, a multiple of 1 KB */
static size_t
store_list_bulk_size(DB *db, const struct store_list_arg *a)
{
	uint64_t n = UINT32_MAX;
	uint32_t page = 0;

	if (a->upto != 0 && a->upto > a->above)
		n = a->upto - a->above;
	if (a->max != 0 && a->max < n)
		n = a->max;
	n *= 160;
	if (db->get_pagesize(db, &page) != 0 || page < 4096)
		page = 64 * 1024; /* the largest page Berkeley DB has */
	if (n < page)
		n = page;
	if (n > 256 * 1024)
		n = 256 * 1024;
	return (size_t)((n + 1023) & ~(uint64_t)1023);
}

/* store_list_take - the records of a bulk page v into a's list; 0 once
 * past what a asks for (the walk ends), else 1 */
static int
store_list_take(struct store_list_arg *a, DBT *v, size_t *size)
{
	struct store_ikey rk;
	void *p, *kd, *dd;
	size_t kl, dl;
	DBT one;

	DB_MULTIPLE_INIT(p, v);
	for (;;) {
		DB_MULTIPLE_KEY_NEXT(p, v, kd, kl, dd, dl);
		if (p == NULL)
			return 1;
		if (kl != sizeof(rk))
			continue;
		memcpy(&rk, kd, sizeof(rk));
		if (be32toh(rk.mboxid_be) != a->mboxid ||
		    (a->upto != 0 && be32toh(rk.uid_be) > a->upto) ||
		    (a->max != 0 && a->n == a->max))
			return 0;
		if (a->n == *size) {
			*size = *size ? *size * 2 : 256;
			a->msgs =
			    xreallocarray(a->msgs, *size, sizeof(*a->msgs));
		}
		memset(&one, 0, sizeof(one));
		one.data = dd;
		one.size = (uint32_t)dl;
		store_msg_decode(&one, &a->msgs[a->n++]);
	}
}

/* store_op_list - the records a asks for: a walk of the index in bulk
 * pages (DB_MULTIPLE_KEY), one cursor call a page, not one a record
 * (perf of FETCH 1:* over 10,000 messages had a quarter of the worker
 * in Berkeley DB's page pinning and locking, once a DB_NEXT) */
static int
store_op_list(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_list_arg *a = varg;
	struct store_mrec rec;
	struct store_ikey ik;
	char user[1024], name[1024];
	DB *db = st->index;
	DBC *c;
	DBT k, v;
	size_t size = 0;
	int r;

	free(a->msgs);
	free(a->uids);
	a->msgs = NULL;
	a->uids = NULL;
	a->n = 0;
	if (a->mb != NULL) {
		r = store_mrec_by_id(st, txn, a->mboxid, &rec, user, name,
		    sizeof(user));
		if (r != 0)
			return r;
		*a->mb = rec.mb;
	}
	/* changes and expunges since a modseq: from the secondaries, which
	 * hold only those (store_view.c) */
	if (a->expunged || a->since > 0)
		return store_view_since(st, txn, a->expunged, a->mboxid,
		    a->since, a->above, &a->msgs, &a->uids, &a->n);
	if ((r = db->cursor(db, txn, &c, 0)) != 0)
		return r;
	if (a->above == UINT32_MAX) {
		c->close(c);
		return 0;
	}
	store_ikey(&ik, a->mboxid, a->above + 1);
	store_dbt_cursor(&k, &v, &ik, sizeof(ik));
	v.ulen = (uint32_t)store_list_bulk_size(db, a);
	v.data = xmalloc(v.ulen);
	v.flags = DB_DBT_USERMEM;
	r = c->get(c, &k, &v, DB_SET_RANGE | DB_MULTIPLE_KEY);
	while (r == 0 && store_list_take(a, &v, &size))
		r = c->get(c, &k, &v, DB_NEXT | DB_MULTIPLE_KEY);
	free(v.data);
	c->close(c);
	return r == DB_NOTFOUND ? 0 : r;
}

/* store_msg_list_run - store_op_list for a; what it gathered is freed
 * on failure */
static int
store_msg_list_run(struct store *st, struct store_list_arg *a,
    const char **error_r)
{
	int r = store_run(st, store_op_list, a, error_r);

	if (r != 0) {
		free(a->msgs);
		free(a->uids);
		a->msgs = NULL;
		a->uids = NULL;
		a->n = 0;
		if (r == STORE_ENOENT)
			store_fail(st, error_r, "mailbox no longer exists");
	}
	return r;
}

/* store_msg_select - the records a selects (and, when a->mb is set, the
 * mailbox record from the same transaction) */
static int
store_msg_select(struct store *st, struct store_list_arg *a,
    struct store_msg **msgs_r, size_t *n_r, const char **error_r)
{
	int r;

	if ((r = store_msg_list_run(st, a, error_r)) != 0)
		return r;
	*msgs_r = a->msgs;
	*n_r = a->n;
	return 0;
}

int
store_msg_list(struct store *st, uint32_t mboxid, struct store_mbox *mb_r,
    struct store_msg **msgs_r, size_t *n_r, const char **error_r)
{
	struct store_list_arg a = { .mboxid = mboxid, .mb = mb_r };

	return store_msg_select(st, &a, msgs_r, n_r, error_r);
}

int
store_msg_range(struct store *st, uint32_t mboxid, uint32_t lo, uint32_t hi,
    size_t max, struct store_msg **msgs_r, size_t *n_r, const char **error_r)
{
	struct store_list_arg a = { .mboxid = mboxid,
		.above = lo > 0 ? lo - 1 : 0,
		.upto = hi,
		.max = max };

	if (lo > hi || hi == 0) {
		*msgs_r = NULL;
		*n_r = 0;
		return 0;
	}
	return store_msg_select(st, &a, msgs_r, n_r, error_r);
}

int
store_msg_changed(struct store *st, uint32_t mboxid, uint64_t since,
    struct store_msg **msgs_r, size_t *n_r, const char **error_r)
{
	struct store_list_arg a = { .mboxid = mboxid, .since = since };

	return store_msg_select(st, &a, msgs_r, n_r, error_r);
}

int
store_expunged_since(struct store *st, uint32_t mboxid, uint64_t since,
    uint32_t **uids_r, size_t *n_r, const char **error_r)
{
	struct store_list_arg a = { .mboxid = mboxid,
		.since = since,
		.expunged = 1 };
	int r;

	if ((r = store_msg_list_run(st, &a, error_r)) != 0)
		return r;
	*uids_r = a.uids;
	*n_r = a.n;
	return 0;
}

struct store_get_arg {
	uint32_t mboxid;
	const uint32_t *uids;
	size_t n;
	struct store_msg *msgs;
	size_t found;
};

static int
store_op_get_uids(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_get_arg *a = varg;
	struct store_ikey ik;
	DBT k, v;
	size_t i;
	int r;

	a->found = 0;
	for (i = 0; i < a->n; i++) {
		store_ikey(&ik, a->mboxid, a->uids[i]);
		store_dbt_key(&k, &v, &ik, sizeof(ik));
		r = st->index->get(st->index, txn, &k, &v, 0);
		if (r == DB_NOTFOUND)
			continue;
		if (r != 0)
			return r;
		store_msg_decode(&v, &a->msgs[a->found++]);
	}
	return 0;
}

int
store_msg_get_uids(struct store *st, uint32_t mboxid, const uint32_t *uids,
    size_t n, struct store_msg **msgs_r, size_t *n_r, const char **error_r)
{
	struct store_get_arg a;
	int r;

	memset(&a, 0, sizeof(a));
	a.mboxid = mboxid;
	a.uids = uids;
	a.n = n;
	a.msgs = xcalloc(n + 1, sizeof(*a.msgs));
	if ((r = store_run(st, store_op_get_uids, &a, error_r)) != 0) {
		free(a.msgs);
		return r;
	}
	*msgs_r = a.msgs;
	*n_r = a.found;
	return 0;
}

int
store_expunged_first(struct store *st, uint32_t mboxid, uint64_t since,
    uint32_t above, uint32_t *uid_r, const char **error_r)
{
	struct store_list_arg a = { .mboxid = mboxid,
		.since = since,
		.above = above,
		.expunged = 1 };
	int r = store_msg_list_run(st, &a, error_r);

	*uid_r = 0;
	for (size_t i = 0; r == 0 && i < a.n; i++)
		if (*uid_r == 0 || a.uids[i] < *uid_r)
			*uid_r = a.uids[i];
	free(a.uids);
	return r;
}

struct store_xget_arg {
	uint32_t mboxid, uid;
	struct store_msg *m;
};

static int
store_op_expunged_get(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_xget_arg *a = varg;
	struct store_ikey ik;
	DBT k, v;
	int r;

	store_ikey(&ik, a->mboxid, a->uid);
	store_dbt_key(&k, &v, &ik, sizeof(ik));
	v.flags = DB_DBT_MALLOC;
	if ((r = st->expunged->get(st->expunged, txn, &k, &v, 0)) != 0)
		return r == DB_NOTFOUND ? STORE_ENOENT : r;
	if (v.size <= sizeof(uint64_t) + offsetof(struct store_msg, keywords)) {
		/* written before records were kept */
		free(v.data);
		return STORE_ENOENT;
	}
	v.data = (char *)v.data + sizeof(uint64_t);
	v.size -= (uint32_t)sizeof(uint64_t);
	store_msg_decode(&v, a->m);
	free((char *)v.data - sizeof(uint64_t));
	return 0;
}

int
store_msg_expunged(struct store *st, uint32_t mboxid, uint32_t uid,
    struct store_msg *m_r, const char **error_r)
{
	struct store_xget_arg a = { .mboxid = mboxid, .uid = uid, .m = m_r };

	/*
	 * In a transaction, as every read that may meet a writer: a read
	 * outside one (DB_READ_UNCOMMITTED) still waits for a page's write
	 * lock (a page split's; a dead process's for good) with no retry
	 * and no failchk, and under load the lock timeout fails it: FETCH
	 * then answered NO with the message missing.
	 */
	return store_run(st, store_op_expunged_get, &a, error_r);
}

/* ---- append ---- */

int
store_op_append(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_append_arg *a = varg;
	struct store_mrec rec;
	struct store_msg m;
	uint32_t refs;
	int r;

	r = store_mrec_get(st, txn, a->user, a->name, &rec, 1);
	if (r == DB_NOTFOUND ||
	    (r == 0 && (rec.mb.attrs & STORE_MBOX_NOSELECT)))
		return STORE_ENOENT;
	if (r != 0)
		return r;
	if ((r = store_quota_admit(st, txn, a->user, a->len, 1)) != 0)
		return r;
	if (a->data != NULL)
		store_jnl_body(st, rec.mb.id, a->guid, a->data, a->len);
	memset(&m, 0, sizeof(m));
	if (a->opt && a->opt->uid >= rec.mb.uidnext && a->opt->uid < UINT32_MAX)
		rec.mb.uidnext = a->opt->uid;
	m.uid = rec.mb.uidnext++;
	m.modseq = ++rec.mb.highestmodseq;
	m.flags = a->opt ? a->opt->flags : 0;
	m.internaldate = a->opt && a->opt->internaldate ? a->opt->internaldate
							: (int64_t)time(NULL);
	m.tzoff = a->opt ? a->opt->tzoff : 0;
	m.savedate = (int64_t)time(NULL);
	m.size = a->len;
	memcpy(m.guid, a->guid, 41);
	if (a->opt && a->opt->keywords)
		snprintf(m.keywords, sizeof(m.keywords), "%s",
		    a->opt->keywords);
	store_mb_account(&rec.mb, &m, 1);
	if ((r = store_msg_put(st, txn, rec.mb.id, &m)) != 0 ||
	    (r = store_refs_add(st, txn, a->guid, 1, &refs)) != 0 ||
	    (r = store_cache_put(st, txn, rec.mb.id, m.uid, a->guid, a->cache,
		 a->cache_len)) != 0 ||
	    (r = store_mrec_put(st, txn, a->user, a->name, &rec,
		 STORE_EV_NEW)) != 0)
		return r;
	a->uidvalidity = rec.mb.uidvalidity;
	a->uid = m.uid;
	return 0;
}

void
store_cache_build(const char *data, size_t len, struct buf *out)
{
	struct mime_part *root = mime_parse(data, len);

	envelope_write(data + root->hdr_off, root->hdr_len, out);
	buf_putc(out, '\0');
	bodystructure_write(root, data, 0, out);
	buf_putc(out, '\0');
	bodystructure_write(root, data, 1, out);
	buf_putc(out, '\0');
	/* the header block, for SEARCH's header keys (store_cache.c) */
	if (root->hdr_len <= STORE_CACHE_HDR_MAX) {
		buf_putc(out, 'H');
		buf_append(out, data + root->hdr_off, root->hdr_len);
	}
	mime_free(&root);
}

int
store_append(struct store *st, const char *user, const char *name,
    const char *data, size_t len, const struct store_append *opt,
    uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r)
{
	struct store_append_arg a;
	struct buf cache = BUF_INIT;
	char guid[41];
	int r;

	memset(&a, 0, sizeof(a));
	if (strncasecmp(name, "INBOX", 5) == 0 && name[5] == '\0')
		name = "INBOX";
	/* the file is on disk before the record can exist */
	if (store_file_put(st, data, len, guid, error_r) < 0)
		return -1;
	store_cache_build(data, len, &cache);
	a.user = user;
	a.name = name;
	a.opt = opt;
	a.guid = guid;
	a.len = len;
	a.data = store_file_inline(len) ? data : NULL;
	a.cache = cache.data;
	a.cache_len = cache.len;
	r = store_run(st, store_op_append, &a, error_r);
	buf_free(&cache);
	if (r == STORE_ENOENT)
		store_fail(st, error_r, "no such mailbox");
	else if (r == STORE_EQUOTA)
		store_fail(st, error_r, "over quota");
	if (r != 0)
		return r;
	if (uidvalidity_r != NULL)
		*uidvalidity_r = a.uidvalidity;
	if (uid_r != NULL)
		*uid_r = a.uid;
	return 0;
}

/* ---- removal, copy, flags ---- */

/* store_msg_get - index record of (mboxid, uid) for update */
static int
store_msg_get(struct store *st, DB_TXN *txn, uint32_t mboxid, uint32_t uid,
    struct store_msg *m)
{
	struct store_ikey ik;
	DBT k, v;
	int r;

	store_ikey(&ik, mboxid, uid);
	store_dbt_key(&k, &v, &ik, sizeof(ik));
	if ((r = st->index->get(st->index, txn, &k, &v, DB_RMW)) != 0)
		return r;
	store_msg_decode(&v, m);
	return 0;
}

/* store_msg_remove - drop one record (expunged at modseq if nonzero) */
int
store_msg_remove(struct store *st, DB_TXN *txn, uint32_t mboxid,
    const struct store_msg *m, uint64_t modseq)
{
	struct store_ikey ik;
	uint32_t refs;
	DBT k, v;
	int r;

	store_ikey(&ik, mboxid, m->uid);
	store_dbt_key(&k, &v, &ik, sizeof(ik));
	if ((r = st->index->del(st->index, txn, &k, 0)) != 0 ||
	    (r = store_cache_del(st, txn, mboxid, m->uid)) != 0)
		return r;
	if (modseq) {
		/* the modseq of the expunge, then the record as it was: a
		 * session not yet told can still FETCH it */
		char rec[sizeof(modseq) + sizeof(*m)];

		memcpy(rec, &modseq, sizeof(modseq));
		memcpy(rec + sizeof(modseq), m, MSG_REC_SIZE(m));
		v.data = rec;
		v.size = (uint32_t)(sizeof(modseq) + MSG_REC_SIZE(m));
		if ((r = st->expunged->put(st->expunged, txn, &k, &v, 0)) != 0)
			return r;
		store_jnl_expunge(st, mboxid, m->uid, modseq);
	}
	if ((r = store_refs_add(st, txn, m->guid, -1, &refs)) != 0)
		return r;
	if (refs == 0) {
		/* the old cache (store_cache.c) empties as its messages go */
		memset(&k, 0, sizeof(k));
		k.data = (void *)m->guid;
		k.size = 40;
		r = st->cache->del(st->cache, txn, &k, 0);
		if (r == DB_NOTFOUND)
			r = 0;
		/* the sweep may remove the file once this commits */
		if (r == 0)
			r = store_gone_add(st, txn, m->guid);
	}
	return r;
}

struct store_uids_arg {
	uint32_t mboxid;
	const uint32_t *uids;
	size_t n;
	/* copy */
	const char *user, *dst;
	int move;
	uint32_t *newuids, uidvalidity;
	/* flags */
	enum store_flag_op op;
	uint32_t flags;
	const char *keywords;
	uint64_t unchangedsince;
	struct store_msg *results;
	uint32_t *failed;
	size_t nfailed;
	/* files whose last reference went away */
	char (*gone)[41];
	size_t ngone;
};

static int
store_op_expunge(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_uids_arg *a = varg;
	struct store_mrec rec;
	struct store_msg m;
	char user[1024], name[1024];
	uint64_t modseq;
	size_t i;
	int r;

	if ((r = store_mrec_by_id(st, txn, a->mboxid, &rec, user, name,
		 sizeof(user))) != 0)
		return r;
	modseq = ++rec.mb.highestmodseq;
	for (i = 0; i < a->n; i++) {
		r = store_msg_get(st, txn, a->mboxid, a->uids[i], &m);
		if (r == DB_NOTFOUND)
			continue;
		if (r != 0 ||
		    (r = store_msg_remove(st, txn, a->mboxid, &m, modseq)) != 0)
			return r;
		store_mb_account(&rec.mb, &m, -1);
	}
	return store_mrec_put(st, txn, user, name, &rec, STORE_EV_EXPUNGE);
}

int
store_expunge(struct store *st, uint32_t mboxid, const uint32_t *uids, size_t n,
    const char **error_r)
{
	struct store_uids_arg a;

	memset(&a, 0, sizeof(a));
	a.mboxid = mboxid;
	a.uids = uids;
	a.n = n;
	if (n == 0)
		return 0;
	/* files of expunged messages stay until recover sweeps them: a
	 * crash between commit and unlink can then never lose a file that
	 * a record still names */
	return store_run(st, store_op_expunge, &a, error_r);
}

/* store_msgs_drop - remove every index record of mboxid (DELETE) */
int
store_msgs_drop(struct store *st, DB_TXN *txn, uint32_t mboxid)
{
	struct store_list_arg a;
	size_t i;
	int r;

	memset(&a, 0, sizeof(a));
	a.mboxid = mboxid;
	if ((r = store_op_list(st, txn, &a)) != 0)
		return r;
	for (i = 0; i < a.n && r == 0; i++)
		r = store_msg_remove(st, txn, mboxid, &a.msgs[i], 0);
	free(a.msgs);
	return r;
}

static int
store_op_copy(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_uids_arg *a = varg;
	struct store_mrec drec, srec, *sp = &srec;
	struct store_msg m;
	char user[1024], name[1024];
	uint32_t refs;
	uint64_t smodseq = 0, added = 0, nadded = 0;
	size_t i;
	int r, same = 0;

	r = store_mrec_get(st, txn, a->user, a->dst, &drec, 1);
	if (r == DB_NOTFOUND ||
	    (r == 0 && (drec.mb.attrs & STORE_MBOX_NOSELECT)))
		return STORE_ENOENT;
	if (r != 0)
		return r;
	if (a->move) {
		if ((r = store_mrec_by_id(st, txn, a->mboxid, &srec, user, name,
			 sizeof(user))) != 0)
			return r;
		/* into the same mailbox (RFC 6851 3.3): one record, the
		 * expunges before the new messages */
		same = srec.mb.id == drec.mb.id;
		if (same)
			sp = &drec;
		smodseq = ++sp->mb.highestmodseq;
	}
	drec.mb.highestmodseq++;
	for (i = 0; i < a->n; i++) {
		a->newuids[i] = 0;
		r = store_msg_get(st, txn, a->mboxid, a->uids[i], &m);
		if (r == DB_NOTFOUND)
			continue;
		if (r != 0)
			return r;
		/* the source's cache record, before a MOVE drops it */
		if ((r = store_cache_copy(st, txn, a->mboxid, m.uid, drec.mb.id,
			 drec.mb.uidnext)) != 0)
			return r;
		if (a->move) {
			if ((r = store_msg_remove(st, txn, a->mboxid, &m,
				 smodseq)) != 0)
				return r;
			store_mb_account(&sp->mb, &m, -1);
		}
		m.uid = drec.mb.uidnext++;
		m.modseq = drec.mb.highestmodseq;
		m.savedate = (int64_t)time(NULL);
		a->newuids[i] = m.uid;
		added += m.size;
		nadded++;
		store_mb_account(&drec.mb, &m, 1);
		if ((r = store_msg_put(st, txn, drec.mb.id, &m)) != 0 ||
		    (r = store_refs_add(st, txn, m.guid, 1, &refs)) != 0)
			return r;
	}
	a->uidvalidity = drec.mb.uidvalidity;
	/* a MOVE stays within the user's quota root: it adds nothing */
	if (!a->move &&
	    (r = store_quota_admit(st, txn, a->user, added, nadded)) != 0)
		return r;
	if (a->move && !same &&
	    (r = store_mrec_put(st, txn, user, name, &srec,
		 STORE_EV_EXPUNGE)) != 0)
		return r;
	return store_mrec_put(st, txn, a->user, a->dst, &drec,
	    STORE_EV_NEW | (same ? STORE_EV_EXPUNGE : 0));
}

int
store_copy(struct store *st, uint32_t src, const uint32_t *uids, size_t n,
    const char *user, const char *dst, int move, uint32_t *uidvalidity_r,
    uint32_t *newuids_r, const char **error_r)
{
	struct store_uids_arg a;
	int r;

	memset(&a, 0, sizeof(a));
	if (strncasecmp(dst, "INBOX", 5) == 0 && dst[5] == '\0')
		dst = "INBOX";
	a.mboxid = src;
	a.uids = uids;
	a.n = n;
	a.user = user;
	a.dst = dst;
	a.move = move;
	a.newuids = newuids_r;
	r = store_run(st, store_op_copy, &a, error_r);
	if (r == STORE_ENOENT)
		store_fail(st, error_r, "no such mailbox");
	else if (r == STORE_EQUOTA)
		store_fail(st, error_r, "over quota");
	if (r == 0)
		*uidvalidity_r = a.uidvalidity;
	return r;
}

/* store_kw_has - is word in the space-separated list kws? */
static int
store_kw_has(const char *kws, const char *w, size_t wl)
{
	const char *p = kws;

	while (*p) {
		size_t l = strcspn(p, " ");

		if (l == wl && strncasecmp(p, w, wl) == 0)
			return 1;
		p += l;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/* store_kw_apply - new keyword list of m after op */
static void
store_kw_apply(char *kws, size_t size, enum store_flag_op op, const char *arg)
{
	char out[STORE_MAX_KEYWORDS_LEN] = "";
	const char *p;
	size_t o = 0, l;

	if (op == STORE_FLAGS_ADD) {
		snprintf(out, sizeof(out), "%s", kws);
		o = strlen(out);
	}
	p = op == STORE_FLAGS_REMOVE ? kws : (arg ? arg : "");
	while (*p) {
		l = strcspn(p, " ");
		if (l > 0 &&
		    ((op == STORE_FLAGS_REMOVE &&
			 !(arg && store_kw_has(arg, p, l))) ||
			(op != STORE_FLAGS_REMOVE &&
			    !store_kw_has(out, p, l))) &&
		    o + l + 2 < sizeof(out)) {
			if (o)
				out[o++] = ' ';
			memcpy(out + o, p, l);
			o += l;
			out[o] = '\0';
		}
		p += l;
		while (*p == ' ')
			p++;
	}
	snprintf(kws, size, "%s", out);
}

static int
store_op_flags(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_uids_arg *a = varg;
	struct store_mrec rec;
	struct store_msg m, old;
	char user[1024], name[1024];
	uint64_t modseq;
	size_t i;
	int r, changed = 0;

	if ((r = store_mrec_by_id(st, txn, a->mboxid, &rec, user, name,
		 sizeof(user))) != 0)
		return r;
	modseq = rec.mb.highestmodseq + 1;
	free(a->failed);
	a->failed = NULL;
	a->nfailed = 0;
	for (i = 0; i < a->n; i++) {
		if (a->results)
			memset(&a->results[i], 0, sizeof(a->results[i]));
		r = store_msg_get(st, txn, a->mboxid, a->uids[i], &m);
		if (r == DB_NOTFOUND)
			continue;
		if (r != 0)
			return r;
		if (a->unchangedsince && m.modseq > a->unchangedsince) {
			a->failed = xreallocarray(a->failed, a->nfailed + 1,
			    sizeof(*a->failed));
			a->failed[a->nfailed++] = m.uid;
			if (a->results)
				a->results[i] = m;
			continue;
		}
		old = m;
		if (a->op == STORE_FLAGS_SET)
			m.flags = a->flags;
		else if (a->op == STORE_FLAGS_ADD)
			m.flags |= a->flags;
		else
			m.flags &= ~a->flags;
		store_kw_apply(m.keywords, sizeof(m.keywords), a->op,
		    a->keywords);
		if (m.flags != old.flags ||
		    strcmp(m.keywords, old.keywords) != 0) {
			m.modseq = modseq;
			store_mb_account(&rec.mb, &old, -1);
			store_mb_account(&rec.mb, &m, 1);
			if ((r = store_msg_put(st, txn, a->mboxid, &m)) != 0)
				return r;
			changed = 1;
		}
		if (a->results)
			a->results[i] = m;
	}
	if (!changed)
		return 0;
	rec.mb.highestmodseq = modseq;
	return store_mrec_put(st, txn, user, name, &rec, STORE_EV_FLAGS);
}

int
store_set_flags(struct store *st, uint32_t mboxid, const uint32_t *uids,
    size_t n, enum store_flag_op op, uint32_t flags, const char *keywords,
    uint64_t unchangedsince, struct store_msg *results_r, uint32_t **failed_r,
    size_t *nfailed_r, const char **error_r)
{
	struct store_uids_arg a;
	int r;

	memset(&a, 0, sizeof(a));
	a.mboxid = mboxid;
	a.uids = uids;
	a.n = n;
	a.op = op;
	a.flags = flags;
	a.keywords = keywords;
	a.unchangedsince = unchangedsince;
	a.results = results_r;
	r = store_run(st, store_op_flags, &a, error_r);
	if (failed_r != NULL) {
		*failed_r = a.failed;
		*nfailed_r = a.nfailed;
	} else {
		free(a.failed);
	}
	return r;
}

/* store_msgs_move_all - RENAME INBOX: every message of from into to */
int store_msgs_move_all(struct store *st, DB_TXN *txn, uint32_t from,
    struct store_mrec *fromrec, uint32_t to, struct store_mrec *torec);

int
store_msgs_move_all(struct store *st, DB_TXN *txn, uint32_t from,
    struct store_mrec *fromrec, uint32_t to, struct store_mrec *torec)
{
	struct store_list_arg a;
	uint32_t refs;
	size_t i;
	int r;

	memset(&a, 0, sizeof(a));
	a.mboxid = from;
	if ((r = store_op_list(st, txn, &a)) != 0)
		return r;
	fromrec->mb.highestmodseq++;
	torec->mb.highestmodseq++;
	for (i = 0; i < a.n && r == 0; i++) {
		struct store_msg m = a.msgs[i];

		r = store_cache_copy(st, txn, from, m.uid, to,
		    torec->mb.uidnext);
		if (r == 0)
			r = store_msg_remove(st, txn, from, &m,
			    fromrec->mb.highestmodseq);
		store_mb_account(&fromrec->mb, &m, -1);
		m.uid = torec->mb.uidnext++;
		m.modseq = torec->mb.highestmodseq;
		store_mb_account(&torec->mb, &m, 1);
		if (r == 0)
			r = store_msg_put(st, txn, to, &m);
		if (r == 0)
			r = store_refs_add(st, txn, m.guid, 1, &refs);
	}
	free(a.msgs);
	return r;
}

int
store_msg_fd(struct store *st, const char *guid, int *fd_r,
    const char **error_r)
{
	char *path = store_file_path(st, guid);
	int fd;

	/* relative to the partition: two names to look up instead of the
	 * whole path, once per message of a FETCH 1:* BODY[] */
	if (st->partfd < 0)
		st->partfd =
		    open(st->partdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->partfd >= 0)
		fd = openat(st->partfd, path + strlen(st->partdir) + 1,
		    O_RDONLY | O_CLOEXEC);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		store_fail(st, error_r, "open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	*fd_r = fd;
	return 0;
}

int
store_msg_open(struct store *st, const char *guid, int *fd_r, size_t *len_r,
    const char **error_r)
{
	struct stat sb;
	int fd;

	if (store_msg_fd(st, guid, &fd, error_r) < 0)
		return -1;
	if (fstat(fd, &sb) < 0) {
		store_fail(st, error_r, "stat %s: %s", guid, strerror(errno));
		close(fd);
		return -1;
	}
	*fd_r = fd;
	*len_r = (size_t)sb.st_size;
	return 0;
}

int
store_msg_map(struct store *st, const char *guid, const char **data_r,
    size_t *len_r, const char **error_r)
{
	void *p;
	int fd;

	if (store_msg_open(st, guid, &fd, len_r, error_r) < 0)
		return -1;
	if (*len_r == 0) {
		close(fd);
		*data_r = "";
		return 0;
	}
	p = mmap(NULL, *len_r, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return store_fail(st, error_r, "mmap: %s", strerror(errno));
	*data_r = p;
	return 0;
}

void
store_msg_unmap(const char *data, size_t len)
{
	if (len > 0)
		munmap((void *)data, len);
}

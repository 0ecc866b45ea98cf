/*
 * store_view - the read side a selected mailbox needs: its messages as
 * compact (uid, flags, modseq) records in one bulk cursor pass, and what
 * changed since a modseq at a cost in proportion to the change.
 *
 * Two secondary databases, maintained by Berkeley DB itself on every put
 * and delete of their primaries (DB->associate), order records by
 * modseq:
 *   modseq.db   (mboxid, modseq, uid) -> index record of (mboxid, uid)
 *   xmodseq.db  (mboxid, modseq, uid) -> expunged record of (mboxid, uid)
 * so "changed since n" is one cursor range on the secondary, whatever
 * the mailbox's size.  Every process joins them in store_open; an
 * environment made before they existed gets them built there (the
 * first open, usually recovery at master's start, walks the primary
 * once).
 *
 * Does not: write anything (the write path is store_msg.c and
 * store_deliver.c; the secondaries follow their puts and deletes).
 * Called by imapd's view (view.c).  Memory: 24 bytes a message for a
 * listing plus the keyword text of the changed records; the cursor's
 * bulk buffer is STORE_VIEW_BULK bytes.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "store_int.h"
#include "xalloc.h"

#define STORE_VIEW_BULK (256 * 1024)

/* secondary key: big-endian, so a cursor walks a mailbox by modseq */
struct store_skey {
	uint32_t mboxid_be;
	uint32_t modseq_hi_be, modseq_lo_be;
	uint32_t uid_be;
};

static void
store_skey(struct store_skey *k, uint32_t mboxid, uint64_t modseq, uint32_t uid)
{
	k->mboxid_be = htobe32(mboxid);
	k->modseq_hi_be = htobe32((uint32_t)(modseq >> 32));
	k->modseq_lo_be = htobe32((uint32_t)modseq);
	k->uid_be = htobe32(uid);
}

/* store_view_skey_make - the secondary key of primary key pk at modseq */
static int
store_view_skey_make(const DBT *pk, uint64_t modseq, DBT *sk)
{
	const struct store_ikey *ik = pk->data;
	struct store_skey *k;

	if (pk->size != sizeof(*ik))
		return DB_DONOTINDEX;
	k = xmalloc(sizeof(*k));
	k->mboxid_be = ik->mboxid_be;
	k->modseq_hi_be = htobe32((uint32_t)(modseq >> 32));
	k->modseq_lo_be = htobe32((uint32_t)modseq);
	k->uid_be = ik->uid_be;
	memset(sk, 0, sizeof(*sk));
	sk->data = k;
	sk->size = sizeof(*k);
	sk->flags = DB_DBT_APPMALLOC;
	return 0;
}

/* store_view_index_key - modseq.db's key of an index record */
static int
store_view_index_key(DB *sec, const DBT *pk, const DBT *pd, DBT *sk)
{
	uint64_t modseq;

	(void)sec;
	if (pd->size < offsetof(struct store_msg, modseq) + sizeof(modseq))
		return DB_DONOTINDEX;
	memcpy(&modseq,
	    (const char *)pd->data + offsetof(struct store_msg, modseq),
	    sizeof(modseq));
	return store_view_skey_make(pk, modseq, sk);
}

/* store_view_expunged_key - xmodseq.db's key of an expunged record
 * (its first 8 bytes are the modseq of the expunge) */
static int
store_view_expunged_key(DB *sec, const DBT *pk, const DBT *pd, DBT *sk)
{
	uint64_t modseq;

	(void)sec;
	if (pd->size < sizeof(modseq))
		return DB_DONOTINDEX;
	memcpy(&modseq, pd->data, sizeof(modseq));
	return store_view_skey_make(pk, modseq, sk);
}

/* store_view_associate - join sec to primary, building sec when empty */
static int
store_view_associate(struct store *st, DB *primary, DB *sec,
    int (*fn)(DB *, const DBT *, const DBT *, DBT *), const char **error_r)
{
	int r, tries;

	for (tries = 0; tries < 200; tries++) {
		r = primary->associate(primary, NULL, sec, fn, DB_CREATE);
		if (r != DB_LOCK_DEADLOCK && r != DB_LOCK_NOTGRANTED)
			break;
		usleep(5000);
	}
	if (r != 0)
		return store_dberr(st, error_r, "associate", r);
	return 0;
}

int
store_view_open(struct store *st, const char **error_r)
{
	if (store_open_db(st, &st->modseq, "modseq.db", error_r) < 0 ||
	    store_open_db(st, &st->xmodseq, "xmodseq.db", error_r) < 0)
		return -1;
	if (store_view_associate(st, st->index, st->modseq,
		store_view_index_key, error_r) < 0 ||
	    store_view_associate(st, st->expunged, st->xmodseq,
		store_view_expunged_key, error_r) < 0)
		return -1;
	return 0;
}

/* ---- listing ---- */

struct store_view_arg {
	uint32_t mboxid;
	uint64_t since, xsince;
	uint64_t kwmodseq; /* store_view_list: keywords up to it */
	int kwkeep;	   /* store_view_list_kw: every record's */
	uint32_t last;
	struct store_mbox *mb;
	struct buf *keywords;
	struct store_view_delta *d;
	struct store_vmsg *msgs;
	size_t n, size;
	struct buf kwpool;
	char *bulk;
};

/* store_view_kw_has - is w[0..l) in the list " a b c"? */
static int
store_view_kw_has(const struct buf *kw, const char *w, size_t l)
{
	const char *p = kw->data, *end = p + kw->len;

	while (p < end) {
		const char *q;

		p++; /* the blank before each */
		q = memchr(p, ' ', (size_t)(end - p));
		if (q == NULL)
			q = end;
		if ((size_t)(q - p) == l && strncasecmp(p, w, l) == 0)
			return 1;
		p = q;
	}
	return 0;
}

/* store_view_kw_union - add the keywords of kws (space-separated) that
 * the list " a b" lacks */
static void
store_view_kw_union(struct buf *kw, const char *kws, size_t len)
{
	const char *p = kws, *end = kws + len;

	while (p < end) {
		size_t l;

		while (p < end && *p == ' ')
			p++;
		l = strnlen(p, (size_t)(end - p));
		{
			const char *sp = memchr(p, ' ', l);

			if (sp != NULL)
				l = (size_t)(sp - p);
		}
		if (l > 0 && !store_view_kw_has(kw, p, l)) {
			buf_putc(kw, ' ');
			buf_append(kw, p, l);
		}
		p += l;
		if (p < end && *p == '\0')
			break;
	}
}

/* store_view_push - one record into a's array; keywords into the pool
 * (kwkeep) or into the union */
static void
store_view_push(struct store_view_arg *a, const void *data, size_t size,
    int kwkeep)
{
	struct store_vmsg *m;
	size_t kwoff = offsetof(struct store_msg, keywords), kwlen = 0;

	if (a->n == a->size) {
		a->size = a->size ? a->size * 2 : 256;
		a->msgs = xreallocarray(a->msgs, a->size, sizeof(*a->msgs));
	}
	m = &a->msgs[a->n++];
	memset(m, 0, sizeof(*m));
	memcpy(&m->uid, (const char *)data + offsetof(struct store_msg, uid),
	    sizeof(m->uid));
	memcpy(&m->flags,
	    (const char *)data + offsetof(struct store_msg, flags),
	    sizeof(m->flags));
	memcpy(&m->modseq,
	    (const char *)data + offsetof(struct store_msg, modseq),
	    sizeof(m->modseq));
	if (size > kwoff)
		kwlen = strnlen((const char *)data + kwoff, size - kwoff);
	if (kwlen > STORE_MAX_KEYWORDS_LEN - 1)
		kwlen = STORE_MAX_KEYWORDS_LEN - 1;
	if (kwkeep) {
		m->kwoff = kwlen ? (uint32_t)a->kwpool.len + 1 : 0;
		if (kwlen) {
			buf_append(&a->kwpool, (const char *)data + kwoff,
			    kwlen);
			buf_putc(&a->kwpool, '\0');
		}
	} else if (kwlen && a->keywords != NULL && m->modseq <= a->kwmodseq) {
		store_view_kw_union(a->keywords, (const char *)data + kwoff,
		    kwlen);
	}
}

/* store_view_bulk - the index records of a->mboxid with UID above
 * a->last, in bulk pages (DB_MULTIPLE_KEY) */
static int
store_view_bulk(struct store *st, DB_TXN *txn, struct store_view_arg *a,
    int kwkeep)
{
	struct store_ikey ik;
	DBC *c;
	DBT k, v;
	int r, flag = DB_SET_RANGE;

	if (a->last == UINT32_MAX)
		return 0;
	if ((r = st->index->cursor(st->index, txn, &c, 0)) != 0)
		return r;
	store_ikey(&ik, a->mboxid, a->last + 1);
	for (;;) {
		void *p, *kd, *dd;
		size_t kl, dl;

		store_dbt_cursor(&k, &v, &ik, sizeof(ik));
		v.data = a->bulk;
		v.ulen = STORE_VIEW_BULK;
		v.flags = DB_DBT_USERMEM;
		r = c->get(c, &k, &v, (uint32_t)flag | DB_MULTIPLE_KEY);
		if (r != 0)
			break;
		flag = DB_NEXT;
		DB_MULTIPLE_INIT(p, &v);
		for (;;) {
			struct store_ikey rk;

			DB_MULTIPLE_KEY_NEXT(p, &v, kd, kl, dd, dl);
			if (p == NULL)
				break;
			if (kl != sizeof(rk))
				continue;
			memcpy(&rk, kd, sizeof(rk));
			if (be32toh(rk.mboxid_be) != a->mboxid) {
				r = DB_NOTFOUND;
				goto done;
			}
			if (dl >= offsetof(struct store_msg, modseq) + 8)
				store_view_push(a, dd, dl, kwkeep);
		}
	}
done:
	c->close(c);
	return r == DB_NOTFOUND ? 0 : r;
}

/* store_view_mbox - the mailbox record into a->mb */
static int
store_view_mbox(struct store *st, DB_TXN *txn, struct store_view_arg *a)
{
	struct store_mrec rec;
	char user[1024], name[1024];
	int r;

	r = store_mrec_by_id(st, txn, a->mboxid, &rec, user, name,
	    sizeof(user));
	if (r != 0)
		return r;
	*a->mb = rec.mb;
	return 0;
}

static void
store_view_reset(struct store_view_arg *a)
{
	free(a->msgs);
	a->msgs = NULL;
	a->n = a->size = 0;
	buf_reset(&a->kwpool);
	if (a->keywords != NULL)
		buf_reset(a->keywords);
}

static int
store_op_view_list(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_view_arg *a = varg;
	int r;

	store_view_reset(a);
	if ((r = store_view_mbox(st, txn, a)) != 0)
		return r;
	return store_view_bulk(st, txn, a, a->kwkeep);
}

int
store_view_list(struct store *st, uint32_t mboxid, struct store_mbox *mb_r,
    struct store_vmsg **msgs_r, size_t *n_r, struct buf *keywords,
    uint64_t kwmodseq, const char **error_r)
{
	struct store_view_arg a;
	int r;

	memset(&a, 0, sizeof(a));
	a.mboxid = mboxid;
	a.mb = mb_r;
	a.keywords = keywords;
	a.kwmodseq = kwmodseq;
	a.bulk = xmalloc(STORE_VIEW_BULK);
	r = store_run(st, store_op_view_list, &a, error_r);
	free(a.bulk);
	buf_free(&a.kwpool);
	if (r != 0) {
		free(a.msgs);
		if (r == STORE_ENOENT || r == DB_NOTFOUND)
			store_fail(st, error_r, "mailbox no longer exists");
		return r == DB_NOTFOUND ? STORE_ENOENT : r;
	}
	*msgs_r = a.msgs;
	*n_r = a.n;
	return 0;
}

int
store_view_list_kw(struct store *st, uint32_t mboxid, struct store_mbox *mb_r,
    struct store_vmsg **msgs_r, size_t *n_r, char **kwpool_r,
    const char **error_r)
{
	struct store_view_arg a;
	size_t i;
	int r;

	memset(&a, 0, sizeof(a));
	a.mboxid = mboxid;
	a.mb = mb_r;
	a.kwkeep = 1;
	a.bulk = xmalloc(STORE_VIEW_BULK);
	r = store_run(st, store_op_view_list, &a, error_r);
	free(a.bulk);
	if (r != 0) {
		free(a.msgs);
		buf_free(&a.kwpool);
		if (r == STORE_ENOENT || r == DB_NOTFOUND)
			store_fail(st, error_r, "mailbox no longer exists");
		return r == DB_NOTFOUND ? STORE_ENOENT : r;
	}
	/* the pool moved as it grew: offsets become pointers now */
	*kwpool_r = buf_release(&a.kwpool);
	for (i = 0; i < a.n; i++)
		a.msgs[i].keywords = a.msgs[i].kwoff && *kwpool_r != NULL
		    ? *kwpool_r + a.msgs[i].kwoff - 1
		    : "";
	*msgs_r = a.msgs;
	*n_r = a.n;
	return 0;
}

/* ---- changes since a modseq ---- */

static int
store_view_cmp_uid(const void *x, const void *y)
{
	const struct store_vmsg *a = x, *b = y;

	return a->uid < b->uid ? -1 : a->uid > b->uid;
}

static int
store_view_cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

/* store_view_secondary - records of sec for a->mboxid with modseq above
 * since (and UID at most a->last): into the array (index), or their UIDs
 * into *uids_r (expunged) */
static int
store_view_secondary(struct store *st, DB_TXN *txn, DB *sec,
    struct store_view_arg *a, uint64_t since, uint32_t **uids_r, size_t *n_r)
{
	struct store_skey sk;
	DBC *c;
	DBT k, v;
	size_t size = 0;
	int r;

	if (since == UINT64_MAX)
		return 0;
	if ((r = sec->cursor(sec, txn, &c, 0)) != 0)
		return r;
	store_skey(&sk, a->mboxid, since + 1, 0);
	store_dbt_cursor(&k, &v, &sk, sizeof(sk));
	for (r = c->get(c, &k, &v, DB_SET_RANGE); r == 0;
	     r = c->get(c, &k, &v, DB_NEXT)) {
		uint32_t uid = be32toh(sk.uid_be);

		if (k.size != sizeof(sk) || be32toh(sk.mboxid_be) != a->mboxid)
			break;
		if (uids_r != NULL) {
			if (*n_r == size) {
				size = size ? size * 2 : 64;
				*uids_r = xreallocarray(*uids_r, size,
				    sizeof(**uids_r));
			}
			(*uids_r)[(*n_r)++] = uid;
		} else if (uid <= a->last &&
		    v.size >= offsetof(struct store_msg, modseq) + 8) {
			store_view_push(a, v.data, v.size, 1);
		}
	}
	c->close(c);
	if (r != 0 && r != DB_NOTFOUND)
		return r;
	return 0;
}

static int
store_op_view_delta(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_view_arg *a = varg;
	struct store_view_delta *d = a->d;
	size_t nchanged;
	int r;

	store_view_reset(a);
	free(d->expunged);
	d->expunged = NULL;
	d->nexpunged = 0;
	if ((r = store_view_mbox(st, txn, a)) != 0)
		return r;
	/* nothing moved: nothing to read */
	if (a->mb->highestmodseq <= a->since &&
	    a->mb->highestmodseq <= a->xsince && a->mb->uidnext <= a->last + 1)
		return 0;
	if ((r = store_view_secondary(st, txn, st->modseq, a, a->since, NULL,
		 NULL)) != 0)
		return r;
	nchanged = a->n;
	if ((r = store_view_bulk(st, txn, a, 1)) != 0)
		return r;
	d->nchanged = nchanged;
	d->nadded = a->n - nchanged;
	return store_view_secondary(st, txn, st->xmodseq, a, a->xsince,
	    &d->expunged, &d->nexpunged);
}

int
store_view_delta(struct store *st, uint32_t mboxid, uint64_t since,
    uint64_t xsince, uint32_t last, struct store_view_delta *d,
    const char **error_r)
{
	struct store_view_arg a;
	size_t i;
	int r;

	memset(d, 0, sizeof(*d));
	memset(&a, 0, sizeof(a));
	a.mboxid = mboxid;
	a.since = since;
	a.xsince = xsince;
	a.last = last;
	a.mb = &d->mb;
	a.d = d;
	a.bulk = xmalloc(STORE_VIEW_BULK);
	r = store_run(st, store_op_view_delta, &a, error_r);
	free(a.bulk);
	if (r != 0) {
		free(a.msgs);
		buf_free(&a.kwpool);
		store_view_delta_free(d);
		if (r == STORE_ENOENT || r == DB_NOTFOUND)
			store_fail(st, error_r, "mailbox no longer exists");
		return r == DB_NOTFOUND ? STORE_ENOENT : r;
	}
	d->changed = a.msgs;
	d->added = a.msgs + d->nchanged;
	/* the pool moved as it grew: offsets become pointers now */
	d->kwpool = buf_release(&a.kwpool);
	for (i = 0; i < a.n; i++)
		a.msgs[i].keywords = a.msgs[i].kwoff && d->kwpool != NULL
		    ? d->kwpool + a.msgs[i].kwoff - 1
		    : "";
	/* modseq order from the secondary: by UID for merging */
	xqsort(d->changed, d->nchanged, sizeof(*d->changed),
	    store_view_cmp_uid);
	if (d->nexpunged > 0)
		xqsort(d->expunged, d->nexpunged, sizeof(*d->expunged),
		    store_view_cmp_u32);
	return 0;
}

void
store_view_delta_free(struct store_view_delta *d)
{
	free(d->changed);
	free(d->expunged);
	free(d->kwpool);
	memset(d, 0, sizeof(*d));
}

/* ---- full records since a modseq (QRESYNC, VANISHED) ---- */

static int
store_view_cmp_msg(const void *x, const void *y)
{
	const struct store_msg *a = x, *b = y;

	return a->uid < b->uid ? -1 : a->uid > b->uid;
}

int
store_view_since(struct store *st, DB_TXN *txn, int expunged, uint32_t mboxid,
    uint64_t since, uint32_t above, struct store_msg **msgs_r,
    uint32_t **uids_r, size_t *n_r)
{
	DB *sec = expunged ? st->xmodseq : st->modseq;
	struct store_skey sk;
	size_t size = 0;
	DBC *c;
	DBT k, v;
	int r;

	*n_r = 0;
	if (above == UINT32_MAX || since == UINT64_MAX)
		return 0;
	if ((r = sec->cursor(sec, txn, &c, 0)) != 0)
		return r;
	store_skey(&sk, mboxid, since + 1, 0);
	store_dbt_cursor(&k, &v, &sk, sizeof(sk));
	for (r = c->get(c, &k, &v, DB_SET_RANGE); r == 0;
	     r = c->get(c, &k, &v, DB_NEXT)) {
		uint32_t uid = be32toh(sk.uid_be);

		if (k.size != sizeof(sk) || be32toh(sk.mboxid_be) != mboxid)
			break;
		if (uid <= above)
			continue;
		if (*n_r == size) {
			size = size ? size * 2 : 64;
			if (expunged)
				*uids_r = xreallocarray(*uids_r, size,
				    sizeof(**uids_r));
			else
				*msgs_r = xreallocarray(*msgs_r, size,
				    sizeof(**msgs_r));
		}
		if (expunged) {
			(*uids_r)[(*n_r)++] = uid;
		} else {
			struct store_msg *m = &(*msgs_r)[(*n_r)++];

			memset(m, 0, sizeof(*m));
			memcpy(m, v.data,
			    v.size < sizeof(*m) ? v.size : sizeof(*m));
			m->keywords[sizeof(m->keywords) - 1] = '\0';
		}
	}
	c->close(c);
	if (r != 0 && r != DB_NOTFOUND)
		return r;
	if (expunged && *n_r > 1)
		xqsort(*uids_r, *n_r, sizeof(**uids_r), store_view_cmp_u32);
	else if (!expunged && *n_r > 1)
		xqsort(*msgs_r, *n_r, sizeof(**msgs_r), store_view_cmp_msg);
	return 0;
}

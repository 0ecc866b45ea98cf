/*
 * store_cache - the FETCH cache: ENVELOPE, BODY and BODYSTRUCTURE text and
 * the header block of each message, built once at delivery
 * (store_cache_build, store_msg.c) and kept per (mailbox, UID) in
 * mcache.db, so that SEARCH's header keys and FETCH ENVELOPE over a
 * mailbox read it as one walk of a cursor in bulk pages (a reader,
 * struct store_crd), not one B-tree descent per message in random order.
 *
 * A record is the message's guid (40 hex digits), then
 * "ENVELOPE\0BODY\0BODYSTRUCTURE\0" and, when the header block is at
 * most STORE_CACHE_HDR_MAX, 'H' and its bytes to the end.  The guid
 * makes a record self-checking: a reader that read ahead (uncommitted,
 * or before an abort gave the UID to another message) takes a record
 * only for the message it was built from.  Each index record has its
 * own: COPY and MOVE copy it (store_cache_copy), an expunge drops it.
 *
 * Stores made before keep the old cache, keyed by guid, in cache.db:
 * read when a message has no record here, emptied as its messages go;
 * berthctl reconstruct writes every record here.  A message found in
 * neither is built from its file (a session not told of an expunge yet
 * may still FETCH it).
 *
 * Callers: store_msg.c, store_redo.c (writers, inside their
 * transactions); imapd's SEARCH and FETCH, lib/fts (readers, outside
 * any transaction, reading uncommitted data, which the guid check makes
 * safe).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store_int.h"
#include "xalloc.h"

#define STORE_GUID_LEN 40
/* bytes read ahead at a time: at least a page (STORE_CACHE_PAGESIZE) */
#define STORE_CRD_BULK (256 * 1024)

/* one record of a reader's bulk page */
struct store_crd_ent {
	uint32_t uid;
	uint32_t len;
	const char *data;
};

struct store_crd {
	const struct store *st;
	uint32_t mboxid;
	/* the page holds every record of mboxid with lo <= UID <= hi */
	uint32_t lo, hi;
	int valid;
	char *bulk;
	struct store_crd_ent *ents;
	size_t nents, ents_size;
	struct buf one; /* a record read alone, or built from the file */
};

struct store_crd *
store_crd_new(void)
{
	struct store_crd *rd = xcalloc(1, sizeof(*rd));

	buf_init(&rd->one, 0);
	return rd;
}

void
store_crd_free(struct store_crd **rdp)
{
	struct store_crd *rd = *rdp;

	if (rd == NULL)
		return;
	free(rd->bulk);
	free(rd->ents);
	buf_free(&rd->one);
	free(rd);
	*rdp = NULL;
}

/* ---- writing (inside the caller's transaction) ---- */

int
store_cache_put(struct store *st, DB_TXN *txn, uint32_t mboxid, uint32_t uid,
    const char *guid, const char *cache, size_t len)
{
	struct store_ikey ik;
	struct buf rec = BUF_INIT;
	DBT k, v;
	int r;

	buf_append(&rec, guid, STORE_GUID_LEN);
	buf_append(&rec, cache, len);
	store_ikey(&ik, mboxid, uid);
	store_dbt_key(&k, &v, &ik, sizeof(ik));
	v.data = rec.data;
	v.size = (uint32_t)rec.len;
	r = st->mcache->put(st->mcache, txn, &k, &v, 0);
	buf_free(&rec);
	return r;
}

int
store_cache_copy(struct store *st, DB_TXN *txn, uint32_t from, uint32_t fuid,
    uint32_t to, uint32_t tuid)
{
	struct store_ikey ik;
	DBT k, v;
	int r;

	store_ikey(&ik, from, fuid);
	store_dbt_key(&k, &v, &ik, sizeof(ik));
	v.flags = DB_DBT_MALLOC;
	r = st->mcache->get(st->mcache, txn, &k, &v, 0);
	if (r == DB_NOTFOUND)
		return 0; /* none (an old store's): read from the old cache */
	if (r != 0)
		return r;
	store_ikey(&ik, to, tuid);
	r = st->mcache->put(st->mcache, txn, &k, &v, 0);
	free(v.data);
	return r;
}

int
store_cache_del(struct store *st, DB_TXN *txn, uint32_t mboxid, uint32_t uid)
{
	struct store_ikey ik;
	DBT k, v;
	int r;

	store_ikey(&ik, mboxid, uid);
	store_dbt_key(&k, &v, &ik, sizeof(ik));
	r = st->mcache->del(st->mcache, txn, &k, 0);
	return r == DB_NOTFOUND ? 0 : r;
}

/* ---- reading ---- */

/* store_crd_check - is rec (len bytes) a record of guid?  Then the
 * cache text past the guid */
static const char *
store_crd_check(const char *rec, size_t len, const char *guid, size_t *len_r)
{
	if (len < STORE_GUID_LEN || memcmp(rec, guid, STORE_GUID_LEN) != 0)
		return NULL;
	*len_r = len - STORE_GUID_LEN;
	return rec + STORE_GUID_LEN;
}

/* store_crd_fill - read the records of mboxid from UID uid on into the
 * reader's bulk page; DB_BUFFER_SMALL when the first is larger */
static int
store_crd_fill(struct store *st, struct store_crd *rd, uint32_t mboxid,
    uint32_t uid)
{
	struct store_ikey ik;
	void *p, *kd, *dd;
	size_t kl, dl;
	DBC *c;
	DBT k, v;
	int r;

	rd->valid = 0;
	rd->nents = 0;
	if (rd->bulk == NULL)
		rd->bulk = xmalloc(STORE_CRD_BULK);
	if ((r = st->mcache->cursor(st->mcache, NULL, &c,
		 DB_READ_UNCOMMITTED)) != 0)
		return r;
	store_ikey(&ik, mboxid, uid);
	store_dbt_cursor(&k, &v, &ik, sizeof(ik));
	v.data = rd->bulk;
	v.ulen = STORE_CRD_BULK;
	v.flags = DB_DBT_USERMEM;
	r = c->get(c, &k, &v, DB_SET_RANGE | DB_MULTIPLE_KEY);
	c->close(c);
	if (r != 0 && r != DB_NOTFOUND)
		return r;
	rd->st = st;
	rd->mboxid = mboxid;
	rd->lo = uid;
	rd->hi = UINT32_MAX; /* the end of the database: all of them */
	rd->valid = 1;
	if (r == DB_NOTFOUND)
		return 0;
	DB_MULTIPLE_INIT(p, &v);
	for (;;) {
		struct store_ikey rk;
		struct store_crd_ent *e;

		DB_MULTIPLE_KEY_NEXT(p, &v, kd, kl, dd, dl);
		if (p == NULL)
			break;
		if (kl != sizeof(rk))
			continue;
		memcpy(&rk, kd, sizeof(rk));
		if (be32toh(rk.mboxid_be) != mboxid)
			return 0; /* past the mailbox: all of them */
		if (rd->nents == rd->ents_size) {
			rd->ents_size = rd->ents_size ? rd->ents_size * 2 : 64;
			rd->ents = xreallocarray(rd->ents, rd->ents_size,
			    sizeof(*rd->ents));
		}
		e = &rd->ents[rd->nents++];
		e->uid = be32toh(rk.uid_be);
		e->data = dd;
		e->len = (uint32_t)dl;
	}
	/* the page ended inside the mailbox: what follows is unknown */
	if (rd->nents > 0)
		rd->hi = rd->ents[rd->nents - 1].uid;
	return 0;
}

/* store_crd_find - uid's record in the reader's page (NULL: none) */
static const struct store_crd_ent *
store_crd_find(const struct store_crd *rd, uint32_t uid)
{
	size_t lo = 0, hi = rd->nents, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (rd->ents[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rd->nents && rd->ents[lo].uid == uid ? &rd->ents[lo] : NULL;
}

/* store_crd_one - the record of key (size bytes) in db, read alone into
 * rd->one; 0, DB_NOTFOUND or Berkeley DB's error */
static int
store_crd_one(DB *db, struct store_crd *rd, const void *key, size_t size)
{
	DBT k, v;
	int r;

	store_dbt_key(&k, &v, key, size);
	buf_reset(&rd->one);
	v.flags = DB_DBT_USERMEM;
	v.data = buf_reserve(&rd->one, 4096);
	v.ulen = (uint32_t)(rd->one.size - rd->one.len);
	r = db->get(db, NULL, &k, &v, DB_READ_UNCOMMITTED);
	if (r == DB_BUFFER_SMALL) {
		v.data = buf_reserve(&rd->one, v.size);
		v.ulen = (uint32_t)(rd->one.size - rd->one.len);
		r = db->get(db, NULL, &k, &v, DB_READ_UNCOMMITTED);
	}
	if (r == 0)
		rd->one.len = v.size;
	return r;
}

/* store_crd_mcache - the record of (mboxid, m) in mcache.db: from the
 * reader's page, read ahead when the UID is past it; 0, DB_NOTFOUND or
 * Berkeley DB's error */
static int
store_crd_mcache(struct store *st, struct store_crd *rd, uint32_t mboxid,
    const struct store_msg *m, const char **rec_r, size_t *len_r)
{
	const struct store_crd_ent *e;
	struct store_ikey ik;
	int r, inpage;

	inpage = rd->valid && rd->st == st && rd->mboxid == mboxid &&
	    m->uid >= rd->lo && m->uid <= rd->hi;
	if (!inpage) {
		r = store_crd_fill(st, rd, mboxid, m->uid);
		if (r != 0 && r != DB_BUFFER_SMALL)
			return r;
	}
	if (rd->valid && (e = store_crd_find(rd, m->uid)) != NULL &&
	    (*rec_r = store_crd_check(e->data, e->len, m->guid, len_r)))
		return 0;
	/* written after the page was read, or larger than a page */
	if (inpage || !rd->valid) {
		store_ikey(&ik, mboxid, m->uid);
		r = store_crd_one(st->mcache, rd, &ik, sizeof(ik));
		if (r != 0)
			return r;
		*rec_r =
		    store_crd_check(rd->one.data, rd->one.len, m->guid, len_r);
		return *rec_r != NULL ? 0 : DB_NOTFOUND;
	}
	return DB_NOTFOUND;
}

/* store_crd_get - the cache text of message m of mboxid: its record, the
 * old cache's (guid), or built from the file; points into rd.  The reads
 * are outside a transaction: one chosen to end a deadlock, or timed out
 * behind a writer, is tried again (it failed FETCH with "mcache:
 * DB_LOCK_DEADLOCK" under concurrent writers) */
static int
store_crd_get(struct store *st, struct store_crd *rd, uint32_t mboxid,
    const struct store_msg *m, const char **rec_r, size_t *len_r,
    const char **error_r)
{
	const char *data;
	size_t len;
	int r, attempt = 0;

	while ((r = store_crd_mcache(st, rd, mboxid, m, rec_r, len_r)) != 0 &&
	    r != DB_NOTFOUND) {
		rd->valid = 0; /* the page may hold a part */
		if ((r = store_conflict_wait(st, attempt++, r)) != 0)
			return store_dberr(st, error_r, "mcache", r);
	}
	if (r == 0)
		return 0;
	attempt = 0;
	while (
	    (r = store_crd_one(st->cache, rd, m->guid, STORE_GUID_LEN)) != 0 &&
	    r != DB_NOTFOUND)
		if ((r = store_conflict_wait(st, attempt++, r)) != 0)
			return store_dberr(st, error_r, "cache", r);
	if (r == 0) {
		*rec_r = rd->one.data;
		*len_r = rd->one.len;
		return 0;
	}
	/* the last record went with an expunge a session has not been
	 * told of yet: the file stays until the sweep */
	if (store_msg_map(st, m->guid, &data, &len, error_r) < 0)
		return -1;
	buf_reset(&rd->one);
	store_cache_build(data, len, &rd->one);
	store_msg_unmap(data, len);
	*rec_r = rd->one.data;
	*len_r = rd->one.len;
	return 0;
}

int
store_msg_cache(struct store *st, struct store_crd *rd, uint32_t mboxid,
    const struct store_msg *m, const char *fields_r[3], const char **error_r)
{
	const char *p, *end;
	size_t len;
	int i;

	if (store_crd_get(st, rd, mboxid, m, &p, &len, error_r) < 0)
		return -1;
	end = p + len;
	/* each field ends in a NUL inside the record: a record cut short
	 * gives "" for what is missing */
	for (i = 0; i < 3; i++) {
		if (p < end && memchr(p, '\0', (size_t)(end - p)) != NULL) {
			fields_r[i] = p;
			p += strlen(p) + 1;
		} else {
			fields_r[i] = "";
			p = end;
		}
	}
	return 0;
}

int
store_msg_header(struct store *st, struct store_crd *rd, uint32_t mboxid,
    const struct store_msg *m, const char **hdr_r, size_t *len_r,
    const char **error_r)
{
	const char *p, *end;
	size_t len;
	int i;

	if (store_crd_get(st, rd, mboxid, m, &p, &len, error_r) < 0)
		return -1;
	end = p + len;
	for (i = 0; i < 3 && p < end; i++)
		p += strnlen(p, (size_t)(end - p)) + 1;
	if (p >= end || *p != 'H')
		return STORE_ENOENT;
	*hdr_r = p + 1;
	*len_r = (size_t)(end - p - 1);
	return 0;
}

/*
 * view_cache - the messages of the big mailboxes this worker read last,
 * as the store had them at a modseq, kept after their sessions left it
 * (parked, logged out, or moved on).  The next session in this worker
 * that selects or resumes one of them reads only what changed since
 * (store_view_delta: records by modseq, the expunges since, the new
 * ones) instead of every record of the mailbox: a parked session
 * resumed after a few changes costs those changes, not the mailbox.
 *
 * Bounds: only mailboxes of view_cache_min messages or more are kept
 * (imapd.conf; a smaller one is listed in about a millisecond), at most
 * VIEW_CACHE_ENTRIES of them and VIEW_CACHE_BYTES in all, the least
 * recently used dropped first.  A record is 24 bytes; keyword lists are
 * kept once per distinct list (VIEW_CACHE_KWS of them at most, else the
 * entry is listed afresh next time).
 *
 * Invariant: an entry holds exactly the mailbox's records as of its
 * modseq (HIGHESTMODSEQ), by ascending UID.  An entry whose mailbox
 * changed UIDVALIDITY, went backwards or failed to update is dropped.
 *
 * Called by view.c (view_open, view_rebuild); the worker's only user of
 * store_view_list_kw.  One process, one session at a time: no locking.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "imapd.h"
#include "log.h"
#include "view_cache.h"
#include "xalloc.h"

#define VIEW_CACHE_ENTRIES 4
#define VIEW_CACHE_BYTES (16u << 20)
#define VIEW_CACHE_KWS 256

static struct view_cache *cache[VIEW_CACHE_ENTRIES];
static unsigned long long cache_tick, cache_hits, cache_misses;

void
view_cache_stats(unsigned long long *hits_r, unsigned long long *misses_r)
{
	*hits_r = cache_hits;
	*misses_r = cache_misses;
}

static size_t
cache_bytes(const struct view_cache *vc)
{
	return vc->size * sizeof(*vc->recs);
}

void
view_cache_free(struct view_cache **vcp)
{
	struct view_cache *vc = *vcp;
	size_t i;

	if (vc == NULL)
		return;
	for (i = 0; i < vc->nkws; i++)
		free(vc->kws[i]);
	free(vc->kws);
	free(vc->recs);
	free(vc);
	*vcp = NULL;
}

/* cache_kw - the index (1-based) of keyword list kws, added if new; 0
 * for none; -1 past VIEW_CACHE_KWS lists */
static int
cache_kw(struct view_cache *vc, const char *kws)
{
	size_t i;

	if (kws == NULL || *kws == '\0')
		return 0;
	for (i = 0; i < vc->nkws; i++)
		if (strcmp(vc->kws[i], kws) == 0)
			return (int)i + 1;
	if (vc->nkws == VIEW_CACHE_KWS)
		return -1;
	vc->kws = xreallocarray(vc->kws, vc->nkws + 1, sizeof(*vc->kws));
	vc->kws[vc->nkws++] = xstrdup(kws);
	return (int)vc->nkws;
}

/* cache_set - rec from the store's record m; -1 when its keywords do
 * not fit */
static int
cache_set(struct view_cache *vc, struct view_cache_rec *rec,
    const struct store_vmsg *m)
{
	int kw = cache_kw(vc, m->keywords);

	if (kw < 0)
		return -1;
	rec->uid = m->uid;
	rec->flags = m->flags;
	rec->kw = (uint32_t)kw;
	rec->modseq = m->modseq;
	return 0;
}

/* cache_append - m[0..n) after the entry's records (ascending UIDs above
 * them) */
static int
cache_append(struct view_cache *vc, const struct store_vmsg *m, size_t n)
{
	size_t i;

	if (vc->n + n > vc->size) {
		vc->size = vc->n + n + (vc->n + n) / 8 + 16;
		vc->recs = xreallocarray(vc->recs, vc->size, sizeof(*vc->recs));
	}
	for (i = 0; i < n; i++)
		if (cache_set(vc, &vc->recs[vc->n++], &m[i]) < 0)
			return -1;
	return 0;
}

/* cache_find - the record of uid, or NULL */
static struct view_cache_rec *
cache_find(struct view_cache *vc, uint32_t uid)
{
	size_t lo = 0, hi = vc->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (vc->recs[mid].uid == uid)
			return &vc->recs[mid];
		if (vc->recs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* cache_list - a new entry: every record of mboxid */
static struct view_cache *
cache_list(struct imap_session *s, uint32_t mboxid, struct store_mbox *mb_r,
    int *r_r, const char **error_r)
{
	struct view_cache *vc;
	struct store_vmsg *msgs;
	char *pool = NULL;
	size_t n;

	*r_r =
	    store_view_list_kw(s->st, mboxid, mb_r, &msgs, &n, &pool, error_r);
	if (*r_r != 0)
		return NULL;
	vc = xcalloc(1, sizeof(*vc));
	vc->mboxid = mboxid;
	vc->uidvalidity = mb_r->uidvalidity;
	vc->modseq = mb_r->highestmodseq;
	if (cache_append(vc, msgs, n) < 0)
		vc->nokeep = 1; /* too many keyword lists: used once */
	free(msgs);
	free(pool);
	return vc;
}

/* cache_update - bring vc up to the store's present; -1 when it cannot
 * be (the caller lists the mailbox afresh) */
static int
cache_update(struct imap_session *s, struct view_cache *vc,
    struct store_mbox *mb_r, const char **error_r)
{
	struct store_view_delta d;
	struct view_cache_rec *rec;
	size_t i, o;
	int any = 0, r = 0;

	if (store_view_delta(s->st, vc->mboxid, vc->modseq, vc->modseq,
		vc->n ? vc->recs[vc->n - 1].uid : 0, &d, error_r) != 0)
		return -1;
	if (d.mb.uidvalidity != vc->uidvalidity ||
	    d.mb.highestmodseq < vc->modseq) {
		store_view_delta_free(&d);
		return -1;
	}
	for (i = 0; i < d.nexpunged; i++)
		if ((rec = cache_find(vc, d.expunged[i])) != NULL) {
			rec->uid = 0;
			any = 1;
		}
	for (i = 0; i < d.nchanged && r == 0; i++)
		if ((rec = cache_find(vc, d.changed[i].uid)) != NULL)
			r = cache_set(vc, rec, &d.changed[i]);
	if (any) {
		for (i = o = 0; i < vc->n; i++)
			if (vc->recs[i].uid != 0)
				vc->recs[o++] = vc->recs[i];
		vc->n = o;
	}
	if (r == 0)
		r = cache_append(vc, d.added, d.nadded);
	vc->modseq = d.mb.highestmodseq;
	*mb_r = d.mb;
	store_view_delta_free(&d);
	return r;
}

struct view_cache *
view_cache_get(struct imap_session *s, uint32_t mboxid, struct store_mbox *mb_r,
    int *r_r, const char **error_r)
{
	struct view_cache *vc;
	size_t i;

	*r_r = 0;
	for (i = 0; i < VIEW_CACHE_ENTRIES; i++) {
		if (cache[i] == NULL || cache[i]->mboxid != mboxid)
			continue;
		vc = cache[i];
		cache[i] = NULL;
		if (cache_update(s, vc, mb_r, error_r) == 0) {
			vc->hit = 1;
			cache_hits++;
			return vc;
		}
		view_cache_free(&vc);
		break;
	}
	vc = cache_list(s, mboxid, mb_r, r_r, error_r);
	if (vc != NULL)
		cache_misses++;
	return vc;
}

/* cache_slot - the slot of the least recently used entry, or of a free
 * one when fresh (-1: every slot busy, none kept) */
static int
cache_slot(int fresh)
{
	int i, best = -1;

	for (i = 0; i < VIEW_CACHE_ENTRIES; i++) {
		if ((cache[i] == NULL) != fresh)
			continue;
		if (fresh)
			return i;
		if (best < 0 || cache[i]->used < cache[best]->used)
			best = i;
	}
	return best;
}

void
view_cache_put(struct view_cache **vcp)
{
	struct view_cache *vc = *vcp;
	long long min = cfg_int("view_cache_min");
	size_t total;
	int i;

	*vcp = NULL;
	if (vc == NULL || min <= 0 || vc->n < (unsigned long long)min ||
	    vc->nokeep || cache_bytes(vc) > VIEW_CACHE_BYTES) {
		view_cache_free(&vc);
		return;
	}
	vc->used = ++cache_tick;
	for (;;) {
		total = cache_bytes(vc);
		for (i = 0; i < VIEW_CACHE_ENTRIES; i++)
			if (cache[i] != NULL)
				total += cache_bytes(cache[i]);
		if (total <= VIEW_CACHE_BYTES && (i = cache_slot(1)) >= 0)
			break;
		/* the least recently used goes */
		i = cache_slot(0);
		view_cache_free(&cache[i]);
	}
	cache[i] = vc;
}

unsigned char *
view_cache_kw_used(const struct view_cache *vc, uint64_t upto)
{
	unsigned char *used = xcalloc(vc->nkws + 1, 1);
	size_t i;

	for (i = 0; i < vc->n; i++)
		if (vc->recs[i].kw != 0 && vc->recs[i].modseq <= upto)
			used[vc->recs[i].kw - 1] = 1;
	return used;
}

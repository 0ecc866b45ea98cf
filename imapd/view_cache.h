/*
 * view_cache - the records of the big mailboxes this worker read last,
 * brought up to date from what changed since (view_cache.c).
 */
#ifndef BERTH_VIEW_CACHE_H
#define BERTH_VIEW_CACHE_H

#include <stdint.h>

#include "store.h"

struct imap_session;

struct view_cache_rec {
	uint32_t uid;
	uint32_t flags; /* STORE_F_* */
	uint32_t kw;	/* keyword list: kws[kw - 1], 0 none */
	uint64_t modseq;
};

struct view_cache {
	uint32_t mboxid, uidvalidity;
	uint64_t modseq; /* the records are the store's as of this */
	struct view_cache_rec *recs; /* by ascending UID */
	size_t n, size;
	char **kws; /* distinct keyword lists, space-separated */
	size_t nkws;
	unsigned long long used; /* LRU */
	int hit;		 /* updated from a kept entry, not listed */
	int nokeep;		 /* too many keyword lists to keep */
};

/*
 * view_cache_get - the records of mboxid as the store has them now, and
 * its mailbox record of the same moment: a kept entry brought up to date
 * (reads what changed since it was), else the mailbox listed.  NULL with
 * *r_r the store's error.  The caller owns the entry until it gives it
 * back with view_cache_put.
 */
struct view_cache *view_cache_get(struct imap_session *s, uint32_t mboxid,
    struct store_mbox *mb_r, int *r_r, const char **error_r);
/* view_cache_put - keep *vcp for the next session if it is worth it and
 * fits (the least recently used make room), else free it; NULLs it */
void view_cache_put(struct view_cache **vcp);
void view_cache_free(struct view_cache **vcp);
/* view_cache_stats - entries brought up to date, mailboxes listed */
void view_cache_stats(unsigned long long *hits_r, unsigned long long *misses_r);
/* view_cache_kw_used - which keyword lists records with modseq up to
 * upto carry: nkws flags, malloc'ed */
unsigned char *view_cache_kw_used(const struct view_cache *vc, uint64_t upto);

#endif

/*
 * search_fts - SEARCH TEXT and BODY through the user's full-text index
 * (lib/fts): the index is caught up with the selected mailbox first
 * (new messages indexed for at most SEARCH_FTS_BUDGET_MS, expunged ones
 * forgotten), then asked for every text key of the program; what it
 * has not reached yet is left to reading the messages (search.c).
 *
 * The index is never needed for an answer: with search_engine: none,
 * or when it cannot be opened, caught up or asked, the keys are matched
 * by reading the messages, and the failure is logged once per user in
 * this process (a damaged index would otherwise log on every SEARCH;
 * berthctl fts rebuild makes it anew).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "clock.h"
#include "fts.h"
#include "imapd.h"
#include "log.h"
#include "search.h"
#include "search_fts.h"

/* catching up at SEARCH time stops after this long; the messages not
 * yet indexed are read instead, and the next SEARCH goes on */
#define SEARCH_FTS_BUDGET_MS 60000
/* records read at once to catch up: a batch's memory, not a mailbox's */
#define SEARCH_FTS_RECORDS 256

struct search_fts {
	struct imap_session *s;
	struct fts *f;
	int failed;
};

/* search_fts_warn - log a failure of the index once per user */
static void
search_fts_warn(struct imap_session *s, const char *what, const char *err)
{
	static char warned[sizeof(s->user)];

	if (strcmp(warned, s->user) == 0)
		return;
	snprintf(warned, sizeof(warned), "%s", s->user);
	log_warn("fts unavailable user=%s addr=%s mailbox=%s step=%s "
		 "error=\"%s\" fallback=scan",
	    s->user, s->addr, s->view.name, what, err);
}

static int
search_fts_key(const char *needle, int hdr, uint32_t **uids_r, size_t *n_r,
    void *ctx)
{
	struct search_fts *x = ctx;
	struct err e;

	if (x->failed)
		return -1;
	if (fts_search(x->f, x->s->view.mboxid, needle,
		hdr ? FTS_HDR | FTS_BODY : FTS_BODY, uids_r, n_r, &e) < 0) {
		search_fts_warn(x->s, "search", e.msg);
		x->failed = 1;
		return -1;
	}
	return 0;
}

/* search_fts_sync - catch the index up with the view's messages, read
 * SEARCH_FTS_RECORDS records at a time (a batch's memory, whatever the
 * mailbox), for at most SEARCH_FTS_BUDGET_MS; *upto_r as fts_sync's */
static void
search_fts_sync(struct search_fts *x, uint32_t *upto_r)
{
	struct imap_session *s = x->s;
	struct imap_view *v = &s->view;
	long long end = clock_mono_ms() + SEARCH_FTS_BUDGET_MS, left;
	struct store_msg *msgs = NULL;
	const char *err;
	size_t b = 0, k, n = 0;
	struct err e;

	do {
		k = v->n - b < SEARCH_FTS_RECORDS ? v->n - b
						  : SEARCH_FTS_RECORDS;
		if (k > 0 &&
		    store_msg_range(s->st, v->mboxid, v->msgs[b].uid,
			v->msgs[b + k - 1].uid, 0, &msgs, &n, &err) != 0) {
			search_fts_warn(s, "records", err);
			return;
		}
		/* a failed sync (another writer past FTS_BUSY_MS) still
		 * leaves what was committed up to *upto_r */
		left = end - clock_mono_ms();
		if (fts_sync(x->f, s->st, v->mboxid, v->modseq, msgs, n,
			left > 0 ? left : 1, upto_r, &e) < 0) {
			search_fts_warn(s, "sync", e.msg);
			k = v->n - b; /* no further batch */
		}
		free(msgs);
		msgs = NULL;
		n = 0;
		b += k;
	} while (b < v->n && clock_mono_ms() < end);
}

void
search_fts_prepare(struct imap_session *s, const struct search_prog *p)
{
	struct search_fts x = { s, NULL, 0 };
	uint32_t upto = 0;
	struct err e;

	if (!search_has_text(p) ||
	    strcasecmp(cfg_str("search_engine"), "none") == 0)
		return;
	if (fts_open(cfg_str("configdirectory"), s->user, &x.f, &e) < 0) {
		search_fts_warn(s, "open", e.msg);
		return;
	}
	search_fts_sync(&x, &upto);
	if (upto > 0)
		search_answer_text(p, upto, search_fts_key, &x);
	fts_close(&x.f);
}

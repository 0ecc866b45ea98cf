/*
 * indexd_index - one user's mailboxes into the full-text index (lib/fts):
 * for each mailbox the index is behind, the records above the last UID
 * indexed, INDEXD_RECORDS at a time (a batch's memory, whatever the
 * mailbox), each batch one committed transaction.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "cfg.h"
#include "clock.h"
#include "fts.h"
#include "indexd.h"
#include "log.h"
#include "store.h"
#include "xalloc.h"

#define INDEXD_RECORDS 256

struct index_boxes {
	struct store_mbox *mb;
	size_t n;
};

static int
index_box(const char *name, const struct store_mbox *mb, void *ctx)
{
	struct index_boxes *b = ctx;

	(void)name;
	if (mb->attrs & STORE_MBOX_NOSELECT)
		return 0;
	b->mb = xreallocarray(b->mb, b->n + 1, sizeof(*b->mb));
	b->mb[b->n++] = *mb;
	return 0;
}

/* index_mbox - mailbox mb up to end_ms: 1 more to do, 0 done, -1 or
 * FTS_EDAMAGED failed */
static int
index_mbox(struct store *st, struct fts *f, const struct store_mbox *mb,
    long long end_ms, size_t *msgs_r, struct err *e)
{
	struct store_msg *msgs = NULL;
	uint64_t modseq;
	uint32_t last, upto;
	const char *err;
	long long left;
	size_t n, i;
	uint32_t top;
	int r;

	if ((r = fts_indexed(f, mb->id, &last, &modseq, e)) < 0)
		return r;
	if (last + 1 >= mb->uidnext && modseq >= mb->highestmodseq)
		return 0;
	for (;;) {
		if ((left = end_ms - clock_mono_ms()) <= 0)
			return 1;
		if (store_msg_range(st, mb->id, last + 1, UINT32_MAX,
			INDEXD_RECORDS, &msgs, &n, &err) < 0)
			return err_set(e, "records: %s", err);
		r = fts_sync(f, st, mb->id, mb->highestmodseq, msgs, n, left,
		    &upto, e);
		for (i = 0; i < n && msgs[i].uid <= upto; i++)
			(*msgs_r)++;
		top = n > 0 ? msgs[n - 1].uid : 0;
		free(msgs);
		if (r < 0)
			return r;
		if (upto < top)
			return 1; /* the time ran out inside the batch */
		if (n < INDEXD_RECORDS)
			return 0;
		last = upto;
	}
}

/* index_boxes - every mailbox of b into f until end_ms (as index_mbox) */
static int
index_boxes(struct store *st, struct fts *f, const struct index_boxes *b,
    long long end_ms, size_t *msgs_r, struct err *e)
{
	size_t i;
	int r, more = 0;

	for (i = 0; i < b->n; i++) {
		if ((r = index_mbox(st, f, &b->mb[i], end_ms, msgs_r, e)) < 0)
			return r;
		more |= r;
	}
	return more;
}

/* index_open - user's index, made anew when damaged */
static int
index_open(const char *user, struct fts **f_r, struct err *e)
{
	const char *dir = cfg_str("configdirectory");
	int r = fts_open(dir, user, f_r, e);

	if (r != FTS_EDAMAGED)
		return r;
	log_warn("index damaged user=%s error=\"%s\" action=rebuild", user,
	    e->msg);
	if (fts_remove(dir, user, e) < 0)
		return -1;
	return fts_open(dir, user, f_r, e);
}

int
indexd_index_user(struct store *st, const char *user, long long budget_ms,
    size_t *msgs_r)
{
	struct index_boxes b = { NULL, 0 };
	long long end = clock_mono_ms() + budget_ms;
	struct fts *f = NULL;
	const char *err;
	struct err e;
	int r;

	*msgs_r = 0;
	if (store_mbox_list(st, user, index_box, &b, &err) < 0) {
		log_warn("index user=%s step=mailboxes error=\"%s\"", user,
		    err);
		return -1;
	}
	r = b.n == 0 ? 0 : index_open(user, &f, &e);
	if (r == 0 && b.n > 0) {
		r = index_boxes(st, f, &b, end, msgs_r, &e);
		if (r == FTS_EDAMAGED) {
			/* damaged under us: made anew from the start */
			fts_close(&f);
			log_warn("index damaged user=%s error=\"%s\" "
				 "action=rebuild",
			    user, e.msg);
			r = fts_remove(cfg_str("configdirectory"), user, &e) < 0
			    ? -1
			    : 1;
		}
	}
	if (r < 0)
		log_warn("index user=%s error=\"%s\" retry=next-notice", user,
		    e.msg);
	fts_close(&f);
	free(b.mb);
	return r;
}

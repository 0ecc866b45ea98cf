/*
 * ctl_fts - berthctl fts: the users' full-text indexes (lib/fts).
 *
 *   fts update [USER]    index what is new in every mailbox (every user
 *                        of the store without USER): run it from EVENTS
 *                        to keep the indexes close behind delivery
 *   fts rebuild [USER]   remove the index and make it anew (a damaged
 *                        index, or mailboxes deleted since)
 *   fts status [USER]    how far each mailbox is indexed, changing
 *                        nothing in it: one line per mailbox, user=,
 *                        mailbox=, messages=, indexed_uid=, pending=
 *                        (messages above indexed_uid)
 *
 * update and rebuild: one line per user: user=, mailboxes=, messages=,
 * texts=, ms=.
 * Indexing takes the same write lock a SEARCH catching up takes; either
 * waits for the other (FTS_BUSY_MS), and both commit as they go.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "clock.h"
#include "ctl.h"
#include "fts.h"
#include "log.h"
#include "store.h"
#include "xalloc.h"

struct ctl_fts_boxes {
	uint32_t *ids;
	char **names;
	size_t n;
};

static int
ctl_fts_box(const char *name, const struct store_mbox *mb, void *ctx)
{
	struct ctl_fts_boxes *b = ctx;

	if (mb->attrs & STORE_MBOX_NOSELECT)
		return 0;
	b->ids = xreallocarray(b->ids, b->n + 1, sizeof(*b->ids));
	b->names = xreallocarray(b->names, b->n + 1, sizeof(*b->names));
	b->ids[b->n] = mb->id;
	b->names[b->n++] = xstrdup(name);
	return 0;
}

static void
ctl_fts_boxes_free(struct ctl_fts_boxes *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->names[i]);
	free(b->names);
	free(b->ids);
}

/* ctl_fts_sync - every mailbox of user into f */
static int
ctl_fts_sync(struct store *st, struct fts *f, const char *user, size_t *nbox_r,
    struct err *e)
{
	struct ctl_fts_boxes b = { NULL, NULL, 0 };
	struct store_msg *msgs;
	struct store_mbox mb;
	const char *err;
	uint32_t upto;
	size_t i, n;
	int r = 0;

	if (store_mbox_list(st, user, ctl_fts_box, &b, &err) < 0)
		return err_set(e, "mailboxes: %s", err);
	for (i = 0; i < b.n && r == 0; i++) {
		if (store_msg_list(st, b.ids[i], &mb, &msgs, &n, &err) < 0) {
			r = err_set(e, "messages: %s", err);
			break;
		}
		r = fts_sync(f, st, b.ids[i], mb.highestmodseq, msgs, n, 0,
		    &upto, e);
		free(msgs);
	}
	*nbox_r = b.n;
	ctl_fts_boxes_free(&b);
	return r;
}

/* ctl_fts_status - how far each mailbox of user is indexed */
static int
ctl_fts_status(struct store *st, const char *user)
{
	struct ctl_fts_boxes b = { NULL, NULL, 0 };
	struct store_msg *msgs;
	struct store_mbox mb;
	struct fts *f = NULL;
	const char *err;
	uint64_t modseq;
	uint32_t upto;
	size_t i, n, k;
	struct err e;
	int r = 0;

	if (store_mbox_list(st, user, ctl_fts_box, &b, &err) < 0)
		return ctl_error("fts user=%s: mailboxes: %s", user, err);
	if (fts_open(cfg_str("configdirectory"), user, &f, &e) < 0) {
		ctl_fts_boxes_free(&b);
		return ctl_error("fts user=%s: %s", user, e.msg);
	}
	for (i = 0; i < b.n && r == 0; i++) {
		if (fts_indexed(f, b.ids[i], &upto, &modseq, &e) < 0) {
			r = ctl_error("fts user=%s: %s", user, e.msg);
			break;
		}
		if (store_msg_list(st, b.ids[i], &mb, &msgs, &n, &err) < 0) {
			r = ctl_error("fts user=%s: messages: %s", user, err);
			break;
		}
		for (k = 0; k < n && msgs[k].uid <= upto; k++)
			;
		(void)printf("fts status user=%s mailbox=%s messages=%zu "
			     "indexed_uid=%u pending=%zu\n",
		    user, b.names[i], n, upto, n - k);
		free(msgs);
	}
	fts_close(&f);
	ctl_fts_boxes_free(&b);
	return r;
}

static int
ctl_fts_user(struct store *st, const char *user, int rebuild)
{
	const char *dir = cfg_str("configdirectory");
	long long t0 = clock_mono_ms();
	uint64_t msgs = 0, docs = 0;
	struct fts *f;
	struct err e;
	size_t nbox = 0;

	if (rebuild && fts_remove(dir, user, &e) < 0)
		return ctl_error("fts user=%s: %s", user, e.msg);
	if (fts_open(dir, user, &f, &e) < 0)
		return ctl_error("fts user=%s: %s", user, e.msg);
	if (ctl_fts_sync(st, f, user, &nbox, &e) < 0 ||
	    fts_count(f, &msgs, &docs, &e) < 0) {
		fts_close(&f);
		return ctl_error("fts user=%s: %s", user, e.msg);
	}
	fts_close(&f);
	(void)printf("fts %s user=%s mailboxes=%zu messages=%llu texts=%llu "
		     "ms=%lld\n",
	    rebuild ? "rebuild" : "update", user, nbox,
	    (unsigned long long)msgs, (unsigned long long)docs,
	    clock_mono_ms() - t0);
	log_info("fts %s user=%s mailboxes=%zu messages=%llu",
	    rebuild ? "rebuild" : "update", user, nbox,
	    (unsigned long long)msgs);
	return 0;
}

int
ctl_fts(int argc, char **argv)
{
	struct store *st;
	struct err oerr;
	const char *err;
	char **users = NULL;
	size_t n = 0, i;
	int rebuild, status, r = 0;

	if (argc < 2 || argc > 3 ||
	    (strcmp(argv[1], "update") != 0 &&
		strcmp(argv[1], "rebuild") != 0 &&
		strcmp(argv[1], "status") != 0))
		return ctl_usage_error("fts",
		    "update, rebuild or status [USER]");
	rebuild = strcmp(argv[1], "rebuild") == 0;
	status = strcmp(argv[1], "status") == 0;
	if (store_open(cfg_str("configdirectory"), ctl_partition(),
		STORE_OPEN_CREATE, &st, &oerr) < 0)
		return ctl_error("fts: %s", oerr.msg);
	if (argc == 3) {
		users = xcalloc(1, sizeof(*users));
		users[n++] = xstrdup(argv[2]);
	} else if (store_users(st, &users, &n, &err) < 0) {
		store_close(&st);
		return ctl_error("fts: %s", err);
	}
	for (i = 0; i < n; i++) {
		if ((status ? ctl_fts_status(st, users[i])
			    : ctl_fts_user(st, users[i], rebuild)) != 0)
			r = 1;
		free(users[i]);
	}
	free(users);
	store_close(&st);
	return r;
}

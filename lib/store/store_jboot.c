/*
 * store_jboot - users' journals written from the database, for stores
 * whose mail predates the journals (store_journal.c): without this,
 * reconstruct would find nothing to rebuild them from.
 *
 * For each mailbox, one transaction reads the mailbox record, its
 * messages and its expunges and queues them as journal lines through the
 * journal's own functions (store_jnl_*); store_run appends them to the
 * user's journal after the commit, as for any write.  The lines are the
 * records as they are, so appending them to a journal that already
 * holds some of them changes nothing in its replay, and a writer's lines
 * for the same records carry a higher jseq or modseq and win whichever
 * lands first: it is safe to run while serving, and twice.
 *
 * The meta record "journal" says that every user's journal is complete:
 * written on a new installation, after a whole reconstruct, and after a
 * bootstrap of every user (store_recover does one when the mark is
 * missing).
 *
 * Reads use DB_READ_COMMITTED cursors so that a large mailbox holds no
 * read locks on every page it has passed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"
#include "xalloc.h"

#define STORE_JOURNAL_KEY "journal"

struct store_jboot_arg {
	struct store *st;
	const char *user, *name;
	size_t msgs, expunged, subs;
};

/* store_jboot_rows - queue a line for each record of mailbox id in db
 * (index: I lines; expunged: X lines) */
static int
store_jboot_rows(struct store *st, DB_TXN *txn, DB *db, uint32_t id,
    size_t *n_r)
{
	struct store_ikey ik;
	struct store_msg m;
	uint64_t ms;
	DBC *c;
	DBT k, v;
	int r;

	if ((r = db->cursor(db, txn, &c, DB_READ_COMMITTED)) != 0)
		return r;
	store_ikey(&ik, id, 0);
	store_dbt_cursor(&k, &v, &ik, sizeof(ik));
	for (r = c->get(c, &k, &v, DB_SET_RANGE); r == 0;
	     r = c->get(c, &k, &v, DB_NEXT)) {
		if (be32toh(ik.mboxid_be) != id)
			break;
		if (db == st->index) {
			store_msg_decode(&v, &m);
			store_jnl_msg(st, id, &m);
		} else {
			ms = 0;
			memcpy(&ms, v.data, v.size < 8 ? v.size : 8);
			store_jnl_expunge(st, id, be32toh(ik.uid_be), ms);
		}
		(*n_r)++;
	}
	c->close(c);
	return r == DB_NOTFOUND ? 0 : r;
}

/* store_op_jboot_mbox - queue the lines of one mailbox */
static int
store_op_jboot_mbox(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_jboot_arg *a = varg;
	struct store_mrec rec;
	int r;

	a->msgs = a->expunged = 0;
	if ((r = store_mrec_get(st, txn, a->user, a->name, &rec, 0)) != 0)
		return r == DB_NOTFOUND ? 0 : r; /* gone meanwhile */
	store_jnl_mbox(st, a->user, a->name, &rec);
	if ((r = store_jboot_rows(st, txn, st->index, rec.mb.id, &a->msgs)) !=
	    0)
		return r;
	return store_jboot_rows(st, txn, st->expunged, rec.mb.id, &a->expunged);
}

/* store_op_jboot_subs - queue the user's subscriptions */
static int
store_jboot_sub(const char *name, void *ctx)
{
	struct store_jboot_arg *a = ctx;

	store_jnl_sub(a->st, a->user, name, 1);
	a->subs++;
	return 0;
}

static int
store_op_jboot_subs(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_jboot_arg *a = varg;

	a->st = st;
	a->subs = 0;
	return store_sub_walk(st, txn, DB_READ_COMMITTED, a->user, 0,
	    store_jboot_sub, a);
}

int
store_jboot_user(struct store *st, const char *user, store_report_fn *fn,
    void *ctx, const char **error_r)
{
	struct store_jboot_arg a;
	size_t n, i, mboxes = 0, msgs = 0, expunged = 0;
	char **names;
	char line[1200];
	int r, quiet = st->jquiet;

	memset(&a, 0, sizeof(a));
	a.user = user;
	if ((r = store_user_names(st, NULL, user, &names, &n)) != 0)
		return store_dberr(st, error_r, "mailboxes", r);
	st->jquiet = 0;
	for (i = 0, r = 0; i < n && r == 0; i++) {
		a.name = names[i];
		if ((r = store_run(st, store_op_jboot_mbox, &a, error_r)) ==
		    0) {
			mboxes++;
			msgs += a.msgs;
			expunged += a.expunged;
		}
	}
	if (r == 0)
		r = store_run(st, store_op_jboot_subs, &a, error_r);
	st->jquiet = quiet;
	store_names_free(names, n);
	if (r != 0)
		return -1;
	if (fn != NULL) {
		snprintf(line, sizeof(line),
		    "journal written user=%.1000s "
		    "mailboxes=%zu messages=%zu expunged=%zu "
		    "subscriptions=%zu (from the database)",
		    user, mboxes, msgs, expunged, a.subs);
		fn(line, ctx);
	}
	return 0;
}

int
store_jboot_all(struct store *st, store_report_fn *fn, void *ctx,
    const char **error_r)
{
	char **users;
	size_t n, i;
	int r = 0;

	if (store_users(st, &users, &n, error_r) < 0)
		return -1;
	for (i = 0; i < n && r == 0; i++)
		r = store_jboot_user(st, users[i], fn, ctx, error_r);
	store_names_free(users, n);
	if (r != 0)
		return -1;
	return store_jboot_mark(st, error_r);
}

int
store_meta_marked(struct store *st, const char *key, const char **error_r)
{
	DBT k, v;
	int r;

	store_dbt_key(&k, &v, key, strlen(key));
	v.flags = DB_DBT_MALLOC;
	r = st->meta->get(st->meta, NULL, &k, &v, DB_READ_COMMITTED);
	if (r == 0) {
		free(v.data);
		return 1;
	}
	if (r != DB_NOTFOUND)
		return store_dberr(st, error_r, "meta", r);
	return 0;
}

int
store_jboot_marked(struct store *st, const char **error_r)
{
	return store_meta_marked(st, STORE_JOURNAL_KEY, error_r);
}

int
store_jboot_mark(struct store *st, const char **error_r)
{
	DBT k, v;
	int64_t now = (int64_t)time(NULL);
	int r;

	store_dbt_key(&k, &v, STORE_JOURNAL_KEY, strlen(STORE_JOURNAL_KEY));
	v.data = &now;
	v.size = sizeof(now);
	if ((r = st->meta->put(st->meta, NULL, &k, &v, DB_AUTO_COMMIT)) != 0)
		return store_dberr(st, error_r, "meta journal", r);
	return 0;
}

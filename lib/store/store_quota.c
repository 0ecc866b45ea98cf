/*
 * store_quota - per-user quota (RFC 9208 STORAGE and MESSAGE): what each
 * user's mailboxes hold, and the limits set for the user.
 *
 * quota.db: "<user>" -> struct store_qrec.  The usage is kept by the
 * store itself: every write of a mailbox record (store_mrec_put) and
 * every removal (store_mrec_del) adds the difference it makes to the
 * mailbox's size and message count, in the same transaction, so the
 * usage is always the sum of the user's mailbox records (berthctl check
 * compares them).  A write that adds messages (APPEND, COPY, delivery)
 * asks store_quota_admit first, inside its transaction, with the usage
 * record locked: two writers can never both pass a check that only one
 * of them fits.  Expunges, deletes and MOVE (which adds nothing) are
 * never refused, so a user over quota can always make room.
 *
 * Limits: each resource is the user's own (store_quota_set), or the
 * handle's default (store_quota_set_default, from the configuration),
 * or none.  Storage limits are in units of 1024 octets, as RFC 9208
 * counts them; the usage is kept in octets and compared exactly.
 *
 * Does not: decide who may set limits (imapd and berthctl do), log.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "xalloc.h"

#define STORE_QREC_VERSION 1

/* value of quota.db */
struct store_qrec {
	uint32_t version;
	uint32_t pad;
	int64_t storage; /* octets in the user's mailboxes */
	int64_t messages;
	uint64_t storage_limit; /* KiB, or STORE_QUOTA_DEFAULT/NONE */
	uint64_t message_limit;
};

void
store_quota_set_default(struct store *st, uint64_t storage_kib,
    uint64_t messages)
{
	st->quota_storage_default =
	    storage_kib ? storage_kib : STORE_QUOTA_NONE;
	st->quota_message_default = messages ? messages : STORE_QUOTA_NONE;
}

/* store_qrec_get - user's record in txn (zero usage, default limits if
 * none); rmw: lock it for the update to come */
static int
store_qrec_get(struct store *st, DB_TXN *txn, const char *user,
    struct store_qrec *q, int rmw)
{
	DBT k, v;
	int r;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	memset(q, 0, sizeof(*q));
	k.data = (void *)user;
	k.size = (uint32_t)strlen(user);
	v.data = q;
	v.ulen = sizeof(*q);
	v.flags = DB_DBT_USERMEM;
	r = st->quota->get(st->quota, txn, &k, &v,
	    rmw		      ? DB_RMW
		: txn == NULL ? DB_READ_UNCOMMITTED
			      : 0);
	if (r == DB_NOTFOUND) {
		memset(q, 0, sizeof(*q));
		q->storage_limit = STORE_QUOTA_DEFAULT;
		q->message_limit = STORE_QUOTA_DEFAULT;
		return 0;
	}
	return r;
}

static int
store_qrec_put(struct store *st, DB_TXN *txn, const char *user,
    struct store_qrec *q)
{
	DBT k, v;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	q->version = STORE_QREC_VERSION;
	k.data = (void *)user;
	k.size = (uint32_t)strlen(user);
	v.data = q;
	v.size = sizeof(*q);
	return st->quota->put(st->quota, txn, &k, &v, 0);
}

int
store_quota_account(struct store *st, DB_TXN *txn, const char *user,
    int64_t storage, int64_t messages)
{
	struct store_qrec q;
	int r;

	if (storage == 0 && messages == 0)
		return 0;
	if ((r = store_qrec_get(st, txn, user, &q, 1)) != 0)
		return r;
	q.storage += storage;
	q.messages += messages;
	return store_qrec_put(st, txn, user, &q);
}

/* store_quota_limits - the limits that apply to q's user */
static void
store_quota_limits(struct store *st, const struct store_qrec *q,
    struct store_quota *out)
{
	out->storage_own = q->storage_limit != STORE_QUOTA_DEFAULT;
	out->message_own = q->message_limit != STORE_QUOTA_DEFAULT;
	out->storage_limit =
	    out->storage_own ? q->storage_limit : st->quota_storage_default;
	out->message_limit =
	    out->message_own ? q->message_limit : st->quota_message_default;
}

int
store_quota_admit(struct store *st, DB_TXN *txn, const char *user,
    uint64_t storage, uint64_t messages)
{
	struct store_quota lim;
	struct store_qrec q;
	int r;

	if ((r = store_qrec_get(st, txn, user, &q, 1)) != 0)
		return r;
	store_quota_limits(st, &q, &lim);
	if (messages > 0 && lim.message_limit != STORE_QUOTA_NONE &&
	    (uint64_t)q.messages + messages > lim.message_limit)
		return STORE_EQUOTA;
	if (storage > 0 && lim.storage_limit != STORE_QUOTA_NONE &&
	    (uint64_t)q.storage + storage > lim.storage_limit * 1024)
		return STORE_EQUOTA;
	return 0;
}

struct store_quota_arg {
	const char *user;
	uint64_t storage_limit, message_limit;
	struct store_quota *q;
};

static int
store_op_quota_get(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_quota_arg *a = varg;
	struct store_qrec q;
	int r;

	if ((r = store_qrec_get(st, txn, a->user, &q, 0)) != 0)
		return r;
	store_quota_limits(st, &q, a->q);
	a->q->storage = q.storage < 0 ? 0 : (uint64_t)q.storage;
	a->q->messages = q.messages < 0 ? 0 : (uint64_t)q.messages;
	return 0;
}

int
store_quota_get(struct store *st, const char *user, struct store_quota *q_r,
    const char **error_r)
{
	struct store_quota_arg a = { user, 0, 0, q_r };

	memset(q_r, 0, sizeof(*q_r));
	return store_run(st, store_op_quota_get, &a, error_r);
}

static int
store_op_quota_set(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_quota_arg *a = varg;
	struct store_qrec q;
	int r;

	if ((r = store_qrec_get(st, txn, a->user, &q, 1)) != 0)
		return r;
	if (a->storage_limit != STORE_QUOTA_KEEP)
		q.storage_limit = a->storage_limit;
	if (a->message_limit != STORE_QUOTA_KEEP)
		q.message_limit = a->message_limit;
	store_jnl_quota(st, a->user, q.storage_limit, q.message_limit);
	return store_qrec_put(st, txn, a->user, &q);
}

int
store_quota_set(struct store *st, const char *user, uint64_t storage_limit,
    uint64_t message_limit, const char **error_r)
{
	struct store_quota_arg a = { user, storage_limit, message_limit, NULL };

	if (user[0] == '\0') {
		store_fail(st, error_r, "no user");
		return STORE_EINVAL;
	}
	return store_run(st, store_op_quota_set, &a, error_r);
}

struct store_qsum_arg {
	const char *user;
	int64_t storage, messages;
	struct store_qrec q;
};

/* store_op_quota_sum - the user's record and the sum of its mailbox
 * records, as of one transaction */
static int
store_op_quota_sum(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_qsum_arg *a = varg;
	struct store_mrec rec;
	char **names;
	size_t n, i;
	int r;

	a->storage = a->messages = 0;
	if ((r = store_qrec_get(st, txn, a->user, &a->q, 0)) != 0)
		return r;
	if ((r = store_user_names(st, txn, a->user, &names, &n)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		if ((r = store_mrec_get(st, txn, a->user, names[i], &rec, 0)) ==
		    DB_NOTFOUND) {
			r = 0;
			continue;
		}
		a->storage += (int64_t)rec.mb.size;
		a->messages += rec.mb.exists;
	}
	store_names_free(names, n);
	return r;
}

/* store_op_quota_recount - user's usage := the sum of its mailboxes */
static int
store_op_quota_recount(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_qsum_arg *a = varg;
	int r;

	if ((r = store_op_quota_sum(st, txn, a)) != 0 ||
	    (r = store_qrec_get(st, txn, a->user, &a->q, 1)) != 0)
		return r;
	a->q.storage = a->storage;
	a->q.messages = a->messages;
	return store_qrec_put(st, txn, a->user, &a->q);
}

int
store_quota_recount(struct store *st, const char *user, const char **error_r)
{
	struct store_qsum_arg a;

	memset(&a, 0, sizeof(a));
	a.user = user;
	return store_run(st, store_op_quota_recount, &a, error_r);
}

/*
 * store_quota_boot - at recovery, alone: every user's usage recounted
 * from its mailbox records.  Whatever wrote those without
 * store_mrec_put/store_mrec_del (the journal replay of store_redo; a
 * store older than quota.db) is accounted for; a pass over the mailbox
 * records, once per start.
 */
int
store_quota_boot(struct store *st, const char **error_r)
{
	char **users;
	size_t n, i;
	int r;

	if (store_users(st, &users, &n, error_r) < 0)
		return -1;
	for (i = 0, r = 0; i < n && r == 0; i++)
		r = store_quota_recount(st, users[i], error_r);
	store_names_free(users, n);
	return r == 0 ? 0 : -1;
}

/* store_quota_word - a limit for a report line */
static const char *
store_quota_word(uint64_t v, char *buf, size_t size)
{
	if (v == STORE_QUOTA_DEFAULT)
		return "default";
	if (v == STORE_QUOTA_NONE)
		return "none";
	snprintf(buf, size, "%llu", (unsigned long long)v);
	return buf;
}

int
store_quota_check(struct store *st, const char *user,
    const struct store_jstate *js, store_report_fn *fn, void *ctx,
    const char **error_r)
{
	struct store_qsum_arg a;
	uint64_t js_s, js_m;
	char line[1024], b1[32], b2[32], b3[32], b4[32];
	int diffs = 0;

	memset(&a, 0, sizeof(a));
	a.user = user;
	if (store_run(st, store_op_quota_sum, &a, error_r) != 0)
		return -1;
	if (a.q.storage != a.storage || a.q.messages != a.messages) {
		snprintf(line, sizeof(line),
		    "differ user=%s quota usage: "
		    "storage=%lld messages=%lld, mailboxes hold storage=%lld "
		    "messages=%lld",
		    user, (long long)a.q.storage, (long long)a.q.messages,
		    (long long)a.storage, (long long)a.messages);
		fn(line, ctx);
		diffs++;
	}
	js_s = js->has_quota ? js->quota_storage : STORE_QUOTA_DEFAULT;
	js_m = js->has_quota ? js->quota_messages : STORE_QUOTA_DEFAULT;
	if (js_s != a.q.storage_limit || js_m != a.q.message_limit) {
		snprintf(line, sizeof(line),
		    "differ user=%s quota limits: "
		    "database storage=%s messages=%s, journal storage=%s "
		    "messages=%s",
		    user, store_quota_word(a.q.storage_limit, b1, sizeof(b1)),
		    store_quota_word(a.q.message_limit, b2, sizeof(b2)),
		    store_quota_word(js_s, b3, sizeof(b3)),
		    store_quota_word(js_m, b4, sizeof(b4)));
		fn(line, ctx);
		diffs++;
	}
	return diffs;
}

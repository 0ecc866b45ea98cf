/*
 * store_import - what berthctl import needs beyond APPEND: a new
 * mailbox given the UIDVALIDITY its source had, so that clients which
 * knew the old server's mailbox need download nothing again.  (Keeping
 * the source's UIDs is store_append's opt->uid.)
 */
#include "config.h"

#include <string.h>

#include "store_int.h"

struct store_uv_arg {
	const char *user, *name;
	uint32_t uv;
};

static int
store_op_set_uv(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_uv_arg *a = varg;
	struct store_mrec rec;
	uint32_t x;
	int r;

	if ((r = store_mrec_get(st, txn, a->user, a->name, &rec, 1)) != 0)
		return r == DB_NOTFOUND ? STORE_ENOENT : r;
	if (rec.mb.uidvalidity == a->uv)
		return 0;
	/* a UIDVALIDITY changes only while no client can know a UID */
	if (rec.mb.uidnext != 1 || rec.mb.exists != 0)
		return STORE_EEXIST;
	rec.mb.uidvalidity = a->uv;
	if ((r = store_mrec_put(st, txn, a->user, a->name, &rec,
		 STORE_EV_MAILBOXNAME)) != 0)
		return r;
	/* the counter never hands it out again */
	return store_meta_next(st, txn, "uidvalidity", a->uv, &x);
}

int
store_mbox_set_uidvalidity(struct store *st, const char *user, const char *name,
    uint32_t uv, const char **error_r)
{
	struct store_uv_arg a;
	int r;

	if (uv == 0)
		return STORE_EINVAL;
	a.user = user;
	a.name = name;
	a.uv = uv;
	r = store_run(st, store_op_set_uv, &a, error_r);
	if (r == STORE_EEXIST)
		store_fail(st, error_r,
		    "mailbox %s has held messages: its "
		    "UIDVALIDITY stays",
		    name);
	return r;
}

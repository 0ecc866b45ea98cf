/*
 * store_deliver - delivery of one received message to many mailboxes:
 * the spool file that becomes the message file, the records of every
 * recipient's copy, and the table of deliveries already made (dup.db)
 * that suppresses an MTA's retry of a message it thinks was lost.
 *
 * Invariants: a record is never written before its file is linked under
 * its content name, fsync'd with its directory when it is large, or with
 * its bytes in an F line of the transaction's journal when it is small;
 * a recipient's record, its mailbox counters and its dup entry are in
 * one transaction.  Does not decide
 * where mail goes (lmtpd does) and never logs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "store_int.h"
#include "xalloc.h"

#define STORE_PRUNE_BATCH 500 /* dup entries examined per transaction */

int
store_spool_open(struct store *st, int *fd_r, char **path_r,
    const char **error_r)
{
	static unsigned seq;
	char *path;
	int fd;

	path = xasprintf("%s/tmp/spool.%d.%u.%lld", st->partdir, (int)getpid(),
	    ++seq, (long long)time(NULL));
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		store_fail(st, error_r, "create %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	*fd_r = fd;
	*path_r = path;
	return 0;
}

/* store_spool_name - give the fsync'd spool file at path its content
 * name guid (or drop it when the same bytes are stored already) */
static int
store_spool_name(struct store *st, const char *path, const char *guid, int sync,
    const char **error_r)
{
	char *final = store_file_path(st, guid);
	int r;

	if (utimensat(AT_FDCWD, final, NULL, 0) == 0) {
		/* stored already; the fresh mtime keeps the sweep off it
		 * until our records commit */
		unlink(path);
		r = 0;
	} else {
		r = store_file_place(st, path, guid, sync, error_r);
	}
	free(final);
	return r;
}

int
store_spool_commit(struct store *st, int fd, const char *path, char guid_r[41],
    const char **data_r, size_t *len_r, const char **error_r)
{
	struct stat sb;
	void *map = MAP_FAILED;
	int r = -1;

	/* a small message's bytes are made durable by the journal's F
	 * line (store_deliver), a large one's here */
	if (fstat(fd, &sb) < 0 ||
	    (!store_file_inline((size_t)sb.st_size) && fsync(fd) < 0)) {
		store_fail(st, error_r, "fsync %s: %s", path, strerror(errno));
		goto out;
	}
	if (sb.st_size == 0) {
		store_fail(st, error_r, "empty message");
		goto out;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		store_fail(st, error_r, "mmap %s: %s", path, strerror(errno));
		goto out;
	}
	store_sha1_hex(map, (size_t)sb.st_size, guid_r);
	r = store_spool_name(st, path, guid_r,
	    !store_file_inline((size_t)sb.st_size), error_r);
out:
	if (r < 0) {
		unlink(path);
		if (map != MAP_FAILED)
			munmap(map, (size_t)sb.st_size);
	} else {
		*data_r = map;
		*len_r = (size_t)sb.st_size;
	}
	close(fd);
	return r;
}

/* ---- the dup table ---- */

/* store_dup_key - "<msgid>\0<user>\0<name>" into b, k pointing at it */
static void
store_dup_key(DBT *k, struct buf *b, const char *msgid, const char *user,
    const char *name)
{
	buf_reset(b);
	buf_append(b, msgid, strlen(msgid) + 1);
	buf_append(b, user, strlen(user) + 1);
	buf_append(b, name, strlen(name));
	memset(k, 0, sizeof(*k));
	k->data = b->data;
	k->size = (uint32_t)b->len;
}

/* store_dup_seen - is an unexpired entry there? (read for update) */
static int
store_dup_seen(struct store *st, DB_TXN *txn, DBT *k, int64_t now, int *seen_r)
{
	int64_t expiry = 0;
	DBT v;
	int r;

	memset(&v, 0, sizeof(v));
	v.data = &expiry;
	v.ulen = sizeof(expiry);
	v.flags = DB_DBT_USERMEM;
	r = st->dup->get(st->dup, txn, k, &v, DB_RMW);
	if (r != 0 && r != DB_NOTFOUND)
		return r;
	*seen_r = r == 0 && v.size == sizeof(expiry) && expiry > now;
	return 0;
}

static int
store_dup_put(struct store *st, DB_TXN *txn, DBT *k, int64_t expiry)
{
	DBT v;

	memset(&v, 0, sizeof(v));
	v.data = &expiry;
	v.size = sizeof(expiry);
	return st->dup->put(st->dup, txn, k, &v, 0);
}

/* ---- delivery ---- */

struct store_deliver_arg {
	const struct store_delivery *d;
	struct store_rcpt *rc;
	size_t n;
	const char *cache;
	size_t cache_len;
	int64_t now;
	struct buf key;
	int body_done; /* this transaction wrote the F line */
};

/* store_deliver_one - rc's copy inside the running transaction; 0 with
 * rc->result set, or a Berkeley DB error (the transaction aborts) */
static int
store_deliver_one(struct store *st, DB_TXN *txn, struct store_deliver_arg *a,
    struct store_rcpt *rc)
{
	const struct store_delivery *d = a->d;
	int dedup = d->msgid != NULL && d->msgid[0] && d->dup_window > 0;
	const char *name = rc->name != NULL ? rc->name : "INBOX";
	struct store_append_arg ap;
	DBT k;
	int r, seen;

	rc->result = -1;
	for (;;) {
		if (strcasecmp(name, "INBOX") == 0)
			name = "INBOX";
		if (dedup) {
			store_dup_key(&k, &a->key, d->msgid, rc->user, name);
			if ((r = store_dup_seen(st, txn, &k, a->now, &seen)) !=
			    0)
				return r;
			if (seen) {
				rc->result = STORE_DUP;
				rc->mailbox = name;
				return 0;
			}
		}
		memset(&ap, 0, sizeof(ap));
		ap.user = rc->user;
		ap.name = name;
		ap.opt = rc->opt != NULL ? rc->opt : d->opt;
		ap.guid = d->guid;
		ap.len = d->len;
		ap.cache = a->cache;
		ap.cache_len = a->cache_len;
		/* the bytes once per transaction: recovery writes the file
		 * from any journal's F line */
		ap.data =
		    !a->body_done && store_file_inline(d->len) ? d->data : NULL;
		r = store_op_append(st, txn, &ap);
		if (r == STORE_ENOENT && rc->fallback &&
		    strcmp(name, "INBOX") != 0) {
			name = "INBOX";
			continue;
		}
		if (r == STORE_ENOENT || r == STORE_EQUOTA) {
			rc->result = r;
			return 0;
		}
		if (r != 0)
			return r;
		if (dedup &&
		    (r = store_dup_put(st, txn, &k, a->now + d->dup_window)) !=
			0)
			return r;
		if (ap.data != NULL)
			a->body_done = 1;
		rc->result = 0;
		rc->mailbox = name;
		rc->uidvalidity = ap.uidvalidity;
		rc->uid = ap.uid;
		return 0;
	}
}

static int
store_op_deliver(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_deliver_arg *a = varg;
	size_t i;
	int r;

	a->body_done = 0;
	for (i = 0; i < a->n; i++)
		if ((r = store_deliver_one(st, txn, a, &a->rc[i])) != 0)
			return r;
	return 0;
}

int
store_deliver(struct store *st, const struct store_delivery *d,
    struct store_rcpt *rc, size_t n, const char **error_r)
{
	struct store_deliver_arg a;
	struct buf cache = BUF_INIT;
	size_t i, j;
	int r = 0;

	for (i = 0; i < n; i++)
		rc[i].result = -1;
	store_cache_build(d->data, d->len, &cache);
	memset(&a, 0, sizeof(a));
	a.d = d;
	a.cache = cache.data;
	a.cache_len = cache.len;
	a.now = (int64_t)time(NULL);
	buf_init(&a.key, 0);
	for (i = 0; i < n && r == 0; i += STORE_DELIVER_BATCH) {
		a.rc = rc + i;
		a.n = n - i < STORE_DELIVER_BATCH ? n - i : STORE_DELIVER_BATCH;
		if ((r = store_run(st, store_op_deliver, &a, error_r)) != 0) {
			/* aborted: nothing of this batch is stored */
			for (j = i; j < n; j++)
				rc[j].result = -1;
			r = -1;
		}
	}
	buf_free(&a.key);
	buf_free(&cache);
	return r;
}

/* ---- pruning ---- */

struct store_prune_arg {
	int64_t now;
	struct buf last; /* key to resume from; empty: the start */
	int done;
	int removed;
};

/* store_op_prune - up to STORE_PRUNE_BATCH entries from a->last on */
static int
store_op_prune(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_prune_arg *a = varg;
	int64_t expiry;
	DBC *c;
	DBT k, v;
	int r, i, removed = 0;

	if ((r = st->dup->cursor(st->dup, txn, &c, 0)) != 0)
		return r;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	if (a->last.len > 0) {
		k.data = a->last.data;
		k.size = (uint32_t)a->last.len;
		r = c->get(c, &k, &v, DB_SET_RANGE | DB_RMW);
	} else
		r = c->get(c, &k, &v, DB_FIRST | DB_RMW);
	for (i = 0; r == 0 && i < STORE_PRUNE_BATCH; i++) {
		memcpy(&expiry, v.data,
		    v.size == sizeof(expiry) ? sizeof(expiry) : 0);
		if (v.size != sizeof(expiry) || expiry <= a->now) {
			if ((r = c->del(c, 0)) != 0)
				break;
			removed++;
		}
		r = c->get(c, &k, &v, DB_NEXT | DB_RMW);
	}
	if (r == 0) {
		/* the next batch starts at the entry not yet examined */
		buf_reset(&a->last);
		buf_append(&a->last, k.data, k.size);
	} else if (r == DB_NOTFOUND) {
		a->done = 1;
		r = 0;
	}
	c->close(c);
	if (r == 0)
		a->removed += removed;
	return r;
}

int
store_dup_prune(struct store *st, const char **error_r)
{
	struct store_prune_arg a;
	int r = 0;

	memset(&a, 0, sizeof(a));
	a.now = (int64_t)time(NULL);
	buf_init(&a.last, 0);
	/* a batch that is retried starts again where it did: a->last
	 * moves only when the batch's op succeeds */
	while (!a.done && r == 0)
		r = store_run(st, store_op_prune, &a, error_r);
	buf_free(&a.last);
	return r < 0 ? -1 : a.removed;
}

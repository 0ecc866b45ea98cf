/*
 * store_redo - recovery's second half: what the users' journals hold
 * past their synced marks, put back into the database and the message
 * files.  Runs alone, inside store_recover, after Berkeley DB's own
 * recovery and before the sweep.
 *
 * Why this is needed, and why it is enough (the crash argument):
 *
 * An APPEND or a delivery (1) writes the message file without fsync
 * when it is small (STORE_INLINE_MAX), (2) commits its transaction with
 * DB_TXN_WRITE_NOSYNC: the log record is in the kernel, not on the disk,
 * (3) appends its journal lines, with an F line carrying a small
 * message's bytes, and the same lines in a record of the commit log
 * (store_wal.c), and waits until the log is fdatasync'd past them (its
 * own fdatasync, or a concurrent writer's: group commit), (4) answers.  A large
 * message's file is fsync'd, with its directory, in (1).
 *
 * - kill -9 of any process at any point: everything written is in the
 *   kernel's page cache and survives; Berkeley DB's recovery (master's
 *   START) finds every commit in the log.  Nothing is lost, acknowledged
 *   or not; the journal may lack the lines of a transaction that
 *   committed just before the kill (never acknowledged: the next write
 *   of the same mailbox record carries its counters again).
 * - power cut: what reached the disk survives.  An acknowledged command
 *   passed (3), so its commit log record, holding its journal lines
 *   and its message bytes (F line), or the fsync'd large file, is
 *   durable; the journal itself may have lost those lines (journals are
 *   flushed only at checkpoints), and store_wal_replay, run before this,
 *   writes back every record's lines its journal lacks.  Berkeley DB's log on
 * disk is a prefix of the commits (it is written in order; the write-ahead rule
 *   keeps pages from reaching the disk ahead of their log), so recovery
 *   yields the state after some commit C: the commits after C are lost,
 *   acknowledged ones among them.  Each of those has its lines in the
 *   journal past the synced mark, because the mark only moves after a
 *   log flush and a syncfs (store_jnl_sync_all) that came after the
 *   lines were written, i.e. after the commit.  So replaying the lines
 *   past the mark puts back every lost acknowledged change, and their
 *   files: an F line's file is checked (size and SHA-1) and written again
 *   if the crash took it; lines before the mark have their files on disk
 *   since that syncfs.
 * - replay is exact: every line is a whole record (store_journal.c), and
 *   every transaction that changes a mailbox's messages also writes the
 *   mailbox record, whose jseq it bumps.  Since the database holds a
 *   prefix of the commits, a mailbox whose record there has the jseq of
 *   its last line in the tail lost nothing, and is left alone; one with a
 *   lower jseq (or none) gets its record from the line and each of its
 *   messages in the tail compared by modseq (records only move forward),
 *   then its counters recounted.  Replay is idempotent: a crash during
 *   recovery just runs it again.
 *
 * What a power cut can still take (never acknowledged, or not mail): a
 * transaction that committed but whose journal write had not happened;
 * \Recent claims (not journaled); duplicate-suppression entries (an MTA
 * that got no reply retries and the copy may be stored twice); gone-list
 * entries (a file is then kept, never wrongly removed).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "store_int.h"
#include "xalloc.h"

#define REDO_CHUNK 200 /* messages per transaction */

struct store_redo_arg {
	const char *user;
	const struct store_jmbox *jm;
	const struct store_jmsg *msgs;
	size_t n;
	uint32_t mboxid;
	const struct store_jtail *t;
	int stale; /* the database lacks some of jm's writes */
};

/* what store_redo_file reports to store_redo_user */
struct store_redo_files {
	struct store *st;
	const char **error_r;
	int written;
};

/* store_redo_file - an F line: is guid's file on disk with these bytes?
 * Written again if not (store_jbody_fn) */
static int
store_redo_file(const char *guid, const char *data, size_t len, void *ctx)
{
	struct store_redo_files *rf = ctx;
	char *path = store_file_path(rf->st, guid), sum[41];
	struct stat sb;
	void *map;
	int fd, ok = 0;

	store_sha1_hex(data, len, sum);
	if (strcmp(sum, guid) != 0) {
		log_warn("redo: journal bytes of %s do not match its name; "
			 "skipped",
		    guid);
		free(path);
		return 0;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		if (fstat(fd, &sb) == 0 && (size_t)sb.st_size == len) {
			map = len > 0
			    ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0)
			    : NULL;
			if (len == 0)
				ok = 1;
			else if (map != MAP_FAILED) {
				store_sha1_hex(map, len, sum);
				ok = strcmp(sum, guid) == 0;
				munmap(map, len);
			}
		}
		close(fd);
	}
	free(path);
	if (ok)
		return 0;
	if (store_file_restore(rf->st, guid, data, len, rf->error_r) < 0)
		return -1;
	rf->written++;
	return 0;
}

/* store_op_redo_gone - a mailbox the tail deleted */
static int
store_op_redo_gone(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_redo_arg *a = varg;
	struct store_mrec rec;
	char user[1024], name[1024], kb[2048];
	DBT k;
	int r;

	r = store_mrec_by_id(st, txn, a->jm->id, &rec, user, name,
	    sizeof(user));
	if (r == STORE_ENOENT)
		return 0;
	if (r != 0)
		return r;
	a->stale = 1;
	if ((r = store_msgs_drop(st, txn, rec.mb.id)) != 0)
		return r;
	store_mkey(&k, kb, sizeof(kb), user, name);
	return st->mboxes->del(st->mboxes, txn, &k, 0);
}

/* store_op_redo_mbox - the mailbox record as its last line says, if the
 * database's is older */
static int
store_op_redo_mbox(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_redo_arg *a = varg;
	const struct store_jmbox *jm = a->jm;
	struct store_mrec rec, other;
	char user[1024], name[1024], kb[2048];
	uint32_t x;
	DBT k;
	int r;

	a->stale = 0;
	r = store_mrec_by_id(st, txn, jm->id, &rec, user, name, sizeof(user));
	if (r == 0 && rec.jseq >= jm->jseq)
		return 0;
	if (r == STORE_ENOENT)
		memset(&rec, 0, sizeof(rec));
	else if (r != 0)
		return r;
	a->stale = 1;
	if (r == 0 && strcmp(name, jm->name) != 0) {
		/* renamed in a lost transaction */
		store_mkey(&k, kb, sizeof(kb), user, name);
		if ((r = st->mboxes->del(st->mboxes, txn, &k, 0)) != 0)
			return r;
	}
	/* a mailbox the database still has under this name was renamed or
	 * deleted in a lost transaction: its own line puts it back */
	r = store_mrec_get(st, txn, a->user, jm->name, &other, 1);
	if (r == 0 && other.mb.id != jm->id) {
		store_mkey(&k, kb, sizeof(kb), a->user, jm->name);
		if ((r = st->mboxes->del(st->mboxes, txn, &k, 0)) != 0)
			return r;
	} else if (r != 0 && r != DB_NOTFOUND)
		return r;
	rec.mb.id = jm->id;
	rec.mb.uidvalidity = jm->uidvalidity;
	rec.mb.uidnext =
	    jm->uidnext > rec.mb.uidnext ? jm->uidnext : rec.mb.uidnext;
	if (jm->recentuid > rec.mb.recentuid)
		rec.mb.recentuid = jm->recentuid;
	if (jm->hms > rec.mb.highestmodseq)
		rec.mb.highestmodseq = jm->hms;
	rec.mb.attrs = jm->attrs;
	rec.jseq = jm->jseq > 0 ? jm->jseq - 1 : 0;
	if ((r = store_mrec_put(st, txn, a->user, jm->name, &rec, 0)) != 0)
		return r;
	/* the counters never hand out this id or UIDVALIDITY again */
	if ((r = store_meta_next(st, txn, "mailbox-id", jm->id, &x)) != 0)
		return r;
	return store_meta_next(st, txn, "uidvalidity", jm->uidvalidity, &x);
}

/* store_redo_expunged - the modseq of (mboxid, uid)'s expunge, 0 if
 * none is recorded */
static int
store_redo_expunged(struct store *st, DB_TXN *txn, uint32_t mboxid,
    uint32_t uid, uint64_t *modseq_r)
{
	struct store_ikey ik;
	DBT k, v;
	int r;

	*modseq_r = 0;
	store_ikey(&ik, mboxid, uid);
	store_dbt_key(&k, &v, &ik, sizeof(ik));
	v.flags = DB_DBT_MALLOC;
	r = st->expunged->get(st->expunged, txn, &k, &v, DB_RMW);
	if (r == DB_NOTFOUND)
		return 0;
	if (r != 0)
		return r;
	if (v.size >= sizeof(*modseq_r))
		memcpy(modseq_r, v.data, sizeof(*modseq_r));
	free(v.data);
	return 0;
}

int
store_redo_add(struct store *st, DB_TXN *txn, uint32_t mboxid,
    const struct store_msg *m)
{
	struct buf cache = BUF_INIT;
	const char *data, *err;
	uint32_t refs;
	size_t len;
	int r;

	if ((r = store_msg_put(st, txn, mboxid, m)) != 0 ||
	    (r = store_refs_add(st, txn, m->guid, 1, &refs)) != 0)
		return r;
	if (store_msg_map(st, m->guid, &data, &len, &err) < 0)
		return 0; /* a missing cache is built at FETCH */
	store_cache_build(data, len, &cache);
	store_msg_unmap(data, len);
	r = store_cache_put(st, txn, mboxid, m->uid, m->guid, cache.data,
	    cache.len);
	buf_free(&cache);
	return r;
}

/* store_redo_msg - one message's last line against its record */
static int
store_redo_msg(struct store *st, DB_TXN *txn, uint32_t mboxid,
    const struct store_jmsg *jm)
{
	struct store_ikey ik;
	struct store_msg cur;
	uint64_t xms;
	DBT k, v;
	int r;

	store_ikey(&ik, mboxid, jm->m.uid);
	store_dbt_key(&k, &v, &ik, sizeof(ik));
	r = st->index->get(st->index, txn, &k, &v, DB_RMW);
	if (r != 0 && r != DB_NOTFOUND)
		return r;
	if (r == 0) {
		store_msg_decode(&v, &cur);
	}
	if (jm->kind == 'X') {
		if (r == 0 && cur.modseq <= jm->m.modseq)
			return store_msg_remove(st, txn, mboxid, &cur,
			    jm->m.modseq);
		if (r == 0)
			return 0;
		if ((r = store_redo_expunged(st, txn, mboxid, jm->m.uid,
			 &xms)) != 0 ||
		    xms != 0)
			return r;
		xms = jm->m.modseq;
		memset(&v, 0, sizeof(v));
		v.data = &xms;
		v.size = sizeof(xms);
		return st->expunged->put(st->expunged, txn, &k, &v, 0);
	}
	if (r == 0 && cur.modseq >= jm->m.modseq)
		return 0;
	if (r == 0 && strcmp(cur.guid, jm->m.guid) == 0)
		return store_msg_put(st, txn, mboxid, &jm->m);
	if (r == 0) {
		/* another message under this UID: cannot be, but if it is,
		 * the journal's wins */
		if ((r = store_msg_remove(st, txn, mboxid, &cur, 0)) != 0)
			return r;
	} else {
		/* an expunge the database kept that is newer: it stays */
		if ((r = store_redo_expunged(st, txn, mboxid, jm->m.uid,
			 &xms)) != 0)
			return r;
		if (xms > jm->m.modseq)
			return 0;
	}
	return store_redo_add(st, txn, mboxid, &jm->m);
}

static int
store_op_redo_msgs(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_redo_arg *a = varg;
	size_t i;
	int r;

	for (i = 0; i < a->n; i++)
		if ((r = store_redo_msg(st, txn, a->mboxid, &a->msgs[i])) != 0)
			return r;
	return 0;
}

/* store_op_redo_count - a repaired mailbox's counters from its records */
static int
store_op_redo_count(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_redo_arg *a = varg;
	struct store_mrec rec;
	struct store_ikey ik;
	struct store_msg m;
	char user[1024], name[1024];
	DBC *c;
	DBT k, v;
	int r;

	r = store_mrec_by_id(st, txn, a->mboxid, &rec, user, name,
	    sizeof(user));
	if (r == STORE_ENOENT)
		return 0;
	if (r != 0)
		return r;
	rec.mb.exists = rec.mb.unseen = 0;
	rec.mb.size = 0;
	if ((r = st->index->cursor(st->index, txn, &c, 0)) != 0)
		return r;
	store_ikey(&ik, a->mboxid, 0);
	store_dbt_cursor(&k, &v, &ik, sizeof(ik));
	for (r = c->get(c, &k, &v, DB_SET_RANGE); r == 0;
	     r = c->get(c, &k, &v, DB_NEXT)) {
		if (be32toh(ik.mboxid_be) != a->mboxid)
			break;
		store_msg_decode(&v, &m);
		rec.mb.exists++;
		rec.mb.size += m.size;
		if (!(m.flags & STORE_F_SEEN))
			rec.mb.unseen++;
		if (m.uid >= rec.mb.uidnext)
			rec.mb.uidnext = m.uid + 1;
		if (m.modseq > rec.mb.highestmodseq)
			rec.mb.highestmodseq = m.modseq;
	}
	c->close(c);
	if (r != 0 && r != DB_NOTFOUND)
		return r;
	if (rec.jseq > 0)
		rec.jseq--; /* store_mrec_put bumps it back */
	return store_mrec_put(st, txn, user, name, &rec, 0);
}

static int
store_op_redo_subs(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_redo_arg *a = varg;
	const struct store_jtail *t = a->t;
	char kb[2048];
	size_t i;
	DBT k, v;
	int r;

	for (i = 0; i < t->nsubs; i++) {
		store_mkey(&k, kb, sizeof(kb), a->user, t->subs[i] + 1);
		memset(&v, 0, sizeof(v));
		v.data = (void *)"";
		v.size = 1;
		if (t->subs[i][0] == 'S')
			r = st->subs->put(st->subs, txn, &k, &v, 0);
		else
			r = st->subs->del(st->subs, txn, &k, 0);
		if (r != 0 && r != DB_NOTFOUND)
			return r;
	}
	return 0;
}

/* store_redo_msgs - the tail's messages of mailbox id, in chunks, then
 * its counters */
static int
store_redo_msgs(struct store *st, struct store_redo_arg *a,
    const struct store_jmsg *msgs, size_t n, const char **error_r)
{
	size_t off;
	int r = 0;

	for (off = 0; off < n && r == 0; off += REDO_CHUNK) {
		a->msgs = msgs + off;
		a->n = n - off < REDO_CHUNK ? n - off : REDO_CHUNK;
		r = store_run(st, store_op_redo_msgs, a, error_r);
	}
	if (r == 0)
		r = store_run(st, store_op_redo_count, a, error_r);
	return r;
}

/* store_redo_find - the tail's line of mailbox id, or -1 */
static ssize_t
store_redo_find(const struct store_jtail *t, uint32_t id)
{
	size_t i;

	for (i = 0; i < t->nmboxes; i++)
		if (t->mboxes[i].id == id)
			return (ssize_t)i;
	return -1;
}

/* store_redo_user - user's tail into the database; how many mailboxes
 * and files it repaired */
static int
store_redo_user(struct store *st, const char *user, const char **error_r)
{
	struct store_jtail t;
	struct store_redo_arg a;
	struct store_redo_files rf = { st, error_r, 0 };
	int *stale; /* 1: stale, 2: stale and recounted */
	ssize_t b;
	size_t i, j;
	int r = 0, fixed = 0, files;

	/* the files first: a record put back below may need its file for
	 * the FETCH cache */
	r = store_jnl_tail(st, user, &t, store_redo_file, &rf, error_r);
	files = rf.written;
	if (r < 0 || t.lines == 0) {
		store_jtail_free(&t);
		return r;
	}
	memset(&a, 0, sizeof(a));
	a.user = user;
	a.t = &t;
	stale = xcalloc(t.nmboxes + 1, sizeof(*stale));
	for (i = 0; i < t.nmboxes && r == 0; i++) {
		a.jm = &t.mboxes[i];
		r = store_run(st,
		    t.mboxes[i].deleted ? store_op_redo_gone
					: store_op_redo_mbox,
		    &a, error_r);
		stale[i] = a.stale;
		fixed += a.stale;
	}
	/* the messages of a stale mailbox, compared record by record; a
	 * mailbox without a line in the tail cannot have messages there
	 * (every message write rewrites its mailbox), but is compared all
	 * the same */
	for (i = 0; i < t.nmsgs && r == 0; i = j) {
		for (j = i; j < t.nmsgs && t.msgs[j].mboxid == t.msgs[i].mboxid;
		     j++)
			;
		b = store_redo_find(&t, t.msgs[i].mboxid);
		if (b >= 0 && (!stale[b] || t.mboxes[b].deleted))
			continue;
		if (b < 0)
			fixed++;
		else
			stale[b] = 2;
		a.mboxid = t.msgs[i].mboxid;
		r = store_redo_msgs(st, &a, &t.msgs[i], j - i, error_r);
	}
	/* stale ones without messages in the tail: counters all the same
	 * (a record put back by its line starts at zero) */
	for (i = 0; i < t.nmboxes && r == 0; i++) {
		if (stale[i] != 1 || t.mboxes[i].deleted)
			continue;
		a.mboxid = t.mboxes[i].id;
		r = store_run(st, store_op_redo_count, &a, error_r);
	}
	if (r == 0 && t.nsubs > 0)
		r = store_run(st, store_op_redo_subs, &a, error_r);
	if (r == 0 && (fixed > 0 || files > 0 || t.bad > 0))
		log_warn("redo user=%s lines=%zu mailboxes=%d files=%d "
			 "bad_lines=%zu: put back what the database or the "
			 "spool "
			 "lost",
		    user, t.lines, fixed, files, t.bad);
	free(stale);
	store_jtail_free(&t);
	return r < 0 ? -1 : fixed + files;
}

int
store_redo(struct store *st, const char **error_r)
{
	char **users;
	size_t n, i;
	int r = 0, total = 0;

	if (store_jnl_users(st, &users, &n) < 0)
		return store_fail(st, error_r, "journal directory: %s",
		    strerror(errno));
	/* the repairs are what the journals already say */
	st->jquiet = 1;
	for (i = 0; i < n && r >= 0; i++)
		if ((r = store_redo_user(st, users[i], error_r)) > 0)
			total += r;
	st->jquiet = 0;
	store_names_free(users, n);
	return r < 0 ? -1 : total;
}

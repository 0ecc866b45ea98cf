/*
 * check_store - unit tests for the Berkeley DB mail store, on a real
 * environment in a temporary directory.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "check_run.h"
#include "check_tmpstore.h"
#include "err.h"
#include "store.h"
#include "store_int.h"

static struct check_tmpstore tmp;
static struct store *st;
static const char msg[] = "From: a@example.com\r\nSubject: t\r\n\r\nbody\r\n";

static void
setup(void)
{
	check_tmpstore_make(&tmp, "check_store", &st);
}

static void
teardown(void)
{
	check_tmpstore_remove(&tmp, &st);
}

static uint32_t
append(const char *mbox, const char *data)
{
	uint32_t uv, uid;
	const char *err;

	ck_assert_int_eq(store_append(st, "u", mbox, data, strlen(data), NULL,
			     &uv, &uid, &err),
	    0);
	return uid;
}

START_TEST(test_append_list_map)
{
	struct store_msg *m;
	struct store_mbox mb;
	const char *err, *data;
	size_t n, len;

	ck_assert_uint_eq(append("INBOX", msg), 1);
	ck_assert_uint_eq(append("inbox", msg), 2);
	ck_assert_int_eq(store_msg_list(st, 1, &mb, &m, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(mb.exists, 2);
	ck_assert_uint_eq(mb.unseen, 2);
	ck_assert_uint_eq(mb.uidnext, 3);
	ck_assert_uint_eq(m[1].modseq, mb.highestmodseq);
	ck_assert_str_eq(m[0].guid, m[1].guid); /* same bytes, one file */
	ck_assert_int_eq(store_msg_map(st, m[0].guid, &data, &len, &err), 0);
	ck_assert_uint_eq(len, strlen(msg));
	ck_assert(memcmp(data, msg, len) == 0);
	store_msg_unmap(data, len);
	free(m);
	ck_assert_int_eq(store_append(st, "u", "nosuch", msg, 3, NULL, NULL,
			     NULL, &err),
	    STORE_ENOENT);
}
END_TEST

START_TEST(test_flags_expunge_copy)
{
	struct store_msg res[2], *m;
	struct store_mbox mb;
	uint32_t uids[2] = { 1, 2 }, nu[2], uv, *failed, *ex;
	size_t n, nf, ne;
	const char *err;
	uint64_t ms;

	append("INBOX", msg);
	append("INBOX", "Subject: two\r\n\r\nx\r\n");
	ck_assert_int_eq(store_set_flags(st, 1, uids, 2, STORE_FLAGS_ADD,
			     STORE_F_SEEN, "$A $B", 0, res, NULL, NULL, &err),
	    0);
	ck_assert_uint_eq(res[0].flags, STORE_F_SEEN);
	ck_assert_str_eq(res[0].keywords, "$A $B");
	ms = res[0].modseq;
	ck_assert_int_eq(store_set_flags(st, 1, uids, 1, STORE_FLAGS_REMOVE, 0,
			     "$A", 0, res, NULL, NULL, &err),
	    0);
	ck_assert_str_eq(res[0].keywords, "$B");
	/* CONDSTORE: message 1 changed after ms, message 2 did not */
	ck_assert_int_eq(store_set_flags(st, 1, uids, 2, STORE_FLAGS_ADD,
			     STORE_F_FLAGGED, NULL, ms, res, &failed, &nf,
			     &err),
	    0);
	ck_assert_uint_eq(nf, 1);
	ck_assert_uint_eq(failed[0], 1);
	free(failed);
	ck_assert_int_eq(store_mbox_create(st, "u", "Other", &err), 0);
	ck_assert_int_eq(store_copy(st, 1, uids, 2, "u", "Other", 0, &uv, nu,
			     &err),
	    0);
	ck_assert_uint_eq(nu[0], 1);
	ck_assert_uint_eq(nu[1], 2);
	ck_assert_int_eq(store_mbox_get(st, "u", "INBOX", &mb, &err), 0);
	ms = mb.highestmodseq;
	ck_assert_int_eq(store_expunge(st, 1, uids, 1, &err), 0);
	ck_assert_int_eq(store_expunged_since(st, 1, ms, &ex, &ne, &err), 0);
	ck_assert_uint_eq(ne, 1);
	ck_assert_uint_eq(ex[0], 1);
	free(ex);
	/* MOVE: gone from the source in the same transaction */
	ck_assert_int_eq(store_copy(st, 1, uids + 1, 1, "u", "Other", 1, &uv,
			     nu, &err),
	    0);
	ck_assert_int_eq(store_msg_list(st, 1, &mb, &m, &n, &err), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(mb.exists, 0);
	free(m);
	ck_assert_int_eq(store_mbox_get(st, "u", "Other", &mb, &err), 0);
	ck_assert_uint_eq(mb.exists, 3);
}
END_TEST

static int
count(const char *name, const struct store_mbox *mb, void *ctx)
{
	(void)name;
	(void)mb;
	(*(int *)ctx)++;
	return 0;
}

START_TEST(test_mailboxes)
{
	struct store_mbox a, b;
	const char *err;
	int n = 0;

	ck_assert_int_eq(store_mbox_create(st, "u", "a/b/c", &err), 0);
	ck_assert_int_eq(store_mbox_create(st, "u", "a", &err), STORE_EEXIST);
	ck_assert_int_eq(store_mbox_get(st, "u", "a", &a, &err), 0);
	ck_assert_int_eq(store_mbox_get(st, "u", "a/b", &b, &err), 0);
	ck_assert_uint_gt(b.uidvalidity, a.uidvalidity);
	ck_assert_int_eq(store_mbox_rename(st, "u", "a", "z", &err), 0);
	ck_assert_int_eq(store_mbox_get(st, "u", "z/b/c", &a, &err), 0);
	ck_assert_int_eq(store_mbox_get(st, "u", "a/b", &a, &err),
	    STORE_ENOENT);
	ck_assert_int_eq(store_mbox_delete(st, "u", "INBOX", &err),
	    STORE_EINVAL);
	ck_assert_int_eq(store_mbox_delete(st, "u", "z/b/c", &err), 0);
	ck_assert_int_eq(store_mbox_list(st, "u", count, &n, &err), 0);
	ck_assert_int_eq(n, 3); /* INBOX z z/b */
	/* INBOX rename moves the messages, INBOX stays */
	append("INBOX", msg);
	ck_assert_int_eq(store_mbox_rename(st, "u", "INBOX", "old", &err), 0);
	ck_assert_int_eq(store_mbox_get(st, "u", "INBOX", &a, &err), 0);
	ck_assert_uint_eq(a.exists, 0);
	ck_assert_int_eq(store_mbox_get(st, "u", "old", &a, &err), 0);
	ck_assert_uint_eq(a.exists, 1);
	/* another user sees nothing of u's */
	n = 0;
	ck_assert_int_eq(store_mbox_list(st, "v", count, &n, &err), 0);
	ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(test_recent)
{
	uint32_t old;
	const char *err;

	append("INBOX", msg);
	ck_assert_int_eq(store_claim_recent(st, 1, &old, NULL, &err), 0);
	ck_assert_uint_eq(old, 0);
	ck_assert_int_eq(store_claim_recent(st, 1, &old, NULL, &err), 0);
	ck_assert_uint_eq(old, 1); /* nobody else sees it as recent */
}
END_TEST

/* two processes see each other's commits at once */
START_TEST(test_two_processes)
{
	struct err oerr;
	struct store_mbox mb;
	const char *err;
	pid_t pid;
	int status;

	pid = fork();
	if (pid == 0) {
		struct store *s2;

		if (store_open(tmp.conf, tmp.part, 0, &s2, &oerr) < 0)
			_exit(1);
		store_append(s2, "u", "INBOX", msg, strlen(msg), NULL, NULL,
		    NULL, &err);
		store_close(&s2);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(store_mbox_get(st, "u", "INBOX", &mb, &err), 0);
	ck_assert_uint_eq(mb.exists, 1);
}
END_TEST

/* hold_op - take the write lock on u's INBOX record, then stop */
static int
hold_op(struct store *s2, DB_TXN *txn, void *arg)
{
	struct store_mrec rec;
	int fd = *(int *)arg;

	if (store_mrec_get(s2, txn, "u", "INBOX", &rec, 1) != 0 ||
	    store_mrec_put(s2, txn, "u", "INBOX", &rec, 0) != 0)
		_exit(1);
	if (write(fd, "x", 1) != 1)
		_exit(1);
	pause(); /* killed here, outside the library */
	return 0;
}

/* a process killed while holding write locks does not block others:
 * the next writer gets the conflict at once, runs failchk, which frees
 * the dead locker's locks, and goes through */
START_TEST(test_killed_holder)
{
	struct err oerr;
	const char *err;
	int p[2], status;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		struct store *s2;

		if (store_open(tmp.conf, tmp.part, 0, &s2, &oerr) < 0)
			_exit(1);
		store_run(s2, hold_op, &p[1], &err);
		_exit(0);
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	append("INBOX", msg);
}
END_TEST

static void
stat_get(const char *name, unsigned long long value, void *ctx)
{
	if (strcmp(name, "lockers") == 0)
		*(unsigned long long *)ctx = value;
}

static unsigned long long
lockers(void)
{
	struct err oerr;
	unsigned long long n = 0;

	ck_assert_int_eq(store_stats(tmp.conf, stat_get, &n, &oerr), 0);
	return n;
}

/* child_open - a process that opens the store and ends with how (0:
 * store_close, 1: _exit with the store open, as kill -9 leaves it);
 * returns its exit status: 0, 2 for a shortage, 3 for recovery */
static int
child_open(int how)
{
	struct err oerr;
	int status;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		struct store *s2;

		switch (store_open(tmp.conf, tmp.part, 0, &s2, &oerr)) {
		case 0:
			break;
		case STORE_ESHORTAGE:
			_exit(2);
		case STORE_ERECOVER:
			_exit(3);
		default:
			_exit(1);
		}
		if (how == 0)
			store_close(&s2);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* a process that closes the store leaves no lockers; one that dies with
 * it open leaves its lockers until failchk, which takes them all back */
START_TEST(test_lockers_reclaimed)
{
	struct err oerr;
	unsigned long long base, leaked;
	int i;

	base = lockers();
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(child_open(0), 0);
	ck_assert_uint_eq(lockers(), base);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(child_open(1), 0);
	leaked = lockers();
	ck_assert_uint_ge(leaked, base + 20 * 8); /* 8 handles each */
	ck_assert_int_eq(store_failchk_env(tmp.conf, NULL, &oerr), 0);
	ck_assert_uint_eq(lockers(), base);
}
END_TEST

/* child_hold - a process that keeps the store open until killed; its
 * pid, or -(exit status) when its open failed */
static pid_t
child_hold(void)
{
	struct err oerr;
	int p[2], status;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		struct store *s2;

		close(p[0]);
		alarm(60);
		switch (store_open(tmp.conf, tmp.part, 0, &s2, &oerr)) {
		case 0:
			break;
		case STORE_ESHORTAGE:
			_exit(2);
		case STORE_ERECOVER:
			_exit(3);
		default:
			_exit(1);
		}
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) == 1) {
		close(p[0]);
		return pid;
	}
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return -WEXITSTATUS(status);
}

/* a lock table full of live processes is a shortage, not a reason for
 * recovery; once they are gone (killed: failchk), there is room again */
START_TEST(test_shortage)
{
	struct err oerr;
	pid_t held[STORE_PROCS_MIN * STORE_PROC_LOCKERS];
	int n = 0, r = 0, status;

	store_close(&st);
	store_set_procs(1); /* raised to STORE_PROCS_MIN: 512 lockers */
	ck_assert_int_ge(store_recover(tmp.conf, tmp.part, &oerr), 0);
	store_set_procs(0);
	while (
	    n < (int)(sizeof(held) / sizeof(held[0])) && (r = child_hold()) > 0)
		held[n++] = r;
	ck_assert_int_eq(r, -2);
	/* 13 lockers each (the environment and 12 databases), joining
	 * while a process's worth is free */
	ck_assert_int_ge(n,
	    (STORE_PROCS_MIN - 1) * STORE_PROC_LOCKERS / 13 - 1);
	while (n > 0) {
		kill(held[--n], SIGKILL);
		waitpid(held[n], &status, 0);
	}
	ck_assert_int_eq(store_failchk_env(tmp.conf, NULL, &oerr), 0);
	ck_assert_uint_eq(lockers(), 0);
	ck_assert_int_eq(child_open(0), 0);
	ck_assert_int_eq(store_open(tmp.conf, tmp.part, 0, &st, &oerr), 0);
}
END_TEST

START_TEST(test_recover_sweeps_orphans)
{
	struct err oerr;
	char path[400];
	FILE *f;
	int swept;

	(void)snprintf(path, sizeof(path), "%s/tmp/1234.deadbeef", tmp.part);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("half a message", f);
	fclose(f);
	store_close(&st);
	swept = store_recover(tmp.conf, tmp.part, &oerr);
	ck_assert_int_eq(swept, 1);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(store_open(tmp.conf, tmp.part, 0, &st, &oerr), 0);
}
END_TEST

/* an expunged message's file stays until a sweep, then goes; a file
 * still referenced by a copy stays */
START_TEST(test_expunged_file_swept)
{
	struct err oerr;
	struct store_msg *m;
	struct store_mbox mb;
	uint32_t uid1, uid2;
	char path[600];
	const char *err;
	size_t n;

	uid1 = append("INBOX", msg);
	uid2 = append("INBOX", "Subject: other\r\n\r\nx\r\n");
	ck_assert_int_eq(store_msg_list(st, 1, &mb, &m, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	(void)snprintf(path, sizeof(path), "%s/%.2s/%s", tmp.part, m[0].guid,
	    m[0].guid);
	ck_assert_int_eq(store_expunge(st, 1, &uid1, 1, &err), 0);
	ck_assert_int_eq(access(path, F_OK), 0);
	store_close(&st);
	ck_assert_int_eq(store_recover(tmp.conf, tmp.part, &oerr), 1);
	ck_assert_int_ne(access(path, F_OK), 0);
	(void)snprintf(path, sizeof(path), "%s/%.2s/%s", tmp.part, m[1].guid,
	    m[1].guid);
	ck_assert_int_eq(access(path, F_OK), 0);
	free(m);
	(void)uid2;
	ck_assert_int_eq(store_open(tmp.conf, tmp.part, 0, &st, &oerr), 0);
}
END_TEST

/* an expunged message's record and FETCH cache stay readable for
 * sessions not yet told; store_expunged_first reads above a UID */
START_TEST(test_expunged_record)
{
	struct store_msg m;
	uint32_t uids[3], uid;
	uint64_t ms;
	struct store_mbox mb;
	struct store_crd *rd = store_crd_new();
	const char *err, *f[3];

	uids[0] = append("INBOX", msg);
	uids[1] = append("INBOX", "Subject: two\r\n\r\nx\r\n");
	uids[2] = append("INBOX", "Subject: three\r\n\r\ny\r\n");
	ck_assert_int_eq(store_set_flags(st, 1, uids + 1, 1, STORE_FLAGS_ADD,
			     STORE_F_FLAGGED, "$K", 0, NULL, NULL, NULL, &err),
	    0);
	ck_assert_int_eq(store_mbox_get(st, "u", "INBOX", &mb, &err), 0);
	ms = mb.highestmodseq;
	ck_assert_int_eq(store_msg_expunged(st, 1, uids[1], &m, &err),
	    STORE_ENOENT);
	ck_assert_int_eq(store_expunge(st, 1, uids + 1, 2, &err), 0);
	ck_assert_int_eq(store_msg_expunged(st, 1, uids[1], &m, &err), 0);
	ck_assert_uint_eq(m.uid, uids[1]);
	ck_assert_uint_eq(m.flags, STORE_F_FLAGGED);
	ck_assert_str_eq(m.keywords, "$K");
	ck_assert_uint_eq(m.modseq, ms);
	/* its last reference went: the cache is built from the file */
	ck_assert_int_eq(store_msg_cache(st, rd, 1, &m, f, &err), 0);
	ck_assert_ptr_nonnull(strstr(f[0], "\"two\""));
	store_crd_free(&rd);
	ck_assert_int_eq(store_expunged_first(st, 1, 0, 0, &uid, &err), 0);
	ck_assert_uint_eq(uid, uids[1]);
	ck_assert_int_eq(store_expunged_first(st, 1, 0, uids[1], &uid, &err),
	    0);
	ck_assert_uint_eq(uid, uids[2]);
	ck_assert_int_eq(store_expunged_first(st, 1, ms + 1, 0, &uid, &err), 0);
	ck_assert_uint_eq(uid, 0);
	ck_assert_int_eq(store_expunged_first(st, 1, 0, uids[2], &uid, &err),
	    0);
	ck_assert_uint_eq(uid, 0);
}
END_TEST

/* a process that died in a transaction holding the write lock of
 * expunged.db's page (as one killed in a page split leaves it) does not stop a
 * session reading an expunged message's record: the read meets the
 * conflict, runs failchk, which frees the dead locker's locks, and goes
 * through (was: a read outside a transaction that waited on the lock
 * for good, and failed at the lock timeout under load) */
START_TEST(test_expunged_behind_dead_writer)
{
	struct store_msg m;
	uint32_t uids[2];
	const char *err;
	int p[2], status;
	pid_t pid;
	char c;

	uids[0] = append("INBOX", msg);
	uids[1] = append("INBOX", msg);
	ck_assert_int_eq(store_expunge(st, 1, uids, 2, &err), 0);
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		struct store *s2;
		struct err oerr;
		DB_MPOOLFILE *mpf;
		DB_LOCK_ILOCK il;
		DB_LOCK lock;
		DB_TXN *txn;
		DBT obj;

		if (store_open(tmp.conf, tmp.part, 0, &s2, &oerr) < 0)
			_exit(1);
		/* page 1: the root, the only leaf of a tree this small */
		memset(&il, 0, sizeof(il));
		mpf = s2->expunged->get_mpf(s2->expunged);
		if (mpf->get_fileid(mpf, il.fileid) != 0)
			_exit(1);
		il.pgno = 1;
		il.type = DB_PAGE_LOCK;
		memset(&obj, 0, sizeof(obj));
		obj.data = &il;
		obj.size = sizeof(il);
		if (s2->env->txn_begin(s2->env, NULL, &txn, 0) != 0 ||
		    s2->env->lock_get(s2->env, txn->id(txn), 0, &obj,
			DB_LOCK_WRITE, &lock) != 0 ||
		    write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(store_msg_expunged(st, 1, uids[1], &m, &err) == 0, "%s",
	    err);
	ck_assert_uint_eq(m.uid, uids[1]);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* spool -> one file -> records for many recipients (past one batch),
 * INBOX when the folder is missing, unknown users refused, duplicates
 * suppressed until their window is over and a checkpoint prunes them */
START_TEST(test_deliver_dup)
{
	static const char m[] = "Subject: d\r\nMessage-ID: <d1@x>\r\n\r\nb\r\n";
	struct store_rcpt rc[STORE_DELIVER_BATCH + 9];
	struct store_delivery d;
	struct store_mbox mb;
	const char *err, *data;
	char guid[41], *path;
	size_t i, n = sizeof(rc) / sizeof(rc[0]), len;
	int fd, round;

	ck_assert_int_eq(store_mbox_create(st, "u", "f", &err), 0);
	ck_assert_int_eq(store_spool_open(st, &fd, &path, &err), 0);
	ck_assert_int_eq(write(fd, m, strlen(m)), (int)strlen(m));
	ck_assert_int_eq(store_spool_commit(st, fd, path, guid, &data, &len,
			     &err),
	    0);
	free(path);
	ck_assert_uint_eq(len, strlen(m));
	memset(&d, 0, sizeof(d));
	d.guid = guid;
	d.data = data;
	d.len = len;
	for (round = 0; round < 4; round++) {
		/* round 0 stores one copy in each mailbox; round 1, within
		 * a window no load can outlast, none; round 2, another
		 * Message-ID with a window of a second, one each, and
		 * round 3, after that window and a checkpoint, one each
		 * again (a slow machine only makes the window more past) */
		d.msgid = round < 2 ? "<d1@x>" : "<d2@x>";
		d.dup_window = round < 2 ? 3600 : 1;
		memset(rc, 0, sizeof(rc));
		for (i = 0; i < n; i++) {
			rc[i].user = i == n - 1 ? "nobody" : "u";
			/* the first two: two mailboxes; the rest repeat them */
			rc[i].name = i % 2 ? "f" : "nope";
			rc[i].fallback = 1;
		}
		ck_assert_int_eq(store_deliver(st, &d, rc, n, &err), 0);
		ck_assert_int_eq(rc[0].result, round == 1 ? STORE_DUP : 0);
		ck_assert_str_eq(rc[0].mailbox, "INBOX");
		ck_assert_int_eq(rc[1].result, round == 1 ? STORE_DUP : 0);
		ck_assert_str_eq(rc[1].mailbox, "f");
		for (i = 2; i < n - 1; i++)
			ck_assert_int_eq(rc[i].result, STORE_DUP);
		ck_assert_int_eq(rc[n - 1].result, STORE_ENOENT);
		if (round == 2) {
			sleep(2);
			ck_assert_int_ge(store_checkpoint(st, &err), 0);
		}
	}
	ck_assert_int_eq(store_mbox_get(st, "u", "f", &mb, &err), 0);
	ck_assert_uint_eq(mb.exists, 3);
	ck_assert_int_eq(store_mbox_get(st, "u", "INBOX", &mb, &err), 0);
	ck_assert_uint_eq(mb.exists, 3);
	store_msg_unmap(data, len);
}
END_TEST

/* quota_is - u's usage is (storage, messages) */
static void
quota_is(uint64_t storage, uint64_t messages)
{
	struct store_quota q;
	const char *err;

	ck_assert_int_eq(store_quota_get(st, "u", &q, &err), 0);
	ck_assert_uint_eq(q.storage, storage);
	ck_assert_uint_eq(q.messages, messages);
}

static void
quota_report(const char *line, void *ctx)
{
	(void)line;
	(*(int *)ctx)++;
}

START_TEST(test_quota)
{
	uint32_t uids[2], newuids[2], uv;
	struct store_rcpt rc[3];
	struct store_delivery d;
	struct store_mbox mb;
	const char *err, *data;
	char guid[41], *path;
	size_t n, len = strlen(msg);
	int fd, lines = 0;

	quota_is(0, 0);
	uids[0] = append("INBOX", msg);
	uids[1] = append("INBOX", msg);
	quota_is(2 * len, 2);
	ck_assert_int_eq(store_mbox_create(st, "u", "a/b", &err), 0);
	ck_assert_int_eq(store_mbox_get(st, "u", "INBOX", &mb, &err), 0);
	ck_assert_int_eq(store_copy(st, mb.id, uids, 2, "u", "a/b", 0, &uv,
			     newuids, &err),
	    0);
	quota_is(4 * len, 4);
	/* MOVE adds nothing, even over the limit; COPY and APPEND fail */
	ck_assert_int_eq(store_quota_set(st, "u", STORE_QUOTA_KEEP, 3, &err),
	    0);
	ck_assert_int_eq(store_copy(st, mb.id, uids, 1, "u", "a", 1, &uv,
			     newuids, &err),
	    0);
	quota_is(4 * len, 4);
	ck_assert_int_eq(store_copy(st, mb.id, uids + 1, 1, "u", "a", 0, &uv,
			     newuids, &err),
	    STORE_EQUOTA);
	ck_assert_int_eq(store_append(st, "u", "INBOX", msg, len, NULL, &uv,
			     newuids, &err),
	    STORE_EQUOTA);
	quota_is(4 * len, 4);
	/* RENAME INBOX moves its messages; renaming a parent its child's */
	ck_assert_int_eq(store_mbox_rename(st, "u", "INBOX", "old", &err), 0);
	ck_assert_int_eq(store_mbox_rename(st, "u", "a", "c", &err), 0);
	quota_is(4 * len, 4);
	ck_assert_int_eq(store_mbox_delete(st, "u", "c/b", &err), 0);
	quota_is(2 * len, 2);
	/* a delivery batch: the recipient over its storage limit alone
	 * is refused, the others stored in the same transaction */
	ck_assert_int_eq(store_quota_set(st, "u", 0, STORE_QUOTA_NONE, &err),
	    0);
	ck_assert_int_eq(store_mbox_create(st, "v", "INBOX", &err), 0);
	ck_assert_int_eq(store_spool_open(st, &fd, &path, &err), 0);
	ck_assert_int_eq(write(fd, msg, len), (int)len);
	ck_assert_int_eq(store_spool_commit(st, fd, path, guid, &data, &n,
			     &err),
	    0);
	free(path);
	memset(&d, 0, sizeof(d));
	d.guid = guid;
	d.data = data;
	d.len = n;
	memset(rc, 0, sizeof(rc));
	rc[0].user = "v";
	rc[1].user = "u";
	rc[2].user = "v";
	ck_assert_int_eq(store_deliver(st, &d, rc, 3, &err), 0);
	ck_assert_int_eq(rc[0].result, 0);
	ck_assert_int_eq(rc[1].result, STORE_EQUOTA);
	ck_assert_int_eq(rc[2].result, 0);
	store_msg_unmap(data, n);
	quota_is(2 * len, 2);
	/* the usage is what the mailboxes hold, the limits the journal's */
	ck_assert_int_eq(store_check(st, NULL, quota_report, &lines, &err), 0);
	ck_assert_int_eq(lines, 0);
	ck_assert_int_eq(store_user_remove(st, "u", &n, &err), 0);
	quota_is(0, 0);
}
END_TEST

/* the delta since a modseq holds what changed and nothing else; the
 * listing is the whole mailbox, compact, with the keyword union (or
 * every record's keywords); a
 * secondary lost (an environment from before them) is built again */
START_TEST(test_view_delta)
{
	struct store_view_delta d;
	struct store_vmsg *vm;
	struct store_mbox mb;
	struct store_msg *m;
	struct buf kw = BUF_INIT;
	struct err oerr;
	char *pool = NULL;
	uint32_t uids[3] = { 5, 150, 299 }, gone[2] = { 7, 200 }, *ex;
	uint64_t since;
	size_t n, i;
	const char *err;
	char path[400];

	for (i = 0; i < 300; i++)
		append("INBOX", msg);
	ck_assert_int_eq(store_mbox_get(st, "u", "INBOX", &mb, &err), 0);
	since = mb.highestmodseq;
	ck_assert_int_eq(store_set_flags(st, mb.id, uids, 3, STORE_FLAGS_ADD,
			     STORE_F_FLAGGED, "kw1", 0, NULL, NULL, NULL, &err),
	    0);
	ck_assert_int_eq(store_expunge(st, mb.id, gone, 2, &err), 0);
	append("INBOX", msg);
	ck_assert_int_eq(store_view_delta(st, mb.id, since, since, 300, &d,
			     &err),
	    0);
	ck_assert_uint_eq(d.nchanged, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(d.changed[i].uid, uids[i]);
		ck_assert_uint_eq(d.changed[i].flags, STORE_F_FLAGGED);
		ck_assert_str_eq(d.changed[i].keywords, "kw1");
	}
	ck_assert_uint_eq(d.nadded, 1);
	ck_assert_uint_eq(d.added[0].uid, 301);
	ck_assert_uint_eq(d.nexpunged, 2);
	ck_assert_uint_eq(d.expunged[0], 7);
	ck_assert_uint_eq(d.expunged[1], 200);
	ck_assert_uint_eq(d.mb.exists, 299);
	store_view_delta_free(&d);
	/* nothing since the last change: nothing read */
	ck_assert_int_eq(store_view_delta(st, mb.id, since + 3, since + 3, 301,
			     &d, &err),
	    0);
	ck_assert_uint_eq(d.nchanged + d.nadded + d.nexpunged, 0);
	store_view_delta_free(&d);
	ck_assert_int_eq(store_view_list(st, mb.id, &mb, &vm, &n, &kw,
			     UINT64_MAX, &err),
	    0);
	ck_assert_uint_eq(n, 299);
	ck_assert_uint_eq(vm[4].uid, 5);
	ck_assert_uint_eq(vm[4].flags, STORE_F_FLAGGED);
	ck_assert_str_eq(buf_cstr(&kw), " kw1");
	free(vm);
	/* with every record's keywords */
	ck_assert_int_eq(store_view_list_kw(st, mb.id, &mb, &vm, &n, &pool,
			     &err),
	    0);
	ck_assert_uint_eq(n, 299);
	ck_assert_uint_eq(vm[4].uid, 5);
	ck_assert_str_eq(vm[4].keywords, "kw1");
	ck_assert_uint_eq(vm[5].uid, 6);
	ck_assert_str_eq(vm[5].keywords, "");
	ck_assert_uint_eq(vm[298].uid, 301);
	free(vm);
	free(pool);
	/* the secondaries are built again when missing */
	store_close(&st);
	(void)snprintf(path, sizeof(path), "%s/db/modseq.db", tmp.conf);
	ck_assert_int_eq(unlink(path), 0);
	(void)snprintf(path, sizeof(path), "%s/db/xmodseq.db", tmp.conf);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(store_open(tmp.conf, tmp.part, 0, &st, &oerr), 0);
	ck_assert_int_eq(store_msg_changed(st, mb.id, since, &m, &n, &err), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(m[0].uid, 5);
	ck_assert_uint_eq(m[3].uid, 301);
	free(m);
	ck_assert_int_eq(store_expunged_since(st, mb.id, since, &ex, &n, &err),
	    0);
	ck_assert_uint_eq(n, 2);
	free(ex);
	buf_free(&kw);
}
END_TEST

/* the buffer pool's size, in bytes, of the store's environment */
static unsigned long long
pool_bytes(void)
{
	uint32_t gb, b;
	int n;

	ck_assert_int_eq(st->env->get_cachesize(st->env, &gb, &b, &n), 0);
	return ((unsigned long long)gb << 30) + b;
}

/* store_set_cachesize sizes the pool of the environment recovery makes
 * next (Berkeley DB adds a quarter under 500 MB); 0 is the default */
START_TEST(test_cachesize)
{
	struct err oerr;

	ck_assert_uint_ge(pool_bytes(), STORE_CACHESIZE_DEFAULT);
	ck_assert_uint_lt(pool_bytes(), 2 * STORE_CACHESIZE_DEFAULT);
	store_close(&st);
	store_set_cachesize(64ull << 20);
	ck_assert_int_eq(store_recover(tmp.conf, tmp.part, &oerr), 0);
	ck_assert_int_eq(store_open(tmp.conf, tmp.part, 0, &st, &oerr), 0);
	ck_assert_uint_ge(pool_bytes(), 64ull << 20);
	ck_assert_uint_lt(pool_bytes(), 128ull << 20);
	/* a store opened after recovery joins the pool as it was made */
	store_close(&st);
	store_set_cachesize(0);
	ck_assert_int_eq(store_open(tmp.conf, tmp.part, 0, &st, &oerr), 0);
	ck_assert_uint_ge(pool_bytes(), 64ull << 20);
	/* below the minimum: the minimum */
	store_close(&st);
	store_set_cachesize(1000);
	ck_assert_int_eq(store_recover(tmp.conf, tmp.part, &oerr), 0);
	ck_assert_int_eq(store_open(tmp.conf, tmp.part, 0, &st, &oerr), 0);
	ck_assert_uint_ge(pool_bytes(), STORE_CACHESIZE_MIN);
	ck_assert_uint_lt(pool_bytes(), STORE_CACHESIZE_DEFAULT);
	store_set_cachesize(0);
}
END_TEST

CHECK_MAIN("store", CHECK_OPTS(setup, teardown, 60, 0),
    CHECK_TEST(test_append_list_map), CHECK_TEST(test_flags_expunge_copy),
    CHECK_TEST(test_mailboxes), CHECK_TEST(test_recent),
    CHECK_TEST(test_two_processes), CHECK_TEST(test_killed_holder),
    CHECK_TEST(test_lockers_reclaimed), CHECK_TEST(test_shortage),
    CHECK_TEST(test_recover_sweeps_orphans),
    CHECK_TEST(test_expunged_file_swept), CHECK_TEST(test_expunged_record),
    CHECK_TEST(test_expunged_behind_dead_writer), CHECK_TEST(test_deliver_dup),
    CHECK_TEST(test_quota), CHECK_TEST(test_view_delta),
    CHECK_TEST(test_cachesize))

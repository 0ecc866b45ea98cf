/*
 * check_store_jboot - journals written from the database for a store
 * whose mail predates them (lib/store/store_jboot.c): made "old" here by
 * removing the journals and the meta marks a store of that time lacked,
 * then brought back by reconstruct or recovery, and proven by deleting
 * the environment and rebuilding it from the journals alone.
 */
#include "config.h"

#include <check.h>
#include <db.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "check_tmpstore.h"
#include "err.h"
#include "store.h"
#include "store_int.h"

static struct check_tmpstore tmp;
static struct store *st;

static void
put(const char *mbox, const char *data, uint32_t flags, const char *kw)
{
	struct store_append opt = { flags, kw, 1700000000, 60, 0 };
	uint32_t uv, uid;
	const char *err;

	ck_assert_int_eq(store_append(st, "u", mbox, data, strlen(data), &opt,
			     &uv, &uid, &err),
	    0);
}

/* setup - mailboxes, flags, keywords, an expunge, a copy, a
 * subscription */
static void
setup(void)
{
	struct store_mbox mb;
	uint32_t uids[1] = { 2 }, nu[1];
	uint32_t uv;
	const char *err;

	check_tmpstore_make(&tmp, "check_jboot", &st);
	ck_assert_int_eq(store_mbox_create(st, "u", "Work/Old", &err), 0);
	put("INBOX", "Subject: one\r\n\r\n1\r\n", STORE_F_SEEN, "$Junk");
	put("INBOX", "Subject: two\r\n\r\n2\r\n", 0, NULL);
	put("INBOX", "Subject: three\r\n\r\n3\r\n", STORE_F_FLAGGED,
	    "work later");
	put("Work/Old", "Subject: four\r\n\r\n4\r\n", STORE_F_ANSWERED, NULL);
	ck_assert_int_eq(store_mbox_get(st, "u", "INBOX", &mb, &err), 0);
	ck_assert_int_eq(store_copy(st, mb.id, uids, 1, "u", "Work/Old", 0, &uv,
			     nu, &err),
	    0);
	uids[0] = 1;
	ck_assert_int_eq(store_expunge(st, mb.id, uids, 1, &err), 0);
	ck_assert_int_eq(store_sub_set(st, "u", "Work/Old", 1, &err), 0);
}

static void
teardown(void)
{
	check_tmpstore_remove(&tmp, &st);
}

/* make_old - the store as one made before the journals: no journal
 * directory, and without the marks (drop_complete: not even the
 * "complete" one, which came a little earlier) */
static void
make_old(int drop_complete)
{
	char envdir[320];
	DB_ENV *env;
	DB *db;
	DBT k;

	store_close(&st);
	(void)snprintf(envdir, sizeof(envdir), "%s/db", tmp.conf);
	ck_assert_int_eq(db_env_create(&env, 0), 0);
	ck_assert_int_eq(env->open(env, envdir,
			     DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK |
				 DB_INIT_LOG | DB_INIT_MPOOL | DB_RECOVER,
			     0),
	    0);
	ck_assert_int_eq(db_create(&db, env, 0), 0);
	ck_assert_int_eq(db->open(db, NULL, "meta.db", NULL, DB_BTREE,
			     DB_AUTO_COMMIT, 0),
	    0);
	memset(&k, 0, sizeof(k));
	k.data = (void *)"journal";
	k.size = 7;
	ck_assert_int_eq(db->del(db, NULL, &k, DB_AUTO_COMMIT), 0);
	if (drop_complete) {
		k.data = (void *)"complete";
		k.size = 8;
		ck_assert_int_eq(db->del(db, NULL, &k, DB_AUTO_COMMIT), 0);
	}
	db->close(db, 0);
	env->close(env, 0);
	/* the region goes: ours lacked the store's thread table */
	ck_assert_int_eq(db_env_create(&env, 0), 0);
	ck_assert_int_eq(env->remove(env, envdir, 0), 0);
	(void)snprintf(envdir, sizeof(envdir), "%s/journal", tmp.part);
	check_rm_rf(envdir);
}

struct snapshot {
	char names[4][32];
	struct store_mbox mb[4];
	struct store_msg *msgs[4];
	size_t n[4];
	char subs[64];
};

static int
snap_sub(const char *name, void *ctx)
{
	struct snapshot *s = ctx;

	strncat(s->subs, name, sizeof(s->subs) - strlen(s->subs) - 2);
	strcat(s->subs, ";");
	return 0;
}

static void
snap_take(struct snapshot *s)
{
	static const char *names[] = { "INBOX", "Work", "Work/Old" };
	struct store_mbox mb;
	const char *err;
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 3; i++) {
		(void)snprintf(s->names[i], sizeof(s->names[i]), "%s",
		    names[i]);
		ck_assert_int_eq(store_mbox_get(st, "u", names[i], &mb, &err),
		    0);
		ck_assert_int_eq(store_msg_list(st, mb.id, &s->mb[i],
				     &s->msgs[i], &s->n[i], &err),
		    0);
	}
	ck_assert_int_eq(store_sub_list(st, "u", snap_sub, s, &err), 0);
}

static void
snap_same(struct snapshot *a, struct snapshot *b)
{
	size_t i, j;

	ck_assert_str_eq(a->subs, b->subs);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(a->mb[i].id, b->mb[i].id);
		ck_assert_uint_eq(a->mb[i].uidvalidity, b->mb[i].uidvalidity);
		ck_assert_uint_eq(a->mb[i].uidnext, b->mb[i].uidnext);
		ck_assert_uint_eq(a->mb[i].highestmodseq,
		    b->mb[i].highestmodseq);
		ck_assert_uint_eq(a->mb[i].exists, b->mb[i].exists);
		ck_assert_uint_eq(a->n[i], b->n[i]);
		for (j = 0; j < a->n[i]; j++) {
			ck_assert_uint_eq(a->msgs[i][j].uid, b->msgs[i][j].uid);
			ck_assert_uint_eq(a->msgs[i][j].flags,
			    b->msgs[i][j].flags);
			ck_assert_uint_eq(a->msgs[i][j].modseq,
			    b->msgs[i][j].modseq);
			ck_assert_int_eq(a->msgs[i][j].internaldate,
			    b->msgs[i][j].internaldate);
			ck_assert_str_eq(a->msgs[i][j].guid,
			    b->msgs[i][j].guid);
			ck_assert_str_eq(a->msgs[i][j].keywords,
			    b->msgs[i][j].keywords);
		}
	}
}

static void
snap_free(struct snapshot *s)
{
	size_t i;

	for (i = 0; i < 4; i++)
		free(s->msgs[i]);
}

/* rebuild_from_journals - delete the environment and reconstruct */
static void
rebuild_from_journals(void)
{
	struct err oerr;
	char envdir[320];
	const char *err;

	store_close(&st);
	(void)snprintf(envdir, sizeof(envdir), "%s/db", tmp.conf);
	check_rm_rf(envdir);
	ck_assert_int_eq(store_open(tmp.conf, tmp.part,
			     STORE_OPEN_CREATE | STORE_OPEN_REBUILD, &st,
			     &oerr),
	    0);
	ck_assert_int_eq(store_reconstruct(st, NULL, NULL, 0, check_quiet, NULL,
			     &err),
	    0);
	ck_assert_int_eq(store_check(st, NULL, check_quiet, NULL, &err), 0);
}

static int
journal_exists(void)
{
	char path[400];
	struct stat sb;

	(void)snprintf(path, sizeof(path), "%s/journal/u", tmp.part);
	return stat(path, &sb) == 0 && sb.st_size > 0;
}

/* a store older than both marks: refused until reconstructed, which
 * writes the journal from the database; the environment can then be
 * lost */
START_TEST(test_old_store_reconstruct)
{
	struct err oerr;
	struct snapshot before, after;
	const char *err;

	snap_take(&before);
	make_old(1);
	ck_assert_int_eq(store_open(tmp.conf, tmp.part, STORE_OPEN_CREATE, &st,
			     &oerr),
	    STORE_ENODB);
	ck_assert_int_eq(store_open(tmp.conf, tmp.part,
			     STORE_OPEN_CREATE | STORE_OPEN_REBUILD, &st,
			     &oerr),
	    0);
	ck_assert_int_eq(store_reconstruct(st, NULL, NULL, 0, check_quiet, NULL,
			     &err),
	    0);
	ck_assert(journal_exists());
	ck_assert_int_eq(store_jboot_marked(st, &err), 1);
	ck_assert_int_eq(store_check(st, NULL, check_quiet, NULL, &err), 0);
	rebuild_from_journals();
	snap_take(&after);
	snap_same(&before, &after);
	snap_free(&before);
	snap_free(&after);
}
END_TEST

/* a complete store without the journal mark: recovery (master's START)
 * writes the journals */
START_TEST(test_recover_writes_journals)
{
	struct err oerr;
	struct snapshot before, after;
	const char *err;

	snap_take(&before);
	make_old(0);
	ck_assert(!journal_exists());
	ck_assert_int_ge(store_recover(tmp.conf, tmp.part, &oerr), 0);
	ck_assert(journal_exists());
	ck_assert_int_eq(store_open(tmp.conf, tmp.part, STORE_OPEN_CREATE, &st,
			     &oerr),
	    0);
	ck_assert_int_eq(store_jboot_marked(st, &err), 1);
	ck_assert_int_eq(store_check(st, NULL, check_quiet, NULL, &err), 0);
	rebuild_from_journals();
	snap_take(&after);
	snap_same(&before, &after);
	snap_free(&before);
	snap_free(&after);
}
END_TEST

/* writing a user's journal again over a complete one changes nothing,
 * and later writes still win */
START_TEST(test_jboot_twice)
{
	struct snapshot before, after;
	struct store_mbox mb;
	uint32_t uid = 3;
	const char *err;

	ck_assert_int_eq(store_jboot_user(st, "u", NULL, NULL, &err), 0);
	ck_assert_int_eq(store_mbox_get(st, "u", "INBOX", &mb, &err), 0);
	ck_assert_int_eq(store_set_flags(st, mb.id, &uid, 1, STORE_FLAGS_ADD,
			     STORE_F_DELETED, NULL, 0, NULL, NULL, NULL, &err),
	    0);
	ck_assert_int_eq(store_jboot_user(st, "u", NULL, NULL, &err), 0);
	ck_assert_int_eq(store_check(st, NULL, check_quiet, NULL, &err), 0);
	snap_take(&before);
	rebuild_from_journals();
	snap_take(&after);
	snap_same(&before, &after);
	ck_assert(after.msgs[0][1].flags & STORE_F_DELETED);
	snap_free(&before);
	snap_free(&after);
}
END_TEST

CHECK_MAIN("store_jboot", CHECK_OPTS(setup, teardown, 60, 0),
    CHECK_TEST(test_old_store_reconstruct),
    CHECK_TEST(test_recover_writes_journals), CHECK_TEST(test_jboot_twice))

/*
 * check_store_backup - the lock between backups and sweeps
 * (lib/store/store_backup.c): while a backup holds it, no file of the
 * gone list is swept; afterwards the sweep goes on as before.  Backup and
 * restore themselves are tested end to end in
 * integration/test_ops_backup.py.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "check_tmpstore.h"
#include "err.h"
#include "store.h"
#include "store_int.h"

static struct check_tmpstore tmp;
static struct store *st;

static void
setup(void)
{
	check_tmpstore_make(&tmp, "check_backup", &st);
}

static void
teardown(void)
{
	check_tmpstore_remove(&tmp, &st);
}

START_TEST(test_no_sweep_during_backup)
{
	static const char msg[] = "Subject: x\r\n\r\nx\r\n";
	struct store_msg *m;
	struct store_mbox mb;
	uint32_t uv, uid;
	const char *err;
	char *path;
	size_t n;
	int lock;

	ck_assert_int_eq(store_append(st, "u", "INBOX", msg, strlen(msg), NULL,
			     &uv, &uid, &err),
	    0);
	ck_assert_int_eq(store_msg_list(st, 1, &mb, &m, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	path = store_file_path(st, m[0].guid);
	ck_assert_int_eq(store_expunge(st, 1, &uid, 1, &err), 0);
	lock = store_backup_lock(st, 1);
	ck_assert_int_ge(lock, 0);
	ck_assert_int_eq(store_file_sweep(st, 0, &err), 0);
	ck_assert_int_eq(access(path, F_OK), 0);
	store_backup_unlock(lock);
	ck_assert_int_eq(store_file_sweep(st, 0, &err), 1);
	ck_assert_int_ne(access(path, F_OK), 0);
	free(path);
	free(m);
}
END_TEST

CHECK_MAIN("store_backup", CHECK_OPTS(setup, teardown, 30, 0),
    CHECK_TEST(test_no_sweep_during_backup))

/*
 * check_tmpstore - see check_tmpstore.h.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "check_tmpstore.h"
#include "err.h"
#include "store.h"

void
check_tmpstore_make(struct check_tmpstore *t, const char *name,
    struct store **st_r)
{
	struct err oerr;
	const char *err;

	ck_assert_int_lt(snprintf(t->dir, sizeof(t->dir), "/tmp/%s.XXXXXX",
			     name),
	    (int)sizeof(t->dir));
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	ck_assert_int_lt(snprintf(t->conf, sizeof(t->conf), "%s/conf", t->dir),
	    (int)sizeof(t->conf));
	ck_assert_int_lt(snprintf(t->part, sizeof(t->part), "%s/spool", t->dir),
	    (int)sizeof(t->part));
	ck_assert_int_ge(store_recover(t->conf, t->part, &oerr), 0);
	ck_assert_int_eq(store_open(t->conf, t->part, STORE_OPEN_CREATE, st_r,
			     &oerr),
	    0);
	ck_assert_int_eq(store_mbox_create(*st_r, "u", "INBOX", &err), 0);
}

void
check_tmpstore_remove(struct check_tmpstore *t, struct store **st)
{
	if (*st != NULL)
		store_close(st);
	check_rm_rf(t->dir);
}

void
check_rm_rf(const char *path)
{
	char cmd[600];

	ck_assert_int_lt(snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path),
	    (int)sizeof(cmd));
	ck_assert_int_eq(system(cmd), 0);
}

void
check_quiet(const char *line, void *ctx)
{
	(void)line;
	(void)ctx;
}

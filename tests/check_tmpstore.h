/*
 * check_tmpstore - the fixture the store's check suites share: a fresh
 * store (user "u" with an INBOX) in a temporary directory, removed with
 * everything in it after the test.  Asserts (check) on every failure.
 */
#ifndef BERTH_CHECK_TMPSTORE_H
#define BERTH_CHECK_TMPSTORE_H

struct store;

/* where the store lives */
struct check_tmpstore {
	char dir[256];	/* the temporary directory */
	char conf[300]; /* configdirectory: dir/conf */
	char part[300]; /* partition: dir/spool */
};

/* check_tmpstore_make - a new directory /tmp/<name>.XXXXXX in t, the
 * store recovered and opened there (created) into *st_r, and user u's
 * INBOX */
void check_tmpstore_make(struct check_tmpstore *t, const char *name,
    struct store **st_r);
/* check_tmpstore_remove - close *st (if open; NULLs it) and remove t's
 * directory */
void check_tmpstore_remove(struct check_tmpstore *t, struct store **st);
/* check_rm_rf - remove path and all it holds */
void check_rm_rf(const char *path);
/* check_quiet - a line printer (store_check, reconstruct) that prints
 * nothing */
void check_quiet(const char *line, void *ctx);

#endif

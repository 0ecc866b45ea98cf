/*
 * ctl_rebuild - berthctl reconstruct and check: the database rebuilt
 * from, or compared with, the journals and message files in the
 * partition (see store_journal.c).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "ctl.h"
#include "err.h"
#include "log.h"
#include "store.h"

/*
 * ctl_reconstruct - reconstruct [--purge] [USER [MAILBOX]].  Without a
 * user it rebuilds every user and marks the environment complete: run it
 * with master stopped.  A user or a mailbox alone needs an environment
 * known complete.
 */
int
ctl_reconstruct(int argc, char **argv)
{
	struct store *st;
	struct err err;
	const char *e, *user = NULL, *mbox = NULL;
	int i, flags = 0, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--purge") == 0)
			flags |= STORE_REBUILD_PURGE;
		else if (argv[i][0] == '-')
			return ctl_usage_error("reconstruct",
			    "unknown option %s", argv[i]);
		else if (user == NULL)
			user = argv[i];
		else if (mbox == NULL)
			mbox = argv[i];
		else
			return ctl_usage_error("reconstruct",
			    "too many arguments");
	}
	if (user != NULL && (flags & STORE_REBUILD_PURGE))
		return ctl_usage_error("reconstruct",
		    "--purge only with a whole reconstruct");
	r = store_open(cfg_str("configdirectory"), ctl_partition(),
	    STORE_OPEN_CREATE | (user == NULL ? STORE_OPEN_REBUILD : 0), &st,
	    &err);
	if (r == STORE_ENODB)
		return ctl_error(
		    "reconstruct: the environment is not known "
		    "complete: reconstruct every user first (berthctl "
		    "reconstruct, no arguments)");
	if (r < 0)
		return ctl_error("reconstruct: %s", err.msg);
	r = store_reconstruct(st, user, mbox, flags, ctl_print_line, NULL, &e);
	if (r < 0) /* e lives in st */
		err_set(&err, "%s", e);
	store_close(&st);
	if (r < 0)
		return ctl_error("reconstruct: %s", err.msg);
	log_info("reconstruct done user=%s mailbox=%s missing=%d",
	    user ? user : "*", mbox ? mbox : "*", r);
	return r > 0;
}

/* ctl_check - check [USER]: exit 1 on any difference */
int
ctl_check(int argc, char **argv)
{
	struct store *st;
	struct err err;
	const char *e;
	int r;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return ctl_usage_error("check", "bad arguments");
	r = store_open(cfg_str("configdirectory"), ctl_partition(),
	    STORE_OPEN_CREATE, &st, &err);
	if (r < 0)
		return ctl_error("check: %s", err.msg);
	r = store_check(st, argc == 2 ? argv[1] : NULL, ctl_print_line, NULL,
	    &e);
	if (r < 0) /* e lives in st */
		err_set(&err, "%s", e);
	store_close(&st);
	if (r < 0)
		return ctl_error("check: %s", err.msg);
	(void)printf("check differences=%d\n", r);
	return r > 0;
}

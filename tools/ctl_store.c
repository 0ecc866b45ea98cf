/*
 * ctl_store - berthctl recover, checkpoint, failchk, stats and mailbox
 * subcommands.  Every path closes the store before it returns, so a
 * berthctl leaves no lockers behind.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "ctl.h"
#include "err.h"
#include "log.h"
#include "notify.h"
#include "store.h"

int
ctl_recover(int argc, char **argv)
{
	struct err err;
	unsigned procs;
	int swept;

	(void)argc;
	(void)argv;
	/* master says how many processes may share the store at once */
	procs = store_procs_env();
	store_set_procs(procs);
	store_set_cachesize((unsigned long long)cfg_size("berkeley_cachesize"));
	if (procs == 0)
		procs = STORE_PROCS_DEFAULT;
	log_info("store sizing procs=%u lockers=%u locks=%u objects=%u "
		 "threads=%u cachesize=%lld",
	    procs, procs * STORE_PROC_LOCKERS, procs * STORE_PROC_LOCKS,
	    procs * STORE_PROC_OBJECTS, procs, cfg_size("berkeley_cachesize"));
	swept =
	    store_recover(cfg_str("configdirectory"), ctl_partition(), &err);
	if (swept == STORE_ENODB) {
		log_error("recover refused: %s", err.msg);
		if (!log_to_stderr())
			(void)fprintf(stderr, "berthctl: recover refused: %s\n",
			    err.msg);
		return STORE_EXIT_NODB;
	}
	if (swept < 0) {
		log_error("recover failed: %s", err.msg);
		return 1;
	}
	log_info("recover done configdirectory=%s swept_files=%d",
	    cfg_str("configdirectory"), swept);
	return 0;
}

int
ctl_checkpoint(int argc, char **argv)
{
	struct store *st;
	struct err oerr;
	const char *err;
	int swept;

	(void)argc;
	(void)argv;

	if (store_open(cfg_str("configdirectory"), ctl_partition(),
		STORE_OPEN_CREATE, &st, &oerr) < 0) {
		log_error("checkpoint failed: %s", oerr.msg);
		return 1;
	}
	if ((swept = store_checkpoint(st, &err)) < 0) {
		log_error("checkpoint failed: %s", err);
		store_close(&st);
		return 1;
	}
	if (swept > 0)
		log_info("checkpoint swept_files=%d", swept);
	store_close(&st);
	return 0;
}

/*
 * ctl_failchk - reclaim what dead processes left in the store (master runs
 * this every few seconds and after a child died abnormally).  Exit 0,
 * STORE_EXIT_RECOVER when only recovery helps, 1 on other failures.
 */
int
ctl_failchk(int argc, char **argv)
{
	struct err err;
	int r;

	(void)argc;
	(void)argv;
	r = store_failchk_env(cfg_str("configdirectory"), NULL, &err);
	if (r == STORE_ERECOVER) {
		log_error("failchk: the mail store needs recovery: %s",
		    err.msg);
		return STORE_EXIT_RECOVER;
	}
	if (r < 0) {
		log_warn("failchk failed: %s", err.msg);
		return 1;
	}
	return 0;
}

/*
 * ctl_panic - mark the store as needing recovery: its users exit, master
 * stops the rest and runs its START commands (for an operator who
 * suspects damage, and for tests of recovery).
 */
int
ctl_panic(int argc, char **argv)
{
	struct err err;

	(void)argc;
	(void)argv;
	if (store_panic_env(cfg_str("configdirectory"), &err) < 0) {
		(void)fprintf(stderr, "berthctl: %s\n", err.msg);
		return 1;
	}
	log_warn("mail store marked as needing recovery by berthctl panic");
	return 0;
}

static void
ctl_stats_print(const char *name, unsigned long long value, void *ctx)
{
	(void)ctx;
	(void)printf("%s=%llu\n", name, value);
}

/* ctl_stats - the store environment's figures, key=value lines */
int
ctl_stats(int argc, char **argv)
{
	struct err err;

	(void)argc;
	(void)argv;
	if (store_stats(cfg_str("configdirectory"), ctl_stats_print, NULL,
		&err) < 0) {
		(void)fprintf(stderr, "berthctl: %s\n", err.msg);
		return 1;
	}
	return 0;
}

static int
ctl_mailbox_print(const char *name, const struct store_mbox *mb, void *ctx)
{
	(void)ctx;
	(void)printf("%s\tuidvalidity=%u uidnext=%u messages=%u unseen=%u "
		     "size=%llu\n",
	    name, mb->uidvalidity, mb->uidnext, mb->exists, mb->unseen,
	    (unsigned long long)mb->size);
	return 0;
}

int
ctl_mailbox(int argc, char **argv)
{
	struct store *st;
	struct err oerr;
	const char *err, *op = argv[1];
	int r;

	if (!((strcmp(op, "list") == 0 && argc == 3) ||
		((strcmp(op, "create") == 0 || strcmp(op, "delete") == 0) &&
		    argc == 4) ||
		(strcmp(op, "rename") == 0 && argc == 5)))
		return ctl_usage_error("mailbox",
		    "unknown command or wrong "
		    "number of arguments");
	if (store_open(cfg_str("configdirectory"), ctl_partition(),
		STORE_OPEN_CREATE, &st, &oerr) < 0)
		return ctl_error("%s", oerr.msg);
	store_set_event_fn(st, notify_store_event, NULL);
	if (strcmp(op, "list") == 0)
		r = store_mbox_list(st, argv[2], ctl_mailbox_print, NULL, &err);
	else if (strcmp(op, "create") == 0)
		r = store_mbox_create(st, argv[2], argv[3], &err);
	else if (strcmp(op, "delete") == 0)
		r = store_mbox_delete(st, argv[2], argv[3], &err);
	else
		r = store_mbox_rename(st, argv[2], argv[3], argv[4], &err);
	if (r != 0)
		ctl_error("mailbox %s %s%s%s: %s", op, argv[2],
		    argc > 3 ? " " : "", argc > 3 ? argv[3] : "", err);
	else if (strcmp(op, "list") != 0)
		log_info("mailbox %s user=%s mailbox=%s by berthctl", op,
		    argv[2], argv[3]);
	store_close(&st);
	return r != 0;
}

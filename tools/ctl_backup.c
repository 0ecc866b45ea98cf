/*
 * ctl_backup - berthctl backup DIR and restore DIR (lib/store/
 * store_backup.c does the work).  Backup runs beside a serving master;
 * restore fills an empty store (configdirectory and partition of the
 * imapd.conf given with -C) before its master starts.
 *
 * Backup may take long: SIGINT, SIGTERM and SIGHUP end it between two
 * files, with the store closed and the directory left unfinished (no
 * BACKUP file), rather than killing berthctl inside Berkeley DB.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "cfg.h"
#include "ctl.h"
#include "err.h"
#include "log.h"
#include "store.h"

static volatile int ctl_backup_stop;

static void
ctl_backup_sig(int sig)
{
	(void)sig;
	ctl_backup_stop = 1;
}

static double
ctl_backup_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* ctl_backup - backup DIR */
int
ctl_backup(int argc, char **argv)
{
	struct store_backup_stats bs;
	struct sigaction sa;
	struct store *st;
	struct err oerr;
	const char *err;
	double t0 = ctl_backup_now();
	int r;

	if (argc != 2 || argv[1][0] == '-')
		return ctl_usage_error("backup", "one directory");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ctl_backup_sig;
	if (sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGHUP, &sa, NULL) < 0)
		return ctl_error("backup: sigaction: %s", strerror(errno));
	if (store_open(cfg_str("configdirectory"), ctl_partition(),
		STORE_OPEN_CREATE, &st, &oerr) < 0)
		return ctl_error("backup: %s", oerr.msg);
	r = store_backup(st, argv[1], &ctl_backup_stop, &bs, &err);
	if (r < 0)
		r = ctl_error("backup %s: %s (the directory is unfinished: run "
			      "the backup again)",
		    argv[1], err);
	store_close(&st);
	if (r != 0)
		return r;
	(void)
	    printf("backup dir=%s db_bytes=%llu journals=%u journal_bytes=%llu "
		   "files_copied=%llu bytes_copied=%llu files_kept=%llu "
		   "bytes_kept=%llu files_removed=%llu seconds=%.2f\n",
		argv[1], bs.db_bytes, bs.journals, bs.journal_bytes, bs.copied,
		bs.copied_bytes, bs.kept, bs.kept_bytes, bs.removed,
		ctl_backup_now() - t0);
	log_info("backup done dir=%s files_copied=%llu bytes_copied=%llu "
		 "files_kept=%llu files_removed=%llu",
	    argv[1], bs.copied, bs.copied_bytes, bs.kept, bs.removed);
	return 0;
}

/* ctl_restore - restore DIR: into an empty store, master stopped */
int
ctl_restore(int argc, char **argv)
{
	struct err err;
	double t0 = ctl_backup_now();

	if (argc != 2 || argv[1][0] == '-')
		return ctl_usage_error("restore", "one directory");
	if (store_restore(cfg_str("configdirectory"), ctl_partition(), argv[1],
		ctl_print_line, NULL, &err) < 0)
		return ctl_error("restore %s: %s", argv[1], err.msg);
	(void)printf("restore done dir=%s seconds=%.2f\n", argv[1],
	    ctl_backup_now() - t0);
	log_info("restore done dir=%s", argv[1]);
	return 0;
}

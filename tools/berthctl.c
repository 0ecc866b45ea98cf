/*
 * berthctl - the administrator's command: users, mailboxes, database
 * recovery and checkpoints.  This file only dispatches; each family of
 * subcommands lives in ctl_<family>.c.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl.h"
#include "log.h"
#include "srv.h"

struct ctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	int store;	      /* opens the mail store: see ctl_run */
	int minargs, maxargs; /* after the name; checked before the
			       * configuration is read (-1: any) */
	const char *help;
};

static const struct ctl_cmd ctl_cmds[] = {
	{ "user", ctl_user,
	    "user list | user add|passwd USER [-p] | "
	    "user delete USER [--keep-mail]",
	    0, 1, 3, "users in sasldb (-p: password on standard input)" },
	{ "mailbox", ctl_mailbox,
	    "mailbox list USER | mailbox create|delete "
	    "USER NAME | mailbox rename USER OLD NEW",
	    1, 2, 4, "any user's mailboxes" },
	{ "quota", ctl_quota,
	    "quota get USER | quota set USER "
	    "[storage=KIB|SIZE|none|default] [messages=N|none|default]",
	    1, 2, 4, "a user's quota usage and limits" },
	{ "deliver", ctl_deliver,
	    "deliver [-m FOLDER] [-f FROM] USER "
	    "< MESSAGE",
	    0, 1, -1, "deliver a message as lmtpd does" },
	{ "reconstruct", ctl_reconstruct,
	    "reconstruct [--purge] "
	    "[USER [MAILBOX]]",
	    1, 0, 3,
	    "rebuild the database from the journals and message files" },
	{ "check", ctl_check, "check [USER]", 1, 0, 1,
	    "compare database, journals and files; exit 1 on a difference" },
	{ "import", ctl_import,
	    "import USER maildir PATH | import USER "
	    "mbox FILE [FOLDER]",
	    1, 3, 4,
	    "move mail in from Maildir++ or mbox, keeping UIDs and flags" },
	{ "backup", ctl_backup, "backup DIR", 0, 1, 1,
	    "copy the store into DIR while it serves (again: only what "
	    "is new)" },
	{ "restore", ctl_restore, "restore DIR", 1, 1, 1,
	    "bring a backup back into an empty store (master stopped)" },
	{ "recover", ctl_recover, "recover", 1, 0, 0,
	    "database recovery (master's START)" },
	{ "checkpoint", ctl_checkpoint, "checkpoint", 1, 0, 0,
	    "checkpoint, sweep, compact journals (master's EVENTS)" },
	{ "failchk", ctl_failchk, "failchk", 1, 0, 0,
	    "release what dead processes left in the store" },
	{ "stats", ctl_stats, "stats", 1, 0, 0, "the store's figures" },
	{ "panic", ctl_panic, "panic", 1, 0, 0,
	    "mark the store as needing recovery" },
	{ "who", ctl_who, "who [USER]", 0, 0, 1,
	    "every session: user, address, where (a worker, idled, tlsd), "
	    "since" },
	{ "kick", ctl_kick, "kick USER", 0, 1, 1,
	    "end every session of USER, wherever it is" },
	{ "parked", ctl_parked, "parked", 0, 0, 0,
	    "sessions parked in idled, counted" },
	{ "penalties", ctl_penalties, "penalties [-n N]", 0, 0, 2,
	    "the most-penalised clients" },
	{ "penalty", ctl_penalty, "penalty clear ADDRESS|NETWORK|USER", 0, 2, 2,
	    "clear a penalty" },
	{ "connections", ctl_connections, "connections [-n N]", 0, 0, 2,
	    "connection counts per client" },
	{ "fts", ctl_fts, "fts update|rebuild|status [USER]", 1, 1, 2,
	    "the full-text indexes: catch up, make anew, or how far" },
	{ "config", ctl_config, "config [-a]", 0, 0, 1,
	    "the effective configuration (-a: every key) and its lint" },
	{ NULL, NULL, NULL, 0, 0, 0, NULL },
};

static void
usage(FILE *f, int status)
{
	const struct ctl_cmd *c;

	fprintf(f,
	    "usage: berthctl [-C imapd.conf] COMMAND [ARGS]\n"
	    "       berthctl --help | COMMAND --help\n\ncommands:\n");
	for (c = ctl_cmds; c->name; c++)
		fprintf(f, "  berthctl %s\n      %s\n", c->usage, c->help);
	fprintf(f, "\nSee berthctl(8).\n");
	exit(status);
}

int
ctl_usage_error(const char *cmd, const char *fmt, ...)
{
	const struct ctl_cmd *c;
	va_list ap;

	(void)fprintf(stderr, "berthctl: %s: ", cmd);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fprintf(stderr, "\n");
	for (c = ctl_cmds; c->name; c++)
		if (strcmp(c->name, cmd) == 0)
			(void)fprintf(stderr, "usage: berthctl %s\n", c->usage);
	return 2;
}

int
ctl_error(const char *fmt, ...)
{
	va_list ap;
	char msg[2048];

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap); /* a long one is cut */
	va_end(ap);
	(void)fprintf(stderr, "berthctl: %s\n", msg);
	log_syslog(LOG_ERR, "%s", msg);
	return 1;
}

void
ctl_print_line(const char *line, void *ctx)
{
	(void)ctx;
	(void)printf("%s\n", line);
	(void)fflush(stdout); /* a failure stays in ferror: ctl_stdout_done */
}

const char *
ctl_partition(void)
{
	const char *p = cfg_partition_path(cfg_str("defaultpartition"));

	if (p == NULL) {
		ctl_error("%s: no partition-%s configured", cfg_path(),
		    cfg_str("defaultpartition"));
		exit(1);
	}
	return p;
}

/*
 * ctl_stdout_done - r, or an error (1) when what the command printed did
 * not all reach stdout.  Commands print with (void)printf: a failed write
 * sets the stream's error flag, which is checked here once, with the last
 * flush, instead of at every printf.
 */
static int
ctl_stdout_done(int r)
{
	if (fflush(stdout) == EOF) {
		if (r == 0)
			r = ctl_error("stdout: %s", strerror(errno));
	} else if (ferror(stdout) && r == 0)
		r = ctl_error("stdout: a write failed");
	return r;
}

/*
 * ctl_run - run c.  A store command runs with SIGTERM, SIGINT and SIGHUP
 * blocked: it is short, and closes the store on every path; a stop that
 * comes meanwhile is delivered when it is done, so berthctl never leaves
 * lockers behind (no handler could close the store safely in the middle
 * of a Berkeley DB call).
 */
static int
ctl_run(const struct ctl_cmd *c, int argc, char **argv)
{
	sigset_t old;
	int r;

	if (!c->store)
		return ctl_stdout_done(c->fn(argc, argv));
	if (ctl_hold_stops(&old) < 0)
		return 1;
	r = ctl_stdout_done(c->fn(argc, argv));
	if (sigprocmask(SIG_SETMASK, &old, NULL) < 0 && r == 0)
		r = ctl_error("sigprocmask: %s", strerror(errno));
	return r;
}

int
ctl_hold_stops(sigset_t *old)
{
	sigset_t stops;

	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &stops, old) < 0) {
		ctl_error("sigprocmask: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ctl_find - the command named by argv, after our own options; checks
 * its argument count before any configuration is read */
static const struct ctl_cmd *
ctl_find(int argc, char **argv)
{
	const struct ctl_cmd *c;
	int i, n;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			usage(stdout, 0);
		if (strcmp(argv[i], "-C") == 0) {
			if (++i == argc) {
				(void)fprintf(stderr,
				    "berthctl: -C needs a file\n");
				usage(stderr, 2);
			}
		} else if (strcmp(argv[i], "-D") != 0) {
			break;
		}
	}
	if (i >= argc) {
		(void)fprintf(stderr, "berthctl: no command\n");
		usage(stderr, 2);
	}
	for (c = ctl_cmds; c->name; c++)
		if (strcmp(c->name, argv[i]) == 0)
			break;
	if (c->name == NULL) {
		(void)fprintf(stderr, "berthctl: unknown command '%s'\n",
		    argv[i]);
		usage(stderr, 2);
	}
	n = argc - i - 1;
	if (n > 0 &&
	    (strcmp(argv[i + 1], "--help") == 0 ||
		strcmp(argv[i + 1], "-h") == 0)) {
		(void)printf("usage: berthctl %s\n  %s\n", c->usage, c->help);
		exit(0);
	}
	/* the families' subcommands want more */
	if (n >= 1 &&
	    ((strcmp(c->name, "user") == 0 &&
		 strcmp(argv[i + 1], "list") != 0 && n < 2) ||
		(strcmp(c->name, "mailbox") == 0 &&
		    strcmp(argv[i + 1], "list") != 0 && n < 3) ||
		(strcmp(c->name, "quota") == 0 &&
		    strcmp(argv[i + 1], "get") != 0 && n < 3)))
		exit(ctl_usage_error(c->name, "too few arguments"));
	if (n < c->minargs || (c->maxargs >= 0 && n > c->maxargs))
		exit(ctl_usage_error(c->name, "%s arguments",
		    n < c->minargs ? "too few" : "too many"));
	return c;
}

/* ctl_conf_readable - exit with a message on stderr when the
 * configuration srv_init would read cannot be read (srv_init says so
 * only in syslog when stderr is not a terminal) */
static void
ctl_conf_readable(int argc, char **argv)
{
	const char *conf = getenv("BERTH_CONFIG");
	int i;

	for (i = 1; i + 1 < argc && argv[i][0] == '-'; i++)
		if (strcmp(argv[i], "-C") == 0)
			conf = argv[++i];
	if (conf == NULL)
		conf = CFG_DEFAULT_PATH;
	if (access(conf, R_OK) != 0) {
		(void)fprintf(stderr,
		    "berthctl: cannot read %s: %s (-C names "
		    "another imapd.conf)\n",
		    conf, strerror(errno));
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	const struct ctl_cmd *c;
	int ind;

	c = ctl_find(argc, argv);
	ctl_conf_readable(argc, argv);
	srv_interactive();
	srv_init(argc, argv, "berthctl", &ind);
	/* as the daemons run, so that it never leaves root-owned files in
	 * the store, the spool or sasldb */
	if (geteuid() == 0 &&
	    (cfg_str("berth_user") == NULL ||
		getpwnam(cfg_str("berth_user")) == NULL)) {
		ctl_error("berth_user '%s' of %s does not exist: create it "
			  "or set berth_user",
		    cfg_str("berth_user") ? cfg_str("berth_user") : "",
		    cfg_path());
		return 1;
	}
	srv_drop_privs();
	return ctl_run(c, argc - ind, argv + ind);
}

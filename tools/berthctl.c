/*
 * berthctl - the administrator's command: users, mailboxes, database
 * recovery and checkpoints.  This file only dispatches; each family of
 * subcommands lives in ctl_<family>.c.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "srv.h"

struct ctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	int store;	/* opens the mail store: see ctl_run */
};

static const struct ctl_cmd ctl_cmds[] = {
	{ "recover", ctl_recover, "recover", 1 },
	{ "checkpoint", ctl_checkpoint, "checkpoint", 1 },
	{ "failchk", ctl_failchk, "failchk", 1 },
	{ "stats", ctl_stats, "stats", 1 },
	{ "panic", ctl_panic, "panic", 1 },
	{ "mailbox", ctl_mailbox, "mailbox list|create|delete USER [NAME]",
	    1 },
	{ "deliver", ctl_deliver, "deliver [-m FOLDER] [-f FROM] USER "
	    "< MESSAGE", 0 },
	{ "parked", ctl_parked, "parked", 0 },
	{ "penalties", ctl_penalties, "penalties [-n N]", 0 },
	{ "penalty", ctl_penalty, "penalty clear ADDRESS|NETWORK|USER", 0 },
	{ "connections", ctl_connections, "connections [-n N]", 0 },
	{ "user", ctl_user, "user add|passwd|delete USER [-p]", 0 },
	{ NULL, NULL, NULL, 0 }
};

static void
usage(void)
{
	const struct ctl_cmd *c;

	fprintf(stderr, "usage: berthctl [-C imapd.conf] COMMAND ...\n");
	for (c = ctl_cmds; c->name; c++)
		fprintf(stderr, "  berthctl %s\n", c->usage);
	exit(2);
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
	sigset_t stops, old;
	int r;

	if (!c->store)
		return c->fn(argc, argv);
	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGHUP);
	sigprocmask(SIG_BLOCK, &stops, &old);
	r = c->fn(argc, argv);
	fflush(stdout);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

int
main(int argc, char **argv)
{
	const struct ctl_cmd *c;
	int ind;

	srv_init(argc, argv, "berthctl", &ind);
	if (ind >= argc)
		usage();
	for (c = ctl_cmds; c->name; c++)
		if (strcmp(c->name, argv[ind]) == 0)
			return ctl_run(c, argc - ind, argv + ind);
	fprintf(stderr, "berthctl: unknown command '%s'\n", argv[ind]);
	usage();
}

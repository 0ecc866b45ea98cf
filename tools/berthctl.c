/*
 * berthctl - the administrator's command: users, mailboxes, database
 * recovery and checkpoints.  This file only dispatches; each family of
 * subcommands lives in ctl_<family>.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "srv.h"

struct ctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

static const struct ctl_cmd ctl_cmds[] = {
	{ "recover", ctl_recover, "recover" },
	{ "checkpoint", ctl_checkpoint, "checkpoint" },
	{ "failchk", ctl_failchk, "failchk" },
	{ "stats", ctl_stats, "stats" },
	{ "mailbox", ctl_mailbox, "mailbox list|create|delete USER [NAME]" },
	{ "parked", ctl_parked, "parked" },
	{ "penalties", ctl_penalties, "penalties [-n N]" },
	{ "penalty", ctl_penalty, "penalty clear ADDRESS|NETWORK|USER" },
	{ "connections", ctl_connections, "connections [-n N]" },
	{ "user", ctl_user, "user add|passwd|delete USER [-p]" },
	{ NULL, NULL, NULL }
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
			return c->fn(argc - ind, argv + ind);
	fprintf(stderr, "berthctl: unknown command '%s'\n", argv[ind]);
	usage();
}

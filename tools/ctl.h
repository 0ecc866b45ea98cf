/*
 * ctl - berthctl subcommands.  Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the exit status.  imapd.conf is
 * already loaded (srv_init) when they run.
 */
#ifndef BERTH_CTL_H
#define BERTH_CTL_H

/* ctl_store.c: the mail store */
int ctl_recover(int argc, char **argv);		/* recover */
int ctl_checkpoint(int argc, char **argv);	/* checkpoint */
int ctl_failchk(int argc, char **argv);		/* failchk */
int ctl_stats(int argc, char **argv);		/* stats */
int ctl_panic(int argc, char **argv);		/* panic */
int ctl_mailbox(int argc, char **argv);		/* mailbox list|create|delete USER [NAME] */

/* ctl_deliver.c: local delivery from a pipe; sysexits.h codes */
int ctl_deliver(int argc, char **argv);	/* deliver [-m F] [-f F] USER */

/* ctl_idle.c: sessions parked in idled */
int ctl_parked(int argc, char **argv);	/* parked */

/* ctl_auth.c: authd's penalties and connection counts */
int ctl_penalties(int argc, char **argv);	/* penalties [-n N] */
int ctl_penalty(int argc, char **argv);		/* penalty clear KEY */
int ctl_connections(int argc, char **argv);	/* connections [-n N] */

/* ctl_user.c: users in sasldb */
int ctl_user(int argc, char **argv);		/* user add|passwd|delete|list ... */

#endif

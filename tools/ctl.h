/*
 * ctl - berthctl subcommands.  Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the exit status.  imapd.conf is
 * already loaded (srv_init) when they run.
 */
#ifndef BERTH_CTL_H
#define BERTH_CTL_H

#include <signal.h>
#include <stdint.h>

/* berthctl.c: a usage error of cmd (exit status 2); an error on stderr
 * and syslog (exit status 1); a line of progress on stdout (a store
 * callback's, ctx unused); the default partition's path */
int ctl_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctl_print_line(const char *line, void *ctx);
/* ctl_hold_stops - block SIGTERM, SIGINT and SIGHUP while the store is
 * open (the mask before into *old); -1 said */
int ctl_hold_stops(sigset_t *old);
const char *ctl_partition(void);

/* ctl_ipc.c: a request to the daemon called name (authd, idled) on the
 * Unix socket at path, and each reply of type within ms; the connection
 * (ctl_ipc_send), 0 (ctl_ipc_recv), or -1 said through ctl_error */
struct ipc_msg;
int ctl_ipc_send(const char *name, const char *path, const struct ipc_msg *m);
int ctl_ipc_recv(const char *name, int c, struct ipc_msg *m, uint16_t type,
    int ms);

/* ctl_rebuild.c: reconstruct [--purge] [USER [MAILBOX]], check [USER] */
int ctl_reconstruct(int argc, char **argv);
int ctl_check(int argc, char **argv);

/* ctl_import.c: import USER maildir PATH | import USER mbox FILE
 * [FOLDER] */
int ctl_import(int argc, char **argv);

/* ctl_backup.c: backup DIR, restore DIR */
int ctl_backup(int argc, char **argv);
int ctl_restore(int argc, char **argv);

/* ctl_fts.c: fts update|rebuild [USER] */
int ctl_fts(int argc, char **argv);

/* ctl_config.c: config [-a] */
int ctl_config(int argc, char **argv);

/* ctl_store.c: the mail store */
int ctl_recover(int argc, char **argv);	   /* recover */
int ctl_checkpoint(int argc, char **argv); /* checkpoint */
int ctl_failchk(int argc, char **argv);	   /* failchk */
int ctl_stats(int argc, char **argv);	   /* stats */
int ctl_panic(int argc, char **argv);	   /* panic */
int ctl_mailbox(int argc,
    char **argv); /* mailbox list|create|delete USER [NAME] */

/* ctl_quota.c: quota get USER | quota set USER [storage=S] [messages=N] */
int ctl_quota(int argc, char **argv);

/* ctl_deliver.c: local delivery from a pipe; sysexits.h codes */
int ctl_deliver(int argc, char **argv); /* deliver [-m F] [-f F] USER */

/* ctl_idle.c: sessions parked in idled */
int ctl_parked(int argc, char **argv); /* parked */

/* ctl_who.c: every session (authd's view), and ending a user's */
int ctl_who(int argc, char **argv);  /* who [USER] */
int ctl_kick(int argc, char **argv); /* kick USER */

/* ctl_auth.c: authd's penalties and connection counts */
int ctl_penalties(int argc, char **argv);   /* penalties [-n N] */
int ctl_penalty(int argc, char **argv);	    /* penalty clear KEY */
int ctl_connections(int argc, char **argv); /* connections [-n N] */

/* ctl_user.c: users in sasldb */
int ctl_user(int argc, char **argv); /* user add|passwd|delete|list ... */

#endif

/*
 * srv - the contract between master and the programs it starts, and the
 * skeleton every berth daemon runs in.
 *
 * master execs each child as:  <prog> -C <imapd.conf> [args from cmd...]
 * with these descriptors and environment:
 *   fd 3 (SRV_STATUS_FD)  write end of the status pipe (all children)
 *   fd 4 (SRV_LISTEN_FD)  the bound, listening socket (SERVICES only;
 *                         closed for START, EVENTS and DAEMON children)
 *   BERTH_SERVICE=<name>  the master.conf entry name
 *   BERTH_GENERATION=<n>  master's config generation, echoed in status
 *   BERTH_LOG_STDERR=1    when master runs in the foreground (-D)
 *   BERTH_LISTEN=<addr>   set when fd 4 is a listener (SERVICES)
 *   BERTH_HANDOFF=<path>  set when fd 5 is the handoff listener
 * master sets PR_SET_PDEATHSIG so a child dies with the master.
 *
 * A SERVICES child writes SRV_S_READY when it waits in accept() and
 * SRV_S_BUSY once it has a client; one struct srv_status per write(2),
 * which is atomic on a pipe.  master counts ready workers from these and
 * drops records whose generation or pid it does not know.  A child that
 * sends SRV_S_RELOADS gets a SIGHUP whenever master reloads (others are
 * never sent one: imapd takes SIGHUP as a stop).
 *
 * master gives back a surplus worker with SRV_TRIM_SIGNAL, never SIGTERM:
 * a worker reported ready may already have taken a client, and a trim is
 * not a reason to end that client's session.  A child obeys it only while
 * it waits for a client; one that has taken a client serves it and exits
 * afterwards.  A child that does not handle it dies of it, which master
 * takes as an ordinary end, like SIGTERM.
 */
#ifndef BERTH_SRV_H
#define BERTH_SRV_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#define SRV_STATUS_FD 3
#define SRV_LISTEN_FD 4
#define SRV_HANDOFF_FD 5	/* SERVICES with handoff=: resumed sessions */
#define SRV_TRIM_SIGNAL SIGUSR1 /* exit when next waiting for a client */

enum srv_state {
	SRV_S_READY = 1,   /* waiting for a client */
	SRV_S_BUSY = 2,	   /* serving a client */
	SRV_S_EXITING = 3, /* will exit, do not count as ready */
	SRV_S_RELOADS = 4, /* not a state: pass me master's SIGHUP
			    * (tlsd reloads its certificates) */
};

struct srv_status {
	int32_t pid;
	uint32_t generation;
	uint32_t state; /* enum srv_state */
};

/*
 * srv_init - common start of every berth program: parse -C <conf> (and
 * -D for foreground/stderr logging), load imapd.conf (fatal with the
 * error on failure), open the log as <syslog_prefix>/<proc>.  Leaves
 * *optind_r at the first argument it did not consume.  Programs with
 * their own options call getopt themselves after this with optind reset.
 */
void srv_init(int argc, char **argv, const char *proc, int *optind_r);
/* srv_interactive - before srv_init, for a tool a person or a script
 * runs (berthctl): its lines go to stderr as well as syslog, so that an
 * error is seen where it ran and kept where the daemons' are */
void srv_interactive(void);
/* srv_log_open - open the log as imapd.conf says (syslog_prefix,
 * syslog_facility: fatal when unknown), to stderr alone in the
 * foreground */
void srv_log_open(const char *proc, int foreground);
/* srv_status_send - tell master our state; no-op when not under master */
void srv_status_send(enum srv_state state);
/* srv_under_master - was this process started by master? */
int srv_under_master(void);
/* srv_listen_fd - the listener master gave us, or -1 */
int srv_listen_fd(void);
/*
 * srv_drop_privs - when running as root, become berth_user (initgroups,
 * setresgid, setresuid) and check that root cannot be regained.  No-op
 * when not root.  Fatal on failure.
 */
void srv_drop_privs(void);
/* srv_handoff_fd - the handoff listener, or -1; *path_r its path */
int srv_handoff_fd(const char **path_r);
/* srv_chown_berth - when root, give path to berth_user (sockets and
 * directories master makes before it drops privileges) */
void srv_chown_berth(const char *path);
/* srv_service_name - BERTH_SERVICE or the program name */
const char *srv_service_name(void);

#endif

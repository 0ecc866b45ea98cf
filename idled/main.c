/*
 * idled - holds parked sessions: IDLEs, NOTIFY sessions waiting for their
 * next command, and failed logins serving their penalty.  One event loop;
 * per session only the client's fd and a compact snapshot (a few hundred
 * bytes).  A session goes back to a worker, through its service's handoff
 * socket, when the client sends something idled cannot answer itself or
 * when a watched mailbox changes in a way only a worker can report.
 *
 * Sockets under <configdirectory>/socket: "idled" (workers park sessions,
 * berthctl lists them) and "notify" (every writer's change messages).
 * Files: idled_park (park socket), idled_sess (sessions and indexes),
 * idled_change (change messages), idled_client (client input),
 * idled_wake (handing back), idled_limits (caps, keep-alives, timeouts,
 * penalty replies).
 *
 * One process holds as many sessions as its descriptor limit allows: it
 * raises its soft limit to the hard one at start.  Past that, run with a
 * higher RLIMIT_NOFILE (master.conf maxfds=).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "idled.h"
#include "log.h"
#include "srv.h"

/* idled_fds - as many descriptors as we may have */
static void
idled_fds(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	log_info("sessions limited by open files: %llu",
	    (unsigned long long)rl.rlim_cur);
}

int
main(int argc, char **argv)
{
	char dir[1024], *slash;
	int ind;

	srv_init(argc, argv, "idled", &ind);
	(void)signal(SIGPIPE, SIG_IGN);
	/* fits: configdirectory is at most CFG_CONFDIR_MAX */
	(void)snprintf(dir, sizeof(dir), "%s", notify_path());
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0'; /* <configdirectory>/socket */
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			log_fatal("mkdir %s: %m", dir);
	}
	idled_fds();
	ev_init();
	idled_park_init();
	idled_change_init();
	idled_limits_init();
	idled_authd_init();
	log_info("listening on %s and %s", notify_idled_path(), notify_path());
	ev_run();
	return 0;
}

/*
 * master_store - what master does for the mail store without opening it:
 * sizes it and reclaims what dead processes left in it.
 *
 * Sizing: the lock and thread tables are made when the START recovery
 * creates the region.  master counts the processes that may use the store
 * at once (maxchild of every service, one per EVENTS, DAEMON and START
 * entry, plus STORE_SLACK_PROCS for berthctl runs) and passes the count
 * to its children in BERTH_STORE_PROCS; berthctl recover sizes the
 * environment from it.  The sizing is logged at start and at each
 * recovery.
 *
 * Reclaiming: a process killed outright (SIGKILL, the watchdog, a crash)
 * leaves its lockers and locks in the shared tables.  master runs
 * "berthctl failchk" every MASTER_FAILCHK_MS and soon after a child dies
 * abnormally, one at a time; the store itself serialises failchk runs.
 * Only failchk's verdict (DB_RUNRECOVERY, exit STORE_EXIT_RECOVER) or a
 * failchk that cannot finish (blocked on a dead process's mutex) makes
 * master recover the store: a single worker's death never does.
 *
 * master never opens the store itself: it must stay out of the
 * environment that recovery rebuilds.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cfg.h"
#include "log.h"
#include "master.h"
#include "store.h"
#include "xalloc.h"

#define STORE_SLACK_PROCS 16	    /* berthctl runs, failchk itself */
#define MASTER_UNLIMITED_PROCS 1000 /* a service without maxchild */

static struct master_svc master_failchk_svc = {
	.e = { .section = MCONF_EVENTS,
	    .name = (char *)"failchk",
	    .cmd = (char *)"berthctl failchk",
	    .at = -1 },
	.lfd = -1,
	.hfd = -1,
};
static pid_t failchk_pid;
static long long failchk_due_ms, failchk_started_ms;

/* master_store_procs - processes that may use the store at once */
static unsigned
master_store_procs(void)
{
	unsigned procs = STORE_SLACK_PROCS;
	size_t i;

	for (i = 0; i < master.nsvcs; i++) {
		const struct mconf_entry *e = &master.svcs[i]->e;

		if (master.svcs[i]->removed)
			continue;
		if (e->section == MCONF_SERVICES)
			procs += e->maxchild > 0 ? (unsigned)e->maxchild
						 : MASTER_UNLIMITED_PROCS;
		else
			procs++;
	}
	return procs > STORE_PROCS_MAX ? STORE_PROCS_MAX : procs;
}

static unsigned master_store_sized; /* procs at the last recovery */

void
master_store_size(void)
{
	unsigned procs = master_store_procs();
	char s[32];

	master_store_sized = procs;
	(void)snprintf(s, sizeof(s), "%u", procs);
	setenv("BERTH_STORE_PROCS", s, 1);
	log_info("store sizing procs=%u lockers=%u locks=%u objects=%u "
		 "threads=%u",
	    procs, procs * STORE_PROC_LOCKERS, procs * STORE_PROC_LOCKS,
	    procs * STORE_PROC_OBJECTS, procs);
}

void
master_store_reloaded(void)
{
	unsigned procs = master_store_procs();

	/* the tables are made by recovery: larger pools wait for one */
	if (procs > master_store_sized)
		log_warn("store sized for procs=%u; the new configuration "
			 "allows procs=%u, which takes a restart of master (a "
			 "full lock table refuses clients meanwhile)",
		    master_store_sized, procs);
}

/* master_store_exists - has a recovery made the environment yet?  (a
 * master.conf without a store, as in master's own tests, has none) */
static int
master_store_exists(void)
{
	char *path = xasprintf("%s/db/__db.001", cfg_str("configdirectory"));
	struct stat sb;
	int r = stat(path, &sb) == 0;

	free(path);
	return r;
}

void
master_store_failchk_soon(const char *why)
{
	long long now = master_now_ms();

	log_debug("failchk due why=%s", why);
	if (failchk_due_ms == 0 || failchk_due_ms > now)
		failchk_due_ms = now;
}

void
master_store_tick(void)
{
	long long now = master_now_ms();

	if (master.terminating)
		return;
	if (failchk_pid > 0) {
		/* failchk blocked: a dead process holds one of the store's
		 * mutexes, and only recovery frees it */
		if (now - failchk_started_ms >= MASTER_FAILCHK_TIMEOUT_MS) {
			log_error("failchk pid=%d not done after %d ms; "
				  "recovering the mail store",
			    (int)failchk_pid, MASTER_FAILCHK_TIMEOUT_MS);
			kill(failchk_pid, SIGKILL);
			failchk_started_ms = now; /* once */
			master.recover_pending = 1;
		}
		return;
	}
	if (failchk_due_ms == 0)
		failchk_due_ms = now + MASTER_FAILCHK_MS;
	if (failchk_due_ms > now)
		return;
	failchk_due_ms = now + MASTER_FAILCHK_MS;
	if (!master_store_exists())
		return;
	failchk_pid = master_spawn(&master_failchk_svc);
	if (failchk_pid < 0)
		failchk_pid = 0;
	failchk_started_ms = now;
}

long long
master_store_next_ms(void)
{
	/* while failchk runs, only its deadline; its exit wakes us */
	if (failchk_pid > 0)
		return failchk_started_ms + MASTER_FAILCHK_TIMEOUT_MS;
	return failchk_due_ms;
}

int
master_store_reaped(pid_t pid, int status)
{
	if (pid != failchk_pid || failchk_pid == 0)
		return 0;
	failchk_pid = 0;
	if (master.terminating)
		return 1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_debug("failchk done");
	else if (WIFEXITED(status) &&
	    WEXITSTATUS(status) == STORE_EXIT_RECOVER) {
		log_error("failchk: the mail store needs recovery");
		master.recover_pending = 1;
	} else if (!master.recover_pending)
		log_warn("failchk pid=%d failed (status %d)", (int)pid, status);
	return 1;
}

int
master_store_is_failchk(const struct master_svc *svc)
{
	return svc == &master_failchk_svc;
}

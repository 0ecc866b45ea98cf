/*
 * master_event - START commands, EVENTS timing and DAEMON respawn with
 * back-off.  SERVICES pools are master_pool.c's.
 */
#include "config.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "cfg.h"
#include "log.h"
#include "master.h"
#include "store.h"

#define BACKOFF_MIN_MS 1000LL
#define BACKOFF_MAX_MS 60000LL

void
master_event_run_start(void)
{
	size_t i;
	int status;

	for (i = 0; i < master.nsvcs; i++) {
		struct master_svc *svc = master.svcs[i];

		if (svc->e.section != MCONF_START)
			continue;
		log_info("start=%s cmd=\"%s\" running", svc->e.name,
		    svc->e.cmd);
		status = master_run_wait(svc);
		if (status != -1 && WIFEXITED(status) &&
		    WEXITSTATUS(status) == STORE_EXIT_NODB)
			log_fatal(
			    "start=%s: the mail store's database in "
			    "%s/db is missing, new or partial while %s holds "
			    "mail; not starting services and not touching "
			    "the mail; run `berthctl reconstruct` to rebuild "
			    "it from the spool",
			    svc->e.name, cfg_str("configdirectory"),
			    cfg_partition_path(cfg_str("defaultpartition"))
				? cfg_partition_path(
				      cfg_str("defaultpartition"))
				: "the partition");
		if (status == -1 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			log_fatal("start=%s cmd=\"%s\" failed (status %d); "
				  "not starting services",
			    svc->e.name, svc->e.cmd, status);
	}
}

/* master_event_at_next - next local time HHMM after now, in ms */
static long long
master_event_at_next(int at)
{
	time_t now = time(NULL), t;
	struct tm tm;

	localtime_r(&now, &tm);
	tm.tm_hour = at / 100;
	tm.tm_min = at % 100;
	tm.tm_sec = 0;
	t = mktime(&tm);
	if (t <= now) {
		tm.tm_mday++;
		t = mktime(&tm);
	}
	return master_now_ms() + (long long)(t - now) * 1000;
}

void
master_event_schedule(struct master_svc *svc, int initial)
{
	long long now = master_now_ms();

	if (svc->e.section == MCONF_EVENTS) {
		/* period and at may both be given: whichever comes first */
		svc->next_ms =
		    svc->e.period > 0 ? now + svc->e.period * 60000LL : 0;
		if (svc->e.at >= 0 &&
		    (svc->next_ms == 0 ||
			master_event_at_next(svc->e.at) < svc->next_ms))
			svc->next_ms = master_event_at_next(svc->e.at);
	} else if (svc->e.section == MCONF_DAEMON) {
		if (initial) {
			svc->next_ms = now;
			svc->backoff_ms = 0;
			return;
		}
		/* a daemon that ran a minute is healthy: restart at once */
		if (now - svc->started_ms > 60000)
			svc->backoff_ms = 0;
		svc->backoff_ms =
		    svc->backoff_ms ? svc->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (svc->backoff_ms > BACKOFF_MAX_MS)
			svc->backoff_ms = BACKOFF_MAX_MS;
		svc->next_ms = now + svc->backoff_ms;
		log_info("daemon=%s restarting in %lld ms", svc->e.name,
		    svc->backoff_ms);
	}
}

/* master_event_running - does svc have a child now? */
static int
master_event_running(struct master_svc *svc)
{
	size_t i;

	for (i = 0; i < master.nchildren; i++)
		if (master.children[i].svc == svc)
			return 1;
	return 0;
}

void
master_event_tick(void)
{
	long long now = master_now_ms();
	size_t i;

	if (master.terminating)
		return;
	for (i = 0; i < master.nsvcs; i++) {
		struct master_svc *svc = master.svcs[i];

		if (svc->removed || svc->next_ms == 0 || svc->next_ms > now)
			continue;
		if (svc->e.section == MCONF_DAEMON) {
			/* still running (kept through a store recovery): its
			 * exit schedules the next start */
			svc->next_ms = 0;
			if (master_event_running(svc))
				continue;
			svc->started_ms = now;
			if (master_spawn(svc) < 0)
				master_event_schedule(svc, 0);
		} else if (svc->e.section == MCONF_EVENTS) {
			if (master_event_running(svc))
				log_warn("event=%s still running; skipped",
				    svc->e.name);
			else
				master_spawn(svc);
			master_event_schedule(svc, 0);
		}
	}
}

/*
 * master_event_next_ms - the earliest start master_event_tick will make.
 * Only DAEMON and EVENTS entries: a SERVICES entry's next_ms is its
 * throttle (master_pool.c), which nothing here consumes; counted here, a
 * throttle that had passed (a worker died before it was ready, as they do
 * around a store recovery) was a due time in the past for ever, and the
 * loop spun in poll(..., 0).
 */
long long
master_event_next_ms(void)
{
	long long next = 0;
	size_t i;

	for (i = 0; i < master.nsvcs; i++) {
		struct master_svc *svc = master.svcs[i];

		if (svc->removed || svc->next_ms == 0 ||
		    (svc->e.section != MCONF_DAEMON &&
			svc->e.section != MCONF_EVENTS))
			continue;
		if (next == 0 || svc->next_ms < next)
			next = svc->next_ms;
	}
	return next;
}

int
master_loop_timeout(long long next, long long now)
{
	if (next == 0 || next - now > 1000)
		return 1000;
	return next > now ? (int)(next - now) : 0;
}

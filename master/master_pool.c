/*
 * master_pool - when to fork SERVICES workers: keep `prefork` ready (at
 * least one), never more than `maxchild`, at most `maxforkrate` forks a
 * second; account ready/busy from the status pipe.
 *
 * Up to prefork children a missing worker is forked at once.  Past it,
 * growth is paced: a shortage of ready workers must last
 * MASTER_GROW_GAP_MS before the first fork, and each further one another
 * gap, the gap halving every MASTER_GROW_STEP_MS the shortage goes on
 * (10 ms, then 5, 2, 1, then every round).  A burst of short sessions
 * (a botnet's connections, each served in a millisecond and parked) is
 * absorbed by the pool there is, waiting in the listen backlog for a few
 * milliseconds, instead of growing it for nothing; a lasting load still
 * reaches maxchild in a few hundred milliseconds.
 *
 * Workers past prefork stay until the load has not needed them for
 * maxidle seconds (master_pool_trim), then go one a second.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "srv.h"
#include "store.h"
#include "xalloc.h"

/* master_pool_status - drain the status pipe */
void
master_pool_status(void)
{
	struct srv_status st;
	struct master_child *c;
	ssize_t n;

	for (;;) {
		n = read(master.status_rfd, &st, sizeof(st));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		if (n != sizeof(st)) {
			log_warn("short status record (%zd bytes) dropped", n);
			continue;
		}
		c = master_child_find((pid_t)st.pid);
		if (c == NULL || st.generation != c->generation) {
			log_debug("stale status pid=%d dropped", st.pid);
			continue;
		}
		if (st.state == SRV_S_READY) {
			c->state = MASTER_C_READY;
			c->ready_ms = master_now_ms();
			c->svc->backoff_ms = 0;
			/* a removed service's worker finished its session */
			if (c->svc->removed)
				kill(c->pid, SRV_TRIM_SIGNAL);
		} else if (st.state == SRV_S_BUSY) {
			c->state = MASTER_C_BUSY;
		} else if (st.state == SRV_S_RELOADS) {
			c->reloads = 1;
		} else if (st.state == SRV_S_EXITING) {
			c->state = MASTER_C_BUSY;
		} else {
			log_warn("child pid=%d sent unknown state %u", st.pid,
			    st.state);
		}
	}
}

/* master_pool_count - total and ready (or starting) children of svc */
static void
master_pool_count(struct master_svc *svc, int *total_r, int *ready_r)
{
	size_t i;

	*total_r = *ready_r = 0;
	for (i = 0; i < master.nchildren; i++) {
		if (master.children[i].svc != svc)
			continue;
		(*total_r)++;
		if (master.children[i].state != MASTER_C_BUSY)
			(*ready_r)++;
	}
}

/* master_pool_may_fork - maxforkrate check */
static int
master_pool_may_fork(struct master_svc *svc)
{
	long long now = master_now_ms();

	if (svc->e.maxforkrate <= 0)
		return 1;
	if (now - svc->rate_window_ms >= 1000) {
		svc->rate_window_ms = now;
		svc->rate_forks = 0;
	}
	return svc->rate_forks < svc->e.maxforkrate;
}

/* master_pool_stop_one - tell the ready worker of svc that has been
 * ready longest to exit when next waiting for a client (one that took a
 * client since it said ready serves it first, srv.h); 1 if there was one */
static int
master_pool_stop_one(struct master_svc *svc)
{
	struct master_child *c, *oldest = NULL;
	size_t i;

	for (i = 0; i < master.nchildren; i++) {
		c = &master.children[i];
		if (c->svc == svc && c->state == MASTER_C_READY &&
		    (oldest == NULL || c->ready_ms < oldest->ready_ms))
			oldest = c;
	}
	if (oldest == NULL)
		return 0;
	kill(oldest->pid, SRV_TRIM_SIGNAL);
	oldest->state = MASTER_C_BUSY; /* no longer counted */
	return 1;
}

/* master_pool_ring - svc's record of the fewest ready workers in each of
 * the last maxidle seconds, (re)made when missing or resized */
static int *
master_pool_ring(struct master_svc *svc, long long sec, int ready)
{
	int n = svc->e.maxidle > 0 ? svc->e.maxidle : MCONF_MAXIDLE_DEFAULT;

	if (svc->trim_ring == NULL || svc->trim_nring != n) {
		free(svc->trim_ring);
		svc->trim_ring = xcalloc((size_t)n, sizeof(int));
		svc->trim_nring = n;
		svc->trim_since_s = svc->trim_sec = sec;
		svc->trim_last = ready;
		svc->trim_ring[sec % n] = ready;
	}
	return svc->trim_ring;
}

/*
 * master_pool_trim - give back a worker above prefork that the load has
 * not needed for maxidle seconds: when the pool never went below
 * prefork + k ready workers during the last maxidle seconds (k > 0), one
 * of them goes, at most one a second.  Ready workers all wait on the same
 * listener and the kernel wakes any of them, so no single worker is ever
 * idle for long under a steady trickle of clients: the pool's fewest
 * ready workers over the window is what says how many it did not need.
 * A burst grows the pool once and the pool stays while bursts come back
 * within maxidle, instead of paying a new worker's start (exec, joining
 * the store's regions: 30 ms of CPU or more) for every burst.
 */
static void
master_pool_trim(struct master_svc *svc, int ready)
{
	long long sec = master_now_ms() / 1000, s;
	int keep = svc->e.prefork > 0 ? svc->e.prefork : 1, *ring, n, i, min;

	ring = master_pool_ring(svc, sec, ready);
	n = svc->trim_nring;
	if (sec < svc->trim_sec)
		sec = svc->trim_sec; /* never back: the clock is monotonic */
	if (sec == svc->trim_sec) {
		if (ready < ring[sec % n])
			ring[sec % n] = ready;
		svc->trim_last = ready;
		return;
	}
	/* seconds with no round kept the count the last round left */
	for (s = svc->trim_sec + 1; s < sec && s - svc->trim_sec <= n; s++)
		ring[s % n] = svc->trim_last;
	ring[sec % n] = ready < svc->trim_last ? ready : svc->trim_last;
	svc->trim_sec = sec;
	svc->trim_last = ready;
	if (sec - svc->trim_since_s < n)
		return; /* not a whole window seen yet */
	for (min = ring[0], i = 1; i < n; i++)
		if (ring[i] < min)
			min = ring[i];
	if (min <= keep || !master_pool_stop_one(svc))
		return;
	/* the window as it would have been without that worker */
	for (i = 0; i < n; i++)
		ring[i]--;
	svc->trim_last--;
	log_debug("service=%s trimmed a worker unneeded for %d s "
		  "(ready at least %d, prefork %d)",
	    svc->e.name, n, min, keep);
}

/* master_pool_gap - the pause before the next fork of a shortage that
 * has lasted elapsed ms */
static long long
master_pool_gap(long long elapsed)
{
	long long steps = elapsed / MASTER_GROW_STEP_MS;

	return steps >= 8 ? 0 : MASTER_GROW_GAP_MS >> steps;
}

/* master_pool_grow_due - may a fork past prefork happen now? */
static int
master_pool_grow_due(struct master_svc *svc, long long now)
{
	if (svc->short_ms == 0) {
		svc->short_ms = svc->grow_ms = now;
		return 0;
	}
	return now - svc->grow_ms >= master_pool_gap(now - svc->short_ms);
}

/* master_pool_active - does master_pool_adjust look after svc? */
static int
master_pool_active(const struct master_svc *svc)
{
	return svc->e.section == MCONF_SERVICES && !svc->removed &&
	    svc->lfd >= 0;
}

long long
master_pool_next_ms(void)
{
	long long next = 0, at;
	size_t i;

	if (master.terminating)
		return 0;
	for (i = 0; i < master.nsvcs; i++) {
		struct master_svc *svc = master.svcs[i];

		/* a shortage noted before the service was removed is no one's
		 * to act on: it must not wake the loop */
		if (svc->short_ms == 0 || !master_pool_active(svc))
			continue;
		at = svc->grow_ms +
		    master_pool_gap(svc->grow_ms - svc->short_ms);
		/* not before a throttle or the fork rate allows it */
		if (at < svc->next_ms)
			at = svc->next_ms;
		if (svc->e.maxforkrate > 0 &&
		    svc->rate_forks >= svc->e.maxforkrate &&
		    at < svc->rate_window_ms + 1000)
			at = svc->rate_window_ms + 1000;
		if (next == 0 || at < next)
			next = at;
	}
	return next;
}

static void
master_pool_service(struct master_svc *svc)
{
	long long now = master_now_ms();
	int total, ready, want, max;

	if (svc->next_ms > now)
		return; /* throttled after failures */
	master_pool_count(svc, &total, &ready);
	master_pool_trim(svc, ready);
	want = svc->e.prefork > 0 ? svc->e.prefork : 1;
	max = svc->e.maxchild > 0 ? svc->e.maxchild : 1000000;
	if (ready >= want || total >= max)
		svc->short_ms = 0;
	while (ready < want && total < max && master_pool_may_fork(svc)) {
		if (total >= want) {
			/* past prefork: paced, one per round */
			if (!master_pool_grow_due(svc, now))
				break;
			svc->grow_ms = now;
		}
		if (master_spawn(svc) < 0) {
			/* throttle: the paced fork would be due again at
			 * once, every round */
			svc->backoff_ms =
			    svc->backoff_ms ? svc->backoff_ms * 2 : 100;
			if (svc->backoff_ms > 10000)
				svc->backoff_ms = 10000;
			svc->next_ms = now + svc->backoff_ms;
			break;
		}
		svc->rate_forks++;
		ready++;
		total++;
		if (total > want)
			break;
	}
	/* one line when the limit is hit, one when a slot frees, and while
	 * a burst keeps the pool at the limit at most one a minute with how
	 * often it was hit: not a line per worker that comes and goes */
	if (ready == 0 && total >= max && !svc->at_max) {
		svc->at_max = 1;
		svc->max_hits++;
		if (svc->max_logged_ms == 0 ||
		    now - svc->max_logged_ms >= MASTER_MAX_LOG_MS) {
			char hits[64] = "";

			if (svc->max_hits > 1)
				(void)snprintf(hits, sizeof(hits),
				    " (reached %d "
				    "times since the last such line)",
				    svc->max_hits);
			log_warn("service=%s maxchild=%d reached; new clients "
				 "wait %s%s",
			    svc->e.name, max,
			    master_front_serves(svc)
				? "in idled (greeted) for a worker"
				: "in the listen backlog",
			    hits);
			svc->max_logged_ms = now;
			svc->max_hits = 0;
			svc->at_max = 2; /* logged: log the way back */
		}
	} else if (svc->at_max && total < max) {
		if (svc->at_max == 2)
			log_info("service=%s below maxchild=%d again "
				 "(children=%d)",
			    svc->e.name, max, total);
		svc->at_max = 0;
	}
}

/*
 * master_pool_stuck - a worker that has not reported ready within
 * MASTER_START_TIMEOUT_MS is either slow (a loaded machine: exec, opening
 * the store's region) or stuck opening the mail store behind a mutex that
 * a dead process held.  failchk tells which: it reclaims a dead
 * process's locks, or asks for recovery when one died inside the store.
 * The worker itself is not killed for it: a SIGKILL that lands inside
 * Berkeley DB (and a worker opening the store is inside it) is exactly
 * what makes failchk ask for recovery, which would cost every session on
 * the server for one slow start.  One still not ready after
 * MASTER_START_STOP_MS is told to stop with SIGTERM, which a worker obeys
 * outside the store.
 */
static void
master_pool_stuck(void)
{
	long long now = master_now_ms();
	size_t i;

	for (i = 0; i < master.nchildren; i++) {
		struct master_child *c = &master.children[i];

		if (c->svc->e.section != MCONF_SERVICES ||
		    c->state != MASTER_C_STARTING)
			continue;
		if (c->slow == 0 &&
		    now - c->started_ms >= MASTER_START_TIMEOUT_MS) {
			log_warn("service=%s pid=%d not ready after %d ms; "
				 "checking the mail store",
			    c->svc->e.name, (int)c->pid,
			    MASTER_START_TIMEOUT_MS);
			c->slow = 1;
			/* failchk (or its own timeout) decides on recovery */
			master_store_failchk_soon("slow start");
		} else if (c->slow == 1 &&
		    now - c->started_ms >= MASTER_START_STOP_MS) {
			log_error("service=%s pid=%d not ready after %d ms; "
				  "stopping it",
			    c->svc->e.name, (int)c->pid, MASTER_START_STOP_MS);
			c->slow = 2;
			kill(c->pid, SIGTERM);
		}
	}
}

void
master_pool_adjust(void)
{
	size_t i;

	if (master.terminating)
		return;
	master_pool_stuck();
	for (i = 0; i < master.nsvcs; i++)
		if (master_pool_active(master.svcs[i]))
			master_pool_service(master.svcs[i]);
}

void
master_pool_reaped(struct master_child *c, int status)
{
	struct master_svc *svc = c->svc;

	int stopped = WIFSIGNALED(status) &&
	    (WTERMSIG(status) == SIGTERM ||
		WTERMSIG(status) == SRV_TRIM_SIGNAL);
	int failed = !master.terminating &&
	    ((WIFEXITED(status) && WEXITSTATUS(status) != 0) ||
		(WIFSIGNALED(status) && !stopped));

	/*
	 * A child that died without closing the store (the watchdog, a
	 * crash, SIGKILL) or found it full leaves lockers behind: failchk
	 * reclaims them, and only its verdict recovers the store.  The
	 * watchdog cancels that one client (it was told BYE); no one else
	 * loses a session.
	 */
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM &&
	    !master.terminating)
		log_error("service=%s pid=%d stopped by its watchdog; "
			  "reclaiming its locks",
		    svc->e.name, (int)c->pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == STORE_EXIT_SHORTAGE &&
	    !master.terminating)
		log_error("service=%s pid=%d found the mail store's lock "
			  "table full; reclaiming dead processes' locks",
		    svc->e.name, (int)c->pid);
	if (failed)
		master_store_failchk_soon("child died");
	/* a worker that dies before it ever became ready (bad config, store
	 * unusable) throttles its service, as Postfix does; one killed
	 * while serving does not */
	if (svc->e.section == MCONF_SERVICES) {
		if (failed && c->state == MASTER_C_STARTING) {
			svc->backoff_ms =
			    svc->backoff_ms ? svc->backoff_ms * 2 : 100;
			if (svc->backoff_ms > 10000)
				svc->backoff_ms = 10000;
			svc->next_ms = master_now_ms() + svc->backoff_ms;
		} else {
			svc->backoff_ms = 0;
		}
	}
	/* SIGTERM and SRV_TRIM_SIGNAL are ours: reload, trimming, shutdown */
	if (WIFSIGNALED(status) && !master.terminating && !stopped)
		log_error("service=%s pid=%d killed by signal %d", svc->e.name,
		    (int)c->pid, WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
	    !master.terminating)
		log_error("service=%s pid=%d exited with status %d",
		    svc->e.name, (int)c->pid, WEXITSTATUS(status));
	else
		log_debug("service=%s pid=%d exited", svc->e.name, (int)c->pid);
}

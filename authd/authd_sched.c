/*
 * authd_sched - which login request runs next, and which are shed.
 *
 * A request goes straight to an idle backend thread, or waits in the
 * priority queue (authd_queue) until one is idle.  Shedding, answered
 * NO [UNAVAILABLE] at once by authd_login:
 *  - the queue is full (authd_queue_max): the worst request goes, which
 *    is the newcomer itself unless it outranks something queued;
 *  - a request waited past authd_queue_timeout (class 1: twice that), so
 *    no worker waits longer than it can bear;
 *  - a backend call ran past authd_backend_timeout: the worker is
 *    answered, the call is abandoned (its thread finishes it whenever the
 *    backend answers; the job is freed then) and the pool may grow.
 * Class 1 requests are at the head of the queue, so they are the last to
 * wait and the last to be shed.  Class 3 (clients with recent failures:
 * a botnet, once it has failed) runs only while more than
 * authd_backend_reserve percent of the threads are idle, so a storm
 * against a slow backend never takes every thread: a known user or a
 * clean client finds one free instead of waiting out an attacker's
 * check.
 */
#include "config.h"

#include <stdlib.h>

#include "authd.h"
#include "cfg.h"
#include "log.h"

static struct authd_queue sched_queue;

/* sched_may_run - is a thread free for a request of class cls? */
static int
sched_may_run(int cls)
{
	long long pct = cfg_int("authd_backend_reserve"), keep;
	int threads = authd_pool_threads();

	if (cls < 3 || pct <= 0)
		return authd_pool_idle() > 0;
	keep = (long long)threads * (pct > 100 ? 100 : pct) / 100;
	if (keep > threads - 1)
		keep = threads - 1;
	return authd_pool_idle() > keep;
}

/* sched_dispatch - give queued requests to idle threads, best first (the
 * rest are no better once the best has to wait) */
static void
sched_dispatch(long long now)
{
	struct authd_qitem *it;

	while ((it = authd_queue_top(&sched_queue)) != NULL &&
	    sched_may_run(it->cls)) {
		authd_queue_remove(&sched_queue, it);
		authd_pool_run((struct authd_job *)it, now);
	}
}

void
authd_sched_submit(struct authd_job *j)
{
	long long now = authd_now_ms(), max = cfg_int("authd_queue_max"),
		  wait = cfg_duration_ms("authd_queue_timeout");
	struct authd_qitem *worst;

	j->queued_ms = now;
	j->q.deadline_ms = now + (j->q.cls == 1 ? 2 * wait : wait);
	if (authd_queue_len(&sched_queue) == 0 && sched_may_run(j->q.cls) &&
	    authd_pool_run(j, now) == 0)
		return;
	j->state = AUTHD_J_QUEUED;
	authd_queue_push(&sched_queue, &j->q);
	if (max > 0 && (long long)authd_queue_len(&sched_queue) > max) {
		worst = authd_queue_worst(&sched_queue);
		authd_queue_remove(&sched_queue, worst);
		authd_login_shed((struct authd_job *)worst, "queue-full");
	}
	sched_dispatch(now);
}

void
authd_sched_cancel(struct authd_job *j)
{
	if (j->state == AUTHD_J_QUEUED) {
		authd_queue_remove(&sched_queue, &j->q);
		authd_job_free(j);
		return;
	}
	/* running: the thread finishes it; authd_sched_reap frees it */
	j->peer = NULL;
}

void
authd_sched_reap(void)
{
	struct authd_job *j, *next;

	for (j = authd_pool_collect(); j != NULL; j = next) {
		next = j->next;
		if (j->peer != NULL)
			authd_login_done(j);
		authd_job_free(j);
	}
	sched_dispatch(authd_now_ms());
}

void
authd_sched_tick(long long now)
{
	long long btime = cfg_duration_ms("authd_backend_timeout");
	struct authd_qitem *it;
	struct authd_job *j;

	while ((it = authd_queue_expired(&sched_queue, now)) != NULL) {
		authd_queue_remove(&sched_queue, it);
		authd_login_shed((struct authd_job *)it, "deadline");
	}
	for (j = authd_pool_running(); btime > 0 && j != NULL; j = j->rnext)
		if (j->peer != NULL && now - j->started_ms >= btime) {
			authd_login_shed(j, "backend-timeout");
			j->peer = NULL;
			authd_pool_grow();
		}
	sched_dispatch(now);
}

int
authd_sched_busy(void)
{
	return authd_queue_len(&sched_queue) > 0 ||
	    authd_pool_running() != NULL;
}

size_t
authd_sched_queued(void)
{
	return authd_queue_len(&sched_queue);
}

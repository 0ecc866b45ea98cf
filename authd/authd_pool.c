/*
 * authd_pool - the bounded pool of backend threads: the only threads in
 * berth.  A libsasl2 call that may block (saslauthd -> PAM, Kerberos,
 * LDAP; an auxprop lookup) runs here, off the event loop.
 *
 * What a thread touches: the job it was handed (its sasl_conn_t, its
 * input, its output fields) and the pool's todo/done lists under
 * pool_mu.  Nothing else: no configuration lookups of its own, no
 * authd tables, no static buffers (libsasl2's callbacks read the
 * configuration, which is immutable while authd runs).  A finished job
 * goes on the done list and the eventfd wakes the loop.
 *
 * The main thread hands a job over only when a thread is idle, so the
 * order of work is the priority queue's (authd_sched), never a FIFO's.
 * A thread stuck in a backend that never answers cannot be cancelled
 * (libsasl2 would be left inconsistent): its job is abandoned by the
 * scheduler and the pool may grow, up to AUTHD_POOL_MAX_FACTOR times
 * authd_backend_threads, so other logins go on.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "authd.h"
#include "cfg.h"
#include "log.h"
#include "xalloc.h"

#define AUTHD_POOL_MAX_FACTOR 4

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;
static struct authd_job *pool_todo, *pool_done; /* under pool_mu */
static int pool_efd = -1;

/* main thread only */
static struct authd_job *pool_running;
static int pool_threads, pool_idle, pool_max;

/* pool_call - the libsasl2 call of one job (on a pool thread) */
static void
pool_call(struct authd_job *j)
{
	const char *out = NULL;
	unsigned outlen = 0;

	if (j->start)
		j->rc = sasl_server_start(j->sasl, j->mech,
		    j->has_in ? j->in : NULL, (unsigned)j->inlen, &out,
		    &outlen);
	else
		j->rc = sasl_server_step(j->sasl, j->in, (unsigned)j->inlen,
		    &out, &outlen);
	j->outlen = 0;
	if (out != NULL && outlen > 0) {
		j->out = malloc(outlen);
		if (j->out != NULL) {
			memcpy(j->out, out, outlen);
			j->outlen = outlen;
		}
	}
}

/* pool_lock, pool_unlock - pool_mu; a failure is our bug (a default
 * mutex fails only when it is not one) */
static void
pool_lock(void)
{
	int r;

	if ((r = pthread_mutex_lock(&pool_mu)) != 0)
		log_panic("backend pool lock: %s", strerror(r));
}

static void
pool_unlock(void)
{
	int r;

	if ((r = pthread_mutex_unlock(&pool_mu)) != 0)
		log_panic("backend pool unlock: %s", strerror(r));
}

static void *
pool_thread(void *arg)
{
	struct authd_job *j;
	uint64_t one = 1;

	(void)arg;
	pool_lock();
	for (;;) {
		while (pool_todo == NULL)
			if (pthread_cond_wait(&pool_cv, &pool_mu) != 0)
				log_panic("backend pool wait failed");
		j = pool_todo;
		pool_todo = j->next;
		pool_unlock();
		pool_call(j);
		pool_lock();
		j->next = pool_done;
		pool_done = j;
		/* a full eventfd counter still wakes the loop */
		if (write(pool_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			abort();
	}
	return NULL;
}

/* pool_spawn - one more thread; -1 if it cannot be made */
static int
pool_spawn(void)
{
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int r;

	if (pool_threads >= pool_max)
		return -1;
	/* signals stay with the main thread */
	sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
		return -1;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&tid, &attr, pool_thread, NULL);
	pthread_attr_destroy(&attr);
	if (pthread_sigmask(SIG_SETMASK, &old, NULL) != 0)
		log_panic("cannot restore the signal mask");
	if (r != 0) {
		log_error("cannot start a backend thread: %s", strerror(r));
		return -1;
	}
	pool_threads++;
	pool_idle++;
	return 0;
}

void
authd_pool_init(void)
{
	long long n = cfg_int("authd_backend_threads");
	int i;

	if (n < 1)
		n = 1;
	if (n > 256)
		n = 256;
	pool_max = (int)n * AUTHD_POOL_MAX_FACTOR;
	pool_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool_efd < 0)
		log_fatal("eventfd: %m");
	for (i = 0; i < n; i++)
		if (pool_spawn() < 0)
			log_fatal("cannot start the backend pool");
}

int
authd_pool_fd(void)
{
	return pool_efd;
}

int
authd_pool_idle(void)
{
	return pool_idle;
}

int
authd_pool_run(struct authd_job *j, long long now_ms)
{
	if (pool_idle <= 0)
		return -1;
	pool_idle--;
	j->state = AUTHD_J_RUNNING;
	j->started_ms = now_ms;
	j->rnext = pool_running;
	pool_running = j;
	pool_lock();
	j->next = pool_todo;
	pool_todo = j;
	if (pthread_cond_signal(&pool_cv) != 0)
		log_panic("backend pool signal failed");
	pool_unlock();
	return 0;
}

void
authd_pool_grow(void)
{
	if (pool_idle == 0 && pool_spawn() == 0)
		log_warn("backend thread added threads=%d (others are stuck "
			 "in a backend)",
		    pool_threads);
}

static void
pool_unrun(struct authd_job *j)
{
	struct authd_job **pp;

	for (pp = &pool_running; *pp != NULL; pp = &(*pp)->rnext)
		if (*pp == j) {
			*pp = j->rnext;
			break;
		}
	j->rnext = NULL;
}

struct authd_job *
authd_pool_collect(void)
{
	struct authd_job *list, *j, *out = NULL;
	uint64_t n;

	if (read(pool_efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_error("eventfd read: %m");
	pool_lock();
	list = pool_done;
	pool_done = NULL;
	pool_unlock();
	while ((j = list) != NULL) {
		list = j->next;
		pool_unrun(j);
		pool_idle++;
		j->state = AUTHD_J_DONE;
		j->next = out;
		out = j;
	}
	return out;
}

struct authd_job *
authd_pool_running(void)
{
	return pool_running;
}

int
authd_pool_threads(void)
{
	return pool_threads;
}

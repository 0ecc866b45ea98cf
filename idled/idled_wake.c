/*
 * idled_wake - hand sessions back to workers through their service's
 * handoff socket: connect, one RESUME message with the client fd and the
 * snapshot, close.  Any free worker accepts it.
 *
 * Never blocks: when every worker is busy and the handoff backlog is full
 * (connect says EAGAIN), the session waits in a FIFO queue, retried every
 * few milliseconds while master grows the pool.  A session in the queue
 * stays parked: its client's bytes are kept and travel with it.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "authlink.h"
#include "fd.h"
#include "idled.h"
#include "idleproto.h"
#include "ipc.h"
#include "log.h"

#define WAKE_RETRY_MS 5

static struct isess *wake_head, *wake_tail;
static size_t wake_n;
static struct ev_timer wake_timer;
static struct ipc_msg wake_msg;

size_t
idled_wake_queued(void)
{
	return wake_n;
}

/* wake_connect - a connection to s's handoff socket; -1 (errno) */
static int
wake_connect(const struct isess *s)
{
	struct sockaddr_un sun;
	size_t len = strlen(s->handoff);
	int c;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (len >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, s->handoff, len);
	c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c < 0)
		return -1;
	if (connect(c, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		fd_close(c);
		errno = e;
		return -1;
	}
	return c;
}

/* wake_send - try to hand s over now: 0 done (s gone), 1 try later */
static int
wake_send(struct isess *s)
{
	struct snap sn;
	int c, r;

	log_set_session(s->conn_id);
	if ((c = wake_connect(s)) < 0 && errno == EAGAIN)
		return 1;
	ipc_msg_init(&wake_msg, IDLEPROTO_T_RESUME);
	wake_msg.fd = s->fd;
	idled_sess_snap(s, &sn);
	r = c < 0			   ? -1
	    : snap_put(&sn, &wake_msg) < 0 ? -1
					   : ipc_send(c, &wake_msg);
	snap_free(&sn);
	if (r < 0) {
		log_error("resume failed user=%s addr=%s handoff=%s: %m",
		    s->user->name, s->addr, s->handoff);
		if (c >= 0)
			fd_close(c);
		if (idled_sess_write(s, "* BYE Server busy, reconnect\r\n",
			30) == 0)
			idled_sess_drop(s, "resume-failed");
		return 0;
	}
	fd_close(c);
	/* the worker that takes it tells authd it holds it; closing it
	 * here must not count as the client going away */
	authlink_release(s->conn_id);
	s->conn_id = 0;
	idled_sess_drop(s, s->why);
	return 0;
}

/* wake_retry - hand on queued sessions until the backlog is full */
static void
wake_retry(struct ev_timer *t, void *ctx)
{
	struct isess *s;

	(void)t;
	(void)ctx;
	while ((s = wake_head) != NULL) {
		wake_head = s->qnext;
		if (wake_head == NULL)
			wake_tail = NULL;
		s->qnext = NULL;
		s->waking = 0;
		wake_n--;
		if (wake_send(s) == 1) {
			/* still full: back at the front */
			s->waking = 1;
			s->qnext = wake_head;
			wake_head = s;
			if (wake_tail == NULL)
				wake_tail = s;
			wake_n++;
			break;
		}
	}
	if (wake_head != NULL)
		ev_timer_add(&wake_timer, WAKE_RETRY_MS, wake_retry, NULL);
}

void
idled_wake(struct isess *s, const char *why)
{
	if (s->waking)
		return;
	s->why = why;
	if (wake_head == NULL && wake_send(s) == 0)
		return;
	/* queued behind the others, in order */
	s->waking = 1;
	s->qnext = NULL;
	if (wake_tail)
		wake_tail->qnext = s;
	else
		wake_head = s;
	wake_tail = s;
	wake_n++;
	if (!ev_timer_armed(&wake_timer))
		ev_timer_add(&wake_timer, WAKE_RETRY_MS, wake_retry, NULL);
}

void
idled_wake_forget(struct isess *s)
{
	struct isess **pp, *prev = NULL;

	if (!s->waking)
		return;
	for (pp = &wake_head; *pp != NULL; prev = *pp, pp = &(*pp)->qnext)
		if (*pp == s) {
			*pp = s->qnext;
			if (wake_tail == s)
				wake_tail = prev;
			wake_n--;
			break;
		}
	s->waking = 0;
	s->qnext = NULL;
}

/*
 * authn - the link to authd and the set of client connections this
 * process holds (see authn.h).
 *
 * Owns one SOCK_SEQPACKET connection to authd per process, non-blocking,
 * and a hash of held connections {id, hold time, address, user}.  Events
 * never wait: if a send cannot go at once the link is dropped, which
 * makes authd release everything we held, and the next attempt (at most
 * once a second) replays the whole set in HOLD batches.  Replayed holds
 * keep their original time stamp, so a newer hold by another process
 * wins whatever order authd reads them in.
 *
 * Does not retry requests: authn_call() reports failure and authc
 * answers the client.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "authn.h"
#include "clock.h"
#include "authp.h"
#include "ipc.h"
#include "log.h"
#include "xalloc.h"

#define AUTHN_RETRY_MS 1000	/* between attempts to remake the link */
#define AUTHN_QUEUE_MAX 8192	/* events waiting for room on the link */

struct authn_conn {
	uint64_t id;
	uint64_t ts;
	struct authn_conn *next;
	uint32_t uoff;		/* the user's offset in text */
	char text[];		/* "addr\0user\0": one allocation, as idled
				 * keeps one of these per parked session */
};

static struct authn_conn **authn_tab;
static size_t authn_tab_size, authn_count;
static int authn_fd = -1;
static unsigned authn_gen;
static size_t authn_replay_pos;		/* next bucket to replay */

/* events the socket had no room for, oldest first */
static struct ipc_queue authn_q = IPC_QUEUE_INIT;
static long long authn_next_try;
static char authn_role[16];		/* announced on every new link */
/* connections closed while the link was down: authd may still count
 * them against a process that handed them to us before our HOLD could
 * reach it, so it hears of them on the next link */
#define AUTHN_LATE_MAX 4096
static uint64_t authn_late[AUTHN_LATE_MAX];
static size_t authn_nlate;
static struct ipc_msg authn_msg;	/* events */
static struct ipc_msg authn_rmsg;	/* replay batches */

static size_t
authn_slot(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t)id & (authn_tab_size - 1);
}

static struct authn_conn **
authn_find(uint64_t id)
{
	struct authn_conn **pp;

	if (authn_tab_size == 0)
		return NULL;
	for (pp = &authn_tab[authn_slot(id)]; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->id == id)
			return pp;
	return NULL;
}

/* authn_grow - double the table when it is as full as it is long */
static void
authn_grow(void)
{
	struct authn_conn **old = authn_tab, *c, *next;
	size_t oldsize = authn_tab_size, i, s;

	authn_tab_size = oldsize ? oldsize * 2 : 16;
	authn_replay_pos = 0;	/* entries moved: a replay starts over */
	authn_tab = xcalloc(authn_tab_size, sizeof(*authn_tab));
	for (i = 0; i < oldsize; i++)
		for (c = old[i]; c != NULL; c = next) {
			next = c->next;
			s = authn_slot(c->id);
			c->next = authn_tab[s];
			authn_tab[s] = c;
		}
	free(old);
}

static void authn_forget(uint64_t id);

/* authn_put - record (or update) a held connection */
static void
authn_put(uint64_t id, uint64_t ts, const char *addr, const char *user)
{
	struct authn_conn *c;
	size_t al, ul, s;

	addr = addr ? addr : "";
	user = user ? user : "";
	al = strlen(addr);
	ul = strlen(user);
	authn_forget(id);
	if (authn_count >= authn_tab_size)
		authn_grow();
	c = xmalloc(sizeof(*c) + al + ul + 2);
	c->id = id;
	c->ts = ts;
	c->uoff = (uint32_t)(al + 1);
	memcpy(c->text, addr, al + 1);
	memcpy(c->text + al + 1, user, ul + 1);
	s = authn_slot(id);
	c->next = authn_tab[s];
	authn_tab[s] = c;
	authn_count++;
}

static void
authn_forget(uint64_t id)
{
	struct authn_conn **pp = authn_find(id), *c;

	if (pp == NULL)
		return;
	c = *pp;
	*pp = c->next;
	free(c);
	authn_count--;
}

void
authn_disconnect(void)
{
	if (authn_fd >= 0)
		close(authn_fd);
	authn_fd = -1;
	/* authd releases everything we held when it sees the close: what
	 * was queued is moot, the replay on the next link restores holds */
	ipc_queue_clear(&authn_q);
}

/* authn_drop - give up on the link for a while */
static void
authn_drop(void)
{
	authn_disconnect();
	authn_next_try = clock_mono_ms() + AUTHN_RETRY_MS;
}

/* authn_put_group - one HOLD group; -1 when the message is full */
static int
authn_put_group(struct ipc_msg *m, const struct authn_conn *c)
{
	size_t len = m->len;

	if (ipc_put_u64(m, AUTHP_CONNID, c->id) < 0 ||
	    ipc_put_u64(m, AUTHP_TS, c->ts) < 0 ||
	    ipc_put_str(m, AUTHP_ADDR, c->text) < 0 ||
	    ipc_put_str(m, AUTHP_USER, c->text + c->uoff) < 0) {
		m->len = len;	/* drop the partial group */
		return -1;
	}
	return 0;
}

/*
 * authn_replay - tell a new authd what we hold, a batch of whole buckets
 * at a time from authn_replay_pos.  A full socket stops it without
 * dropping the link; the next call goes on from there.  0 done, 1 not
 * yet, -1 failed (the link is dropped).
 */
static int
authn_replay(void)
{
	struct authn_conn *c;
	unsigned n;
	size_t b;

	while (authn_replay_pos < authn_tab_size) {
		ipc_msg_init(&authn_rmsg, AUTHP_T_HOLD);
		n = 0;
		/* whole buckets, while there is surely room for one more */
		for (b = authn_replay_pos; b < authn_tab_size &&
		    n < AUTHP_HOLD_BATCH && authn_rmsg.len < IPC_MAX_MSG / 2;
		    b++)
			for (c = authn_tab[b]; c != NULL; c = c->next)
				if (authn_put_group(&authn_rmsg, c) == 0)
					n++;
		if (n > 0 && ipc_send(authn_fd, &authn_rmsg) < 0) {
			if (errno == EAGAIN)
				return 1;
			authn_drop();
			return -1;
		}
		authn_replay_pos = b;
	}
	return 0;
}

/*
 * authn_drain - send what waits: queued events, then the rest of a
 * replay (their order does not matter: authd orders holds by time stamp
 * and remembers closes).  0 all sent, 1 the socket is full, -1 the link
 * was dropped.
 */
static int
authn_drain(void)
{
	int r = ipc_queue_flush(&authn_q, authn_fd);

	if (r < 0) {
		authn_drop();
		return -1;
	}
	return r > 0 ? 1 : authn_replay();
}

static int
authn_pending(void)
{
	return ipc_queue_len(&authn_q) > 0 || authn_replay_pos < authn_tab_size;
}

/* authn_connect_once - one non-blocking attempt; 0 linked */
static int
authn_connect_once(void)
{
	struct sockaddr_un sun;
	const char *path = authp_socket_path();
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	authn_fd = fd;
	authn_gen++;
	authn_replay_pos = 0;
	if (authn_role[0] != '\0') {
		ipc_msg_init(&authn_msg, AUTHP_T_IAM);
		ipc_put_str(&authn_msg, AUTHP_ROLE, authn_role);
		if (ipc_send(authn_fd, &authn_msg) < 0) {
			authn_drop();
			return -1;
		}
	}
	while (authn_nlate > 0) {
		ipc_msg_init(&authn_msg, AUTHP_T_CLOSED);
		ipc_put_u64(&authn_msg, AUTHP_CONNID, authn_late[--authn_nlate]);
		ipc_put_u64(&authn_msg, AUTHP_TS, authp_now_ns());
		if (ipc_send(authn_fd, &authn_msg) < 0 &&
		    ipc_queue_push(&authn_q, &authn_msg,
		    AUTHN_QUEUE_MAX) < 0)
			break;
	}
	return authn_drain() < 0 ? -1 : 0;
}

void
authn_set_role(const char *role)
{
	snprintf(authn_role, sizeof(authn_role), "%s", role);
}

int
authn_fd_now(void)
{
	return authn_fd;
}

int
authn_recv(struct ipc_msg *m)
{
	int r;

	if (authn_fd < 0)
		return 0;
	r = ipc_recv(authn_fd, m);
	if (r > 0 && m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
		r = -1;
	}
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
		authn_drop();
		return -1;
	}
	return r > 0 ? 1 : 0;
}

/*
 * authn_link - make sure the link is up.  wait_ms > 0: keep trying that
 * long (authd restarting); 0: one attempt, and none at all within
 * AUTHN_RETRY_MS of the last failure.
 */
static int
authn_link(long long wait_ms)
{
	long long now = clock_mono_ms(), end = now + wait_ms;

	if (authn_fd >= 0) {
		if (authn_drain() >= 0)
			return 0;
		authn_next_try = 0;	/* it just died: try a new one now */
	}
	if (wait_ms <= 0 && now < authn_next_try)
		return -1;
	for (;;) {
		if (authn_connect_once() == 0)
			return 0;
		now = clock_mono_ms();
		if (now >= end) {
			authn_next_try = now + AUTHN_RETRY_MS;
			return -1;
		}
		usleep(50000);
	}
}

int
authn_event(const struct ipc_msg *m)
{
	if (authn_link(0) < 0)
		return -1;
	if (!authn_pending() && ipc_send(authn_fd, m) == 0)
		return 0;
	if ((authn_pending() || errno == EAGAIN) &&
	    ipc_queue_push(&authn_q, m, AUTHN_QUEUE_MAX) == 0)
		return 0;
	/* authd is gone or far behind: it releases what we held when it
	 * sees the link close; we replay on the next link */
	authn_drop();
	return -1;
}

void
authn_hold(uint64_t conn_id, const char *addr, const char *user)
{
	struct authn_conn **pp;

	if (conn_id == 0)
		return;
	authn_put(conn_id, authp_now_ns(), addr, user);
	if (authn_fd < 0) {
		authn_link(0);	/* the replay carries it */
		return;
	}
	pp = authn_find(conn_id);
	ipc_msg_init(&authn_msg, AUTHP_T_HOLD);
	if (authn_put_group(&authn_msg, *pp) == 0)
		authn_event(&authn_msg);
}

void
authn_closed(uint64_t conn_id)
{
	if (conn_id == 0)
		return;
	authn_forget(conn_id);
	if (authn_fd < 0) {
		/* authd forgot what we held when our link went, but not
		 * what it never heard we held */
		if (authn_nlate < AUTHN_LATE_MAX)
			authn_late[authn_nlate++] = conn_id;
		return;
	}
	ipc_msg_init(&authn_msg, AUTHP_T_CLOSED);
	ipc_put_u64(&authn_msg, AUTHP_CONNID, conn_id);
	ipc_put_u64(&authn_msg, AUTHP_TS, authp_now_ns());
	authn_event(&authn_msg);
}

void
authn_release(uint64_t conn_id)
{
	authn_forget(conn_id);
}

void
authn_adopt(uint64_t conn_id, uint64_t ts, const char *addr,
    const char *user)
{
	if (conn_id != 0)
		authn_put(conn_id, ts, addr, user);
}

void
authn_tick(void)
{
	/* a process with a role (idled) keeps its link even holding
	 * nothing: authd sends it login results */
	if (authn_count > 0 || authn_role[0] != '\0')
		authn_link(0);
}

unsigned
authn_held(void)
{
	return (unsigned)authn_count;
}

unsigned
authn_generation(void)
{
	return authn_gen;
}

uint64_t
authn_new_id(void)
{
	uint64_t id = 0;

	while (id == 0)
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = (uint64_t)clock_mono_ms() * 2654435761u ^
			    (uint64_t)getpid();
	return id;
}

/* authn_wait - poll the link for events within the deadline */
static int
authn_wait(short events, long long end)
{
	struct pollfd pfd = { authn_fd, events, 0 };
	long long left;
	int r;

	for (;;) {
		left = end - clock_mono_ms();
		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, (int)left);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

/* authn_send_wait - send m, waiting for room until end */
static int
authn_send_wait(const struct ipc_msg *m, long long end)
{
	while (ipc_send(authn_fd, m) < 0) {
		if (errno != EAGAIN || authn_wait(POLLOUT, end) <= 0)
			return -1;
	}
	return 0;
}

/* authn_flush_wait - queued events and the replay out before a request */
static int
authn_flush_wait(long long end)
{
	int r;

	while ((r = authn_drain()) == 1)
		if (authn_wait(POLLOUT, end) <= 0)
			return -1;
	return r < 0 || authn_fd < 0 ? -1 : 0;
}

int
authn_call(const struct ipc_msg *req, struct ipc_msg *rep,
    long long connect_wait_ms, long long timeout_ms, const char **error_r)
{
	long long end;
	int tries, r;

	for (tries = 0;; tries++) {
		if (authn_link(connect_wait_ms) < 0) {
			*error_r = "authd is not reachable";
			return -1;
		}
		end = clock_mono_ms() + timeout_ms;
		if (authn_flush_wait(end) == 0 &&
		    authn_send_wait(req, end) == 0)
			break;
		authn_disconnect();	/* authd restarted: once more */
		if (tries > 0) {
			*error_r = "cannot send to authd";
			return -1;
		}
	}
	if (authn_wait(POLLIN, end) <= 0) {
		authn_disconnect();
		*error_r = "authd did not answer in time";
		return -1;
	}
	r = ipc_recv(authn_fd, rep);
	if (r <= 0) {
		authn_disconnect();
		*error_r = r == 0 ? "authd closed the connection" :
		    "malformed reply from authd";
		return -1;
	}
	if (rep->fd >= 0) {
		close(rep->fd);
		rep->fd = -1;
	}
	return 0;
}

/*
 * authlink - the link to authd and the set of client connections this
 * process holds (see authlink.h).
 *
 * Owns one SOCK_SEQPACKET connection to authd per process, non-blocking,
 * and a hash of held connections {id, hold time, address, user}.  Events
 * never wait: if a send cannot go at once the link is dropped, which
 * makes authd release everything we held, and the next attempt (at most
 * once a second) replays the whole set in HOLD batches.  Replayed holds
 * keep their original time stamp, so a newer hold by another process
 * wins whatever order authd reads them in.
 *
 * Does not retry requests: authlink_call() reports failure and authclient
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

#include "authlink.h"
#include "clock.h"
#include "authproto.h"
#include "fd.h"
#include "ipc.h"
#include "log.h"
#include "xalloc.h"

#define AUTHLINK_RETRY_MS 1000	/* between attempts to remake the link */
#define AUTHLINK_QUEUE_MAX 8192 /* events waiting for room on the link */

struct authlink_conn {
	uint64_t id;
	uint64_t ts;
	struct authlink_conn *next;
	uint32_t uoff; /* the user's offset in text */
	char text[];   /* "addr\0user\0": one allocation, as idled
			* keeps one of these per parked session */
};

static struct authlink_conn **authlink_tab;
static size_t authlink_tab_size, authlink_count;
static int authlink_fd = -1;
static unsigned authlink_gen;
static size_t authlink_replay_pos; /* next bucket to replay */

/* events the socket had no room for, oldest first */
static struct ipc_queue authlink_q = IPC_QUEUE_INIT;
static long long authlink_next_try;
static char authlink_role[16]; /* announced on every new link */
/* connections closed while the link was down: authd may still count
 * them against a process that handed them to us before our HOLD could
 * reach it, so it hears of them on the next link */
#define AUTHLINK_LATE_MAX 4096
static uint64_t authlink_late[AUTHLINK_LATE_MAX];
static size_t authlink_nlate;
/* connections authd told us to end (KICK), not yet taken */
#define AUTHLINK_KICK_MAX 256
static uint64_t authlink_kicks[AUTHLINK_KICK_MAX];
static size_t authlink_nkicks;
static struct ipc_msg authlink_msg;  /* events */
static struct ipc_msg authlink_rmsg; /* replay batches */

static size_t
authlink_slot(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t)id & (authlink_tab_size - 1);
}

static struct authlink_conn **
authlink_find(uint64_t id)
{
	struct authlink_conn **pp;

	if (authlink_tab_size == 0)
		return NULL;
	for (pp = &authlink_tab[authlink_slot(id)]; *pp != NULL;
	     pp = &(*pp)->next)
		if ((*pp)->id == id)
			return pp;
	return NULL;
}

/* authlink_grow - double the table when it is as full as it is long */
static void
authlink_grow(void)
{
	struct authlink_conn **old = authlink_tab, *c, *next;
	size_t oldsize = authlink_tab_size, i, s;

	authlink_tab_size = oldsize ? oldsize * 2 : 16;
	authlink_replay_pos = 0; /* entries moved: a replay starts over */
	authlink_tab = xcalloc(authlink_tab_size, sizeof(*authlink_tab));
	for (i = 0; i < oldsize; i++)
		for (c = old[i]; c != NULL; c = next) {
			next = c->next;
			s = authlink_slot(c->id);
			c->next = authlink_tab[s];
			authlink_tab[s] = c;
		}
	free(old);
}

static void authlink_forget(uint64_t id);

/* authlink_put - record (or update) a held connection */
static void
authlink_put(uint64_t id, uint64_t ts, const char *addr, const char *user)
{
	struct authlink_conn *c;
	size_t al, ul, s;

	addr = addr ? addr : "";
	user = user ? user : "";
	al = strlen(addr);
	ul = strlen(user);
	authlink_forget(id);
	if (authlink_count >= authlink_tab_size)
		authlink_grow();
	c = xmalloc(sizeof(*c) + al + ul + 2);
	c->id = id;
	c->ts = ts;
	c->uoff = (uint32_t)(al + 1);
	memcpy(c->text, addr, al + 1);
	memcpy(c->text + al + 1, user, ul + 1);
	s = authlink_slot(id);
	c->next = authlink_tab[s];
	authlink_tab[s] = c;
	authlink_count++;
}

static void
authlink_forget(uint64_t id)
{
	struct authlink_conn **pp = authlink_find(id), *c;

	if (pp == NULL)
		return;
	c = *pp;
	*pp = c->next;
	free(c);
	authlink_count--;
}

void
authlink_disconnect(void)
{
	if (authlink_fd >= 0)
		fd_close(authlink_fd);
	authlink_fd = -1;
	/* authd releases everything we held when it sees the close: what
	 * was queued is moot, the replay on the next link restores holds */
	ipc_queue_clear(&authlink_q);
}

/* authlink_drop - give up on the link for a while */
static void
authlink_drop(void)
{
	authlink_disconnect();
	authlink_next_try = clock_mono_ms() + AUTHLINK_RETRY_MS;
}

/* authlink_put_group - one HOLD group; -1 when the message is full */
static int
authlink_put_group(struct ipc_msg *m, const struct authlink_conn *c)
{
	size_t len = m->len;

	if (ipc_put_u64(m, AUTHPROTO_CONNID, c->id) < 0 ||
	    ipc_put_u64(m, AUTHPROTO_TS, c->ts) < 0 ||
	    ipc_put_str(m, AUTHPROTO_ADDR, c->text) < 0 ||
	    ipc_put_str(m, AUTHPROTO_USER, c->text + c->uoff) < 0) {
		m->len = len; /* drop the partial group */
		return -1;
	}
	return 0;
}

/*
 * authlink_replay - tell a new authd what we hold, a batch of whole buckets
 * at a time from authlink_replay_pos.  A full socket stops it without
 * dropping the link; the next call goes on from there.  0 done, 1 not
 * yet, -1 failed (the link is dropped).
 */
static int
authlink_replay(void)
{
	struct authlink_conn *c;
	unsigned n;
	size_t b;

	while (authlink_replay_pos < authlink_tab_size) {
		ipc_msg_init(&authlink_rmsg, AUTHPROTO_T_HOLD);
		n = 0;
		/* whole buckets, while there is surely room for one more */
		for (b = authlink_replay_pos;
		     b < authlink_tab_size && n < AUTHPROTO_HOLD_BATCH &&
		     authlink_rmsg.len < IPC_MAX_MSG / 2;
		     b++)
			for (c = authlink_tab[b]; c != NULL; c = c->next)
				if (authlink_put_group(&authlink_rmsg, c) == 0)
					n++;
		if (n > 0 && ipc_send(authlink_fd, &authlink_rmsg) < 0) {
			if (errno == EAGAIN)
				return 1;
			authlink_drop();
			return -1;
		}
		authlink_replay_pos = b;
	}
	return 0;
}

/*
 * authlink_drain - send what waits: queued events, then the rest of a
 * replay (their order does not matter: authd orders holds by time stamp
 * and remembers closes).  0 all sent, 1 the socket is full, -1 the link
 * was dropped.
 */
static int
authlink_drain(void)
{
	int r = ipc_queue_flush(&authlink_q, authlink_fd);

	if (r < 0) {
		authlink_drop();
		return -1;
	}
	return r > 0 ? 1 : authlink_replay();
}

static int
authlink_pending(void)
{
	return ipc_queue_len(&authlink_q) > 0 ||
	    authlink_replay_pos < authlink_tab_size;
}

/* authlink_connect_once - one non-blocking attempt; 0 linked */
static int
authlink_connect_once(void)
{
	struct sockaddr_un sun;
	const char *path = authproto_socket_path();
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fd_close(fd);
		return -1;
	}
	authlink_fd = fd;
	authlink_gen++;
	authlink_replay_pos = 0;
	if (authlink_role[0] != '\0') {
		ipc_msg_init(&authlink_msg, AUTHPROTO_T_IAM);
		ipc_put_str(&authlink_msg, AUTHPROTO_ROLE, authlink_role);
		if (ipc_send(authlink_fd, &authlink_msg) < 0) {
			authlink_drop();
			return -1;
		}
	}
	while (authlink_nlate > 0) {
		ipc_msg_init(&authlink_msg, AUTHPROTO_T_CLOSED);
		ipc_put_u64(&authlink_msg, AUTHPROTO_CONNID,
		    authlink_late[--authlink_nlate]);
		ipc_put_u64(&authlink_msg, AUTHPROTO_TS, authproto_now_ns());
		if (ipc_send(authlink_fd, &authlink_msg) < 0 &&
		    ipc_queue_push(&authlink_q, &authlink_msg,
			AUTHLINK_QUEUE_MAX) < 0)
			break;
	}
	return authlink_drain() < 0 ? -1 : 0;
}

void
authlink_set_role(const char *role)
{
	snprintf(authlink_role, sizeof(authlink_role), "%s", role);
}

int
authlink_fd_now(void)
{
	return authlink_fd;
}

/* authlink_kick_note - m is a KICK: keep its id when we hold it; 1 if
 * m was one (taken), 0 otherwise */
static int
authlink_kick_note(const struct ipc_msg *m)
{
	uint64_t id;

	if (m->type != AUTHPROTO_T_KICK)
		return 0;
	if (ipc_get_u64(m, AUTHPROTO_CONNID, &id) == 0 &&
	    authlink_find(id) != NULL && authlink_nkicks < AUTHLINK_KICK_MAX)
		authlink_kicks[authlink_nkicks++] = id;
	return 1;
}

uint64_t
authlink_kick_next(void)
{
	return authlink_nkicks > 0 ? authlink_kicks[--authlink_nkicks] : 0;
}

int
authlink_kicked(uint64_t conn_id)
{
	size_t i;

	for (i = 0; i < authlink_nkicks; i++)
		if (authlink_kicks[i] == conn_id) {
			authlink_kicks[i] = authlink_kicks[--authlink_nkicks];
			return 1;
		}
	return 0;
}

int
authlink_recv(struct ipc_msg *m)
{
	int r;

	if (authlink_fd < 0)
		return 0;
	do
		r = ipc_recv(authlink_fd, m);
	while (r > 0 && m->fd < 0 && authlink_kick_note(m));
	if (r > 0 && m->fd >= 0) {
		fd_close(m->fd);
		m->fd = -1;
		r = -1;
	}
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
		authlink_drop();
		return -1;
	}
	return r > 0 ? 1 : 0;
}

/*
 * authlink_link - make sure the link is up.  wait_ms > 0: keep trying that
 * long (authd restarting); 0: one attempt, and none at all within
 * AUTHLINK_RETRY_MS of the last failure.
 */
static int
authlink_link(long long wait_ms)
{
	long long now = clock_mono_ms(), end = now + wait_ms;

	if (authlink_fd >= 0) {
		if (authlink_drain() >= 0)
			return 0;
		authlink_next_try = 0; /* it just died: try a new one now */
	}
	if (wait_ms <= 0 && now < authlink_next_try)
		return -1;
	for (;;) {
		if (authlink_connect_once() == 0)
			return 0;
		now = clock_mono_ms();
		if (now >= end) {
			authlink_next_try = now + AUTHLINK_RETRY_MS;
			return -1;
		}
		usleep(50000);
	}
}

int
authlink_event(const struct ipc_msg *m)
{
	if (authlink_link(0) < 0)
		return -1;
	if (!authlink_pending() && ipc_send(authlink_fd, m) == 0)
		return 0;
	if ((authlink_pending() || errno == EAGAIN) &&
	    ipc_queue_push(&authlink_q, m, AUTHLINK_QUEUE_MAX) == 0)
		return 0;
	/* authd is gone or far behind: it releases what we held when it
	 * sees the link close; we replay on the next link */
	authlink_drop();
	return -1;
}

void
authlink_hold(uint64_t conn_id, const char *addr, const char *user)
{
	struct authlink_conn **pp;

	if (conn_id == 0)
		return;
	authlink_put(conn_id, authproto_now_ns(), addr, user);
	if (authlink_fd < 0) {
		authlink_link(0); /* the replay carries it */
		return;
	}
	pp = authlink_find(conn_id);
	ipc_msg_init(&authlink_msg, AUTHPROTO_T_HOLD);
	if (authlink_put_group(&authlink_msg, *pp) == 0)
		authlink_event(&authlink_msg);
}

void
authlink_closed(uint64_t conn_id)
{
	if (conn_id == 0)
		return;
	authlink_forget(conn_id);
	if (authlink_fd < 0) {
		/* authd forgot what we held when our link went, but not
		 * what it never heard we held */
		if (authlink_nlate < AUTHLINK_LATE_MAX)
			authlink_late[authlink_nlate++] = conn_id;
		return;
	}
	ipc_msg_init(&authlink_msg, AUTHPROTO_T_CLOSED);
	ipc_put_u64(&authlink_msg, AUTHPROTO_CONNID, conn_id);
	ipc_put_u64(&authlink_msg, AUTHPROTO_TS, authproto_now_ns());
	authlink_event(&authlink_msg);
}

void
authlink_release(uint64_t conn_id)
{
	authlink_forget(conn_id);
}

void
authlink_adopt(uint64_t conn_id, uint64_t ts, const char *addr,
    const char *user)
{
	if (conn_id != 0)
		authlink_put(conn_id, ts, addr, user);
}

void
authlink_tick(void)
{
	/* a process with a role (idled) keeps its link even holding
	 * nothing: authd sends it login results */
	if (authlink_count > 0 || authlink_role[0] != '\0')
		authlink_link(0);
}

unsigned
authlink_held(void)
{
	return (unsigned)authlink_count;
}

unsigned
authlink_generation(void)
{
	return authlink_gen;
}

uint64_t
authlink_new_id(void)
{
	uint64_t id = 0;

	while (id == 0)
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = (uint64_t)clock_mono_ms() * 2654435761u ^
			    (uint64_t)getpid();
	return id;
}

/* authlink_wait - poll the link for events within the deadline */
static int
authlink_wait(short events, long long end)
{
	struct pollfd pfd = { authlink_fd, events, 0 };
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

/* authlink_send_wait - send m, waiting for room until end */
static int
authlink_send_wait(const struct ipc_msg *m, long long end)
{
	while (ipc_send(authlink_fd, m) < 0) {
		if (errno != EAGAIN || authlink_wait(POLLOUT, end) <= 0)
			return -1;
	}
	return 0;
}

/* authlink_flush_wait - queued events and the replay out before a request */
static int
authlink_flush_wait(long long end)
{
	int r;

	while ((r = authlink_drain()) == 1)
		if (authlink_wait(POLLOUT, end) <= 0)
			return -1;
	return r < 0 || authlink_fd < 0 ? -1 : 0;
}

int
authlink_call(const struct ipc_msg *req, struct ipc_msg *rep,
    long long connect_wait_ms, long long timeout_ms, const char **error_r)
{
	long long end;
	int tries, r;

	for (tries = 0;; tries++) {
		if (authlink_link(connect_wait_ms) < 0) {
			*error_r = "authd is not reachable";
			return -1;
		}
		end = clock_mono_ms() + timeout_ms;
		if (authlink_flush_wait(end) == 0 &&
		    authlink_send_wait(req, end) == 0)
			break;
		authlink_disconnect(); /* authd restarted: once more */
		if (tries > 0) {
			*error_r = "cannot send to authd";
			return -1;
		}
	}
	/* a KICK may come before the reply: noted, and the wait goes on */
	for (;;) {
		if (authlink_wait(POLLIN, end) <= 0) {
			authlink_disconnect();
			*error_r = "authd did not answer in time";
			return -1;
		}
		r = ipc_recv(authlink_fd, rep);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0 || rep->fd >= 0 || !authlink_kick_note(rep))
			break;
	}
	if (r <= 0) {
		authlink_disconnect();
		*error_r = r == 0 ? "authd closed the connection"
				  : "malformed reply from authd";
		return -1;
	}
	if (rep->fd >= 0) {
		fd_close(rep->fd);
		rep->fd = -1;
	}
	return 0;
}

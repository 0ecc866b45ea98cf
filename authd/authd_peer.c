/*
 * authd_peer - the processes connected to authd: accept, read, dispatch
 * by message type, reply, close.
 *
 * A peer is any process on authd's socket: an imapd worker (ADMIT,
 * logins, connection events), idled (connection events, and the RESULTs
 * of logins whose sessions wait there) or berthctl (queries).  A LOGIN
 * from a worker runs on a pseudo peer of its own (no socket), whose
 * replies are forwarded to idled as RESULTs: the worker has parked the
 * session and gone on to the next client.  Requests are answered in
 * order, one at a time per peer.  A malformed message, an fd where none
 * belongs or a reply the peer cannot take marks that peer dead; dead
 * peers are closed after the round, and what they held is released
 * (authd_hold).  Never exits on peer input.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authd.h"
#include "ev.h"
#include "fd.h"
#include "ipc.h"
#include "log.h"
#include "xalloc.h"

#define PEER_MAX_BATCH 64   /* messages read per peer per round */
#define PEER_OUTQ_MAX 65536 /* messages waiting for idled */

struct ipc_msg authd_reply;
static struct ipc_msg peer_in, peer_fwd;
static struct authd_peer *peer_list;
static struct authd_peer *peer_async; /* pseudo peers (next only) */
static struct authd_peer *peer_idled; /* where RESULTs go */

/* peer_watch - writable too while p has messages waiting */
static void
peer_watch(struct authd_peer *p)
{
	if (p->io.fd >= 0 &&
	    ev_io_mod(&p->io,
		EV_READ | (ipc_queue_len(&p->outq) > 0 ? EV_WRITE : 0)) < 0) {
		log_error("watching a peer: %m; closing it");
		p->dead = 1;
	}
}

/* peer_on_io - a peer readable, writable or gone */
static void
peer_on_io(struct ev_io *io, unsigned events, void *ctx)
{
	(void)io;
	(void)events;
	authd_peer_input(ctx);
}

/* peer_flush - send what waits for p, until its socket is full */
static void
peer_flush(struct authd_peer *p)
{
	if (!p->dead && ipc_queue_flush(&p->outq, p->fd) < 0) {
		log_warn("sending to idled failed: %m; closing it");
		p->dead = 1;
	}
	peer_watch(p);
}

/* peer_forward - a pseudo peer's reply, to idled as a RESULT */
static void
peer_forward(struct authd_peer *p, const struct ipc_msg *m)
{
	uint32_t code = AUTHCLIENT_UNAVAILABLE;
	const void *v;
	size_t off = 0, len;
	uint16_t tag;

	if (m->type == AUTHPROTO_T_OK)
		code = AUTHCLIENT_OK;
	else if (m->type == AUTHPROTO_T_NO)
		ipc_get_u32(m, AUTHPROTO_CODE, &code);
	else {
		code = AUTHCLIENT_BADDATA; /* not a one-step exchange */
		p->dead = 1;
	}
	ipc_msg_init(&peer_fwd, AUTHPROTO_T_RESULT);
	ipc_put_u64(&peer_fwd, AUTHPROTO_CONNID, p->async_conn);
	ipc_put_str(&peer_fwd, AUTHPROTO_TAG, p->async_tag);
	ipc_put_u32(&peer_fwd, AUTHPROTO_CODE, code);
	while (authproto_field_next(m, &off, &tag, &v, &len) > 0)
		if (tag == AUTHPROTO_USER || tag == AUTHPROTO_TEXT ||
		    tag == AUTHPROTO_DELAY || tag == AUTHPROTO_LIMIT)
			ipc_put(&peer_fwd, tag, v, len);
	if (peer_idled == NULL || peer_idled->dead) {
		log_warn("no idled to answer a parked login conn=%llu",
		    (unsigned long long)p->async_conn);
		return;
	}
	authd_peer_send(peer_idled, &peer_fwd);
}

/* peer_login - LOGIN: the exchange runs on a pseudo peer of its own */
static int
peer_login(const struct ipc_msg *m)
{
	struct authd_peer *q = xcalloc(1, sizeof(*q));

	q->fd = -1;
	q->io.fd = -1;
	q->pseudo = 1;
	if (ipc_get_u64(m, AUTHPROTO_CONNID, &q->async_conn) < 0 ||
	    q->async_conn == 0 ||
	    ipc_get_str(m, AUTHPROTO_TAG, q->async_tag, sizeof(q->async_tag)) <
		0) {
		free(q);
		return -1;
	}
	q->next = peer_async;
	peer_async = q;
	authd_login_start(q, m);
	return 0;
}

/* peer_iam - IAM: a peer says what it is */
static int
peer_iam(struct authd_peer *p, const struct ipc_msg *m)
{
	char role[16];

	if (ipc_get_str(m, AUTHPROTO_ROLE, role, sizeof(role)) < 0)
		return -1;
	if (strcmp(role, "idled") == 0)
		peer_idled = p;
	log_info("peer role=%s", role);
	return 0;
}

/* peer_reap_async - free pseudo peers whose exchange is over */
static void
peer_reap_async(void)
{
	struct authd_peer **pp, *q;

	for (pp = &peer_async; (q = *pp) != NULL;) {
		if (q->login != NULL && !q->dead) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		authd_login_abort(q);
		free(q);
	}
}

/* peer_identify - the peer's pid and program, for berthctl who */
static void
peer_identify(struct authd_peer *p)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	char path[64];
	ssize_t n;
	int fd;

	snprintf(p->role, sizeof(p->role), "?");
	if (getsockopt(p->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return;
	p->pid = (int)cr.pid;
	snprintf(path, sizeof(path), "/proc/%d/comm", p->pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, p->role, sizeof(p->role) - 1);
	fd_close(fd);
	p->role[n > 0 ? n : 0] = '\0';
	p->role[strcspn(p->role, "\n")] = '\0';
}

void
authd_peer_accept(int lfd)
{
	struct authd_peer *p;
	int fd, n;

	for (n = 0; n < PEER_MAX_BATCH; n++) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept: %m");
			return;
		}
		p = xcalloc(1, sizeof(*p));
		p->fd = fd;
		p->io.fd = -1;
		peer_identify(p);
		p->next = peer_list;
		if (peer_list)
			peer_list->prev = p;
		peer_list = p;
		if (ev_io_add(&p->io, fd, EV_READ, peer_on_io, p) < 0) {
			log_error("watching a peer: %m; closing it");
			p->dead = 1;
		}
	}
}

void
authd_peer_send(struct authd_peer *p, const struct ipc_msg *m)
{
	if (p->pseudo) {
		peer_forward(p, m);
		return;
	}
	if (p->dead)
		return;
	if (p == peer_idled || p->stream) {
		/* idled reads when its loop comes round: a moment's full
		 * socket must not lose a result, nor idled's link */
		if (ipc_queue_len(&p->outq) == 0) {
			if (ipc_send(p->fd, m) == 0)
				return;
			if (errno != EAGAIN)
				goto fail;
		}
		if (ipc_queue_push(&p->outq, m, PEER_OUTQ_MAX) < 0) {
			if (p->stream)
				goto fail;
			log_warn("idled is not reading; a login result "
				 "dropped (its wait answers it)");
		}
		peer_flush(p);
		return;
	}
	if (ipc_send(p->fd, m) < 0)
		goto fail;
	return;
fail:
	log_warn("reply to a peer failed: %m; closing it");
	p->dead = 1;
}

/* peer_hold_one - one HOLD group; a kicked connection's new holder is
 * told to end it too */
static void
peer_hold_one(struct authd_peer *p, uint64_t id, uint64_t ts, const char *addr,
    const char *user)
{
	if (authd_hold_set(p, id, ts, addr, user) == 1)
		authd_ctl_kick_send(authd_hold_find(id));
}

/* peer_hold - HOLD: one or more {CONNID, TS, ADDR, USER} groups */
static int
peer_hold(struct authd_peer *p, const struct ipc_msg *m)
{
	char addr[AUTHPROTO_MAX_ADDR] = "", user[AUTHPROTO_MAX_USER] = "";
	uint64_t id = 0, ts = 0;
	const void *v;
	size_t off = 0, len;
	uint16_t tag;
	int r, have = 0;

	while ((r = authproto_field_next(m, &off, &tag, &v, &len)) > 0) {
		if (tag == AUTHPROTO_CONNID) {
			if (have)
				peer_hold_one(p, id, ts, addr, user);
			if (len != sizeof(id))
				return -1;
			memcpy(&id, v, sizeof(id));
			ts = 0;
			addr[0] = user[0] = '\0';
			have = 1;
		} else if (tag == AUTHPROTO_TS && len == sizeof(ts)) {
			memcpy(&ts, v, sizeof(ts));
		} else if (tag == AUTHPROTO_ADDR && len < sizeof(addr) &&
		    !memchr(v, '\0', len)) {
			memcpy(addr, v, len);
			addr[len] = '\0';
		} else if (tag == AUTHPROTO_USER && len < sizeof(user) &&
		    !memchr(v, '\0', len)) {
			memcpy(user, v, len);
			user[len] = '\0';
		} else if (tag == AUTHPROTO_TS || tag == AUTHPROTO_ADDR ||
		    tag == AUTHPROTO_USER) {
			return -1;
		}
	}
	if (r < 0)
		return -1;
	if (have)
		peer_hold_one(p, id, ts, addr, user);
	return 0;
}

static int
peer_closed(const struct ipc_msg *m)
{
	uint64_t id, ts = 0;

	if (ipc_get_u64(m, AUTHPROTO_CONNID, &id) < 0)
		return -1;
	ipc_get_u64(m, AUTHPROTO_TS, &ts);
	authd_hold_closed(id, ts);
	authd_login_forget(id, "closed");
	return 0;
}

static void
peer_mechs(struct authd_peer *p, const struct ipc_msg *m)
{
	char mechs[1024];
	uint32_t secure = 0;

	ipc_get_u32(m, AUTHPROTO_SECURE, &secure);
	if (authd_sasl_mechs(secure != 0, mechs, sizeof(mechs)) < 0)
		mechs[0] = '\0';
	ipc_msg_init(&authd_reply, AUTHPROTO_T_MECHLIST);
	ipc_put_str(&authd_reply, AUTHPROTO_MECHS, mechs);
	authd_peer_send(p, &authd_reply);
}

/* peer_dispatch - one message; -1 closes the peer */
static int
peer_dispatch(struct authd_peer *p, const struct ipc_msg *m)
{
	uint64_t id;

	log_set_session(0); /* a request names its session itself */
	switch (m->type) {
	case AUTHPROTO_T_ADMIT:
		authd_admit_request(p, m);
		return 0;
	case AUTHPROTO_T_START:
		authd_login_start(p, m);
		return 0;
	case AUTHPROTO_T_LOGIN:
		return peer_login(m);
	case AUTHPROTO_T_IAM:
		return peer_iam(p, m);
	case AUTHPROTO_T_STEP:
		authd_login_step(p, m);
		return 0;
	case AUTHPROTO_T_DETACH:
		authd_login_detach(p, m);
		return 0;
	case AUTHPROTO_T_ABORT:
		authd_login_abort(p);
		if (ipc_get_u64(m, AUTHPROTO_CONNID, &id) == 0)
			authd_login_forget(id, "cancelled");
		return 0;
	case AUTHPROTO_T_MECHS:
		peer_mechs(p, m);
		return 0;
	case AUTHPROTO_T_HOLD:
		return peer_hold(p, m);
	case AUTHPROTO_T_CLOSED:
		return peer_closed(m);
	case AUTHPROTO_T_CTL_PENALTIES:
		authd_ctl_penalties(p, m);
		return 0;
	case AUTHPROTO_T_CTL_CLEAR:
		authd_ctl_clear(p, m);
		return 0;
	case AUTHPROTO_T_CTL_CONNS:
		authd_ctl_conns(p, m);
		return 0;
	case AUTHPROTO_T_CTL_WHO:
		authd_ctl_who(p, m);
		return 0;
	case AUTHPROTO_T_CTL_KICK:
		authd_ctl_kick(p, m);
		return 0;
	default:
		log_warn("unknown message type %u from a peer; closing it",
		    m->type);
		return -1;
	}
}

void
authd_peer_input(struct authd_peer *p)
{
	int n, r;

	if (ipc_queue_len(&p->outq) > 0)
		peer_flush(p); /* woken as writable, maybe */

	for (n = 0; n < PEER_MAX_BATCH && !p->dead; n++) {
		r = ipc_recv(p->fd, &peer_in);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			if (r < 0)
				log_warn("malformed message from a peer: %m; "
					 "closing it");
			p->dead = 1;
			return;
		}
		if (peer_in.fd >= 0) {
			fd_close(peer_in.fd);
			log_warn("a peer sent an fd; closing it");
			p->dead = 1;
			return;
		}
		if (peer_dispatch(p, &peer_in) < 0) {
			if (!p->dead)
				log_warn("malformed message type %u from a "
					 "peer; closing it",
				    peer_in.type);
			p->dead = 1;
		}
		explicit_bzero(peer_in.data, peer_in.len);
	}
}

void
authd_peer_reap(void)
{
	struct authd_peer *p, *next;

	peer_reap_async();
	for (p = peer_list; p != NULL; p = next) {
		next = p->next;
		if (!p->dead)
			continue;
		ev_io_del(&p->io);
		fd_close(p->fd);
		if (p == peer_idled)
			peer_idled = NULL;
		ipc_queue_clear(&p->outq);
		authd_login_abort(p);
		authd_hold_release(p);
		if (p->prev)
			p->prev->next = p->next;
		else
			peer_list = p->next;
		if (p->next)
			p->next->prev = p->prev;
		free(p);
	}
}

/*
 * idled_authd - the answers to logins whose sessions wait here.
 *
 * A worker that relays a one-step login (LOGIN, or AUTHENTICATE PLAIN
 * with its initial response) parks the session first (kind NOTAUTH,
 * SNAP_F_AUTHWAIT) and then sends the credentials to authd, so no worker
 * waits while a slow backend checks a password.  authd sends the outcome
 * here as a RESULT on idled's own link (lib/proto/authlink): a success goes to
 * a worker, which completes the login; a wrong password gets its tagged NO
 * after authd's delay (the penalty, served here as any other); anything
 * else is answered at once.  A session whose answer never comes is
 * answered NO [UNAVAILABLE] when the wait the worker set runs out.
 * The same link carries the admissions of new clients master hands to
 * idled (idled_front.c): their answers come in the order they were
 * asked, and are told from RESULTs by type.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "authclient.h"
#include "authlink.h"
#include "authproto.h"
#include "cfg.h"
#include "idled.h"
#include "ipc.h"
#include "log.h"
#include "xalloc.h"

static struct ev_io authd_io;
static unsigned authd_gen; /* the link generation watched */
static struct ipc_msg authd_msg;

/* authd_find - the session waiting for the login of conn_id */
static struct isess *
authd_find(uint64_t conn_id)
{
	struct iuser *u = idled_user_find("");
	struct isess *s;

	for (s = u ? u->head : NULL; s != NULL; s = s->unext)
		if (s->conn_id == conn_id && (s->flags & SNAP_F_AUTHWAIT))
			return s;
	return NULL;
}

/* authd_reply_set - s's tagged reply, sent delay_ms from now */
static void
authd_reply_set(struct isess *s, struct buf *reply, long long delay_ms)
{
	free(s->reply);
	s->reply = buf_release(reply);
	s->wake_ms = ev_now_ms() + delay_ms;
	idled_limits_rearm(s);
}

/* authd_result - one RESULT */
static void
authd_result(void)
{
	struct authclient_reply rep;
	struct buf reply = BUF_INIT;
	char tag[AUTHPROTO_MAX_TAG];
	uint64_t conn_id;
	struct isess *s;

	if (authclient_result_decode(&authd_msg, &conn_id, tag, sizeof(tag),
		&rep) < 0) {
		log_warn("malformed login result from authd");
		return;
	}
	if ((s = authd_find(conn_id)) == NULL || strcmp(s->tag, tag) != 0)
		return; /* closed, or answered by its timeout */
	log_set_session(s->conn_id);
	s->flags &= ~(uint32_t)SNAP_F_AUTHWAIT;
	switch (rep.result) {
	case AUTHCLIENT_OK:
		/* a worker completes the login (INBOX, capabilities) */
		free(s->authuser);
		s->authuser = xstrdup(rep.user);
		s->flags |= SNAP_F_LOGGEDIN;
		idled_wake(s, "logged-in");
		return;
	case AUTHCLIENT_FAIL:
		s->failed_logins++;
		if (authclient_fail_line(&reply, tag, (int)s->failed_logins)) {
			s->flags |= SNAP_F_CLOSE;
			log_info("closing after failed logins addr=%s count=%u "
				 "limit=maxbadlogins:%lld",
			    s->addr, s->failed_logins, cfg_int("maxbadlogins"));
		}
		authd_reply_set(s, &reply, rep.delay_ms);
		/* now a failed login serving its delay, as one parked by a
		 * worker would be; authd logged the failure, so the park
		 * is a debug line (one line per event in a storm) */
		s->quiet = 1;
		idled_sess_log_park(s);
		return;
	default:
		authclient_reply_line(&reply, tag, &rep);
		authd_reply_set(s, &reply, 0);
		return;
	}
}

/*
 * authd_lost - the link is gone, and with it every answer still due on
 * it (a restarted authd knows nothing of them): the logins waiting for
 * one get the reply their worker left (NO [UNAVAILABLE]) now, not when
 * their wait runs out
 */
static void
authd_lost(void)
{
	struct iuser *u = idled_user_find("");
	struct isess *s;
	unsigned n = 0;

	for (s = u ? u->head : NULL; s != NULL; s = s->unext) {
		if (!(s->flags & SNAP_F_AUTHWAIT))
			continue;
		s->flags &= ~(uint32_t)SNAP_F_AUTHWAIT;
		s->wake_ms = ev_now_ms();
		idled_limits_rearm(s);
		n++;
	}
	log_warn("link to authd lost; logins waiting for it answered "
		 "count=%u",
	    n);
}

/* authd_kick - berthctl kick: end the session of conn_id, if here */
static void
authd_kick(uint64_t conn_id)
{
	static const char bye[] = "* BYE [UNAVAILABLE] Disconnected by the "
				  "administrator\r\n";
	struct isess *s;

	for (s = idled_all_head; s != NULL; s = s->anext)
		if (s->conn_id == conn_id)
			break;
	if (s == NULL)
		return; /* gone, or handed on meanwhile */
	log_set_session(conn_id);
	if (idled_sess_write(s, bye, sizeof(bye) - 1) == 0)
		idled_sess_drop(s, "kicked");
	log_set_session(0);
}

/* authd_read - what authd sent on our link */
static void
authd_read(struct ev_io *io, unsigned events, void *ctx)
{
	uint64_t kicked;
	int r;

	(void)events;
	(void)ctx;
	while ((r = authlink_recv(&authd_msg)) > 0) {
		if (authd_msg.type == AUTHPROTO_T_RESULT)
			authd_result();
		else if (authd_msg.type == AUTHPROTO_T_ADMITTED ||
		    authd_msg.type == AUTHPROTO_T_REFUSED ||
		    authd_msg.type == AUTHPROTO_T_MECHLIST)
			idled_front_answer(&authd_msg);
	}
	while ((kicked = authlink_kick_next()) != 0)
		authd_kick(kicked);
	if (r < 0) {
		ev_io_forget(io); /* authlink closed it; remade later */
		authd_lost();
		idled_front_fail_all("link lost");
	}
}

void
idled_authd_drop(void)
{
	authlink_disconnect();
	ev_io_forget(&authd_io); /* authlink closed it */
	authd_lost();
	idled_front_fail_all("timeout");
}

void
idled_authd_watch(void)
{
	int fd = authlink_fd_now();

	if (fd >= 0 && fd == authd_io.fd && authlink_generation() == authd_gen)
		return;
	/* any other link than the one watched was closed by authlink, and a
	 * new one may have its number: forget it, never EPOLL_CTL_DEL */
	ev_io_forget(&authd_io);
	if (fd < 0)
		return;
	authd_gen = authlink_generation();
	if (ev_io_add(&authd_io, fd, EV_READ, authd_read, NULL) < 0)
		log_error("epoll: %m");
}

int
idled_authd_linked(void)
{
	idled_authd_watch();
	return authd_io.fd >= 0;
}

void
idled_authd_tick(void)
{
	authlink_tick(); /* remake the link to authd when due */
	idled_authd_watch();
}

void
idled_authd_init(void)
{
	/* no attempt yet: authd, started beside us, may not listen yet,
	 * and a failed attempt holds the next one back for a second; the
	 * first hold or tick makes the link */
	authd_io.fd = -1;
	authlink_set_role("idled");
}

/*
 * imapd_park - hand a waiting session to idled, and take resumed ones
 * back from the handoff socket.
 *
 * Parking: the worker sends idled the client fd and a snapshot (lib/snap)
 * and waits for idled's PARKED; only then does it drop the session and
 * return to the pool.  If idled is down or does not answer, the worker
 * keeps serving the session itself (logged once per worker).  Parked are
 * IDLEs, logged-in sessions waiting for their next command (under NOTIFY,
 * woken by changes too) or inside one they have not finished sending,
 * connections that have not logged in (also mid-command), failed
 * logins serving their penalty delay, and AUTHENTICATE exchanges whose
 * client owes its next response (authd keeps the exchange meanwhile).
 *
 * Resuming: the session is rebuilt from the snapshot (state, view from
 * the store, NOTIFY state), the untagged responses an unparked session
 * would have seen are sent, and the session goes on where it was: inside
 * its IDLE, or reading its next command (parked again when it waits).
 *
 * Does not decide when to park (cmd_select's IDLE, the command loop and
 * cmd_auth do); never blocks longer than PARK_ACK_TIMEOUT_MS on idled.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "authlink.h"
#include "cfg.h"
#include "clock.h"
#include "fd.h"
#include "idleproto.h"
#include "imapd.h"
#include "ipc.h"
#include "log.h"
#include "notify.h"
#include "search_ctx.h"
#include "snap.h"
#include "srv.h"
#include "tlsproto.h"
#include "xalloc.h"

#define PARK_ACK_TIMEOUT_MS 5000

static struct ipc_msg park_msg;
static int park_warned;

/* park_saved - SEARCHRES "$" (UIDs) as a UID set; -1 past its bound */
static int
park_saved(const struct imap_view *v, struct snap *sn)
{
	struct buf set = BUF_INIT;
	int r;

	if (v->nsaved == 0)
		return 0;
	view_put_uids(&set, v->saved, v->nsaved);
	r = buf_append(&sn->saved, set.data, set.len);
	buf_free(&set);
	return r;
}

/* park_restore_saved - "$" back from the snapshot: the view's UIDs in
 * its set */
static int
park_restore_saved(struct imap_session *s, const struct snap *sn)
{
	struct imap_view *v = &s->view;
	struct imapp_seqset set;
	size_t i;

	if (sn->saved.len == 0)
		return 0;
	if (imapp_seqset_parse(sn->saved.data, sn->maxuid, &set) < 0 ||
	    set.dollar) {
		imapp_seqset_free(&set);
		return -1;
	}
	v->saved = xcalloc(v->n + 1, sizeof(*v->saved));
	v->nsaved = 0;
	for (i = 0; i < v->n; i++)
		if (imapp_seqset_contains(&set, v->msgs[i].uid))
			v->saved[v->nsaved++] = v->msgs[i].uid;
	imapp_seqset_free(&set);
	return 0;
}

/* park_snapshot - the session as a snapshot of kind */
static int
park_snapshot(struct imap_session *s, int kind, const char *tag,
    struct snap *sn)
{
	struct imap_view *v = &s->view;

	snap_init(sn);
	sn->kind = (uint32_t)kind;
	snprintf(sn->user, sizeof(sn->user), "%s", s->user);
	snprintf(sn->addr, sizeof(sn->addr), "%s", s->addr);
	sn->port = (uint32_t)s->port;
	snprintf(sn->tag, sizeof(sn->tag), "%s", tag ? tag : "");
	sn->conn_id = s->conn_id;
	sn->failed_logins = (uint32_t)s->failed_logins;
	sn->idle_since_ms = s->idle_since_ms;
	sn->flags = (s->condstore ? SNAP_F_CONDSTORE : 0) |
	    (s->qresync ? SNAP_F_QRESYNC : 0) | (s->rev2 ? SNAP_F_REV2 : 0) |
	    (s->utf8 ? SNAP_F_UTF8 : 0) | (s->secure ? SNAP_F_SECURE : 0) |
	    (s->tls ? SNAP_F_TLS : 0);
	if (s->z != NULL && compress_snap(s, sn) < 0)
		return -1;
	if (s->state == IMAP_S_SELECTED && v->ctx != NULL) {
		/* search contexts stay with their worker (search_ctx.h) */
		if (!v->ctx_logged++)
			log_info("not parked user=%s addr=%s "
				 "reason=search-contexts limit=%d",
			    s->user, s->addr, SEARCH_CTX_MAX);
		return -1;
	}
	if (s->state == IMAP_S_SELECTED) {
		sn->flags |=
		    SNAP_F_SELECTED | (v->readonly ? SNAP_F_READONLY : 0);
		snprintf(sn->mailbox, sizeof(sn->mailbox), "%s", v->name);
		sn->mboxid = v->mboxid;
		sn->uidvalidity = v->uidvalidity;
		sn->maxuid = v->n ? v->msgs[v->n - 1].uid : 0;
		sn->exists = (uint32_t)v->n;
		sn->recent_lo = v->recent_lo;
		sn->recent_hi = v->recent_hi;
		sn->modseq = v->modseq;
		if (park_saved(v, sn) < 0)
			return -1;
	}
	if (s->state != IMAP_S_NOTAUTH && imapd_notify_snap(s, sn) < 0)
		return -1;
	return 0;
}

static void
park_warn(const char *what)
{
	if (!park_warned++)
		log_warn("idled unavailable (%s): serving waiting sessions "
			 "in the worker",
		    what);
}

/* park_send - give the client fd and sn to idled; 0 once it has them,
 * 1 when it did not say so in time (the session is left with it), -1
 * when it refused (the caller serves on) */
static int
park_send(struct imap_session *s, struct snap *sn)
{
	struct sockaddr_un sun;
	struct pollfd pfd;
	const char *handoff, *path = notify_idled_path();
	int c, r;

	if (srv_handoff_fd(&handoff) < 0 || s->in.len > 0 ||
	    strlen(path) >= sizeof(sun.sun_path))
		return -1;
	ipc_msg_init(&park_msg, IDLEPROTO_T_PARK);
	park_msg.fd = s->fd;
	if (snap_put(sn, &park_msg) < 0 ||
	    ipc_put_str(&park_msg, IDLEPROTO_HANDOFF, handoff) < 0) {
		log_warn("session snapshot too large to park user=%s "
			 "addr=%s",
		    s->user, s->addr);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	/* from here the client may be idled's: a stop signal must not
	 * shut down its read side, nor the watchdog write to it */
	imapd_client_watch(-1);
	c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    ipc_send(c, &park_msg) < 0) {
		park_warn(strerror(errno));
		if (c >= 0)
			fd_close(c);
		imapd_client_watch(s->fd);
		return -1;
	}
	/*
	 * idled holds the client once it says so.  If it closes the
	 * connection without PARKED it did not take the fd: serve the
	 * session here.  If it says nothing in time, the fd may be in its
	 * tables or in its queue: leave the client to it rather than risk
	 * two processes answering one client (if idled is wedged, master
	 * restarts it and the client reconnects).
	 */
	pfd.fd = c;
	pfd.events = POLLIN;
	r = poll(&pfd, 1, PARK_ACK_TIMEOUT_MS);
	if (r == 0) {
		log_error("idled did not acknowledge a park in %d ms; the "
			  "session stays with it user=%s addr=%s",
		    PARK_ACK_TIMEOUT_MS, s->user, s->addr);
		fd_close(c);
		s->parked = 1;
		s->state = IMAP_S_LOGOUT;
		return 1;
	}
	if (r < 0 || ipc_recv(c, &park_msg) <= 0 ||
	    park_msg.type != IDLEPROTO_T_PARKED) {
		/* flow control, not a fault: a full tarpit, or a login park
		 * while idled has no link to authd */
		log_debug("idled did not take a session user=%s addr=%s; "
			  "served in the worker",
		    s->user[0] ? s->user : "-", s->addr);
		fd_close(c);
		imapd_client_watch(s->fd);
		return -1;
	}
	fd_close(c);
	park_warned = 0;
	s->parked = 1;
	s->state = IMAP_S_LOGOUT;
	return 0;
}

/*
 * park_partial - a session waiting inside a command it has not finished:
 * the command so far goes as the snapshot's pending bytes, every
 * synchronizing literal in it already continued by this worker; idled
 * reads on from there.  -1 if it does not fit.
 */
static int
park_partial(struct imap_session *s, struct snap *sn)
{
	if (s->rd.cmd.len == 0)
		return 0;
	if (s->rd.skipping ||
	    buf_append(&sn->pending, s->rd.cmd.data, s->rd.cmd.len) < 0)
		return -1;
	sn->pending_contd = (uint32_t)sn->pending.len;
	return 0;
}

int
imapd_park(struct imap_session *s, int kind, const char *tag)
{
	struct snap sn;
	int r = -1;

	/* a compressed session's pending bytes are deflated ones: a
	 * command begun (inflated) cannot travel with them.  IDLE's own
	 * line is still in the reader while it parks, but it is not
	 * carried: it does not count */
	if (s->z != NULL && kind != SNAP_K_IDLE && s->rd.cmd.len > 0)
		return -1;
	/* IDLE parks from inside its command: nothing partial to carry */
	if (park_snapshot(s, kind, tag, &sn) == 0 &&
	    (kind == SNAP_K_IDLE || park_partial(s, &sn) == 0) &&
	    (r = park_send(s, &sn)) > 0)
		r = 0;
	if (r == 0)
		log_debug("parked user=%s addr=%s kind=%s partial=%zu", s->user,
		    s->addr, snap_kind_name((uint32_t)kind), sn.pending.len);
	snap_free(&sn);
	return r;
}

/* park_notauth - park a session that has not logged in: idled sends
 * reply at wake_ms (flags: SNAP_F_CLOSE after it, SNAP_F_AUTHWAIT for a
 * login authd answers to idled); park_send's answer */
static int
park_notauth(struct imap_session *s, const char *tag, const char *mech,
    const char *reply, long long wake_ms, uint32_t flags)
{
	struct snap sn;
	int r = -1;

	if (s->state != IMAP_S_NOTAUTH)
		return -1;
	if (park_snapshot(s, SNAP_K_NOTAUTH, tag, &sn) == 0 &&
	    buf_puts(&sn.reply, reply) == 0) {
		snprintf(sn.mech, sizeof(sn.mech), "%s", mech);
		sn.flags |= flags;
		sn.wake_ms = wake_ms;
		r = park_send(s, &sn);
	}
	snap_free(&sn);
	return r;
}

int
imapd_park_penalty(struct imap_session *s, long long delay_ms,
    const char *reply, int close_after)
{
	int r = park_notauth(s, "", "", reply, clock_mono_ms() + delay_ms,
	    close_after ? SNAP_F_CLOSE : 0);

	return r > 0 ? 0 : r;
}

int
imapd_park_login(struct imap_session *s, const char *tag, const char *mech,
    const char *reply, long long wait_ms)
{
	return park_notauth(s, tag, mech, reply, clock_mono_ms() + wait_ms,
	    SNAP_F_AUTHWAIT);
}

int
imapd_park_sasl(struct imap_session *s, const char *tag, const char *mech,
    const char *reply, long long deadline_ms, int close_after)
{
	struct snap sn;
	int r = -1;

	/* a response begun travels as the pending bytes */
	if (s->state != IMAP_S_NOTAUTH || s->in.len > SNAP_MAX_PENDING)
		return -1;
	if (park_snapshot(s, SNAP_K_NOTAUTH, tag, &sn) == 0 &&
	    buf_puts(&sn.reply, reply) == 0 &&
	    buf_append(&sn.pending, s->in.data ? s->in.data : "", s->in.len) ==
		0) {
		snprintf(sn.mech, sizeof(sn.mech), "%s", mech);
		sn.flags |= SNAP_F_SASLWAIT | (close_after ? SNAP_F_CLOSE : 0);
		sn.wake_ms = deadline_ms;
		buf_reset(&s->in);
		r = park_send(s, &sn);
		if (r < 0)
			buf_append(&s->in,
			    sn.pending.data ? sn.pending.data : "",
			    sn.pending.len);
	}
	if (r >= 0)
		log_debug("parked sasl exchange addr=%s mech=%s partial=%zu",
		    s->addr, mech, sn.pending.len);
	snap_free(&sn);
	return r > 0 ? 0 : r;
}

int
imapd_park_restore(struct imap_session *s, const struct snap *sn)
{
	const char *err;

	snprintf(s->addr, sizeof(s->addr), "%s", sn->addr);
	s->port = (int)sn->port;
	s->secure = (sn->flags & SNAP_F_SECURE) != 0;
	s->tls = (sn->flags & SNAP_F_TLS) != 0;
	s->conn_id = sn->conn_id;
	log_set_session(s->conn_id);
	s->failed_logins = (int)sn->failed_logins;
	s->idle_since_ms = sn->idle_since_ms;
	if (sn->kind == SNAP_K_NOTAUTH) {
		s->state = IMAP_S_NOTAUTH;
		return 0;
	}
	snprintf(s->user, sizeof(s->user), "%s", sn->user);
	s->condstore = (sn->flags & SNAP_F_CONDSTORE) != 0;
	s->qresync = (sn->flags & SNAP_F_QRESYNC) != 0;
	s->rev2 = (sn->flags & SNAP_F_REV2) != 0;
	s->utf8 = (sn->flags & SNAP_F_UTF8) != 0;
	s->state = IMAP_S_AUTH;
	/* the client's bytes idled read are deflated: inflated first */
	if ((sn->flags & SNAP_F_DEFLATE) && compress_restore(s, sn) < 0) {
		log_info("refused user=%s addr=%s reason=compressed-state-"
			 "broken",
		    s->user, s->addr);
		s->dead = 1;
		return -1;
	}
	if ((sn->flags & SNAP_F_SELECTED) && view_rebuild(s, sn, &err) != 0) {
		io_printf(s, "* BYE Selected mailbox is gone: %s\r\n", err);
		return -1;
	}
	if ((sn->flags & SNAP_F_SELECTED) && park_restore_saved(s, sn) < 0) {
		io_printf(s, "* BYE Cannot restore the saved search\r\n");
		return -1;
	}
	if (imapd_notify_restore(s, sn) < 0) {
		io_printf(s, "* BYE Cannot restore the NOTIFY state\r\n");
		return -1;
	}
	return 0;
}

int
imapd_park_take(int conn, struct snap *sn, struct ipc_msg **tls_r)
{
	struct pollfd pfd = { conn, POLLIN, 0 };
	int r;

	snap_init(sn);
	r = poll(&pfd, 1, PARK_ACK_TIMEOUT_MS);
	r = r > 0 ? ipc_recv(conn, &park_msg) : -1;
	if (r > 0 && park_msg.type == TLSPROTO_T_NEW && park_msg.fd >= 0) {
		*tls_r = &park_msg;
		return IMAPD_PARK_TLS;
	}
	if (r <= 0 || park_msg.type != IDLEPROTO_T_RESUME || park_msg.fd < 0) {
		if (r > 0 && park_msg.fd >= 0)
			fd_close(park_msg.fd);
		log_warn("malformed resume message dropped");
		return -1;
	}
	if (snap_get(&park_msg, sn) < 0) {
		log_warn("resume without a valid snapshot; closing the client");
		fd_close(park_msg.fd);
		return -1;
	}
	return park_msg.fd;
}

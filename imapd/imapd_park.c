/*
 * imapd_park - hand an idling session to idled, and take resumed ones
 * back from the handoff socket.
 *
 * Parking: the worker sends idled the client fd and a snapshot (lib/snap)
 * and waits for idled's PARKED; only then does it drop the session and
 * return to the pool.  If idled is down or does not answer, the worker
 * keeps serving the IDLE itself (logged once per worker).
 * Resuming: the view is rebuilt from the snapshot and the store, the
 * untagged responses an unparked session would have seen are sent, and
 * the IDLE goes on (DONE answered, or parked again).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "idlep.h"
#include "imapd.h"
#include "ipc.h"
#include "log.h"
#include "notify.h"
#include "snap.h"
#include "srv.h"

#define PARK_ACK_TIMEOUT_MS 2000

static struct ipc_msg park_msg;
static int park_warned;

/* park_snapshot - the session as a snapshot */
static void
park_snapshot(struct imap_session *s, const char *tag, struct snap *sn)
{
	struct imap_view *v = &s->view;

	memset(sn, 0, sizeof(*sn));
	snprintf(sn->user, sizeof(sn->user), "%s", s->user);
	snprintf(sn->mailbox, sizeof(sn->mailbox), "%s", v->name);
	snprintf(sn->addr, sizeof(sn->addr), "%s", s->addr);
	snprintf(sn->tag, sizeof(sn->tag), "%s", tag);
	sn->mboxid = v->mboxid;
	sn->uidvalidity = v->uidvalidity;
	sn->maxuid = v->n ? v->msgs[v->n - 1].uid : 0;
	sn->modseq = v->modseq;
	sn->port = (uint32_t)s->port;
	sn->flags = (s->condstore ? SNAP_F_CONDSTORE : 0) |
	    (v->readonly ? SNAP_F_READONLY : 0) |
	    (s->secure ? SNAP_F_SECURE : 0);
	buf_init(&sn->pending, 0);
}

static void
park_warn(const char *what)
{
	if (!park_warned++)
		log_warn("idled unavailable (%s): serving IDLE in the worker",
		    what);
}

int
imapd_park(struct imap_session *s, const char *tag)
{
	struct sockaddr_un sun;
	struct pollfd pfd;
	struct snap sn;
	const char *handoff, *path = notify_idled_path();
	int c, r;

	if (srv_handoff_fd(&handoff) < 0 || s->in.len > 0 ||
	    strlen(path) >= sizeof(sun.sun_path))
		return -1;
	park_snapshot(s, tag, &sn);
	ipc_msg_init(&park_msg, IDLEP_T_PARK);
	park_msg.fd = s->fd;
	if (snap_put(&sn, &park_msg) < 0 ||
	    ipc_put_str(&park_msg, IDLEP_HANDOFF, handoff) < 0)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    ipc_send(c, &park_msg) < 0) {
		park_warn(strerror(errno));
		if (c >= 0)
			close(c);
		return -1;
	}
	/* idled holds the client only once it says so */
	pfd.fd = c;
	pfd.events = POLLIN;
	r = poll(&pfd, 1, PARK_ACK_TIMEOUT_MS);
	if (r <= 0 || ipc_recv(c, &park_msg) <= 0 ||
	    park_msg.type != IDLEP_T_PARKED) {
		park_warn("no acknowledgement");
		close(c);
		return -1;
	}
	close(c);
	park_warned = 0;
	log_debug("parked user=%s addr=%s mailbox=%s", s->user, s->addr,
	    s->view.name);
	return 0;
}

/*
 * imapd_resume - take one session from the handoff listener's connection
 * conn and serve it.  Consumes conn.
 */
void
imapd_resume(struct store *st, int conn)
{
	struct imap_session s;
	struct snap sn;
	struct pollfd pfd = { conn, POLLIN, 0 };
	const char *err;
	int r, client;

	r = poll(&pfd, 1, PARK_ACK_TIMEOUT_MS);
	r = r > 0 ? ipc_recv(conn, &park_msg) : -1;
	close(conn);
	if (r <= 0 || park_msg.type != IDLEP_T_RESUME || park_msg.fd < 0) {
		if (r > 0 && park_msg.fd >= 0)
			close(park_msg.fd);
		log_warn("malformed resume message dropped");
		return;
	}
	if (snap_get(&park_msg, &sn) < 0) {
		log_warn("resume without a snapshot; closing the client");
		close(park_msg.fd);
		snap_free(&sn);
		return;
	}
	client = park_msg.fd;	/* park_msg is reused if we park again */
	imapd_session_init(&s, st, client);
	snprintf(s.addr, sizeof(s.addr), "%s", sn.addr);
	s.port = (int)sn.port;
	snprintf(s.user, sizeof(s.user), "%s", sn.user);
	s.secure = (sn.flags & SNAP_F_SECURE) != 0;
	s.condstore = (sn.flags & SNAP_F_CONDSTORE) != 0;
	s.state = IMAP_S_AUTH;
	if (view_rebuild(&s, &sn, &err) != 0) {
		io_printf(&s, "* BYE Mailbox is gone: %s\r\n", err);
		s.state = IMAP_S_LOGOUT;
	} else {
		buf_append(&s.in, sn.pending.data ? sn.pending.data : "",
		    sn.pending.len);
		/* idled may have answered DONE: then a command is waiting */
		if (!(sn.flags & SNAP_F_DONE))
			idle_run(&s, sn.tag);
		if (s.state != IMAP_S_LOGOUT && !s.dead)
			imapd_serve(&s, 0);
	}
	io_flush(&s);
	if (!s.parked)
		log_info("disconnect user=%s addr=%s", s.user, s.addr);
	imapd_session_done(&s);
	close(client);
	snap_free(&sn);
}

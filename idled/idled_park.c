/*
 * idled_park - the park socket: workers connect, send one PARK message
 * with the client fd and its snapshot, and wait for PARKED; berthctl asks
 * LIST and gets the parked sessions.
 *
 * A malformed or wrong-version message closes that connection (and any
 * fd that came with it), never idled.  idled answers PARKED only once the
 * session is in its tables, so a worker that hears it may forget the
 * client.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "authlink.h"
#include "fd.h"
#include "idled.h"
#include "idleproto.h"
#include "ipc.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "xalloc.h"

struct parkconn {
	struct ev_io io;
	struct ev_timer deadline;
};

#define PARK_CONN_TIMEOUT_MS 5000

static struct ev_io park_lio;
static struct ipc_msg park_msg;
static int park_spare = -1; /* kept for the moment fds run out */

static void
park_conn_close(struct parkconn *pc)
{
	fd_close(pc->io.fd);
	ev_io_del(&pc->io);
	ev_timer_del(&pc->deadline);
	ev_defer_free(pc);
}

/* park_list_line - one session as berthctl reads it */
static void
park_list_line(const struct isess *s, char *line, size_t size)
{
	(void)snprintf(line, size, "%s %s %lld %s %s",
	    s->user->name[0] ? s->user->name : "-", s->addr,
	    (ev_now_ms() - s->since_ms) / 1000, snap_kind_name(s->kind),
	    s->mailbox ? s->mailbox : "-");
}

/* park_list - every session, oldest first, in as many LISTING messages
 * as it takes; the last carries IDLEPROTO_END */
static void
park_list(int conn)
{
	struct timeval tv = { 2, 0 };
	struct isess *s;
	char line[1400];

	/* an admin command: a slow reader may hold idled two seconds */
	if (setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    net_set_nonblock(conn, 0) < 0) {
		log_warn("listing: cannot set up its socket: %m");
		return;
	}
	ipc_msg_init(&park_msg, IDLEPROTO_T_LISTING);
	for (s = idled_all_head; s != NULL; s = s->anext) {
		park_list_line(s, line, sizeof(line));
		if (ipc_put_str(&park_msg, IDLEPROTO_LINE, line) == 0)
			continue;
		if (ipc_send(conn, &park_msg) < 0)
			return;
		ipc_msg_init(&park_msg, IDLEPROTO_T_LISTING);
		ipc_put_str(&park_msg, IDLEPROTO_LINE, line);
	}
	ipc_put_u32(&park_msg, IDLEPROTO_END, (uint32_t)idled_nsess);
	if (ipc_send(conn, &park_msg) < 0)
		log_warn("list reply failed: %m");
}

/* park_peer_gone - did the worker close its end (it stopped waiting for
 * our answer and left the session to us)? */
static int
park_peer_gone(int conn)
{
	char c;

	return recv(conn, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* park_take - the session of a PARK message joins idled */
static void
park_take(int conn)
{
	char handoff[256];
	struct isess *s;
	struct snap sn;
	int fd = park_msg.fd, tarpit;

	if (snap_get(&park_msg, &sn) < 0 ||
	    ipc_get_str(&park_msg, IDLEPROTO_HANDOFF, handoff,
		sizeof(handoff)) < 0 ||
	    handoff[0] == '\0') {
		log_warn("park message without a valid snapshot; closing it");
		fd_close(fd);
		snap_free(&sn);
		return;
	}
	/*
	 * Refused here, so that the worker serves the session itself (we
	 * close our copy and do not acknowledge): a refused connection
	 * waiting for its BYE while the tarpit has no room, and a login
	 * waiting for authd's answer while we have no link to authd to
	 * hear it on.
	 */
	if (net_set_nonblock(fd, 1) < 0) {
		log_warn("park refused user=%s addr=%s: client socket: %m",
		    sn.user[0] ? sn.user : "-", sn.addr);
		fd_close(fd);
		snap_free(&sn);
		return;
	}
	tarpit = sn.kind == SNAP_K_NOTAUTH && (sn.flags & SNAP_F_CLOSE) &&
	    sn.conn_id == 0;
	if (tarpit && !idled_tarpit_take(sn.addr)) {
		fd_close(fd);
		snap_free(&sn);
		return;
	}
	if ((sn.flags & SNAP_F_AUTHWAIT) && park_peer_gone(conn)) {
		/* the worker gave up waiting for us and left the session
		 * here without asking authd: its reply (UNAVAILABLE) goes
		 * at once */
		sn.flags &= ~(uint32_t)SNAP_F_AUTHWAIT;
		sn.wake_ms = ev_now_ms();
	} else if ((sn.flags & SNAP_F_AUTHWAIT) && !idled_authd_linked()) {
		fd_close(fd);
		snap_free(&sn);
		return;
	}
	s = idled_sess_new(&sn, fd, handoff);
	s->tarpit = (uint8_t)tarpit;
	/* authd logs these events itself: refusals, logins it is
	 * checking, failed logins serving their delay */
	s->quiet = tarpit || (sn.flags & SNAP_F_AUTHWAIT) != 0 ||
	    (sn.kind == SNAP_K_NOTAUTH && sn.reply.len > 0);
	snap_free(&sn);
	if (ev_io_add(&s->io, fd, EV_READ, idled_client_io, s) < 0) {
		log_error("epoll: %m");
		s->conn_id = 0; /* the worker still holds it */
		idled_sess_drop(s, "no-room");
		return;
	}
	ipc_msg_init(&park_msg, IDLEPROTO_T_PARKED);
	if (ipc_send(conn, &park_msg) < 0)
		log_warn("park ack failed: %m");
	/* authd counts the connection as ours now */
	if (s->conn_id != 0) {
		authlink_hold(s->conn_id, s->addr, s->user->name);
		idled_authd_watch(); /* the hold may have made the link */
	}
	idled_sess_log_park(s);
	/* the caps evict the oldest, never the newest */
	idled_limits_park(s);
	if (s->kind == SNAP_K_NOTAUTH)
		return;
	/* a change that landed while the session was on its way */
	if (idled_change_catch_up(s))
		return;
	/* input that came with the session (pipelined after IDLE) */
	if (s->pending.len > 0)
		idled_client_input(s);
}

static void
park_read(struct ev_io *io, unsigned events, void *ctx)
{
	struct parkconn *pc = ctx;
	int r = ipc_recv(io->fd, &park_msg);

	(void)events;
	if (r < 0 && errno == EAGAIN)
		return;
	if (r > 0 && park_msg.type == IDLEPROTO_T_LIST && park_msg.fd < 0)
		park_list(io->fd);
	else if (r > 0 && park_msg.type == IDLEPROTO_T_PARK && park_msg.fd >= 0)
		park_take(io->fd);
	else if (r > 0 && park_msg.type == IDLEPROTO_T_FRONT &&
	    park_msg.fd >= 0)
		idled_front_take(&park_msg);
	else if (r != 0) {
		if (r > 0 && park_msg.fd >= 0)
			fd_close(park_msg.fd);
		log_warn("malformed park message; closing that connection");
	}
	park_conn_close(pc);
}

static void
park_timeout(struct ev_timer *t, void *ctx)
{
	(void)t;
	log_warn("park connection sent nothing; closed");
	park_conn_close(ctx);
}

static void
park_accept(struct ev_io *io, unsigned events, void *ctx)
{
	struct parkconn *pc;
	int fd;

	(void)events;
	(void)ctx;
	while ((fd = accept4(io->fd, NULL, NULL,
		    SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		pc = xcalloc(1, sizeof(*pc));
		if (ev_io_add(&pc->io, fd, EV_READ, park_read, pc) < 0) {
			fd_close(fd);
			free(pc);
			continue;
		}
		ev_timer_add(&pc->deadline, PARK_CONN_TIMEOUT_MS, park_timeout,
		    pc);
		/* the message is usually there already */
		park_read(&pc->io, EV_READ, pc);
	}
	if ((errno == EMFILE || errno == ENFILE) && park_spare >= 0) {
		/* out of descriptors: refuse the worker at once (it serves
		 * the session itself) instead of spinning on the backlog */
		log_warn("cannot take more sessions (parked=%zu): %m",
		    idled_nsess);
		fd_close(park_spare);
		if ((fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			fd_close(fd);
		park_spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
}

void
idled_park_init(void)
{
	struct err err;
	int fd = net_bind_seqpacket(notify_idled_path(), &err);

	if (fd < 0 || listen(fd, 1024) < 0)
		log_fatal("cannot listen on %s: %s", notify_idled_path(),
		    fd < 0 ? err.msg : strerror(errno));
	if (net_set_nonblock(fd, 1) < 0 ||
	    ev_io_add(&park_lio, fd, EV_READ, park_accept, NULL) < 0)
		log_fatal("cannot watch %s: %m", notify_idled_path());
	park_spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/*
 * master_front - no client waits in a listen backlog for want of a
 * worker.  While no worker of an imapd service is ready, master accepts
 * that service's new clients itself and hands each one, unread, to idled
 * (IDLEPROTO_T_FRONT on its park socket, with the service's name and
 * handoff socket).  idled reads any PROXY header, admits the client
 * through authd, greets it and holds it as a parked pre-login session;
 * the client's first whole command goes to a worker through the handoff
 * socket like any resumed session (idled_front.c).
 *
 * Why master and not idled at the listener: master owns the listeners
 * (bound before privileges are dropped, added and closed on SIGHUP) and is
 * the one process that knows whether a worker is ready (the status
 * pipe); idled given the listeners would have to guess from the backlog
 * and would keep a removed service's socket open.  Why idled and not
 * master greeting: admission waits for authd and a greeted client may
 * say nothing for minutes, which idled's loop is built for; master only
 * accepts and passes the descriptor on, never reads from a client.
 *
 * A service is fronted when its program is imapd and it has a handoff
 * socket.  When idled cannot be reached (not started yet, restarting,
 * its backlog full) clients wait in the backlog as before, and master
 * tries again MASTER_FRONT_RETRY_MS later.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "idleproto.h"
#include "ipc.h"
#include "log.h"
#include "master.h"
#include "net.h"
#include "notify.h"

/* clients taken from one listener per event: the loop's other work (the
 * status pipe, forks) goes on during a flood */
#define MASTER_FRONT_BATCH 32
#define MASTER_FRONT_RETRY_MS 1000

static struct ipc_msg front_msg;
static int front_reached; /* idled took a client once: it is up */

int
master_front_serves(const struct master_svc *svc)
{
	const char *cmd = svc->e.cmd, *prog, *end;
	size_t len;

	if (svc->e.section != MCONF_SERVICES || svc->removed || svc->lfd < 0 ||
	    svc->e.handoff == NULL)
		return 0;
	cmd += strspn(cmd, " \t\"'");
	end = cmd + strcspn(cmd, " \t\"'");
	for (prog = end; prog > cmd && prog[-1] != '/'; prog--)
		;
	len = (size_t)(end - prog);
	return len == 5 && strncmp(prog, "imapd", 5) == 0;
}

/* master_front_ready - svc's workers that reported ready (a starting one
 * may take a long while to open the store on a loaded machine) */
static int
master_front_ready(const struct master_svc *svc)
{
	size_t i;
	int n = 0;

	for (i = 0; i < master.nchildren; i++)
		if (master.children[i].svc == svc &&
		    master.children[i].state == MASTER_C_READY)
			n++;
	return n;
}

/* master_front_connect - a connection to idled's park socket; -1 when
 * idled cannot take one now */
static int
master_front_connect(void)
{
	struct sockaddr_un sun;
	const char *path = notify_idled_path();
	size_t len = strlen(path);
	int c;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (len >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, len);
	c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c < 0)
		return -1;
	if (connect(c, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(c);
		return -1;
	}
	return c;
}

/* master_front_pause - idled or the listener failed us: leave clients
 * in the backlog for a while */
static void
master_front_pause(struct master_svc *svc, const char *why)
{
	/* idled starts after the listeners: not worth a warning then */
	if (!front_reached)
		log_debug("service=%s idled not there yet (%s)", svc->e.name,
		    why);
	else if (svc->front_retry_ms == 0 ||
	    master_now_ms() - svc->front_retry_ms > 60000)
		log_warn("service=%s cannot hand new clients to idled (%s); "
			 "they wait for a worker",
		    svc->e.name, why);
	svc->front_retry_ms = master_now_ms() + MASTER_FRONT_RETRY_MS;
	ev_io_del(&svc->front_io);
}

/* master_front_one - hand one waiting client of svc to idled: 1 done,
 * 0 none waiting, -1 paused */
static int
master_front_one(struct master_svc *svc)
{
	int c, fd, r;

	if ((c = master_front_connect()) < 0) {
		master_front_pause(svc, strerror(errno));
		return -1;
	}
	fd = accept4(svc->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		close(c);
		if (e == EAGAIN || e == EINTR || e == ECONNABORTED)
			return 0;
		master_front_pause(svc, strerror(e));
		return -1;
	}
	ipc_msg_init(&front_msg, IDLEPROTO_T_FRONT);
	front_msg.fd = fd;
	r = ipc_put_str(&front_msg, IDLEPROTO_HANDOFF, svc->e.handoff) < 0 ||
		ipc_put_str(&front_msg, IDLEPROTO_SERVICE, svc->e.name) < 0
	    ? -1
	    : ipc_send(c, &front_msg);
	if (r < 0) {
		/* the client was accepted: say why it goes */
		static const char bye[] =
		    "* BYE [UNAVAILABLE] Server busy; try again\r\n";

		(void)!write(fd, bye, sizeof(bye) - 1);
		log_warn("service=%s cannot hand a client to idled: %m",
		    svc->e.name);
	}
	if (r == 0)
		front_reached = 1;
	/* idled has its own copy now (or the client was told) */
	close(fd);
	close(c);
	return r < 0 ? -1 : 1;
}

/* master_front_accept - clients wait on svc's listener and no worker is
 * ready */
static void
master_front_accept(struct ev_io *io, unsigned events, void *ctx)
{
	struct master_svc *svc = ctx;
	int i;

	(void)io;
	(void)events;
	for (i = 0; i < MASTER_FRONT_BATCH; i++)
		if (master_front_one(svc) <= 0)
			break;
	if (i > 0)
		log_debug("service=%s handed clients=%d to idled: no worker "
			  "ready",
		    svc->e.name, i);
}

void
master_front_adjust(void)
{
	long long now = master_now_ms();
	size_t i;
	int want;

	for (i = 0; i < master.nsvcs; i++) {
		struct master_svc *svc = master.svcs[i];

		want = !master.terminating && master_front_serves(svc) &&
		    svc->front_retry_ms <= now && master_front_ready(svc) == 0;
		/* non-blocking (the workers' copies share the flag): a
		 * worker may take the client master woke for */
		if (want && svc->front_io.fd < 0 &&
		    (net_set_nonblock(svc->lfd, 1) < 0 ||
			ev_io_add(&svc->front_io, svc->lfd, EV_READ,
			    master_front_accept, svc) < 0)) {
			log_error("service=%s listener: epoll: %m",
			    svc->e.name);
			svc->front_retry_ms = now + MASTER_FRONT_RETRY_MS;
		} else if (!want && svc->front_io.fd >= 0)
			ev_io_del(&svc->front_io);
	}
}

void
master_front_forget(struct master_svc *svc)
{
	ev_io_del(&svc->front_io);
}

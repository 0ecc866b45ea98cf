/*
 * idled - holds parked IDLE sessions: the client's fd and its snapshot,
 * a few hundred bytes each, in one event loop.  A session goes back to a
 * worker (through the service's handoff socket) when the client sends
 * anything or when a "mailbox changed" datagram reports a modseq newer
 * than the session's view.
 *
 * Workers park sessions on <configdirectory>/socket/idled (SOCK_SEQPACKET,
 * one PARK message with the fd, answered by PARKED); writers send
 * datagrams to <configdirectory>/socket/notify.
 *
 * Stale sessions: "* OK Still here" every imapidlekeepalive, TCP
 * keep-alive, "* BYE" after imapidletimeout, and per-user and per
 * user+network caps that evict the user's oldest session (a phone that
 * changed networks pushes out its own dead connections).
 *
 * XXX(#3): NOTIFY and answering DONE+IDLE without a worker are not done.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "idlep.h"
#include "ipc.h"
#include "log.h"
#include "notify.h"
#include "snap.h"
#include "srv.h"
#include "xalloc.h"

struct parked {
	int fd;
	struct snap sn;
	char handoff[256];
	long long since_ms;	/* parked at */
	long long ping_ms;	/* last keep-alive */
	const char *waking;	/* waiting for a free worker: why */
	struct parked *prev, *next;
};

struct seen {
	uint32_t mboxid;
	uint64_t modseq;
};

static struct parked *idled_list;
static size_t idled_count;
static size_t idled_waking;	/* sessions waiting for a worker */
static struct seen *idled_seen;
static size_t idled_nseen;
static int idled_ep;
static struct ipc_msg idled_msg;

static long long
idled_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* idled_net - the client's network: IPv4 /24, IPv6 /64 (textually) */
static void
idled_net(const char *addr, char *out, size_t size)
{
	const char *p;
	int colons = 0;

	snprintf(out, size, "%s", addr);
	if (strchr(out, ':') == NULL) {
		if ((p = strrchr(out, '.')) != NULL)
			out[p - out] = '\0';
		return;
	}
	for (p = out; *p; p++)
		if (*p == ':' && ++colons == 4) {
			out[p - out] = '\0';
			return;
		}
}

/* idled_bind - a Unix socket of type at path, mode 0600 */
static int
idled_bind(const char *path, int type)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		log_fatal("socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		log_fatal("socket: %m");
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		log_fatal("bind %s: %m", path);
	chmod(path, 0600);
	if (type == SOCK_SEQPACKET && listen(fd, 1024) < 0)
		log_fatal("listen %s: %m", path);
	return fd;
}

static void
idled_watch(int fd, void *ptr)
{
	struct epoll_event ev;

	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = ptr;
	if (epoll_ctl(idled_ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		log_error("epoll_ctl: %m");
}

static void
idled_drop(struct parked *p, const char *why)
{
	if (p->waking)
		idled_waking--;
	epoll_ctl(idled_ep, EPOLL_CTL_DEL, p->fd, NULL);
	close(p->fd);
	if (p->prev)
		p->prev->next = p->next;
	else
		idled_list = p->next;
	if (p->next)
		p->next->prev = p->prev;
	idled_count--;
	if (why != NULL)
		log_info("unpark user=%s addr=%s mailbox=%s reason=%s "
		    "parked=%zu", p->sn.user, p->sn.addr, p->sn.mailbox, why,
		    idled_count);
	snap_free(&p->sn);
	free(p);
}

/*
 * idled_wake - hand p back to a worker through its handoff socket.  Never
 * blocks: when every worker is busy and the handoff backlog is full, the
 * session waits (p->waking) and is retried every few milliseconds while
 * master grows the pool.
 */
static int
idled_wake(struct parked *p, const char *why)
{
	struct sockaddr_un sun;
	int s;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, p->handoff, strlen(p->handoff));
	ipc_msg_init(&idled_msg, IDLEP_T_RESUME);
	idled_msg.fd = p->fd;
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s >= 0 && connect(s, (struct sockaddr *)&sun, sizeof(sun)) < 0 &&
	    errno == EAGAIN) {
		close(s);
		if (!p->waking)
			idled_waking++;
		p->waking = why;
		return 1;
	}
	if (p->waking) {
		p->waking = NULL;
		idled_waking--;
	}
	if (s < 0 || snap_put(&p->sn, &idled_msg) < 0 ||
	    ipc_send(s, &idled_msg) < 0) {
		log_error("resume failed user=%s addr=%s handoff=%s: %m",
		    p->sn.user, p->sn.addr, p->handoff);
		if (write(p->fd, "* BYE Server busy, reconnect\r\n", 30) < 0)
			log_debug("bye write failed");
		if (s >= 0)
			close(s);
		idled_drop(p, "resume-failed");
		return 0;
	}
	close(s);
	idled_drop(p, why);
	return 0;
}

static uint64_t
idled_seen_get(uint32_t mboxid)
{
	size_t i;

	for (i = 0; i < idled_nseen; i++)
		if (idled_seen[i].mboxid == mboxid)
			return idled_seen[i].modseq;
	return 0;
}

/* idled_notify - a mailbox changed: wake every session that watches it */
static void
idled_notify(int fd)
{
	struct notify_msg m;
	struct parked *p, *next;
	size_t i;

	while (recv(fd, &m, sizeof(m), 0) == sizeof(m)) {
		if (m.version != NOTIFY_VERSION)
			continue;
		for (i = 0; i < idled_nseen; i++)
			if (idled_seen[i].mboxid == m.mboxid)
				break;
		if (i == idled_nseen) {
			idled_seen = xreallocarray(idled_seen, ++idled_nseen,
			    sizeof(*idled_seen));
			idled_seen[i].mboxid = m.mboxid;
			idled_seen[i].modseq = 0;
		}
		if (m.modseq > idled_seen[i].modseq)
			idled_seen[i].modseq = m.modseq;
		for (p = idled_list; p != NULL; p = next) {
			next = p->next;
			/* between commands (DONE answered) the updates wait
			 * for the next command, as RFC 3501 has it */
			if (p->sn.mboxid == m.mboxid &&
			    m.modseq > p->sn.modseq &&
			    !(p->sn.flags & SNAP_F_DONE))
				idled_wake(p, "changed");
		}
	}
}

/* idled_retry - try again to hand waiting sessions to workers, until
 * the handoff backlog is full again */
static void
idled_retry(void)
{
	struct parked *p, *next;

	for (p = idled_list; p != NULL && idled_waking; p = next) {
		next = p->next;
		if (p->waking && idled_wake(p, p->waking))
			return;
	}
}

/* idled_keepalive - find dead peers in minutes, not hours */
static void
idled_keepalive(int fd)
{
	int on = 1, idle = (int)(cfg_duration_ms("tcp_keepalive_idle") / 1000),
	    intvl = (int)(cfg_duration_ms("tcp_keepalive_intvl") / 1000),
	    cnt = (int)cfg_int("tcp_keepalive_cnt");

	/* fails harmlessly on Unix sockets */
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* idled_bye - say why, then close */
static void
idled_bye(struct parked *p, const char *text, const char *why)
{
	if (write(p->fd, text, strlen(text)) < 0)
		log_debug("bye write failed: %m");
	idled_drop(p, why);
}

/*
 * idled_caps - enforce the per-user and per-user+network caps after p
 * joined: over a cap, the oldest session of that user (or user+network)
 * goes, never the new one.
 */
static void
idled_caps(struct parked *p)
{
	long long maxu = cfg_int("idled_maxuser"),
	    maxn = cfg_int("idled_maxusernet");
	struct parked *q, *oldest_u = NULL, *oldest_n = NULL;
	char net[64], qnet[64];
	long long nu = 0, nn = 0;

	idled_net(p->sn.addr, net, sizeof(net));
	for (q = idled_list; q != NULL; q = q->next) {
		if (strcmp(q->sn.user, p->sn.user) != 0)
			continue;
		nu++;
		if (oldest_u == NULL || q->since_ms < oldest_u->since_ms)
			oldest_u = q;
		idled_net(q->sn.addr, qnet, sizeof(qnet));
		if (strcmp(qnet, net) == 0) {
			nn++;
			if (oldest_n == NULL || q->since_ms < oldest_n->since_ms)
				oldest_n = q;
		}
	}
	if (maxn > 0 && nn > maxn && oldest_n != p) {
		log_info("evict user=%s addr=%s net=%s parked_user_net=%lld "
		    "limit=idled_maxusernet:%lld", oldest_n->sn.user,
		    oldest_n->sn.addr, net, nn, maxn);
		idled_bye(oldest_n, "* BYE [LIMIT] Too many idle sessions "
		    "from your network; closing the oldest\r\n", NULL);
	} else if (maxu > 0 && nu > maxu && oldest_u != p) {
		log_info("evict user=%s addr=%s parked_user=%lld "
		    "limit=idled_maxuser:%lld", oldest_u->sn.user,
		    oldest_u->sn.addr, nu, maxu);
		idled_bye(oldest_u, "* BYE [LIMIT] Too many idle sessions; "
		    "closing the oldest\r\n", NULL);
	}
}

/* idled_tick - keep-alives and idle timeouts, about once a second */
static void
idled_tick(void)
{
	long long now = idled_now_ms(),
	    ka = cfg_duration_ms("imapidlekeepalive"),
	    to = cfg_duration_ms("imapidletimeout");
	static const char ping[] = "* OK Still here\r\n";
	struct parked *p, *next;

	for (p = idled_list; p != NULL; p = next) {
		next = p->next;
		if (to > 0 && now - p->since_ms >= to) {
			log_info("timeout user=%s addr=%s mailbox=%s "
			    "idle_s=%lld limit=imapidletimeout", p->sn.user,
			    p->sn.addr, p->sn.mailbox,
			    (now - p->since_ms) / 1000);
			idled_bye(p, "* BYE Idle for too long\r\n", NULL);
			continue;
		}
		if (ka > 0 && now - p->ping_ms >= ka) {
			p->ping_ms = now;
			if (write(p->fd, ping, sizeof(ping) - 1) < 0 &&
			    errno != EAGAIN)
				idled_drop(p, "client-gone");
		}
	}
}

/* idled_list_reply - berthctl's view: one LINE per parked session */
static void
idled_list_reply(int conn)
{
	long long now = idled_now_ms();
	struct parked *p;
	char line[1400];

	ipc_msg_init(&idled_msg, IDLEP_T_LISTING);
	for (p = idled_list; p != NULL; p = p->next) {
		snprintf(line, sizeof(line), "%s %s %lld %s", p->sn.user,
		    p->sn.addr, (now - p->since_ms) / 1000, p->sn.mailbox);
		if (ipc_put_str(&idled_msg, IDLEP_LINE, line) < 0)
			break;		/* the first ~40 KB of sessions */
	}
	if (ipc_send(conn, &idled_msg) < 0)
		log_warn("list reply failed: %m");
}

/* idled_park - one PARK message from a worker on conn */
static void
idled_park(int conn)
{
	struct parked *p;
	const void *h;
	size_t hl;
	int r = ipc_recv(conn, &idled_msg);

	if (r > 0 && idled_msg.type == IDLEP_T_LIST && idled_msg.fd < 0) {
		idled_list_reply(conn);
		return;
	}
	if (r <= 0 || idled_msg.type != IDLEP_T_PARK || idled_msg.fd < 0) {
		if (r > 0 && idled_msg.fd >= 0)
			close(idled_msg.fd);
		log_warn("malformed park message; closing that worker");
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->fd = idled_msg.fd;
	if (snap_get(&idled_msg, &p->sn) < 0 ||
	    ipc_get(&idled_msg, IDLEP_HANDOFF, &h, &hl) < 0 ||
	    hl == 0 || hl >= sizeof(p->handoff)) {
		log_warn("park message without a snapshot; closing it");
		close(p->fd);
		snap_free(&p->sn);
		free(p);
		return;
	}
	memcpy(p->handoff, h, hl);
	fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
	idled_keepalive(p->fd);
	p->since_ms = p->ping_ms = idled_now_ms();
	p->next = idled_list;
	if (idled_list)
		idled_list->prev = p;
	idled_list = p;
	idled_count++;
	ipc_msg_init(&idled_msg, IDLEP_T_PARKED);
	if (ipc_send(conn, &idled_msg) < 0)
		log_warn("park ack failed: %m");
	log_info("park user=%s addr=%s mailbox=%s parked=%zu", p->sn.user,
	    p->sn.addr, p->sn.mailbox, idled_count);
	idled_watch(p->fd, p);
	idled_caps(p);
	/* a change that landed while the session was on its way */
	if (idled_seen_get(p->sn.mboxid) > p->sn.modseq &&
	    !(p->sn.flags & SNAP_F_DONE))
		idled_wake(p, "changed");
}

/*
 * idled_line - the first line of the pending input, or 0 if none is
 * complete; *len_r its length with the line end
 */
static int
idled_line(struct parked *p, size_t *len_r)
{
	const char *nl;

	if (p->sn.pending.len == 0)
		return 0;
	nl = memchr(p->sn.pending.data, '\n', p->sn.pending.len);
	if (nl == NULL)
		return 0;
	*len_r = (size_t)(nl - p->sn.pending.data) + 1;
	return 1;
}

/* idled_is_idle - is line "<tag> IDLE"?  copies the tag */
static int
idled_is_idle(const char *d, size_t len, char *tag, size_t size)
{
	const char *sp = memchr(d, ' ', len);
	size_t n = sp ? (size_t)(sp - d) : 0;

	while (len > 0 && (d[len - 1] == '\n' || d[len - 1] == '\r'))
		len--;
	if (sp == NULL || n == 0 || n >= size || len != n + 5 ||
	    strncasecmp(sp, " IDLE", 5) != 0)
		return 0;
	memcpy(tag, d, n);
	tag[n] = '\0';
	return 1;
}

/*
 * idled_input - answer what idled can answer itself: DONE (nothing
 * changed since the session parked, or it would have been woken) and the
 * next "<tag> IDLE" (clients restart IDLE every few minutes), so neither
 * costs a worker.  Anything else goes to a worker.  Returns 1 when the
 * session was handed on or dropped.
 */
static int
idled_input(struct parked *p)
{
	char reply[200], tag[64];
	const char *d;
	size_t len;

	while (idled_line(p, &len)) {
		d = p->sn.pending.data;
		if (!(p->sn.flags & SNAP_F_DONE) &&
		    (len == 6 || len == 5) && strncasecmp(d, "DONE", 4) == 0 &&
		    (len == 5 || d[4] == '\r')) {
			snprintf(reply, sizeof(reply), "%s OK IDLE "
			    "terminated\r\n", p->sn.tag);
			p->sn.flags |= SNAP_F_DONE;
		} else if ((p->sn.flags & SNAP_F_DONE) &&
		    len == p->sn.pending.len &&
		    idled_is_idle(d, len, tag, sizeof(tag))) {
			snprintf(reply, sizeof(reply), "+ idling\r\n");
			snprintf(p->sn.tag, sizeof(p->sn.tag), "%s", tag);
			p->sn.flags &= ~(uint32_t)SNAP_F_DONE;
		} else {
			idled_wake(p, "client-input");
			return 1;
		}
		if (write(p->fd, reply, strlen(reply)) < 0) {
			idled_drop(p, "client-gone");
			return 1;
		}
		buf_consume(&p->sn.pending, len);
		/* idling again: report what changed in between */
		if (!(p->sn.flags & SNAP_F_DONE) &&
		    idled_seen_get(p->sn.mboxid) > p->sn.modseq) {
			idled_wake(p, "changed");
			return 1;
		}
	}
	return 0;
}

/* idled_client - the parked client sent something or went away */
static void
idled_client(struct parked *p, uint32_t events)
{
	char buf[1024];
	ssize_t n;

	n = read(p->fd, buf, sizeof(buf));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		idled_drop(p, "client-closed");
		return;
	}
	if (n > 0 && buf_append(&p->sn.pending, buf, (size_t)n) < 0) {
		idled_drop(p, "too-much-input");
		return;
	}
	if (idled_input(p))
		return;
	if (events & (EPOLLHUP | EPOLLERR))
		idled_drop(p, "client-closed");
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[256];
	int ind, lfd, nfd, n, i, conn;
	static int lmark, nmark;
	long long last_tick = 0;

	srv_init(argc, argv, "idled", &ind);
	{
		char dir[1024];

		snprintf(dir, sizeof(dir), "%s", notify_path());
		*strrchr(dir, '/') = '\0';	/* <configdirectory>/socket */
		mkdir(dir, 0755);
	}
	lfd = idled_bind(notify_idled_path(), SOCK_SEQPACKET);
	nfd = idled_bind(notify_path(), SOCK_DGRAM);
	if ((idled_ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		log_fatal("epoll_create: %m");
	idled_watch(lfd, &lmark);
	idled_watch(nfd, &nmark);
	log_info("listening on %s and %s", notify_idled_path(),
	    notify_path());
	for (;;) {
		n = epoll_wait(idled_ep, evs, 256, idled_waking ? 5 : 1000);
		if (idled_waking)
			idled_retry();
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			log_fatal("epoll_wait: %m");
		if (idled_now_ms() - last_tick >= 1000) {
			last_tick = idled_now_ms();
			idled_tick();
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &lmark) {
				conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				if (conn < 0)
					continue;
				idled_park(conn);
				close(conn);
			} else if (evs[i].data.ptr == &nmark) {
				idled_notify(nfd);
			} else {
				idled_client(evs[i].data.ptr, evs[i].events);
			}
		}
	}
}

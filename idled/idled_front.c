/*
 * idled_front - new clients that master hands over when no worker is
 * ready (master_front.c): the PROXY header if the service takes one,
 * admission by authd, the greeting, then a parked pre-login session like
 * any other (kind NOTAUTH, its reply already sent), whose first whole
 * command goes to a worker through the service's handoff socket.  So a
 * client never waits in a listen backlog for a worker: it is greeted at
 * once, and what it sends before a worker is free waits here.
 *
 * Admission is what imapd does at accept, on the lib/ev loop as tlsd
 * does it (tlsd_admit.c): ADMIT goes on idled's authd link as an event
 * and authd answers in order, so the clients waiting for an answer form
 * a FIFO matched with the replies (RESULTs of parked logins travel on
 * the same link; idled_authd.c tells them apart by type).  ADMITTED
 * gives the client its id, held here until a worker takes the session;
 * REFUSED gets its BYE after authd's delay (the tarpit, as for a
 * worker's refusal), before any greeting.  When the link is down or
 * authd takes longer than FRONT_ADMIT_MS, waiting clients are admitted
 * without it, as workers and tlsd do: without authd no login succeeds.
 *
 * The greeting carries the capability list a worker would send
 * (lib/imap imapcaps), with authd's mechanisms, asked once per security
 * level on the same link and kept.
 *
 * Does not read client input (idled_client does, once the session is
 * parked) and does not decide when to front (master does).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authlink.h"
#include "authproto.h"
#include "cfg.h"
#include "idled.h"
#include "idleproto.h"
#include "imapcaps.h"
#include "ipnet.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "notify.h"
#include "proxyp.h"
#include "xalloc.h"

#define FRONT_ADMIT_MS 3000

enum front_wait {
	FRONT_W_PROXY, /* its PROXY header */
	FRONT_W_ADMIT, /* authd's ADMITTED or REFUSED */
	FRONT_W_MECHS, /* authd's MECHLIST, admitted already */
};

struct ifront {
	int fd;
	int port;
	int secure; /* a local socket, or loopback where trusted */
	enum front_wait wait;
	uint64_t conn_id;
	uint64_t ts; /* admission asked at (authproto_now_ns) */
	struct ev_timer timer;
	struct ifront *qnext; /* on the FIFO of authd's answers */
	char service[64];
	char handoff[256];
	char addr[64];
};

static struct ifront *front_head, *front_tail;
static struct ipc_msg front_msg;
/* authd's mechanisms by security, once known */
static char front_mechs[2][1024];
static int front_mechs_known[2];
static int front_warned;

/* front_free - forget f (its fd already closed or handed on) */
static void
front_free(struct ifront *f)
{
	ev_timer_del(&f->timer);
	free(f);
}

/* front_close - end f with text (NULL: none) */
static void
front_close(struct ifront *f, const char *text)
{
	if (text != NULL)
		(void)!write(f->fd, text, strlen(text));
	close(f->fd);
	if (f->conn_id != 0)
		authlink_closed(f->conn_id);
	front_free(f);
}

/* front_greeting - what a worker would greet f with */
static void
front_greeting(const struct ifront *f, struct buf *out)
{
	struct imapcaps c = { 1, 0, f->secure, 0, NULL };
	struct stat st;

	c.starttls = stat(notify_tlsd_path(), &st) == 0 && S_ISSOCK(st.st_mode);
	if (front_mechs_known[f->secure])
		c.mechs = front_mechs[f->secure];
	buf_puts(out, "* OK [CAPABILITY ");
	imapcaps_put(out, &c);
	buf_puts(out, "] berth ready\r\n");
}

/* front_session - f as a parked pre-login session; f is gone after.
 * reply: a refusal's BYE sent after delay_ms (a tarpit), or NULL */
static struct isess *
front_session(struct ifront *f, const char *reply, long long delay_ms)
{
	struct isess *s;
	struct snap sn;

	snap_init(&sn);
	sn.kind = SNAP_K_NOTAUTH;
	sn.flags = (f->secure ? SNAP_F_SECURE : 0) |
	    (reply != NULL ? SNAP_F_CLOSE : 0);
	snprintf(sn.addr, sizeof(sn.addr), "%s", f->addr);
	sn.port = (uint32_t)f->port;
	sn.conn_id = f->conn_id;
	/* no reply: the client's input is read at once */
	sn.wake_ms = ev_now_ms() + delay_ms;
	if (reply != NULL)
		buf_puts(&sn.reply, reply);
	s = idled_sess_new(&sn, f->fd, f->handoff);
	snap_free(&sn);
	/* a refusal is authd's to log (as for a worker's tarpit) */
	s->tarpit = s->quiet = reply != NULL;
	front_free(f);
	return s;
}

/* front_watch - read s's input and apply the caps and timers; 0, or -1
 * when s was dropped */
static int
front_watch(struct isess *s)
{
	if (ev_io_add(&s->io, s->fd, EV_READ, idled_client_io, s) < 0) {
		log_error("epoll: %m");
		idled_sess_drop(s, "no-room");
		return -1;
	}
	idled_sess_log_park(s);
	idled_limits_park(s);
	return 0;
}

/* front_greet - f is admitted: greet it and hold it until its first
 * command; f is gone after */
static void
front_greet(struct ifront *f)
{
	struct buf greet = BUF_INIT;
	struct isess *s;

	front_greeting(f, &greet);
	log_set_session(f->conn_id);
	log_info("connect addr=%s port=%d front=idled", f->addr, f->port);
	s = front_session(f, NULL, 0);
	if (idled_sess_write(s, greet.data, greet.len) == 0)
		front_watch(s);
	buf_free(&greet);
}

/* front_refuse - authd refused f: its BYE after delay_ms in the tarpit,
 * or now when the tarpit is full */
static void
front_refuse(struct ifront *f, const char *text, long long delay_ms)
{
	char bye[320];

	snprintf(bye, sizeof(bye), "* BYE [UNAVAILABLE] %s\r\n", text);
	if (delay_ms > 0 && idled_tarpit_take(f->addr)) {
		front_watch(front_session(f, bye, delay_ms));
		return;
	}
	front_close(f, bye);
}

static void front_timeout(struct ev_timer *t, void *ctx);

/* front_push - f waits for authd's next answer */
static void
front_push(struct ifront *f, enum front_wait wait)
{
	f->wait = wait;
	f->qnext = NULL;
	if (front_tail != NULL)
		front_tail->qnext = f;
	else
		front_head = f;
	front_tail = f;
	ev_timer_add(&f->timer, FRONT_ADMIT_MS, front_timeout, f);
}

static struct ifront *
front_pop(void)
{
	struct ifront *f = front_head;

	if (f != NULL) {
		front_head = f->qnext;
		if (front_head == NULL)
			front_tail = NULL;
		f->qnext = NULL;
		ev_timer_del(&f->timer);
	}
	return f;
}

/* front_open - admit f without authd (down, or too slow) */
static void
front_open(struct ifront *f, const char *why)
{
	if (!front_warned++)
		log_warn("admission without authd (%s) addr=%s", why, f->addr);
	if (f->conn_id == 0) {
		f->conn_id = authlink_new_id();
		authlink_hold(f->conn_id, f->addr, "");
	}
	front_greet(f);
}

/* front_mechs_ask - f is admitted; greet it once authd's mechanisms for
 * its security are known (asked now if not) */
static void
front_mechs_ask(struct ifront *f)
{
	if (front_mechs_known[f->secure]) {
		front_greet(f);
		return;
	}
	ipc_msg_init(&front_msg, AUTHPROTO_T_MECHS);
	if (ipc_put_u32(&front_msg, AUTHPROTO_SECURE, (uint32_t)f->secure) <
		0 ||
	    authlink_event(&front_msg) < 0) {
		front_greet(f); /* without AUTH=; the link is down */
		return;
	}
	idled_authd_watch();
	front_push(f, FRONT_W_MECHS);
}

void
idled_front_fail_all(const char *why)
{
	struct ifront *f;

	while ((f = front_pop()) != NULL)
		front_open(f, why);
}

/* front_timeout - authd is too slow: stop waiting for it */
static void
front_timeout(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	log_warn("authd did not answer an admission in %d ms; admitting "
		 "without it",
	    FRONT_ADMIT_MS);
	/* its late answers would be matched with the wrong clients */
	idled_authd_drop();
}

void
idled_front_answer(const struct ipc_msg *m)
{
	struct ifront *f = front_pop();
	char text[160] = "Connection refused";
	uint64_t id, delay = 0;

	if (f == NULL) {
		log_warn("authd sent an answer nothing asked for type=%u",
		    m->type);
		return;
	}
	log_set_session(f->conn_id);
	if (f->wait == FRONT_W_MECHS) {
		if (m->type == AUTHPROTO_T_MECHLIST &&
		    ipc_get_str(m, AUTHPROTO_MECHS, front_mechs[f->secure],
			sizeof(front_mechs[f->secure])) == 0)
			front_mechs_known[f->secure] = 1;
		front_greet(f);
		return;
	}
	if (m->type == AUTHPROTO_T_ADMITTED &&
	    ipc_get_u64(m, AUTHPROTO_CONNID, &id) == 0) {
		f->conn_id = id;
		authlink_adopt(id, f->ts, f->addr, "");
		front_warned = 0;
		front_mechs_ask(f);
		return;
	}
	if (m->type == AUTHPROTO_T_REFUSED) {
		ipc_get_str(m, AUTHPROTO_TEXT, text, sizeof(text));
		if (ipc_get_u64(m, AUTHPROTO_DELAY, &delay) < 0 ||
		    delay > 60000)
			delay = 0;
		front_refuse(f, text, (long long)delay);
		return;
	}
	front_open(f, "unexpected reply");
}

/* front_admit - ask authd whether f may connect */
static void
front_admit(struct ifront *f)
{
	f->ts = authproto_now_ns();
	ipc_msg_init(&front_msg, AUTHPROTO_T_ADMIT);
	if (ipc_put_str(&front_msg, AUTHPROTO_ADDR, f->addr) < 0 ||
	    ipc_put_u32(&front_msg, AUTHPROTO_PORT, (uint32_t)f->port) < 0 ||
	    ipc_put_u64(&front_msg, AUTHPROTO_TS, f->ts) < 0 ||
	    authlink_event(&front_msg) < 0) {
		/* the link is down: what waited on it is lost too */
		idled_front_fail_all("link down");
		front_open(f, "link down");
		return;
	}
	idled_authd_watch();
	front_push(f, FRONT_W_ADMIT);
}

/* front_proxied - the service's PROXY header, if it takes one, is read
 * (f->addr and f->port are the real client's now): admission next */
static void
front_proxied(const char *err, void *ctx)
{
	struct ifront *f = ctx;

	if (err != NULL) {
		log_info("refused addr=%s limit=proxy_protocol reason=\"%s\"",
		    f->addr, err);
		front_close(f, NULL);
		return;
	}
	/* plaintext logins from this machine, where configured */
	if (cfg_bool("allowplaintext_loopback") && ipnet_loopback(f->addr))
		f->secure = 1;
	front_admit(f);
}

void
idled_front_take(const struct ipc_msg *m)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ifront *f;
	int fd = m->fd;

	f = xcalloc(1, sizeof(*f));
	f->fd = fd;
	if (ipc_get_str(m, IDLEPROTO_HANDOFF, f->handoff, sizeof(f->handoff)) <
		0 ||
	    f->handoff[0] != '/' ||
	    ipc_get_str(m, IDLEPROTO_SERVICE, f->service, sizeof(f->service)) <
		0) {
		log_warn("malformed front message; closing its client");
		front_close(f, NULL);
		return;
	}
	if (net_set_nonblock(fd, 1) < 0) {
		log_warn("front: client socket: %m");
		front_close(f, NULL);
		return;
	}
	net_peer(fd, f->addr, sizeof(f->addr), &f->port);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    ss.ss_family == AF_UNIX)
		f->secure = 1;
	f->wait = FRONT_W_PROXY;
	/* may call front_proxied at once */
	proxyp_ev_accept(fd, f->service, f->addr, sizeof(f->addr), &f->port,
	    front_proxied, f);
}

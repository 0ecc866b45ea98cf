/*
 * tlsd_conn - client connections: accept on the implicit-TLS listener,
 * the TLS handshake, the end of a connection (tarpit, linger, close).
 *
 * Accepting stops while the process holds as many connections as half
 * its descriptor limit allows (each costs the TCP fd and, once handed
 * off, a socketpair end); master's other tlsd processes take the clients
 * meanwhile, and this one reports itself busy.  When every one is full
 * a new client waits in the listen backlog, unanswered and costing
 * nothing, until a connection ends (master says maxchild is reached).
 * Being full is logged once, and while connections come and go at the
 * limit at most once a minute, with how often it was reached: not a line
 * per client.
 *
 * Every failure of a connection is logged once, at its close, with the
 * address and the reason OpenSSL gave ("no shared cipher", "wrong
 * version number", "unexpected eof while reading"); nothing of it lasts.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "authlink.h"
#include "cfg.h"
#include "log.h"
#include "net.h"
#include "proxyp.h"
#include "srv.h"
#include "tlsd.h"
#include "xalloc.h"

#define CONN_ACCEPT_BATCH 64
#define CONN_RESERVE_FDS 64 /* listeners, authd, handoff connects */
#define CONN_PAUSE_MS 100   /* after EMFILE */
#define CONN_LINGER_MS 1000
#define CONN_TARPIT_MAX 1000
#define CONN_FULL_LOG_MS 60000

static size_t conn_n, conn_max, conn_tarpits;
static int conn_lfd = -1, conn_full;
static long long conn_full_logged_ms; /* 0: never */
static unsigned conn_full_hits;	      /* since that line */
static struct ev_io conn_lio;
static struct ev_timer conn_pause;

size_t
tlsd_conn_count(void)
{
	return conn_n;
}

int
tlsd_conn_room(void)
{
	return conn_n < conn_max;
}

/* conn_limits - connections we may hold: half the descriptors master
 * gave us (master.conf maxfds=), less a reserve.  The reserve is kept
 * whatever the limit: a small maxfds means few connections, never more
 * than the descriptors allow (accept would fail with EMFILE) */
static void
conn_limits(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		rl.rlim_cur = 2 * CONN_RESERVE_FDS;
	if (rl.rlim_cur > 1000000)
		rl.rlim_cur = 1000000;
	conn_max = rl.rlim_cur >= CONN_RESERVE_FDS + 4
	    ? ((size_t)rl.rlim_cur - CONN_RESERVE_FDS) / 2
	    : 1;
	log_info("connections limited by open files: %zu", conn_max);
}

/* conn_keepalive - find dead clients in minutes (tcp_keepalive_*); no
 * Nagle */
static void
conn_keepalive(int fd)
{
	int on = 1;

	net_keepalive(fd);
	/* every TLS record leaves at once: with Nagle the greeting waited
	 * behind the session tickets for the client's delayed ACK (40 ms
	 * after each full handshake) */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* conn_full_log - the process is full: one line, then at most one a
 * minute saying how often */
static void
conn_full_log(void)
{
	long long now = ev_now_ms();
	char hits[64] = "";

	conn_full_hits++;
	if (conn_full_logged_ms != 0 &&
	    now - conn_full_logged_ms < CONN_FULL_LOG_MS)
		return;
	if (conn_full_hits > 1)
		(void)snprintf(hits, sizeof(hits),
		    " (reached %u times since the last such line)",
		    conn_full_hits);
	log_warn("holding %zu connections, the most open files allow "
		 "limit=maxfds; new clients wait for another tlsd or a free "
		 "slot%s",
	    conn_n, hits);
	conn_full_logged_ms = now;
	conn_full_hits = 0;
}

/* conn_listen_set - accept or not, and tell master */
static void
conn_listen_set(int on)
{
	if (conn_lfd < 0 || on == !conn_full)
		return;
	conn_full = !on;
	if (ev_io_mod(&conn_lio, on ? EV_READ : 0) < 0)
		log_error("listener: epoll: %m");
	srv_status_send(on ? SRV_S_READY : SRV_S_BUSY);
	if (!on)
		conn_full_log();
}

/* conn_make - a connection for fd; its TCP options set unless it
 * inherited them from our listener */
static struct tconn *
conn_make(int fd, const char *addr, int port, int inherited)
{
	struct tconn *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->pfd = -1;
	c->io.fd = c->pio.fd = -1;
	c->port = port;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->handoff = tlsd_handoff_intern(NULL);
	conn_n++;
	if (!inherited)
		conn_keepalive(fd);
	if (!tlsd_conn_room())
		conn_listen_set(0);
	return c;
}

struct tconn *
tlsd_conn_new(int fd, const char *addr, int port)
{
	return conn_make(fd, addr, port, 0);
}

void
tlsd_conn_close(struct tconn *c, const char *why)
{
	if (why != NULL)
		log_info("tls closed addr=%s port=%d reason=\"%s\"", c->addr,
		    c->port, why);
	tlsd_handoff_forget(c);
	ev_io_del(&c->io);
	ev_io_del(&c->pio);
	ev_timer_del(&c->timer);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	if (c->pfd >= 0)
		close(c->pfd);
	c->fd = c->pfd = -1;
	/* held since admission (or STARTTLS) until imapd took it */
	if (c->conn_id != 0)
		authlink_closed(c->conn_id);
	if (c->state == TC_TARPIT)
		conn_tarpits--;
	conn_n--;
	ev_defer_free(c);
	if (tlsd_conn_room())
		conn_listen_set(1);
}

/* conn_timeout - the handshake, the linger or the tarpit is over */
static void
conn_timeout(struct ev_timer *t, void *ctx)
{
	struct tconn *c = ctx;

	log_set_session(c->sid);
	if (c->state == TC_HANDSHAKE) {
		log_info("TLS handshake timed out addr=%s port=%d "
			 "limit=tls_handshake_timeout:%llds",
		    c->addr, c->port,
		    cfg_duration_ms("tls_handshake_timeout") / 1000);
		tlsd_conn_close(c, NULL);
		return;
	}
	tlsd_conn_close(c, NULL);
}

void
tlsd_conn_tarpit(struct tconn *c, long long delay_ms)
{
	if (delay_ms <= 0 || conn_tarpits >= CONN_TARPIT_MAX) {
		tlsd_conn_close(c, NULL);
		return;
	}
	c->state = TC_TARPIT;
	conn_tarpits++;
	ev_timer_add(&c->timer, delay_ms, conn_timeout, c);
}

/* conn_hs_reason - why a handshake failed, in OpenSSL's words */
static const char *
conn_hs_reason(struct tconn *c, int err)
{
	if (err == SSL_ERROR_ZERO_RETURN)
		return "client closed the connection";
	if (err == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0)
		return errno != 0 && errno != EAGAIN
		    ? strerror(errno)
		    : "client closed the connection";
	return tlsd_ctx_reason("protocol error");
}

/* conn_facts - log the session's TLS facts */
static void
conn_facts(struct tconn *c)
{
	const char *sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
	X509 *peer = SSL_get0_peer_certificate(c->ssl);
	char subject[256] = "";

	if (peer != NULL)
		X509_NAME_oneline(X509_get_subject_name(peer), subject,
		    sizeof(subject));
	log_info("tls addr=%s port=%d version=%s cipher=%s sni=%s "
		 "resumed=%s starttls=%s peer=\"%s\"",
	    c->addr, c->port, SSL_get_version(c->ssl),
	    SSL_get_cipher_name(c->ssl), sni ? sni : "-",
	    SSL_session_reused(c->ssl) ? "yes" : "no",
	    c->starttls ? "yes" : "no", subject);
}

static void
conn_hs_io(struct ev_io *io, unsigned events, void *ctx)
{
	tlsd_conn_handshake(ctx);
}

/* conn_hs_start - the SSL object and the deadline; -1 closed */
static int
conn_hs_start(struct tconn *c)
{
	c->ssl = SSL_new(tlsd_ctx_default());
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		log_error("cannot make a TLS connection: %s",
		    tlsd_ctx_reason("SSL_new failed"));
		tlsd_conn_close(c, NULL);
		return -1;
	}
	SSL_set_app_data(c->ssl, c);
	SSL_set_accept_state(c->ssl);
	c->state = TC_HANDSHAKE;
	ev_timer_add(&c->timer, cfg_duration_ms("tls_handshake_timeout"),
	    conn_timeout, c);
	if (ev_io_add(&c->io, c->fd, EV_READ, conn_hs_io, c) < 0) {
		log_error("epoll: %m");
		tlsd_conn_close(c, NULL);
		return -1;
	}
	return 0;
}

void
tlsd_conn_handshake(struct tconn *c)
{
	int r, err;

	if (c->conn_id != 0)
		c->sid = c->conn_id;
	log_set_session(c->sid);
	if (c->ssl == NULL && conn_hs_start(c) < 0)
		return;
	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		ev_timer_del(&c->timer);
		conn_facts(c);
		tlsd_handoff_send(c);
		return;
	}
	err = SSL_get_error(c->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		if (ev_io_mod(&c->io,
			err == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE) < 0)
			tlsd_conn_close(c, "epoll failed");
		return;
	}
	log_info("TLS handshake failed addr=%s port=%d reason=\"%s\"", c->addr,
	    c->port, conn_hs_reason(c, err));
	tlsd_conn_close(c, NULL);
}

/* conn_linger_io - drain what the client still sends, unread */
static void
conn_linger_io(struct ev_io *io, unsigned events, void *ctx)
{
	struct tconn *c = ctx;
	char buf[4096];
	ssize_t n;

	log_set_session(c->sid);
	while ((n = read(c->fd, buf, sizeof(buf))) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		tlsd_conn_close(c, NULL);
}

/* tlsd_conn_linger - the session ended on imapd's side: close_notify,
 * FIN, and a moment for the client's last bytes */
void
tlsd_conn_linger(struct tconn *c)
{
	ERR_clear_error();
	if (c->ssl != NULL)
		SSL_shutdown(c->ssl);
	ERR_clear_error();
	ev_io_del(&c->pio);
	if (c->pfd >= 0)
		close(c->pfd);
	c->pfd = -1;
	if (shutdown(c->fd, SHUT_WR) < 0) {
		tlsd_conn_close(c, NULL);
		return;
	}
	c->state = TC_LINGER;
	ev_io_del(&c->io);
	if (ev_io_add(&c->io, c->fd, EV_READ, conn_linger_io, c) < 0) {
		tlsd_conn_close(c, NULL);
		return;
	}
	ev_timer_add(&c->timer, CONN_LINGER_MS, conn_timeout, c);
}

/* conn_proxied - the service's PROXY header, if it takes one, is read
 * (c->addr and c->port are the real client's now): admission next */
static void
conn_proxied(const char *err, void *ctx)
{
	struct tconn *c = ctx;

	if (err == NULL) {
		tlsd_admit_ask(c);
		return;
	}
	log_info("refused addr=%s limit=proxy_protocol reason=\"%s\"", c->addr,
	    err);
	tlsd_conn_close(c, NULL);
}

/*
 * tlsd_conn_accepted - a new implicit-TLS client, before anything is
 * read from it: the one place where what comes before the handshake
 * goes: behind a load balancer the PROXY header (proxy_protocol), then
 * admission, both before any TLS work.
 */
static void
tlsd_conn_accepted(struct tconn *c)
{
	proxyp_ev_accept(c->fd, srv_service_name(), c->addr, sizeof(c->addr),
	    &c->port, conn_proxied, c);
}

static void
conn_resume(struct ev_timer *t, void *ctx)
{
	if (tlsd_conn_room() && ev_io_mod(&conn_lio, EV_READ) < 0)
		log_error("listener: epoll: %m");
}

/* conn_accept - take the clients waiting on the listener */
static void
conn_accept(struct ev_io *io, unsigned events, void *ctx)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char addr[64];
	int fd, port, i;

	for (i = 0; i < CONN_ACCEPT_BATCH && tlsd_conn_room(); i++) {
		sl = sizeof(ss);
		fd = accept4(conn_lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				log_warn("accept: %m; pausing");
				if (ev_io_mod(&conn_lio, 0) < 0)
					log_error("listener: epoll: %m");
				ev_timer_add(&conn_pause, CONN_PAUSE_MS,
				    conn_resume, NULL);
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_error("accept: %m");
			return;
		}
		net_addr_str((struct sockaddr *)&ss, addr, sizeof(addr), &port);
		tlsd_conn_accepted(conn_make(fd, addr, port, 1));
	}
}

void
tlsd_conn_listen(int lfd)
{
	conn_limits();
	if (lfd < 0)
		return;
	conn_lfd = lfd;
	/* accepted sockets inherit keep-alive and TCP_NODELAY from the
	 * listener (Linux copies them): five system calls less a client */
	conn_keepalive(lfd);
	if (net_set_nonblock(lfd, 1) < 0 ||
	    ev_io_add(&conn_lio, lfd, EV_READ, conn_accept, NULL) < 0)
		log_fatal("listener: %m");
}

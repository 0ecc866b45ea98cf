/*
 * tlsd_relay - bytes between a client's SSL object and our end of its
 * socketpair, both ways, non-blocking, without a buffer of our own.
 *
 * Up (client -> imapd): SSL_peek into a scratch buffer shared by every
 * connection, write what the socketpair takes, then SSL_read exactly
 * that much (already decrypted: no I/O).  What imapd has not taken stays
 * in OpenSSL's record buffer until it does.
 * Down (imapd -> client): recv(MSG_PEEK) from the socketpair, SSL_write
 * it, then consume what OpenSSL took.  When SSL_write must be retried
 * (WANT_WRITE), the bytes are still in the socket: the retry peeks the
 * same ones again (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
 * So an idle connection owns no buffer at all, and with
 * SSL_MODE_RELEASE_BUFFERS OpenSSL frees its own.
 *
 * Each direction records what it waits for (enum tconn_wait); the two
 * descriptors are watched for the union.  An event runs the directions
 * that wait for it (a bounded number of steps each), not the other: an
 * EXISTS to a parked client is one recv(MSG_PEEK), one SSL_write and one
 * recv, with no read of the idle client socket, whose attempt cost a
 * syscall and OpenSSL a read buffer allocated and released again.  A
 * peek that returned less than asked for drained the socketpair: epoll
 * reports the next bytes, no further recv is tried.
 *
 * Renegotiation is refused by OpenSSL (SSL_OP_NO_RENEGOTIATION); the
 * info callback logs the attempt once per connection.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "tlsd.h"

#define RELAY_STEPS 16	  /* records per direction per event */
#define RELAY_CHUNK 16384 /* one TLS record's worth */

static unsigned char relay_buf[RELAY_CHUNK];

/* relay_lost - the TLS side failed or ended: close, saying why */
static int
relay_lost(struct tconn *c, int err)
{
	const char *why = NULL;

	if (err == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0) {
		if (errno != 0 && errno != EAGAIN)
			why = strerror(errno);
		else
			why = "client closed the connection";
	} else if (err != SSL_ERROR_ZERO_RETURN) {
		why = tlsd_ctx_reason("protocol error");
	}
	ERR_clear_error();
	tlsd_conn_close(c, why);
	return -1;
}

/* relay_up - client to imapd; -1 when c is gone */
static int
relay_up(struct tconn *c)
{
	int n, err, i;
	ssize_t w;

	for (i = 0; i < RELAY_STEPS; i++) {
		ERR_clear_error();
		errno = 0;
		n = SSL_peek(c->ssl, relay_buf, sizeof(relay_buf));
		if (n <= 0) {
			err = SSL_get_error(c->ssl, n);
			if (err == SSL_ERROR_WANT_READ) {
				c->up_wait = TW_TCP_READ;
				return 0;
			}
			if (err == SSL_ERROR_WANT_WRITE) {
				c->up_wait = TW_TCP_WRITE;
				return 0;
			}
			return relay_lost(c, err);
		}
		w = send(c->pfd, relay_buf, (size_t)n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			c->up_wait = TW_PLAIN_WRITE;
			return 0;
		}
		if (w <= 0) {
			/* the session's process is gone */
			tlsd_conn_close(c, NULL);
			return -1;
		}
		if (SSL_read(c->ssl, relay_buf, (int)w) != (int)w) {
			tlsd_conn_close(c, "lost decrypted bytes");
			return -1;
		}
	}
	c->up_wait = TW_TCP_READ;
	return 0;
}

/* relay_down - imapd to client; -1 when c is gone or lingers */
static int
relay_down(struct tconn *c)
{
	size_t want;
	ssize_t n;
	int r, err, i;

	for (i = 0; i < RELAY_STEPS; i++) {
		want = c->wpend ? c->wpend : sizeof(relay_buf);
		n = recv(c->pfd, relay_buf, want, MSG_PEEK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && c->wpend == 0) {
			c->down_wait = TW_PLAIN_READ;
			return 0;
		}
		if (n == 0 || (n < 0 && c->wpend == 0)) {
			/* the session ended (LOGOUT, BYE, a worker gone) */
			tlsd_conn_linger(c);
			return -1;
		}
		if (n < (ssize_t)c->wpend) {
			tlsd_conn_close(c, "lost bytes of a retried write");
			return -1;
		}
		ERR_clear_error();
		errno = 0;
		r = SSL_write(c->ssl, relay_buf, (int)n);
		if (r <= 0) {
			err = SSL_get_error(c->ssl, r);
			if (err == SSL_ERROR_WANT_WRITE ||
			    err == SSL_ERROR_WANT_READ) {
				c->wpend = (uint16_t)n;
				c->down_wait = err == SSL_ERROR_WANT_WRITE
				    ? TW_TCP_WRITE
				    : TW_TCP_READ;
				return 0;
			}
			return relay_lost(c, err);
		}
		c->wpend = 0;
		if (recv(c->pfd, relay_buf, (size_t)r, 0) != (ssize_t)r) {
			tlsd_conn_close(c, "socketpair read failed");
			return -1;
		}
		if ((size_t)n < want)
			break; /* drained */
	}
	c->down_wait = TW_PLAIN_READ;
	return 0;
}

/* relay_watch - watch both descriptors for what the directions wait
 * for; 0, or -1 when c is gone */
static int
relay_watch(struct tconn *c, struct ev_io *io, unsigned events)
{
	unsigned t = 0, p = 0;

	if (c->up_wait == TW_TCP_READ || c->down_wait == TW_TCP_READ)
		t |= EV_READ;
	if (c->up_wait == TW_TCP_WRITE || c->down_wait == TW_TCP_WRITE)
		t |= EV_WRITE;
	if (c->down_wait == TW_PLAIN_READ)
		p |= EV_READ;
	if (c->up_wait == TW_PLAIN_WRITE)
		p |= EV_WRITE;
	/*
	 * A hang-up is reported whatever we watch for: one on a side we do
	 * not read from now (the client left while imapd does not read,
	 * imapd left while the client does not) would come back at every
	 * turn of the loop.  Nothing more can be delivered: close.
	 */
	if ((events & EV_HUP) &&
	    ((io == &c->io && !(t & EV_READ)) ||
		(io == &c->pio && !(p & EV_READ)))) {
		tlsd_conn_close(c,
		    io == &c->io ? "client left while the "
				   "session was not reading"
				 : NULL);
		return -1;
	}
	if (ev_io_mod(&c->io, t) < 0 || ev_io_mod(&c->pio, p) < 0) {
		tlsd_conn_close(c, "epoll failed");
		return -1;
	}
	return 0;
}

static void
relay_io(struct ev_io *io, unsigned events, void *ctx)
{
	struct tconn *c = ctx;

	log_set_session(c->sid);
	if (c->state != TC_RELAY)
		return;
	/* events 0: the start, both directions */
	if ((events == 0 || io == &c->io || c->up_wait != TW_TCP_READ) &&
	    relay_up(c) < 0)
		return;
	if ((events == 0 || io == &c->pio || c->down_wait != TW_PLAIN_READ) &&
	    relay_down(c) < 0)
		return;
	relay_watch(c, io, events);
}

void
tlsd_relay_start(struct tconn *c)
{
	c->state = TC_RELAY;
	c->up_wait = TW_TCP_READ;
	c->down_wait = TW_PLAIN_READ;
	if (ev_io_add(&c->io, c->fd, EV_READ, relay_io, c) < 0 ||
	    ev_io_add(&c->pio, c->pfd, EV_READ, relay_io, c) < 0) {
		log_error("epoll: %m");
		tlsd_conn_close(c, NULL);
		return;
	}
	relay_io(&c->io, 0, c);
}

void
tlsd_relay_info(const SSL *ssl, int where, int ret)
{
	struct tconn *c;

	if (!(where & SSL_CB_WRITE) || !(where & SSL_CB_ALERT) ||
	    (ret & 0xff) != SSL_AD_NO_RENEGOTIATION)
		return;
	c = SSL_get_app_data(ssl);
	if (c == NULL || c->renego_logged)
		return;
	c->renego_logged = 1;
	log_info("TLS renegotiation refused addr=%s port=%d", c->addr, c->port);
}

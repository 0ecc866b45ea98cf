/*
 * tlsd_handoff - sessions in and out of tlsd.
 *
 * Out: a connection whose handshake is done gets a socketpair; one end
 * goes to a free imapd through the service's handoff socket (connect,
 * one NEW message with the fd and the TLS facts, close), the other is
 * relayed.  The connection's authd id goes with it: the imapd holds it,
 * we release it.  When every worker is busy and the backlog is full
 * (connect says EAGAIN), sessions wait in a FIFO retried every few
 * milliseconds while master grows the pool, as idled's wake-ups do.
 *
 * In: imapd passes a client that said STARTTLS (after "OK Begin TLS
 * negotiation now") on tlsd_socket, the handoff listener master gave
 * this service: one STARTTLS message with the client's fd, answered by
 * TAKEN.  Its handshake then runs here, without a second admission, and
 * the session goes back to the handoff socket it names.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "authlink.h"
#include "cfg.h"
#include "fd.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "tlsd.h"
#include "tlsproto.h"
#include "xalloc.h"

#define HANDOFF_RETRY_MS 5
#define HANDOFF_CTL_TIMEOUT_MS 5000
#define HANDOFF_MAX_PATHS 64

/* a connection from an imapd bringing a STARTTLS client */
struct hctl {
	int fd;
	struct ev_io io;
	struct ev_timer timer;
};

static const char *ho_default;
static char *ho_paths[HANDOFF_MAX_PATHS];
static size_t ho_npaths;
static struct tconn *ho_head, *ho_tail;
static struct ev_timer ho_timer;
static struct ev_io ho_sio;
static int ho_sfd = -1;
static struct ipc_msg ho_msg;

const char *
tlsd_handoff_intern(const char *path)
{
	size_t i;

	if (path == NULL)
		return ho_default;
	for (i = 0; i < ho_npaths; i++)
		if (strcmp(ho_paths[i], path) == 0)
			return ho_paths[i];
	if (ho_npaths == HANDOFF_MAX_PATHS)
		return NULL;
	ho_paths[ho_npaths] = xstrdup(path);
	return ho_paths[ho_npaths++];
}

void
tlsd_handoff_set_default(const char *path)
{
	ho_default = tlsd_handoff_intern(path);
}

/* ho_connect - a connection to path; -1 (errno) */
static int
ho_connect(const char *path)
{
	struct sockaddr_un sun;
	size_t len = strlen(path);
	int c, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (len >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, len);
	c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c < 0)
		return -1;
	if (connect(c, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		e = errno;
		fd_close(c);
		errno = e;
		return -1;
	}
	return c;
}

/* ho_message - the NEW message for c, with fd */
static int
ho_message(struct tconn *c, int fd)
{
	const char *sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
	X509 *peer = SSL_get0_peer_certificate(c->ssl);
	char subject[TLSPROTO_MAX_NAME] = "";

	if (peer != NULL)
		X509_NAME_oneline(X509_get_subject_name(peer), subject,
		    sizeof(subject));
	ipc_msg_init(&ho_msg, TLSPROTO_T_NEW);
	ho_msg.fd = fd;
	if (ipc_put_str(&ho_msg, TLSPROTO_ADDR, c->addr) < 0 ||
	    ipc_put_u32(&ho_msg, TLSPROTO_PORT, (uint32_t)c->port) < 0 ||
	    ipc_put_u64(&ho_msg, TLSPROTO_CONNID, c->conn_id) < 0 ||
	    ipc_put_u32(&ho_msg, TLSPROTO_FAILED, c->failed) < 0 ||
	    ipc_put_str(&ho_msg, TLSPROTO_VERSION, SSL_get_version(c->ssl)) <
		0 ||
	    ipc_put_str(&ho_msg, TLSPROTO_CIPHER, SSL_get_cipher_name(c->ssl)) <
		0 ||
	    (sni != NULL && strlen(sni) < TLSPROTO_MAX_NAME &&
		ipc_put_str(&ho_msg, TLSPROTO_SNI, sni) < 0) ||
	    (subject[0] != '\0' &&
		ipc_put_str(&ho_msg, TLSPROTO_PEER, subject) < 0) ||
	    (c->starttls && ipc_put_u32(&ho_msg, TLSPROTO_STARTTLS, 1) < 0))
		return -1;
	return 0;
}

/* ho_try - hand c over now: 0 done or failed (c relays or is closed),
 * 1 try later */
static int
ho_try(struct tconn *c)
{
	int sp[2], s, r;

	if (c->handoff == NULL) {
		tlsd_conn_close(c, "no handoff socket to deliver to");
		return 0;
	}
	if ((s = ho_connect(c->handoff)) < 0 && errno == EAGAIN)
		return 1;
	if (s < 0) {
		log_error("handoff to %s failed: %m addr=%s", c->handoff,
		    c->addr);
		tlsd_conn_close(c, NULL);
		return 0;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		log_error("socketpair: %m");
		fd_close(s);
		tlsd_conn_close(c, NULL);
		return 0;
	}
	r = ho_message(c, sp[1]) < 0 ? -1 : ipc_send(s, &ho_msg);
	if (r < 0)
		log_error("handoff to %s failed: %m addr=%s", c->handoff,
		    c->addr);
	fd_close(s);
	fd_close(sp[1]);
	if (r < 0) {
		fd_close(sp[0]);
		tlsd_conn_close(c, NULL);
		return 0;
	}
	/* the worker that takes it holds it from now on */
	authlink_release(c->conn_id);
	c->conn_id = 0;
	c->pfd = sp[0];
	(void)!net_set_nonblock(c->pfd, 1); /* a new socketpair: cannot fail */
	tlsd_relay_start(c);
	return 0;
}

/* ho_retry - hand on queued sessions until the backlog is full */
static void
ho_retry(struct ev_timer *t, void *ctx)
{
	struct tconn *c;

	while ((c = ho_head) != NULL) {
		ho_head = c->qnext;
		if (ho_head == NULL)
			ho_tail = NULL;
		c->qnext = NULL;
		if (ho_try(c) == 1) {
			c->qnext = ho_head;
			ho_head = c;
			if (ho_tail == NULL)
				ho_tail = c;
			break;
		}
	}
	if (ho_head != NULL)
		ev_timer_add(&ho_timer, HANDOFF_RETRY_MS, ho_retry, NULL);
}

void
tlsd_handoff_send(struct tconn *c)
{
	/* nothing is read from the client until a worker has it */
	ev_io_del(&c->io);
	if (ho_head == NULL && ho_try(c) == 0)
		return;
	c->state = TC_QUEUED;
	c->qnext = NULL;
	if (ho_tail != NULL)
		ho_tail->qnext = c;
	else
		ho_head = c;
	ho_tail = c;
	if (!ev_timer_armed(&ho_timer))
		ev_timer_add(&ho_timer, HANDOFF_RETRY_MS, ho_retry, NULL);
}

void
tlsd_handoff_forget(struct tconn *c)
{
	struct tconn **pp, *prev = NULL;

	if (c->state != TC_QUEUED)
		return;
	for (pp = &ho_head; *pp != NULL; prev = *pp, pp = &(*pp)->qnext)
		if (*pp == c) {
			*pp = c->qnext;
			if (ho_tail == c)
				ho_tail = prev;
			break;
		}
	c->qnext = NULL;
}

static void
ho_ctl_close(struct hctl *h)
{
	ev_io_del(&h->io);
	ev_timer_del(&h->timer);
	fd_close(h->fd);
	ev_defer_free(h);
}

/* ho_ctl_take - a STARTTLS message: the client becomes ours; -1 bad */
static int
ho_ctl_take(struct hctl *h, struct ipc_msg *m)
{
	char addr[64], handoff[TLSPROTO_MAX_NAME];
	uint32_t port = 0, failed = 0;
	uint64_t id = 0;
	struct tconn *c;
	struct ipc_msg *ack;
	int fd = m->fd;

	if (m->type != TLSPROTO_T_STARTTLS || m->fd < 0 ||
	    ipc_get_str(m, TLSPROTO_ADDR, addr, sizeof(addr)) < 0 ||
	    ipc_get_u32(m, TLSPROTO_PORT, &port) < 0 ||
	    ipc_get_u64(m, TLSPROTO_CONNID, &id) < 0 ||
	    ipc_get_str(m, TLSPROTO_HANDOFF, handoff, sizeof(handoff)) < 0) {
		log_warn("malformed STARTTLS message from a worker dropped");
		return -1;
	}
	ipc_get_u32(m, TLSPROTO_FAILED, &failed);
	if (!tlsd_conn_room() || tlsd_handoff_intern(handoff) == NULL) {
		log_warn("STARTTLS refused: no room addr=%s limit=maxfds",
		    addr);
		return -1;
	}
	/* m is ho_msg: the answer reuses it */
	m->fd = -1;
	ack = m;
	ipc_msg_init(ack, TLSPROTO_T_TAKEN);
	if (ipc_send(h->fd, ack) < 0) {
		fd_close(fd);
		return -1;
	}
	(void)!net_set_nonblock(fd, 1); /* an fd just received: cannot fail */
	c = tlsd_conn_new(fd, addr, (int)port);
	c->starttls = 1;
	c->failed = failed;
	c->conn_id = id;
	c->handoff = tlsd_handoff_intern(handoff);
	authlink_hold(id, addr, ""); /* ours until a worker takes it */
	tlsd_conn_handshake(c);
	return 0;
}

static void
ho_ctl_io(struct ev_io *io, unsigned events, void *ctx)
{
	struct hctl *h = ctx;
	int r = ipc_recv(h->fd, &ho_msg);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r > 0) {
		ho_ctl_take(h, &ho_msg);
		if (ho_msg.fd >= 0)
			fd_close(ho_msg.fd);
	}
	ho_ctl_close(h);
}

static void
ho_ctl_timeout(struct ev_timer *t, void *ctx)
{
	log_warn("a worker connected for STARTTLS and sent nothing");
	ho_ctl_close(ctx);
}

static void
ho_accept(struct ev_io *io, unsigned events, void *ctx)
{
	struct hctl *h;
	int fd, i;

	for (i = 0; i < 64; i++) {
		fd = accept4(ho_sfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_error("accept on the STARTTLS socket: %m");
			return;
		}
		h = xcalloc(1, sizeof(*h));
		h->fd = fd;
		if (ev_io_add(&h->io, fd, EV_READ, ho_ctl_io, h) < 0) {
			fd_close(fd);
			free(h);
			continue;
		}
		ev_timer_add(&h->timer, HANDOFF_CTL_TIMEOUT_MS, ho_ctl_timeout,
		    h);
	}
}

void
tlsd_starttls_listen(int sfd)
{
	ho_sfd = sfd;
	if (net_set_nonblock(sfd, 1) < 0 ||
	    ev_io_add(&ho_sio, sfd, EV_READ, ho_accept, NULL) < 0)
		log_fatal("STARTTLS socket: %m");
}

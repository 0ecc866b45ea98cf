/*
 * io - buffered, deadline-bound socket I/O for one session.
 *
 * Output waits in s->out until io_flush, which first makes durable what
 * the session committed under a deferred flush (store_defer_flush):
 * nothing it answered goes out before the flush that makes it true.
 * Pipelined commands (a client that sent the next ones without waiting
 * for the answers) are run while their input is at hand, their answers
 * kept, and flushed together: one fdatasync for the group (io_defer).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authlink.h"
#include "clock.h"
#include "imapd.h"
#include "ipc.h"
#include "log.h"
#include "srv.h"

#define IO_WRITE_TIMEOUT_MS 60000
#define IO_FLUSH_AT (256 * 1024)
#define IO_LINGER_MS 1000
#define IO_LINGER_MAX (1024 * 1024)
/* inflated bytes per read: a small input cannot make a huge one at once */
#define IO_INFLATE_MAX (64 * 1024)
/* commands answered after one deferred flush at most: bounds how long
 * the first of them waits for its answer */
#define IO_DEFER_MAX 64

void
io_put(struct imap_session *s, const char *p, size_t len)
{
	buf_append(&s->out, p, len);
	if (s->out.len >= IO_FLUSH_AT)
		io_flush(s);
}

void
io_printf(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	if (s->out.len >= IO_FLUSH_AT)
		io_flush(s);
}

/* io_input_ready - input at hand: bytes not yet fed, or readable now */
static int
io_input_ready(struct imap_session *s)
{
	struct pollfd pfd = { s->fd, POLLIN, 0 };

	if (s->in.len > 0 || compress_more(s))
		return 1;
	return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN) != 0;
}

int
io_defer(struct imap_session *s)
{
	return !s->dead && store_flush_pending(s->st) &&
	    s->deferred < IO_DEFER_MAX && io_input_ready(s);
}

/*
 * io_commit - the deferred flush, before any output: on failure what
 * the session answered meanwhile is dropped unsent and the session
 * ends (its commits are not known durable, so none may be acknowledged)
 */
static int
io_commit(struct imap_session *s)
{
	static const char bye[] = "* BYE [UNAVAILABLE] Mail store failure; "
				  "commands since the last answer may be "
				  "lost\r\n";
	unsigned n = s->deferred;
	const char *err = NULL;

	s->deferred = 0;
	if (store_flush(s->st, &err) == 0) {
		if (n > 1)
			log_info("group commit user=%s addr=%s commands=%u",
			    s->user[0] ? s->user : "-", s->addr, n);
		return 0;
	}
	log_error("flush failed user=%s addr=%s commands=%u: %s; answers "
		  "dropped, session ended",
	    s->user[0] ? s->user : "-", s->addr, n, err);
	buf_reset(&s->out);
	buf_append(&s->out, bye, sizeof(bye) - 1);
	s->state = IMAP_S_LOGOUT;
	return -1;
}

int
io_flush(struct imap_session *s)
{
	struct pollfd pfd = { s->fd, POLLOUT, 0 };
	const char *data;
	size_t off = 0, len;
	ssize_t n;
	int lost = 0;

	/* on failure s->out is the BYE alone */
	if (store_flush_pending(s->st) && io_commit(s) < 0)
		lost = 1;
	data = s->out.data;
	len = s->out.len;

	/* COMPRESS=DEFLATE: what goes out is the deflated form */
	if (s->z != NULL && len > 0 && !s->dead &&
	    compress_deflate(s, s->out.data, s->out.len, &data, &len) < 0) {
		log_error("deflate failed user=%s addr=%s",
		    s->user[0] ? s->user : "-", s->addr);
		s->dead = 1;
	}
	while (off < len && !s->dead) {
		n = write(s->fd, data + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			if (alarm(0) > 0) /* progress: re-arm */
				alarm(IMAPD_WATCHDOG_S);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN &&
		    poll(&pfd, 1, IO_WRITE_TIMEOUT_MS) > 0)
			continue;
		log_info("write failed user=%s addr=%s: %s",
		    s->user[0] ? s->user : "-", s->addr,
		    n < 0 ? strerror(errno) : "timeout");
		s->dead = 1;
	}
	buf_reset(&s->out);
	return s->dead || lost ? -1 : 0;
}

/* io_read_z - inflate what came (raw[0..n)) or is held; 0 when there
 * is new input, 1 when the client must send more, -1 broken */
static int
io_read_z(struct imap_session *s, const char *raw, size_t n)
{
	size_t before = s->in.len;

	if (compress_inflate(s, raw, n, IO_INFLATE_MAX) < 0)
		return -1;
	return s->in.len > before ? 0 : 1;
}

/* io_kicked - authd said berthctl kicked this session: say BYE, end it */
static int
io_kicked(struct imap_session *s)
{
	static const char bye[] = "* BYE [UNAVAILABLE] Disconnected by the "
				  "administrator\r\n";

	if (s->conn_id == 0 || !authlink_kicked(s->conn_id))
		return 0;
	log_info("kicked user=%s addr=%s", s->user[0] ? s->user : "-", s->addr);
	io_put(s, bye, sizeof(bye) - 1);
	io_flush(s); /* deflated under COMPRESS */
	s->dead = 1;
	s->state = IMAP_S_LOGOUT;
	errno = ECONNABORTED;
	return 1;
}

#define IO_RELINK_MS 1000 /* a dropped link to authd tried again */

/* io_backlog_fds - this worker's listeners (TCP, handoff) in pfd[0..);
 * how many */
static int
io_backlog_fds(struct pollfd *pfd)
{
	const char *path;
	int n = 0;

	if ((pfd[n].fd = srv_listen_fd()) >= 0)
		n++;
	if ((pfd[n].fd = srv_handoff_fd(&path)) >= 0)
		n++;
	for (int i = 0; i < n; i++) {
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	return n;
}

/*
 * io_wait - until the client has input (1), the time is up (0), the
 * session was kicked (-1), or, with press, a client or resumed session
 * waits on this worker's listeners (2); the link to authd is watched
 * meanwhile, for berthctl kick.  One blocking poll whatever it waits
 * for: a waiting worker costs no wake-ups.
 */
static int
io_wait(struct imap_session *s, long long timeout_ms, int press)
{
	struct pollfd pfd[4] = { { s->fd, POLLIN, 0 }, { -1, POLLIN, 0 } };
	static struct ipc_msg m;
	long long end = clock_mono_ms() + timeout_ms, left = timeout_ms, wait;
	int r, i, nl = press ? io_backlog_fds(pfd + 2) : 0;

	for (;;) {
		if (io_kicked(s))
			return -1;
		/* authd restarted: tell the new one what we hold now, not at
		 * our next call (its per-address counts are short until then)
		 */
		if (s->conn_id != 0 && authlink_fd_now() < 0)
			authlink_tick();
		pfd[1].fd = s->conn_id != 0 ? authlink_fd_now() : -1;
		pfd[1].revents = 0;
		wait = timeout_ms < 0 ? -1 : left;
		if (s->conn_id != 0 && pfd[1].fd < 0 &&
		    (wait < 0 || wait > IO_RELINK_MS))
			wait = IO_RELINK_MS;
		r = poll(pfd, (nfds_t)(2 + nl), (int)wait);
		if (r < 0 && errno != EINTR)
			return 1; /* read() says what is wrong */
		if (r > 0 && pfd[0].revents != 0)
			return 1;
		if (r > 0 && pfd[1].revents != 0)
			while (authlink_recv(&m) > 0)
				; /* kicks are noted; nothing else comes */
		for (i = 2; r > 0 && i < 2 + nl; i++)
			if (pfd[i].revents != 0)
				return 2;
		if (timeout_ms >= 0 && (left = end - clock_mono_ms()) <= 0)
			return io_kicked(s) ? -1 : 0;
	}
}

/* io_read_in - io_read; with press, -1 and EBUSY when a client or a
 * resumed session waits on this worker's listeners first */
static int
io_read_in(struct imap_session *s, long long timeout_ms, int press)
{
	char zraw[16384];
	char *p;
	ssize_t n;
	int r;

	unsigned watchdog;

	/* answers wait (pipelined) only while the input is at hand: never
	 * while waiting for the client */
	if (!io_defer(s) && io_flush(s) < 0)
		return -1;
	if (compress_more(s) && (r = io_read_z(s, NULL, 0)) <= 0)
		return r;
again:
	/* waiting for the client is not being stuck: no watchdog meanwhile */
	watchdog = alarm(0);
	r = io_wait(s, timeout_ms, press);
	if (watchdog > 0)
		alarm(IMAPD_WATCHDOG_S);
	if (r < 0)
		return -1;
	if (r == 0 || r == 2) {
		errno = r == 0 ? ETIMEDOUT : EBUSY;
		return -1;
	}
	if (s->z != NULL)
		p = zraw;
	else if ((p = buf_reserve(&s->in, 16384)) == NULL)
		return -1;
	do
		n = read(s->fd, p, 16384);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n == 0)
			errno = 0;
		return -1;
	}
	s->in_total += (uint64_t)n;
	/* a deflated piece that ends inside a block: read on */
	if (s->z != NULL) {
		if ((r = io_read_z(s, zraw, (size_t)n)) != 1)
			return r;
		goto again;
	}
	s->in.len += (size_t)n;
	s->in.data[s->in.len] = '\0';
	return 0;
}

int
io_read(struct imap_session *s, long long timeout_ms)
{
	return io_read_in(s, timeout_ms, 0);
}

int
io_read_press(struct imap_session *s, long long timeout_ms)
{
	return io_read_in(s, timeout_ms, 1);
}

char *
io_read_line(struct imap_session *s, long long timeout_ms)
{
	long long end = clock_mono_ms() + timeout_ms, left;
	char *nl, *line;
	size_t n;

	for (;;) {
		nl = s->in.len ? memchr(s->in.data, '\n', s->in.len) : NULL;
		if (nl != NULL) {
			n = (size_t)(nl - s->in.data);
			line = strndup(s->in.data, n);
			buf_consume(&s->in, n + 1);
			if (line && n && line[n - 1] == '\r')
				line[n - 1] = '\0';
			return line;
		}
		if (s->in.len > 65536) {
			errno = EMSGSIZE;
			return NULL;
		}
		/* the whole line by the deadline: a trickle does not
		 * extend it */
		if ((left = end - clock_mono_ms()) <= 0) {
			errno = ETIMEDOUT;
			return NULL;
		}
		if (io_read(s, left) < 0)
			return NULL;
	}
}

/*
 * io_linger - after a last "* BYE": send it and our FIN, then read and
 * drop what the client is still sending (the rest of a refused line or
 * literal), bounded in time and bytes.  Closing with unread input would
 * make the kernel answer with a reset, which may destroy the BYE before
 * the client has read it.
 */
void
io_linger(struct imap_session *s)
{
	struct pollfd pfd = { s->fd, POLLIN, 0 };
	long long end = clock_mono_ms() + IO_LINGER_MS, left;
	size_t total = 0;
	char buf[4096];
	ssize_t n;

	if (io_flush(s) < 0 || shutdown(s->fd, SHUT_WR) < 0)
		return;
	while (total < IO_LINGER_MAX && (left = end - clock_mono_ms()) > 0) {
		if (poll(&pfd, 1, (int)left) <= 0)
			break;
		if ((n = read(s->fd, buf, sizeof(buf))) <= 0)
			break;
		total += (size_t)n;
	}
}

int
io_backlog(void)
{
	struct pollfd pfd[2];
	int n = io_backlog_fds(pfd);

	return n > 0 && poll(pfd, (nfds_t)n, 0) > 0;
}

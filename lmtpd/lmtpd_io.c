/*
 * lmtpd_io - the session's bounded input buffer, command lines and
 * replies.
 *
 * Replies are gathered and written only when the session needs more
 * input (or ends): a pipelining client gets all its answers in one
 * write, and a plain one gets each at once, since it waits for it.
 * Input never grows past LMTP_IN_SIZE: a command line longer than
 * LMTP_MAX_LINE is read through and dropped, message text goes to the
 * spool as it arrives (lmtpd_data.c).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "lmtpd.h"
#include "log.h"

#define LMTP_WRITE_TIMEOUT_MS 60000

void
lmtp_reply(struct lmtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	buf_puts(&s->out, "\r\n");
}

int
lmtp_flush(struct lmtp_session *s)
{
	struct pollfd pfd = { s->fd, POLLOUT, 0 };
	size_t off = 0;
	ssize_t n;

	while (off < s->out.len && !s->dead) {
		n = write(s->fd, s->out.data + off, s->out.len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN &&
		    poll(&pfd, 1, LMTP_WRITE_TIMEOUT_MS) > 0)
			continue;
		log_info("write failed session=%s addr=%s: %s", s->id, s->addr,
		    n < 0 ? strerror(errno) : "timeout");
		s->dead = 1;
	}
	buf_reset(&s->out);
	return s->dead ? -1 : 0;
}

int
lmtp_fill(struct lmtp_session *s)
{
	struct pollfd pfd = { s->fd, POLLIN, 0 };
	ssize_t n;
	int r;

	if (s->dead || lmtp_flush(s) < 0)
		return -1;
	if (s->in_off > 0) {
		memmove(s->in, s->in + s->in_off, s->in_len - s->in_off);
		s->in_len -= s->in_off;
		s->in_off = 0;
	}
	if (s->in_len == LMTP_IN_SIZE)
		log_panic("lmtp_fill with a full buffer");
	do
		r = poll(&pfd, 1, (int)s->timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		log_info("timeout session=%s addr=%s after_ms=%lld", s->id,
		    s->addr, s->timeout_ms);
		lmtp_reply(s, "421 4.4.2 Timeout; closing the connection");
		lmtp_flush(s);
		s->dead = 1;
		return -1;
	}
	do
		n = read(s->fd, s->in + s->in_len, LMTP_IN_SIZE - s->in_len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 0; /* woken for nothing: the caller asks again */
	if (n <= 0) {
		if (n < 0)
			log_info("read failed session=%s addr=%s: %m", s->id,
			    s->addr);
		s->dead = 1;
		return -1;
	}
	s->in_len += (size_t)n;
	return 0;
}

/* lmtp_skip_line - drop input through the next LF */
static int
lmtp_skip_line(struct lmtp_session *s)
{
	char *nl;

	for (;;) {
		nl = memchr(s->in + s->in_off, '\n', s->in_len - s->in_off);
		if (nl != NULL) {
			s->in_off = (size_t)(nl - s->in) + 1;
			return 0;
		}
		s->in_off = s->in_len;
		if (lmtp_fill(s) < 0)
			return -1;
	}
}

int
lmtp_read_line(struct lmtp_session *s, char **line_r, size_t *len_r)
{
	char *start, *nl;
	size_t n;

	for (;;) {
		start = s->in + s->in_off;
		n = s->in_len - s->in_off;
		nl = memchr(start, '\n', n < LMTP_MAX_LINE ? n : LMTP_MAX_LINE);
		if (nl != NULL)
			break;
		if (n >= LMTP_MAX_LINE)
			return lmtp_skip_line(s) < 0 ? -1 : 1;
		if (lmtp_fill(s) < 0)
			return -1;
	}
	n = (size_t)(nl - start);
	s->in_off += n + 1;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	start[n] = '\0';
	*line_r = start;
	*len_r = n;
	return 0;
}

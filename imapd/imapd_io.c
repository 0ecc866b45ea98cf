/*
 * imapd_io - buffered, deadline-bound socket I/O for one session.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "imapd.h"
#include "log.h"

#define IO_WRITE_TIMEOUT_MS 60000
#define IO_FLUSH_AT (256 * 1024)

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

int
io_flush(struct imap_session *s)
{
	struct pollfd pfd = { s->fd, POLLOUT, 0 };
	size_t off = 0;
	ssize_t n;

	while (off < s->out.len && !s->dead) {
		n = write(s->fd, s->out.data + off, s->out.len - off);
		if (n > 0) {
			off += (size_t)n;
			if (alarm(0) > 0)	/* progress: re-arm */
				alarm(IMAPD_WATCHDOG_S);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN &&
		    poll(&pfd, 1, IO_WRITE_TIMEOUT_MS) > 0)
			continue;
		log_info("write failed user=%s addr=%s: %s", s->user[0] ?
		    s->user : "-", s->addr, n < 0 ? strerror(errno) :
		    "timeout");
		s->dead = 1;
	}
	buf_reset(&s->out);
	return s->dead ? -1 : 0;
}

int
io_read(struct imap_session *s, long long timeout_ms)
{
	struct pollfd pfd = { s->fd, POLLIN, 0 };
	char *p;
	ssize_t n;
	int r;

	unsigned watchdog;

	if (io_flush(s) < 0)
		return -1;
	/* waiting for the client is not being stuck: no watchdog meanwhile */
	watchdog = alarm(0);
	do
		r = poll(&pfd, 1, timeout_ms < 0 ? -1 : (int)timeout_ms);
	while (r < 0 && errno == EINTR);
	if (watchdog > 0)
		alarm(IMAPD_WATCHDOG_S);
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if ((p = buf_reserve(&s->in, 16384)) == NULL)
		return -1;
	do
		n = read(s->fd, p, 16384);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n == 0)
			errno = 0;
		return -1;
	}
	s->in.len += (size_t)n;
	s->in.data[s->in.len] = '\0';
	return 0;
}

char *
io_read_line(struct imap_session *s, long long timeout_ms)
{
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
		if (s->in.len > 65536)
			return NULL;
		if (io_read(s, timeout_ms) < 0)
			return NULL;
	}
}

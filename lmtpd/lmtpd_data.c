/*
 * lmtpd_data - the message text of DATA and BDAT into the spool file, as
 * it arrives: memory stays at the input buffer and one spool buffer
 * whatever the size.
 *
 * The spool file starts with Return-Path: (from MAIL FROM) and a
 * Received: line naming lmtpd, the LHLO host and the session; the rest is
 * what the client sent, byte for byte: DATA is dot-unstuffed and ends at
 * CRLF "." CRLF only (a line starts after CRLF: a bare LF is kept as sent
 * and does not start a line, so "\n.\n" neither ends the data nor loses
 * its dot), BDAT chunks are concatenated as they are.  Past
 * maxmessagesize, or after a failed write, the rest is read and dropped:
 * lmtpd_deliver refuses the message then.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "fd.h"
#include "lmtpd.h"
#include "log.h"

/* where DATA's scanner is: at the start of a line, inside one, after a
 * CR, after a line's first dot, after ".\r" */
enum lmtp_dstate { D_BOL, D_TEXT, D_CR, D_DOT, D_DOTCR };

/* lmtp_spool_write - write out the gathered bytes */
static void
lmtp_spool_write(struct lmtp_session *s)
{
	size_t off = 0;
	ssize_t n;

	while (off < s->spool_buf.len && s->spool_errno == 0) {
		n = write(s->spool_fd, s->spool_buf.data + off,
		    s->spool_buf.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			s->spool_errno = n < 0 ? errno : EIO;
		else
			off += (size_t)n;
	}
	buf_reset(&s->spool_buf);
}

/* lmtp_spool_put - message bytes: counted, and kept while it fits */
static void
lmtp_spool_put(struct lmtp_session *s, const char *p, size_t n)
{
	if (n == 0)
		return;
	s->msg_size += n;
	if (s->msg_size > (uint64_t)cfg_size("maxmessagesize"))
		s->too_big = 1;
	if (s->too_big || s->spool_errno || s->spool_fd < 0)
		return;
	buf_append(&s->spool_buf, p, n);
	if (s->spool_buf.len >= LMTP_SPOOL_BUF)
		lmtp_spool_write(s);
}

/* lmtp_trace - Return-Path: and Received: */
static void
lmtp_trace(struct lmtp_session *s, struct buf *b)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	buf_printf(b, "Return-Path: <%s>\r\n", s->from);
	buf_printf(b,
	    "Received: from %s (%s%s%s)\r\n\tby %s (berth lmtpd) "
	    "with LMTP id %s.%u",
	    s->helo[0] ? s->helo : "unknown",
	    strcmp(s->addr, "unix") ? "[" : "", s->addr,
	    strcmp(s->addr, "unix") ? "]" : "", lmtp_hostname(), s->id, s->ntx);
	/* one recipient: named, as other MTAs do; more share one copy */
	if (s->nrcpt == 1)
		buf_printf(b, "\r\n\tfor <%s>", s->rcpts[0].addr);
	buf_printf(b, ";\r\n\t%s\r\n", date);
}

int
lmtp_spool_start(struct lmtp_session *s)
{
	const char *err;

	s->msg_size = 0;
	s->too_big = 0;
	s->spool_errno = 0;
	if (store_spool_open(s->st, &s->spool_fd, &s->spool_path, &err) < 0) {
		log_error("spool failed session=%s: %s", s->id, err);
		s->spool_fd = -1;
		return -1;
	}
	buf_reset(&s->spool_buf);
	lmtp_trace(s, &s->spool_buf);
	s->trace_len = s->spool_buf.len;
	return 0;
}

void
lmtp_spool_drop(struct lmtp_session *s)
{
	if (s->spool_fd >= 0) {
		fd_close(s->spool_fd);
		unlink(s->spool_path);
	}
	s->spool_fd = -1;
	free(s->spool_path);
	s->spool_path = NULL;
	buf_reset(&s->spool_buf);
}

/* lmtp_spool_flush - before the file is committed */
static void
lmtp_spool_flush(struct lmtp_session *s)
{
	if (s->spool_fd >= 0 && !s->too_big)
		lmtp_spool_write(s);
}

/* lmtp_data_scan - run DATA's scanner over the buffered input; 1 when
 * the end was found (consumed through it), 0 when more is needed */
static int
lmtp_data_scan(struct lmtp_session *s, enum lmtp_dstate *st)
{
	char *p = s->in + s->in_off, *end = s->in + s->in_len, *run = p;

	for (; p < end; p++) {
		switch (*st) {
		case D_BOL:
			if (*p == '.') {
				lmtp_spool_put(s, run, (size_t)(p - run));
				run = p + 1; /* the stuffed dot goes */
				*st = D_DOT;
				break;
			}
			*st = *p == '\r' ? D_CR : D_TEXT;
			break;
		case D_TEXT:
			if (*p == '\r')
				*st = D_CR;
			break;
		case D_CR:
			*st = *p == '\n' ? D_BOL : *p == '\r' ? D_CR : D_TEXT;
			break;
		case D_DOT:
			if (*p == '\r') {
				/* held back: it may be the end */
				lmtp_spool_put(s, run, (size_t)(p - run));
				run = p + 1;
				*st = D_DOTCR;
			} else
				*st = D_TEXT;
			break;
		case D_DOTCR:
			if (*p == '\n') {
				s->in_off = (size_t)(p + 1 - s->in);
				return 1;
			}
			lmtp_spool_put(s, "\r", 1);
			*st = *p == '\r' ? D_CR : D_TEXT;
			break;
		}
	}
	lmtp_spool_put(s, run, (size_t)(p - run));
	s->in_off = s->in_len;
	return 0;
}

int
lmtp_data_read(struct lmtp_session *s)
{
	enum lmtp_dstate st = D_BOL;

	while (!lmtp_data_scan(s, &st))
		if (lmtp_fill(s) < 0)
			return -1;
	lmtp_spool_flush(s);
	return 0;
}

int
lmtp_bdat_read(struct lmtp_session *s, uint64_t n, int discard)
{
	size_t k;

	for (;;) {
		k = s->in_len - s->in_off;
		if (k > n)
			k = (size_t)n;
		if (!discard)
			lmtp_spool_put(s, s->in + s->in_off, k);
		s->in_off += k;
		n -= k;
		if (n == 0)
			break;
		if (lmtp_fill(s) < 0)
			return -1;
	}
	lmtp_spool_flush(s);
	return 0;
}

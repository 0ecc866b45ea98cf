/*
 * ctl_mbox - berthctl import USER mbox FILE [FOLDER]: an mbox file (one
 * message after each "From " line) into FOLDER (default INBOX).
 *
 * Kept where the file has it, in the headers mail servers and clients
 * write into mbox files (UW-IMAP, Dovecot, mutt, pine):
 *   Status: R \Seen;  X-Status: A \Answered, F \Flagged, T \Draft,
 *   D \Deleted;  X-Keywords: keywords;  X-UID: the UID;  X-IMAPbase:
 *   "UIDVALIDITY UIDLAST ..." (in the first message) the UIDVALIDITY;
 *   the "From " line's date (asctime form, UTC) as the internal date.
 * Those headers and Content-Length are the server's bookkeeping, not
 * the message: they are removed, as the old server did when it sent the
 * message.  UW-IMAP's folder-data pseudo-message (an X-IMAP header) is
 * not a message and is skipped.  Body lines ">From ", ">>From " ... lose
 * one '>' (mboxrd quoting).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "ctl_import.h"
#include "fd.h"
#include "store.h"
#include "xalloc.h"

struct mbox_msg {
	struct store_append opt;
	struct buf kw, out;
	uint32_t uidvalidity;
	int pseudo; /* UW-IMAP's folder data */
};

/* mbox_date - the date of a "From sender date" line (line without the
 * "From "), or 0 */
static int64_t
mbox_date(const char *line, size_t len)
{
	char buf[128], *p;
	struct tm tm;

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if ((p = strchr(buf, ' ')) == NULL)
		return 0;
	while (*p == ' ')
		p++;
	memset(&tm, 0, sizeof(tm));
	if (strptime(p, "%a %b %e %H:%M:%S %Y", &tm) == NULL)
		return 0;
	return (int64_t)timegm(&tm);
}

/* mbox_header - one header field (name: value, value unfolded as it
 * is) of a message: bookkeeping is taken into m and dropped (returns
 * 1), anything else kept (0) */
static int
mbox_header(struct mbox_msg *m, const char *f, size_t len, int first)
{
	const char *v = memchr(f, ':', len), *p, *e;
	size_t n;

	if (v == NULL)
		return 0;
	n = (size_t)(v - f);
	for (v++; v < f + len && (*v == ' ' || *v == '\t'); v++)
		;
	e = f + len;
	if (n == 6 && strncasecmp(f, "Status", 6) == 0) {
		for (p = v; p < e; p++)
			if (*p == 'R')
				m->opt.flags |= STORE_F_SEEN;
		return 1;
	}
	if (n == 8 && strncasecmp(f, "X-Status", 8) == 0) {
		for (p = v; p < e; p++)
			m->opt.flags |= *p == 'A' ? STORE_F_ANSWERED
			    : *p == 'F'		  ? STORE_F_FLAGGED
			    : *p == 'T'		  ? STORE_F_DRAFT
			    : *p == 'D'		  ? STORE_F_DELETED
						  : 0;
		return 1;
	}
	if (n == 10 && strncasecmp(f, "X-Keywords", 10) == 0) {
		for (p = v; p < e; p = v) {
			while (p < e && strchr(" \t\r\n,", *p) != NULL)
				p++;
			for (v = p; v < e && strchr(" \t\r\n,", *v) == NULL;
			     v++)
				;
			if (v > p &&
			    ctl_import_keyword_ok(p, (size_t)(v - p))) {
				if (m->kw.len)
					buf_putc(&m->kw, ' ');
				buf_append(&m->kw, p, (size_t)(v - p));
			}
		}
		return 1;
	}
	if (n == 5 && strncasecmp(f, "X-UID", 5) == 0) {
		unsigned long u = strtoul(v, NULL, 10);

		m->opt.uid = u > 0 && u < UINT32_MAX ? (uint32_t)u : 0;
		return 1;
	}
	if ((n == 10 && strncasecmp(f, "X-IMAPbase", 10) == 0) ||
	    (n == 6 && strncasecmp(f, "X-IMAP", 6) == 0)) {
		unsigned long u = strtoul(v, NULL, 10);

		if (first && u > 0 && u <= UINT32_MAX)
			m->uidvalidity = (uint32_t)u;
		m->pseudo |= n == 6;
		return 1;
	}
	return n == 14 && strncasecmp(f, "Content-Length", 14) == 0;
}

/* mbox_parse - the message text[0..len) (after its "From " line) into
 * m->out, its bookkeeping headers into m */
static void
mbox_parse(struct mbox_msg *m, const char *text, size_t len, int first)
{
	const char *p = text, *end = text + len, *nl, *f;
	int in_hdr = 1;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl ? nl + 1 : end;
		if (in_hdr &&
		    (p[0] == '\n' ||
			(p[0] == '\r' && p + 1 < end && p[1] == '\n')))
			in_hdr = 0;
		if (in_hdr) {
			/* a field and its continuation lines */
			f = p;
			while (nl < end && (*nl == ' ' || *nl == '\t')) {
				const char *n2 =
				    memchr(nl, '\n', (size_t)(end - nl));

				nl = n2 ? n2 + 1 : end;
			}
			if (!mbox_header(m, f, (size_t)(nl - f), first))
				buf_append(&m->out, f, (size_t)(nl - f));
			p = nl;
			continue;
		}
		/* mboxrd: ">From " ... loses one '>' */
		if (*p == '>') {
			const char *q = p;

			while (q < nl && *q == '>')
				q++;
			if (nl - q >= 5 && memcmp(q, "From ", 5) == 0)
				p++;
		}
		buf_append(&m->out, p, (size_t)(nl - p));
		p = nl;
	}
}

/* mbox_next - where the message starting at p ends: the next "From "
 * at the start of a line, or end */
static const char *
mbox_next(const char *p, const char *end)
{
	const char *q = p;

	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		q++;
		if (end - q >= 5 && memcmp(q, "From ", 5) == 0)
			return q;
	}
	return end;
}

int
ctl_mbox_import(struct ctl_import *ci, const char *file, const char *folder)
{
	struct mbox_msg m;
	struct stat sb;
	const char *data, *p, *end, *text, *next, *nl;
	size_t tlen;
	void *map;
	int fd, r = 0, first = 1, made = 0;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) < 0) {
		ctl_error("import: %s: %s", file, strerror(errno));
		if (fd >= 0)
			fd_close(fd);
		return -1;
	}
	if (sb.st_size < 5) {
		fd_close(fd);
		ctl_error("import: %s is not an mbox file (empty)", file);
		return -1;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	fd_close(fd);
	if (map == MAP_FAILED) {
		ctl_error("import: %s: %s", file, strerror(errno));
		return -1;
	}
	data = map;
	end = data + sb.st_size;
	if (memcmp(data, "From ", 5) != 0) {
		munmap(map, (size_t)sb.st_size);
		ctl_error("import: %s is not an mbox file (no \"From \" line "
			  "first)",
		    file);
		return -1;
	}
	memset(&m, 0, sizeof(m));
	for (p = data; p < end && r == 0; p = next, first = 0) {
		next = mbox_next(p, end);
		nl = memchr(p, '\n', (size_t)(next - p));
		text = nl ? nl + 1 : next;
		/* the blank line before the next "From " is the separator */
		tlen = (size_t)(next - text);
		if (next < end && tlen > 0 && text[tlen - 1] == '\n')
			tlen--;
		if (next < end && tlen > 0 && text[tlen - 1] == '\r')
			tlen--;
		memset(&m.opt, 0, sizeof(m.opt));
		m.pseudo = 0;
		buf_reset(&m.kw);
		buf_reset(&m.out);
		m.opt.internaldate = mbox_date(p + 5, (size_t)(text - p - 5));
		mbox_parse(&m, text, tlen, first);
		if (!made) {
			if (ctl_import_folder(ci, folder, m.uidvalidity) < 0) {
				r = -1;
				break;
			}
			made = 1;
		}
		if (m.pseudo)
			continue;
		m.opt.keywords = m.kw.len ? m.kw.data : NULL;
		r = ctl_import_msg(ci, folder, m.out.data ? m.out.data : "",
		    m.out.len, &m.opt);
	}
	buf_free(&m.kw);
	buf_free(&m.out);
	munmap(map, (size_t)sb.st_size);
	return r;
}

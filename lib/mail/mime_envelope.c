/*
 * mime_envelope - IMAP ENVELOPE text (RFC 3501 7.4.2) from a header, with
 * RFC 5322 address lists (groups, quoted display names, comments), and
 * RFC 5322 date parsing.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "mime.h"
#include "mime_int.h"
#include "xalloc.h"

struct mime_addr_ctx {
	const char *s;
	size_t len, i;
	struct buf comment;	/* the last comment skipped, its blanks
				 * folded: "a@b (Real Name)" names a@b */
	int text;		/* mime_addr_text: "Name <a@b>, c@d" */
};

/* mime_addr_comment - keep the comment at s[0..len) (without its outer
 * parentheses) as the last one seen */
static void
mime_addr_comment(struct mime_addr_ctx *c, const char *s, size_t len)
{
	size_t i;

	buf_reset(&c->comment);
	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		if (isspace((unsigned char)s[i])) {
			if (c->comment.len && c->comment.data[c->comment.len -
			    1] != ' ')
				buf_putc(&c->comment, ' ');
			continue;
		}
		buf_putc(&c->comment, s[i]);
	}
	if (c->comment.len && c->comment.data[c->comment.len - 1] == ' ')
		buf_truncate(&c->comment, c->comment.len - 1);
}

static void
mime_addr_skip(struct mime_addr_ctx *c)
{
	size_t start;
	int depth;

	for (;;) {
		while (c->i < c->len && isspace((unsigned char)c->s[c->i]))
			c->i++;
		if (c->i >= c->len || c->s[c->i] != '(')
			return;
		start = c->i + 1;
		for (depth = 0; c->i < c->len; c->i++) {
			if (c->s[c->i] == '\\' && c->i + 1 < c->len)
				c->i++;
			else if (c->s[c->i] == '(')
				depth++;
			else if (c->s[c->i] == ')' && --depth == 0) {
				mime_addr_comment(c, c->s + start,
				    c->i - start);
				c->i++;
				break;
			}
		}
	}
}

/* mime_addr_phrase - words up to one of stops; quoted strings unquoted */
static void
mime_addr_phrase(struct mime_addr_ctx *c, const char *stops, struct buf *out)
{
	int sp = 0;

	for (;;) {
		mime_addr_skip(c);
		if (c->i >= c->len || strchr(stops, c->s[c->i]))
			return;
		if (sp && out->len)
			buf_putc(out, ' ');
		sp = 1;
		if (c->s[c->i] == '"') {
			for (c->i++; c->i < c->len && c->s[c->i] != '"';
			    c->i++) {
				if (c->s[c->i] == '\\' && c->i + 1 < c->len)
					c->i++;
				buf_putc(out, c->s[c->i]);
			}
			if (c->i < c->len)
				c->i++;
			continue;
		}
		while (c->i < c->len && !isspace((unsigned char)c->s[c->i]) &&
		    !strchr(stops, c->s[c->i]) && c->s[c->i] != '"' &&
		    c->s[c->i] != '(')
			buf_putc(out, c->s[c->i++]);
	}
}

/* mime_put_addr_text - an address as text: "Name <mbox@host>" or
 * "mbox@host", a group's start "mbox:" (no host) and end ";" (none) */
static void
mime_put_addr_text(struct buf *out, const char *name, const char *mbox,
    const char *host)
{
	if (mbox == NULL) {
		buf_putc(out, ';');
		return;
	}
	if (out->len && out->data[out->len - 1] != ':')
		buf_puts(out, ", ");
	if (host == NULL && name == NULL) {
		buf_printf(out, "%s:", mbox);
		return;
	}
	if (name && *name)
		buf_printf(out, "%s <%s@%s>", name, mbox, host ? host : "");
	else
		buf_printf(out, "%s@%s", mbox, host ? host : "");
}

static void
mime_put_addr(struct mime_addr_ctx *c, struct buf *out, const char *name,
    const char *mbox, const char *host)
{
	if (c->text) {
		mime_put_addr_text(out, name, mbox, host);
		return;
	}
	buf_putc(out, '(');
	mime_put_nstring(out, name && *name ? name : NULL,
	    name ? strlen(name) : 0);
	buf_puts(out, " NIL ");
	mime_put_nstring(out, mbox, mbox ? strlen(mbox) : 0);
	buf_putc(out, ' ');
	mime_put_nstring(out, host, host ? strlen(host) : 0);
	buf_putc(out, ')');
}

/* mime_addr_spec - "local@domain" (from angle brackets or bare) */
static void
mime_addr_split(const char *spec, struct buf *mbox, struct buf *host)
{
	const char *at = strrchr(spec, '@');

	if (at == NULL) {
		buf_puts(mbox, spec);
		return;
	}
	buf_append(mbox, spec, (size_t)(at - spec));
	buf_puts(host, at + 1);
}

/* mime_addr_one - one mailbox; returns 0 if nothing was found */
static int
mime_addr_one(struct mime_addr_ctx *c, struct buf *out)
{
	struct buf phrase = BUF_INIT, spec = BUF_INIT, mbox = BUF_INIT,
	    host = BUF_INIT;
	int r = 0;

	buf_reset(&c->comment);
	mime_addr_phrase(c, "<,;:", &phrase);
	if (c->i < c->len && c->s[c->i] == '<') {
		c->i++;
		mime_addr_phrase(c, ">", &spec);
		if (c->i < c->len)
			c->i++;
		/* "<a@b> (Real Name)": the comment names it */
		buf_reset(&c->comment);
		mime_addr_skip(c);
		if (phrase.len == 0 && c->comment.len)
			buf_puts(&phrase, buf_cstr(&c->comment));
		/* drop a source route "@a,@b:" */
		if (spec.len && spec.data[0] == '@' &&
		    strchr(buf_cstr(&spec), ':'))
			buf_consume(&spec, (size_t)(strchr(spec.data, ':') -
			    spec.data) + 1);
		mime_addr_split(buf_cstr(&spec), &mbox, &host);
		mime_put_addr(c, out, buf_cstr(&phrase), buf_cstr(&mbox),
		    host.len ? buf_cstr(&host) : NULL);
		r = 1;
	} else if (phrase.len) {
		/* bare addr-spec: remove the blanks the phrase put in */
		size_t i, o = 0;

		for (i = 0; i < phrase.len; i++)
			if (phrase.data[i] != ' ')
				phrase.data[o++] = phrase.data[i];
		buf_truncate(&phrase, o);
		mime_addr_split(buf_cstr(&phrase), &mbox, &host);
		/* "a@b (Real Name)": the last comment is the personal name,
		 * as other servers take it */
		mime_put_addr(c, out, c->comment.len ? buf_cstr(&c->comment) :
		    NULL, buf_cstr(&mbox), host.len ? buf_cstr(&host) : NULL);
		r = 1;
	}
	buf_free(&phrase);
	buf_free(&spec);
	buf_free(&mbox);
	buf_free(&host);
	return r;
}

/* mime_addr_list - an address list into an IMAP list, or NIL (text:
 * into text) */
static void
mime_addr_list(const char *s, size_t len, int text, struct buf *out)
{
	struct mime_addr_ctx c = { s, len, 0, BUF_INIT, text };
	struct buf list = BUF_INIT, name = BUF_INIT;
	size_t save;
	int n = 0;

	while (c.i < c.len) {
		mime_addr_skip(&c);
		if (c.i >= c.len)
			break;
		if (c.s[c.i] == ',' || c.s[c.i] == ';') {
			c.i++;
			continue;
		}
		/* a group "name: a, b;" */
		save = c.i;
		buf_reset(&name);
		mime_addr_phrase(&c, "<,;:", &name);
		if (c.i < c.len && c.s[c.i] == ':') {
			c.i++;
			mime_put_addr(&c, &list, NULL, buf_cstr(&name), NULL);
			n++;
			while (c.i < c.len && c.s[c.i] != ';') {
				mime_addr_skip(&c);
				if (c.i < c.len && c.s[c.i] == ',') {
					c.i++;
					continue;
				}
				if (c.i >= c.len || c.s[c.i] == ';')
					break;
				if (!mime_addr_one(&c, &list) && c.i < c.len)
					c.i++;
			}
			if (c.i < c.len)
				c.i++;
			mime_put_addr(&c, &list, NULL, NULL, NULL);
			continue;
		}
		c.i = save;
		if (mime_addr_one(&c, &list))
			n++;
		else if (c.i < c.len)
			c.i++;
	}
	if (text)
		buf_append(out, buf_cstr(&list), list.len);
	else if (n)
		buf_printf(out, "(%s)", buf_cstr(&list));
	else
		buf_puts(out, "NIL");
	buf_free(&list);
	buf_free(&name);
	buf_free(&c.comment);
}

static void
mime_env_str(const char *hdr, size_t len, const char *name, struct buf *out)
{
	struct buf v = BUF_INIT;

	if (mime_header_get(hdr, len, name, 0, 0, &v) == 0)
		mime_put_nstring(out, buf_cstr(&v), v.len);
	else
		buf_puts(out, "NIL");
	buf_free(&v);
}

static int
mime_env_addr(const char *hdr, size_t len, const char *name, struct buf *out)
{
	struct buf v = BUF_INIT;
	size_t before = out->len;
	int r = mime_header_get(hdr, len, name, 1, 0, &v);

	if (r == 0)
		mime_addr_list(buf_cstr(&v), v.len, 0, out);
	buf_free(&v);
	if (r == 0 && strcmp(out->data + before, "NIL") == 0) {
		buf_truncate(out, before);
		return -1;
	}
	return r;
}

void
mime_addr_text(const char *s, size_t len, struct buf *out)
{
	mime_addr_list(s, len, 1, out);
}

void
mime_envelope(const char *hdr, size_t len, struct buf *out)
{
	size_t mark;

	buf_putc(out, '(');
	mime_env_str(hdr, len, "Date", out);
	buf_putc(out, ' ');
	mime_env_str(hdr, len, "Subject", out);
	buf_putc(out, ' ');
	mark = out->len;
	if (mime_env_addr(hdr, len, "From", out) < 0)
		buf_puts(out, "NIL");
	{
		/* sender and reply-to default to from (RFC 3501) */
		char *from = xstrdup(out->data + mark);

		buf_putc(out, ' ');
		if (mime_env_addr(hdr, len, "Sender", out) < 0)
			buf_puts(out, from);
		buf_putc(out, ' ');
		if (mime_env_addr(hdr, len, "Reply-To", out) < 0)
			buf_puts(out, from);
		free(from);
	}
	buf_putc(out, ' ');
	if (mime_env_addr(hdr, len, "To", out) < 0)
		buf_puts(out, "NIL");
	buf_putc(out, ' ');
	if (mime_env_addr(hdr, len, "Cc", out) < 0)
		buf_puts(out, "NIL");
	buf_putc(out, ' ');
	if (mime_env_addr(hdr, len, "Bcc", out) < 0)
		buf_puts(out, "NIL");
	buf_putc(out, ' ');
	mime_env_str(hdr, len, "In-Reply-To", out);
	buf_putc(out, ' ');
	mime_env_str(hdr, len, "Message-ID", out);
	buf_putc(out, ')');
}

static const char *mime_months[] = { "jan", "feb", "mar", "apr", "may",
    "jun", "jul", "aug", "sep", "oct", "nov", "dec" };

/* mime_zone - numeric zone or an obsolete name, in minutes */
static int
mime_zone(const char *z, int *tz)
{
	static const struct { const char *n; int m; } names[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "Z", 0 }, { "EST", -300 },
		{ "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
		{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 },
		{ "PDT", -420 },
	};
	size_t i;

	if ((z[0] == '+' || z[0] == '-') && isdigit((unsigned char)z[1]) &&
	    strlen(z) >= 5) {
		int v = (z[1] - '0') * 600 + (z[2] - '0') * 60 +
		    (z[3] - '0') * 10 + (z[4] - '0');

		*tz = z[0] == '-' ? -v : v;
		return 0;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(z, names[i].n) == 0) {
			*tz = names[i].m;
			return 0;
		}
	*tz = 0;
	return 0;
}

int
mime_parse_date(const char *s, size_t len, long long *t_r, int *tz_r)
{
	char buf[128], mon[16] = "", zone[16] = "";
	struct tm tm;
	int d, y, h = 0, mi = 0, se = 0, n, m, tz = 0;
	const char *p;

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	p = strchr(buf, ',');
	p = p ? p + 1 : buf;
	n = sscanf(p, " %d %15s %d %d:%d:%d %15s", &d, mon, &y, &h, &mi,
	    &se, zone);
	if (n < 6) {
		se = 0;
		n = sscanf(p, " %d %15s %d %d:%d %15s", &d, mon, &y, &h, &mi,
		    zone);
		if (n < 3)
			return -1;
	}
	for (m = 0; m < 12; m++)
		if (strncasecmp(mon, mime_months[m], 3) == 0)
			break;
	if (m == 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	if (y < 50)
		y += 2000;
	else if (y < 1000)
		y += 1900;
	mime_zone(zone, &tz);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t_r = (long long)timegm(&tm) - tz * 60LL;
	*tz_r = tz;
	return 0;
}

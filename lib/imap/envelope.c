/*
 * envelope - IMAP ENVELOPE text (RFC 3501 7.4.2) from a header, with
 * RFC 5322 address lists (groups, quoted display names, comments).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "envelope.h"
#include "imapp.h"
#include "mime.h"
#include "xalloc.h"

struct envelope_addr_ctx {
	const char *s;
	size_t len, i;
	struct buf comment; /* the last comment skipped, its blanks
			     * folded: "a@b (Real Name)" names a@b */
	int text;	    /* envelope_addr_text: "Name <a@b>, c@d";
			     * ENVELOPE_FIRST: the first address only,
			     * as "name\1mbox\1host" */
};

#define ENVELOPE_FIRST 2

/* envelope_addr_comment - keep the comment at s[0..len) (without its outer
 * parentheses) as the last one seen */
static void
envelope_addr_comment(struct envelope_addr_ctx *c, const char *s, size_t len)
{
	size_t i;

	buf_reset(&c->comment);
	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		if (isspace((unsigned char)s[i])) {
			if (c->comment.len &&
			    c->comment.data[c->comment.len - 1] != ' ')
				buf_putc(&c->comment, ' ');
			continue;
		}
		buf_putc(&c->comment, s[i]);
	}
	if (c->comment.len && c->comment.data[c->comment.len - 1] == ' ')
		buf_truncate(&c->comment, c->comment.len - 1);
}

static void
envelope_addr_skip(struct envelope_addr_ctx *c)
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
				envelope_addr_comment(c, c->s + start,
				    c->i - start);
				c->i++;
				break;
			}
		}
	}
}

/* envelope_addr_phrase - words up to one of stops; quoted strings unquoted */
static void
envelope_addr_phrase(struct envelope_addr_ctx *c, const char *stops,
    struct buf *out)
{
	int sp = 0;

	for (;;) {
		envelope_addr_skip(c);
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

/* envelope_put_addr_text - an address as text: "Name <mbox@host>" or
 * "mbox@host", a group's start "mbox:" (no host) and end ";" (none) */
static void
envelope_put_addr_text(struct buf *out, const char *name, const char *mbox,
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
envelope_put_addr(struct envelope_addr_ctx *c, struct buf *out,
    const char *name, const char *mbox, const char *host)
{
	if (c->text == ENVELOPE_FIRST) {
		if (out->len == 0 && mbox != NULL &&
		    (host != NULL || name != NULL))
			buf_printf(out, "%s\1%s\1%s", name ? name : "", mbox,
			    host ? host : "");
		return;
	}
	if (c->text) {
		envelope_put_addr_text(out, name, mbox, host);
		return;
	}
	buf_putc(out, '(');
	imapp_put_text(out, name && *name ? name : NULL,
	    name ? strlen(name) : 0);
	buf_puts(out, " NIL ");
	imapp_put_text(out, mbox, mbox ? strlen(mbox) : 0);
	buf_putc(out, ' ');
	imapp_put_text(out, host, host ? strlen(host) : 0);
	buf_putc(out, ')');
}

/* envelope_addr_spec - "local@domain" (from angle brackets or bare) */
static void
envelope_addr_split(const char *spec, struct buf *mbox, struct buf *host)
{
	const char *at = strrchr(spec, '@');

	if (at == NULL) {
		buf_puts(mbox, spec);
		return;
	}
	buf_append(mbox, spec, (size_t)(at - spec));
	buf_puts(host, at + 1);
}

/* envelope_addr_one - one mailbox; returns 0 if nothing was found */
static int
envelope_addr_one(struct envelope_addr_ctx *c, struct buf *out)
{
	struct buf phrase = BUF_INIT, spec = BUF_INIT, mbox = BUF_INIT,
		   host = BUF_INIT;
	int r = 0;

	buf_reset(&c->comment);
	envelope_addr_phrase(c, "<,;:", &phrase);
	if (c->i < c->len && c->s[c->i] == '<') {
		c->i++;
		envelope_addr_phrase(c, ">", &spec);
		if (c->i < c->len)
			c->i++;
		/* "<a@b> (Real Name)": the comment names it */
		buf_reset(&c->comment);
		envelope_addr_skip(c);
		if (phrase.len == 0 && c->comment.len)
			buf_puts(&phrase, buf_cstr(&c->comment));
		/* drop a source route "@a,@b:" */
		if (spec.len && spec.data[0] == '@' &&
		    strchr(buf_cstr(&spec), ':'))
			buf_consume(&spec,
			    (size_t)(strchr(spec.data, ':') - spec.data) + 1);
		envelope_addr_split(buf_cstr(&spec), &mbox, &host);
		envelope_put_addr(c, out, buf_cstr(&phrase), buf_cstr(&mbox),
		    host.len ? buf_cstr(&host) : NULL);
		r = 1;
	} else if (phrase.len) {
		/* bare addr-spec: remove the blanks the phrase put in */
		size_t i, o = 0;

		for (i = 0; i < phrase.len; i++)
			if (phrase.data[i] != ' ')
				phrase.data[o++] = phrase.data[i];
		buf_truncate(&phrase, o);
		envelope_addr_split(buf_cstr(&phrase), &mbox, &host);
		/* "a@b (Real Name)": the last comment is the personal name,
		 * as other servers take it */
		envelope_put_addr(c, out,
		    c->comment.len ? buf_cstr(&c->comment) : NULL,
		    buf_cstr(&mbox), host.len ? buf_cstr(&host) : NULL);
		r = 1;
	}
	buf_free(&phrase);
	buf_free(&spec);
	buf_free(&mbox);
	buf_free(&host);
	return r;
}

/* envelope_addr_list - an address list into an IMAP list, or NIL (text:
 * into text) */
static void
envelope_addr_list(const char *s, size_t len, int text, struct buf *out)
{
	struct envelope_addr_ctx c = { s, len, 0, BUF_INIT, text };
	struct buf list = BUF_INIT, name = BUF_INIT;
	size_t save;
	int n = 0;

	while (c.i < c.len) {
		envelope_addr_skip(&c);
		if (c.i >= c.len)
			break;
		if (c.s[c.i] == ',' || c.s[c.i] == ';') {
			c.i++;
			continue;
		}
		/* a group "name: a, b;" */
		save = c.i;
		buf_reset(&name);
		envelope_addr_phrase(&c, "<,;:", &name);
		if (c.i < c.len && c.s[c.i] == ':') {
			c.i++;
			envelope_put_addr(&c, &list, NULL, buf_cstr(&name),
			    NULL);
			n++;
			while (c.i < c.len && c.s[c.i] != ';') {
				envelope_addr_skip(&c);
				if (c.i < c.len && c.s[c.i] == ',') {
					c.i++;
					continue;
				}
				if (c.i >= c.len || c.s[c.i] == ';')
					break;
				if (!envelope_addr_one(&c, &list) &&
				    c.i < c.len)
					c.i++;
			}
			if (c.i < c.len)
				c.i++;
			envelope_put_addr(&c, &list, NULL, NULL, NULL);
			continue;
		}
		c.i = save;
		if (envelope_addr_one(&c, &list))
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
envelope_field_str(const char *hdr, size_t len, const char *name,
    struct buf *out)
{
	struct buf v = BUF_INIT;

	if (mime_header_get(hdr, len, name, 0, 0, &v) == 0)
		imapp_put_text(out, buf_cstr(&v), v.len);
	else
		buf_puts(out, "NIL");
	buf_free(&v);
}

static int
envelope_field_addr(const char *hdr, size_t len, const char *name,
    struct buf *out)
{
	struct buf v = BUF_INIT;
	size_t before = out->len;
	int r = mime_header_get(hdr, len, name, 1, 0, &v);

	if (r == 0)
		envelope_addr_list(buf_cstr(&v), v.len, 0, out);
	buf_free(&v);
	if (r == 0 && strcmp(out->data + before, "NIL") == 0) {
		buf_truncate(out, before);
		return -1;
	}
	return r;
}

void
envelope_addr_text(const char *s, size_t len, struct buf *out)
{
	envelope_addr_list(s, len, 1, out);
}

void
envelope_addr_first(const char *s, size_t len, struct buf *name,
    struct buf *mbox, struct buf *host)
{
	struct buf first = BUF_INIT;
	const char *p, *q;

	envelope_addr_list(s, len, ENVELOPE_FIRST, &first);
	if (first.len > 0) {
		p = strchr(first.data, 1);
		q = strchr(p + 1, 1);
		buf_append(name, first.data, (size_t)(p - first.data));
		buf_append(mbox, p + 1, (size_t)(q - p - 1));
		buf_puts(host, q + 1);
	}
	buf_free(&first);
}

void
envelope_write(const char *hdr, size_t len, struct buf *out)
{
	size_t mark;

	buf_putc(out, '(');
	envelope_field_str(hdr, len, "Date", out);
	buf_putc(out, ' ');
	envelope_field_str(hdr, len, "Subject", out);
	buf_putc(out, ' ');
	mark = out->len;
	if (envelope_field_addr(hdr, len, "From", out) < 0)
		buf_puts(out, "NIL");
	{
		/* sender and reply-to default to from (RFC 3501) */
		char *from = xstrdup(out->data + mark);

		buf_putc(out, ' ');
		if (envelope_field_addr(hdr, len, "Sender", out) < 0)
			buf_puts(out, from);
		buf_putc(out, ' ');
		if (envelope_field_addr(hdr, len, "Reply-To", out) < 0)
			buf_puts(out, from);
		free(from);
	}
	buf_putc(out, ' ');
	if (envelope_field_addr(hdr, len, "To", out) < 0)
		buf_puts(out, "NIL");
	buf_putc(out, ' ');
	if (envelope_field_addr(hdr, len, "Cc", out) < 0)
		buf_puts(out, "NIL");
	buf_putc(out, ' ');
	if (envelope_field_addr(hdr, len, "Bcc", out) < 0)
		buf_puts(out, "NIL");
	buf_putc(out, ' ');
	envelope_field_str(hdr, len, "In-Reply-To", out);
	buf_putc(out, ' ');
	envelope_field_str(hdr, len, "Message-ID", out);
	buf_putc(out, ')');
}

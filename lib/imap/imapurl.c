/*
 * imapurl - the grammar of RFC 5092 IMAP URLs that name a message or a
 * part of one (see imapurl.h).  Owns nothing but what it returns; called
 * by imapd's CATENATE (cmd_append_cat.c).  Invariants: every string it
 * returns is NUL-free and malloc'ed; on error nothing is left allocated.
 *
 * A relative path that names a mailbox ("Sent;UIDVALIDITY=1/;UID=2",
 * without the leading '/') is read as one from the server's root, as if
 * the base were "imap://user@host/": a mailbox name has no directory a
 * reference could be relative to.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "imapurl.h"
#include "xalloc.h"

struct imapurl_cur {
	const char *s;
	size_t len, i;
};

/* imapurl_is_achar - RFC 5092 achar, pct-encoded aside: unreserved,
 * sub-delims-sh, "&", "=", "~" */
static int
imapurl_is_achar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("-._~!$'()*+,&=", c) != NULL;
}

/* imapurl_is_bchar - bchar: achar, ":", "@", "/" */
static int
imapurl_is_bchar(unsigned char c)
{
	return imapurl_is_achar(c) || c == ':' || c == '@' || c == '/';
}

static int
imapurl_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * imapurl_decode - s[0..n) made of chars that ok() takes and %XX escapes:
 * a malloc'ed string with the escapes undone, or NULL when it is empty,
 * holds another char, a broken escape or an escaped NUL
 */
static char *
imapurl_decode(const char *s, size_t n, int (*ok)(unsigned char))
{
	struct buf b = BUF_INIT;
	size_t i;
	int hi, lo;

	if (n == 0)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			if (!ok((unsigned char)s[i]))
				goto bad;
			buf_putc(&b, s[i]);
			continue;
		}
		if (n - i < 3 ||
		    (hi = imapurl_hex((unsigned char)s[i + 1])) < 0 ||
		    (lo = imapurl_hex((unsigned char)s[i + 2])) < 0 ||
		    (hi == 0 && lo == 0))
			goto bad;
		buf_putc(&b, (char)(hi * 16 + lo));
		i += 2;
	}
	return buf_release(&b);
bad:
	buf_free(&b);
	return NULL;
}

/* imapurl_key - the keyword k (";UID=" etc., any case) at the cursor:
 * 1 and past it, else 0 */
static int
imapurl_key(struct imapurl_cur *c, const char *k)
{
	size_t n = strlen(k);

	if (c->len - c->i < n || strncasecmp(c->s + c->i, k, n) != 0)
		return 0;
	c->i += n;
	return 1;
}

/* imapurl_number - 1*DIGIT at the cursor, at most max; nz: no zero and no
 * leading zero (nz-number).  0, or -1 */
static int
imapurl_number(struct imapurl_cur *c, int nz, uint64_t max, uint64_t *v_r)
{
	size_t start = c->i;
	uint64_t v = 0;

	while (c->i < c->len && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
		v = v * 10 + (uint64_t)(c->s[c->i++] - '0');
		if (v > max)
			return -1;
	}
	if (c->i == start || (nz && c->s[start] == '0'))
		return -1;
	*v_r = v;
	return 0;
}

/* imapurl_run - the chars up to the next ';' or the end: their length */
static size_t
imapurl_run(const struct imapurl_cur *c)
{
	const char *semi = memchr(c->s + c->i, ';', c->len - c->i);

	return semi != NULL ? (size_t)(semi - (c->s + c->i)) : c->len - c->i;
}

/* imapurl_auth - iauth: ";AUTH=" ("*" / enc-auth-type), s[0..n) */
static int
imapurl_auth(const char *s, size_t n)
{
	char *t;

	if (n < 7 || strncasecmp(s, ";AUTH=", 6) != 0)
		return -1;
	if (n == 7 && s[6] == '*')
		return 0;
	if ((t = imapurl_decode(s + 6, n - 6, imapurl_is_achar)) == NULL)
		return -1;
	free(t);
	return 0;
}

/*
 * imapurl_server - iserver after "//": [enc-user [";AUTH=" ("*" /
 * enc-auth-type)] "@"] host [":" port], up to the next '/'
 */
static int
imapurl_server(struct imapurl_cur *c, struct imapurl *u, const char **error_r)
{
	const char *a = c->s + c->i, *slash, *at, *semi, *h, *colon;
	size_t n, hn;
	uint64_t port;
	struct imapurl_cur pc;

	slash = memchr(a, '/', c->len - c->i);
	n = slash != NULL ? (size_t)(slash - a) : c->len - c->i;
	c->i += n;
	h = a;
	if ((at = memchr(a, '@', n)) != NULL) {
		semi = memchr(a, ';', (size_t)(at - a));
		if (semi != NULL &&
		    imapurl_auth(semi, (size_t)(at - semi)) < 0) {
			*error_r = "Invalid ;AUTH= in the URL";
			return -1;
		}
		hn = semi != NULL ? (size_t)(semi - a) : (size_t)(at - a);
		if (hn > 0 &&
		    (u->user = imapurl_decode(a, hn, imapurl_is_achar)) ==
			NULL) {
			*error_r = "Invalid user in the URL";
			return -1;
		}
		if (hn == 0 && semi == NULL) {
			*error_r = "Empty user in the URL";
			return -1;
		}
		h = at + 1;
	}
	hn = (size_t)(a + n - h);
	colon = NULL;
	if (hn > 0 && h[0] == '[') {
		const char *rb = memchr(h, ']', hn);

		if (rb == NULL || rb == h + 1) {
			*error_r = "Invalid host in the URL";
			return -1;
		}
		if (rb + 1 < h + hn)
			colon = rb + 1;
		hn = (size_t)(rb + 1 - h);
		u->host = xstrndup(h, hn);
		if (strspn(u->host + 1, "0123456789abcdefABCDEF:.vV") !=
		    hn - 2) {
			*error_r = "Invalid host in the URL";
			return -1;
		}
	} else {
		colon = memchr(h, ':', hn);
		if (colon != NULL)
			hn = (size_t)(colon - h);
		if ((u->host = imapurl_decode(h, hn, imapurl_is_achar)) ==
		    NULL) {
			*error_r = "Invalid host in the URL";
			return -1;
		}
	}
	if (colon == NULL)
		return 0;
	pc.s = colon;
	pc.len = (size_t)(a + n - colon);
	pc.i = 1;
	if (colon[0] != ':' || imapurl_number(&pc, 0, 65535, &port) < 0 ||
	    pc.i != pc.len) {
		*error_r = "Invalid port in the URL";
		return -1;
	}
	u->port = (unsigned)port;
	return 0;
}

/* imapurl_mailbox - enc-mailbox [";UIDVALIDITY=" nz-number] "/", up to
 * the ";UID=" that follows */
static int
imapurl_mailbox(struct imapurl_cur *c, struct imapurl *u, const char **error_r)
{
	size_t n = imapurl_run(c);
	uint64_t v;
	int slash = n > 0 && c->s[c->i + n - 1] == '/' && c->i + n < c->len;

	if (slash)
		n--; /* "INBOX/;UID=": the '/' before ";UID=" */
	if ((u->mailbox = imapurl_decode(c->s + c->i, n, imapurl_is_bchar)) ==
	    NULL) {
		*error_r = "Invalid mailbox in the URL";
		return -1;
	}
	c->i += n + (size_t)slash;
	if (slash)
		return 0;
	if (!imapurl_key(c, ";UIDVALIDITY=") ||
	    imapurl_number(c, 1, UINT32_MAX, &v) < 0) {
		*error_r = "Invalid mailbox or UIDVALIDITY in the URL";
		return -1;
	}
	u->uidvalidity = (uint32_t)v;
	if (c->i == c->len || c->s[c->i++] != '/') {
		*error_r = "The URL names no message (;UID=)";
		return -1;
	}
	return 0;
}

/* imapurl_tail - after ";UID=n": ["/;SECTION=" enc-section]
 * ["/;PARTIAL=" number ["." nz-number]] [iurlauth] */
static int
imapurl_tail(struct imapurl_cur *c, struct imapurl *u, const char **error_r)
{
	uint64_t v;
	size_t n;

	if (imapurl_key(c, "/;SECTION=")) {
		n = imapurl_run(c);
		if (n > 0 && c->i + n < c->len && c->s[c->i + n - 1] == '/' &&
		    c->len - (c->i + n) >= 9 &&
		    strncasecmp(c->s + c->i + n, ";PARTIAL=", 9) == 0)
			n--; /* the '/' of "/;PARTIAL=" */
		if ((u->section = imapurl_decode(c->s + c->i, n,
			 imapurl_is_bchar)) == NULL) {
			*error_r = "Invalid section in the URL";
			return -1;
		}
		c->i += n;
	}
	if (imapurl_key(c, "/;PARTIAL=")) {
		if (imapurl_number(c, 0, UINT32_MAX, &v) < 0) {
			*error_r = "Invalid partial range in the URL";
			return -1;
		}
		u->partial = 1;
		u->poff = (uint32_t)v;
		if (c->i < c->len && c->s[c->i] == '.') {
			c->i++;
			if (imapurl_number(c, 1, UINT32_MAX, &v) < 0) {
				*error_r = "Invalid partial range in the URL";
				return -1;
			}
			u->plen = (uint32_t)v;
		}
	}
	if (c->i == c->len)
		return 0;
	if (imapurl_key(c, ";EXPIRE=") || imapurl_key(c, ";URLAUTH=")) {
		/* URLAUTH (RFC 4467): recognised, never honoured */
		u->urlauth = 1;
		return 0;
	}
	*error_r = "Unexpected text in the URL";
	return -1;
}

/* imapurl_scheme - does s[0..len) start with a scheme ("x:" before any
 * '/' or ';')? */
static int
imapurl_scheme(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && s[i] != '/' && s[i] != ';'; i++)
		if (s[i] == ':')
			return 1;
	return 0;
}

int
imapurl_parse(const char *s, size_t len, struct imapurl *u,
    const char **error_r)
{
	struct imapurl_cur c = { s, len, 0 };
	uint64_t v;

	memset(u, 0, sizeof(*u));
	if (len == 0 || len > IMAPURL_MAX_LEN) {
		*error_r = len ? "URL too long" : "Empty URL";
		return -1;
	}
	if (imapurl_key(&c, "imap://") || imapurl_key(&c, "//")) {
		if (imapurl_server(&c, u, error_r) < 0)
			goto fail;
		if (c.i == c.len) {
			*error_r = "The URL names no message (;UID=)";
			goto fail;
		}
	}
	if (c.i < c.len && c.s[c.i] == '/')
		c.i++;
	else if (u->host != NULL || c.i == c.len) {
		*error_r = "Invalid URL";
		goto fail;
	}
	if (c.i == 0 && imapurl_scheme(s, len)) {
		/* a relative path's first segment has no ':' (RFC 3986
		 * 4.2): this is another scheme */
		*error_r = "Not an IMAP URL";
		goto fail;
	}
	if ((c.i == 0 && c.s[0] == ';') ? 0
					: imapurl_mailbox(&c, u, error_r) < 0)
		goto fail;
	if (!imapurl_key(&c, ";UID=") ||
	    imapurl_number(&c, 1, UINT32_MAX, &v) < 0) {
		*error_r = "The URL names no message (;UID=)";
		goto fail;
	}
	u->uid = (uint32_t)v;
	if (imapurl_tail(&c, u, error_r) < 0)
		goto fail;
	return 0;
fail:
	imapurl_free(u);
	return -1;
}

void
imapurl_free(struct imapurl *u)
{
	free(u->user);
	free(u->host);
	free(u->mailbox);
	free(u->section);
	memset(u, 0, sizeof(*u));
}

/*
 * mime_hdr - header-level helpers: walking header fields, unfolding,
 * HEADER.FIELDS extraction, lookup, RFC 2047 decoding.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mime.h"
#include "mime_int.h"
#include "xalloc.h"

int
mime_hdr_next(const char *hdr, size_t len, size_t *pos, size_t *name_off,
    size_t *name_len, size_t *val_off, size_t *field_end)
{
	size_t p = *pos, e, c;

	for (;;) {
		if (p >= len)
			return 0;
		/* the blank line ends the header */
		if (hdr[p] == '\n' ||
		    (hdr[p] == '\r' && p + 1 < len && hdr[p + 1] == '\n'))
			return 0;
		/* the field runs to a newline not followed by blank */
		e = p;
		for (;;) {
			while (e < len && hdr[e] != '\n')
				e++;
			if (e < len)
				e++;
			if (e >= len || (hdr[e] != ' ' && hdr[e] != '\t'))
				break;
		}
		for (c = p; c < e && hdr[c] != ':' && hdr[c] != '\n'; c++)
			;
		if (c < e && hdr[c] == ':' && c > p) {
			*name_off = p;
			*name_len = c - p;
			while (*name_len > 0 &&
			    (hdr[p + *name_len - 1] == ' ' ||
				hdr[p + *name_len - 1] == '\t'))
				(*name_len)--;
			*val_off = c + 1;
			*field_end = e;
			*pos = e;
			return 1;
		}
		p = e; /* a line without a colon: skip it */
	}
}

void
mime_unfold(const char *s, size_t len, struct buf *out)
{
	size_t i = 0, start = out->len;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	for (; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		buf_putc(out, s[i]);
	}
	while (out->len > start &&
	    (out->data[out->len - 1] == ' ' || out->data[out->len - 1] == '\t'))
		buf_truncate(out, out->len - 1);
}

struct mime_name {
	const char *s;
	size_t len;
};

/* mime_name_cmp - field names, case-insensitive, shorter first on a tie */
static int
mime_name_cmp(const void *a, const void *b)
{
	const struct mime_name *x = a, *y = b;
	int r = strncasecmp(x->s, y->s, x->len < y->len ? x->len : y->len);

	if (r != 0)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

void
mime_header_fields(const char *hdr, size_t len, const char *const *names,
    size_t n, int not, struct buf *out)
{
	struct mime_name *sorted = xcalloc(n + 1, sizeof(*sorted));
	struct mime_name key;
	size_t pos = 0, no, nl, vo, fe, i;
	int match;

	/* sorted once, then a binary search per field: a scan of every
	 * name for every field cost fields x names (thousands of each) */
	for (i = 0; i < n; i++) {
		sorted[i].s = names[i];
		sorted[i].len = strlen(names[i]);
	}
	xqsort(sorted, n, sizeof(*sorted), mime_name_cmp);
	while (mime_hdr_next(hdr, len, &pos, &no, &nl, &vo, &fe)) {
		key.s = hdr + no;
		key.len = nl;
		match = n > 0 &&
		    bsearch(&key, sorted, n, sizeof(*sorted), mime_name_cmp) !=
			NULL;
		if (match != not )
			buf_append(out, hdr + no, fe - no);
	}
	free(sorted);
	buf_puts(out, "\r\n");
}

int
mime_header_get(const char *hdr, size_t len, const char *name, int all,
    int decode, struct buf *out)
{
	size_t pos = 0, no, nl, vo, fe, nlen = strlen(name);
	struct buf raw = BUF_INIT;
	int found = 0;

	while (mime_hdr_next(hdr, len, &pos, &no, &nl, &vo, &fe)) {
		if (nl != nlen || strncasecmp(hdr + no, name, nl) != 0)
			continue;
		if (found)
			buf_puts(&raw, ", ");
		mime_unfold(hdr + vo, fe - vo, &raw);
		found = 1;
		if (!all)
			break;
	}
	if (found) {
		if (decode)
			mime_decode_words(raw.data, raw.len, out);
		else
			buf_append(out, buf_cstr(&raw), raw.len);
	}
	buf_free(&raw);
	return found ? 0 : -1;
}

static int
mime_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void
mime_decode_qp(const char *s, size_t len, int header, struct buf *out)
{
	size_t i;
	int h, l;

	for (i = 0; i < len; i++) {
		if (s[i] == '=' && i + 2 < len + 0 &&
		    (h = mime_hexval((unsigned char)s[i + 1])) >= 0 &&
		    (l = mime_hexval((unsigned char)s[i + 2])) >= 0) {
			buf_putc(out, h * 16 + l);
			i += 2;
		} else if (s[i] == '=' && !header &&
		    (i + 1 == len || s[i + 1] == '\r' || s[i + 1] == '\n')) {
			/* soft line break */
			while (i + 1 < len &&
			    (s[i + 1] == '\r' || s[i + 1] == '\n'))
				i++;
		} else if (header && s[i] == '_') {
			buf_putc(out, ' ');
		} else {
			buf_putc(out, s[i]);
		}
	}
}

void
mime_decode_b64(const char *s, size_t len, struct buf *out)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned acc = 0;
	int bits = 0;
	const char *p;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '=')
			break;
		if ((p = memchr(tbl, s[i], 64)) == NULL || s[i] == '\0')
			continue;
		acc = (acc << 6) | (unsigned)(p - tbl);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(out, (int)((acc >> bits) & 0xff));
		}
	}
}

/* mime_latin1_utf8 - ISO-8859-1 bytes to UTF-8 */
static void
mime_latin1_utf8(const char *s, size_t len, struct buf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80) {
			buf_putc(out, c);
		} else {
			buf_putc(out, 0xc0 | (c >> 6));
			buf_putc(out, 0x80 | (c & 0x3f));
		}
	}
}

void
mime_charset_utf8(const char *cs, const char *s, size_t len, struct buf *out)
{
	if (cs != NULL &&
	    (strcasecmp(cs, "iso-8859-1") == 0 ||
		strcasecmp(cs, "latin1") == 0 ||
		strcasecmp(cs, "windows-1252") == 0))
		mime_latin1_utf8(s, len, out);
	else if (cs == NULL || strcasecmp(cs, "utf-8") == 0 ||
	    strcasecmp(cs, "us-ascii") == 0 ||
	    mime_charset_iconv(cs, s, len, out) < 0)
		buf_append(out, s, len);
}

/* mime_word - decode one "=?cs?e?text?=" at s; length consumed or 0 */
static size_t
mime_word(const char *s, size_t len, struct buf *out)
{
	const char *q1, *q2, *end;
	struct buf raw = BUF_INIT;
	char cs[64];
	size_t csl;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	q1 = memchr(s + 2, '?', len - 2);
	if (q1 == NULL || q1 + 3 >= s + len || q1[2] != '?')
		return 0;
	q2 = q1 + 3;
	end = q2;
	while (end + 1 < s + len && !(end[0] == '?' && end[1] == '='))
		end++;
	if (end + 1 >= s + len)
		return 0;
	csl = (size_t)(q1 - (s + 2));
	if (csl >= sizeof(cs) || memchr(s + 2, ' ', csl))
		return 0;
	memcpy(cs, s + 2, csl);
	cs[csl] = '\0';
	if (strchr(cs, '*'))
		*strchr(cs, '*') = '\0'; /* RFC 2231 language */
	if (q1[1] == 'B' || q1[1] == 'b')
		mime_decode_b64(q2, (size_t)(end - q2), &raw);
	else if (q1[1] == 'Q' || q1[1] == 'q')
		mime_decode_qp(q2, (size_t)(end - q2), 1, &raw);
	else
		return 0;
	mime_charset_utf8(cs, buf_cstr(&raw), raw.len, out);
	buf_free(&raw);
	return (size_t)(end + 2 - s);
}

void
mime_decode_words(const char *s, size_t len, struct buf *out)
{
	struct buf probe = BUF_INIT;
	size_t i = 0, n, j;

	while (i < len) {
		if ((n = mime_word(s + i, len - i, out)) == 0) {
			buf_putc(out, s[i++]);
			continue;
		}
		i += n;
		/* white space between two encoded words is dropped */
		for (j = i; j < len &&
		     (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' ||
			 s[j] == '\n');
		     j++)
			;
		buf_reset(&probe);
		if (j > i &&
		    (j >= len || mime_word(s + j, len - j, &probe) == 0))
			buf_append(out, s + i, j - i);
		i = j;
	}
	buf_free(&probe);
}

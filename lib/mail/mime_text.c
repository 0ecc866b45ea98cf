/*
 * mime_text - the text SEARCH TEXT and BODY match against, and the
 * full-text index stores: one function for each, so that a search
 * through the index and a scan of the messages see the same bytes.
 *
 * The text is valid UTF-8 (charsets converted with iconv; bytes that
 * are not UTF-8 and NULs become U+FFFD) and ASCII lower-cased (the
 * matching is case-insensitive for ASCII, as berth's SEARCH always
 * was).  HTML is reduced to its text: tags, comments, scripts and
 * styles dropped, character references decoded.  Everything is linear
 * in the input; nothing here fails.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mime.h"
#include "mime_int.h"

/* mime_text_put_cp - code point cp as UTF-8 (U+FFFD for none) */
static void
mime_text_put_cp(uint32_t cp, struct buf *out)
{
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		buf_putc(out, (int)cp);
	} else if (cp < 0x800) {
		buf_putc(out, (int)(0xc0 | (cp >> 6)));
		buf_putc(out, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_putc(out, (int)(0xe0 | (cp >> 12)));
		buf_putc(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
		buf_putc(out, (int)(0x80 | (cp & 0x3f)));
	} else {
		buf_putc(out, (int)(0xf0 | (cp >> 18)));
		buf_putc(out, (int)(0x80 | ((cp >> 12) & 0x3f)));
		buf_putc(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
		buf_putc(out, (int)(0x80 | (cp & 0x3f)));
	}
}

/* mime_text_utf8_len - length of the well-formed UTF-8 sequence at s
 * (RFC 3629: no overlong forms, no surrogates), 0 if there is none */
static size_t
mime_text_utf8_len(const unsigned char *s, size_t len)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return s[0] != 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* mime_text_clean - s[0..len) appended as valid UTF-8 without NULs,
 * ASCII lower-cased */
static void
mime_text_clean(const char *s, size_t len, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if ((n = mime_text_utf8_len(u + i, len - i)) == 0) {
			mime_text_put_cp(0xfffd, out);
			i++;
		} else if (n == 1) {
			buf_putc(out,
			    u[i] >= 'A' && u[i] <= 'Z' ? u[i] - 'A' + 'a'
						       : u[i]);
			i++;
		} else {
			buf_append(out, s + i, n);
			i += n;
		}
	}
}

/* mime_text_is_utf8 - a charset that needs no conversion */
static int
mime_text_is_utf8(const char *cs)
{
	return cs == NULL || strcasecmp(cs, "utf-8") == 0 ||
	    strcasecmp(cs, "utf8") == 0 || strcasecmp(cs, "us-ascii") == 0;
}

/*
 * mime_charset_iconv - s[0..len) in charset cs appended as UTF-8 through
 * iconv; a byte iconv cannot convert becomes U+FFFD and the conversion
 * goes on after it.  -1 (nothing appended) when iconv does not know cs.
 */
int
mime_charset_iconv(const char *cs, const char *s, size_t len, struct buf *out)
{
	char chunk[4096], *in = (char *)s, *o;
	size_t inleft = len, oleft;
	iconv_t cd;

	if ((cd = iconv_open("UTF-8", cs)) == (iconv_t)-1)
		return -1;
	while (inleft > 0) {
		o = chunk;
		oleft = sizeof(chunk);
		if (iconv(cd, &in, &inleft, &o, &oleft) != (size_t)-1) {
			buf_append(out, chunk, sizeof(chunk) - oleft);
			break;
		}
		buf_append(out, chunk, sizeof(chunk) - oleft);
		if (errno == E2BIG)
			continue;
		/* EILSEQ, or EINVAL (cut short at the end) */
		mime_text_put_cp(0xfffd, out);
		in++;
		inleft--;
		(void)iconv(cd, NULL, NULL, NULL, NULL); /* reset */
	}
	iconv_close(cd);
	return 0;
}

/* mime_text_convert - s[0..len) in charset cs, appended as UTF-8 as far
 * as it can be (an unknown charset is copied) */
static void
mime_text_convert(const char *cs, const char *s, size_t len, struct buf *out)
{
	if (mime_text_is_utf8(cs) || mime_charset_iconv(cs, s, len, out) < 0)
		buf_append(out, s, len);
}

/* HTML elements whose tags separate nothing (the rest: a space) */
static const char *const mime_html_inline[] = { "a", "abbr", "b", "big", "code",
	"em", "font", "i", "s", "small", "span", "strike", "strong", "sub",
	"sup", "tt", "u" };

/* mime_html_name - the tag name at s (after '<' and any '/'), length */
static size_t
mime_html_name(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len &&
	    ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		(s[n] >= '0' && s[n] <= '9')))
		n++;
	return n;
}

static int
mime_html_is_inline(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(mime_html_inline) / sizeof(mime_html_inline[0]);
	     i++)
		if (strlen(mime_html_inline[i]) == n &&
		    strncasecmp(mime_html_inline[i], name, n) == 0)
			return 1;
	return 0;
}

/* mime_html_find - offset of the first s[i..] starting with word (any
 * case), or len */
static size_t
mime_html_find(const char *s, size_t len, size_t i, const char *word)
{
	size_t wl = strlen(word);

	for (; i + wl <= len; i++)
		if (strncasecmp(s + i, word, wl) == 0)
			return i;
	return len;
}

/* mime_html_entity - a character reference at s ('&'): appended, and
 * its length; 0 if it is none (the '&' is then text) */
static size_t
mime_html_entity(const char *s, size_t len, struct buf *out)
{
	static const struct {
		const char *name;
		uint32_t cp;
	} ents[] = { { "amp", '&' }, { "lt", '<' }, { "gt", '>' },
		{ "quot", '"' }, { "apos", '\'' }, { "nbsp", ' ' } };
	size_t i = 1, j;
	uint32_t cp = 0;

	if (i < len && s[i] == '#') {
		int hex = i + 1 < len && (s[i + 1] == 'x' || s[i + 1] == 'X');

		for (i += hex ? 2 : 1; i < len && i < 12; i++) {
			int d = s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
			    : hex && s[i] >= 'a' && s[i] <= 'f'
			    ? s[i] - 'a' + 10
			    : hex && s[i] >= 'A' && s[i] <= 'F'
			    ? s[i] - 'A' + 10
			    : -1;

			if (d < 0)
				break;
			cp = cp * (hex ? 16u : 10u) + (uint32_t)d;
		}
		if (i >= len || s[i] != ';' || i < (hex ? 4u : 3u))
			return 0;
		mime_text_put_cp(cp, out);
		return i + 1;
	}
	for (j = 0; j < sizeof(ents) / sizeof(ents[0]); j++) {
		size_t n = strlen(ents[j].name);

		if (n + 2 <= len && strncmp(s + 1, ents[j].name, n) == 0 &&
		    s[n + 1] == ';') {
			mime_text_put_cp(ents[j].cp, out);
			return n + 2;
		}
	}
	return 0;
}

/*
 * mime_html_text - the text of HTML s[0..len), appended: tags dropped
 * (a space for those that separate words), comments, scripts and styles
 * dropped, character references decoded.  Not a parser: a tag ends at
 * the next '>', which is what mail clients' HTML amounts to.
 */
void
mime_html_text(const char *s, size_t len, struct buf *out)
{
	size_t i = 0, n, e;
	const char *name;

	while (i < len) {
		if (s[i] == '&' &&
		    (n = mime_html_entity(s + i, len - i, out)) > 0) {
			i += n;
			continue;
		}
		if (s[i] != '<') {
			buf_putc(out, s[i++]);
			continue;
		}
		if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
			e = mime_html_find(s, len, i + 4, "-->");
			i = e < len ? e + 3 : len;
			continue;
		}
		name = s + i + 1 + (i + 1 < len && s[i + 1] == '/');
		n = mime_html_name(name, len - (size_t)(name - s));
		e = mime_html_find(s, len, i, ">");
		if ((n == 6 && strncasecmp(name, "script", 6) == 0) ||
		    (n == 5 && strncasecmp(name, "style", 5) == 0)) {
			if (name[-1] != '/')
				e = mime_html_find(s, len, e,
				    n == 6 ? "</script" : "</style");
			e = mime_html_find(s, len, e, ">");
		}
		if (!mime_html_is_inline(name, n))
			buf_putc(out, ' ');
		i = e < len ? e + 1 : len;
	}
}

/* mime_text_leaf - one text/ leaf's decoded, converted text */
static void
mime_text_leaf(const struct mime_part *part, const char *data, struct buf *out)
{
	struct buf raw = BUF_INIT, conv = BUF_INIT;
	const char *cs = mime_param_get(part->params, part->nparams, "charset");

	if (mime_part_decode(part, data, &raw) < 0)
		buf_append(&raw, data + part->body_off, part->body_len);
	mime_text_convert(cs, raw.data ? raw.data : "", raw.len, &conv);
	if (strcmp(part->subtype, "html") == 0) {
		buf_reset(&raw);
		mime_html_text(conv.data ? conv.data : "", conv.len, &raw);
		mime_text_clean(raw.data ? raw.data : "", raw.len, out);
	} else {
		mime_text_clean(conv.data ? conv.data : "", conv.len, out);
	}
	buf_putc(out, '\n');
	buf_free(&raw);
	buf_free(&conv);
}

void
mime_text_body(const struct mime_part *part, const char *data, struct buf *out)
{
	size_t i;

	if (part->nchildren > 0) {
		for (i = 0; i < part->nchildren; i++)
			mime_text_body(&part->children[i], data, out);
		return;
	}
	if (strcmp(part->type, "text") == 0)
		mime_text_leaf(part, data, out);
}

void
mime_text_header(const char *hdr, size_t len, struct buf *out)
{
	struct buf dec = BUF_INIT;
	size_t i, o = 0;

	mime_decode_words(hdr, len, &dec);
	/* runs of blanks and line breaks as one space, in place */
	for (i = 0; i < dec.len; i++) {
		char c = dec.data[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (o > 0 && dec.data[o - 1] == ' ')
				continue;
			c = ' ';
		}
		dec.data[o++] = c;
	}
	mime_text_clean(dec.data ? dec.data : "", o, out);
	buf_free(&dec);
}

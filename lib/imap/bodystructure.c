/*
 * bodystructure - IMAP BODY and BODYSTRUCTURE text (see bodystructure.h).
 *
 * A part that mime_parse could not split (a multipart without a usable
 * boundary or delimiter line, a message/rfc822 past MIME_MAX_DEPTH or
 * MIME_MAX_PARTS) is shown as text/plain with its line count, so that
 * BODYSTRUCTURE and BODY[n] agree.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "bodystructure.h"
#include "buf.h"
#include "envelope.h"
#include "imapp.h"
#include "mime.h"

/* bodystructure_put_upper - a quoted upper-case string of the printable
 * ASCII of s (a type, parameter name, encoding or disposition) */
static void
bodystructure_put_upper(struct buf *out, const char *s)
{
	unsigned char c;

	buf_putc(out, '"');
	for (; *s; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
			continue;
		buf_putc(out, toupper(c));
	}
	buf_putc(out, '"');
}

/* bodystructure_put_params - body-fld-param: NIL or ("NAME" value ...) */
static void
bodystructure_put_params(struct buf *out, const struct mime_param *pv, size_t n)
{
	size_t i;

	if (n == 0) {
		buf_puts(out, "NIL");
		return;
	}
	for (i = 0; i < n; i++) {
		buf_puts(out, i ? " " : "(");
		bodystructure_put_upper(out, pv[i].name);
		buf_putc(out, ' ');
		imapp_put_text(out, pv[i].value, strlen(pv[i].value));
	}
	buf_putc(out, ')');
}

/* bodystructure_put_disposition - body-fld-dsp: NIL or ("TYPE" params) */
static void
bodystructure_put_disposition(struct buf *out, const struct mime_part *p)
{
	if (p->disposition == NULL) {
		buf_puts(out, "NIL");
		return;
	}
	buf_putc(out, '(');
	bodystructure_put_upper(out, p->disposition);
	buf_putc(out, ' ');
	bodystructure_put_params(out, p->dparams, p->ndparams);
	buf_putc(out, ')');
}

static void
bodystructure_put_field(struct buf *out, const char *s)
{
	imapp_put_text(out, s, s ? strlen(s) : 0);
}

/* bodystructure_put_language - body-fld-lang: NIL, a string or a list */
static void
bodystructure_put_language(struct buf *out, const char *s)
{
	if (s == NULL) {
		buf_puts(out, "NIL");
		return;
	}
	bodystructure_put_field(out, s);
}

/* bodystructure_fields - media type and body-fields of a non-multipart */
static void
bodystructure_fields(const struct mime_part *p, const char *type,
    const char *subtype, struct buf *out)
{
	bodystructure_put_upper(out, type);
	buf_putc(out, ' ');
	bodystructure_put_upper(out, subtype);
	buf_putc(out, ' ');
	bodystructure_put_params(out, p->params, p->nparams);
	buf_putc(out, ' ');
	bodystructure_put_field(out, p->id);
	buf_putc(out, ' ');
	bodystructure_put_field(out, p->description);
	buf_putc(out, ' ');
	bodystructure_put_upper(out, p->encoding ? p->encoding : "7BIT");
	buf_printf(out, " %zu", p->body_len);
}

/* bodystructure_ext_tail - " dsp lang loc", the end of both
 * body-ext-1part and body-ext-mpart */
static void
bodystructure_ext_tail(const struct mime_part *p, struct buf *out)
{
	buf_putc(out, ' ');
	bodystructure_put_disposition(out, p);
	buf_putc(out, ' ');
	bodystructure_put_language(out, p->language);
	buf_putc(out, ' ');
	bodystructure_put_field(out, p->location);
}

/* bodystructure_ext1 - body-ext-1part */
static void
bodystructure_ext1(const struct mime_part *p, struct buf *out)
{
	buf_putc(out, ' ');
	bodystructure_put_field(out, p->md5);
	bodystructure_ext_tail(p, out);
}

/* bodystructure_leaf - body-type-basic or body-type-text (after the "(");
 * a multipart or message/rfc822 that is not split is text/plain */
static void
bodystructure_leaf(const struct mime_part *p, int ext, struct buf *out)
{
	int opaque = strcmp(p->type, "multipart") == 0 ||
	    (strcmp(p->type, "message") == 0 &&
		strcmp(p->subtype, "rfc822") == 0);
	const char *type = opaque ? "text" : p->type;

	bodystructure_fields(p, type, opaque ? "plain" : p->subtype, out);
	if (strcmp(type, "text") == 0)
		buf_printf(out, " %zu", p->body_lines);
	if (ext)
		bodystructure_ext1(p, out);
	buf_putc(out, ')');
}

static void
bodystructure_part(const struct mime_part *p, const char *data, int ext,
    int depth, struct buf *out)
{
	size_t i;

	buf_putc(out, '(');
	if (mime_is_leaf(p) || depth >= MIME_MAX_DEPTH) {
		bodystructure_leaf(p, ext, out);
		return;
	}
	if (strcmp(p->type, "multipart") == 0) {
		for (i = 0; i < p->nchildren; i++)
			bodystructure_part(&p->children[i], data, ext,
			    depth + 1, out);
		buf_putc(out, ' ');
		bodystructure_put_upper(out, p->subtype);
		if (ext) {
			buf_putc(out, ' ');
			bodystructure_put_params(out, p->params, p->nparams);
			bodystructure_ext_tail(p, out);
		}
		buf_putc(out, ')');
		return;
	}
	{
		const struct mime_part *m = &p->children[0];

		bodystructure_fields(p, "MESSAGE", "RFC822", out);
		buf_putc(out, ' ');
		envelope_write(data + m->hdr_off, m->hdr_len, out);
		buf_putc(out, ' ');
		bodystructure_part(m, data, ext, depth + 1, out);
		buf_printf(out, " %zu", p->body_lines);
		if (ext)
			bodystructure_ext1(p, out);
		buf_putc(out, ')');
	}
}

void
bodystructure_write(const struct mime_part *root, const char *data,
    int extended, struct buf *out)
{
	bodystructure_part(root, data, extended, 0, out);
}

/*
 * mime_parse - the part tree of a message, and section lookup (the IMAP
 * BODY/BODYSTRUCTURE text of the tree is lib/imap/bodystructure's).  Offsets
 * point into the caller's buffer; no part is copied.
 *
 * Invariant: whatever the input, BODY and BODYSTRUCTURE follow RFC 3501's
 * body grammar and hold no NUL (the FETCH cache separates its fields with
 * NULs).  A Content-Type whose type or subtype is not an RFC 2045 token
 * is ignored (the default type applies).  A part that cannot be split (a
 * multipart without a usable boundary or without any delimiter line, a
 * message/rfc822 past MIME_MAX_DEPTH or MIME_MAX_PARTS) is a leaf, shown
 * as text/plain with its line count, and is part 1 of itself for
 * sections, so that BODYSTRUCTURE and BODY[n] agree.
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

struct mime_ctx {
	const char *data;
	size_t nparts;
};

/* mime_is_token - an RFC 2045 token (a type or subtype)? */
static int
mime_is_token(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f ||
		    strchr("()<>@,;:\\\"/[]?=", s[i]) != NULL)
			return 0;
	return 1;
}

int
mime_is_leaf(const struct mime_part *p)
{
	return p->nchildren == 0 ||
	    (strcmp(p->type, "multipart") != 0 &&
		(strcmp(p->type, "message") != 0 ||
		    strcmp(p->subtype, "rfc822") != 0));
}

/* mime_header_end - offset just past the blank line ending the header */
static size_t
mime_header_end(const char *d, size_t len)
{
	size_t i;

	if (len > 0 && d[0] == '\n')
		return 1;
	if (len > 1 && d[0] == '\r' && d[1] == '\n')
		return 2;
	for (i = 0; i < len; i++) {
		if (d[i] != '\n')
			continue;
		if (i + 1 < len && d[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && d[i + 1] == '\r' && d[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

/* mime_token - next token or quoted string of a structured value */
static size_t
mime_token(const char *s, size_t len, size_t i, struct buf *out)
{
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	if (i < len && s[i] == '"') {
		for (i++; i < len && s[i] != '"'; i++) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			buf_putc(out, s[i]);
		}
		return i < len ? i + 1 : i;
	}
	while (i < len && !isspace((unsigned char)s[i]) && s[i] != ';' &&
	    s[i] != '=' && s[i] != '/')
		buf_putc(out, s[i++]);
	return i;
}

/* mime_strdup_text - s as a string, NULs dropped (see the invariant) */
static char *
mime_strdup_text(const char *s, size_t len)
{
	char *r = xmalloc(len + 1);
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (s[i] != '\0')
			r[n++] = s[i];
	r[n] = '\0';
	return r;
}

/* mime_params - the parameters "; a=b; c="d"" of a structured field
 * value from i on */
static void
mime_params(const char *s, size_t len, size_t i, struct mime_param **pv_r,
    size_t *n_r)
{
	struct buf name = BUF_INIT, val = BUF_INIT;
	struct mime_param *pv = NULL;
	size_t n = 0, size = 0;

	for (;;) {
		while (i < len && s[i] != ';')
			i++;
		if (i >= len)
			break;
		i++;
		buf_reset(&name);
		buf_reset(&val);
		i = mime_token(s, len, i, &name);
		while (i < len && isspace((unsigned char)s[i]))
			i++;
		if (i >= len || s[i] != '=' || name.len == 0)
			continue;
		i = mime_token(s, len, i + 1, &val);
		if (n == size) {
			size = size ? size * 2 : 4;
			pv = xreallocarray(pv, size, sizeof(*pv));
		}
		pv[n].name = xstrdup(buf_cstr(&name));
		pv[n].value = mime_strdup_text(val.data, val.len);
		n++;
	}
	buf_free(&name);
	buf_free(&val);
	*pv_r = pv;
	*n_r = n;
}

const char *
mime_param_get(const struct mime_param *pv, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(pv[i].name, name) == 0)
			return pv[i].value;
	return NULL;
}

static void
mime_params_free(struct mime_param *pv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(pv[i].name);
		free(pv[i].value);
	}
	free(pv);
}

/* mime_field - unfolded value of a field in part's header, or NULL */
static char *
mime_field(const char *hdr, size_t len, const char *name)
{
	struct buf b = BUF_INIT;

	if (mime_header_get(hdr, len, name, 0, 0, &b) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_release(&b);
}

static void mime_parse_part(struct mime_ctx *cx, struct mime_part *p,
    size_t off, size_t len, int depth, const char *deftype);

/* mime_lines - newline count of d[0..len) */
static size_t
mime_lines(const char *d, size_t len)
{
	size_t n = 0, i;

	for (i = 0; i < len; i++)
		if (d[i] == '\n')
			n++;
	if (len > 0 && d[len - 1] != '\n')
		n++;
	return n;
}

/* mime_split - children of a multipart body */
static void
mime_split(struct mime_ctx *cx, struct mime_part *p, const char *boundary,
    int depth)
{
	const char *d = cx->data;
	size_t bl = strlen(boundary), i = p->body_off;
	size_t end = p->body_off + p->body_len, start = 0, pend;
	int in = 0;

	while (i < end) {
		size_t le = i;

		while (le < end && d[le] != '\n')
			le++;
		if (le - i >= bl + 2 && d[i] == '-' && d[i + 1] == '-' &&
		    memcmp(d + i + 2, boundary, bl) == 0) {
			int last = le - i >= bl + 4 && d[i + bl + 2] == '-' &&
			    d[i + bl + 3] == '-';

			if (in) {
				/* the CRLF before the boundary belongs to it */
				pend = i;
				if (pend > start && d[pend - 1] == '\n')
					pend--;
				if (pend > start && d[pend - 1] == '\r')
					pend--;
				if (cx->nparts < MIME_MAX_PARTS) {
					p->children = xreallocarray(p->children,
					    p->nchildren + 1,
					    sizeof(*p->children));
					mime_parse_part(cx,
					    &p->children[p->nchildren++], start,
					    pend - start, depth + 1,
					    strcmp(p->subtype, "digest")
						? "text/plain"
						: "message/rfc822");
				}
			}
			if (last)
				return;
			in = 1;
			start = le < end ? le + 1 : le;
		}
		i = le < end ? le + 1 : le;
	}
	if (in && start < end && cx->nparts < MIME_MAX_PARTS) {
		/* never closed: the last part runs to the end */
		p->children = xreallocarray(p->children, p->nchildren + 1,
		    sizeof(*p->children));
		mime_parse_part(cx, &p->children[p->nchildren++], start,
		    end - start, depth + 1, "text/plain");
	}
}

static void
mime_parse_part(struct mime_ctx *cx, struct mime_part *p, size_t off,
    size_t len, int depth, const char *deftype)
{
	const char *d = cx->data + off, *hdr;
	struct buf t = BUF_INIT, st = BUF_INIT;
	char *ct, *boundary = NULL, *cd;
	const char *bd;
	size_t i = 0, hl;

	memset(p, 0, sizeof(*p));
	cx->nparts++;
	hl = mime_header_end(d, len);
	p->hdr_off = off;
	p->hdr_len = hl;
	p->body_off = off + hl;
	p->body_len = len - hl;
	p->body_lines = mime_lines(cx->data + p->body_off, p->body_len);
	hdr = d;
	ct = mime_field(hdr, hl, "Content-Type");
	if (ct != NULL) {
		i = mime_token(ct, strlen(ct), 0, &t);
		if (i < strlen(ct) && ct[i] == '/')
			i = mime_token(ct, strlen(ct), i + 1, &st);
	}
	if (!mime_is_token(t.data, t.len) || !mime_is_token(st.data, st.len)) {
		buf_reset(&t);
		buf_reset(&st);
		buf_append(&t, deftype, strcspn(deftype, "/"));
		buf_puts(&st, strchr(deftype, '/') + 1);
		if (ct == NULL && strcmp(deftype, "text/plain") == 0) {
			p->params = xcalloc(1, sizeof(*p->params));
			p->params[0].name = xstrdup("charset");
			p->params[0].value = xstrdup("US-ASCII");
			p->nparams = 1;
		}
	} else {
		mime_params(ct, strlen(ct), i, &p->params, &p->nparams);
		bd = mime_param_get(p->params, p->nparams, "boundary");
		if (bd != NULL)
			boundary = xstrdup(bd);
	}
	for (i = 0; i < t.len; i++)
		t.data[i] = (char)tolower((unsigned char)t.data[i]);
	for (i = 0; i < st.len; i++)
		st.data[i] = (char)tolower((unsigned char)st.data[i]);
	p->type = buf_release(&t);
	p->subtype = buf_release(&st);
	free(ct);
	p->id = mime_field(hdr, hl, "Content-ID");
	p->description = mime_field(hdr, hl, "Content-Description");
	p->encoding = mime_field(hdr, hl, "Content-Transfer-Encoding");
	p->md5 = mime_field(hdr, hl, "Content-MD5");
	p->language = mime_field(hdr, hl, "Content-Language");
	p->location = mime_field(hdr, hl, "Content-Location");
	cd = mime_field(hdr, hl, "Content-Disposition");
	if (cd != NULL) {
		struct buf dt = BUF_INIT;
		size_t j = mime_token(cd, strlen(cd), 0, &dt);

		mime_params(cd, strlen(cd), j, &p->dparams, &p->ndparams);
		p->disposition = buf_release(&dt);
		free(cd);
	}
	if (depth >= MIME_MAX_DEPTH) {
		free(boundary);
		return;
	}
	if (strcmp(p->type, "multipart") == 0 && boundary && *boundary)
		mime_split(cx, p, boundary, depth);
	else if (strcmp(p->type, "message") == 0 &&
	    strcmp(p->subtype, "rfc822") == 0 && cx->nparts < MIME_MAX_PARTS) {
		p->children = xcalloc(1, sizeof(*p->children));
		p->nchildren = 1;
		mime_parse_part(cx, p->children, p->body_off, p->body_len,
		    depth + 1, "text/plain");
	}
	free(boundary);
}

struct mime_part *
mime_parse(const char *data, size_t len)
{
	struct mime_ctx cx = { data, 0 };
	struct mime_part *root = xcalloc(1, sizeof(*root));

	mime_parse_part(&cx, root, 0, len, 0, "text/plain");
	return root;
}

static void
mime_part_clear(struct mime_part *p)
{
	size_t i;

	for (i = 0; i < p->nchildren; i++)
		mime_part_clear(&p->children[i]);
	free(p->children);
	free(p->type);
	free(p->subtype);
	mime_params_free(p->params, p->nparams);
	mime_params_free(p->dparams, p->ndparams);
	free(p->id);
	free(p->description);
	free(p->encoding);
	free(p->disposition);
	free(p->language);
	free(p->location);
	free(p->md5);
}

void
mime_free(struct mime_part **root)
{
	if (*root == NULL)
		return;
	mime_part_clear(*root);
	free(*root);
	*root = NULL;
}

const struct mime_part *
mime_find_part(const struct mime_part *root, const unsigned *parts,
    size_t nparts)
{
	const struct mime_part *p = root;
	size_t i;

	for (i = 0; i < nparts; i++) {
		/* a message/rfc822 part's subparts are its message's */
		if (strcmp(p->type, "message") == 0 && p->nchildren == 1 &&
		    strcmp(p->subtype, "rfc822") == 0 && i > 0)
			p = &p->children[0];
		if (strcmp(p->type, "multipart") == 0 && p->nchildren > 0) {
			if (parts[i] < 1 || parts[i] > p->nchildren)
				return NULL;
			p = &p->children[parts[i] - 1];
		} else if (parts[i] != 1) {
			return NULL;
		}
	}
	return p;
}

int
mime_part_decodable(const struct mime_part *part)
{
	const char *e = part->encoding;

	return e == NULL || strcasecmp(e, "7bit") == 0 ||
	    strcasecmp(e, "8bit") == 0 || strcasecmp(e, "binary") == 0 ||
	    strcasecmp(e, "base64") == 0 ||
	    strcasecmp(e, "quoted-printable") == 0;
}

int
mime_part_decode(const struct mime_part *part, const char *data,
    struct buf *out)
{
	const char *e = part->encoding;
	const char *body = data + part->body_off;

	if (!mime_part_decodable(part))
		return -1;
	if (e == NULL || strcasecmp(e, "7bit") == 0 ||
	    strcasecmp(e, "8bit") == 0 || strcasecmp(e, "binary") == 0)
		buf_append(out, body, part->body_len);
	else if (strcasecmp(e, "base64") == 0)
		mime_decode_b64(body, part->body_len, out);
	else
		mime_decode_qp(body, part->body_len, 0, out);
	return 0;
}

void
mime_body_text(const struct mime_part *part, const char *data, struct buf *out)
{
	size_t i;

	if (part->nchildren > 0) {
		for (i = 0; i < part->nchildren; i++)
			mime_body_text(&part->children[i], data, out);
		return;
	}
	if (strcmp(part->type, "text") != 0)
		return;
	if (part->encoding && strcasecmp(part->encoding, "base64") == 0)
		mime_decode_b64(data + part->body_off, part->body_len, out);
	else if (part->encoding &&
	    strcasecmp(part->encoding, "quoted-printable") == 0)
		mime_decode_qp(data + part->body_off, part->body_len, 0, out);
	else
		buf_append(out, data + part->body_off, part->body_len);
	buf_putc(out, '\n');
}

/*
 * fetch - FETCH items: parse the attribute list once, then render
 * each message from its index record, the FETCH cache (ENVELOPE, BODY,
 * BODYSTRUCTURE) and, only for sections, the message file.
 *
 * Memory: a section that is a byte range of the file (BODY[], RFC822,
 * BINARY[] of the whole message, a part's body, HEADER, TEXT, MIME, and
 * their partials) is never held: its literal is read from the file with
 * pread, FETCH_CHUNK bytes at a time, into the session's output, which
 * is flushed every FETCH_STREAM_AT bytes.  Only what must be built is
 * built in memory: HEADER.FIELDS (a header's size), PREVIEW, and
 * BINARY[part] of a part with a transfer encoding (the decoded part).
 * The file is mapped only to find a part's range (MIME parsing), never
 * for the whole message or its partials.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <unistd.h>

#include "date.h"
#include "fd.h"
#include "imapd.h"
#include "fetch.h"
#include "log.h"
#include "mime.h"
#include "prange.h"
#include "xalloc.h"

enum fetch_kind {
	F_FLAGS,
	F_INTERNALDATE,
	F_SIZE,
	F_UID,
	F_ENVELOPE,
	F_BODY,
	F_BODYSTRUCTURE,
	F_MODSEQ,
	F_SECTION,
	F_SAVEDATE,
	F_EMAILID,
	F_THREADID,
	F_PREVIEW,
	F_BINARY,
	F_BINSIZE,
};

#define FETCH_PREVIEW_CHARS 256 /* RFC 8970 3: at most 256 characters */

enum fetch_sect {
	S_ALL,
	S_HEADER,
	S_FIELDS,
	S_FIELDS_NOT,
	S_TEXT,
	S_MIME,
};

#define FETCH_MAX_PARTS 32

struct fetch_item {
	enum fetch_kind kind;
	/* F_SECTION */
	int peek;
	enum fetch_sect sect;
	unsigned parts[FETCH_MAX_PARTS];
	size_t nparts;
	char **fields;
	size_t nfields;
	int partial;
	uint64_t poff, plen;
	char *label; /* response name, e.g. "BODY[HEADER]" */
};

struct fetch_req {
	struct fetch_item *items;
	size_t n;
	uint64_t changedsince; /* (CHANGEDSINCE n) modifier, 0: none */
	int vanished;	       /* (VANISHED) modifier (QRESYNC) */
	int has_partial;       /* (PARTIAL range) modifier (RFC 9394) */
	struct prange partial;
	struct imap_session *stream; /* flush its output between items */
	fetch_flush_fn *flush;
};

/* fetch_crd - the FETCH cache's reader: one per process, kept from
 * command to command (a FETCH 1:* ENVELOPE walks the cache once) */
static struct store_crd *fetch_crd;

#define FETCH_STREAM_AT (256 * 1024)
#define FETCH_CHUNK (64 * 1024) /* bytes read from a file at once */

/* the message file: fd for ranges, data (mapped) for parsing */
struct fetch_src {
	int fd;
	size_t len;
	const char *data; /* NULL until a header or part is needed */
	size_t maplen;
	size_t hdr_len; /* the message's header, once found */
	int hdr_found;
	struct mime_part *root; /* parsed only to find a part */
};

static void
fetch_add(struct fetch_req *r, enum fetch_kind k)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->items[i].kind == k && k != F_SECTION && k != F_BINARY &&
		    k != F_BINSIZE)
			return;
	r->items = xreallocarray(r->items, r->n + 1, sizeof(*r->items));
	memset(&r->items[r->n], 0, sizeof(r->items[r->n]));
	r->items[r->n++].kind = k;
}

/* fetch_fields - "(From To)" into it->fields; -1 bad */
static int
fetch_fields(struct fetch_item *it, const char *p, const char **end_r)
{
	const char *s;

	while (*p == ' ')
		p++;
	if (*p++ != '(')
		return -1;
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == ')')
			break;
		s = p;
		if (*p == '"') {
			s = ++p;
			while (*p && *p != '"')
				p++;
			if (*p != '"')
				return -1;
		} else {
			while (*p && *p != ' ' && *p != ')')
				p++;
		}
		if (p == s)
			return -1;
		it->fields = xreallocarray(it->fields, it->nfields + 1,
		    sizeof(*it->fields));
		it->fields[it->nfields++] = xstrndup(s, (size_t)(p - s));
		if (*p == '"')
			p++;
	}
	if (it->nfields == 0)
		return -1;
	*end_r = p + 1;
	return 0;
}

/* fetch_section - parse "1.2.HEADER.FIELDS (A B)" up to ']' */
static int
fetch_section(struct fetch_item *it, const char *p, const char **end_r)
{
	char *e;
	unsigned long v;

	while (isdigit((unsigned char)*p)) {
		v = strtoul(p, &e, 10);
		if (v == 0 || v > 100000 || it->nparts == FETCH_MAX_PARTS)
			return -1;
		it->parts[it->nparts++] = (unsigned)v;
		p = e;
		if (*p == '.')
			p++;
		else if (*p != ']')
			return -1;
	}
	if (*p == ']')
		it->sect = S_ALL;
	else if (strncasecmp(p, "HEADER.FIELDS.NOT", 17) == 0) {
		it->sect = S_FIELDS_NOT;
		if (fetch_fields(it, p + 17, &p) < 0)
			return -1;
	} else if (strncasecmp(p, "HEADER.FIELDS", 13) == 0) {
		it->sect = S_FIELDS;
		if (fetch_fields(it, p + 13, &p) < 0)
			return -1;
	} else if (strncasecmp(p, "HEADER", 6) == 0) {
		it->sect = S_HEADER;
		p += 6;
	} else if (strncasecmp(p, "TEXT", 4) == 0) {
		it->sect = S_TEXT;
		p += 4;
	} else if (strncasecmp(p, "MIME", 4) == 0 && it->nparts > 0) {
		it->sect = S_MIME;
		p += 4;
	} else {
		return -1;
	}
	if (*p != ']')
		return -1;
	*end_r = p + 1;
	return 0;
}

/* fetch_label - the response name of a section item */
static void
fetch_label(struct fetch_item *it)
{
	static const char *names[] = { "", "HEADER", "HEADER.FIELDS",
		"HEADER.FIELDS.NOT", "TEXT", "MIME" };
	struct buf b = BUF_INIT;
	size_t i;

	buf_puts(&b, "BODY[");
	for (i = 0; i < it->nparts; i++)
		buf_printf(&b, "%s%u", i ? "." : "", it->parts[i]);
	if (it->sect != S_ALL)
		buf_printf(&b, "%s%s", it->nparts ? "." : "", names[it->sect]);
	if (it->nfields) {
		buf_puts(&b, " (");
		for (i = 0; i < it->nfields; i++) {
			char *f = it->fields[i], *q;

			for (q = f; *q; q++)
				*q = (char)toupper((unsigned char)*q);
			buf_printf(&b, "%s%s", i ? " " : "", f);
		}
		buf_putc(&b, ')');
	}
	buf_putc(&b, ']');
	if (it->partial)
		buf_printf(&b, "<%llu>", (unsigned long long)it->poff);
	it->label = buf_release(&b);
}

/* fetch_partial - "<offset.length>" at p (32-bit numbers, length not 0);
 * *end_r after the '>' */
static int
fetch_partial(struct fetch_item *it, const char *p, const char **end_r)
{
	const char *dot = strchr(p, '.'), *gt;

	if (*p != '<' || dot == NULL || (gt = strchr(dot, '>')) == NULL)
		return -1;
	if (imapp_number(p + 1, (size_t)(dot - p - 1), 0, IMAPP_NUMBER_MAX,
		&it->poff) < 0 ||
	    imapp_number(dot + 1, (size_t)(gt - dot - 1), 1, IMAPP_NUMBER_MAX,
		&it->plen) < 0)
		return -1;
	it->partial = 1;
	*end_r = gt + 1;
	return 0;
}

/* fetch_body_item - BODY[...]<o.l> or BODY.PEEK[...] */
static int
fetch_body_item(struct fetch_req *r, const char *a)
{
	struct fetch_item *it;
	const char *p;

	fetch_add(r, F_SECTION);
	it = &r->items[r->n - 1];
	if (strncasecmp(a, "BODY.PEEK[", 10) == 0) {
		it->peek = 1;
		p = a + 10;
	} else {
		p = a + 5;
	}
	if (fetch_section(it, p, &p) < 0)
		return -1;
	if (*p == '<' && fetch_partial(it, p, &p) < 0)
		return -1;
	if (*p != '\0')
		return -1;
	fetch_label(it);
	return 0;
}

/* fetch_binary_item - BINARY[1.2]<o.l>, BINARY.PEEK[...], BINARY.SIZE[...]
 * (RFC 3516): a part number or none */
static int
fetch_binary_item(struct fetch_req *r, const char *a)
{
	struct fetch_item *it;
	struct buf b = BUF_INIT;
	const char *p;
	uint64_t v;
	size_t i;
	int size = strncasecmp(a, "BINARY.SIZE[", 12) == 0;

	fetch_add(r, size ? F_BINSIZE : F_BINARY);
	it = &r->items[r->n - 1];
	if (size)
		p = a + 12;
	else if (strncasecmp(a, "BINARY.PEEK[", 12) == 0) {
		it->peek = 1;
		p = a + 12;
	} else if (strncasecmp(a, "BINARY[", 7) == 0)
		p = a + 7;
	else
		return -1;
	while (*p != ']') {
		size_t l = strspn(p, "0123456789");

		if (l == 0 || it->nparts == FETCH_MAX_PARTS ||
		    imapp_number(p, l, 1, IMAPP_NUMBER_MAX, &v) < 0)
			return -1;
		it->parts[it->nparts++] = (unsigned)v;
		p += l;
		if (*p == '.')
			p++;
		else if (*p != ']')
			return -1;
	}
	p++;
	if (!size && *p == '<' && fetch_partial(it, p, &p) < 0)
		return -1;
	if (*p != '\0')
		return -1;
	buf_puts(&b, size ? "BINARY.SIZE[" : "BINARY[");
	for (i = 0; i < it->nparts; i++)
		buf_printf(&b, "%s%u", i ? "." : "", it->parts[i]);
	buf_putc(&b, ']');
	if (it->partial)
		buf_printf(&b, "<%llu>", (unsigned long long)it->poff);
	it->label = buf_release(&b);
	return 0;
}

/* fetch_rfc822 - RFC822, RFC822.HEADER, RFC822.TEXT as sections */
static void
fetch_rfc822(struct fetch_req *r, enum fetch_sect sect, int peek,
    const char *label)
{
	fetch_add(r, F_SECTION);
	r->items[r->n - 1].sect = sect;
	r->items[r->n - 1].peek = peek;
	r->items[r->n - 1].label = xstrdup(label);
}

static int
fetch_one(struct fetch_req *r, const struct imapp_arg *arg)
{
	const char *a = arg->str;

	if (arg->type != IMAPP_ATOM)
		return -1;
	if (strcasecmp(a, "ALL") == 0 || strcasecmp(a, "FAST") == 0 ||
	    strcasecmp(a, "FULL") == 0) {
		fetch_add(r, F_FLAGS);
		fetch_add(r, F_INTERNALDATE);
		fetch_add(r, F_SIZE);
		if (strcasecmp(a, "FAST") != 0)
			fetch_add(r, F_ENVELOPE);
		if (strcasecmp(a, "FULL") == 0)
			fetch_add(r, F_BODY);
	} else if (strcasecmp(a, "FLAGS") == 0)
		fetch_add(r, F_FLAGS);
	else if (strcasecmp(a, "INTERNALDATE") == 0)
		fetch_add(r, F_INTERNALDATE);
	else if (strcasecmp(a, "RFC822.SIZE") == 0)
		fetch_add(r, F_SIZE);
	else if (strcasecmp(a, "UID") == 0)
		fetch_add(r, F_UID);
	else if (strcasecmp(a, "ENVELOPE") == 0)
		fetch_add(r, F_ENVELOPE);
	else if (strcasecmp(a, "BODY") == 0)
		fetch_add(r, F_BODY);
	else if (strcasecmp(a, "BODYSTRUCTURE") == 0)
		fetch_add(r, F_BODYSTRUCTURE);
	else if (strcasecmp(a, "MODSEQ") == 0)
		fetch_add(r, F_MODSEQ);
	else if (strcasecmp(a, "SAVEDATE") == 0)
		fetch_add(r, F_SAVEDATE);
	else if (strcasecmp(a, "EMAILID") == 0)
		fetch_add(r, F_EMAILID);
	else if (strcasecmp(a, "THREADID") == 0)
		fetch_add(r, F_THREADID);
	else if (strcasecmp(a, "PREVIEW") == 0)
		fetch_add(r, F_PREVIEW);
	else if (strncasecmp(a, "BINARY", 6) == 0)
		return fetch_binary_item(r, a);
	else if (strcasecmp(a, "RFC822") == 0)
		fetch_rfc822(r, S_ALL, 0, "RFC822");
	else if (strcasecmp(a, "RFC822.HEADER") == 0)
		fetch_rfc822(r, S_HEADER, 1, "RFC822.HEADER");
	else if (strcasecmp(a, "RFC822.TEXT") == 0)
		fetch_rfc822(r, S_TEXT, 0, "RFC822.TEXT");
	else if (strncasecmp(a, "BODY[", 5) == 0 ||
	    strncasecmp(a, "BODY.PEEK[", 10) == 0)
		return fetch_body_item(r, a);
	else
		return -1;
	return 0;
}

/* fetch_modifiers - "(CHANGEDSINCE n [VANISHED])" (RFC 7162 3.1.4.1,
 * 3.2.6) and "(PARTIAL range)" (RFC 9394 3.3), in any order, each once;
 * CHANGEDSINCE implies MODSEQ; VANISHED needs it (the caller checks UID
 * and QRESYNC, and that PARTIAL comes with UID FETCH) */
static int
fetch_modifiers(struct fetch_req *r, const struct imapp_arg *m,
    const char **error_r)
{
	size_t i;

	if (m->type != IMAPP_LIST || m->nlist == 0) {
		*error_r = "FETCH modifiers must be a parenthesised list";
		return -1;
	}
	for (i = 0; i < m->nlist; i += 2) {
		const struct imapp_arg *k = &m->list[i], *v = k + 1;

		if (k->type == IMAPP_ATOM && !r->vanished &&
		    strcasecmp(k->str, "VANISHED") == 0) {
			r->vanished = 1;
			i--;
			continue;
		}
		if (k->type == IMAPP_ATOM && !r->has_partial &&
		    strcasecmp(k->str, "PARTIAL") == 0) {
			if (i + 1 >= m->nlist || v->type != IMAPP_ATOM) {
				*error_r = "PARTIAL needs a range m:n or -m:-n";
				return -1;
			}
			if (prange_parse(v->str, v->len, &r->partial, error_r) <
			    0)
				return -1;
			r->has_partial = 1;
			continue;
		}
		if (k->type != IMAPP_ATOM ||
		    strcasecmp(k->str, "CHANGEDSINCE") != 0) {
			*error_r = "Unknown FETCH modifier";
			return -1;
		}
		if (i + 1 >= m->nlist || v->type != IMAPP_ATOM ||
		    r->changedsince != 0 ||
		    imapp_number(v->str, v->len, 1, IMAPP_MODSEQ_MAX,
			&r->changedsince) < 0) {
			*error_r = "CHANGEDSINCE needs one mod-sequence "
				   "(1 to 2^63-1)";
			return -1;
		}
	}
	if (r->vanished && r->changedsince == 0) {
		*error_r = "VANISHED needs CHANGEDSINCE";
		return -1;
	}
	if (r->changedsince != 0)
		fetch_add(r, F_MODSEQ);
	return 0;
}

/* fetch_preview_mods - "(LAZY)"; -1 anything else */
static int
fetch_preview_mods(const struct imapp_arg *l)
{
	size_t i;

	if (l->nlist == 0)
		return -1;
	for (i = 0; i < l->nlist; i++)
		if (l->list[i].type != IMAPP_ATOM ||
		    strcasecmp(l->list[i].str, "LAZY") != 0)
			return -1;
	return 0;
}

struct fetch_req *
fetch_parse(const struct imapp_arg *args, size_t n, int uid_cmd,
    const char **error_r)
{
	struct fetch_req *r = xcalloc(1, sizeof(*r));
	const struct imapp_arg *list = args;
	size_t i;

	if (n == 2 && fetch_modifiers(r, &args[1], error_r) < 0) {
		fetch_free(&r);
		return NULL;
	}
	if (n == 2)
		n = 1;
	if (n == 1 && args[0].type == IMAPP_LIST) {
		list = args[0].list;
		n = args[0].nlist;
	} else if (n != 1) {
		*error_r = "FETCH needs a sequence set and one attribute or a "
			   "parenthesised list";
		fetch_free(&r);
		return NULL;
	}
	if (uid_cmd)
		fetch_add(r, F_UID);
	for (i = 0; i < n; i++) {
		/* PREVIEW (LAZY): berth always has the preview at hand */
		if (i > 0 && list[i].type == IMAPP_LIST &&
		    list[i - 1].type == IMAPP_ATOM &&
		    strcasecmp(list[i - 1].str, "PREVIEW") == 0 &&
		    fetch_preview_mods(&list[i]) == 0)
			continue;
		if (fetch_one(r, &list[i]) < 0) {
			static char msg[160];

			(void)snprintf(msg, sizeof(msg),
			    "Invalid FETCH attribute "
			    "'%.100s'",
			    list[i].type == IMAPP_LIST ? "(...)" : list[i].str);
			*error_r = msg;
			fetch_free(&r);
			return NULL;
		}
	}
	if (r->n == 0) {
		*error_r = "Empty FETCH attribute list";
		fetch_free(&r);
		return NULL;
	}
	return r;
}

int
fetch_sets_seen(const struct fetch_req *req)
{
	size_t i;

	for (i = 0; i < req->n; i++)
		if ((req->items[i].kind == F_SECTION ||
			req->items[i].kind == F_BINARY) &&
		    !req->items[i].peek)
			return 1;
	return 0;
}

int
fetch_vanished(const struct fetch_req *req)
{
	return req->vanished;
}

const struct prange *
fetch_prange(const struct fetch_req *req)
{
	return req->has_partial ? &req->partial : NULL;
}

uint64_t
fetch_changedsince(const struct fetch_req *req)
{
	return req->changedsince;
}

/* fetch_wants_kind - does req ask for an item of kind? */
static int
fetch_wants_kind(const struct fetch_req *req, enum fetch_kind kind)
{
	size_t i;

	for (i = 0; i < req->n; i++)
		if (req->items[i].kind == kind)
			return 1;
	return 0;
}

int
fetch_wants_flags(const struct fetch_req *req)
{
	return fetch_wants_kind(req, F_FLAGS);
}

int
fetch_wants_modseq(const struct fetch_req *req)
{
	return fetch_wants_kind(req, F_MODSEQ);
}

void
fetch_free(struct fetch_req **reqp)
{
	struct fetch_req *r = *reqp;
	size_t i, j;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		for (j = 0; j < r->items[i].nfields; j++)
			free(r->items[i].fields[j]);
		free(r->items[i].fields);
		free(r->items[i].label);
	}
	free(r->items);
	free(r);
	*reqp = NULL;
}

static void
fetch_internaldate(const struct store_msg *m, struct buf *out)
{
	char d[DATE_IMAP_DATETIME_LEN];

	date_format_imap_datetime(m->internaldate, m->tzoff, d);
	buf_printf(out, "INTERNALDATE \"%s\"", d);
}

/* fetch_savedate - SAVEDATE (RFC 8514), UTC; NIL when not kept */
static void
fetch_savedate(const struct store_msg *m, struct buf *out)
{
	char d[DATE_IMAP_DATETIME_LEN];

	if (m->savedate == 0) {
		buf_puts(out, "SAVEDATE NIL");
		return;
	}
	date_format_imap_datetime(m->savedate, 0, d);
	buf_printf(out, "SAVEDATE \"%s\"", d);
}

/* fetch_item_maps - does the item need the mapped file (a header, or
 * the MIME structure)? */
static int
fetch_item_maps(const struct fetch_item *it)
{
	switch (it->kind) {
	case F_SECTION:
		return it->nparts > 0 || it->sect != S_ALL;
	case F_BINARY:
	case F_BINSIZE:
		return it->nparts > 0;
	case F_PREVIEW:
		return 1;
	default:
		return 0;
	}
}

/* fetch_root - the parsed message (mapping the file once) */
static const struct mime_part *
fetch_root(struct fetch_src *src)
{
	if (src->root == NULL)
		src->root = mime_parse(src->data, src->maplen);
	return src->root;
}

/* fetch_hdr_len - the length of the message's header with its blank
 * line, as mime_parse finds it; reads (touches) the header only */
static size_t
fetch_hdr_len(struct fetch_src *src)
{
	const char *d = src->data;
	size_t i, len = src->maplen;

	if (src->hdr_found)
		return src->hdr_len;
	src->hdr_found = 1;
	src->hdr_len = len;
	if (len > 0 && d[0] == '\n')
		src->hdr_len = 1;
	else if (len > 1 && d[0] == '\r' && d[1] == '\n')
		src->hdr_len = 2;
	else
		for (i = 0; i < len; i++) {
			if (d[i] != '\n')
				continue;
			if (i + 1 < len && d[i + 1] == '\n') {
				src->hdr_len = i + 2;
				break;
			}
			if (i + 2 < len && d[i + 1] == '\r' &&
			    d[i + 2] == '\n') {
				src->hdr_len = i + 3;
				break;
			}
		}
	return src->hdr_len;
}

/*
 * fetch_section_range - the section as a byte range of the file; 0, or
 * 1 when it is no range (HEADER.FIELDS: the caller builds it), or -1
 * when the message has no such part (empty)
 */
static int
fetch_section_range(const struct fetch_item *it, struct fetch_src *src,
    size_t *off_r, size_t *n_r)
{
	const struct mime_part *p;

	if (it->nparts == 0 && it->sect == S_ALL) {
		*off_r = 0;
		*n_r = src->len;
		return 0;
	}
	if (it->nparts == 0) {
		/* the message's own header and text: no parsing */
		*off_r = it->sect == S_TEXT ? fetch_hdr_len(src) : 0;
		*n_r = it->sect == S_TEXT ? src->maplen - *off_r
					  : fetch_hdr_len(src);
		return it->sect == S_FIELDS || it->sect == S_FIELDS_NOT ? 1
		    : it->sect == S_HEADER || it->sect == S_TEXT	? 0
									: -1;
	}
	p = mime_find_part(fetch_root(src), it->parts, it->nparts);
	if (p == NULL)
		return -1;
	if (it->sect == S_MIME || it->sect == S_ALL) {
		*off_r = it->sect == S_MIME ? p->hdr_off : p->body_off;
		*n_r = it->sect == S_MIME ? p->hdr_len : p->body_len;
		return 0;
	}
	/* HEADER, TEXT and the fields of a part: of its enclosed message */
	if (strcmp(p->type, "message") != 0 || p->nchildren != 1)
		return -1;
	p = &p->children[0];
	*off_r = it->sect == S_TEXT ? p->body_off : p->hdr_off;
	*n_r = it->sect == S_TEXT ? p->body_len : p->hdr_len;
	return it->sect == S_FIELDS || it->sect == S_FIELDS_NOT ? 1 : 0;
}

/* fetch_partial_range - narrow [off, off+n) to the item's <o.l> */
static void
fetch_partial_range(const struct fetch_item *it, size_t *off, size_t *n)
{
	size_t skip;

	if (!it->partial)
		return;
	skip = it->poff < *n ? (size_t)it->poff : *n;
	*off += skip;
	*n -= skip;
	if (*n > it->plen)
		*n = (size_t)it->plen;
}

/* fetch_read - n bytes of the file at off into p; a file shorter than
 * its record (it cannot change: content-addressed) reads as blanks, so
 * the literal already announced keeps its length */
static void
fetch_read(struct fetch_src *src, char *p, size_t off, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = pread(src->fd, p + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			log_error("fetch read: %s",
			    r < 0 ? strerror(errno)
				  : "file shorter than its record");
			memset(p + got, ' ', n - got);
			return;
		}
		got += (size_t)r;
	}
}

/* fetch_range_has_nul - does [off, off+n) hold a NUL (BINARY: literal8)? */
static int
fetch_range_has_nul(struct fetch_src *src, size_t off, size_t n)
{
	char *chunk = xmalloc(FETCH_CHUNK);
	size_t k;
	int nul = 0;

	for (; n > 0 && !nul; off += k, n -= k) {
		k = n < FETCH_CHUNK ? n : FETCH_CHUNK;
		fetch_read(src, chunk, off, k);
		nul = memchr(chunk, '\0', k) != NULL;
	}
	free(chunk);
	return nul;
}

/*
 * fetch_put_range - the literal of [off, off+n) of the file: streamed a
 * chunk at a time into the session's output, flushed as it fills, when
 * the request streams into it; else read into out at once
 */
static void
fetch_put_range(const struct fetch_req *req, struct fetch_src *src, size_t off,
    size_t n, int lit8, struct buf *out)
{
	size_t k;
	char *p;

	buf_printf(out, "%s{%zu}\r\n", lit8 ? "~" : "", n);
	if (req->stream == NULL || out != &req->stream->out) {
		if (n > 0 && (p = buf_reserve(out, n)) != NULL) {
			fetch_read(src, p, off, n);
			out->len += n;
			out->data[out->len] = '\0';
		}
		return;
	}
	for (; n > 0; off += k, n -= k) {
		k = n < FETCH_CHUNK ? n : FETCH_CHUNK;
		if ((p = buf_reserve(out, k)) == NULL)
			break;
		fetch_read(src, p, off, k);
		out->len += k;
		out->data[out->len] = '\0';
		/* a client gone: the rest is not read */
		if (out->len >= FETCH_STREAM_AT && req->flush(req->stream) < 0)
			break;
	}
}

/* fetch_render_section - one section item: a range of the file, or the
 * header fields built from the mapped header */
static void
fetch_render_section(const struct fetch_req *req, const struct fetch_item *it,
    struct fetch_src *src, struct buf *out)
{
	struct buf sec = BUF_INIT;
	size_t off = 0, n = 0;
	int r;

	buf_printf(out, "%s ", it->label);
	r = fetch_section_range(it, src, &off, &n);
	if (r == 0) {
		fetch_partial_range(it, &off, &n);
		fetch_put_range(req, src, off, n, 0, out);
		return;
	}
	if (r == 1) {
		/* off, n: the header the fields are taken from */
		mime_header_fields(src->data + off, n,
		    (const char *const *)it->fields, it->nfields,
		    it->sect == S_FIELDS_NOT, &sec);
	}
	off = 0;
	n = sec.len;
	fetch_partial_range(it, &off, &n);
	imapp_put_literal(out, sec.data ? sec.data + off : "", n);
	buf_free(&sec);
}

/*
 * fetch_render_binary - BINARY[part] / BINARY.SIZE[part]: a leaf part's
 * body with its transfer encoding undone (a literal8 when it holds a
 * NUL); the whole message, or a part that is not a leaf, as it is (a
 * range of the file).  An encoding berth does not know never comes here:
 * fetch_load refuses it first (UNKNOWN-CTE)
 */
static void
fetch_render_binary(const struct fetch_req *req, const struct fetch_item *it,
    struct fetch_src *src, struct buf *out)
{
	const struct mime_part *p = NULL;
	struct buf sec = BUF_INIT;
	size_t off = 0, n = src->len;
	int bad = 0;

	if (it->nparts > 0)
		p = mime_find_part(fetch_root(src), it->parts, it->nparts);
	buf_printf(out, "%s ", it->label);
	if (it->nparts > 0 && p == NULL) {
		n = 0;
	} else if (p != NULL && p->nchildren == 0) {
		/* decoded: built in memory */
		bad = mime_part_decode(p, src->data, &sec) < 0;
		n = bad ? 0 : sec.len;
	} else if (p != NULL) {
		off = p->body_off;
		n = p->body_len;
	}
	if (it->kind == F_BINSIZE) {
		buf_printf(out, "%zu", n);
		buf_free(&sec);
		return;
	}
	if (bad) {
		buf_puts(out, "NIL");
	} else if (p != NULL && p->nchildren == 0) {
		size_t o = 0;

		fetch_partial_range(it, &o, &n);
		if (n > 0 && memchr(sec.data + o, '\0', n) != NULL) {
			buf_printf(out, "~{%zu}\r\n", n);
			buf_append(out, sec.data + o, n);
		} else {
			imapp_put_literal(out, sec.data ? sec.data + o : "", n);
		}
	} else {
		fetch_partial_range(it, &off, &n);
		fetch_put_range(req, src, off, n,
		    fetch_range_has_nul(src, off, n), out);
	}
	buf_free(&sec);
}

/* fetch_binary_unknown - BINARY of a leaf part whose transfer encoding
 * berth cannot undo (RFC 3516 4.3: the command fails [UNKNOWN-CTE]) */
static int
fetch_binary_unknown(const struct fetch_item *it, struct fetch_src *src)
{
	const struct mime_part *p;

	if ((it->kind != F_BINARY && it->kind != F_BINSIZE) ||
	    it->nparts == 0 || src->data == NULL)
		return 0;
	p = mime_find_part(fetch_root(src), it->parts, it->nparts);
	return p != NULL && p->nchildren == 0 && !mime_part_decodable(p);
}

/* fetch_load - what the items need from the store, before any output:
 * nothing can fail once a response has started (it may be flushed).
 * The file is opened for any section; mapped only to parse it. */
static int
fetch_load(const struct fetch_req *req, struct store *st,
    const struct fetch_msg *m, const char **cached, struct fetch_src *src,
    const char **error_r)
{
	const struct store_msg *rec = m->rec;
	size_t i;

	for (i = 0; i < req->n; i++) {
		const struct fetch_item *it = &req->items[i];

		switch (it->kind) {
		case F_ENVELOPE:
		case F_BODY:
		case F_BODYSTRUCTURE:
			if (fetch_crd == NULL)
				fetch_crd = store_crd_new();
			if (cached[0] == NULL &&
			    store_msg_cache(st, fetch_crd, m->mboxid, rec,
				cached, error_r) < 0)
				return -1;
			break;
		case F_SECTION:
		case F_PREVIEW:
		case F_BINARY:
		case F_BINSIZE:
			if (src->fd < 0 &&
			    store_msg_fd(st, rec->guid, &src->fd, error_r) < 0)
				return -1;
			src->len = (size_t)rec->size;
			if (fetch_item_maps(it) && src->data == NULL &&
			    store_msg_map(st, rec->guid, &src->data,
				&src->maplen, error_r) < 0)
				return -1;
			if (fetch_binary_unknown(it, src)) {
				*error_r = "unknown content-transfer-encoding";
				return FETCH_EUNKNOWNCTE;
			}
			break;
		default:
			break;
		}
	}
	return 0;
}

/*
 * fetch_preview - PREVIEW (RFC 8970): the start of the message's text
 * (its text parts decoded, HTML tags left out, blanks folded), at most
 * FETCH_PREVIEW_CHARS characters, never a split UTF-8 sequence; NIL
 * when there is no text
 */
static void
fetch_preview(struct fetch_src *src, struct buf *out)
{
	struct buf text = BUF_INIT, p = BUF_INIT;
	size_t i, chars = 0;
	int tag = 0;

	mime_body_text(fetch_root(src), src->data, &text);
	for (i = 0; i < text.len && chars <= FETCH_PREVIEW_CHARS; i++) {
		unsigned char c = (unsigned char)text.data[i];

		if (c == '<' || (tag && c != '>')) {
			tag = 1;
			continue;
		}
		if (c == '>' && tag) {
			tag = 0;
			c = ' ';
		}
		if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ' && (p.len == 0 || p.data[p.len - 1] == ' '))
			continue;
		if ((c & 0xc0) != 0x80 && ++chars > FETCH_PREVIEW_CHARS)
			break;
		buf_putc(&p, c);
	}
	while (p.len > 0 && p.data[p.len - 1] == ' ')
		buf_truncate(&p, p.len - 1);
	buf_puts(out, "PREVIEW ");
	if (p.len == 0)
		buf_puts(out, "NIL");
	else
		imapp_put_string(out, buf_cstr(&p), p.len);
	buf_free(&text);
	buf_free(&p);
}

/* fetch_item_render - one item of the response */
static void
fetch_item_render(const struct fetch_req *req, const struct fetch_item *it,
    const struct fetch_msg *m, const char *const cached[3],
    struct fetch_src *src, struct buf *out)
{
	const struct store_msg *rec = m->rec;

	switch (it->kind) {
	case F_FLAGS:
		buf_puts(out, "FLAGS ");
		imap_flags_put(out, rec->flags, rec->keywords, m->recent);
		break;
	case F_INTERNALDATE:
		fetch_internaldate(rec, out);
		break;
	case F_SIZE:
		buf_printf(out, "RFC822.SIZE %llu",
		    (unsigned long long)rec->size);
		break;
	case F_UID:
		buf_printf(out, "UID %u", rec->uid);
		break;
	case F_SAVEDATE:
		fetch_savedate(rec, out);
		break;
	case F_EMAILID:
		/* OBJECTID (RFC 8474): messages are content-addressed, so
		 * the same message has the same id in every mailbox */
		buf_printf(out, "EMAILID (M%s)", rec->guid);
		break;
	case F_THREADID:
		buf_puts(out, "THREADID NIL");
		break;
	case F_MODSEQ:
		buf_printf(out, "MODSEQ (%llu)",
		    (unsigned long long)rec->modseq);
		break;
	case F_ENVELOPE:
		buf_puts(out, "ENVELOPE ");
		buf_puts(out, cached[0]);
		break;
	case F_BODY:
		buf_puts(out, "BODY ");
		buf_puts(out, cached[1]);
		break;
	case F_BODYSTRUCTURE:
		buf_puts(out, "BODYSTRUCTURE ");
		buf_puts(out, cached[2]);
		break;
	case F_SECTION:
		fetch_render_section(req, it, src, out);
		break;
	case F_PREVIEW:
		fetch_preview(src, out);
		break;
	case F_BINARY:
	case F_BINSIZE:
		fetch_render_binary(req, it, src, out);
		break;
	}
}

int
fetch_render(const struct fetch_req *req, struct store *st,
    const struct fetch_msg *m, int force_flags, int condstore, struct buf *out,
    const char **error_r)
{
	const struct store_msg *rec = m->rec;
	const char *cached[3] = { NULL, NULL, NULL };
	struct fetch_src src;
	size_t i;
	int flags_done = 0, r;

	memset(&src, 0, sizeof(src));
	src.fd = -1;
	r = fetch_load(req, st, m, cached, &src, error_r);
	if (r == 0) {
		buf_printf(out, "* %u FETCH (", m->msgno);
		for (i = 0; i < req->n; i++) {
			if (i > 0)
				buf_putc(out, ' ');
			fetch_item_render(req, &req->items[i], m, cached, &src,
			    out);
			flags_done |= req->items[i].kind == F_FLAGS;
			/* many large sections of one message: memory stays
			 * one section, not their sum */
			if (req->stream != NULL && out == &req->stream->out &&
			    out->len > FETCH_STREAM_AT)
				req->flush(req->stream);
		}
		if (force_flags && !flags_done) {
			buf_puts(out, " FLAGS ");
			imap_flags_put(out, rec->flags, rec->keywords,
			    m->recent);
		}
		if (condstore && !fetch_wants_modseq(req))
			buf_printf(out, " MODSEQ (%llu)",
			    (unsigned long long)rec->modseq);
		buf_puts(out, ")\r\n");
	}
	if (src.data != NULL)
		store_msg_unmap(src.data, src.maplen);
	if (src.fd >= 0)
		fd_close(src.fd);
	mime_free(&src.root);
	return r;
}

void
fetch_stream(struct fetch_req *req, struct imap_session *s,
    fetch_flush_fn *flush)
{
	req->stream = s;
	req->flush = flush;
}

/* fetch_section_put - [off, off+n) of the file, or of the fields built
 * from it, narrowed by the item's partial, onto out when at most max */
static int
fetch_section_put(const struct fetch_item *it, struct fetch_src *src, int r,
    size_t off, size_t n, size_t max, struct buf *out)
{
	struct buf sec = BUF_INIT;
	char *p;

	if (r == 1) {
		mime_header_fields(src->data + off, n,
		    (const char *const *)it->fields, it->nfields,
		    it->sect == S_FIELDS_NOT, &sec);
		off = 0;
		n = sec.len;
	}
	fetch_partial_range(it, &off, &n);
	if (n > max) {
		buf_free(&sec);
		return FETCH_ETOOBIG;
	}
	if (r == 1)
		buf_append(out, sec.data + off, n);
	else if (n > 0 && (p = buf_reserve(out, n)) != NULL) {
		fetch_read(src, p, off, n);
		out->len += n;
		out->data[out->len] = '\0';
	}
	buf_free(&sec);
	return 0;
}

int
fetch_section_get(struct store *st, const struct store_msg *rec,
    const char *section, int partial, uint64_t poff, uint64_t plen, size_t max,
    struct buf *out, const char **error_r)
{
	struct fetch_item it;
	struct fetch_src src;
	char *text = xasprintf("%s]", section != NULL ? section : "");
	const char *end;
	size_t off = 0, n = 0, i;
	int r;

	memset(&it, 0, sizeof(it));
	memset(&src, 0, sizeof(src));
	src.fd = -1;
	it.kind = F_SECTION;
	it.partial = partial;
	it.poff = poff;
	it.plen = plen > 0 ? plen : UINT64_MAX;
	if (fetch_section(&it, text, &end) < 0 || *end != '\0')
		r = FETCH_ENOSECTION;
	else if (store_msg_open(st, rec->guid, &src.fd, &src.len, error_r) <
		0 ||
	    (fetch_item_maps(&it) &&
		store_msg_map(st, rec->guid, &src.data, &src.maplen, error_r) <
		    0))
		r = -1;
	else if ((r = fetch_section_range(&it, &src, &off, &n)) < 0)
		r = FETCH_ENOSECTION; /* no such part */
	else
		r = fetch_section_put(&it, &src, r, off, n, max, out);
	if (src.data != NULL)
		store_msg_unmap(src.data, src.maplen);
	if (src.fd >= 0)
		fd_close(src.fd);
	mime_free(&src.root);
	for (i = 0; i < it.nfields; i++)
		free(it.fields[i]);
	free(it.fields);
	free(text);
	return r;
}

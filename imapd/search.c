/*
 * search - RFC 3501 SEARCH keys (and MODSEQ): a parse tree and its
 * evaluation.  Strings match as case-insensitive substrings of the
 * decoded (RFC 2047, base64/QP) UTF-8 text.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "date.h"
#include "envelope.h"
#include "search.h"
#include "mime.h"
#include "xalloc.h"

enum search_op {
	SR_ALL, SR_AND, SR_OR, SR_NOT, SR_FLAG, SR_NOFLAG, SR_KEYWORD,
	SR_NOKEYWORD, SR_NEW, SR_OLD, SR_RECENT, SR_LARGER, SR_SMALLER,
	SR_BEFORE, SR_ON, SR_SINCE, SR_SENTBEFORE, SR_SENTON, SR_SENTSINCE,
	SR_HEADER, SR_BODY, SR_TEXT, SR_SEQ, SR_UID, SR_MODSEQ,
	SR_SAVEDBEFORE, SR_SAVEDON, SR_SAVEDSINCE, SR_SAVEDATESUPPORTED,
	SR_YOUNGER, SR_OLDER, SR_EMAILID, SR_THREADID,
};

struct search_prog {
	enum search_op op;
	struct search_prog **kids;
	size_t nkids;
	uint32_t flag;
	char *str, *hdr;
	uint64_t num;
	char *set;		/* SR_SEQ / SR_UID: resolved per message */
	struct search_setcache *cache;	/* the set parsed for one '*' */
};

/* a sequence set parsed once per value of '*' (constant during one
 * SEARCH), not once per message */
struct search_setcache {
	struct imapp_seqset ss;
	uint32_t star;
	int state;		/* 0: not parsed, 1: parsed, -1: invalid */
};

struct search_parser {
	const struct imapp_arg *a;
	size_t n, i;
	const char *err;
	int depth;		/* lists, NOT and OR around this key */
};

/* nesting of parenthesised lists, NOT and OR together: bounds the stack
 * of the parser, search_match and search_free ("NOT NOT ..." spread over
 * literals could otherwise recurse a hundred thousand deep); client OR
 * chains of a few hundred terms still pass */
#define SEARCH_MAX_DEPTH 1000

static const struct {
	const char *name;
	uint32_t flag;
	int neg;
} search_flags[] = {
	{ "ANSWERED", STORE_F_ANSWERED, 0 }, { "DELETED", STORE_F_DELETED, 0 },
	{ "DRAFT", STORE_F_DRAFT, 0 }, { "FLAGGED", STORE_F_FLAGGED, 0 },
	{ "SEEN", STORE_F_SEEN, 0 }, { "UNANSWERED", STORE_F_ANSWERED, 1 },
	{ "UNDELETED", STORE_F_DELETED, 1 }, { "UNDRAFT", STORE_F_DRAFT, 1 },
	{ "UNFLAGGED", STORE_F_FLAGGED, 1 }, { "UNSEEN", STORE_F_SEEN, 1 },
};

static const char *search_hdrkeys[] = { "FROM", "TO", "CC", "BCC",
    "SUBJECT" };

static struct search_prog *
search_node(enum search_op op)
{
	struct search_prog *p = xcalloc(1, sizeof(*p));

	p->op = op;
	return p;
}

static void
search_kid(struct search_prog *p, struct search_prog *k)
{
	p->kids = xreallocarray(p->kids, p->nkids + 1, sizeof(*p->kids));
	p->kids[p->nkids++] = k;
}

/* search_arg - next argument as a string; NULL sets the error */
static const char *
search_arg(struct search_parser *ps, const char *key)
{
	static char msg[96];

	if (ps->i >= ps->n || ps->a[ps->i].type == IMAPP_LIST) {
		snprintf(msg, sizeof(msg), "%s needs an argument", key);
		ps->err = msg;
		return NULL;
	}
	if (memchr(ps->a[ps->i].str, '\0', ps->a[ps->i].len) != NULL) {
		snprintf(msg, sizeof(msg), "NUL in the argument of %s", key);
		ps->err = msg;
		return NULL;
	}
	return ps->a[ps->i++].str;
}

static int
search_is_set(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && !strchr(":,*", *s))
			return 0;
	return 1;
}

static struct search_prog *search_key(struct search_parser *ps);

/* search_keys - keys until the end of the argument array (AND) */
static struct search_prog *
search_keys(struct search_parser *ps)
{
	struct search_prog *p = search_node(SR_AND), *k;

	while (ps->i < ps->n) {
		if ((k = search_key(ps)) == NULL) {
			search_free(&p);
			return NULL;
		}
		search_kid(p, k);
	}
	if (p->nkids == 0) {
		ps->err = "Missing search keys";
		search_free(&p);
	}
	return p;
}

static struct search_prog *
search_key(struct search_parser *ps)
{
	const struct imapp_arg *a;
	struct search_prog *p, *k;
	const char *key, *v;
	static char msg[96];
	size_t i;

	if (ps->i >= ps->n) {
		ps->err = "Missing search key";
		return NULL;
	}
	if (ps->depth > SEARCH_MAX_DEPTH) {
		ps->err = "Search keys nested too deeply";
		return NULL;
	}
	a = &ps->a[ps->i++];
	if (a->type == IMAPP_LIST) {
		struct search_parser sub = { a->list, a->nlist, 0, NULL,
		    ps->depth + 1 };

		if (sub.depth > 32) {
			ps->err = "Search keys nested too deeply";
			return NULL;
		}
		p = search_keys(&sub);
		if (p == NULL)
			ps->err = sub.err;
		return p;
	}
	if (a->type != IMAPP_ATOM) {
		ps->err = "Expected a search key";
		return NULL;
	}
	key = a->str;
	if (search_is_set(key) || strcmp(key, "$") == 0) {
		p = search_node(SR_SEQ);
		p->set = xstrdup(key);
		p->cache = xcalloc(1, sizeof(*p->cache));
		return p;
	}
	for (i = 0; i < sizeof(search_flags) / sizeof(search_flags[0]); i++)
		if (strcasecmp(key, search_flags[i].name) == 0) {
			p = search_node(search_flags[i].neg ? SR_NOFLAG :
			    SR_FLAG);
			p->flag = search_flags[i].flag;
			return p;
		}
	for (i = 0; i < 5; i++)
		if (strcasecmp(key, search_hdrkeys[i]) == 0) {
			if ((v = search_arg(ps, key)) == NULL)
				return NULL;
			p = search_node(SR_HEADER);
			p->hdr = xstrdup(search_hdrkeys[i]);
			p->str = xstrdup(v);
			return p;
		}
	if (strcasecmp(key, "ALL") == 0)
		return search_node(SR_ALL);
	if (strcasecmp(key, "NEW") == 0)
		return search_node(SR_NEW);
	if (strcasecmp(key, "OLD") == 0)
		return search_node(SR_OLD);
	if (strcasecmp(key, "RECENT") == 0)
		return search_node(SR_RECENT);
	if (strcasecmp(key, "NOT") == 0) {
		ps->depth++;
		k = search_key(ps);
		ps->depth--;
		if (k == NULL)
			return NULL;
		p = search_node(SR_NOT);
		search_kid(p, k);
		return p;
	}
	if (strcasecmp(key, "OR") == 0) {
		p = search_node(SR_OR);
		for (i = 0; i < 2; i++) {
			ps->depth++;
			k = search_key(ps);
			ps->depth--;
			if (k == NULL) {
				search_free(&p);
				return NULL;
			}
			search_kid(p, k);
		}
		return p;
	}
	if (strcasecmp(key, "KEYWORD") == 0 ||
	    strcasecmp(key, "UNKEYWORD") == 0) {
		if ((v = search_arg(ps, key)) == NULL)
			return NULL;
		p = search_node(toupper((unsigned char)key[0]) == 'K' ?
		    SR_KEYWORD : SR_NOKEYWORD);
		p->str = xstrdup(v);
		return p;
	}
	if (strcasecmp(key, "LARGER") == 0 || strcasecmp(key, "SMALLER") == 0
	    || strcasecmp(key, "MODSEQ") == 0) {
		if ((v = search_arg(ps, key)) == NULL)
			return NULL;
		p = search_node(toupper((unsigned char)key[0]) == 'L' ?
		    SR_LARGER : toupper((unsigned char)key[0]) == 'S' ?
		    SR_SMALLER : SR_MODSEQ);
		if (imapp_number(v, strlen(v), 0, p->op == SR_MODSEQ ?
		    IMAPP_MODSEQ_MAX : IMAPP_NUMBER_MAX, &p->num) < 0) {
			snprintf(msg, sizeof(msg), "%s needs a number (0 to "
			    "%s)", key, p->op == SR_MODSEQ ? "2^63-1" :
			    "2^32-1");
			ps->err = msg;
			search_free(&p);
		}
		return p;
	}
	/* WITHIN (RFC 5032): INTERNALDATE within / before n seconds */
	if (strcasecmp(key, "YOUNGER") == 0 || strcasecmp(key, "OLDER") == 0) {
		if ((v = search_arg(ps, key)) == NULL)
			return NULL;
		p = search_node(toupper((unsigned char)key[0]) == 'Y' ?
		    SR_YOUNGER : SR_OLDER);
		if (imapp_number(v, strlen(v), 1, IMAPP_NUMBER_MAX,
		    &p->num) < 0) {
			snprintf(msg, sizeof(msg), "%s needs a number of "
			    "seconds (1 to 2^32-1)", key);
			ps->err = msg;
			search_free(&p);
		}
		return p;
	}
	/* OBJECTID (RFC 8474): berth gives no THREADID, so none matches */
	if (strcasecmp(key, "EMAILID") == 0 ||
	    strcasecmp(key, "THREADID") == 0) {
		if ((v = search_arg(ps, key)) == NULL)
			return NULL;
		p = search_node(toupper((unsigned char)key[0]) == 'E' ?
		    SR_EMAILID : SR_THREADID);
		p->str = xstrdup(v);
		return p;
	}
	if (strcasecmp(key, "SAVEDATESUPPORTED") == 0)
		return search_node(SR_SAVEDATESUPPORTED);
	if (strcasecmp(key, "UID") == 0) {
		if ((v = search_arg(ps, key)) == NULL)
			return NULL;
		if (!search_is_set(v) && strcmp(v, "$") != 0) {
			ps->err = "UID needs a sequence set";
			return NULL;
		}
		p = search_node(SR_UID);
		p->set = xstrdup(v);
		p->cache = xcalloc(1, sizeof(*p->cache));
		return p;
	}
	{
		static const struct { const char *n; enum search_op op; }
		    dates[] = { { "BEFORE", SR_BEFORE }, { "ON", SR_ON },
		    { "SINCE", SR_SINCE }, { "SENTBEFORE", SR_SENTBEFORE },
		    { "SENTON", SR_SENTON }, { "SENTSINCE", SR_SENTSINCE },
		    { "SAVEDBEFORE", SR_SAVEDBEFORE }, { "SAVEDON", SR_SAVEDON },
		    { "SAVEDSINCE", SR_SAVEDSINCE } };
		long long day;

		for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
			if (strcasecmp(key, dates[i].n) != 0)
				continue;
			if ((v = search_arg(ps, key)) == NULL)
				return NULL;
			if (date_parse_imap_date(v, &day) < 0) {
				snprintf(msg, sizeof(msg), "%s needs a date "
				    "such as 1-Feb-2024", key);
				ps->err = msg;
				return NULL;
			}
			p = search_node(dates[i].op);
			p->num = (uint64_t)day;
			return p;
		}
	}
	if (strcasecmp(key, "BODY") == 0 || strcasecmp(key, "TEXT") == 0) {
		if ((v = search_arg(ps, key)) == NULL)
			return NULL;
		p = search_node(toupper((unsigned char)key[0]) == 'B' ?
		    SR_BODY : SR_TEXT);
		p->str = xstrdup(v);
		return p;
	}
	if (strcasecmp(key, "HEADER") == 0) {
		const char *h = search_arg(ps, key);

		if (h == NULL || (v = search_arg(ps, key)) == NULL)
			return NULL;
		p = search_node(SR_HEADER);
		p->hdr = xstrdup(h);
		p->str = xstrdup(v);
		return p;
	}
	snprintf(msg, sizeof(msg), "Unknown search key '%.40s'", key);
	ps->err = msg;
	return NULL;
}

struct search_prog *
search_parse(const struct imapp_arg *args, size_t n, const char **error_r,
    int *badcharset_r)
{
	struct search_parser ps = { args, n, 0, NULL, 0 };
	struct search_prog *p;

	*badcharset_r = 0;
	if (n >= 2 && args[0].type == IMAPP_ATOM &&
	    strcasecmp(args[0].str, "CHARSET") == 0) {
		if (args[1].type == IMAPP_LIST ||
		    (strcasecmp(args[1].str, "UTF-8") != 0 &&
		    strcasecmp(args[1].str, "US-ASCII") != 0)) {
			*badcharset_r = 1;
			*error_r = "[BADCHARSET (US-ASCII UTF-8)] Unsupported "
			    "charset";
			return NULL;
		}
		ps.i = 2;
	}
	p = search_keys(&ps);
	if (p == NULL)
		*error_r = ps.err ? ps.err : "Invalid search";
	return p;
}

int
search_uses_modseq(const struct search_prog *p)
{
	size_t i;

	if (p->op == SR_MODSEQ)
		return 1;
	for (i = 0; i < p->nkids; i++)
		if (search_uses_modseq(p->kids[i]))
			return 1;
	return 0;
}

void
search_free(struct search_prog **pp)
{
	struct search_prog *p = *pp;
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nkids; i++)
		search_free(&p->kids[i]);
	free(p->kids);
	free(p->str);
	free(p->hdr);
	free(p->set);
	if (p->cache != NULL)
		imapp_seqset_free(&p->cache->ss);
	free(p->cache);
	free(p);
	*pp = NULL;
}

/* search_lower - ASCII lower-case s[0..len) in place */
static void
search_lower(char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
}

/* search_contains - case-insensitive (ASCII) substring; lower-cases the
 * caller's scratch hay.  memmem (two-way) is linear in hlen + nl: the
 * naive scan was hlen x nl, minutes for a megabyte key against a
 * megabyte message */
static int
search_contains(char *hay, size_t hlen, const char *needle)
{
	size_t nl = strlen(needle);
	char *n;
	int r;

	if (nl == 0)
		return 1;
	if (hay == NULL || nl > hlen)
		return 0;
	search_lower(hay, hlen);
	n = xmemdup(needle, nl);
	search_lower(n, nl);
	r = memmem(hay, hlen, n, nl) != NULL;
	free(n);
	return r;
}

static int
search_load(struct search_msg *m)
{
	const char *err;

	if (m->data != NULL)
		return 0;
	if (store_msg_map(m->st, m->rec->guid, &m->data, &m->len, &err) < 0)
		return -1;
	m->mime = mime_parse(m->data, m->len);
	return 0;
}

void
search_msg_done(struct search_msg *m)
{
	struct mime_part *root = m->mime;

	if (m->data != NULL)
		store_msg_unmap(m->data, m->len);
	mime_free(&root);
	m->data = NULL;
	m->mime = NULL;
}

static int
search_kw(const char *kws, const char *w)
{
	size_t l = strlen(w);
	const char *p = kws;

	while (*p) {
		size_t n = strcspn(p, " ");

		if (n == l && strncasecmp(p, w, l) == 0)
			return 1;
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/* search_squash - runs of blanks and line breaks into one space, in
 * place (a folded or doubly spaced name still matches) */
static size_t
search_squash(char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n') {
			if (o > 0 && s[o - 1] == ' ')
				continue;
			s[o++] = ' ';
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

/* search_is_addr - an address header (matched as written and as
 * "Name <a@b>" too) */
static int
search_is_addr(const char *h)
{
	static const char *addr[] = { "From", "To", "Cc", "Bcc", "Sender",
	    "Reply-To" };
	size_t i;

	for (i = 0; i < sizeof(addr) / sizeof(addr[0]); i++)
		if (strcasecmp(h, addr[i]) == 0)
			return 1;
	return 0;
}

/*
 * search_header - the decoded value of header p->hdr contains p->str,
 * blanks squashed on both sides; an address header is also matched as
 * its addresses written "Display Name <local@domain>", so that the whole
 * value matches whether the name was quoted, a comment or encoded
 */
static int
search_header(const struct search_prog *p, const char *hdr, size_t len)
{
	struct buf raw = BUF_INIT, b = BUF_INIT, addrs = BUF_INIT;
	char *needle = xstrdup(p->str);
	int r = 0;

	needle[search_squash(needle, strlen(needle))] = '\0';
	if (mime_header_get(hdr, len, p->hdr, 1, 0, &raw) == 0) {
		mime_decode_words(raw.data, raw.len, &b);
		if (search_is_addr(p->hdr)) {
			buf_putc(&b, 1);	/* neither side matches across */
			envelope_addr_text(raw.data, raw.len, &addrs);
			mime_decode_words(addrs.data, addrs.len, &b);
		}
		r = search_contains(b.data, b.data ? search_squash(b.data,
		    b.len) : 0, needle);
	}
	free(needle);
	buf_free(&raw);
	buf_free(&b);
	buf_free(&addrs);
	return r;
}

/* search_text - header field or body text match */
static int
search_text(const struct search_prog *p, struct search_msg *m)
{
	struct mime_part *root;
	struct buf b = BUF_INIT;
	int r = 0;

	if (search_load(m) < 0)
		return 0;
	root = m->mime;
	if (p->op == SR_HEADER || p->op == SR_TEXT) {
		if (p->op == SR_HEADER) {
			r = search_header(p, m->data + root->hdr_off,
			    root->hdr_len);
		} else {
			mime_decode_words(m->data + root->hdr_off,
			    root->hdr_len, &b);
			r = search_contains(b.data, b.data ?
			    search_squash(b.data, b.len) : 0, p->str);
		}
		buf_reset(&b);
	}
	if (!r && p->op != SR_HEADER) {
		mime_body_text(root, m->data, &b);
		r = search_contains(b.data, b.len, p->str);
	}
	buf_free(&b);
	return r;
}

static int
search_sent(const struct search_prog *p, struct search_msg *m)
{
	struct mime_part *root;
	struct buf b = BUF_INIT;
	long long t;
	int tz, r = 0;
	time_t day;

	if (search_load(m) < 0)
		return 0;
	root = m->mime;
	if (mime_header_get(m->data + root->hdr_off, root->hdr_len, "Date",
	    0, 0, &b) == 0 && date_parse_rfc5322(b.data, b.len, &t, &tz) == 0) {
		/* the date as written, ignoring its zone (RFC 3501) */
		day = (time_t)(t + tz * 60);
		day -= day % 86400;
		r = p->op == SR_SENTBEFORE ? day < (time_t)p->num :
		    p->op == SR_SENTON ? day == (time_t)p->num :
		    day >= (time_t)p->num;
	}
	buf_free(&b);
	return r;
}

static int
search_set(const struct search_prog *p, uint32_t n, uint32_t star)
{
	struct search_setcache *c = p->cache;

	if (c == NULL)
		return 0;
	if (c->state == 0 || c->star != star) {
		if (c->state == 1)
			imapp_seqset_free(&c->ss);
		c->state = imapp_seqset_parse(p->set, star, &c->ss) < 0 ?
		    -1 : 1;
		c->star = star;
	}
	return c->state == 1 && imapp_seqset_contains(&c->ss, n);
}

/* search_in_saved - is uid in the saved result "$" (SEARCHRES)? */
static int
search_in_saved(const struct search_msg *m, uint32_t uid)
{
	size_t lo = 0, hi = m->nsaved, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->saved[mid] == uid)
			return 1;
		if (m->saved[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* search_saved - SAVEDBEFORE/ON/SINCE (RFC 8514) by the save date's
 * day in UTC; a message saved before berth kept the date has none */
static int
search_saved(const struct search_prog *p, const struct store_msg *r)
{
	time_t day = (time_t)r->savedate;

	if (r->savedate == 0)
		return 0;
	day -= day % 86400;
	return p->op == SR_SAVEDBEFORE ? day < (time_t)p->num :
	    p->op == SR_SAVEDON ? day == (time_t)p->num :
	    day >= (time_t)p->num;
}

int
search_match(const struct search_prog *p, struct search_msg *m)
{
	const struct store_msg *r = m->rec;
	time_t day = (time_t)(r->internaldate + r->tzoff * 60);
	size_t i;

	day -= day % 86400;
	switch (p->op) {
	case SR_ALL: return 1;
	case SR_AND:
		for (i = 0; i < p->nkids; i++)
			if (!search_match(p->kids[i], m))
				return 0;
		return 1;
	case SR_OR:
		return search_match(p->kids[0], m) ||
		    search_match(p->kids[1], m);
	case SR_NOT: return !search_match(p->kids[0], m);
	case SR_FLAG: return (r->flags & p->flag) != 0;
	case SR_NOFLAG: return (r->flags & p->flag) == 0;
	case SR_KEYWORD: return search_kw(r->keywords, p->str);
	case SR_NOKEYWORD: return !search_kw(r->keywords, p->str);
	case SR_NEW: return m->recent && !(r->flags & STORE_F_SEEN);
	case SR_OLD: return !m->recent;
	case SR_RECENT: return m->recent;
	case SR_LARGER: return r->size > p->num;
	case SR_SMALLER: return r->size < p->num;
	case SR_MODSEQ: return r->modseq >= p->num;
	case SR_BEFORE: return day < (time_t)p->num;
	case SR_ON: return day == (time_t)p->num;
	case SR_SINCE: return day >= (time_t)p->num;
	case SR_SENTBEFORE: case SR_SENTON: case SR_SENTSINCE:
		return search_sent(p, m);
	case SR_HEADER: case SR_BODY: case SR_TEXT:
		return search_text(p, m);
	case SR_SAVEDBEFORE: case SR_SAVEDON: case SR_SAVEDSINCE:
		return search_saved(p, r);
	case SR_SAVEDATESUPPORTED: return 1;
	case SR_YOUNGER: return (int64_t)time(NULL) - r->internaldate <=
	    (int64_t)p->num;
	case SR_OLDER: return (int64_t)time(NULL) - r->internaldate >
	    (int64_t)p->num;
	case SR_EMAILID: return p->str[0] == 'M' &&
	    strcasecmp(p->str + 1, r->guid) == 0;
	case SR_THREADID: return 0;
	case SR_SEQ: case SR_UID:
		if (strcmp(p->set, "$") == 0)
			return search_in_saved(m, r->uid);
		return p->op == SR_SEQ ? search_set(p, m->msgno,
		    m->maxmsgno) : search_set(p, r->uid, m->maxuid);
	}
	return 0;
}

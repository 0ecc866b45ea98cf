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
	SR_ALL,
	SR_AND,
	SR_OR,
	SR_NOT,
	SR_FLAG,
	SR_NOFLAG,
	SR_KEYWORD,
	SR_NOKEYWORD,
	SR_NEW,
	SR_OLD,
	SR_RECENT,
	SR_LARGER,
	SR_SMALLER,
	SR_BEFORE,
	SR_ON,
	SR_SINCE,
	SR_SENTBEFORE,
	SR_SENTON,
	SR_SENTSINCE,
	SR_HEADER,
	SR_BODY,
	SR_TEXT,
	SR_SEQ,
	SR_UID,
	SR_MODSEQ,
	SR_SAVEDBEFORE,
	SR_SAVEDON,
	SR_SAVEDSINCE,
	SR_SAVEDATESUPPORTED,
	SR_YOUNGER,
	SR_OLDER,
	SR_EMAILID,
	SR_THREADID,
};

struct search_prog {
	enum search_op op;
	struct search_prog **kids;
	size_t nkids;
	uint32_t flag;
	char *str, *hdr;
	uint64_t num;
	char *set; /* SR_SEQ / SR_UID: resolved per message */
	struct search_setcache *cache; /* the set parsed for one '*' */
	struct search_answer *ans;     /* SR_TEXT / SR_BODY: from an index */
};

/* a text key answered ahead of matching (search_answer_text) */
struct search_answer {
	int ready;
	uint32_t upto;	/* UIDs up to it are answered by uids */
	uint32_t *uids; /* ascending */
	size_t n;
};

/* a sequence set parsed once per value of '*' (constant during one
 * SEARCH), not once per message */
struct search_setcache {
	struct imapp_seqset ss;
	uint32_t star;
	int state; /* 0: not parsed, 1: parsed, -1: invalid */
};

struct search_parser {
	const struct imapp_arg *a;
	size_t n, i;
	const char *err;
	int depth; /* lists, NOT and OR around this key */
};

/* nesting of parenthesised lists, NOT and OR together: bounds the stack
 * of the parser, search_match and search_free ("NOT NOT ..." spread over
 * literals could otherwise recurse a hundred thousand deep); client OR
 * chains of a few hundred terms still pass */
#define SEARCH_MAX_DEPTH 1000

/* how a key's arguments are read */
enum search_argt {
	SA_NONE,   /* none */
	SA_STRING, /* one string: str */
	SA_HEADER, /* a field name and a string: hdr, str */
	SA_NUMBER, /* a number in [min, max]: num */
	SA_DATE,   /* a date: num, the day's first second */
	SA_UIDSET, /* a sequence set or "$": set */
	SA_NOT,	   /* one search key */
	SA_OR,	   /* two search keys */
};

/* one search key: what it compiles to and how its arguments are read */
struct search_keydef {
	const char *name;
	enum search_op op;
	enum search_argt arg;
	uint32_t flag;	   /* SR_FLAG, SR_NOFLAG: which */
	const char *hdr;   /* SR_HEADER of a fixed field */
	uint64_t min, max; /* SA_NUMBER: the range, said in errors */
	const char *range;
};

#define SK_NUM32 0, IMAPP_NUMBER_MAX, "0 to 2^32-1"
#define SK_SECONDS 1, IMAPP_NUMBER_MAX, "of seconds, 1 to 2^32-1"
#define SK_MODSEQ 0, IMAPP_MODSEQ_MAX, "0 to 2^63-1"

/* RFC 3501 6.4.4, MODSEQ (RFC 7162), WITHIN (RFC 5032), SAVEDATE (RFC
 * 8514), OBJECTID (RFC 8474); sorted by name (search_keydef_find) */
static const struct search_keydef search_keydefs[] = {
	{ "ALL", SR_ALL, SA_NONE, 0, NULL, 0, 0, NULL },
	{ "ANSWERED", SR_FLAG, SA_NONE, STORE_F_ANSWERED, NULL, 0, 0, NULL },
	{ "BCC", SR_HEADER, SA_STRING, 0, "BCC", 0, 0, NULL },
	{ "BEFORE", SR_BEFORE, SA_DATE, 0, NULL, 0, 0, NULL },
	{ "BODY", SR_BODY, SA_STRING, 0, NULL, 0, 0, NULL },
	{ "CC", SR_HEADER, SA_STRING, 0, "CC", 0, 0, NULL },
	{ "DELETED", SR_FLAG, SA_NONE, STORE_F_DELETED, NULL, 0, 0, NULL },
	{ "DRAFT", SR_FLAG, SA_NONE, STORE_F_DRAFT, NULL, 0, 0, NULL },
	{ "EMAILID", SR_EMAILID, SA_STRING, 0, NULL, 0, 0, NULL },
	{ "FLAGGED", SR_FLAG, SA_NONE, STORE_F_FLAGGED, NULL, 0, 0, NULL },
	{ "FROM", SR_HEADER, SA_STRING, 0, "FROM", 0, 0, NULL },
	{ "HEADER", SR_HEADER, SA_HEADER, 0, NULL, 0, 0, NULL },
	{ "KEYWORD", SR_KEYWORD, SA_STRING, 0, NULL, 0, 0, NULL },
	{ "LARGER", SR_LARGER, SA_NUMBER, 0, NULL, SK_NUM32 },
	{ "MODSEQ", SR_MODSEQ, SA_NUMBER, 0, NULL, SK_MODSEQ },
	{ "NEW", SR_NEW, SA_NONE, 0, NULL, 0, 0, NULL },
	{ "NOT", SR_NOT, SA_NOT, 0, NULL, 0, 0, NULL },
	{ "OLD", SR_OLD, SA_NONE, 0, NULL, 0, 0, NULL },
	{ "OLDER", SR_OLDER, SA_NUMBER, 0, NULL, SK_SECONDS },
	{ "ON", SR_ON, SA_DATE, 0, NULL, 0, 0, NULL },
	{ "OR", SR_OR, SA_OR, 0, NULL, 0, 0, NULL },
	{ "RECENT", SR_RECENT, SA_NONE, 0, NULL, 0, 0, NULL },
	{ "SAVEDATESUPPORTED", SR_SAVEDATESUPPORTED, SA_NONE, 0, NULL, 0, 0,
	    NULL },
	{ "SAVEDBEFORE", SR_SAVEDBEFORE, SA_DATE, 0, NULL, 0, 0, NULL },
	{ "SAVEDON", SR_SAVEDON, SA_DATE, 0, NULL, 0, 0, NULL },
	{ "SAVEDSINCE", SR_SAVEDSINCE, SA_DATE, 0, NULL, 0, 0, NULL },
	{ "SEEN", SR_FLAG, SA_NONE, STORE_F_SEEN, NULL, 0, 0, NULL },
	{ "SENTBEFORE", SR_SENTBEFORE, SA_DATE, 0, NULL, 0, 0, NULL },
	{ "SENTON", SR_SENTON, SA_DATE, 0, NULL, 0, 0, NULL },
	{ "SENTSINCE", SR_SENTSINCE, SA_DATE, 0, NULL, 0, 0, NULL },
	{ "SINCE", SR_SINCE, SA_DATE, 0, NULL, 0, 0, NULL },
	{ "SMALLER", SR_SMALLER, SA_NUMBER, 0, NULL, SK_NUM32 },
	{ "SUBJECT", SR_HEADER, SA_STRING, 0, "SUBJECT", 0, 0, NULL },
	{ "TEXT", SR_TEXT, SA_STRING, 0, NULL, 0, 0, NULL },
	{ "THREADID", SR_THREADID, SA_STRING, 0, NULL, 0, 0, NULL },
	{ "TO", SR_HEADER, SA_STRING, 0, "TO", 0, 0, NULL },
	{ "UID", SR_UID, SA_UIDSET, 0, NULL, 0, 0, NULL },
	{ "UNANSWERED", SR_NOFLAG, SA_NONE, STORE_F_ANSWERED, NULL, 0, 0,
	    NULL },
	{ "UNDELETED", SR_NOFLAG, SA_NONE, STORE_F_DELETED, NULL, 0, 0, NULL },
	{ "UNDRAFT", SR_NOFLAG, SA_NONE, STORE_F_DRAFT, NULL, 0, 0, NULL },
	{ "UNFLAGGED", SR_NOFLAG, SA_NONE, STORE_F_FLAGGED, NULL, 0, 0, NULL },
	{ "UNKEYWORD", SR_NOKEYWORD, SA_STRING, 0, NULL, 0, 0, NULL },
	{ "UNSEEN", SR_NOFLAG, SA_NONE, STORE_F_SEEN, NULL, 0, 0, NULL },
	{ "YOUNGER", SR_YOUNGER, SA_NUMBER, 0, NULL, SK_SECONDS },
};

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
		(void)snprintf(msg, sizeof(msg), "%s needs an argument", key);
		ps->err = msg;
		return NULL;
	}
	if (memchr(ps->a[ps->i].str, '\0', ps->a[ps->i].len) != NULL) {
		(void)snprintf(msg, sizeof(msg), "NUL in the argument of %s",
		    key);
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
static void search_lower(char *s, size_t len);

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

static int
search_keydef_cmp(const void *name, const void *def)
{
	return strcasecmp(name, ((const struct search_keydef *)def)->name);
}

/* search_keydef_find - the key called name (any case), or NULL */
static const struct search_keydef *
search_keydef_find(const char *name)
{
	return bsearch(name, search_keydefs,
	    sizeof(search_keydefs) / sizeof(search_keydefs[0]),
	    sizeof(search_keydefs[0]), search_keydef_cmp);
}

/* search_set_node - SR_SEQ or SR_UID of the set s */
static struct search_prog *
search_set_node(enum search_op op, const char *s)
{
	struct search_prog *p = search_node(op);

	p->set = xstrdup(s);
	p->cache = xcalloc(1, sizeof(*p->cache));
	return p;
}

/* search_subkeys - the one (NOT) or two (OR) keys that follow */
static struct search_prog *
search_subkeys(struct search_parser *ps, const struct search_keydef *d)
{
	struct search_prog *p = search_node(d->op), *k;
	int i;

	for (i = 0; i < (d->arg == SA_OR ? 2 : 1); i++) {
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

/* search_key_args - key d with its arguments read as its table entry
 * says */
static struct search_prog *
search_key_args(struct search_parser *ps, const struct search_keydef *d)
{
	static char msg[96];
	struct search_prog *p;
	const char *v = NULL, *h = NULL;
	long long day;

	if (d->arg == SA_NOT || d->arg == SA_OR)
		return search_subkeys(ps, d);
	if (d->arg == SA_HEADER && (h = search_arg(ps, d->name)) == NULL)
		return NULL;
	if (d->arg != SA_NONE && (v = search_arg(ps, d->name)) == NULL)
		return NULL;
	if (d->arg == SA_UIDSET && !search_is_set(v) && strcmp(v, "$") != 0) {
		ps->err = "UID needs a sequence set";
		return NULL;
	}
	if (d->arg == SA_UIDSET)
		return search_set_node(d->op, v);
	if (d->arg == SA_DATE && date_parse_imap_date(v, &day) < 0) {
		(void)snprintf(msg, sizeof(msg),
		    "%s needs a date such as "
		    "1-Feb-2024",
		    d->name);
		ps->err = msg;
		return NULL;
	}
	p = search_node(d->op);
	p->flag = d->flag;
	if (d->arg == SA_DATE)
		p->num = (uint64_t)day;
	if (d->arg == SA_STRING || d->arg == SA_HEADER)
		p->str = xstrdup(v);
	if (d->op == SR_BODY || d->op == SR_TEXT) {
		search_lower(p->str, strlen(p->str)); /* as the text is */
		p->ans = xcalloc(1, sizeof(*p->ans));
	}
	if (h != NULL || d->hdr != NULL)
		p->hdr = xstrdup(h != NULL ? h : d->hdr);
	if (d->arg == SA_NUMBER &&
	    imapp_number(v, strlen(v), d->min, d->max, &p->num) < 0) {
		(void)snprintf(msg, sizeof(msg), "%s needs a number (%s)",
		    d->name, d->range);
		ps->err = msg;
		search_free(&p);
	}
	return p;
}

static struct search_prog *
search_key(struct search_parser *ps)
{
	const struct imapp_arg *a;
	const struct search_keydef *d;
	struct search_prog *p;
	static char msg[96];

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
	if (search_is_set(a->str) || strcmp(a->str, "$") == 0)
		return search_set_node(SR_SEQ, a->str);
	if ((d = search_keydef_find(a->str)) == NULL) {
		(void)snprintf(msg, sizeof(msg), "Unknown search key '%.40s'",
		    a->str);
		ps->err = msg;
		return NULL;
	}
	return search_key_args(ps, d);
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

const char *
search_volatile(const struct search_prog *p)
{
	const char *r;
	size_t i;

	switch (p->op) {
	case SR_SEQ:
		return "Message numbers change without the messages changing";
	case SR_UID:
		if (strcmp(p->set, "$") == 0)
			return "The saved result changes with the next SEARCH";
		if (strchr(p->set, '*') != NULL)
			return "'*' changes as mail arrives";
		break;
	case SR_RECENT:
	case SR_NEW:
	case SR_OLD:
		return "\\Recent changes without the messages changing";
	case SR_OLDER:
	case SR_YOUNGER:
		return "OLDER and YOUNGER change with time";
	default:
		break;
	}
	for (i = 0; i < p->nkids; i++)
		if ((r = search_volatile(p->kids[i])) != NULL)
			return r;
	return NULL;
}

int
search_has_text(const struct search_prog *p)
{
	size_t i;

	if (p->ans != NULL)
		return 1;
	for (i = 0; i < p->nkids; i++)
		if (search_has_text(p->kids[i]))
			return 1;
	return 0;
}

void
search_answer_text(const struct search_prog *p, uint32_t upto,
    search_text_fn *fn, void *ctx)
{
	struct search_answer *a = p->ans;
	size_t i;

	for (i = 0; i < p->nkids; i++)
		search_answer_text(p->kids[i], upto, fn, ctx);
	if (a == NULL || a->ready)
		return;
	if (fn(p->str, p->op == SR_TEXT, &a->uids, &a->n, ctx) == 0) {
		a->ready = 1;
		a->upto = upto;
	}
}

/* search_answered - the answer of an index for uid: 1, 0, or -1 when
 * the message must be read */
static int
search_answered(const struct search_answer *a, uint32_t uid)
{
	size_t lo = 0, hi, mid;

	if (a == NULL || !a->ready || uid > a->upto)
		return -1;
	hi = a->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a->uids[mid] == uid)
			return 1;
		if (a->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
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
	if (p->ans != NULL)
		free(p->ans->uids);
	free(p->ans);
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
	char small[256], *n;
	int r;

	if (nl == 0)
		return 1;
	if (hay == NULL || nl > hlen)
		return 0;
	search_lower(hay, hlen);
	n = nl < sizeof(small) ? memcpy(small, needle, nl)
			       : xmemdup(needle, nl);
	search_lower(n, nl);
	r = memmem(hay, hlen, n, nl) != NULL;
	if (n != small)
		free(n);
	return r;
}

static int
search_load(struct search_msg *m)
{
	const char *err;

	if (m->data != NULL)
		return 0;
	if (m->st == NULL)
		return -1;
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
	m->hdr = NULL;
	m->hdrlen = 0;
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
/* search_hbuf - search_header's scratch, reused from message to message
 * (a header SEARCH over a mailbox made four allocations a message);
 * given back when a large header grew it past SEARCH_HBUF_KEEP */
#define SEARCH_HBUF_KEEP (64 * 1024)
static struct buf search_hbuf[4] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };

static int
search_header(const struct search_prog *p, const char *hdr, size_t len)
{
	struct buf *raw = &search_hbuf[0], *b = &search_hbuf[1];
	struct buf *addrs = &search_hbuf[2], *needle = &search_hbuf[3];
	size_t i;
	int r = 0;

	for (i = 0; i < 4; i++)
		buf_reset(&search_hbuf[i]);
	buf_puts(needle, p->str);
	if (needle->data != NULL) {
		needle->len = search_squash(needle->data, needle->len);
		needle->data[needle->len] = '\0';
	}
	if (mime_header_get(hdr, len, p->hdr, 1, 0, raw) == 0) {
		mime_decode_words(raw->data, raw->len, b);
		if (search_is_addr(p->hdr)) {
			buf_putc(b, 1); /* neither side matches across */
			envelope_addr_text(raw->data, raw->len, addrs);
			mime_decode_words(addrs->data, addrs->len, b);
		}
		r = search_contains(b->data,
		    b->data ? search_squash(b->data, b->len) : 0,
		    buf_cstr(needle));
	}
	for (i = 0; i < 4; i++)
		if (search_hbuf[i].size > SEARCH_HBUF_KEEP)
			buf_free(&search_hbuf[i]);
	return r;
}

/* search_crd - the FETCH cache's reader (search_hdr): one per process,
 * kept from command to command; a SEARCH over the mailbox walks the
 * cache once */
static struct store_crd *search_crd;

/* search_hdr - the message's header block: from the store's cache,
 * without opening the file, or from the file when the cache has none */
static int
search_hdr(struct search_msg *m, const char **hdr_r, size_t *len_r)
{
	const char *err;
	int r;

	if (m->hdr == NULL) {
		if (m->st == NULL)
			return -1;
		if (search_crd == NULL)
			search_crd = store_crd_new();
		r = store_msg_header(m->st, search_crd, m->mboxid, m->rec,
		    &m->hdr, &m->hdrlen, &err);
		if (r != 0 && r != STORE_ENOENT)
			return -1;
		if (r == STORE_ENOENT) {
			if (search_load(m) < 0)
				return -1;
			m->hdr = m->data + m->mime->hdr_off;
			m->hdrlen = m->mime->hdr_len;
		}
	}
	*hdr_r = m->hdr;
	*len_r = m->hdrlen;
	return 0;
}

/* search_has - the search text hay (mime_text_*: ASCII lower-cased)
 * contains needle (lower-cased at parse time) */
static int
search_has(const char *hay, size_t hlen, const char *needle)
{
	size_t nl = strlen(needle);

	return nl == 0 ||
	    (hay != NULL && memmem(hay, hlen, needle, nl) != NULL);
}

/* search_text - header field, or TEXT / BODY: the text of the header
 * block (TEXT) or of the body's text parts (mime_text_*) */
static int
search_text(const struct search_prog *p, struct search_msg *m)
{
	struct mime_part *root;
	struct buf b = BUF_INIT;
	const char *hdr;
	size_t hlen;
	int r = 0;

	if (p->op != SR_BODY && search_hdr(m, &hdr, &hlen) < 0)
		return 0;
	if (p->op == SR_HEADER)
		return search_header(p, hdr, hlen);
	if (p->op == SR_TEXT) {
		mime_text_header(hdr, hlen, &b);
		r = search_has(b.data, b.len, p->str);
		buf_reset(&b);
	}
	if (!r && search_load(m) == 0) {
		root = m->mime;
		mime_text_body(root, m->data, &b);
		r = search_has(b.data, b.len, p->str);
	}
	buf_free(&b);
	return r;
}

static int
search_sent(const struct search_prog *p, struct search_msg *m)
{
	struct buf b = BUF_INIT;
	const char *hdr;
	size_t hlen;
	long long t;
	int tz, r = 0;
	time_t day;

	if (search_hdr(m, &hdr, &hlen) < 0)
		return 0;
	if (mime_header_get(hdr, hlen, "Date", 0, 0, &b) == 0 &&
	    date_parse_rfc5322(b.data, b.len, &t, &tz) == 0) {
		/* the date as written, ignoring its zone (RFC 3501) */
		day = (time_t)(t + tz * 60);
		day -= day % 86400;
		r = p->op == SR_SENTBEFORE ? day < (time_t)p->num
		    : p->op == SR_SENTON   ? day == (time_t)p->num
					   : day >= (time_t)p->num;
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
		c->state =
		    imapp_seqset_parse(p->set, star, &c->ss) < 0 ? -1 : 1;
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
	return p->op == SR_SAVEDBEFORE ? day < (time_t)p->num
	    : p->op == SR_SAVEDON      ? day == (time_t)p->num
				       : day >= (time_t)p->num;
}

int
search_match(const struct search_prog *p, struct search_msg *m)
{
	const struct store_msg *r = m->rec;
	time_t day = (time_t)(r->internaldate + r->tzoff * 60);
	size_t i;
	int k;

	day -= day % 86400;
	switch (p->op) {
	case SR_ALL:
		return 1;
	case SR_AND:
		for (i = 0; i < p->nkids; i++)
			if (!search_match(p->kids[i], m))
				return 0;
		return 1;
	case SR_OR:
		return search_match(p->kids[0], m) ||
		    search_match(p->kids[1], m);
	case SR_NOT:
		return !search_match(p->kids[0], m);
	case SR_FLAG:
		return (r->flags & p->flag) != 0;
	case SR_NOFLAG:
		return (r->flags & p->flag) == 0;
	case SR_KEYWORD:
		return search_kw(r->keywords, p->str);
	case SR_NOKEYWORD:
		return !search_kw(r->keywords, p->str);
	case SR_NEW:
		return m->recent && !(r->flags & STORE_F_SEEN);
	case SR_OLD:
		return !m->recent;
	case SR_RECENT:
		return m->recent;
	case SR_LARGER:
		return r->size > p->num;
	case SR_SMALLER:
		return r->size < p->num;
	case SR_MODSEQ:
		return r->modseq >= p->num;
	case SR_BEFORE:
		return day < (time_t)p->num;
	case SR_ON:
		return day == (time_t)p->num;
	case SR_SINCE:
		return day >= (time_t)p->num;
	case SR_SENTBEFORE:
	case SR_SENTON:
	case SR_SENTSINCE:
		return search_sent(p, m);
	case SR_BODY:
	case SR_TEXT:
		if ((k = search_answered(p->ans, r->uid)) >= 0)
			return k;
		return search_text(p, m);
	case SR_HEADER:
		return search_text(p, m);
	case SR_SAVEDBEFORE:
	case SR_SAVEDON:
	case SR_SAVEDSINCE:
		return search_saved(p, r);
	case SR_SAVEDATESUPPORTED:
		return 1;
	case SR_YOUNGER:
		return (int64_t)time(NULL) - r->internaldate <= (int64_t)p->num;
	case SR_OLDER:
		return (int64_t)time(NULL) - r->internaldate > (int64_t)p->num;
	case SR_EMAILID:
		return p->str[0] == 'M' && strcasecmp(p->str + 1, r->guid) == 0;
	case SR_THREADID:
		return 0;
	case SR_SEQ:
	case SR_UID:
		if (strcmp(p->set, "$") == 0)
			return search_in_saved(m, r->uid);
		return p->op == SR_SEQ ? search_set(p, m->msgno, m->maxmsgno)
				       : search_set(p, r->uid, m->maxuid);
	}
	return 0;
}

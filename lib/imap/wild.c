/*
 * wild - IMAP LIST/LSUB pattern matching as a bit-parallel NFA.
 *
 * Owns: compiling a pattern into per-byte transition masks and running
 * names through it.  Does not: canonicalise INBOX, join the reference and
 * the pattern, or decode modified UTF-7 (patterns and names are compared
 * byte for byte, as stored).  Called by LIST/LSUB (imapd/cmd_mailbox.c).
 *
 * State bit p (0 <= p <= m, m the compiled length) means "pat[0..p) has
 * matched the input so far"; bit m is acceptance.  On input byte c:
 *   literal at p equal to c:	p -> p + 1
 *   '*' at p:			p -> p
 *   '%' at p, c != delim:	p -> p
 * and every state at a wildcard also holds the state after it (the
 * wildcard matching nothing).  Runs of wildcards are collapsed first ("*%"
 * is "*", "%%" is "%"), so that closure is a single shift.  Invariant:
 * bits above m are always zero.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wild.h"
#include "xalloc.h"

struct wild {
	size_t m;    /* compiled pattern length */
	size_t nlit; /* literal bytes: a shorter name cannot match */
	size_t nw;   /* 64-bit words per state vector */
	char delim;
	uint64_t *lit;	      /* [256][nw]: literal positions per byte */
	uint64_t *star;	      /* [nw]: positions holding '*' */
	uint64_t *pct;	      /* [nw]: positions holding '%' */
	uint64_t *cur, *next; /* scratch state vectors ([nw] each) */
};

#define WILD_BIT(v, p) ((v)[(p) / 64] |= (uint64_t)1 << ((p) % 64))

/* wild_collapse - pat without runs of wildcards; returns its length */
static size_t
wild_collapse(const char *pat, size_t len, char *out)
{
	size_t i, m = 0;

	for (i = 0; i < len; i++) {
		char c = pat[i];

		if ((c == '*' || c == '%') && m > 0 &&
		    (out[m - 1] == '*' || out[m - 1] == '%')) {
			if (c == '*')
				out[m - 1] = '*';
			continue;
		}
		out[m++] = c;
	}
	return m;
}

struct wild *
wild_compile(const char *pat, size_t len, char delim)
{
	struct wild *w = xcalloc(1, sizeof(*w));
	char *cp = xmalloc(len + 1);
	size_t p;

	w->m = wild_collapse(pat, len, cp);
	w->nw = w->m / 64 + 1;
	w->delim = delim;
	w->lit = xcalloc(256 * w->nw, sizeof(*w->lit));
	w->star = xcalloc(4 * w->nw, sizeof(*w->star));
	w->pct = w->star + w->nw;
	w->cur = w->pct + w->nw;
	w->next = w->cur + w->nw;
	for (p = 0; p < w->m; p++) {
		unsigned char c = (unsigned char)cp[p];

		if (c == '*')
			WILD_BIT(w->star, p);
		else if (c == '%')
			WILD_BIT(w->pct, p);
		else {
			WILD_BIT(w->lit + c * w->nw, p);
			w->nlit++;
		}
	}
	free(cp);
	return w;
}

/* wild_close - add the state after every wildcard state (one shift:
 * wildcards are never adjacent after collapsing) */
static void
wild_close(const struct wild *w, uint64_t *v)
{
	uint64_t carry = 0, x;
	size_t i;

	for (i = 0; i < w->nw; i++) {
		x = v[i] & (w->star[i] | w->pct[i]);
		v[i] |= (x << 1) | carry;
		carry = x >> 63;
	}
}

int
wild_match(const struct wild *w, const char *name, size_t len)
{
	uint64_t *cur = w->cur, *next = w->next, *t, carry, x, any;
	const uint64_t *lit;
	size_t i, k;
	int notdelim;

	/* wildcards alternate with literals after collapsing, so this also
	 * bounds the work to len x (2 len + 1) / 64 words per name whatever
	 * the pattern's length */
	if (w->nlit > len)
		return 0;
	memset(cur, 0, w->nw * sizeof(*cur));
	cur[0] = 1;
	wild_close(w, cur);
	for (i = 0; i < len; i++) {
		lit = w->lit + (unsigned char)name[i] * w->nw;
		notdelim = name[i] != w->delim;
		carry = 0;
		any = 0;
		for (k = 0; k < w->nw; k++) {
			x = cur[k] & lit[k];
			next[k] = (x << 1) | carry | (cur[k] & w->star[k]) |
			    (notdelim ? cur[k] & w->pct[k] : 0);
			carry = x >> 63;
			any |= next[k];
		}
		if (any == 0)
			return 0;
		wild_close(w, next);
		t = cur;
		cur = next;
		next = t;
	}
	return (cur[w->m / 64] >> (w->m % 64)) & 1;
}

void
wild_free(struct wild **wp)
{
	struct wild *w = *wp;

	if (w == NULL)
		return;
	free(w->lit);
	free(w->star);
	free(w);
	*wp = NULL;
}

int
wild_match_str(const char *pat, const char *name, char delim)
{
	struct wild *w = wild_compile(pat, strlen(pat), delim);
	int r = wild_match(w, name, strlen(name));

	wild_free(&w);
	return r;
}

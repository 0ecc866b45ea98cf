/*
 * prange - RFC 9394 partial-range (prange.h).  It does not know which
 * result it pages (SEARCH hits, sorted hits, a UID FETCH's set); its
 * callers hand it the count and take the span.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "prange.h"

/* prange_num - nz-number s[0..len) up to 2^32-1 (RFC 3501 9); -1 */
static int
prange_num(const char *s, size_t len, uint32_t *n_r)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 10 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*n_r = (uint32_t)v;
	return 0;
}

int
prange_parse(const char *s, size_t len, struct prange *r, const char **error_r)
{
	const char *colon = memchr(s, ':', len), *b;
	size_t alen, blen;
	uint32_t m, n;
	int last;

	memset(r, 0, sizeof(*r));
	if (colon == NULL) {
		*error_r = "PARTIAL needs a range m:n or -m:-n";
		return -1;
	}
	alen = (size_t)(colon - s);
	b = colon + 1;
	blen = len - alen - 1;
	last = alen > 0 && s[0] == '-';
	if (last != (blen > 0 && b[0] == '-')) {
		*error_r =
		    "PARTIAL's range has a minus on both ends or on none";
		return -1;
	}
	if (prange_num(s + last, alen - (size_t)last, &m) < 0 ||
	    prange_num(b + last, blen - (size_t)last, &n) < 0) {
		*error_r = "PARTIAL's range takes positions 1 to 4294967295";
		return -1;
	}
	r->lo = m < n ? m : n;
	r->hi = m < n ? n : m;
	r->last = last;
	(void)snprintf(r->text, sizeof(r->text), last ? "-%u:-%u" : "%u:%u", m,
	    n);
	return 0;
}

void
prange_span(const struct prange *r, size_t n, size_t *from_r, size_t *to_r)
{
	size_t lo = r->lo, hi = r->hi;

	if (lo > n) {
		*from_r = *to_r = n;
		return;
	}
	if (!r->last) {
		*from_r = lo - 1;
		*to_r = hi < n ? hi : n;
		return;
	}
	/* -1 is the last entry: -lo:-hi are n-hi .. n-lo */
	*from_r = hi < n ? n - hi : 0;
	*to_r = n - lo + 1;
}

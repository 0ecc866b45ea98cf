/*
 * prange - RFC 9394's partial-range, the argument of SEARCH's RETURN
 * (PARTIAL m:n) (RFC 5267 4.4, extended by RFC 9394 3.1) and of UID
 * FETCH's (PARTIAL m:n) modifier (RFC 9394 3.3): positions in a result,
 * from 1 at its first (lowest) entry, or with a minus on both ends from
 * -1 at its last.  Pure: what a result is, the caller knows.
 */
#ifndef BERTH_IMAP_PRANGE_H
#define BERTH_IMAP_PRANGE_H

#include <stddef.h>
#include <stdint.h>

struct prange {
	uint32_t lo, hi; /* 1 <= lo <= hi: positions, or from the end */
	int last;	 /* partial-range-last: -lo:-hi, from the end */
	char text[24];	 /* the range as the client wrote it (a valid one
			  * has no leading zeros, so it is also echoed so) */
};

/*
 * prange_parse - s[0..len) as nz-number ":" nz-number or MINUS
 * nz-number ":" MINUS nz-number (either order, RFC 9394 4); 0, or -1
 * with a constant *error_r for anything else (a sign on one end only,
 * 0, a leading zero, "*", a number past 2^32-1, a single number).
 */
int prange_parse(const char *s, size_t len, struct prange *r,
    const char **error_r);
/*
 * prange_span - the entries of a result of n the range names:
 * [*from_r, *to_r), both <= n and from <= to (to == from: none)
 */
void prange_span(const struct prange *r, size_t n, size_t *from_r,
    size_t *to_r);

#endif

/*
 * wild - IMAP mailbox pattern matching (RFC 3501 6.3.8): '*' matches any
 * run of characters including the hierarchy delimiter, '%' any run
 * without it; every other byte matches itself.
 *
 * A pattern is compiled once and then matched against many names.  The
 * matcher is a bit-parallel NFA: the work per name is O(len(name) x
 * len(pattern) / 64) word operations whatever the pattern, with no
 * recursion and no backtracking (a backtracking matcher took minutes on
 * "*a*a*a*a*ab" against a long name).  Case is significant: the caller
 * canonicalises INBOX before compiling.
 */
#ifndef BERTH_WILD_H
#define BERTH_WILD_H

#include <stddef.h>

struct wild;

/* wild_compile - compile pat[0..len) with hierarchy delimiter delim;
 * never fails (xalloc); the caller owns the result */
struct wild *wild_compile(const char *pat, size_t len, char delim);
/* wild_match - does the whole of name[0..len) match?  Uses scratch
 * space in w: not for concurrent calls on one compiled pattern */
int wild_match(const struct wild *w, const char *name, size_t len);
/* wild_free - free *w and set it to NULL */
void wild_free(struct wild **w);
/* wild_match_str - compile, match once and free (for one-off checks) */
int wild_match_str(const char *pat, const char *name, char delim);

#endif

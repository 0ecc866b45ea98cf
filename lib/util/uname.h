/*
 * uname - the one rule for user names.
 *
 * authd applies it where every login passes: to the user names a
 * client's first SASL response claims (before libsasl2 sees it; the
 * penalty counters key on the result) and as libsasl2's canon_user
 * callback, which sees every mechanism's authcid and authzid.  IMAP
 * LOGIN reaches authd as PLAIN, so it gets the same rule.
 *
 * Pure: no state, no allocation, no logging; safe on authd's backend
 * threads.
 */
#ifndef BERTH_UNAME_H
#define BERTH_UNAME_H

#include <stddef.h>

#define UNAME_MAX 255 /* bytes of a canonical name */

/*
 * uname_canon - the canonical form of the user name in (len bytes, not
 * NUL-terminated, may hold NULs): surrounding spaces and tabs removed;
 * what remains must be 1..UNAME_MAX bytes of valid UTF-8 with no NUL, no
 * control character (C0, DEL, C1) and must fit out with its NUL.  Returns
 * its length, written to out (which may be in), or -1 with *error_r
 * saying what was wrong (out untouched).
 */
int uname_canon(const char *in, size_t len, char *out, size_t size,
    const char **error_r);

#endif

/*
 * mutf7 - mailbox names between modified UTF-7 (RFC 3501 5.1.3), the
 * form the store keeps, and UTF-8, the form a session that enabled
 * UTF8=ACCEPT (RFC 6855) or IMAP4rev2 (RFC 9051) speaks.  One stored form
 * means a UTF-8 client and a modified UTF-7 one see the same mailboxes.
 *
 * Conversion is glibc iconv's "UTF-7-IMAP".  Not here: the edge check of
 * the result (mboxname), INBOX, hierarchy.  Not for authd's threads
 * (one cached converter per direction, per process).
 */
#ifndef BERTH_MUTF7_H
#define BERTH_MUTF7_H

#include <stddef.h>

#include "buf.h"

/*
 * mutf7_from_utf8 - in[0..len) (UTF-8) appended to out as modified
 * UTF-7; -1 with *error_r a static reason for a BAD when in is not UTF-8
 * or holds NUL.  out is unchanged on error.
 */
int mutf7_from_utf8(const char *in, size_t len, struct buf *out,
    const char **error_r);
/*
 * mutf7_to_utf8 - in (modified UTF-7) appended to out as UTF-8; -1 when
 * in is not modified UTF-7 (out unchanged)
 */
int mutf7_to_utf8(const char *in, struct buf *out);
/* mutf7_utf8_valid - is s[0..len) well-formed UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF)? */
int mutf7_utf8_valid(const char *s, size_t len);

#endif

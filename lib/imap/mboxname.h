/*
 * mboxname - the edge check on mailbox names and LIST patterns from a
 * client: modified UTF-7 (RFC 3501 5.1.3) with no control characters.
 *
 * Accepted: printable US-ASCII except '&' as itself, "&-" for '&', and
 * "&" modified-BASE64 "-" shifts that decode to whole UTF-16 code units
 * (zero padding bits, fewer than six of them), well-formed surrogate
 * pairs, and no printable ASCII or control character (C0, DEL, C1)
 * encoded.  Refused: NUL anywhere (a literal can carry one), other
 * control characters, 8-bit bytes (no UTF8=ACCEPT), a '&' shift that is
 * empty, unterminated or outside the alphabet.  Pure function: no
 * allocation, no I/O.
 */
#ifndef BERTH_MBOXNAME_H
#define BERTH_MBOXNAME_H

#include <stddef.h>

/*
 * mboxname_check - 0 when name[0..len) is acceptable, -1 with *error_r a
 * static reason fit for a tagged BAD.  Wildcards need no flag: '*' and
 * '%' are printable ASCII (the store refuses them in names).
 */
int mboxname_check(const char *name, size_t len, const char **error_r);

#endif

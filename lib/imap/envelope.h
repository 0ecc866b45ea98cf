/*
 * envelope - IMAP's ENVELOPE of a message header (RFC 3501 7.4.2).
 */
#ifndef BERTH_ENVELOPE_H
#define BERTH_ENVELOPE_H

#include <stddef.h>

struct buf;

/* envelope_write - "(date subject from sender reply-to to cc bcc
 * in-reply-to message-id)" of the header hdr[0..len) */
void envelope_write(const char *hdr, size_t len, struct buf *out);
/* envelope_addr_text - an address list (an unfolded header value) as
 * text, for SEARCH: "Name <a@b>, c@d, Group: e@f;" with display names
 * unquoted, comment names taken as names, encoded words left as they are
 * (appends to out) */
void envelope_addr_text(const char *s, size_t len, struct buf *out);
/* envelope_addr_first - the first address of a list (an unfolded header
 * value): its display name (comment names too, encoded words as they
 * are), local part and domain, appended; nothing if there is none */
void envelope_addr_first(const char *s, size_t len, struct buf *name,
    struct buf *mbox, struct buf *host);

#endif

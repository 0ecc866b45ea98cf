/*
 * bodystructure - IMAP's BODY and BODYSTRUCTURE of a MIME part tree
 * (RFC 3501 7.4.2, lib/mail/mime).
 *
 * Invariant: whatever the tree, the text follows RFC 3501's body grammar
 * and holds no NUL (the FETCH cache separates its fields with NULs).
 */
#ifndef BERTH_BODYSTRUCTURE_H
#define BERTH_BODYSTRUCTURE_H

struct buf;
struct mime_part;

/* bodystructure_write - BODY (extended = 0) or BODYSTRUCTURE text of
 * root, a tree mime_parse made of data */
void bodystructure_write(const struct mime_part *root, const char *data,
    int extended, struct buf *out);

#endif

/*
 * mime_int - private helpers shared by the mime_*.c files.
 */
#ifndef BERTH_MIME_INT_H
#define BERTH_MIME_INT_H

#include <stddef.h>

struct buf;

/* mime_hdr_next - next field of a header at *pos: 1 and offsets, or 0 at
 * the end of the header */
int mime_hdr_next(const char *hdr, size_t len, size_t *pos, size_t *name_off,
    size_t *name_len, size_t *val_off, size_t *field_end);
void mime_unfold(const char *s, size_t len, struct buf *out);
void mime_decode_qp(const char *s, size_t len, int header, struct buf *out);
void mime_decode_b64(const char *s, size_t len, struct buf *out);
void mime_charset_utf8(const char *cs, const char *s, size_t len,
    struct buf *out);
/* mime_charset_iconv - s[0..len) in charset cs appended as UTF-8 (a byte
 * that does not convert: U+FFFD); -1, nothing appended, for an unknown
 * charset (mime_text.c) */
int mime_charset_iconv(const char *cs, const char *s, size_t len,
    struct buf *out);

#endif

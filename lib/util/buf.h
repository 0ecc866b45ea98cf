/*
 * buf - binary-safe growable byte buffer.
 *
 * A buf always keeps a NUL after its last byte, so data may be used as a C
 * string when it holds text.  A buf fed by the network is given a hard
 * maximum with buf_set_max(); appends that would pass it fail with -1 and
 * leave the buffer unchanged (the caller sends BAD or closes).  Without a
 * maximum, appends always succeed (xalloc exits on exhaustion).
 */
#ifndef BERTH_BUF_H
#define BERTH_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NULL until the first append */
	size_t len;
	size_t size;
	size_t max; /* 0: unbounded */
};

#define BUF_INIT                                                               \
	{                                                                      \
		NULL, 0, 0, 0                                                  \
	}

void buf_init(struct buf *b, size_t max);
void buf_set_max(struct buf *b, size_t max);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, int c);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* buf_reserve - make room for n more bytes; returns pointer to the tail */
char *buf_reserve(struct buf *b, size_t n);
void buf_consume(struct buf *b, size_t n); /* drop n bytes at the front */
void buf_truncate(struct buf *b, size_t len);
void buf_reset(struct buf *b);	     /* len = 0, keeps memory */
const char *buf_cstr(struct buf *b); /* never NULL */
char *buf_release(struct buf *b);    /* caller owns the string */
void buf_free(struct buf *b);	     /* frees, leaves an empty buf */

#endif

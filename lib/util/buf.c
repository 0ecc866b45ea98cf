/*
 * buf - growable binary-safe buffer with an optional hard maximum.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->size = 0;
	b->max = max;
}

void
buf_set_max(struct buf *b, size_t max)
{
	b->max = max;
}

/* buf_grow - ensure room for len + n + NUL; -1 past the maximum */
static int
buf_grow(struct buf *b, size_t n)
{
	size_t want, nsize;

	if (n > ((size_t)-1) / 2 - b->len)
		return -1;
	want = b->len + n;
	if (b->max && want > b->max)
		return -1;
	if (want + 1 <= b->size)
		return 0;
	nsize = b->size ? b->size : 64;
	while (nsize < want + 1)
		nsize *= 2;
	b->data = xrealloc(b->data, nsize);
	b->size = nsize;
	return 0;
}

char *
buf_reserve(struct buf *b, size_t n)
{
	if (buf_grow(b, n) < 0)
		return NULL;
	return b->data + b->len;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_putc(struct buf *b, int c)
{
	char ch = (char)c;

	return buf_append(b, &ch, 1);
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_grow(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

const char *
buf_cstr(struct buf *b)
{
	return b->data ? b->data : "";
}

char *
buf_release(struct buf *b)
{
	char *s = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->size = 0;
	return s;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->size = 0;
}

/*
 * xalloc - allocation that never returns NULL.
 *
 * Out of memory is an environment failure: the process logs and exits
 * (the master throttles restarts).  Callers never test for NULL.
 */
#ifndef BERTH_XALLOC_H
#define BERTH_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* xfree - free *p and set it to NULL */
#define xfree(p)                                                               \
	do {                                                                   \
		free(*(p));                                                    \
		*(p) = NULL;                                                   \
	} while (0)

/* xqsort - qsort(3) of an array that may be empty, and then NULL (as
 * an array grown by xreallocarray starts): qsort's base must not be
 * NULL even for no elements */
void xqsort(void *base, size_t nmemb, size_t size,
    int (*cmp)(const void *, const void *));

/* secure_zero - clear a secret so the compiler cannot elide it */
void secure_zero(void *p, size_t n);

#endif

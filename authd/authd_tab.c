/*
 * authd_tab - the hash table under every authd index: byte-string keys,
 * each with a pointer value and a number (a count or a time).
 *
 * Chained buckets, doubled when as full as they are long.  An entry whose
 * number drops to 0 and that has no value is removed by authd_tab_add,
 * so count tables shrink by themselves.  Iteration tolerates removing the
 * entry just returned.  Main thread only.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "xalloc.h"

struct authd_tab_ent {
	struct authd_tab_ent *next;
	uint64_t hash;
	void *val;
	long long num;
	size_t len;
	unsigned char key[];
};

struct authd_tab {
	struct authd_tab_ent **b;
	size_t size, count;
};

/* authd_tab_hash - FNV-1a */
static uint64_t
authd_tab_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct authd_tab *
authd_tab_new(void)
{
	struct authd_tab *t = xcalloc(1, sizeof(*t));

	t->size = 64;
	t->b = xcalloc(t->size, sizeof(*t->b));
	return t;
}

void
authd_tab_free(struct authd_tab **tp)
{
	struct authd_tab *t = *tp;
	struct authd_tab_ent *e, *next;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->size; i++)
		for (e = t->b[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(t->b);
	free(t);
	*tp = NULL;
}

static struct authd_tab_ent **
authd_tab_slot(struct authd_tab *t, const void *key, size_t len)
{
	uint64_t h = authd_tab_hash(key, len);
	struct authd_tab_ent **pp;

	for (pp = &t->b[h & (t->size - 1)]; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->len == len &&
		    memcmp((*pp)->key, key, len) == 0)
			break;
	return pp;
}

static void
authd_tab_grow(struct authd_tab *t)
{
	struct authd_tab_ent **old = t->b, *e, *next;
	size_t oldsize = t->size, i;

	t->size *= 2;
	t->b = xcalloc(t->size, sizeof(*t->b));
	for (i = 0; i < oldsize; i++)
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			e->next = t->b[e->hash & (t->size - 1)];
			t->b[e->hash & (t->size - 1)] = e;
		}
	free(old);
}

/* authd_tab_make - the entry for key, created empty if absent */
static struct authd_tab_ent *
authd_tab_make(struct authd_tab *t, const void *key, size_t len)
{
	struct authd_tab_ent **pp = authd_tab_slot(t, key, len), *e;

	if (*pp != NULL)
		return *pp;
	if (t->count >= t->size) {
		authd_tab_grow(t);
		pp = authd_tab_slot(t, key, len);
	}
	e = xcalloc(1, sizeof(*e) + len);
	e->hash = authd_tab_hash(key, len);
	e->len = len;
	memcpy(e->key, key, len);
	*pp = e;
	t->count++;
	return e;
}

void *
authd_tab_get(struct authd_tab *t, const void *key, size_t len)
{
	struct authd_tab_ent *e = *authd_tab_slot(t, key, len);

	return e ? e->val : NULL;
}

void
authd_tab_put(struct authd_tab *t, const void *key, size_t len, void *val)
{
	authd_tab_make(t, key, len)->val = val;
}

void *
authd_tab_del(struct authd_tab *t, const void *key, size_t len)
{
	struct authd_tab_ent **pp = authd_tab_slot(t, key, len), *e = *pp;
	void *val;

	if (e == NULL)
		return NULL;
	val = e->val;
	*pp = e->next;
	free(e);
	t->count--;
	return val;
}

long long
authd_tab_num(struct authd_tab *t, const void *key, size_t len)
{
	struct authd_tab_ent *e = *authd_tab_slot(t, key, len);

	return e ? e->num : 0;
}

long long
authd_tab_add(struct authd_tab *t, const void *key, size_t len,
    long long delta)
{
	struct authd_tab_ent *e = authd_tab_make(t, key, len);
	long long n;

	e->num += delta;
	n = e->num;
	if (n == 0 && e->val == NULL)
		authd_tab_del(t, key, len);
	return n;
}

void
authd_tab_set_num(struct authd_tab *t, const void *key, size_t len,
    long long num)
{
	authd_tab_make(t, key, len)->num = num;
}

size_t
authd_tab_count(const struct authd_tab *t)
{
	return t->count;
}

int
authd_tab_next(struct authd_tab *t, struct authd_tab_iter *it,
    const void **key_r, size_t *len_r, void **val_r, long long *num_r)
{
	struct authd_tab_ent *e = it->next;

	while (e == NULL) {
		if (it->bucket >= t->size)
			return 0;
		e = t->b[it->bucket++];
	}
	it->next = e->next;	/* e may be removed by the caller */
	if (key_r)
		*key_r = e->key;
	if (len_r)
		*len_r = e->len;
	if (val_r)
		*val_r = e->val;
	if (num_r)
		*num_r = e->num;
	return 1;
}

/*
 * htab - the hash table (see htab.h).
 *
 * Chained buckets, doubled when as full as they are long; FNV-1a.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "xalloc.h"

struct htab_ent {
	struct htab_ent *next;
	uint64_t hash;
	void *val;
	long long num;
	size_t len;
	unsigned char key[];
};

struct htab {
	struct htab_ent **b;
	size_t size, count;
};

/* htab_hash - FNV-1a */
static uint64_t
htab_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct htab *
htab_new(void)
{
	struct htab *t = xcalloc(1, sizeof(*t));

	t->size = 64;
	t->b = xcalloc(t->size, sizeof(*t->b));
	return t;
}

void
htab_free(struct htab **tp)
{
	struct htab *t = *tp;
	struct htab_ent *e, *next;
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

static struct htab_ent **
htab_slot(struct htab *t, const void *key, size_t len)
{
	uint64_t h = htab_hash(key, len);
	struct htab_ent **pp;

	for (pp = &t->b[h & (t->size - 1)]; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->len == len &&
		    memcmp((*pp)->key, key, len) == 0)
			break;
	return pp;
}

static void
htab_grow(struct htab *t)
{
	struct htab_ent **old = t->b, *e, *next;
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

/* htab_make - the entry for key, created empty if absent */
static struct htab_ent *
htab_make(struct htab *t, const void *key, size_t len)
{
	struct htab_ent **pp = htab_slot(t, key, len), *e;

	if (*pp != NULL)
		return *pp;
	if (t->count >= t->size) {
		htab_grow(t);
		pp = htab_slot(t, key, len);
	}
	e = xcalloc(1, sizeof(*e) + len);
	e->hash = htab_hash(key, len);
	e->len = len;
	memcpy(e->key, key, len);
	*pp = e;
	t->count++;
	return e;
}

void *
htab_get(struct htab *t, const void *key, size_t len)
{
	struct htab_ent *e = *htab_slot(t, key, len);

	return e ? e->val : NULL;
}

void
htab_put(struct htab *t, const void *key, size_t len, void *val)
{
	htab_make(t, key, len)->val = val;
}

void *
htab_del(struct htab *t, const void *key, size_t len)
{
	struct htab_ent **pp = htab_slot(t, key, len), *e = *pp;
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
htab_num(struct htab *t, const void *key, size_t len)
{
	struct htab_ent *e = *htab_slot(t, key, len);

	return e ? e->num : 0;
}

long long
htab_add(struct htab *t, const void *key, size_t len, long long delta)
{
	struct htab_ent *e = htab_make(t, key, len);
	long long n;

	e->num += delta;
	n = e->num;
	if (n == 0 && e->val == NULL)
		htab_del(t, key, len);
	return n;
}

void
htab_set_num(struct htab *t, const void *key, size_t len, long long num)
{
	htab_make(t, key, len)->num = num;
}

size_t
htab_count(const struct htab *t)
{
	return t->count;
}

int
htab_next(struct htab *t, struct htab_iter *it, const void **key_r,
    size_t *len_r, void **val_r, long long *num_r)
{
	struct htab_ent *e = it->next;

	while (e == NULL) {
		if (it->bucket >= t->size)
			return 0;
		e = t->b[it->bucket++];
	}
	it->next = e->next; /* e may be removed by the caller */
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

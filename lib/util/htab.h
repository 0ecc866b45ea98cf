/*
 * htab - the hash table of berth: byte-string keys, each with a pointer
 * value and a number (a count or a time), used for every index a daemon
 * keeps (authd's counters and holds, idled's users, mailboxes and tarpit,
 * a process's held connections).
 *
 * An entry whose number drops to 0 and that has no value is removed by
 * htab_add, so count tables shrink by themselves.  Iteration tolerates
 * removing the entry just returned.  Not thread-safe.
 */
#ifndef BERTH_HTAB_H
#define BERTH_HTAB_H

#include <stddef.h>

struct htab;
struct htab_iter {
	size_t bucket;
	void *next;
};
#define HTAB_ITER                                                              \
	{                                                                      \
		0, NULL                                                        \
	}

struct htab *htab_new(void);
void htab_free(struct htab **t);
void *htab_get(struct htab *t, const void *key, size_t len);
void htab_put(struct htab *t, const void *key, size_t len, void *val);
/* htab_del - remove key; returns its value */
void *htab_del(struct htab *t, const void *key, size_t len);
long long htab_num(struct htab *t, const void *key, size_t len);
/* htab_add - num += delta; an entry at 0 without a value goes */
long long htab_add(struct htab *t, const void *key, size_t len,
    long long delta);
void htab_set_num(struct htab *t, const void *key, size_t len, long long num);
size_t htab_count(const struct htab *t);
/* htab_next - 1 and the next entry, 0 at the end; only the entry just
 * returned may be removed during a walk */
int htab_next(struct htab *t, struct htab_iter *it, const void **key_r,
    size_t *len_r, void **val_r, long long *num_r);

#endif

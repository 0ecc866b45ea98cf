/*
 * authd_queue - the priority queue in front of the backend pool: a
 * binary min-heap of login requests ordered by class (1: the user has
 * logged in from this client recently; 2: the client has no recent
 * failures; 3: the rest), then score (failures: most-failed last), then
 * arrival.
 *
 * Pure data structure: no clock, no configuration.  Items are embedded
 * in their owner (struct authd_job) and remember their heap index, so
 * any item can be removed (shed) in O(log n).  The worst item and the
 * first expired one are found by a scan; the queue is short (it holds at
 * most one request per worker) and both happen only under pressure.
 */
#include "config.h"

#include <stdlib.h>

#include "authd.h"
#include "xalloc.h"

int
authd_queue_before(const struct authd_qitem *a, const struct authd_qitem *b)
{
	if (a->cls != b->cls)
		return a->cls < b->cls;
	if (a->score != b->score)
		return a->score < b->score;
	return a->seq < b->seq;
}

static void
queue_set(struct authd_queue *q, size_t i, struct authd_qitem *it)
{
	q->heap[i] = it;
	it->idx = i;
}

static void
queue_up(struct authd_queue *q, size_t i)
{
	struct authd_qitem *it = q->heap[i];

	while (i > 0 && authd_queue_before(it, q->heap[(i - 1) / 2])) {
		queue_set(q, i, q->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	queue_set(q, i, it);
}

static void
queue_down(struct authd_queue *q, size_t i)
{
	struct authd_qitem *it = q->heap[i];
	size_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= q->n)
			break;
		if (c + 1 < q->n &&
		    authd_queue_before(q->heap[c + 1], q->heap[c]))
			c++;
		if (!authd_queue_before(q->heap[c], it))
			break;
		queue_set(q, i, q->heap[c]);
		i = c;
	}
	queue_set(q, i, it);
}

void
authd_queue_push(struct authd_queue *q, struct authd_qitem *it)
{
	if (q->n == q->size) {
		q->size = q->size ? q->size * 2 : 64;
		q->heap = xreallocarray(q->heap, q->size, sizeof(*q->heap));
	}
	it->seq = ++q->seq;
	it->queued = 1;
	q->heap[q->n++] = it;
	queue_up(q, q->n - 1);
}

void
authd_queue_remove(struct authd_queue *q, struct authd_qitem *it)
{
	struct authd_qitem *moved;
	size_t i = it->idx;

	if (!it->queued || i >= q->n || q->heap[i] != it)
		return;
	it->queued = 0;
	q->n--;
	if (i == q->n)
		return;
	moved = q->heap[q->n];
	queue_set(q, i, moved);
	queue_down(q, i);
	queue_up(q, moved->idx);
}

struct authd_qitem *
authd_queue_top(struct authd_queue *q)
{
	return q->n > 0 ? q->heap[0] : NULL;
}

struct authd_qitem *
authd_queue_pop(struct authd_queue *q)
{
	struct authd_qitem *it;

	if (q->n == 0)
		return NULL;
	it = q->heap[0];
	authd_queue_remove(q, it);
	return it;
}

struct authd_qitem *
authd_queue_worst(struct authd_queue *q)
{
	struct authd_qitem *w = NULL;
	size_t i;

	/* the worst is a leaf: the second half of the heap */
	for (i = q->n / 2; i < q->n; i++)
		if (w == NULL || authd_queue_before(w, q->heap[i]))
			w = q->heap[i];
	return w;
}

struct authd_qitem *
authd_queue_expired(struct authd_queue *q, long long now_ms)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (q->heap[i]->deadline_ms <= now_ms)
			return q->heap[i];
	return NULL;
}

size_t
authd_queue_len(const struct authd_queue *q)
{
	return q->n;
}

void
authd_queue_free(struct authd_queue *q)
{
	free(q->heap);
	q->heap = NULL;
	q->n = q->size = 0;
}

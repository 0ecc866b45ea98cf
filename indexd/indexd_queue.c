/*
 * indexd_queue - the users waiting to be indexed, first come first
 * served, each once however many notices name it; and the sweep that
 * queues every user of the store at start and every indexd_sweep.
 *
 * Work runs from a timer, one slice (INDEXD_SLICE_MS of indexing, one
 * user) per expiry, so the loop reads notices and signals between
 * slices; a user with more to do goes to the back of the queue, so one
 * big mailbox does not hold back everyone's new mail.  The first slice
 * waits INDEXD_DELAY_MS after the queue fills, so that a burst of
 * deliveries (a MULTIAPPEND, a list's fifty recipients) is indexed in
 * one transaction per user rather than one per message.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "clock.h"
#include "ev.h"
#include "htab.h"
#include "indexd.h"
#include "log.h"
#include "store.h"
#include "xalloc.h"

#define INDEXD_DELAY_MS 100
#define INDEXD_SLICE_MS 250

struct queue_user {
	struct queue_user *next;
	char name[];
};

static struct htab *queue_set; /* user -> its queue_user */
static struct queue_user *queue_head, **queue_tail = &queue_head;
static struct ev_timer queue_timer, queue_sweep_timer;
static int queue_off; /* search_engine: none */

static void queue_work(struct ev_timer *t, void *ctx);

/* queue_arm - a slice after delay_ms, unless one is due already */
static void
queue_arm(long long delay_ms)
{
	if (queue_head != NULL && !ev_timer_armed(&queue_timer))
		ev_timer_add(&queue_timer, delay_ms, queue_work, NULL);
}

/* queue_push - q to the back */
static void
queue_push(struct queue_user *q)
{
	q->next = NULL;
	*queue_tail = q;
	queue_tail = &q->next;
}

void
indexd_queue_user(const char *user)
{
	size_t len = strlen(user);
	struct queue_user *q;

	if (queue_off || htab_get(queue_set, user, len) != NULL)
		return;
	q = xmalloc(sizeof(*q) + len + 1);
	memcpy(q->name, user, len + 1);
	htab_put(queue_set, user, len, q);
	queue_push(q);
	queue_arm(INDEXD_DELAY_MS);
}

/* queue_work - one slice for the user at the head */
static void
queue_work(struct ev_timer *t, void *ctx)
{
	struct queue_user *q = queue_head;
	long long t0 = clock_mono_ms();
	size_t msgs = 0;
	int r;

	(void)t;
	(void)ctx;
	if (q == NULL)
		return;
	if ((queue_head = q->next) == NULL)
		queue_tail = &queue_head;
	r = indexd_index_user(indexd_store, q->name, INDEXD_SLICE_MS, &msgs);
	if (msgs > 0)
		log_info("index user=%s messages=%zu ms=%lld more=%s", q->name,
		    msgs, clock_mono_ms() - t0, r == 1 ? "yes" : "no");
	if (store_needs_recovery(indexd_store)) {
		log_error("mail store needs recovery");
		exit(STORE_EXIT_RECOVER);
	}
	if (r == 1) {
		queue_push(q);
	} else {
		htab_del(queue_set, q->name, strlen(q->name));
		free(q);
	}
	queue_arm(0);
}

/* queue_sweep - every user of the store into the queue */
static void
queue_sweep(struct ev_timer *t, void *ctx)
{
	char **users = NULL;
	const char *err;
	size_t n = 0, i;

	(void)ctx;
	if (store_users(indexd_store, &users, &n, &err) < 0) {
		log_warn("sweep: users: %s", err);
	} else {
		log_debug("sweep users=%zu", n);
		for (i = 0; i < n; i++) {
			indexd_queue_user(users[i]);
			free(users[i]);
		}
		free(users);
	}
	ev_timer_add(t, cfg_duration_ms("indexd_sweep"), queue_sweep, NULL);
}

void
indexd_queue_init(void)
{
	queue_set = htab_new();
	if (strcasecmp(cfg_str("search_engine"), "none") == 0) {
		queue_off = 1;
		log_info("search_engine is none: nothing to index");
		return;
	}
	queue_sweep(&queue_sweep_timer, NULL);
}

/*
 * indexd - the full-text indexer: keeps every user's index (lib/fts)
 * close behind delivery, so that SEARCH BODY and TEXT never wait for it.
 */
#ifndef BERTH_INDEXD_H
#define BERTH_INDEXD_H

#include <stddef.h>

struct store;

/* the store every part uses (main.c) */
extern struct store *indexd_store;

/* indexd_notice_init - listen for new-message notices (lib/proto/notify)
 * on notify_index_path(); fatal when it cannot */
void indexd_notice_init(void);
/* indexd_notice_close - close the writers' connections (at exit, outside
 * any event callback) */
void indexd_notice_close(void);

/* indexd_queue_init - the queue of users to index and its sweep: every
 * user of the store is queued now and every indexd_sweep */
void indexd_queue_init(void);
/* indexd_queue_user - index user shortly (once, however often queued) */
void indexd_queue_user(const char *user);

/*
 * indexd_index_user - bring every mailbox of user's index up to the
 * store, for about budget_ms: 1 when there is more to do, 0 done, -1
 * failed (logged).  *msgs_r: messages indexed.  A damaged index file is
 * removed and made anew.
 */
int indexd_index_user(struct store *st, const char *user, long long budget_ms,
    size_t *msgs_r);

#endif

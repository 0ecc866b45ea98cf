/*
 * search_fts - SEARCH's text keys answered by the full-text index.
 */
#ifndef BERTH_IMAPD_SEARCH_FTS_H
#define BERTH_IMAPD_SEARCH_FTS_H

#include <stddef.h>

struct imap_session;
struct search_prog;
struct store_msg;

/* search_fts_prepare - answer p's TEXT and BODY keys for the selected
 * mailbox, whose records are msgs[0..n) (ascending UID), from the index,
 * caught up first; never fails (what it cannot answer is read) */
void search_fts_prepare(struct imap_session *s, const struct search_prog *p,
    const struct store_msg *msgs, size_t n);

#endif

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
 * mailbox from the index, caught up first with the view's messages (read
 * a batch at a time); never fails (what it cannot answer is read) */
void search_fts_prepare(struct imap_session *s, const struct search_prog *p);

#endif

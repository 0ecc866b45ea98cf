/*
 * search_ctx - RFC 5267 4.3 search contexts: a SEARCH or SORT with
 * RETURN (UPDATE) keeps its program and its result, and the server keeps
 * the result current, telling the client with untagged ESEARCH ADDTO
 * and REMOVEFROM wherever untagged responses go out (after a command,
 * NOOP, IDLE).  The contexts belong to the selected mailbox's view and
 * end with it (SELECT, EXAMINE, CLOSE, UNSELECT) or with CANCELUPDATE.
 *
 * A session holding contexts is served in its worker, never parked:
 * the snapshot idled keeps is a few hundred bytes, and a context is a
 * search program (literals included) and a result in sort order as long
 * as the mailbox; see imapd(8).
 */
#ifndef BERTH_IMAPD_SEARCH_CTX_H
#define BERTH_IMAPD_SEARCH_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "imapd.h"

/* contexts a session may hold at once (RFC 5267 4.3.1: at least one);
 * one more is refused with NO [NOUPDATE] */
#define SEARCH_CTX_MAX 8

struct search_prog;
struct sort_ctx;
struct sort_item;

/* search_ctx_has - is a context kept under tag? */
int search_ctx_has(struct imap_session *s, const char *tag);
/*
 * search_ctx_admit - may a context for prog be kept under tag?  1 if so;
 * 0 after saying why not (RFC 5267 4.3.1: an untagged NO [NOUPDATE], and
 * a log line): the limit, or keys whose result changes without the
 * mailbox changing (message numbers, '*', "$", RECENT/NEW/OLD,
 * OLDER/YOUNGER)
 */
int search_ctx_admit(struct imap_session *s, const char *tag,
    const struct search_prog *prog);
/*
 * search_ctx_add - keep a context under tag (uid: UID SEARCH/SORT) for
 * the program prog (taken) and its result as of now: SEARCH (crit NULL)
 * msgnos[0..n) ascending; SORT (crit its criteria) items[0..n) in sort
 * order, taken (their msgno fields are message numbers)
 */
void search_ctx_add(struct imap_session *s, const char *tag, int uid,
    const struct sort_ctx *crit, struct search_prog *prog,
    const uint32_t *msgnos, struct sort_item *items, size_t n);
/* search_ctx_cancel - end the context of tag; -1 if none */
int search_ctx_cancel(struct imap_session *s, const char *tag);
/*
 * search_ctx_expunge - the view's gone messages are about to be
 * reported expunged: REMOVEFROM for those in a context's result, by the
 * numbers they still have (RFC 5267 4.3.4: before the EXPUNGE)
 */
void search_ctx_expunge(struct imap_session *s);
/*
 * search_ctx_sync - after the view was synced (EXISTS sent: RFC 5267
 * 4.3.3): every message changed or added since a context last looked is
 * matched again, and the differences go out as ADDTO / REMOVEFROM
 * (with sort positions for SORT)
 */
void search_ctx_sync(struct imap_session *s);
/* search_ctx_free - end every context (the view closes) */
void search_ctx_free(struct imap_session *s);

#endif

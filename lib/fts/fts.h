/*
 * fts - the full-text index of one user's mail: SQLite FTS5 with the
 * trigram tokenizer, one file per user, <configdirectory>/fts/<user>.db.
 *
 * It holds, per message file (guid), the text SEARCH TEXT and BODY match
 * (lib/mail's mime_text_header and mime_text_body: decoded, converted
 * to UTF-8, HTML reduced, ASCII lower-cased), and per mailbox which UIDs
 * have which text, up to the last UID indexed.  A search asks the
 * trigram index for candidates and checks each against the stored text
 * with the same substring test a scan of the messages does, so its
 * answer is the scan's; a needle the trigrams cannot serve (under three
 * characters, or not UTF-8) is checked against every stored text of the
 * mailbox, still without a message file opened.
 *
 * The index is derived data, never needed for correctness: SEARCH falls
 * back to scanning the messages when it is missing its mailbox's newest
 * messages past the time it may spend catching up, or cannot be opened
 * at all.  It is brought up to date by fts_sync: by indexd(8) shortly
 * after each delivery, at SEARCH time for what it has not reached, and by
 * berthctl fts update; expunged messages leave it at the next sync.
 *
 * Errors: -1 with the reason in the caller's struct err.  Calls block on
 * disk I/O and on another process writing the same user's index (up to
 * FTS_BUSY_MS).
 */
#ifndef BERTH_FTS_H
#define BERTH_FTS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct fts;
struct store;
struct store_msg;

#define FTS_BUSY_MS 10000 /* waiting for another writer */
/* fts_open's, fts_sync's and fts_search's return when SQLite finds the
 * file damaged or not a database: fts_remove and make it anew */
#define FTS_EDAMAGED (-2)

/* fts_path - the index file of user under configdir (malloc'ed) */
char *fts_path(const char *configdir, const char *user);
/* fts_open - open (made if missing, with its folder) user's index; one
 * of another schema version is made anew; FTS_EDAMAGED (above) */
int fts_open(const char *configdir, const char *user, struct fts **f_r,
    struct err *e);
void fts_close(struct fts **f);
/* fts_remove - delete user's index (0 also when there is none) */
int fts_remove(const char *configdir, const char *user, struct err *e);

/*
 * fts_sync - bring mailbox mboxid's part of the index up to its records
 * msgs[0..n) (ascending UID): forget the UIDs expunged since the last
 * sync (modseq: the mailbox's HIGHESTMODSEQ as of msgs), then index the
 * records above the last UID indexed, in UID order, until budget_ms
 * (0: no limit) has passed.  *upto_r: every UID up to it is indexed.
 * Progress is committed as it goes.
 */
int fts_sync(struct fts *f, struct store *st, uint32_t mboxid, uint64_t modseq,
    const struct store_msg *msgs, size_t n, long long budget_ms,
    uint32_t *upto_r, struct err *e);

/* fts_indexed - how far mailbox mboxid is indexed: every UID up to
 * *lastuid_r, expunges read up to HIGHESTMODSEQ *modseq_r (0, 0: not at
 * all) */
int fts_indexed(struct fts *f, uint32_t mboxid, uint32_t *lastuid_r,
    uint64_t *modseq_r, struct err *e);

#define FTS_HDR 0x01  /* the header block's text */
#define FTS_BODY 0x02 /* the text parts' text */

/*
 * fts_search - the UIDs of mailbox mboxid (as far as it is indexed)
 * whose text (where: FTS_HDR, FTS_BODY or both) contains needle, which
 * the caller lower-cased (ASCII) as the stored text is; ascending,
 * malloc'ed.
 */
int fts_search(struct fts *f, uint32_t mboxid, const char *needle, int where,
    uint32_t **uids_r, size_t *n_r, struct err *e);

/* fts_count - messages and texts the index holds (berthctl) */
int fts_count(struct fts *f, uint64_t *msgs_r, uint64_t *docs_r, struct err *e);

#endif

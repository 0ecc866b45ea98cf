/*
 * fetch - FETCH attribute parsing and rendering of one message.
 */
#ifndef BERTH_IMAPD_FETCH_H
#define BERTH_IMAPD_FETCH_H

#include <stdint.h>

#include "buf.h"
#include "imapp.h"
#include "prange.h"
#include "store.h"

struct fetch_req;

struct fetch_msg {
	uint32_t msgno;
	const struct store_msg *rec;
	int recent;
	uint32_t mboxid; /* the mailbox of rec */
};

/* fetch_parse - attributes args[0..n); NULL with *error_r on bad syntax */
struct fetch_req *fetch_parse(const struct imapp_arg *args, size_t n,
    int uid_cmd, const char **error_r);
/* fetch_sets_seen - does it fetch a non-PEEK body section? */
int fetch_sets_seen(const struct fetch_req *req);
/* fetch_changedsince - the CHANGEDSINCE modifier (0 if none): only
 * messages with a greater MODSEQ are fetched */
uint64_t fetch_changedsince(const struct fetch_req *req);
/* fetch_prange - the (PARTIAL range) modifier, NULL if none: only the
 * messages at those positions of the set (after CHANGEDSINCE's choice)
 * are fetched */
const struct prange *fetch_prange(const struct fetch_req *req);
/* fetch_vanished - was (VANISHED) given (with CHANGEDSINCE)? */
int fetch_vanished(const struct fetch_req *req);
/* fetch_wants_flags - was FLAGS asked for? */
int fetch_wants_flags(const struct fetch_req *req);
/* fetch_wants_modseq - was MODSEQ asked for (turns CONDSTORE on)? */
int fetch_wants_modseq(const struct fetch_req *req);
/* fetch_render - append "* N FETCH (...)\r\n"; -1 with nothing
 * appended when the message cannot be read, FETCH_EUNKNOWNCTE when a
 * BINARY item names a part whose encoding berth cannot undo */
#define FETCH_EUNKNOWNCTE (-2)
int fetch_render(const struct fetch_req *req, struct store *st,
    const struct fetch_msg *m, int force_flags, int condstore, struct buf *out,
    const char **error_r);
/* fetch_stream - fetch_render into s->out may flush it with flush
 * (io_flush) between items (a response of many large sections then costs
 * one section of memory); without it, a response is built whole */
struct imap_session;
typedef int fetch_flush_fn(struct imap_session *s);
void fetch_stream(struct fetch_req *req, struct imap_session *s,
    fetch_flush_fn *flush);
void fetch_free(struct fetch_req **req);

/*
 * fetch_section_get - what BODY.PEEK[section]<poff.plen> of the message
 * rec returns, appended to out (CATENATE's URLs, RFC 4469): section as in
 * FETCH without the brackets ("1.2.MIME", "HEADER.FIELDS (From)"; NULL
 * or "" the whole message), plen 0 to the end.  Nothing is read when it
 * is longer than max.  0; FETCH_ENOSECTION: no such section in the
 * grammar or in this message; FETCH_ETOOBIG: longer than max; -1: the
 * store failed (*error_r).  Blocks on the message file.
 */
#define FETCH_ENOSECTION (-3)
#define FETCH_ETOOBIG (-4)
int fetch_section_get(struct store *st, const struct store_msg *rec,
    const char *section, int partial, uint64_t poff, uint64_t plen, size_t max,
    struct buf *out, const char **error_r);

#endif

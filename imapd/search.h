/*
 * search - SEARCH keys compiled into a tree and matched against
 * messages.  Text keys load and parse the message only when reached.
 */
#ifndef BERTH_IMAPD_SEARCH_H
#define BERTH_IMAPD_SEARCH_H

#include <stdint.h>

#include "imapp.h"
#include "store.h"

struct mime_part;

struct search_prog;

struct search_msg {
	uint32_t msgno;
	const struct store_msg *rec;
	int recent;
	uint32_t maxmsgno, maxuid; /* what '*' means */
	const uint32_t *saved;	   /* "$" (SEARCHRES): UIDs, ascending */
	size_t nsaved;
	struct store *st;
	uint32_t mboxid; /* the mailbox of rec */
	/* loaded on demand by search_match, freed by search_msg_done */
	const char *data;
	size_t len;
	struct mime_part *mime;
	const char *hdr; /* the header block (cache or file) */
	size_t hdrlen;
};

/* search_parse - keys args[0..n) with an optional leading CHARSET.
 * NULL with *error_r; *badcharset_r set for an unknown charset. */
struct search_prog *search_parse(const struct imapp_arg *args, size_t n,
    const char **error_r, int *badcharset_r);
int search_match(const struct search_prog *p, struct search_msg *m);
void search_msg_done(struct search_msg *m);
/* search_uses_modseq - has the program a MODSEQ key (RFC 7162 3.1.5:
 * the result then carries the highest MODSEQ)? */
int search_uses_modseq(const struct search_prog *p);
/* search_volatile - why p's result may change while the messages do not
 * (message numbers, '*', "$", \Recent, OLDER/YOUNGER), NULL if it
 * changes only with them (search_ctx.c keeps only those current) */
const char *search_volatile(const struct search_prog *p);
void search_free(struct search_prog **p);

/*
 * Text keys (TEXT, BODY) answered ahead of matching by a full-text
 * index: fn gets each key's needle (ASCII lower-cased, as mime_text's
 * text is) and whether the header counts too (TEXT); it returns 0 and
 * the ascending UIDs (malloc'ed, the program takes them) of every
 * message up to upto that matches, or -1 to leave the key to reading
 * the messages.  search_match then reads no message for that key up to
 * upto.
 */
typedef int search_text_fn(const char *needle, int hdr, uint32_t **uids_r,
    size_t *n_r, void *ctx);
/* search_has_text - has p a TEXT or BODY key? */
int search_has_text(const struct search_prog *p);
void search_answer_text(const struct search_prog *p, uint32_t upto,
    search_text_fn *fn, void *ctx);

#endif

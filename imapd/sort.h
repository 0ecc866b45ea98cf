/*
 * sort - what SORT (cmd_sort.c), THREAD (cmd_thread.c) and the SORT
 * contexts (search_ctx.c) share: the messages a search finds, with the
 * keys the criteria need, the criteria and RFC 5256's base subject
 * (sort_parse.c).
 */
#ifndef BERTH_IMAPD_SORT_H
#define BERTH_IMAPD_SORT_H

#include <stddef.h>
#include <stdint.h>

#include "imapd.h"

enum sort_key {
	SK_ARRIVAL,
	SK_CC,
	SK_DATE,
	SK_FROM,
	SK_SIZE,
	SK_SUBJECT,
	SK_TO,
	SK_DISPLAYFROM,
	SK_DISPLAYTO,
};

#define SORT_MAX_CRIT 16

struct sort_crit {
	enum sort_key key;
	int reverse;
};

/* one message's sort keys */
struct sort_item {
	uint32_t msgno;
	int64_t arrival, date;
	uint64_t size;
	char *str[5];  /* subject, from, to, cc, display (as needed) */
	int reply;     /* SK_SUBJECT: the subject was a reply's or a
			* forward's (RFC 5256 2.1) */
	char guid[41]; /* the message file */
};

struct sort_ctx {
	struct sort_crit crit[SORT_MAX_CRIT];
	size_t ncrit;
};

/* sort_criteria - the list l ("(REVERSE DATE SUBJECT)") into c (zeroed
 * by the caller); -1 bad.  DISPLAYFROM and DISPLAYTO share one key
 * slot: one of them per SORT (sort_parse.c) */
int sort_criteria(const struct imapp_arg *l, struct sort_ctx *c);
/* sort_base_subject - RFC 5256 2.1: the decoded subject without its
 * reply and forward markers, blanks folded (malloc'ed); *reply_r (may
 * be NULL): were such markers removed? */
char *sort_base_subject(const char *raw, size_t rlen, int *reply_r);
/* sort_header_len - the length of a message's header block */
size_t sort_header_len(const char *data, size_t len);
/*
 * sort_items - the messages the search keys args[1..n) (args[0]: the
 * charset) find, with the keys c needs, in message number order
 * (malloc'ed, sort_items_free); NULL after a tagged reply.  prog_r (may
 * be NULL): the compiled keys, for the caller to keep
 */
struct search_prog;
struct sort_item *sort_items(struct imap_cmd *cmd, const struct sort_ctx *c,
    const struct imapp_arg *args, size_t n, size_t *nitems_r,
    struct search_prog **prog_r);
/* sort_item_load - the keys c needs of the message rec into it (its
 * msgno left to the caller) */
void sort_item_load(struct imap_session *s, const struct sort_ctx *c,
    const struct store_msg *rec, struct sort_item *it);
void sort_items_free(struct sort_item *items, size_t n);
/* sort_cmp - qsort_r order of two items by the criteria of ctx (a
 * struct sort_ctx), then by message number */
int sort_cmp(const void *a, const void *b, void *ctx);
/* sort_num - the number a client knows message msgno by (UID for UID
 * commands) */
uint32_t sort_num(struct imap_cmd *cmd, uint32_t msgno);

/* thread.c - RFC 5256's threading over items */
struct thread_src {
	/* the message's header block (or more); 0, or -1 for none */
	int (*map)(void *ctx, const struct sort_item *it, const char **data_r,
	    size_t *len_r);
	void (*unmap)(void *ctx, const char *data, size_t len);
	/* the number the client knows msgno by */
	uint32_t (*num)(void *ctx, uint32_t msgno);
	void *ctx;
};
/* thread_references - RFC 5256 3 over items[0..n) (their sort keys:
 * subject and date; may be reordered): the THREAD response's threads
 * into res */
void thread_references(const struct thread_src *src, struct sort_item *items,
    size_t n, struct buf *res);
/* thread_orderedsubject - RFC 5256 ORDEREDSUBJECT, the same way */
void thread_orderedsubject(const struct thread_src *src,
    struct sort_item *items, size_t n, struct buf *res);

#endif

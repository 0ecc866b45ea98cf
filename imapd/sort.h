/*
 * sort - what SORT (cmd_sort.c) and THREAD (cmd_thread.c) share: the
 * messages a search finds, with the keys the criteria need, and RFC
 * 5256's base subject.
 */
#ifndef BERTH_IMAPD_SORT_H
#define BERTH_IMAPD_SORT_H

#include <stddef.h>
#include <stdint.h>

#include "imapd.h"

enum sort_key {
	SK_ARRIVAL, SK_CC, SK_DATE, SK_FROM, SK_SIZE, SK_SUBJECT, SK_TO,
	SK_DISPLAYFROM, SK_DISPLAYTO,
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
	char *str[5];		/* subject, from, to, cc, display (as needed) */
	int reply;		/* SK_SUBJECT: the subject was a reply's or a
				 * forward's (RFC 5256 2.1) */
	char guid[41];		/* the message file */
};

struct sort_ctx {
	struct sort_crit crit[SORT_MAX_CRIT];
	size_t ncrit;
};

/* sort_base_subject - RFC 5256 2.1: the decoded subject without its
 * reply and forward markers, blanks folded (malloc'ed); *reply_r (may
 * be NULL): were such markers removed? */
char *sort_base_subject(const char *raw, size_t rlen, int *reply_r);
/* sort_header_len - the length of a message's header block */
size_t sort_header_len(const char *data, size_t len);
/*
 * sort_items - the messages the search keys args[1..n) (args[0]: the
 * charset) find, with the keys c needs, in message number order
 * (malloc'ed, sort_items_free); NULL after a tagged reply
 */
struct sort_item *sort_items(struct imap_cmd *cmd, const struct sort_ctx *c,
    const struct imapp_arg *args, size_t n, size_t *nitems_r);
void sort_items_free(struct sort_item *items, size_t n);
/* sort_cmp - qsort_r order of two items by the criteria of ctx (a
 * struct sort_ctx), then by message number */
int sort_cmp(const void *a, const void *b, void *ctx);
/* sort_num - the number a client knows message msgno by (UID for UID
 * commands) */
uint32_t sort_num(struct imap_cmd *cmd, uint32_t msgno);

#endif

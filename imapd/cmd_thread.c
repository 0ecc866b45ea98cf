/*
 * cmd_thread - THREAD and UID THREAD (RFC 5256) with ORDEREDSUBJECT and
 * REFERENCES (thread.c) on the messages SEARCH finds.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "imapd_cmd.h"
#include "sort.h"

/* cmd_thread_map - a message's file, for thread_references */
static int
cmd_thread_map(void *ctx, const struct sort_item *it, const char **data_r,
    size_t *len_r)
{
	struct imap_cmd *cmd = ctx;
	const char *err;

	return store_msg_map(cmd->s->st, it->guid, data_r, len_r, &err);
}

static void
cmd_thread_unmap(void *ctx, const char *data, size_t len)
{
	(void)ctx;
	store_msg_unmap(data, len);
}

static uint32_t
cmd_thread_num(void *ctx, uint32_t msgno)
{
	return sort_num(ctx, msgno);
}

void
cmd_thread(struct imap_cmd *cmd)
{
	struct thread_src src;
	struct sort_ctx c;
	struct sort_item *items;
	struct buf res = BUF_INIT;
	size_t n;
	int refs;

	if (cmd->nargs < 3 || cmd->args[0].type != IMAPP_ATOM ||
	    (strcasecmp(cmd->args[0].str, "ORDEREDSUBJECT") != 0 &&
		strcasecmp(cmd->args[0].str, "REFERENCES") != 0)) {
		imap_bad(cmd,
		    "THREAD needs ORDEREDSUBJECT or REFERENCES, a "
		    "charset and search keys");
		return;
	}
	refs = strcasecmp(cmd->args[0].str, "REFERENCES") == 0;
	memset(&c, 0, sizeof(c));
	c.crit[0].key = SK_SUBJECT;
	c.crit[1].key = SK_DATE;
	c.ncrit = 2;
	if ((items = sort_items(cmd, &c, cmd->args + 1, cmd->nargs - 1, &n,
		 NULL)) == NULL)
		return;
	src.map = cmd_thread_map;
	src.unmap = cmd_thread_unmap;
	src.num = cmd_thread_num;
	src.ctx = cmd;
	if (refs)
		thread_references(&src, items, n, &res);
	else
		thread_orderedsubject(&src, items, n, &res);
	io_printf(cmd->s, "* THREAD%s%s\r\n", res.len ? " " : "",
	    buf_cstr(&res));
	imap_ok(cmd, "THREAD completed");
	buf_free(&res);
	sort_items_free(items, n);
}

/*
 * cmd_sort - SORT and UID SORT (RFC 5256) with SORT=DISPLAY (RFC 5957),
 * CONTEXT=SORT (RFC 5267 4: PARTIAL, UPDATE kept by search_ctx.c)
 * and ESORT (RFC 5267 3.2: SORT RETURN, answered with ESEARCH):
 * the messages SEARCH finds, in the order of the criteria, ties broken
 * by message number (THREAD, cmd_thread.c, uses the same items; see
 * sort.h).  Strings compare as i;ascii-casemap; addresses by
 * the first address's local part (DISPLAYFROM/TO: its display name,
 * else the address); DATE is the Date header in UTC, else the arrival.
 */
#include "config.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "date.h"
#include "envelope.h"
#include "imapd.h"
#include "imapd_cmd.h"
#include "log.h"
#include "mime.h"
#include "search.h"
#include "search_ctx.h"
#include "search_ret.h"
#include "sort.h"
#include "xalloc.h"

/* sort_hdr - the unfolded value of header name, raw; "" if absent */
static void
sort_hdr(const char *hdr, size_t hlen, const char *name, struct buf *out)
{
	mime_header_get(hdr, hlen, name, 0, 0, out);
}

/* sort_addr - the first address of header name: its local part, or for
 * display its display name (decoded) and else "local@domain" */
static char *
sort_addr(const char *hdr, size_t hlen, const char *name, int display)
{
	struct buf v = BUF_INIT, n = BUF_INIT, m = BUF_INIT, h = BUF_INIT,
		   d = BUF_INIT;
	char *r;

	sort_hdr(hdr, hlen, name, &v);
	if (v.len > 0)
		envelope_addr_first(v.data, v.len, &n, &m, &h);
	if (display && n.len > 0)
		mime_decode_words(n.data, n.len, &d);
	else if (display && m.len > 0)
		buf_printf(&d, "%s@%s", buf_cstr(&m), buf_cstr(&h));
	else
		buf_append(&d, buf_cstr(&m), m.len);
	r = xstrdup(buf_cstr(&d));
	buf_free(&v);
	buf_free(&n);
	buf_free(&m);
	buf_free(&h);
	buf_free(&d);
	return r;
}

void
sort_item_load(struct imap_session *s, const struct sort_ctx *c,
    const struct store_msg *rec, struct sort_item *it)
{
	const char *data = NULL, *err;
	size_t len = 0, hlen = 0, i;
	struct buf v = BUF_INIT;
	long long t;
	int tz;

	it->arrival = rec->internaldate;
	it->date = rec->internaldate;
	it->size = rec->size;
	memcpy(it->guid, rec->guid, sizeof(it->guid));
	if (store_msg_map(s->st, rec->guid, &data, &len, &err) == 0)
		hlen = sort_header_len(data, len);
	for (i = 0; i < c->ncrit; i++) {
		switch (c->crit[i].key) {
		case SK_DATE:
			buf_reset(&v);
			sort_hdr(data, hlen, "Date", &v);
			if (v.len > 0 &&
			    date_parse_rfc5322(v.data, v.len, &t, &tz) == 0)
				it->date = t;
			break;
		case SK_SUBJECT:
			buf_reset(&v);
			sort_hdr(data, hlen, "Subject", &v);
			if (it->str[0] == NULL)
				it->str[0] = sort_base_subject(buf_cstr(&v),
				    v.len, &it->reply);
			break;
		case SK_FROM:
		case SK_TO:
		case SK_CC:
			if (it->str[c->crit[i].key == SK_FROM ? 1
				    : c->crit[i].key == SK_TO ? 2
							      : 3] == NULL)
				it->str[c->crit[i].key == SK_FROM ? 1
					: c->crit[i].key == SK_TO ? 2
								  : 3] =
				    sort_addr(data, hlen,
					c->crit[i].key == SK_FROM     ? "From"
					    : c->crit[i].key == SK_TO ? "To"
								      : "Cc",
					0);
			break;
		case SK_DISPLAYFROM:
		case SK_DISPLAYTO:
			if (it->str[4] == NULL)
				it->str[4] = sort_addr(data, hlen,
				    c->crit[i].key == SK_DISPLAYFROM ? "From"
								     : "To",
				    1);
			break;
		default:
			break;
		}
	}
	buf_free(&v);
	if (data != NULL)
		store_msg_unmap(data, len);
}

struct sort_item *
sort_items(struct imap_cmd *cmd, const struct sort_ctx *c,
    const struct imapp_arg *args, size_t n, size_t *nitems_r,
    struct search_prog **prog_r)
{
	struct imap_session *s = cmd->s;
	struct imap_view *v = &s->view;
	struct search_prog *prog;
	struct store_msg *recs = NULL;
	struct sort_item *items;
	uint32_t *hits = NULL, *uids;
	uint64_t highest;
	const char *err;
	size_t nhits, nrecs = 0, i, j, k;
	int badcs;

	if (n < 2 || !imapp_arg_is_astring(&args[0])) {
		imap_bad(cmd, "%s needs a charset and search keys",
		    cmd->c->name);
		return NULL;
	}
	if (strcasecmp(args[0].str, "UTF-8") != 0 &&
	    strcasecmp(args[0].str, "US-ASCII") != 0) {
		imap_no(cmd,
		    "[BADCHARSET (US-ASCII UTF-8)] Unsupported "
		    "charset");
		return NULL;
	}
	prog = search_parse(args + 1, n - 1, &err, &badcs);
	if (prog == NULL) {
		imap_bad(cmd, "%s", err);
		return NULL;
	}
	if (cmd_search_hits(s, prog, &hits, &nhits, &highest, &err) != 0) {
		imap_no(cmd, "[SERVERBUG] %s", err);
		search_free(&prog);
		return NULL;
	}
	if (prog_r != NULL)
		*prog_r = prog;
	else
		search_free(&prog);
	uids = xcalloc(nhits + 1, sizeof(*uids));
	for (i = 0; i < nhits; i++)
		uids[i] = v->msgs[hits[i] - 1].uid;
	items = xcalloc(nhits + 1, sizeof(*items));
	if (nhits > 0 &&
	    store_msg_get_uids(s->st, v->mboxid, uids, nhits, &recs, &nrecs,
		&err) != 0) {
		log_error("sort user=%s mailbox=%s: %s", s->user, v->name, err);
		nrecs = 0;
	}
	/* records come in the order of uids, the missing left out */
	for (i = j = k = 0; i < nhits; i++) {
		if (j < nrecs && recs[j].uid == uids[i]) {
			items[k].msgno = hits[i];
			sort_item_load(s, c, &recs[j++], &items[k++]);
		}
	}
	free(recs);
	free(uids);
	free(hits);
	*nitems_r = k;
	return items;
}

void
sort_items_free(struct sort_item *items, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < 5; j++)
			free(items[i].str[j]);
	free(items);
}

uint32_t
sort_num(struct imap_cmd *cmd, uint32_t msgno)
{
	return cmd->uid ? cmd->s->view.msgs[msgno - 1].uid : msgno;
}

/* cmd_sort_keep - RETURN (UPDATE): keep a context of the result (items
 * taken), or say why not (RFC 5267 4.3.1); 1 if kept */
static int
cmd_sort_keep(struct imap_cmd *cmd, const struct sort_ctx *c,
    struct search_prog *prog, struct sort_item *items, size_t n)
{
	if (!search_ctx_admit(cmd->s, cmd->tag, prog))
		return 0;
	search_ctx_add(cmd->s, cmd->tag, cmd->uid, c, prog, NULL, items, n);
	return 1;
}

void
cmd_sort(struct imap_cmd *cmd)
{
	struct sort_ctx c;
	struct sort_item *items;
	struct search_prog *prog = NULL;
	struct search_ret ret;
	struct buf res = BUF_INIT;
	const char *err;
	uint32_t *nums;
	size_t n, i, skip;
	int r;

	memset(&c, 0, sizeof(c));
	if ((r = search_ret_parse(cmd->args, cmd->nargs,
		 SEARCH_RET_MIN | SEARCH_RET_MAX | SEARCH_RET_ALL |
		     SEARCH_RET_COUNT | SEARCH_RET_CONTEXT | SEARCH_RET_UPDATE |
		     SEARCH_RET_PARTIAL,
		 &ret, &err)) < 0) {
		imap_bad(cmd, "SORT: %s", err);
		return;
	}
	skip = (size_t)r;
	if (cmd->nargs < skip + 3 || sort_criteria(&cmd->args[skip], &c) < 0) {
		imap_bad(cmd, "SORT needs (criteria) charset search-keys");
		return;
	}
	if ((ret.opts & SEARCH_RET_UPDATE) &&
	    search_ctx_has(cmd->s, cmd->tag)) {
		/* RFC 5267 4.3: updates are told by tag */
		imap_bad(cmd, "Tag reuse: a search context has this tag");
		return;
	}
	if ((items = sort_items(cmd, &c, cmd->args + skip + 1,
		 cmd->nargs - skip - 1, &n,
		 (ret.opts & SEARCH_RET_UPDATE) ? &prog : NULL)) == NULL)
		return;
	qsort_r(items, n, sizeof(*items), sort_cmp, &c);
	nums = xcalloc(n + 1, sizeof(*nums));
	for (i = 0; i < n; i++)
		nums[i] = sort_num(cmd, items[i].msgno);
	if (ret.opts != 0) {
		search_ret_put(&res, cmd->tag, cmd->uid, &ret, nums, n);
		io_printf(cmd->s, "%s\r\n", buf_cstr(&res));
	} else {
		for (i = 0; i < n; i++)
			buf_printf(&res, " %u", nums[i]);
		io_printf(cmd->s, "* SORT%s\r\n", buf_cstr(&res));
	}
	if (prog != NULL && cmd_sort_keep(cmd, &c, prog, items, n)) {
		items = NULL;
		prog = NULL;
	}
	imap_ok(cmd, "SORT completed");
	free(nums);
	buf_free(&res);
	search_free(&prog);
	if (items != NULL)
		sort_items_free(items, n);
}

/*
 * cmd_sort - SORT and UID SORT (RFC 5256) with SORT=DISPLAY (RFC 5957)
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
#include "sort.h"
#include "xalloc.h"

static const struct {
	const char *name;
	enum sort_key key;
} sort_names[] = {
	{ "ARRIVAL", SK_ARRIVAL }, { "CC", SK_CC }, { "DATE", SK_DATE },
	{ "FROM", SK_FROM }, { "SIZE", SK_SIZE }, { "SUBJECT", SK_SUBJECT },
	{ "TO", SK_TO }, { "DISPLAYFROM", SK_DISPLAYFROM },
	{ "DISPLAYTO", SK_DISPLAYTO },
};

/* sort_strip_leader - remove one subj-leader ("Re:", "Fwd:", "[blob]"
 * before one, blanks) at the start of s[*i..len); 2 if it was a reply
 * or forward marker, 1 blanks, 0 none */
static int
sort_strip_leader(const char *s, size_t len, size_t *i)
{
	static const char *refwd[] = { "re", "fwd", "fw" };
	size_t j = *i, k, l;

	if (j < len && (s[j] == ' ' || s[j] == '\t')) {
		*i = j + 1;
		return 1;
	}
	/* *subj-blob subj-refwd */
	while (j < len && s[j] == '[') {
		for (k = j + 1; k < len && s[k] != ']' && s[k] != '['; k++)
			;
		if (k >= len || s[k] != ']')
			break;
		for (j = k + 1; j < len && s[j] == ' '; j++)
			;
	}
	for (k = 0; k < 3; k++) {
		l = strlen(refwd[k]);
		if (len - j >= l && strncasecmp(s + j, refwd[k], l) == 0)
			break;
	}
	if (k == 3)
		return 0;
	j += l;
	while (j < len && s[j] == ' ')
		j++;
	if (j < len && s[j] == '[') {	/* "Re[2]:" */
		for (k = j + 1; k < len && s[k] != ']'; k++)
			;
		j = k < len ? k + 1 : j;
	}
	if (j >= len || s[j] != ':')
		return 0;
	*i = j + 1;
	return 2;
}

char *
sort_base_subject(const char *raw, size_t rlen, int *reply_r)
{
	struct buf d = BUF_INIT;
	char *s, *t;
	size_t len, i, o, k, changed;
	int reply = 0, r;

	mime_decode_words(raw, rlen, &d);
	s = buf_release(&d);
	if (reply_r != NULL)
		*reply_r = 0;
	if (s == NULL)
		return xstrdup("");
	/* (1) blanks folded into one space */
	for (i = o = 0; s[i]; i++) {
		char c = s[i] == '\t' || s[i] == '\r' || s[i] == '\n' ? ' ' :
		    s[i];

		if (c == ' ' && o > 0 && s[o - 1] == ' ')
			continue;
		s[o++] = c;
	}
	s[o] = '\0';
	len = o;
	i = 0;
	do {
		changed = 0;
		/* (2) trailing "(fwd)" and blanks */
		for (;;) {
			while (len > i && s[len - 1] == ' ')
				len--;
			if (len - i >= 5 && strncasecmp(s + len - 5, "(fwd)",
			    5) == 0) {
				len -= 5;
				reply = 1;
			} else
				break;
		}
		/* (3) leaders; a blob alone only if something follows */
		for (;;) {
			size_t before = i;

			if ((r = sort_strip_leader(s, len, &i)) != 0) {
				reply |= r == 2;
				changed = 1;
				continue;
			}
			if (i < len && s[i] == '[') {
				for (k = i + 1; k < len && s[k] != ']'; k++)
					;
				if (k < len && k + 1 < len) {
					i = k + 1;
					changed = 1;
					continue;
				}
			}
			if (i == before)
				break;
		}
		/* (5) "[fwd: ... ]" */
		if (len - i >= 6 && strncasecmp(s + i, "[fwd:", 5) == 0 &&
		    s[len - 1] == ']') {
			i += 5;
			len--;
			changed = 1;
			reply = 1;
		}
	} while (changed);
	if (reply_r != NULL)
		*reply_r = reply;
	t = xstrndup(s + i, len - i);
	free(s);
	return t;
}

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

size_t
sort_header_len(const char *data, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (data[i] == '\n' && (data[i + 1] == '\n' ||
		    (data[i + 1] == '\r' && i + 2 < len &&
		    data[i + 2] == '\n')))
			return i + 1;
	return len;
}

/* sort_load - the keys the criteria need of one message */
static void
sort_load(struct imap_session *s, const struct sort_ctx *c,
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
			if (v.len > 0 && date_parse_rfc5322(v.data, v.len, &t,
			    &tz) == 0)
				it->date = t;
			break;
		case SK_SUBJECT:
			buf_reset(&v);
			sort_hdr(data, hlen, "Subject", &v);
			if (it->str[0] == NULL)
				it->str[0] = sort_base_subject(buf_cstr(&v),
				    v.len, &it->reply);
			break;
		case SK_FROM: case SK_TO: case SK_CC:
			if (it->str[c->crit[i].key == SK_FROM ? 1 :
			    c->crit[i].key == SK_TO ? 2 : 3] == NULL)
				it->str[c->crit[i].key == SK_FROM ? 1 :
				    c->crit[i].key == SK_TO ? 2 : 3] =
				    sort_addr(data, hlen, c->crit[i].key ==
				    SK_FROM ? "From" : c->crit[i].key ==
				    SK_TO ? "To" : "Cc", 0);
			break;
		case SK_DISPLAYFROM: case SK_DISPLAYTO:
			if (it->str[4] == NULL)
				it->str[4] = sort_addr(data, hlen,
				    c->crit[i].key == SK_DISPLAYFROM ?
				    "From" : "To", 1);
			break;
		default:
			break;
		}
	}
	buf_free(&v);
	if (data != NULL)
		store_msg_unmap(data, len);
}

static int
sort_num_cmp(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int
sort_str_cmp(const char *a, const char *b)
{
	return strcasecmp(a ? a : "", b ? b : "");
}

int
sort_cmp(const void *va, const void *vb, void *vc)
{
	const struct sort_item *a = va, *b = vb;
	const struct sort_ctx *sort_cur = vc;
	size_t i;
	int r = 0;

	for (i = 0; i < sort_cur->ncrit && r == 0; i++) {
		switch (sort_cur->crit[i].key) {
		case SK_ARRIVAL: r = sort_num_cmp(a->arrival, b->arrival);
			break;
		case SK_DATE: r = sort_num_cmp(a->date, b->date); break;
		case SK_SIZE: r = a->size < b->size ? -1 : a->size > b->size;
			break;
		case SK_SUBJECT: r = sort_str_cmp(a->str[0], b->str[0]); break;
		case SK_FROM: r = sort_str_cmp(a->str[1], b->str[1]); break;
		case SK_TO: r = sort_str_cmp(a->str[2], b->str[2]); break;
		case SK_CC: r = sort_str_cmp(a->str[3], b->str[3]); break;
		case SK_DISPLAYFROM: case SK_DISPLAYTO:
			r = sort_str_cmp(a->str[4], b->str[4]);
			break;
		}
		if (sort_cur->crit[i].reverse)
			r = -r;
	}
	return r ? r : sort_num_cmp(a->msgno, b->msgno);
}

/* sort_criteria - "(REVERSE DATE SUBJECT)"; -1 bad.  DISPLAYFROM and
 * DISPLAYTO share one key slot: one of them per SORT */
static int
sort_criteria(const struct imapp_arg *l, struct sort_ctx *c)
{
	size_t i, j;
	int reverse = 0, display = 0;

	if (l->type != IMAPP_LIST || l->nlist == 0)
		return -1;
	for (i = 0; i < l->nlist; i++) {
		if (l->list[i].type != IMAPP_ATOM)
			return -1;
		if (strcasecmp(l->list[i].str, "REVERSE") == 0) {
			if (reverse)
				return -1;
			reverse = 1;
			continue;
		}
		for (j = 0; j < sizeof(sort_names) / sizeof(sort_names[0]);
		    j++)
			if (strcasecmp(l->list[i].str, sort_names[j].name) == 0)
				break;
		if (j == sizeof(sort_names) / sizeof(sort_names[0]) ||
		    c->ncrit == SORT_MAX_CRIT)
			return -1;
		if (sort_names[j].key == SK_DISPLAYFROM ||
		    sort_names[j].key == SK_DISPLAYTO) {
			if (display++)
				return -1;
		}
		c->crit[c->ncrit].key = sort_names[j].key;
		c->crit[c->ncrit++].reverse = reverse;
		reverse = 0;
	}
	return reverse ? -1 : 0;
}

struct sort_item *
sort_items(struct imap_cmd *cmd, const struct sort_ctx *c,
    const struct imapp_arg *args, size_t n, size_t *nitems_r)
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
		imap_no(cmd, "[BADCHARSET (US-ASCII UTF-8)] Unsupported "
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
	search_free(&prog);
	uids = xcalloc(nhits + 1, sizeof(*uids));
	for (i = 0; i < nhits; i++)
		uids[i] = v->msgs[hits[i] - 1].uid;
	items = xcalloc(nhits + 1, sizeof(*items));
	if (nhits > 0 && store_msg_get_uids(s->st, v->mboxid, uids, nhits,
	    &recs, &nrecs, &err) != 0) {
		log_error("sort user=%s mailbox=%s: %s", s->user, v->name,
		    err);
		nrecs = 0;
	}
	/* records come in the order of uids, the missing left out */
	for (i = j = k = 0; i < nhits; i++) {
		if (j < nrecs && recs[j].uid == uids[i]) {
			items[k].msgno = hits[i];
			sort_load(s, c, &recs[j++], &items[k++]);
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

#define ESORT_MIN	0x01
#define ESORT_MAX	0x02
#define ESORT_ALL	0x04
#define ESORT_COUNT	0x08

/* sort_return - ESORT (RFC 5267 3.2): "RETURN (MIN MAX ALL COUNT)"
 * before the criteria; the arguments it took (0: none), -1 bad */
static int
sort_return(struct imap_cmd *cmd, unsigned *ret_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = { { "MIN", ESORT_MIN }, { "MAX", ESORT_MAX },
	    { "ALL", ESORT_ALL }, { "COUNT", ESORT_COUNT } };
	const struct imapp_arg *l;
	size_t i, j;

	*ret_r = 0;
	if (cmd->nargs < 1 || cmd->args[0].type != IMAPP_ATOM ||
	    strcasecmp(cmd->args[0].str, "RETURN") != 0)
		return 0;
	if (cmd->nargs < 2 || (l = &cmd->args[1])->type != IMAPP_LIST)
		return -1;
	for (i = 0; i < l->nlist; i++) {
		for (j = 0; j < sizeof(opts) / sizeof(opts[0]); j++)
			if (l->list[i].type == IMAPP_ATOM &&
			    strcasecmp(l->list[i].str, opts[j].name) == 0)
				break;
		if (j == sizeof(opts) / sizeof(opts[0]))
			return -1;
		*ret_r |= opts[j].bit;
	}
	if (*ret_r == 0)
		*ret_r = ESORT_ALL;
	return 2;
}

/* sort_esearch - the ESEARCH response of an ESORT: MIN and MAX are the
 * first and last in sort order, ALL the numbers in sort order (a range
 * only for a run that ascends by one) */
static void
sort_esearch(struct imap_cmd *cmd, unsigned ret, const uint32_t *nums,
    size_t n)
{
	struct buf line = BUF_INIT;
	size_t i, j;

	buf_puts(&line, "* ESEARCH (TAG ");
	imapp_put_string(&line, cmd->tag, strlen(cmd->tag));
	buf_puts(&line, ")");
	if (cmd->uid)
		buf_puts(&line, " UID");
	if ((ret & ESORT_MIN) && n > 0)
		buf_printf(&line, " MIN %u", nums[0]);
	if ((ret & ESORT_MAX) && n > 0)
		buf_printf(&line, " MAX %u", nums[n - 1]);
	if (ret & ESORT_COUNT)
		buf_printf(&line, " COUNT %zu", n);
	if ((ret & ESORT_ALL) && n > 0) {
		buf_puts(&line, " ALL ");
		for (i = 0; i < n; i = j + 1) {
			for (j = i; j + 1 < n && nums[j + 1] == nums[j] + 1;
			    j++)
				;
			buf_printf(&line, "%s%u", i ? "," : "", nums[i]);
			if (j > i)
				buf_printf(&line, ":%u", nums[j]);
		}
	}
	io_printf(cmd->s, "%s\r\n", buf_cstr(&line));
	buf_free(&line);
}

void
cmd_sort(struct imap_cmd *cmd)
{
	struct sort_ctx c;
	struct sort_item *items;
	struct buf res = BUF_INIT;
	uint32_t *nums;
	unsigned ret;
	size_t n, i, skip;
	int r;

	memset(&c, 0, sizeof(c));
	if ((r = sort_return(cmd, &ret)) < 0) {
		imap_bad(cmd, "SORT RETURN takes (MIN MAX ALL COUNT)");
		return;
	}
	skip = (size_t)r;
	if (cmd->nargs < skip + 3 ||
	    sort_criteria(&cmd->args[skip], &c) < 0) {
		imap_bad(cmd, "SORT needs (criteria) charset search-keys");
		return;
	}
	if ((items = sort_items(cmd, &c, cmd->args + skip + 1,
	    cmd->nargs - skip - 1, &n)) == NULL)
		return;
	qsort_r(items, n, sizeof(*items), sort_cmp, &c);
	nums = xcalloc(n + 1, sizeof(*nums));
	for (i = 0; i < n; i++)
		nums[i] = sort_num(cmd, items[i].msgno);
	if (ret != 0) {
		sort_esearch(cmd, ret, nums, n);
	} else {
		for (i = 0; i < n; i++)
			buf_printf(&res, " %u", nums[i]);
		io_printf(cmd->s, "* SORT%s\r\n", buf_cstr(&res));
	}
	imap_ok(cmd, "SORT completed");
	free(nums);
	buf_free(&res);
	sort_items_free(items, n);
}

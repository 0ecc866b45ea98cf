/*
 * search_ctx - RFC 5267 UPDATE contexts (search_ctx.h).
 *
 * A context holds its result as UIDs (in mailbox order for SEARCH, in
 * sort order for SORT, with each one's sort keys), the highest modseq
 * it has seen and the view's last UID then.  A sync matches again only
 * what changed since (store_msg_changed) and what joined the view: a
 * message's text and sort keys never change, its flags bring a new
 * modseq.  Keys whose result moves without any such change (message
 * numbers, '*', "$", \Recent, WITHIN) are refused a context
 * (search_ctx_refusal) rather than matched against the whole mailbox
 * on every change.
 *
 * Sort items of a context carry the UID in their msgno field: sort_cmp
 * breaks ties by it, and UID order is message number order.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "imapd.h"
#include "imapp.h"
#include "log.h"
#include "search.h"
#include "search_ctx.h"
#include "search_ret.h"
#include "sort.h"
#include "xalloc.h"

struct search_ctx {
	struct search_ctx *next;
	char *tag;
	int uid;
	int sorted; /* SORT: positions in ADDTO and
		     * REMOVEFROM */
	struct sort_ctx crit;
	struct search_prog *prog;
	uint32_t *uids;		 /* the result, in its order */
	struct sort_item *items; /* SORT: beside uids */
	size_t n, size;
	uint64_t modseq;  /* changes up to it are matched */
	uint32_t lastuid; /* the view's last UID then */
};

static struct search_ctx *
search_ctx_find(struct imap_session *s, const char *tag)
{
	struct search_ctx *c;

	for (c = s->view.ctx; c != NULL; c = c->next)
		if (strcmp(c->tag, tag) == 0)
			return c;
	return NULL;
}

int
search_ctx_has(struct imap_session *s, const char *tag)
{
	return search_ctx_find(s, tag) != NULL;
}

/* search_ctx_refusal - why a context for prog cannot be kept, NULL if it
 * can */
static const char *
search_ctx_refusal(struct imap_session *s, const struct search_prog *prog)
{
	struct search_ctx *c;
	size_t n = 0;

	for (c = s->view.ctx; c != NULL; c = c->next)
		n++;
	if (n >= SEARCH_CTX_MAX)
		return "Too many search contexts";
	return search_volatile(prog);
}

int
search_ctx_admit(struct imap_session *s, const char *tag,
    const struct search_prog *prog)
{
	const char *why;
	struct buf q = BUF_INIT;

	if ((why = search_ctx_refusal(s, prog)) == NULL)
		return 1;
	imapp_put_string(&q, tag, strlen(tag));
	io_printf(s, "* NO [NOUPDATE %s] %s\r\n", buf_cstr(&q), why);
	log_info("search context refused user=%s addr=%s tag=%s "
		 "reason=\"%s\" limit=%d",
	    s->user, s->addr, tag, why, SEARCH_CTX_MAX);
	buf_free(&q);
	return 0;
}

static void
search_ctx_destroy(struct search_ctx *c)
{
	free(c->tag);
	search_free(&c->prog);
	if (c->items != NULL)
		sort_items_free(c->items, c->n);
	free(c->uids);
	free(c);
}

/* search_ctx_view_last - the UID of the view's last message, 0 if none */
static uint32_t
search_ctx_view_last(const struct imap_view *v)
{
	return v->n ? v->msgs[v->n - 1].uid : 0;
}

void
search_ctx_add(struct imap_session *s, const char *tag, int uid,
    const struct sort_ctx *crit, struct search_prog *prog,
    const uint32_t *msgnos, struct sort_item *items, size_t n)
{
	struct imap_view *v = &s->view;
	struct search_ctx *c = xcalloc(1, sizeof(*c));
	size_t i;

	c->tag = xstrdup(tag);
	c->uid = uid;
	c->prog = prog;
	c->size = n ? n : 1;
	c->uids = xcalloc(c->size, sizeof(*c->uids));
	if (crit != NULL) {
		c->sorted = 1;
		c->crit = *crit;
		c->items = items;
		for (i = 0; i < n; i++) {
			c->uids[i] = v->msgs[items[i].msgno - 1].uid;
			c->items[i].msgno = c->uids[i];
		}
	} else {
		for (i = 0; i < n; i++)
			c->uids[i] = v->msgs[msgnos[i] - 1].uid;
	}
	c->n = n;
	c->modseq = v->smodseq;
	c->lastuid = search_ctx_view_last(v);
	c->next = v->ctx;
	v->ctx = c;
	log_debug("search context user=%s addr=%s mailbox=%s tag=%s "
		  "results=%zu",
	    s->user, s->addr, v->name, tag, n);
}

int
search_ctx_cancel(struct imap_session *s, const char *tag)
{
	struct search_ctx **pp, *c;

	for (pp = &s->view.ctx; (c = *pp) != NULL; pp = &c->next)
		if (strcmp(c->tag, tag) == 0) {
			*pp = c->next;
			search_ctx_destroy(c);
			return 0;
		}
	return -1;
}

void
search_ctx_free(struct imap_session *s)
{
	struct search_ctx *c;

	while ((c = s->view.ctx) != NULL) {
		s->view.ctx = c->next;
		search_ctx_destroy(c);
	}
}

/* search_ctx_num - what the client knows uid by in c */
static uint32_t
search_ctx_num(struct imap_session *s, const struct search_ctx *c, uint32_t uid)
{
	return c->uid ? uid : view_msgno(s, uid);
}

/* search_ctx_line - start "* ESEARCH (TAG "t") [UID]" */
static void
search_ctx_line(const struct search_ctx *c, struct buf *line)
{
	struct search_ret none;

	memset(&none, 0, sizeof(none));
	search_ret_put(line, c->tag, c->uid, &none, NULL, 0);
}

/*
 * search_ctx_remove - REMOVEFROM for the members whose flag in gone[] is
 * set (indexes into c->uids), appended to line, and out of c.  SEARCH:
 * position 0 and the numbers ascending; SORT: runs of neighbours from
 * the last to the first, each at its position before removal, so that
 * no earlier pair moves a later one.
 */
static void
search_ctx_remove(struct imap_session *s, struct search_ctx *c,
    const unsigned char *gone, struct buf *line)
{
	uint32_t *nums = xcalloc(c->n + 1, sizeof(*nums));
	size_t i, j, k = 0, o;

	if (!c->sorted) {
		for (i = 0; i < c->n; i++)
			if (gone[i])
				nums[k++] = search_ctx_num(s, c, c->uids[i]);
		buf_puts(line, " REMOVEFROM (0 ");
		search_ret_put_set(line, nums, k);
		buf_putc(line, ')');
	} else {
		buf_puts(line, " REMOVEFROM (");
		for (i = c->n; i > 0; i = j) {
			if (!gone[i - 1]) {
				j = i - 1;
				continue;
			}
			for (j = i - 1; j > 0 && gone[j - 1]; j--)
				;
			/* members j..i-1, at positions j+1.. */
			for (k = 0, o = j; o < i; o++)
				nums[k++] = search_ctx_num(s, c, c->uids[o]);
			buf_printf(line, "%s%zu ",
			    line->data[line->len - 1] == '(' ? "" : " ", j + 1);
			search_ret_put_set(line, nums, k);
		}
		buf_putc(line, ')');
	}
	for (i = o = 0; i < c->n; i++) {
		if (!gone[i]) {
			c->uids[o] = c->uids[i];
			if (c->items != NULL)
				c->items[o] = c->items[i];
			o++;
		} else if (c->items != NULL) {
			for (k = 0; k < 5; k++)
				free(c->items[i].str[k]);
		}
	}
	c->n = o;
	free(nums);
}

void
search_ctx_expunge(struct imap_session *s)
{
	struct imap_view *v = &s->view;
	struct search_ctx *c;
	struct buf line = BUF_INIT;
	unsigned char *gone;
	uint32_t no;
	size_t i, any;

	for (c = v->ctx; c != NULL; c = c->next) {
		gone = xcalloc(c->n + 1, 1);
		for (i = any = 0; i < c->n; i++)
			if ((no = view_msgno(s, c->uids[i])) == 0 ||
			    v->msgs[no - 1].gone)
				any += gone[i] = 1;
		if (any > 0) {
			buf_reset(&line);
			search_ctx_line(c, &line);
			search_ctx_remove(s, c, gone, &line);
			io_printf(s, "%s\r\n", buf_cstr(&line));
		}
		free(gone);
	}
	buf_free(&line);
}

/* search_ctx_member - the index of uid in c's result, or c->n */
static size_t
search_ctx_member(const struct search_ctx *c, uint32_t uid)
{
	size_t lo = 0, hi = c->n, mid, i;

	if (c->sorted) {
		for (i = 0; i < c->n; i++)
			if (c->uids[i] == uid)
				return i;
		return c->n;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (c->uids[mid] == uid)
			return mid;
		if (c->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return c->n;
}

/* search_ctx_candidates - the UIDs to match again (ascending,
 * malloc'ed): changed since c->modseq or above c->lastuid, in the view
 * and not expunged */
static uint32_t *
search_ctx_candidates(struct imap_session *s, const struct search_ctx *c,
    size_t *n_r)
{
	struct imap_view *v = &s->view;
	struct store_msg *ch = NULL;
	const char *err;
	uint32_t *u, no;
	size_t nch = 0, i, j, k = 0;

	if (v->smodseq > c->modseq &&
	    store_msg_changed(s->st, v->mboxid, c->modseq, &ch, &nch, &err) !=
		0) {
		log_error("search context user=%s mailbox=%s: %s", s->user,
		    v->name, err);
		nch = 0;
	}
	u = xcalloc(nch + v->n + 1, sizeof(*u));
	/* merge the changed (ascending) with the view's new (ascending) */
	for (i = 0, j = v->n; j > 0 && v->msgs[j - 1].uid > c->lastuid; j--)
		;
	while (i < nch || j < v->n) {
		uint32_t a = i < nch ? ch[i].uid : UINT32_MAX,
			 b = j < v->n ? v->msgs[j].uid : UINT32_MAX, x;

		x = a < b ? a : b;
		i += a == x;
		j += b == x;
		if ((no = view_msgno(s, x)) != 0 && !v->msgs[no - 1].gone)
			u[k++] = x;
	}
	free(ch);
	*n_r = k;
	return u;
}

/* search_ctx_matches - of the records recs[0..n), set match[i] */
static void
search_ctx_matches(struct imap_session *s, struct search_ctx *c,
    const struct store_msg *recs, size_t n, unsigned char *match)
{
	struct imap_view *v = &s->view;
	struct search_msg sm;
	uint32_t no;
	size_t i;

	for (i = 0; i < n; i++) {
		no = view_msgno(s, recs[i].uid);
		memset(&sm, 0, sizeof(sm));
		sm.msgno = no;
		sm.rec = &recs[i];
		sm.recent = v->msgs[no - 1].recent;
		sm.maxmsgno = (uint32_t)v->n;
		sm.maxuid = search_ctx_view_last(v);
		sm.st = s->st;
		sm.mboxid = v->mboxid;
		sm.saved = v->saved;
		sm.nsaved = v->nsaved;
		match[i] = search_match(c->prog, &sm) != 0;
		search_msg_done(&sm);
	}
}

/* search_ctx_add_search - ADDTO (0 set) for uids add[0..n) (ascending),
 * merged into c's result */
static void
search_ctx_add_search(struct imap_session *s, struct search_ctx *c,
    const uint32_t *add, size_t n, struct buf *line)
{
	uint32_t *m, *nums = xcalloc(n + 1, sizeof(*nums));
	size_t i = 0, j = 0, k = 0;

	for (i = 0; i < n; i++)
		nums[i] = search_ctx_num(s, c, add[i]);
	buf_puts(line, " ADDTO (0 ");
	search_ret_put_set(line, nums, n);
	buf_putc(line, ')');
	m = xcalloc(c->n + n + 1, sizeof(*m));
	for (i = 0; i < c->n || j < n;)
		m[k++] = j >= n || (i < c->n && c->uids[i] < add[j])
		    ? c->uids[i++]
		    : add[j++];
	free(c->uids);
	free(nums);
	c->uids = m;
	c->n = k;
	c->size = k + 1;
}

/* search_ctx_add_sort - the items add[0..n) (taken) into c's order:
 * ADDTO with runs at their final positions, first to last */
static void
search_ctx_add_sort(struct imap_session *s, struct search_ctx *c,
    struct sort_item *add, size_t n, struct buf *line)
{
	struct sort_item *m = xcalloc(c->n + n + 1, sizeof(*m));
	uint32_t *u = xcalloc(c->n + n + 1, sizeof(*u));
	uint32_t *nums = xcalloc(n + 1, sizeof(*nums));
	size_t i = 0, j = 0, k = 0, run = 0, at = 0;
	int first = 1;

	qsort_r(add, n, sizeof(*add), sort_cmp, &c->crit);
	buf_puts(line, " ADDTO (");
	while (i < c->n || j < n) {
		int take_new = j < n &&
		    (i >= c->n ||
			sort_cmp(&add[j], &c->items[i], &c->crit) < 0);

		if (take_new) {
			if (run == 0)
				at = k + 1;
			nums[run++] = search_ctx_num(s, c, add[j].msgno);
			m[k] = add[j++];
		} else {
			m[k] = c->items[i++];
		}
		u[k] = m[k].msgno;
		k++;
		if (run > 0 && (!take_new || j == n)) {
			buf_printf(line, "%s%zu ", first ? "" : " ", at);
			search_ret_put_set(line, nums, run);
			first = 0;
			run = 0;
		}
	}
	buf_putc(line, ')');
	free(c->items);
	free(c->uids);
	free(nums);
	c->items = m;
	c->uids = u;
	c->n = k;
	c->size = k + 1;
}

/* search_ctx_update - match c again on what changed; the differences
 * appended to line; 1 if any */
static int
search_ctx_update(struct imap_session *s, struct search_ctx *c,
    struct buf *line)
{
	struct imap_view *v = &s->view;
	struct store_msg *recs = NULL;
	struct sort_item *items;
	unsigned char *match, *gone;
	uint32_t *cand, *add;
	const char *err;
	size_t ncand, nrecs = 0, i, k, nadd = 0, ngone = 0;

	cand = search_ctx_candidates(s, c, &ncand);
	if (ncand > 0 &&
	    store_msg_get_uids(s->st, v->mboxid, cand, ncand, &recs, &nrecs,
		&err) != 0) {
		log_error("search context user=%s mailbox=%s: %s", s->user,
		    v->name, err);
		free(cand);
		return 0;
	}
	free(cand);
	c->modseq = v->smodseq;
	c->lastuid = search_ctx_view_last(v);
	match = xcalloc(nrecs + 1, 1);
	gone = xcalloc(c->n + 1, 1);
	add = xcalloc(nrecs + 1, sizeof(*add));
	search_ctx_matches(s, c, recs, nrecs, match);
	for (i = 0; i < nrecs; i++) {
		k = search_ctx_member(c, recs[i].uid);
		if (k < c->n && !match[i])
			ngone += gone[k] = 1;
		else if (k == c->n && match[i])
			add[nadd++] = recs[i].uid;
	}
	if (ngone > 0)
		search_ctx_remove(s, c, gone, line);
	if (nadd > 0 && !c->sorted) {
		search_ctx_add_search(s, c, add, nadd, line);
	} else if (nadd > 0) {
		items = xcalloc(nadd + 1, sizeof(*items));
		for (i = k = 0; i < nrecs; i++)
			if (match[i] &&
			    search_ctx_member(c, recs[i].uid) == c->n) {
				sort_item_load(s, &c->crit, &recs[i],
				    &items[k]);
				items[k++].msgno = recs[i].uid;
			}
		search_ctx_add_sort(s, c, items, k, line);
		free(items);
	}
	free(match);
	free(gone);
	free(add);
	free(recs);
	return ngone > 0 || nadd > 0;
}

void
search_ctx_sync(struct imap_session *s)
{
	struct imap_view *v = &s->view;
	struct search_ctx *c;
	struct buf line = BUF_INIT;

	for (c = v->ctx; c != NULL; c = c->next) {
		if (v->smodseq <= c->modseq &&
		    search_ctx_view_last(v) <= c->lastuid)
			continue;
		buf_reset(&line);
		search_ctx_line(c, &line);
		if (search_ctx_update(s, c, &line))
			io_printf(s, "%s\r\n", buf_cstr(&line));
	}
	buf_free(&line);
}

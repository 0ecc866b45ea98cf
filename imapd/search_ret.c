/*
 * search_ret - RETURN options and the ESEARCH response (search_ret.h).
 * What it does not do: run a search, keep a context (search_ctx.c).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "search_ret.h"

static const struct {
	const char *name;
	unsigned bit;
} search_ret_names[] = {
	{ "MIN", SEARCH_RET_MIN },
	{ "MAX", SEARCH_RET_MAX },
	{ "ALL", SEARCH_RET_ALL },
	{ "COUNT", SEARCH_RET_COUNT },
	{ "SAVE", SEARCH_RET_SAVE },
	{ "CONTEXT", SEARCH_RET_CONTEXT },
	{ "UPDATE", SEARCH_RET_UPDATE },
	{ "PARTIAL", SEARCH_RET_PARTIAL },
};

/* search_ret_range - PARTIAL's range (RFC 9394 4); -1 with *error_r */
static int
search_ret_range(const struct imapp_arg *a, struct search_ret *r,
    const char **error_r)
{
	if (a->type != IMAPP_ATOM) {
		*error_r = "PARTIAL needs a range m:n or -m:-n";
		return -1;
	}
	return prange_parse(a->str, a->len, &r->partial, error_r);
}

int
search_ret_parse(const struct imapp_arg *args, size_t n, unsigned allowed,
    struct search_ret *r, const char **error_r)
{
	const struct imapp_arg *l;
	size_t i, j;

	memset(r, 0, sizeof(*r));
	if (n < 1 || args[0].type != IMAPP_ATOM ||
	    strcasecmp(args[0].str, "RETURN") != 0)
		return 0;
	if (n < 2 || (l = &args[1])->type != IMAPP_LIST) {
		*error_r = "RETURN needs a list of options";
		return -1;
	}
	for (i = 0; i < l->nlist; i++) {
		for (j = 0;
		     j < sizeof(search_ret_names) / sizeof(search_ret_names[0]);
		     j++)
			if (l->list[i].type == IMAPP_ATOM &&
			    strcasecmp(l->list[i].str,
				search_ret_names[j].name) == 0)
				break;
		if (j ==
			sizeof(search_ret_names) /
			    sizeof(search_ret_names[0]) ||
		    !(allowed & search_ret_names[j].bit)) {
			*error_r = "Unknown RETURN option";
			return -1;
		}
		if (search_ret_names[j].bit == SEARCH_RET_PARTIAL) {
			if (r->opts & SEARCH_RET_PARTIAL) {
				*error_r = "One PARTIAL at most";
				return -1;
			}
			if (++i == l->nlist) {
				*error_r = "PARTIAL needs a range m:n";
				return -1;
			}
			if (search_ret_range(&l->list[i], r, error_r) < 0)
				return -1;
		}
		r->opts |= search_ret_names[j].bit;
	}
	if ((r->opts & SEARCH_RET_PARTIAL) && (r->opts & SEARCH_RET_ALL)) {
		/* RFC 5267 4.4, RFC 9394 3.1 */
		*error_r = "PARTIAL and ALL exclude each other";
		return -1;
	}
	if (!(r->opts &
		(SEARCH_RET_MIN | SEARCH_RET_MAX | SEARCH_RET_ALL |
		    SEARCH_RET_COUNT | SEARCH_RET_SAVE | SEARCH_RET_PARTIAL)))
		r->opts |= SEARCH_RET_ALL;
	return 2;
}

size_t
search_ret_saved(const struct search_ret *r, const uint32_t *nums, size_t n,
    uint32_t *keep_r)
{
	size_t from = 0, to = n, k = 0, i;
	int min = (r->opts & SEARCH_RET_MIN) != 0,
	    max = (r->opts & SEARCH_RET_MAX) != 0;

	if (n == 0)
		return 0;
	if (r->opts & (SEARCH_RET_ALL | SEARCH_RET_COUNT))
		min = max = 0; /* every entry */
	else if (r->opts & SEARCH_RET_PARTIAL)
		prange_span(&r->partial, n, &from, &to);
	else if (min || max)
		from = to = 0; /* only MIN and MAX */
	/* MIN and MAX join the span unless it holds them already */
	if (min && !(from == 0 && to > 0))
		keep_r[k++] = nums[0];
	for (i = from; i < to; i++)
		keep_r[k++] = nums[i];
	if (max && !(to == n && from < to) &&
	    !(k > 0 && keep_r[k - 1] == nums[n - 1]))
		keep_r[k++] = nums[n - 1];
	return k;
}

void
search_ret_put_set(struct buf *line, const uint32_t *nums, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i = j + 1) {
		for (j = i; j + 1 < n && nums[j + 1] == nums[j] + 1; j++)
			;
		buf_printf(line, "%s%u", i ? "," : "", nums[i]);
		if (j > i)
			buf_printf(line, ":%u", nums[j]);
	}
}

void
search_ret_put(struct buf *line, const char *tag, int uid,
    const struct search_ret *r, const uint32_t *nums, size_t n)
{
	size_t from, to;

	buf_puts(line, "* ESEARCH (TAG ");
	imapp_put_string(line, tag, strlen(tag));
	buf_puts(line, ")");
	if (uid)
		buf_puts(line, " UID");
	if ((r->opts & SEARCH_RET_MIN) && n > 0)
		buf_printf(line, " MIN %u", nums[0]);
	if ((r->opts & SEARCH_RET_MAX) && n > 0)
		buf_printf(line, " MAX %u", nums[n - 1]);
	if (r->opts & SEARCH_RET_COUNT)
		buf_printf(line, " COUNT %zu", n);
	if ((r->opts & SEARCH_RET_ALL) && n > 0) {
		buf_puts(line, " ALL ");
		search_ret_put_set(line, nums, n);
	}
	if (r->opts & SEARCH_RET_PARTIAL) {
		/* RFC 9394 3.1: the range as asked, the results in it */
		buf_printf(line, " PARTIAL (%s ", r->partial.text);
		prange_span(&r->partial, n, &from, &to);
		if (from == to)
			buf_puts(line, "NIL");
		else
			search_ret_put_set(line, nums + from, to - from);
		buf_putc(line, ')');
	}
}

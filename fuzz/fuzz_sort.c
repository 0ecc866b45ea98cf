/*
 * fuzz_sort - libFuzzer target: what SORT, THREAD and SEARCH read before
 * and after touching the messages, as imapd does it.  An input whose
 * first byte is even is a command after the tag ("SORT RETURN (...)
 * (criteria) charset keys", "THREAD alg charset keys", "SEARCH RETURN
 * (...) keys"), tokenized by lib/imapp: the RETURN options
 * (search_ret.c, PARTIAL included), the sort criteria (sort_parse.c),
 * the search keys (search.c), and an ESEARCH line for a result of the
 * input's length.  An odd first byte: the rest is up to 16 header blocks
 * separated by NUL bytes, threaded by REFERENCES and ORDEREDSUBJECT
 * (thread.c) after their base subjects and sent dates are read.
 *
 * Invariants: a refused command comes with a reason; an accepted PARTIAL
 * range is 1 <= lo <= hi; the ESEARCH line is one line; each message
 * appears exactly once in each THREAD response, in balanced, non-empty
 * parentheses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "date.h"
#include "fuzz_store.h"
#include "imapp.h"
#include "mime.h"
#include "search.h"
#include "search_ret.h"
#include "sort.h"
#include "store.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MSGS 16

/* fuzz_cmd - a SORT, THREAD or SEARCH command line */
static void
fuzz_cmd(const uint8_t *data, size_t size)
{
	struct buf wire = BUF_INIT, line = BUF_INIT;
	struct imapp_cmd c;
	struct search_prog *p = NULL;
	struct search_ret ret;
	struct sort_ctx sc;
	const char *err = NULL;
	uint32_t nums[64];
	uint32_t kept[64];
	size_t skip = 0, i, n;
	int r, badcs = 0, sort, thread = 0;

	buf_puts(&wire, "t ");
	buf_append(&wire, data, size);
	buf_puts(&wire, "\r\n");
	if (imapp_parse(wire.data, wire.len, &c, &err) != 0)
		goto out;
	sort = strcmp(c.name, "SORT") == 0;
	if (sort || strcmp(c.name, "SEARCH") == 0) {
		err = NULL;
		r = search_ret_parse(c.args, c.nargs,
		    sort ? ~(unsigned)(SEARCH_RET_SAVE) : ~0u, &ret, &err);
		if (r < 0 && err == NULL)
			abort();
		if (r < 0)
			goto out;
		if ((ret.opts & SEARCH_RET_PARTIAL) &&
		    (ret.partial.lo < 1 || ret.partial.lo > ret.partial.hi))
			abort();
		skip = (size_t)r;
		/* a result as long as the input, in a scrambled order */
		n = size < 64 ? size : 64;
		for (i = 0; i < n; i++)
			nums[i] = (uint32_t)data[i] * 7 + (uint32_t)i + 1;
		if (ret.opts & SEARCH_RET_PARTIAL) {
			size_t from, to;

			prange_span(&ret.partial, n, &from, &to);
			if (from > to || to > n)
				abort();
		}
		if (!sort && search_ret_saved(&ret, nums, n, kept) > n)
			abort();
		search_ret_put(&line, "t", n > 0 && (data[0] & 2), &ret, nums,
		    n);
		if (memchr(line.data, '\n', line.len) != NULL ||
		    memchr(line.data, '\r', line.len) != NULL)
			abort();
	} else if (strcmp(c.name, "THREAD") == 0) {
		/* the algorithm, as cmd_thread takes it */
		if (c.nargs < 1 || c.args[0].type != IMAPP_ATOM ||
		    (strcasecmp(c.args[0].str, "REFERENCES") != 0 &&
			strcasecmp(c.args[0].str, "ORDEREDSUBJECT") != 0))
			goto out;
		skip = 1;
		thread = 1;
	} else {
		goto out;
	}
	if (sort) {
		memset(&sc, 0, sizeof(sc));
		if (skip >= c.nargs || sort_criteria(&c.args[skip], &sc) < 0)
			goto out;
		if (sc.ncrit == 0 || sc.ncrit > SORT_MAX_CRIT)
			abort();
		skip++;
	}
	if (sort || thread) {
		/* the charset */
		if (skip >= c.nargs || !imapp_arg_is_astring(&c.args[skip]))
			goto out;
		skip++;
	}
	err = NULL;
	p = search_parse(c.args + skip, c.nargs - skip, &err, &badcs);
	if (p == NULL && err == NULL)
		abort();
	if (p != NULL)
		(void)search_volatile(p);
	search_free(&p);
out:
	imapp_cmd_free(&c);
	buf_free(&wire);
	buf_free(&line);
}

struct fuzz_msgs {
	const char *hdr[FUZZ_MSGS];
	size_t len[FUZZ_MSGS];
};

static int
fuzz_map(void *ctx, const struct sort_item *it, const char **data_r,
    size_t *len_r)
{
	struct fuzz_msgs *m = ctx;

	*data_r = m->hdr[it->msgno - 1];
	*len_r = m->len[it->msgno - 1];
	return 0;
}

static void
fuzz_unmap(void *ctx, const char *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
}

static uint32_t
fuzz_num(void *ctx, uint32_t msgno)
{
	(void)ctx;
	return msgno;
}

/* fuzz_check - res names messages 1..n once each, in balanced and
 * non-empty parentheses */
static void
fuzz_check(const struct buf *res, size_t n)
{
	unsigned seen[FUZZ_MSGS + 1];
	size_t i;
	long depth = 0, v;
	char *end;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < res->len; i++) {
		if (res->data[i] == '(') {
			if (i + 1 < res->len && res->data[i + 1] == ')')
				abort();
			depth++;
		} else if (res->data[i] == ')') {
			if (--depth < 0)
				abort();
		} else if (res->data[i] >= '1' && res->data[i] <= '9') {
			v = strtol(res->data + i, &end, 10);
			if (v < 1 || (size_t)v > n || seen[v]++)
				abort();
			i = (size_t)(end - res->data) - 1;
		} else if (res->data[i] != ' ') {
			abort();
		}
	}
	if (depth != 0)
		abort();
	for (i = 1; i <= n; i++)
		if (seen[i] != 1)
			abort();
}

/* fuzz_thread - header blocks threaded both ways */
static void
fuzz_thread(const uint8_t *data, size_t size)
{
	struct fuzz_msgs m;
	struct sort_item items[FUZZ_MSGS];
	struct thread_src src = { fuzz_map, fuzz_unmap, fuzz_num, &m };
	struct buf v = BUF_INIT, res = BUF_INIT;
	const char *p = (const char *)data, *e = p + size, *z;
	long long t;
	size_t n = 0, i, hl;
	int tz;

	while (n < FUZZ_MSGS && p <= e) {
		z = memchr(p, '\0', (size_t)(e - p));
		if (z == NULL)
			z = e;
		m.hdr[n] = p;
		m.len[n] = (size_t)(z - p);
		n++;
		p = z + 1;
	}
	memset(items, 0, sizeof(items));
	for (i = 0; i < n; i++) {
		items[i].msgno = (uint32_t)i + 1;
		items[i].arrival = items[i].date = (int64_t)i;
		hl = sort_header_len(m.hdr[i], m.len[i]);
		buf_reset(&v);
		mime_header_get(m.hdr[i], hl, "Subject", 0, 0, &v);
		items[i].str[0] =
		    sort_base_subject(buf_cstr(&v), v.len, &items[i].reply);
		buf_reset(&v);
		mime_header_get(m.hdr[i], hl, "Date", 0, 0, &v);
		if (v.len > 0 &&
		    date_parse_rfc5322(v.data, v.len, &t, &tz) == 0)
			items[i].date = t;
	}
	thread_references(&src, items, n, &res);
	fuzz_check(&res, n);
	buf_reset(&res);
	thread_orderedsubject(&src, items, n, &res);
	fuzz_check(&res, n);
	for (i = 0; i < n; i++)
		free(items[i].str[0]);
	buf_free(&v);
	buf_free(&res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	if (data[0] & 1)
		fuzz_thread(data + 1, size - 1);
	else
		fuzz_cmd(data + 1, size - 1);
	return 0;
}

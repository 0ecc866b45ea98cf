/*
 * sort_parse - what SORT and THREAD do without a session or a store: the
 * sort criteria (RFC 5256, RFC 5957's DISPLAYFROM/DISPLAYTO), RFC 5256
 * 2.1's base subject, a message's header block and the order of two
 * items (the fuzzer links it alone).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mime.h"
#include "sort.h"
#include "xalloc.h"

static const struct {
	const char *name;
	enum sort_key key;
} sort_names[] = {
	{ "ARRIVAL", SK_ARRIVAL },
	{ "CC", SK_CC },
	{ "DATE", SK_DATE },
	{ "FROM", SK_FROM },
	{ "SIZE", SK_SIZE },
	{ "SUBJECT", SK_SUBJECT },
	{ "TO", SK_TO },
	{ "DISPLAYFROM", SK_DISPLAYFROM },
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
	if (j < len && s[j] == '[') { /* "Re[2]:" */
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
		char c =
		    s[i] == '\t' || s[i] == '\r' || s[i] == '\n' ? ' ' : s[i];

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
			if (len - i >= 5 &&
			    strncasecmp(s + len - 5, "(fwd)", 5) == 0) {
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

/* sort_criteria - "(REVERSE DATE SUBJECT)"; -1 bad.  DISPLAYFROM and
 * DISPLAYTO share one key slot: one of them per SORT */
int
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
		for (j = 0; j < sizeof(sort_names) / sizeof(sort_names[0]); j++)
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

size_t
sort_header_len(const char *data, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (data[i] == '\n' &&
		    (data[i + 1] == '\n' ||
			(data[i + 1] == '\r' && i + 2 < len &&
			    data[i + 2] == '\n')))
			return i + 1;
	return len;
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
		case SK_ARRIVAL:
			r = sort_num_cmp(a->arrival, b->arrival);
			break;
		case SK_DATE:
			r = sort_num_cmp(a->date, b->date);
			break;
		case SK_SIZE:
			r = a->size < b->size ? -1 : a->size > b->size;
			break;
		case SK_SUBJECT:
			r = sort_str_cmp(a->str[0], b->str[0]);
			break;
		case SK_FROM:
			r = sort_str_cmp(a->str[1], b->str[1]);
			break;
		case SK_TO:
			r = sort_str_cmp(a->str[2], b->str[2]);
			break;
		case SK_CC:
			r = sort_str_cmp(a->str[3], b->str[3]);
			break;
		case SK_DISPLAYFROM:
		case SK_DISPLAYTO:
			r = sort_str_cmp(a->str[4], b->str[4]);
			break;
		}
		if (sort_cur->crit[i].reverse)
			r = -r;
	}
	return r ? r : sort_num_cmp(a->msgno, b->msgno);
}

/*
 * imapp - IMAP command reader (bounded, byte-at-a-time safe), tokenizer,
 * writers and sequence sets.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapp.h"
#include "mutf7.h"
#include "xalloc.h"

void
imapp_reader_init(struct imapp_reader *r, size_t max_line, uint64_t max_literal,
    size_t max_command)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->cmd, 0);
	r->max_line = max_line;
	r->max_literal = max_literal;
	r->max_command = max_command;
}

void
imapp_reader_free(struct imapp_reader *r)
{
	buf_free(&r->cmd);
}

void
imapp_reader_reset(struct imapp_reader *r)
{
	buf_reset(&r->cmd);
	r->line_start = 0;
	r->literal_left = 0;
	r->literal_nonsync = 0;
	r->literal_invalid = 0;
	r->tag[0] = '\0';
}

/* imapp_is_tag_char - tag = 1*<any ASTRING-CHAR except "+"> */
static int
imapp_is_tag_char(char c)
{
	return (imapp_is_atom_char((unsigned char)c) || c == ']') && c != '+';
}

/* imapp_reader_tag - remember the tag of the command being read */
static void
imapp_reader_tag(struct imapp_reader *r)
{
	const char *s = buf_cstr(&r->cmd);
	size_t n = 0;

	while (s[n] && n + 1 < sizeof(r->tag) && imapp_is_tag_char(s[n]))
		n++;
	memcpy(r->tag, s, n);
	r->tag[n] = '\0';
}

/* imapp_literal_at_eol - does the line [start, end) end in a literal
 * announcement?  Returns 1 with size and nonsync, 0 if not, -1 bad */
static int
imapp_literal_at_eol(const char *s, size_t start, size_t end, uint64_t *size_r,
    int *nonsync_r)
{
	size_t i;
	uint64_t v = 0;

	if (end == start || s[end - 1] != '}')
		return 0;
	i = end - 1;
	*nonsync_r = 0;
	if (i > start && s[i - 1] == '+') {
		*nonsync_r = 1;
		i--;
	}
	if (i == start || !isdigit((unsigned char)s[i - 1]))
		return 0;
	while (i > start && isdigit((unsigned char)s[i - 1]))
		i--;
	if (i == start || s[i - 1] != '{')
		return 0;
	/* a number past UINT64_MAX is refused, never wrapped */
	for (; isdigit((unsigned char)s[i]); i++) {
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*size_r = v;
	return 1;
}

enum imapp_status
imapp_reader_feed(struct imapp_reader *r, const char *data, size_t len,
    size_t *used_r)
{
	size_t i = 0, n, le;
	uint64_t lsize;
	int nonsync, lit;
	const char *nl;

	while (i < len) {
		if (r->literal_left > 0) {
			n = len - i < r->literal_left ? len - i
						      : (size_t)r->literal_left;
			buf_append(&r->cmd, data + i, n);
			r->literal_left -= n;
			i += n;
			if (r->literal_left == 0)
				r->line_start = r->cmd.len;
			continue;
		}
		nl = memchr(data + i, '\n', len - i);
		n = nl ? (size_t)(nl - (data + i)) + 1 : len - i;
		if (r->skipping) {
			i += n;
			if (nl)
				r->skipping = 0;
			continue;
		}
		if (r->cmd.len - r->line_start + n > r->max_line + 2 ||
		    r->cmd.len + n > r->max_command) {
			if (r->cmd.len > 0 || n > 0) {
				buf_append(&r->cmd, data + i, n < 64 ? n : 64);
				imapp_reader_tag(r);
			}
			i += n;
			r->skipping = nl == NULL;
			*used_r = i;
			return IMAPP_ELINE;
		}
		buf_append(&r->cmd, data + i, n);
		i += n;
		if (!nl)
			continue;
		/* a whole line: strip CRLF for the literal check */
		le = r->cmd.len - 1;
		if (le > r->line_start && r->cmd.data[le - 1] == '\r')
			le--;
		lit = imapp_literal_at_eol(r->cmd.data, r->line_start, le,
		    &lsize, &nonsync);
		if (lit == 0) {
			*used_r = i;
			return IMAPP_COMMAND;
		}
		if (lit < 0 || lsize > r->max_literal ||
		    (nonsync && r->max_nonsync > 0 && lsize > r->max_nonsync) ||
		    r->cmd.len + lsize > r->max_command) {
			imapp_reader_tag(r);
			r->literal_nonsync = nonsync;
			r->literal_invalid = lit < 0;
			*used_r = i;
			return IMAPP_ELITERAL;
		}
		r->literal_left = lsize;
		if (lsize == 0)
			r->line_start = r->cmd.len;
		if (!nonsync) {
			*used_r = i;
			return IMAPP_CONTINUE;
		}
	}
	*used_r = i;
	return IMAPP_MORE;
}

int
imapp_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return strchr("(){%*\"\\]", c) == NULL;
}

/* ---- tokenizer ---- */

struct imapp_tok {
	const char *s;
	size_t len, i;
	unsigned flags; /* IMAPP_PARSE_* */
	size_t nargs;
	const char *err;
	char errbuf[96];
};

static int imapp_parse_list(struct imapp_tok *t, struct imapp_arg **list_r,
    size_t *n_r, int depth, int closing);

static int
imapp_fail(struct imapp_tok *t, const char *msg)
{
	if (t->err == NULL)
		t->err = msg;
	return -1;
}

/*
 * imapp_bracket_end - the index just past the ']' that closes the '[' at
 * i, when the bracketed part is a FETCH section: nested brackets, and
 * spaces only before or inside parentheses ("[HEADER.FIELDS (A B)]"); 0 when
 * it is not one, and '[' is then an ordinary ATOM-CHAR ("foo[bar}")
 */
static size_t
imapp_bracket_end(const struct imapp_tok *t, size_t i)
{
	int depth = 0, paren = 0;
	unsigned char c;

	for (; i < t->len; i++) {
		c = (unsigned char)t->s[i];
		if (c == '[') {
			depth++;
		} else if (c == ']') {
			if (--depth == 0)
				return paren == 0 ? i + 1 : 0;
		} else if (c == '(') {
			paren++;
		} else if (c == ')') {
			if (--paren < 0)
				return 0;
		} else if (c == ' '
			? paren == 0 && (i + 1 >= t->len || t->s[i + 1] != '(')
			: !imapp_is_atom_char(c) && c != '"') {
			return 0;
		}
	}
	return 0;
}

/*
 * imapp_parse_atom - an atom at t->i: ATOM-CHARs, ']' (ASTRING-CHAR) and
 * the list wildcards; a '[' that opens a FETCH section takes the section
 * whole, spaces and parentheses included
 */
static int
imapp_parse_atom(struct imapp_tok *t, struct imapp_arg *a)
{
	size_t start = t->i, end;
	unsigned char c;

	/* flags: "\Seen", "\*" are atoms with a leading backslash */
	if (t->i < t->len && t->s[t->i] == '\\')
		t->i++;
	while (t->i < t->len) {
		c = (unsigned char)t->s[t->i];
		if (c == '[' && (end = imapp_bracket_end(t, t->i)) != 0) {
			t->i = end;
			continue;
		}
		if (c == '%' || c == '*' || c == ']') {
			t->i++;
			continue;
		}
		if (!imapp_is_atom_char(c))
			break;
		t->i++;
	}
	if (t->i == start) {
		c = (unsigned char)t->s[t->i];
		(void)snprintf(t->errbuf, sizeof(t->errbuf),
		    c >= 0x20 && c < 0x7f ? "Invalid character '%c'"
					  : "Invalid character 0x%02x",
		    c);
		return imapp_fail(t, t->errbuf);
	}
	a->type = IMAPP_ATOM;
	a->len = t->i - start;
	a->str = xstrndup(t->s + start, a->len);
	return 0;
}

static int
imapp_parse_quoted(struct imapp_tok *t, struct imapp_arg *a)
{
	struct buf b = BUF_INIT;
	unsigned char c;

	for (t->i++; t->i < t->len; t->i++) {
		c = (unsigned char)t->s[t->i];
		if (c == '"') {
			t->i++;
			/* UTF8=ACCEPT: UTF-8 only, checked here at the edge */
			if ((t->flags & IMAPP_PARSE_UTF8) &&
			    !mutf7_utf8_valid(b.data ? b.data : "", b.len)) {
				buf_free(&b);
				return imapp_fail(t,
				    "Quoted string is not valid UTF-8");
			}
			a->type = IMAPP_STRING;
			a->len = b.len;
			a->str = buf_release(&b);
			return 0;
		}
		if (c == '\r' || c == '\n' || c == '\0')
			break;
		if (c == '\\') {
			if (t->i + 1 >= t->len ||
			    (t->s[t->i + 1] != '"' && t->s[t->i + 1] != '\\')) {
				buf_free(&b);
				return imapp_fail(t,
				    "Invalid escape in quoted string");
			}
			c = (unsigned char)t->s[++t->i];
		}
		buf_putc(&b, c);
	}
	buf_free(&b);
	return imapp_fail(t, "Unterminated quoted string");
}

static int
imapp_parse_literal(struct imapp_tok *t, struct imapp_arg *a)
{
	uint64_t n = 0;
	size_t i = t->i;

	if (t->s[i] == '~')
		i++;
	for (i++; i < t->len && isdigit((unsigned char)t->s[i]); i++) {
		if (n > (UINT64_MAX - (uint64_t)(t->s[i] - '0')) / 10)
			return imapp_fail(t, "Invalid literal size");
		n = n * 10 + (uint64_t)(t->s[i] - '0');
	}
	if (i < t->len && t->s[i] == '+')
		i++;
	if (i + 2 >= t->len + 1 || t->s[i] != '}')
		return imapp_fail(t, "Invalid literal");
	i++;
	if (i < t->len && t->s[i] == '\r')
		i++;
	if (i >= t->len || t->s[i] != '\n')
		return imapp_fail(t, "Literal must end its line");
	i++;
	if (n > t->len - i)
		return imapp_fail(t, "Literal shorter than announced");
	a->type = IMAPP_LITERAL;
	a->len = (size_t)n;
	a->str = xmalloc((size_t)n + 1);
	memcpy(a->str, t->s + i, (size_t)n); /* keeps NULs */
	a->str[n] = '\0';
	t->i = i + (size_t)n;
	return 0;
}

static int
imapp_parse_one(struct imapp_tok *t, struct imapp_arg *a, int depth)
{
	char c = t->s[t->i];

	if (++t->nargs > IMAPP_MAX_ARGS)
		return imapp_fail(t, "Too many arguments");
	if (c == '"')
		return imapp_parse_quoted(t, a);
	if (c == '{' ||
	    (c == '~' && t->i + 1 < t->len && t->s[t->i + 1] == '{'))
		return imapp_parse_literal(t, a);
	if (c == '(') {
		if (depth + 1 > IMAPP_MAX_DEPTH)
			return imapp_fail(t, "Too many nested lists");
		t->i++;
		a->type = IMAPP_LIST;
		return imapp_parse_list(t, &a->list, &a->nlist, depth + 1, 1);
	}
	if (c == ')')
		return imapp_fail(t, "Unbalanced parenthesis");
	return imapp_parse_atom(t, a);
}

/* imapp_at_eol - at the end of the command (CRLF or end of data)? */
static int
imapp_at_eol(struct imapp_tok *t)
{
	return t->i >= t->len || t->s[t->i] == '\r' || t->s[t->i] == '\n';
}

static int
imapp_parse_list(struct imapp_tok *t, struct imapp_arg **list_r, size_t *n_r,
    int depth, int closing)
{
	struct imapp_arg *list = NULL;
	size_t n = 0;

	for (;;) {
		if (closing && t->i < t->len && t->s[t->i] == ')') {
			t->i++;
			break;
		}
		if (imapp_at_eol(t)) {
			if (closing)
				imapp_fail(t, "Unbalanced parenthesis");
			break;
		}
		/* arguments are separated by exactly one space */
		if (n > 0) {
			if (t->s[t->i] != ' ') {
				imapp_fail(t,
				    "Missing space between "
				    "arguments");
				break;
			}
			t->i++;
			if (t->i < t->len && t->s[t->i] == ')') {
				imapp_fail(t, "Unexpected space before ')'");
				break;
			}
		}
		list = xreallocarray(list, n + 1, sizeof(*list));
		memset(&list[n], 0, sizeof(list[n]));
		n++;
		if (imapp_parse_one(t, &list[n - 1], depth) < 0)
			break;
	}
	*list_r = list;
	*n_r = n;
	return t->err ? -1 : 0;
}

int
imapp_parse(const char *wire, size_t len, struct imapp_cmd *cmd,
    const char **error_r)
{
	return imapp_parse_flags(wire, len, 0, cmd, error_r);
}

int
imapp_parse_flags(const char *wire, size_t len, unsigned flags,
    struct imapp_cmd *cmd, const char **error_r)
{
	struct imapp_tok t;
	size_t s;

	memset(cmd, 0, sizeof(*cmd));
	memset(&t, 0, sizeof(t));
	t.flags = flags;
	t.s = wire;
	t.len = len;
	/* tag */
	while (t.i < len && imapp_is_tag_char(wire[t.i]))
		t.i++;
	if (t.i == 0) {
		*error_r = "Missing or invalid tag";
		return -1;
	}
	cmd->tag = xstrndup(wire, t.i);
	if (t.i >= len || wire[t.i] != ' ') {
		*error_r = imapp_at_eol(&t) ? "Missing command"
					    : "Invalid character in tag";
		return -1;
	}
	s = ++t.i;
	while (t.i < len && isalnum((unsigned char)wire[t.i]))
		t.i++;
	if (t.i == s) {
		*error_r = "Missing command";
		return -1;
	}
	cmd->name = xstrndup(wire + s, t.i - s);
	for (s = 0; cmd->name[s]; s++)
		cmd->name[s] = (char)toupper((unsigned char)cmd->name[s]);
	if (!imapp_at_eol(&t)) {
		if (wire[t.i] != ' ') {
			*error_r = "Invalid character in command name";
			return -1;
		}
		t.i++;
		if (imapp_at_eol(&t)) {
			*error_r = "Trailing space after command";
			return -1;
		}
		/* the top level reads args like a list without parens */
		{
			struct imapp_arg *list = NULL;
			size_t n = 0;

			while (!imapp_at_eol(&t)) {
				if (n > 0) {
					if (wire[t.i] == ')') {
						imapp_fail(&t,
						    "Unbalanced "
						    "parenthesis");
						break;
					}
					if (wire[t.i] != ' ') {
						imapp_fail(&t,
						    "Missing space "
						    "between arguments");
						break;
					}
					t.i++;
					if (imapp_at_eol(&t)) {
						imapp_fail(&t,
						    "Trailing "
						    "space");
						break;
					}
				}
				list =
				    xreallocarray(list, n + 1, sizeof(*list));
				memset(&list[n], 0, sizeof(list[n]));
				n++;
				if (imapp_parse_one(&t, &list[n - 1], 0) < 0)
					break;
			}
			cmd->args = list;
			cmd->nargs = n;
		}
	}
	if (t.err) {
		(void)snprintf(cmd->err, sizeof(cmd->err), "%s", t.err);
		*error_r = cmd->err;
		return -1;
	}
	return 0;
}

static void
imapp_arg_free(struct imapp_arg *a)
{
	size_t i;

	for (i = 0; i < a->nlist; i++)
		imapp_arg_free(&a->list[i]);
	free(a->list);
	free(a->str);
}

void
imapp_cmd_free(struct imapp_cmd *cmd)
{
	size_t i;

	for (i = 0; i < cmd->nargs; i++)
		imapp_arg_free(&cmd->args[i]);
	free(cmd->args);
	free(cmd->tag);
	free(cmd->name);
	memset(cmd, 0, sizeof(*cmd));
}

int
imapp_arg_is_astring(const struct imapp_arg *a)
{
	return a->type != IMAPP_LIST;
}

int
imapp_arg_is_nil(const struct imapp_arg *a)
{
	return a->type == IMAPP_ATOM && strcasecmp(a->str, "NIL") == 0;
}

/* ---- writers ---- */

void
imapp_put_literal(struct buf *out, const char *s, size_t len)
{
	buf_printf(out, "{%zu}\r\n", len);
	buf_append(out, s, len);
}

void
imapp_put_string(struct buf *out, const char *s, size_t len)
{
	size_t i;

	if (len > 1024)
		goto literal;
	for (i = 0; i < len; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0' ||
		    (unsigned char)s[i] >= 0x80)
			goto literal;
	buf_putc(out, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_putc(out, '\\');
		buf_putc(out, s[i]);
	}
	buf_putc(out, '"');
	return;
literal:
	imapp_put_literal(out, s, len);
}

void
imapp_put_nstring(struct buf *out, const char *s, size_t len)
{
	if (s == NULL)
		buf_puts(out, "NIL");
	else
		imapp_put_string(out, s, len);
}

void
imapp_put_text(struct buf *out, const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	size_t i;

	if (s == NULL || memchr(s, '\0', len) == NULL) {
		imapp_put_nstring(out, s, len);
		return;
	}
	for (i = 0; i < len; i++)
		if (s[i] != '\0')
			buf_putc(&b, s[i]);
	imapp_put_string(out, buf_cstr(&b), b.len);
	buf_free(&b);
}

void
imapp_put_astring(struct buf *out, const char *s, size_t len)
{
	size_t i;

	if (len == 0 || (len == 3 && strncasecmp(s, "NIL", 3) == 0))
		goto quoted;
	for (i = 0; i < len; i++)
		if (!imapp_is_atom_char((unsigned char)s[i]) && s[i] != ']')
			goto quoted;
	buf_append(out, s, len);
	return;
quoted:
	imapp_put_string(out, s, len);
}

void
imapp_put_utf8_astring(struct buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			break;
	if (i == len || len > 1024) {
		imapp_put_astring(out, s, len);
		return;
	}
	for (i = 0; i < len; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') {
			imapp_put_literal(out, s, len);
			return;
		}
	buf_putc(out, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_putc(out, '\\');
		buf_putc(out, s[i]);
	}
	buf_putc(out, '"');
}

/* ---- sequence sets ---- */

static int
imapp_seq_num(const char **p, uint32_t star, uint32_t *out)
{
	unsigned long long v = 0;

	if (**p == '*') {
		(*p)++;
		*out = star;
		return 0;
	}
	if (!isdigit((unsigned char)**p) || **p == '0')
		return -1;
	while (isdigit((unsigned char)**p)) {
		v = v * 10 + (unsigned long long)(**p - '0');
		if (v > 0xffffffffULL)
			return -1;
		(*p)++;
	}
	*out = (uint32_t)v;
	return 0;
}

static int
imapp_range_cmp(const void *a, const void *b)
{
	const struct imapp_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* imapp_seqset_merge - sort the ranges and merge overlapping or adjacent
 * ones, so that contains is a binary search: a set of thousands of ranges
 * was scanned whole for every message of a mailbox */
static void
imapp_seqset_merge(struct imapp_seqset *set)
{
	size_t i, o = 0;

	xqsort(set->ranges, set->n, sizeof(*set->ranges), imapp_range_cmp);
	for (i = 1; i < set->n; i++) {
		if (set->ranges[o].hi == UINT32_MAX ||
		    set->ranges[i].lo <= set->ranges[o].hi + 1) {
			if (set->ranges[i].hi > set->ranges[o].hi)
				set->ranges[o].hi = set->ranges[i].hi;
			continue;
		}
		set->ranges[++o] = set->ranges[i];
	}
	if (set->n > 0)
		set->n = o + 1;
}

int
imapp_seqset_parse(const char *s, uint32_t star, struct imapp_seqset *set)
{
	const char *p = s;
	uint32_t lo, hi, t;
	size_t cap = 0;

	memset(set, 0, sizeof(*set));
	if (strcmp(s, "$") == 0) {
		set->dollar = 1;
		return 0;
	}
	for (;;) {
		if (imapp_seq_num(&p, star, &lo) < 0)
			goto bad;
		hi = lo;
		if (*p == ':') {
			p++;
			if (imapp_seq_num(&p, star, &hi) < 0)
				goto bad;
		}
		if (lo > hi) {
			t = lo;
			lo = hi;
			hi = t;
		}
		if (set->n == cap) {
			cap = cap ? cap * 2 : 4;
			set->ranges = xreallocarray(set->ranges, cap,
			    sizeof(*set->ranges));
		}
		set->ranges[set->n].lo = lo;
		set->ranges[set->n].hi = hi;
		set->n++;
		if (*p == '\0') {
			imapp_seqset_merge(set);
			return 0;
		}
		if (*p++ != ',')
			goto bad;
	}
bad:
	imapp_seqset_free(set);
	return -1;
}

int
imapp_seqset_contains(const struct imapp_seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->n, mid;

	/* the last range starting at or below n */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (set->ranges[mid].lo <= n)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && n <= set->ranges[lo - 1].hi;
}

void
imapp_seqset_free(struct imapp_seqset *set)
{
	free(set->ranges);
	set->ranges = NULL;
	set->n = 0;
}

int
imapp_number(const char *s, size_t len, uint64_t min, uint64_t max,
    uint64_t *v_r)
{
	uint64_t v = 0, d;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		d = (uint64_t)(s[i] - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min)
		return -1;
	*v_r = v;
	return 0;
}

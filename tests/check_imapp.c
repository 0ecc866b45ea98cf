/*
 * check_imapp - unit tests for the IMAP command reader and tokenizer.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "imapp.h"

/* feed - run text through a reader in chunks of step bytes; returns the
 * final status and leaves the command in r */
static enum imapp_status
feed(struct imapp_reader *r, const char *text, size_t len, size_t step,
    int *continues_r)
{
	enum imapp_status st = IMAPP_MORE;
	size_t off = 0, used, n;

	*continues_r = 0;
	while (off < len) {
		n = len - off < step ? len - off : step;
		st = imapp_reader_feed(r, text + off, n, &used);
		off += used;
		if (st == IMAPP_CONTINUE) {
			(*continues_r)++;
			continue;
		}
		if (st != IMAPP_MORE)
			break;
	}
	return st;
}

static const char *inputs[] = {
	"a1 LOGIN alice secret\r\n",
	"a2 LOGIN {5}\r\nalice {6}\r\nsecret\r\n",
	"a3 APPEND INBOX (\\Seen) {3+}\r\nabc\r\n",
	"a4 FETCH 1:* (BODY.PEEK[HEADER.FIELDS (From To)]<0.100> UID)\r\n",
	"a5 SEARCH OR LARGER 123 SMALLER 456\r\n",
	"a6 LOGIN \"al\\\"ice\" \"p w\"\r\n",
	"a7 APPEND x ~{2}\r\n\0\1\r\n",
};

/* one byte at a time gives the same command as all at once */
START_TEST(test_bytewise)
{
	struct imapp_reader a, b;
	enum imapp_status sa, sb;
	size_t len = strlen(inputs[_i]);
	int ca, cb;

	if (_i == 6)
		len = 22;
	imapp_reader_init(&a, 1000, 1000, 10000);
	imapp_reader_init(&b, 1000, 1000, 10000);
	sa = feed(&a, inputs[_i], len, len, &ca);
	sb = feed(&b, inputs[_i], len, 1, &cb);
	ck_assert_int_eq(sa, IMAPP_COMMAND);
	ck_assert_int_eq(sb, IMAPP_COMMAND);
	ck_assert_int_eq(ca, cb);
	ck_assert_uint_eq(a.cmd.len, b.cmd.len);
	ck_assert(memcmp(a.cmd.data, b.cmd.data, a.cmd.len) == 0);
	imapp_reader_free(&a);
	imapp_reader_free(&b);
}
END_TEST

START_TEST(test_literals)
{
	struct imapp_reader r;
	struct imapp_cmd c;
	const char *err;
	int cont;

	imapp_reader_init(&r, 1000, 1000, 10000);
	ck_assert_int_eq(feed(&r, inputs[1], strlen(inputs[1]), 1000, &cont),
	    IMAPP_COMMAND);
	ck_assert_int_eq(cont, 2); /* two synchronizing literals */
	ck_assert_int_eq(imapp_parse(r.cmd.data, r.cmd.len, &c, &err), 0);
	ck_assert_str_eq(c.tag, "a2");
	ck_assert_str_eq(c.name, "LOGIN");
	ck_assert_uint_eq(c.nargs, 2);
	ck_assert_int_eq(c.args[0].type, IMAPP_LITERAL);
	ck_assert_str_eq(c.args[0].str, "alice");
	ck_assert_str_eq(c.args[1].str, "secret");
	imapp_cmd_free(&c);
	imapp_reader_reset(&r);
	/* LITERAL+: no continuation */
	ck_assert_int_eq(feed(&r, inputs[2], strlen(inputs[2]), 1000, &cont),
	    IMAPP_COMMAND);
	ck_assert_int_eq(cont, 0);
	ck_assert_int_eq(imapp_parse(r.cmd.data, r.cmd.len, &c, &err), 0);
	ck_assert_uint_eq(c.nargs, 3);
	ck_assert_int_eq(c.args[1].type, IMAPP_LIST);
	ck_assert_str_eq(c.args[1].list[0].str, "\\Seen");
	ck_assert_str_eq(c.args[2].str, "abc");
	imapp_cmd_free(&c);
	imapp_reader_reset(&r);
	/* binary literal keeps NUL bytes */
	ck_assert_int_eq(feed(&r, inputs[6], 22, 1000, &cont), IMAPP_COMMAND);
	ck_assert_int_eq(imapp_parse(r.cmd.data, r.cmd.len, &c, &err), 0);
	ck_assert_uint_eq(c.args[1].len, 2);
	ck_assert_int_eq(c.args[1].str[0], 0);
	imapp_cmd_free(&c);
	imapp_reader_free(&r);
}
END_TEST

START_TEST(test_tokens)
{
	struct imapp_cmd c;
	const char *err;

	ck_assert_int_eq(imapp_parse(inputs[3], strlen(inputs[3]), &c, &err),
	    0);
	ck_assert_uint_eq(c.nargs, 2);
	ck_assert_str_eq(c.args[0].str, "1:*");
	ck_assert_int_eq(c.args[1].type, IMAPP_LIST);
	ck_assert_uint_eq(c.args[1].nlist, 2);
	ck_assert_str_eq(c.args[1].list[0].str,
	    "BODY.PEEK[HEADER.FIELDS (From To)]<0.100>");
	imapp_cmd_free(&c);
	ck_assert_int_eq(imapp_parse(inputs[4], strlen(inputs[4]), &c, &err),
	    0);
	ck_assert_str_eq(c.name, "SEARCH");
	ck_assert_uint_eq(c.nargs, 5);
	ck_assert_str_eq(c.args[0].str, "OR");
	ck_assert_str_eq(c.args[1].str, "LARGER");
	ck_assert_str_eq(c.args[2].str, "123");
	ck_assert_str_eq(c.args[3].str, "SMALLER");
	ck_assert_str_eq(c.args[4].str, "456");
	imapp_cmd_free(&c);
	ck_assert_int_eq(imapp_parse(inputs[5], strlen(inputs[5]), &c, &err),
	    0);
	ck_assert_int_eq(c.args[0].type, IMAPP_STRING);
	ck_assert_str_eq(c.args[0].str, "al\"ice");
	ck_assert_str_eq(c.args[1].str, "p w");
	imapp_cmd_free(&c);
}
END_TEST

/* the ATOM/ASTRING grammar: '[' '}' '\'' are ATOM-CHARs, ']' an
 * ASTRING-CHAR; a '[' opens a section only when one follows */
static const struct {
	const char *line;
	size_t nargs;
	const char *arg0, *arg1;
} atoms[] = {
	{ "t SELECT foo[bar}\r\n", 1, "foo[bar}", NULL },
	{ "t SELECT it's\r\n", 1, "it's", NULL },
	{ "t SELECT a]b\r\n", 1, "a]b", NULL },
	{ "t SELECT a[b c]\r\n", 2, "a[b", "c]" },
	{ "t SELECT g[1]\r\n", 1, "g[1]", NULL },
	{ "t FETCH 1 BODY[HEADER.FIELDS (A B)]<0.5>\r\n", 2, "1",
	    "BODY[HEADER.FIELDS (A B)]<0.5>" },
	{ "t FETCH 1 BODY[1.MIME] X\r\n", 3, "1", "BODY[1.MIME]" },
};

START_TEST(test_atom_grammar)
{
	struct imapp_cmd c;
	const char *err = NULL;

	ck_assert_int_eq(imapp_parse(atoms[_i].line, strlen(atoms[_i].line), &c,
			     &err),
	    0);
	ck_assert_uint_eq(c.nargs, atoms[_i].nargs);
	ck_assert_int_eq(c.args[0].type, IMAPP_ATOM);
	ck_assert_str_eq(c.args[0].str, atoms[_i].arg0);
	if (atoms[_i].arg1 != NULL)
		ck_assert_str_eq(c.args[1].str, atoms[_i].arg1);
	imapp_cmd_free(&c);
}
END_TEST

/* each character RFC 3501 forbids in an atom */
static const char forbidden[] = { '(', ')', '{', '"', '\\', '\x01', '\x7f' };

START_TEST(test_forbidden_atom_char)
{
	char line[64];
	struct imapp_cmd c;
	const char *err = NULL;
	int r;

	(void)snprintf(line, sizeof(line), "t1 CREATE ab%cc\r\n",
	    forbidden[_i]);
	r = imapp_parse(line, strlen(line), &c, &err);
	ck_assert_msg(r == -1, "accepted atom with 0x%02x",
	    (unsigned char)forbidden[_i]);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(c.tag, "t1");
	imapp_cmd_free(&c);
}
END_TEST

static const struct {
	const char *line, *err;
} bad[] = {
	{ "a1 LOGIN \"alice\r\n", "Unterminated quoted string" },
	{ "a1 FETCH 1 (FLAGS\r\n", "Unbalanced parenthesis" },
	{ "a1 FETCH 1 FLAGS)\r\n", "Unbalanced parenthesis" },
	{ "a1\r\n", "Missing command" },
	{ "a1 NOOP  x\r\n", "Invalid character ' '" },
	{ "a1 LOGIN \"a\\b\" x\r\n", "Invalid escape" },
	{ "a1 X "
	  "((((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))"
	  ")\r\n",
	    "Too many nested lists" },
	{ "a1 X {5}\r\nab\r\n", "Literal shorter" },
	{ "* NOOP\r\n", "Missing or invalid tag" },
};

START_TEST(test_bad)
{
	struct imapp_cmd c;
	const char *err = NULL;

	ck_assert_int_eq(imapp_parse(bad[_i].line, strlen(bad[_i].line), &c,
			     &err),
	    -1);
	ck_assert_msg(strstr(err, bad[_i].err) != NULL, "got '%s' want '%s'",
	    err, bad[_i].err);
	imapp_cmd_free(&c);
}
END_TEST

START_TEST(test_limits)
{
	struct imapp_reader r;
	char big[300];
	size_t used;
	int cont;

	imapp_reader_init(&r, 100, 50, 1000);
	memset(big, 'x', sizeof(big));
	memcpy(big, "a1 NOOP ", 8);
	memcpy(big + 298, "\r\n", 2);
	ck_assert_int_eq(feed(&r, big, sizeof(big), 1000, &cont), IMAPP_ELINE);
	ck_assert_str_eq(r.tag, "a1");
	imapp_reader_reset(&r);
	/* refused before any literal byte is read: nothing consumed past
	 * the announcing line */
	ck_assert_int_eq(imapp_reader_feed(&r, "a2 APPEND x {51}\r\nzzz", 21,
			     &used),
	    IMAPP_ELITERAL);
	ck_assert_uint_eq(used, 18);
	ck_assert_str_eq(r.tag, "a2");
	ck_assert_int_eq(r.literal_nonsync, 0);
	imapp_reader_reset(&r);
	ck_assert_int_eq(imapp_reader_feed(&r, "a3 APPEND x {51+}\r\n", 19,
			     &used),
	    IMAPP_ELITERAL);
	ck_assert_int_eq(r.literal_nonsync, 1);
	imapp_reader_free(&r);
}
END_TEST

/* LITERAL- (RFC 7888): a non-synchronizing literal past max_nonsync is
 * refused, a synchronizing one of the same size is not */
START_TEST(test_literal_minus)
{
	struct imapp_reader r;
	size_t used;

	imapp_reader_init(&r, 100, 10000, 20000);
	r.max_nonsync = 4096;
	ck_assert_int_eq(imapp_reader_feed(&r, "a1 APPEND x {4097+}\r\n", 21,
			     &used),
	    IMAPP_ELITERAL);
	ck_assert_int_eq(r.literal_nonsync, 1);
	ck_assert_str_eq(r.tag, "a1");
	imapp_reader_reset(&r);
	ck_assert_int_eq(imapp_reader_feed(&r, "a2 APPEND x {4097}\r\n", 20,
			     &used),
	    IMAPP_CONTINUE);
	imapp_reader_reset(&r);
	ck_assert_int_eq(imapp_reader_feed(&r, "a3 APPEND x {4096+}\r\n", 21,
			     &used),
	    IMAPP_MORE);
	ck_assert_uint_eq(r.literal_left, 4096);
	imapp_reader_free(&r);
}
END_TEST

/* literal sizes: every number range-checked, none wraps */
static const struct {
	const char *line;
	int invalid; /* -1: accepted (continuation) */
} litnums[] = {
	{ "a1 LOGIN {18446744073709551621}\r\n", 1 }, /* wraps to 5 */
	{ "a2 LOGIN {18446744073709551616+}\r\n", 1 },
	{ "a3 LOGIN {99999999999999999999999999}\r\n", 1 },
	{ "a4 LOGIN {18446744073709551615}\r\n", 0 }, /* too big */
	{ "a5 LOGIN {00000000000000000000005}\r\n", -1 },
	{ "a6 LOGIN {5}\r\n", -1 },
};

START_TEST(test_literal_numbers)
{
	struct imapp_reader a, b;
	enum imapp_status sa, sb;
	size_t len = strlen(litnums[_i].line);
	int ca, cb;

	imapp_reader_init(&a, 1000, 1000, 10000);
	imapp_reader_init(&b, 1000, 1000, 10000);
	sa = feed(&a, litnums[_i].line, len, len, &ca);
	sb = feed(&b, litnums[_i].line, len, 1, &cb);
	ck_assert_int_eq(sa, sb);
	if (litnums[_i].invalid < 0) {
		ck_assert_int_eq(ca, 1);
		ck_assert_uint_eq(a.literal_left, 5);
	} else {
		ck_assert_int_eq(sa, IMAPP_ELITERAL);
		ck_assert_int_eq(a.literal_invalid, litnums[_i].invalid);
		ck_assert_int_eq(b.literal_invalid, litnums[_i].invalid);
		ck_assert_str_eq(a.tag, b.tag);
		imapp_reader_reset(&a);
		ck_assert_int_eq(a.literal_invalid, 0);
	}
	imapp_reader_free(&a);
	imapp_reader_free(&b);
}
END_TEST

/* the tokenizer checks a literal's size too (it may be fed other input
 * than the reader's) */
START_TEST(test_parse_literal_number)
{
	static const char wire[] = "a LOGIN {18446744073709551621}\r\nabcde";
	struct imapp_cmd c;
	const char *err = NULL;

	ck_assert_int_eq(imapp_parse(wire, sizeof(wire) - 1, &c, &err), -1);
	ck_assert_str_eq(err, "Invalid literal size");
	imapp_cmd_free(&c);
}
END_TEST

/* a command resumed from parked bytes: the reader gives the same
 * continuations whether the bytes come at once or in pieces, so a caller
 * can tell by position which ones were already answered */
START_TEST(test_continue_positions)
{
	static const char wire[] = "a LOGIN {5}\r\nalice {6}\r\nsecret\r\n";
	struct imapp_reader r;
	size_t off = 0, used, pos[4];
	int n = 0;
	enum imapp_status st;

	imapp_reader_init(&r, 100, 100, 1000);
	while (off < sizeof(wire) - 1) {
		st = imapp_reader_feed(&r, wire + off, sizeof(wire) - 1 - off,
		    &used);
		off += used;
		if (st == IMAPP_CONTINUE)
			pos[n++] = off;
		else
			break;
	}
	ck_assert_int_eq(st, IMAPP_COMMAND);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(pos[0], 13);
	ck_assert_uint_eq(pos[1], 24);
	imapp_reader_free(&r);
}
END_TEST

START_TEST(test_seqset)
{
	struct imapp_seqset s;

	ck_assert_int_eq(imapp_seqset_parse("1:3,5,7:*", 10, &s), 0);
	ck_assert(imapp_seqset_contains(&s, 2));
	ck_assert(!imapp_seqset_contains(&s, 4));
	ck_assert(imapp_seqset_contains(&s, 10));
	imapp_seqset_free(&s);
	ck_assert_int_eq(imapp_seqset_parse("5:2", 10, &s), 0);
	ck_assert(imapp_seqset_contains(&s, 3));
	imapp_seqset_free(&s);
	ck_assert_int_eq(imapp_seqset_parse("0", 10, &s), -1);
	ck_assert_int_eq(imapp_seqset_parse("1,", 10, &s), -1);
	ck_assert_int_eq(imapp_seqset_parse("a", 10, &s), -1);
	ck_assert_int_eq(imapp_seqset_parse("99999999999", 10, &s), -1);
	ck_assert_int_eq(imapp_seqset_parse("4294967296", 10, &s), -1);
	ck_assert_int_eq(imapp_seqset_parse("1:4294967296", 10, &s), -1);
	ck_assert_int_eq(imapp_seqset_parse("4294967295", 10, &s), 0);
	imapp_seqset_free(&s);
	ck_assert_int_eq(imapp_seqset_parse("0:*", 10, &s), -1);
	ck_assert_int_eq(imapp_seqset_parse("-1", 10, &s), -1);
	ck_assert_int_eq(imapp_seqset_parse("+1", 10, &s), -1);
}
END_TEST

/* ranges come out sorted and merged; contains agrees with a scan of the
 * ranges as written */
START_TEST(test_seqset_merge)
{
	static const char *sets[] = { "9,1:3,2,4,7:5,*,4294967295,1:*",
		"10:12,1,3,5,7,9,11,13", "4294967295:4294967294,1",
		"3:3,2:2,1:1", "*:5" };
	struct imapp_seqset s;
	uint32_t n;
	size_t i;

	ck_assert_int_eq(imapp_seqset_parse("9,1:3,2,4,7:5,12", 20, &s), 0);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(s.ranges[0].lo, 1);
	ck_assert_uint_eq(s.ranges[0].hi, 7);
	ck_assert_uint_eq(s.ranges[1].lo, 9);
	ck_assert_uint_eq(s.ranges[2].hi, 12);
	imapp_seqset_free(&s);
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		ck_assert_int_eq(imapp_seqset_parse(sets[i], 14, &s), 0);
		for (n = 0; n < 20; n++) {
			/* the reference: every comma-separated item */
			const char *p = sets[i];
			int want = 0;

			while (*p) {
				unsigned long a, b;
				char *e;

				a = *p == '*' ? 14 : strtoul(p, &e, 10);
				p = *p == '*' ? p + 1 : e;
				b = a;
				if (*p == ':') {
					p++;
					b = *p == '*' ? 14 : strtoul(p, &e, 10);
					p = *p == '*' ? p + 1 : e;
				}
				if ((n >= a && n <= b) || (n >= b && n <= a))
					want = 1;
				if (*p == ',')
					p++;
			}
			ck_assert_msg(imapp_seqset_contains(&s, n) == want,
			    "%s contains %u", sets[i], n);
		}
		ck_assert(i != 2 || imapp_seqset_contains(&s, 4294967295U));
		imapp_seqset_free(&s);
	}
}
END_TEST

/* grammar numbers (partial ranges, modseqs): range-checked, no wrap */
static const struct {
	const char *s;
	uint64_t min, max;
	int ok;
	uint64_t v;
} numbers[] = {
	{ "0", 0, IMAPP_NUMBER_MAX, 1, 0 },
	{ "0", 1, IMAPP_NUMBER_MAX, 0, 0 },
	{ "4294967295", 0, IMAPP_NUMBER_MAX, 1, 4294967295ULL },
	{ "4294967296", 0, IMAPP_NUMBER_MAX, 0, 0 },
	{ "9223372036854775807", 1, IMAPP_MODSEQ_MAX, 1,
	    9223372036854775807ULL },
	{ "9223372036854775808", 1, IMAPP_MODSEQ_MAX, 0, 0 },
	{ "18446744073709551621", 0, UINT64_MAX, 0, 0 }, /* wraps to 5 */
	{ "18446744073709551615", 0, UINT64_MAX, 1, UINT64_MAX },
	{ "-1", 0, IMAPP_NUMBER_MAX, 0, 0 },
	{ "+5", 0, IMAPP_NUMBER_MAX, 0, 0 },
	{ " 5", 0, IMAPP_NUMBER_MAX, 0, 0 },
	{ "5 ", 0, IMAPP_NUMBER_MAX, 0, 0 },
	{ "", 0, IMAPP_NUMBER_MAX, 0, 0 },
	{ "0x10", 0, IMAPP_NUMBER_MAX, 0, 0 },
	{ "007", 0, IMAPP_NUMBER_MAX, 1, 7 },
	{ "5", 0, 3, 0, 0 },
};

START_TEST(test_numbers)
{
	uint64_t v = 12345;
	int r = imapp_number(numbers[_i].s, strlen(numbers[_i].s),
	    numbers[_i].min, numbers[_i].max, &v);

	ck_assert_msg(r == (numbers[_i].ok ? 0 : -1), "'%s'", numbers[_i].s);
	if (numbers[_i].ok)
		ck_assert_uint_eq(v, numbers[_i].v);
	else
		ck_assert_uint_eq(v, 12345);
}
END_TEST

START_TEST(test_writers)
{
	struct buf b = BUF_INIT;

	imapp_put_astring(&b, "INBOX", 5);
	buf_putc(&b, ' ');
	imapp_put_astring(&b, "a b", 3);
	buf_putc(&b, ' ');
	imapp_put_string(&b, "q\"\\", 3);
	buf_putc(&b, ' ');
	imapp_put_string(&b, "l\r\n", 3);
	ck_assert_str_eq(buf_cstr(&b),
	    "INBOX \"a b\" \"q\\\"\\\\\" {3}\r\nl\r\n");
	buf_free(&b);
}
END_TEST

CHECK_MAIN("imapp", NULL, CHECK_TEST(test_literal_minus),
    CHECK_LOOP(test_bytewise, sizeof(inputs) / sizeof(inputs[0])),
    CHECK_TEST(test_literals), CHECK_TEST(test_tokens),
    CHECK_LOOP(test_atom_grammar, sizeof(atoms) / sizeof(atoms[0])),
    CHECK_LOOP(test_forbidden_atom_char, sizeof(forbidden)),
    CHECK_LOOP(test_bad, sizeof(bad) / sizeof(bad[0])), CHECK_TEST(test_limits),
    CHECK_LOOP(test_literal_numbers, sizeof(litnums) / sizeof(litnums[0])),
    CHECK_TEST(test_parse_literal_number), CHECK_TEST(test_continue_positions),
    CHECK_TEST(test_seqset), CHECK_TEST(test_seqset_merge),
    CHECK_LOOP(test_numbers, sizeof(numbers) / sizeof(numbers[0])),
    CHECK_TEST(test_writers))

/*
 * check_search - unit tests for the SEARCH compiler and matcher on
 * hand-made records (no store needed for these keys), the RETURN
 * options and their ESEARCH line (search_ret.c).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "search.h"
#include "search_ret.h"

/* prog - tokenize "t SEARCH <keys>" and compile the keys */
static struct search_prog *
prog(const char *keys, struct imapp_cmd *c, const char **err, int *badcs)
{
	char line[512];

	(void)snprintf(line, sizeof(line), "t SEARCH %s\r\n", keys);
	ck_assert_int_eq(imapp_parse(line, strlen(line), c, err), 0);
	return search_parse(c->args, c->nargs, err, badcs);
}

static int
match(const char *keys, uint32_t msgno, const struct store_msg *rec, int recent)
{
	struct imapp_cmd c;
	struct search_prog *p;
	struct search_msg m;
	const char *err;
	int badcs, r;

	p = prog(keys, &c, &err, &badcs);
	ck_assert_msg(p != NULL, "'%s': %s", keys, err);
	memset(&m, 0, sizeof(m));
	m.msgno = msgno;
	m.rec = rec;
	m.recent = recent;
	m.maxmsgno = 10;
	m.maxuid = 100;
	r = search_match(p, &m);
	search_free(&p);
	imapp_cmd_free(&c);
	return r;
}

START_TEST(test_keys)
{
	struct store_msg r;

	memset(&r, 0, sizeof(r));
	r.uid = 42;
	r.size = 300;
	r.flags = STORE_F_SEEN | STORE_F_FLAGGED;
	(void)snprintf(r.keywords, sizeof(r.keywords), "$Work Later");
	r.internaldate = 1770076800; /* 3-Feb-2026 00:00 UTC */
	r.modseq = 7;
	ck_assert(match("ALL", 3, &r, 0));
	ck_assert(match("SEEN FLAGGED", 3, &r, 0));
	ck_assert(!match("UNSEEN", 3, &r, 0));
	ck_assert(match("OR LARGER 123 SMALLER 456", 3, &r, 0));
	ck_assert(!match("OR LARGER 1000 SMALLER 100", 3, &r, 0));
	ck_assert(match("NOT DELETED", 3, &r, 0));
	ck_assert(match("KEYWORD $work", 3, &r, 0));
	ck_assert(match("UNKEYWORD $Home", 3, &r, 0));
	ck_assert(match("2:4", 3, &r, 0));
	ck_assert(!match("4:*", 3, &r, 0));
	ck_assert(match("UID 40:50", 3, &r, 0));
	ck_assert(match("UID 50:*", 3, &r, 0) == 0);
	ck_assert(match("(SEEN (UID 42))", 3, &r, 0));
	ck_assert(match("ON 3-Feb-2026", 3, &r, 0));
	ck_assert(match("SINCE 1-Feb-2026 BEFORE 4-Feb-2026", 3, &r, 0));
	ck_assert(match("RECENT", 3, &r, 1));
	ck_assert(!match("NEW", 3, &r, 1)); /* recent but seen */
	ck_assert(match("OLD", 3, &r, 0));
	ck_assert(match("MODSEQ 5", 3, &r, 0));
	ck_assert(match("CHARSET UTF-8 ALL", 3, &r, 0));
}
END_TEST

/* an index's answer for a text key: used up to its UID, without the
 * message; past it the message is read (none here: no match) */
static int
fake_index(const char *needle, int hdr, uint32_t **uids_r, size_t *n_r,
    void *ctx)
{
	(void)ctx;
	ck_assert_str_eq(needle, hdr ? "text me" : "body me");
	*uids_r = calloc(2, sizeof(**uids_r));
	(*uids_r)[0] = 42;
	(*uids_r)[1] = 44;
	*n_r = 2;
	return 0;
}

START_TEST(test_answer_text)
{
	static const struct {
		uint32_t uid;
		int body, notbody, text;
	} t[] = { { 41, 0, 1, 0 }, { 42, 1, 0, 1 }, { 44, 1, 0, 1 },
		{ 50, 0, 1, 0 }, { 51, 0, 1, 0 } };
	struct search_prog *pb, *pn, *pt;
	struct imapp_cmd c1, c2, c3;
	struct store_msg r;
	struct search_msg m;
	const char *err;
	int badcs;
	size_t i;

	pb = prog("BODY \"Body ME\"", &c1, &err, &badcs);
	pn = prog("NOT BODY \"body me\"", &c2, &err, &badcs);
	pt = prog("ALL TEXT \"TEXT me\"", &c3, &err, &badcs);
	ck_assert(
	    search_has_text(pb) && search_has_text(pn) && search_has_text(pt));
	search_answer_text(pb, 50, fake_index, NULL);
	search_answer_text(pn, 50, fake_index, NULL);
	search_answer_text(pt, 50, fake_index, NULL);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&r, 0, sizeof(r));
		memset(&m, 0, sizeof(m));
		r.uid = t[i].uid;
		m.rec = &r;
		ck_assert_int_eq(search_match(pb, &m), t[i].body);
		ck_assert_int_eq(search_match(pn, &m), t[i].notbody);
		ck_assert_int_eq(search_match(pt, &m), t[i].text);
	}
	search_free(&pb);
	imapp_cmd_free(&c1);
	pb = prog("SUBJECT x", &c1, &err, &badcs);
	ck_assert(!search_has_text(pb));
	search_free(&pb);
	search_free(&pn);
	search_free(&pt);
	imapp_cmd_free(&c1);
	imapp_cmd_free(&c2);
	imapp_cmd_free(&c3);
}
END_TEST

static const struct {
	const char *keys, *err;
	int badcs;
} bad[] = {
	{ "FROBNICATE", "Unknown search key", 0 },
	{ "LARGER", "LARGER needs an argument", 0 },
	{ "LARGER x", "LARGER needs a number", 0 },
	{ "BEFORE 31-Foo-2026", "BEFORE needs a date", 0 },
	{ "OR SEEN", "Missing search key", 0 },
	{ "UID abc", "UID needs a sequence set", 0 },
	{ "CHARSET KOI8-R ALL", "BADCHARSET", 1 },
};

START_TEST(test_bad)
{
	struct imapp_cmd c;
	const char *err = NULL;
	int badcs = 0;

	ck_assert_ptr_null(prog(bad[_i].keys, &c, &err, &badcs));
	ck_assert_msg(strstr(err, bad[_i].err) != NULL, "got '%s'", err);
	ck_assert_int_eq(badcs, bad[_i].badcs);
	imapp_cmd_free(&c);
}
END_TEST

/* RETURN options (search_ret.c) and the ESEARCH line for the result
 * 5 3 9 10 11 (a sort order) */
static const struct {
	const char *ret;
	const char *line; /* NULL: refused */
} rets[] = {
	{ "RETURN ()", "ALL 5,3,9:11" },
	{ "RETURN (UPDATE)", "ALL 5,3,9:11" },
	{ "RETURN (CONTEXT COUNT)", "COUNT 5" },
	{ "RETURN (MIN MAX)", "MIN 5 MAX 11" },
	{ "RETURN (PARTIAL 2:4)", "PARTIAL (2:4 3,9:10)" },
	{ "RETURN (PARTIAL 4:2)", "PARTIAL (4:2 3,9:10)" },
	{ "RETURN (PARTIAL 5:9)", "PARTIAL (5:9 11)" },
	{ "RETURN (PARTIAL 6:6)", "PARTIAL (6:6 NIL)" },
	{ "RETURN (PARTIAL 1:4294967295 COUNT)",
	    "COUNT 5 PARTIAL "
	    "(1:4294967295 5,3,9:11)" },
	{ "RETURN (PARTIAL 1:2 ALL)", NULL },
	{ "RETURN (PARTIAL 1:2 PARTIAL 1:2)", NULL },
	/* RFC 9394: from the last, the range echoed as asked */
	{ "RETURN (PARTIAL -1:-2)", "PARTIAL (-1:-2 10:11)" },
	{ "RETURN (PARTIAL -2:-1)", "PARTIAL (-2:-1 10:11)" },
	{ "RETURN (PARTIAL -4:-3)", "PARTIAL (-4:-3 3,9)" },
	{ "RETURN (PARTIAL -5:-9 MIN)", "MIN 5 PARTIAL (-5:-9 5)" },
	{ "RETURN (PARTIAL -6:-7)", "PARTIAL (-6:-7 NIL)" },
	{ "RETURN (partial -1:-4294967295 COUNT)",
	    "COUNT 5 PARTIAL (-1:-4294967295 5,3,9:11)" },
	{ "RETURN (PARTIAL -1:2)", NULL },
	{ "RETURN (PARTIAL 1:-2)", NULL },
	{ "RETURN (PARTIAL -0:-2)", NULL },
	{ "RETURN (PARTIAL --1:-2)", NULL },
	{ "RETURN (PARTIAL -1:-4294967296)", NULL },
	{ "RETURN (PARTIAL -1:-99999999999999999999)", NULL },
	{ "RETURN (PARTIAL -:-)", NULL },
	{ "RETURN (PARTIAL -1)", NULL },
	{ "RETURN (PARTIAL 1:2:3)", NULL },
	{ "RETURN (PARTIAL \"1:2\")", NULL },
	{ "RETURN (PARTIAL -1:-2 ALL)", NULL },
	{ "RETURN (PARTIAL -1:-2 PARTIAL 1:2)", NULL },
	{ "RETURN (PARTIAL 0:2)", NULL },
	{ "RETURN (PARTIAL 01:2)", NULL },
	{ "RETURN (PARTIAL 1:4294967296)", NULL },
	{ "RETURN (PARTIAL 1:*)", NULL },
	{ "RETURN (PARTIAL 1)", NULL },
	{ "RETURN (PARTIAL)", NULL },
	{ "RETURN (PARTIAL (1:2))", NULL },
	{ "RETURN (SAVE)", NULL }, /* not allowed below */
	{ "RETURN (FOO)", NULL },
	{ "RETURN ALL", NULL },
};

START_TEST(test_return)
{
	static const uint32_t nums[] = { 5, 3, 9, 10, 11 };
	struct imapp_cmd c;
	struct search_ret r;
	struct buf line = BUF_INIT;
	const char *err = NULL;
	char text[128];
	int n;

	(void)snprintf(text, sizeof(text), "t SORT %s (DATE) UTF-8 ALL\r\n",
	    rets[_i].ret);
	ck_assert_int_eq(imapp_parse(text, strlen(text), &c, &err), 0);
	n = search_ret_parse(c.args, c.nargs, ~(unsigned)SEARCH_RET_SAVE, &r,
	    &err);
	if (rets[_i].line == NULL) {
		ck_assert_int_eq(n, -1);
		ck_assert_ptr_nonnull(err);
	} else {
		ck_assert_int_eq(n, 2);
		search_ret_put(&line, "t\"", 1, &r, nums, 5);
		(void)snprintf(text, sizeof(text),
		    "* ESEARCH (TAG \"t\\\"\") UID %s", rets[_i].line);
		ck_assert_str_eq(buf_cstr(&line), text);
	}
	buf_free(&line);
	imapp_cmd_free(&c);
}
END_TEST

/* keys a search context refuses (search_volatile) and those it keeps */
static const struct {
	const char *keys;
	int moves;
} vol[] = {
	{ "1:3", 1 },
	{ "NOT 2", 1 },
	{ "UID 1:*", 1 },
	{ "UID $", 1 },
	{ "OR SEEN RECENT", 1 },
	{ "NEW", 1 },
	{ "OLD", 1 },
	{ "YOUNGER 10", 1 },
	{ "NOT OLDER 10", 1 },
	{ "UID 1:5", 0 },
	{ "FLAGGED UNSEEN", 0 },
	{ "SUBJECT x", 0 },
	{ "OR KEYWORD a NOT DELETED", 0 },
	{ "MODSEQ 5", 0 },
	{ "SINCE 1-Jan-2024", 0 },
	{ "ALL", 0 },
};

START_TEST(test_volatile)
{
	struct imapp_cmd c;
	struct search_prog *p;
	const char *err = NULL;
	int badcs = 0;

	p = prog(vol[_i].keys, &c, &err, &badcs);
	ck_assert_msg(p != NULL, "'%s': %s", vol[_i].keys, err);
	ck_assert_msg((search_volatile(p) != NULL) == vol[_i].moves, "%s",
	    vol[_i].keys);
	search_free(&p);
	imapp_cmd_free(&c);
}
END_TEST

/* what SEARCHRES keeps with PARTIAL, MIN, MAX, COUNT (RFC 5182 2.4,
 * RFC 9394 3.2) of the result 2 4 6 8 10 */
static const struct {
	const char *ret;
	const char *kept;
} saves[] = {
	{ "RETURN (SAVE)", "2,4,6,8,10" },
	{ "RETURN (SAVE MIN)", "2" },
	{ "RETURN (SAVE MAX)", "10" },
	{ "RETURN (SAVE MIN MAX)", "2,10" },
	{ "RETURN (SAVE MIN COUNT)", "2,4,6,8,10" },
	{ "RETURN (SAVE ALL MAX)", "2,4,6,8,10" },
	{ "RETURN (SAVE PARTIAL 2:3)", "4,6" },
	{ "RETURN (SAVE PARTIAL -1:-2)", "8,10" },
	{ "RETURN (SAVE PARTIAL 2:3 MIN)", "2,4,6" },
	{ "RETURN (SAVE PARTIAL 2:3 MAX)", "4,6,10" },
	{ "RETURN (SAVE PARTIAL 2:3 MIN MAX)", "2,4,6,10" },
	{ "RETURN (SAVE PARTIAL 1:2 MIN MAX)", "2,4,10" },
	{ "RETURN (SAVE PARTIAL -1:-2 MIN MAX)", "2,8,10" },
	{ "RETURN (SAVE PARTIAL 1:5 MIN MAX)", "2,4,6,8,10" },
	{ "RETURN (SAVE PARTIAL 6:9)", "" },
	{ "RETURN (SAVE PARTIAL 6:9 MAX)", "10" },
	{ "RETURN (SAVE PARTIAL -6:-9 MIN MAX)", "2,10" },
	{ "RETURN (SAVE PARTIAL 2:3 COUNT)", "2,4,6,8,10" },
};

START_TEST(test_saved)
{
	static const uint32_t nums[] = { 2, 4, 6, 8, 10 };
	uint32_t keep[5];
	struct imapp_cmd c;
	struct search_ret r;
	struct buf line = BUF_INIT;
	const char *err = NULL;
	char text[128];
	size_t k;

	(void)snprintf(text, sizeof(text), "t SEARCH %s ALL\r\n",
	    saves[_i].ret);
	ck_assert_int_eq(imapp_parse(text, strlen(text), &c, &err), 0);
	ck_assert_int_eq(search_ret_parse(c.args, c.nargs, ~0u, &r, &err), 2);
	k = search_ret_saved(&r, nums, 5, keep);
	search_ret_put_set(&line, keep, k);
	ck_assert_str_eq(buf_cstr(&line), saves[_i].kept);
	ck_assert_uint_eq(search_ret_saved(&r, nums, 0, keep), 0);
	buf_free(&line);
	imapp_cmd_free(&c);
}
END_TEST

CHECK_MAIN("search", NULL, CHECK_TEST(test_keys), CHECK_TEST(test_answer_text),
    CHECK_LOOP(test_bad, sizeof(bad) / sizeof(bad[0])),
    CHECK_LOOP(test_return, sizeof(rets) / sizeof(rets[0])),
    CHECK_LOOP(test_saved, sizeof(saves) / sizeof(saves[0])),
    CHECK_LOOP(test_volatile, sizeof(vol) / sizeof(vol[0])))

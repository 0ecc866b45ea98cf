/*
 * check_search - unit tests for the SEARCH compiler and matcher on
 * hand-made records (no store needed for these keys).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "search.h"

/* prog - tokenize "t SEARCH <keys>" and compile the keys */
static struct search_prog *
prog(const char *keys, struct imapp_cmd *c, const char **err, int *badcs)
{
	char line[512];

	snprintf(line, sizeof(line), "t SEARCH %s\r\n", keys);
	ck_assert_int_eq(imapp_parse(line, strlen(line), c, err), 0);
	return search_parse(c->args, c->nargs, err, badcs);
}

static int
match(const char *keys, uint32_t msgno, const struct store_msg *rec,
    int recent)
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
	snprintf(r.keywords, sizeof(r.keywords), "$Work Later");
	r.internaldate = 1770076800;	/* 3-Feb-2026 00:00 UTC */
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
	ck_assert(!match("NEW", 3, &r, 1));	/* recent but seen */
	ck_assert(match("OLD", 3, &r, 0));
	ck_assert(match("MODSEQ 5", 3, &r, 0));
	ck_assert(match("CHARSET UTF-8 ALL", 3, &r, 0));
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

CHECK_MAIN("search", NULL, CHECK_TEST(test_keys),
    CHECK_LOOP(test_bad, sizeof(bad) / sizeof(bad[0])))

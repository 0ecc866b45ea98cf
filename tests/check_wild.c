/*
 * check_wild - unit tests for the LIST pattern matcher (lib/wild) and the
 * mailbox name check (lib/mboxname).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "mboxname.h"
#include "wild.h"

/* ref_match - the obvious backtracking matcher, for small inputs only */
static int
ref_match(const char *pat, const char *name)
{
	if (*pat == '\0')
		return *name == '\0';
	if (*pat == '*' || *pat == '%') {
		for (;;) {
			if (ref_match(pat + 1, name))
				return 1;
			if (*name == '\0' || (*pat == '%' && *name == '/'))
				return 0;
			name++;
		}
	}
	return *name == *pat && ref_match(pat + 1, name + 1);
}

static const struct {
	const char *pat, *name;
	int match;
} cases[] = {
	{ "*", "", 1 },
	{ "%", "", 1 },
	{ "", "", 1 },
	{ "", "a", 0 },
	{ "*", "a/b/c", 1 },
	{ "%", "a/b", 0 },
	{ "%", "abc", 1 },
	{ "a/%", "a/b", 1 },
	{ "a/%", "a/b/c", 0 },
	{ "a/*", "a/b/c", 1 },
	{ "a%", "a", 1 },
	{ "%/%", "x/y", 1 },
	{ "%*", "x/y", 1 },
	{ "*%", "x/y", 1 },
	{ "%%", "x/y", 0 },
	{ "INBOX", "INBOX", 1 },
	{ "INBOX", "INBOX/a", 0 },
	{ "*a*b", "xaxxb", 1 },
	{ "*a*b", "xaxxbc", 0 },
	{ "a*a", "a", 0 },
	{ "a*a", "aa", 1 },
	{ "%a%", "b/a", 0 },
	{ "*/%", "a/b/c", 1 },
};

START_TEST(test_cases)
{
	ck_assert_msg(wild_match_str(cases[_i].pat, cases[_i].name, '/') ==
		cases[_i].match,
	    "pattern '%s' name '%s'", cases[_i].pat, cases[_i].name);
	ck_assert_int_eq(ref_match(cases[_i].pat, cases[_i].name),
	    cases[_i].match);
}
END_TEST

/* test_random - the matcher agrees with the reference on small inputs */
START_TEST(test_random)
{
	static const char alpha[] = "ab/*%";
	char pat[12], name[12];
	size_t i, pl, nl;
	int k;

	srandom(9);
	for (k = 0; k < 200000; k++) {
		pl = (size_t)random() % sizeof(pat);
		nl = (size_t)random() % sizeof(name);
		for (i = 0; i < pl; i++)
			pat[i] = alpha[random() % 5];
		for (i = 0; i < nl; i++)
			name[i] = alpha[random() % 3];
		pat[pl] = name[nl] = '\0';
		ck_assert_msg(wild_match_str(pat, name, '/') ==
			ref_match(pat, name),
		    "pattern '%s' name '%s'", pat, name);
	}
}
END_TEST

/* test_long - patterns over 64 bytes cross words; a pathological pattern
 * against a long name is answered (the old matcher took minutes) */
START_TEST(test_long)
{
	char name[1000], pat[400];
	struct wild *w;
	size_t i;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	pat[0] = '\0';
	for (i = 0; i < 40; i++)
		strcat(pat, "*a");
	strcat(pat, "b");
	w = wild_compile(pat, strlen(pat), '/');
	ck_assert_int_eq(wild_match(w, name, strlen(name)), 0);
	name[sizeof(name) - 2] = 'b';
	ck_assert_int_eq(wild_match(w, name, strlen(name)), 1);
	wild_free(&w);
	ck_assert_ptr_null(w);
	/* a literal pattern of 130 bytes */
	memset(pat, 'x', 130);
	pat[130] = '\0';
	memcpy(name, pat, 131);
	ck_assert_int_eq(wild_match_str(pat, name, '/'), 1);
	name[129] = 'y';
	ck_assert_int_eq(wild_match_str(pat, name, '/'), 0);
	name[129] = 'x';
	name[130] = 'x';
	name[131] = '\0';
	ck_assert_int_eq(wild_match_str(pat, name, '/'), 0);
	pat[63] = '%';
	pat[64] = '*';
	ck_assert_int_eq(wild_match_str(pat, name, '/'), 1);
}
END_TEST

/* a pattern longer than any name (a 64 KB line of "*a"): more literals
 * than the name has bytes cannot match, whatever the wildcards */
START_TEST(test_huge_pattern)
{
	size_t n = 40000, i;
	char *pat = malloc(2 * n + 2), name[1000];
	struct wild *w;

	for (i = 0; i < n; i++)
		memcpy(pat + 2 * i, "*a", 2);
	memcpy(pat + 2 * n, "b", 2);
	memset(name, 'a', sizeof(name));
	w = wild_compile(pat, strlen(pat), '/');
	for (i = 0; i < 5000; i++)
		ck_assert_int_eq(wild_match(w, name, sizeof(name)), 0);
	wild_free(&w);
	/* "*" then 998 literals against 999 bytes: still matched */
	pat[0] = '*';
	memset(pat + 1, 'a', 998);
	pat[999] = '\0';
	ck_assert_int_eq(wild_match_str(pat, "xaaa", '/'), 0);
	w = wild_compile(pat, strlen(pat), '/');
	ck_assert_int_eq(wild_match(w, name, 999), 1);
	ck_assert_int_eq(wild_match(w, name, 998), 1);
	ck_assert_int_eq(wild_match(w, name, 997), 0);
	wild_free(&w);
	free(pat);
}
END_TEST

static const struct {
	const char *name;
	size_t len; /* 0: strlen */
	int ok;
} names[] = {
	{ "INBOX", 0, 1 }, { "a b/c.d", 0, 1 }, { "", 0, 1 }, { "&-", 0, 1 },
	{ "a&-b", 0, 1 }, { "&AOk-t&AOk-", 0, 1 }, /* étè */
	{ "&ZeVnLIqe-", 0, 1 },			   /* 日本語 */
	{ "&2D3eAA-", 0, 1 },			   /* U+1F600 (surrogates) */
	{ "*", 0, 1 }, { "%/a", 0, 1 }, { "a\0b", 3, 0 }, /* NUL */
	{ "a\tb", 0, 0 }, { "a\x7f", 0, 0 }, { "a\x1b[1m", 0, 0 },
	{ "caf\xc3\xa9", 0, 0 },	   /* 8-bit */
	{ "&", 0, 0 },			   /* unterminated */
	{ "&AOk", 0, 0 }, { "a&b", 0, 0 }, /* unterminated */
	{ "&AOk=-", 0, 0 },		   /* '=' not in alphabet */
	{ "&AO/-", 0, 0 },		   /* '/' is UTF-7, not mUTF-7 */
	{ "&AG-", 0, 0 },		   /* 12 bits: no whole unit */
	{ "&AOl-", 0, 0 },		   /* non-zero padding bits */
	{ "&AGEA-", 0, 0 },		   /* 'a' encoded */
	{ "&AAk-", 0, 0 },		   /* TAB encoded */
	{ "&AAA-", 0, 0 },		   /* NUL encoded */
	{ "&2D0-", 0, 0 },		   /* lone high surrogate */
	{ "&3gA-", 0, 0 },		   /* lone low surrogate */
	{ "&AOkA6QA-", 0, 0 },		   /* 8 bits left over */
};

START_TEST(test_names)
{
	const char *err = NULL;
	size_t len = names[_i].len ? names[_i].len : strlen(names[_i].name);
	int r = mboxname_check(names[_i].name, len, &err);

	ck_assert_msg(r == (names[_i].ok ? 0 : -1), "name #%d (%s): %s", _i,
	    names[_i].name, err ? err : "accepted");
	if (r < 0)
		ck_assert_ptr_nonnull(err);
}
END_TEST

CHECK_MAIN("wild", CHECK_OPTS(NULL, NULL, 30, 0),
    CHECK_LOOP(test_cases, sizeof(cases) / sizeof(cases[0])),
    CHECK_TEST(test_random), CHECK_TEST(test_long),
    CHECK_TEST(test_huge_pattern),
    CHECK_LOOP(test_names, sizeof(names) / sizeof(names[0])))

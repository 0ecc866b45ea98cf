/*
 * check_prange - unit tests for RFC 9394's partial-range (lib/imap/
 * prange): what parses, what is echoed, and which entries of a result
 * a range names.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "check_run.h"
#include "prange.h"

/* a range, and the span it names in results of 0, 1, 5 and 10 */
static const struct {
	const char *s;
	const char *text;
	size_t span[4][2];
} good[] = {
	{ "1:1", "1:1", { { 0, 0 }, { 0, 1 }, { 0, 1 }, { 0, 1 } } },
	{ "2:4", "2:4", { { 0, 0 }, { 1, 1 }, { 1, 4 }, { 1, 4 } } },
	{ "4:2", "4:2", { { 0, 0 }, { 1, 1 }, { 1, 4 }, { 1, 4 } } },
	{ "5:9", "5:9", { { 0, 0 }, { 1, 1 }, { 4, 5 }, { 4, 9 } } },
	{ "6:6", "6:6", { { 0, 0 }, { 1, 1 }, { 5, 5 }, { 5, 6 } } },
	{ "1:4294967295", "1:4294967295",
	    { { 0, 0 }, { 0, 1 }, { 0, 5 }, { 0, 10 } } },
	{ "-1:-1", "-1:-1", { { 0, 0 }, { 0, 1 }, { 4, 5 }, { 9, 10 } } },
	{ "-1:-3", "-1:-3", { { 0, 0 }, { 0, 1 }, { 2, 5 }, { 7, 10 } } },
	{ "-3:-1", "-3:-1", { { 0, 0 }, { 0, 1 }, { 2, 5 }, { 7, 10 } } },
	{ "-2:-4", "-2:-4", { { 0, 0 }, { 1, 1 }, { 1, 4 }, { 6, 9 } } },
	{ "-5:-9", "-5:-9", { { 0, 0 }, { 1, 1 }, { 0, 1 }, { 1, 6 } } },
	{ "-6:-7", "-6:-7", { { 0, 0 }, { 1, 1 }, { 5, 5 }, { 3, 5 } } },
	{ "-4294967295:-1", "-4294967295:-1",
	    { { 0, 0 }, { 0, 1 }, { 0, 5 }, { 0, 10 } } },
};

START_TEST(test_prange_good)
{
	static const size_t sizes[4] = { 0, 1, 5, 10 };
	struct prange r;
	const char *err = NULL;
	size_t from, to, k;

	ck_assert_msg(prange_parse(good[_i].s, strlen(good[_i].s), &r, &err) ==
		0,
	    "%s: %s", good[_i].s, err);
	ck_assert_str_eq(r.text, good[_i].text);
	ck_assert_uint_le(1, r.lo);
	ck_assert_uint_le(r.lo, r.hi);
	ck_assert_int_eq(r.last, good[_i].s[0] == '-');
	for (k = 0; k < 4; k++) {
		prange_span(&r, sizes[k], &from, &to);
		ck_assert_msg(from == good[_i].span[k][0] &&
			to == good[_i].span[k][1],
		    "%s of %zu: [%zu, %zu)", good[_i].s, sizes[k], from, to);
	}
}
END_TEST

static const char *const bad[] = {
	"",
	"1",
	"-1",
	":",
	"-:-",
	"1:",
	":1",
	"0:1",
	"1:0",
	"-0:-1",
	"01:2",
	"1:02",
	"-1:2",
	"1:-2",
	"--1:-2",
	"-1:--2",
	"+1:2",
	"1:*",
	"*:1",
	"1:4294967296",
	"-4294967296:-1",
	"1:99999999999999999999",
	"1:2:3",
	"1,2",
	"1 :2",
	"a:b",
};

START_TEST(test_prange_bad)
{
	struct prange r;
	const char *err = NULL;

	ck_assert_msg(prange_parse(bad[_i], strlen(bad[_i]), &r, &err) == -1,
	    "%s parsed", bad[_i]);
	ck_assert_ptr_nonnull(err);
}
END_TEST

/* the length given is what is read: "1:23" cut to 3 bytes is 1:2 */
START_TEST(test_prange_length)
{
	struct prange r;
	const char *err = NULL;

	ck_assert_int_eq(prange_parse("1:23", 3, &r, &err), 0);
	ck_assert_uint_eq(r.hi, 2);
	ck_assert_int_eq(prange_parse("1:2\0", 4, &r, &err), -1);
}
END_TEST

CHECK_MAIN("prange", NULL,
    CHECK_LOOP(test_prange_good, sizeof(good) / sizeof(good[0])),
    CHECK_LOOP(test_prange_bad, sizeof(bad) / sizeof(bad[0])),
    CHECK_TEST(test_prange_length))

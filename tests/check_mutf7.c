/*
 * check_mutf7 - unit tests for mailbox names between modified UTF-7 and
 * UTF-8 (lib/imap/mutf7) and the UTF-8 check of quoted strings.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "check_run.h"
#include "imapp.h"
#include "mutf7.h"

static const struct {
	const char *utf8, *mutf7;
} pairs[] = {
	{ "INBOX", "INBOX" },
	{ "a&b", "a&-b" },
	{ "Gr\xc3\xbc\xc3\x9f"
	  "e",
	    "Gr&APwA3w-e" },
	{ "\xc3\xa4/\xc3\xb6", "&AOQ-/&APY-" },
	{ "\xe2\x82\xac", "&IKw-" },
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" }, /* a surrogate pair */
	{ "", "" },
};

START_TEST(test_pairs)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	const char *err = NULL;

	ck_assert_int_eq(mutf7_from_utf8(pairs[_i].utf8, strlen(pairs[_i].utf8),
			     &a, &err),
	    0);
	ck_assert_str_eq(buf_cstr(&a), pairs[_i].mutf7);
	ck_assert_int_eq(mutf7_to_utf8(pairs[_i].mutf7, &b), 0);
	ck_assert_str_eq(buf_cstr(&b), pairs[_i].utf8);
	buf_free(&a);
	buf_free(&b);
}
END_TEST

static const char *const bad_utf8[] = {
	"\xff",
	"\xc3",
	"\xc0\xaf", /* overlong '/' */
	"\xe0\x80\xaf",
	"\xed\xa0\x80",	    /* a surrogate */
	"\xf4\x90\x80\x80", /* past U+10FFFF */
	"ok\xc3\x28",
};

START_TEST(test_bad_utf8)
{
	struct buf a = BUF_INIT;
	const char *err = NULL;

	buf_puts(&a, "kept");
	ck_assert_int_eq(mutf7_utf8_valid(bad_utf8[_i], strlen(bad_utf8[_i])),
	    0);
	ck_assert_int_eq(mutf7_from_utf8(bad_utf8[_i], strlen(bad_utf8[_i]), &a,
			     &err),
	    -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(buf_cstr(&a), "kept"); /* unchanged */
	/* a NUL inside (a literal can carry one) */
	ck_assert_int_eq(mutf7_from_utf8("a\0b", 3, &a, &err), -1);
	buf_free(&a);
}
END_TEST

/* IMAPP_PARSE_UTF8: quoted strings must be UTF-8; without it 8-bit
 * passes, and a literal is never checked */
START_TEST(test_parse_utf8)
{
	struct imapp_cmd c;
	const char *err;
	const char *good = "a SEARCH SUBJECT \"Gr\xc3\xbc\xc3\x9f"
			   "e\"",
		   *bad = "a SEARCH SUBJECT \"\xc3\x28\"",
		   *lit = "a SEARCH SUBJECT {2}\r\n\xc3\x28";

	ck_assert_int_eq(imapp_parse_flags(good, strlen(good), IMAPP_PARSE_UTF8,
			     &c, &err),
	    0);
	ck_assert_str_eq(c.args[1].str,
	    "Gr\xc3\xbc\xc3\x9f"
	    "e");
	imapp_cmd_free(&c);
	ck_assert_int_eq(imapp_parse_flags(bad, strlen(bad), IMAPP_PARSE_UTF8,
			     &c, &err),
	    -1);
	imapp_cmd_free(&c);
	ck_assert_int_eq(imapp_parse(bad, strlen(bad), &c, &err), 0);
	imapp_cmd_free(&c);
	ck_assert_int_eq(imapp_parse_flags(lit, strlen(lit), IMAPP_PARSE_UTF8,
			     &c, &err),
	    0);
	imapp_cmd_free(&c);
}
END_TEST

/* the UTF-8 form is quoted, not a literal; an atom stays an atom */
START_TEST(test_put_utf8)
{
	struct buf b = BUF_INIT;

	imapp_put_utf8_astring(&b, "\xc3\xa4", 2);
	ck_assert_str_eq(buf_cstr(&b), "\"\xc3\xa4\"");
	buf_reset(&b);
	imapp_put_utf8_astring(&b, "abc", 3);
	ck_assert_str_eq(buf_cstr(&b), "abc");
	buf_reset(&b);
	imapp_put_utf8_astring(&b, "\xc3\xa4\"\\", 4);
	ck_assert_str_eq(buf_cstr(&b), "\"\xc3\xa4\\\"\\\\\"");
	buf_free(&b);
}
END_TEST

CHECK_MAIN("mutf7", NULL,
    CHECK_LOOP(test_pairs, sizeof(pairs) / sizeof(pairs[0])),
    CHECK_LOOP(test_bad_utf8, sizeof(bad_utf8) / sizeof(bad_utf8[0])),
    CHECK_TEST(test_parse_utf8), CHECK_TEST(test_put_utf8))

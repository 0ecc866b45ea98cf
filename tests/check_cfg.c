/*
 * check_cfg - unit tests for the imapd.conf parser.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "buf.h"
#include "cfg.h"
#include "err.h"

static int
load(const char *text, struct buf *warn, struct err *err)
{
	return cfg_load_text("imapd.conf", text, strlen(text), warn, err);
}

START_TEST(test_basic)
{
	struct err err;
	struct buf w = BUF_INIT;

	ck_assert_int_eq(load("# comment\n\nconfigdirectory: /tmp/x  \n"
			      "allowplaintext: yes\ntimeout: "
			      "5\npartition-default: /p\n",
			     &w, &err),
	    0);
	ck_assert_str_eq(cfg_str("configdirectory"), "/tmp/x");
	ck_assert_int_eq(cfg_bool("allowplaintext"), 1);
	ck_assert_int_eq(cfg_duration_ms("timeout"), 5 * 60000);
	ck_assert_str_eq(cfg_partition_path("default"), "/p");
	ck_assert_ptr_null(cfg_partition_path("other"));
	ck_assert_uint_eq(w.len, 0);
	buf_free(&w);
}
END_TEST

START_TEST(test_defaults)
{
	struct err err;

	ck_assert_int_eq(load("", NULL, &err), 0);
	ck_assert_str_eq(cfg_str("defaultpartition"), "default");
	ck_assert_int_eq(cfg_bool("allowplaintext"), 0);
	ck_assert_int_eq(cfg_duration_ms("timeout"), 30 * 60000);
	ck_assert_int_eq(cfg_size("maxliteral"), 64 * 1048576);
}
END_TEST

START_TEST(test_unknown_key_warns)
{
	struct err err;
	struct buf w = BUF_INIT;

	ck_assert_int_eq(load("a: b\nfrobnicate: 1\n", &w, &err), 0);
	ck_assert_ptr_nonnull(
	    strstr(buf_cstr(&w), "imapd.conf:1: unknown key 'a'"));
	ck_assert_ptr_nonnull(
	    strstr(buf_cstr(&w), "imapd.conf:2: unknown key 'frobnicate'"));
	buf_free(&w);
}
END_TEST

static const struct {
	const char *text, *msg;
} bad_cases[] = {
	{ "allowplaintext: maybe\n",
	    "imapd.conf:1: key 'allowplaintext': bad value 'maybe'" },
	{ "\n\ntimeout: 5x\n", "imapd.conf:3: key 'timeout': bad value '5x'" },
	{ "maxliteral: -1\n", "imapd.conf:1: key 'maxliteral'" },
	{ "no colon here\n", "imapd.conf:1: expected 'key: value'" },
	{ "partition-x: relative\n", "imapd.conf:1: key 'partition-x'" },
};

START_TEST(test_bad_value)
{
	struct err err;

	ck_assert_int_eq(load("configdirectory: /keep\n", NULL, &err), 0);
	ck_assert_int_eq(load(bad_cases[_i].text, NULL, &err), -1);
	ck_assert_msg(strstr(err.msg, bad_cases[_i].msg) != NULL, "got '%s'",
	    err.msg);
	/* the previous configuration stays in force */
	ck_assert_str_eq(cfg_str("configdirectory"), "/keep");
}
END_TEST

/* a configdirectory too long for the paths made under it is refused */
START_TEST(test_confdir_too_long)
{
	char text[CFG_CONFDIR_MAX + 64];
	struct err err;
	int n;

	ck_assert_int_eq(load("configdirectory: /keep\n", NULL, &err), 0);
	n = snprintf(text, sizeof(text), "configdirectory: /%0*d\n",
	    CFG_CONFDIR_MAX, 0);
	ck_assert_int_lt(n, (int)sizeof(text));
	ck_assert_int_eq(load(text, NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "key 'configdirectory'"));
	ck_assert_str_eq(cfg_str("configdirectory"), "/keep");
	/* one byte shorter: taken */
	n = snprintf(text, sizeof(text), "configdirectory: /%0*d\n",
	    CFG_CONFDIR_MAX - 1, 0);
	ck_assert_int_lt(n, (int)sizeof(text));
	ck_assert_int_eq(load(text, NULL, &err), 0);
	ck_assert_uint_eq(strlen(cfg_str("configdirectory")), CFG_CONFDIR_MAX);
	/* and through cfg_set */
	n = snprintf(text, sizeof(text), "/%0*d", CFG_CONFDIR_MAX, 0);
	ck_assert_int_lt(n, (int)sizeof(text));
	ck_assert_int_eq(cfg_set("configdirectory", text, &err), -1);
}
END_TEST

START_TEST(test_parsers)
{
	long long v;
	int b;

	ck_assert_int_eq(cfg_parse_duration_ms("90", 's', &v), 0);
	ck_assert_int_eq(v, 90000);
	ck_assert_int_eq(cfg_parse_duration_ms("250ms", 's', &v), 0);
	ck_assert_int_eq(v, 250);
	ck_assert_int_eq(cfg_parse_duration_ms("2h", 's', &v), 0);
	ck_assert_int_eq(v, 7200000);
	ck_assert_int_eq(cfg_parse_size("64M", &v), 0);
	ck_assert_int_eq(v, 64 << 20);
	ck_assert_int_eq(cfg_parse_size("12", &v), 0);
	ck_assert_int_eq(v, 12);
	ck_assert_int_eq(cfg_parse_size("1T", &v), -1);
	ck_assert_int_eq(cfg_parse_bool("On", &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(cfg_parse_bool("", &b), -1);
	ck_assert_int_eq(cfg_parse_int("12a", &v), -1);
}
END_TEST

CHECK_MAIN("cfg", NULL, CHECK_TEST(test_basic), CHECK_TEST(test_defaults),
    CHECK_TEST(test_unknown_key_warns),
    CHECK_LOOP(test_bad_value, sizeof(bad_cases) / sizeof(bad_cases[0])),
    CHECK_TEST(test_confdir_too_long), CHECK_TEST(test_parsers))

/*
 * check_list_opts - unit tests for LIST and LSUB's argument parser
 * (imapd/list_opts: RFC 5258 selection and return options, RFC 5819
 * RETURN STATUS, one pattern or a list), fed what the IMAP tokenizer
 * makes of a command line.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "imapp.h"
#include "list_opts.h"

/* parse_line - tokenize "t LIST <args>" (or LSUB) and parse its
 * arguments; the command stays in c for the caller to free */
static int
parse_line(const char *args, int lsub, struct imapp_cmd *c, struct list_opts *o,
    const char **err_r)
{
	char wire[512];
	const char *perr = NULL;
	int n;

	n = snprintf(wire, sizeof(wire), "t %s%s%s\r\n", lsub ? "LSUB" : "LIST",
	    *args ? " " : "", args);
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, (int)sizeof(wire));
	ck_assert_msg(imapp_parse(wire, (size_t)n, c, &perr) == 0, "%s: %s",
	    args, perr);
	*err_r = NULL;
	return list_opts_parse(c->args, c->nargs, lsub, o, err_r);
}

static const struct {
	const char *args;
	int lsub;
	unsigned sel, ret;
	const char *ref;
	size_t npat;
	int pat_list;
	size_t nstatus; /* items of RETURN STATUS, 0 without */
	const char *lastpat;
} good[] = {
	{ "\"\" *", 0, 0, 0, "", 1, 0, 0, "*" },
	{ "~/Mail/ %", 0, 0, 0, "~/Mail/", 1, 0, 0, "%" },
	{ "{3}\r\nfoo \"a b\"", 0, 0, 0, "foo", 1, 0, 0, "a b" },
	{ "() \"\" *", 0, 0, 0, "", 1, 0, 0, "*" },
	{ "(SUBSCRIBED) \"\" *", 0, LIST_SEL_SUBSCRIBED, 0, "", 1, 0, 0, "*" },
	{ "(subscribed recursivematch) \"\" %", 0,
	    LIST_SEL_SUBSCRIBED | LIST_SEL_RECURSIVE, 0, "", 1, 0, 0, "%" },
	{ "(RECURSIVEMATCH SPECIAL-USE) \"\" *", 0,
	    LIST_SEL_RECURSIVE | LIST_SEL_SPECIALUSE, 0, "", 1, 0, 0, "*" },
	{ "(REMOTE) \"\" *", 0, LIST_SEL_REMOTE, 0, "", 1, 0, 0, "*" },
	{ "(SUBSCRIBED SUBSCRIBED) \"\" *", 0, LIST_SEL_SUBSCRIBED, 0, "", 1, 0,
	    0, "*" },
	{ "\"\" (INBOX \"Sent\" a/%)", 0, 0, 0, "", 3, 1, 0, "a/%" },
	{ "\"\" (*)", 0, 0, 0, "", 1, 1, 0, "*" },
	{ "\"\" * RETURN ()", 0, 0, 0, "", 1, 0, 0, "*" },
	{ "\"\" * return (children subscribed special-use)", 0, 0,
	    LIST_RET_CHILDREN | LIST_RET_SUBSCRIBED | LIST_RET_SPECIALUSE, "",
	    1, 0, 0, "*" },
	{ "\"\" % RETURN (STATUS (MESSAGES UNSEEN))", 0, 0, LIST_RET_STATUS, "",
	    1, 0, 2, "%" },
	{ "(SPECIAL-USE) \"\" (% a) RETURN (SUBSCRIBED STATUS (SIZE))", 0,
	    LIST_SEL_SPECIALUSE, LIST_RET_SUBSCRIBED | LIST_RET_STATUS, "", 2,
	    1, 1, "a" },
	/* RETURN is a pattern when nothing follows it */
	{ "\"\" RETURN", 0, 0, 0, "", 1, 0, 0, "RETURN" },
	{ "\"\" *", 1, 0, 0, "", 1, 0, 0, "*" },
	{ "foo/ %", 1, 0, 0, "foo/", 1, 0, 0, "%" },
};

START_TEST(test_list_opts_parse_good)
{
	struct imapp_cmd c;
	struct list_opts o;
	const char *err;

	ck_assert_msg(parse_line(good[_i].args, good[_i].lsub, &c, &o, &err) ==
		0,
	    "%s: %s", good[_i].args, err);
	ck_assert_uint_eq(o.sel, good[_i].sel);
	ck_assert_uint_eq(o.ret, good[_i].ret);
	ck_assert_str_eq(o.ref->str, good[_i].ref);
	ck_assert_ptr_eq(o.ref, &c.args[o.ref_i]);
	ck_assert_uint_eq(o.npat, good[_i].npat);
	ck_assert_int_eq(o.pat_list, good[_i].pat_list);
	ck_assert_str_eq(o.pats[o.npat - 1].str, good[_i].lastpat);
	if (good[_i].nstatus == 0) {
		ck_assert_ptr_null(o.status);
	} else {
		ck_assert_ptr_nonnull(o.status);
		ck_assert_uint_eq(o.status->nlist, good[_i].nstatus);
	}
	imapp_cmd_free(&c);
}
END_TEST

static const struct {
	const char *args;
	int lsub;
} bad[] = {
	{ "", 0 },
	{ "\"\"", 0 },
	{ "()", 0 },
	{ "() \"\"", 0 },
	{ "(FOO) \"\" *", 0 },		  /* unknown option */
	{ "(RECURSIVEMATCH) \"\" *", 0 }, /* qualifies nothing */
	{ "(RECURSIVEMATCH REMOTE) \"\" *", 0 },
	{ "(\"SUBSCRIBED\") \"\" *", 0 }, /* a string, not an atom */
	{ "((SUBSCRIBED)) \"\" *", 0 },
	{ "(SUBSCRIBED) () \"\" *", 0 },
	{ "\"\" ()", 0 }, /* no pattern */
	{ "\"\" (* (a))", 0 },
	{ "\"\" (* NIL-ish) extra", 0 },
	{ "() \"\"", 0 },
	{ "\"\" * RETURN", 0 }, /* RETURN without its list */
	{ "\"\" * RETURN (FOO)", 0 },
	{ "\"\" * RETURN (STATUS)", 0 }, /* STATUS needs items */
	{ "\"\" * RETURN (STATUS ())", 0 },
	{ "\"\" * RETURN (STATUS MESSAGES)", 0 },
	{ "\"\" * RETURN (STATUS (MESSAGES) STATUS (UNSEEN))", 0 },
	{ "\"\" * RETURN (\"CHILDREN\")", 0 },
	{ "\"\" * RETURN (CHILDREN) x", 0 },
	{ "\"\" * RETURN (CHILDREN) RETURN (CHILDREN)", 0 },
	{ "\"\" * x", 0 },
	{ "(a) b", 0 },
	{ "\"\" * RETURN (CHILDREN)", 1 }, /* LSUB takes no options */
	{ "(SUBSCRIBED) \"\" *", 1 },
	{ "\"\" (*)", 1 },
	{ "\"\"", 1 },
};

START_TEST(test_list_opts_parse_bad)
{
	struct imapp_cmd c;
	struct list_opts o;
	const char *err;

	ck_assert_msg(parse_line(bad[_i].args, bad[_i].lsub, &c, &o, &err) ==
		-1,
	    "%s parsed", bad[_i].args);
	ck_assert_ptr_nonnull(err);
	imapp_cmd_free(&c);
}
END_TEST

/* the error names the fault, not only the syntax */
START_TEST(test_list_opts_parse_errors)
{
	struct imapp_cmd c;
	struct list_opts o;
	const char *err;

	ck_assert_int_eq(parse_line("(RECURSIVEMATCH) \"\" *", 0, &c, &o, &err),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "RECURSIVEMATCH"));
	imapp_cmd_free(&c);
	ck_assert_int_eq(parse_line("(FOO) \"\" *", 0, &c, &o, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "selection option"));
	imapp_cmd_free(&c);
	ck_assert_int_eq(parse_line("\"\" * RETURN (FOO)", 0, &c, &o, &err),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "return option"));
	imapp_cmd_free(&c);
	ck_assert_int_eq(parse_line("\"\" * x", 1, &c, &o, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "LSUB"));
	imapp_cmd_free(&c);
}
END_TEST

/* no arguments at all: nothing is read before the count is checked */
START_TEST(test_list_opts_parse_empty)
{
	struct list_opts o;
	const char *err = NULL;

	ck_assert_int_eq(list_opts_parse(NULL, 0, 0, &o, &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(list_opts_parse(NULL, 0, 1, &o, &err), -1);
}
END_TEST

CHECK_MAIN("list_opts", NULL,
    CHECK_LOOP(test_list_opts_parse_good, sizeof(good) / sizeof(good[0])),
    CHECK_LOOP(test_list_opts_parse_bad, sizeof(bad) / sizeof(bad[0])),
    CHECK_TEST(test_list_opts_parse_errors),
    CHECK_TEST(test_list_opts_parse_empty))

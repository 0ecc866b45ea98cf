/*
 * check_mconf - unit tests for the master.conf parser.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "err.h"
#include "mconf.h"

static const char good[] =
    "# comment\n"
    "START {\n"
    "  recover cmd=\"berthctl recover\"\n"
    "}\n"
    "SERVICES {\n"
    "  imap  cmd=\"imapd\" listen=\"143\" prefork=2 maxchild=200\n"
    "  imap6 cmd=\"imapd -x\" listen=\"[::1]:143\" proto=tcp6\n"
    "  lmtp  cmd=imapd listen=/var/run/lmtp maxforkrate=10 babysit=1\n"
    "        maxidle=30\n"
    "}\n"
    "EVENTS {\n"
    "  checkpoint cmd=\"berthctl checkpoint\" period=30\n"
    "  nightly    cmd=\"berthctl checkpoint\" at=0300\n"
    "}\n"
    "DAEMON { authd cmd=\"authd\" }\n";

START_TEST(test_good)
{
	struct mconf mc;
	struct err err;

	ck_assert_int_eq(mconf_parse("master.conf", good, strlen(good), &mc,
			     &err),
	    0);
	ck_assert_uint_eq(mc.n, 7);
	ck_assert_int_eq(mc.ents[0].section, MCONF_START);
	ck_assert_str_eq(mc.ents[0].cmd, "berthctl recover");
	ck_assert_str_eq(mc.ents[1].name, "imap");
	ck_assert_str_eq(mc.ents[1].listen, "143");
	ck_assert_int_eq(mc.ents[1].prefork, 2);
	ck_assert_int_eq(mc.ents[1].maxchild, 200);
	ck_assert_str_eq(mc.ents[2].listen, "[::1]:143");
	ck_assert_str_eq(mc.ents[3].cmd, "imapd");
	ck_assert_str_eq(mc.ents[3].listen, "/var/run/lmtp");
	ck_assert_int_eq(mc.ents[3].maxforkrate, 10);
	ck_assert_int_eq(mc.ents[3].babysit, 1);
	ck_assert_int_eq(mc.ents[3].maxidle, 30);
	ck_assert_int_eq(mc.ents[1].maxidle, MCONF_MAXIDLE_DEFAULT);
	ck_assert_int_eq(mc.ents[4].period, 30);
	ck_assert_int_eq(mc.ents[5].at, 300);
	ck_assert_int_eq(mc.ents[6].section, MCONF_DAEMON);
	ck_assert_int_eq(mc.ents[6].line, 15);
	mconf_free(&mc);
}
END_TEST

/* maxchild=-1 is Cyrus's "no limit"; an entry may span lines */
START_TEST(test_liberal)
{
	static const char text[] =
	    "services{s cmd=\"x -v\"\n\tlisten=/tmp/s   # here\n"
	    "  prefork=3 maxchild=-1\n t cmd=y listen=2}\n";
	struct mconf mc;
	struct err err;

	ck_assert_int_eq(mconf_parse("m", text, strlen(text), &mc, &err), 0);
	ck_assert_uint_eq(mc.n, 2);
	ck_assert_str_eq(mc.ents[0].cmd, "x -v");
	ck_assert_str_eq(mc.ents[0].listen, "/tmp/s");
	ck_assert_int_eq(mc.ents[0].prefork, 3);
	ck_assert_int_eq(mc.ents[0].maxchild, -1);
	ck_assert_str_eq(mc.ents[1].name, "t");
	ck_assert_int_eq(mc.ents[1].line, 4);
	ck_assert_int_eq(mc.ents[1].maxchild, 100);
	mconf_free(&mc);
}
END_TEST

static const struct {
	const char *text, *msg;
} bad[] = {
	{ "SERVICES {\n imap cmd=imapd listen=143 prefork=x\n}\n",
	    "master.conf:2: entry 'imap': key 'prefork': bad value 'x'" },
	{ "SERVICES {\n imap cmd=imapd\n}\n",
	    "master.conf:2: entry 'imap': key 'listen': missing" },
	{ "\nSERVICES {\n imap listen=1\n}\n",
	    "master.conf:3: entry 'imap': key 'cmd': missing" },
	{ "FOO {\n}\n", "master.conf:1: unknown section 'FOO'" },
	{ "START {\n a cmd=x colour=red\n}\n",
	    "master.conf:2: entry 'a': key 'colour': unknown key" },
	{ "START {\n a cmd=\"x\n}\n",
	    "master.conf:2: entry 'a': key 'cmd': unterminated quote" },
	{ "START {\n a cmd=x\n", "missing '}'" },
	{ "EVENTS {\n e cmd=x at=2500\n}\n", "key 'at': bad value '2500'" },
	{ "EVENTS {\n e cmd=x\n}\n", "key 'period': missing" },
	{ "DAEMON {\n a cmd=x\n a cmd=y\n}\n", "duplicate entry name" },
	{ "SERVICES {\n s cmd=x listen=1 prefork=5 maxchild=2\n}\n",
	    "key 'prefork': larger than maxchild" },
	{ "EVENTS {\n e cmd=x period=-1\n}\n", "key 'period': bad value '-1'" },
	{ "SERVICES {\n s cmd=x listen=1 prefork=-1\n}\n",
	    "key 'prefork': bad value '-1'" },
	{ "SERVICES {\n s cmd=x listen=1 maxfds=-2\n}\n",
	    "key 'maxfds': bad value '-2'" },
	{ "SERVICES {\n s cmd=x listen=1 maxidle=0\n}\n",
	    "key 'maxidle': bad value '0'" },
	{ "SERVICES {\n s cmd=x listen=1 maxidle=3601\n}\n",
	    "key 'maxidle': bad value '3601'" },
};

START_TEST(test_bad)
{
	struct mconf mc;
	struct err err;

	ck_assert_int_eq(mconf_parse("master.conf", bad[_i].text,
			     strlen(bad[_i].text), &mc, &err),
	    -1);
	ck_assert_msg(strstr(err.msg, bad[_i].msg) != NULL,
	    "got '%s' want '%s'", err.msg, bad[_i].msg);
}
END_TEST

CHECK_MAIN("mconf", NULL, CHECK_TEST(test_good), CHECK_TEST(test_liberal),
    CHECK_LOOP(test_bad, sizeof(bad) / sizeof(bad[0])))

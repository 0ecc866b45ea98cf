/*
 * check_ipnet - unit tests for address parsing, masks and network keys.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check_run.h"
#include "ipnet.h"

static const struct {
	const char *addr;
	int prefix;
	const char *key;
} masks[] = {
	{ "192.0.2.77", 32, "192.0.2.77" },
	{ "192.0.2.77", 24, "192.0.2.0/24" },
	{ "192.0.2.77", 16, "192.0.0.0/16" }, { "192.0.2.77", 0, "0.0.0.0/0" },
	{ "192.0.2.77", 23, "192.0.2.0/23" },
	{ "192.0.3.77", 23, "192.0.2.0/23" },
	{ "10.255.255.255", 9, "10.128.0.0/9" },
	{ "::ffff:192.0.2.77", 24, "192.0.2.0/24" },
	{ "2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6" },
	{ "2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::/64" },
	{ "2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::/48" },
	{ "2001:db8:1:2:3:4:5:6", 56, "2001:db8:1::/56" },
	{ "2001:db8:1:2ff:3:4:5:6", 56, "2001:db8:1:200::/56" },
	{ "::1", 64, "::/64" },
	{ "192.0.2.77", 40, "192.0.2.77" }, /* clamped to the family */
};

START_TEST(test_mask)
{
	struct ipnet n, m;
	char key[IPNET_KEYLEN];

	ck_assert_int_eq(ipnet_parse(masks[_i].addr, &n), 0);
	m = ipnet_mask(&n, masks[_i].prefix);
	ipnet_key(&m, key, sizeof(key));
	ck_assert_str_eq(key, masks[_i].key);
	/* a key parses back to the same network */
	ck_assert_int_eq(ipnet_parse_key(key, &n), 0);
	ck_assert_int_eq(n.prefix, m.prefix);
	ck_assert_int_eq(memcmp(n.a, m.a, sizeof(n.a)), 0);
}
END_TEST

static const char *bad[] = {
	"",
	"unix",
	"unknown",
	"192.0.2",
	"192.0.2.256",
	"1.2.3.4 ",
	"2001:db8::1::2",
	"192.0.2.0/33",
	"192.0.2.0/",
	"192.0.2.0/x",
	"2001:db8::/129",
	"192.0.2.0/-1",
};

START_TEST(test_bad)
{
	struct ipnet n;

	ck_assert_int_eq(ipnet_parse_key(bad[_i], &n), -1);
}
END_TEST

START_TEST(test_families)
{
	struct ipnet n;

	ck_assert_int_eq(ipnet_parse("127.0.0.1", &n), 0);
	ck_assert_int_eq(n.family, AF_INET);
	ck_assert_int_eq(ipnet_bits(&n), 32);
	ck_assert_int_eq(ipnet_parse("::ffff:127.0.0.1", &n), 0);
	ck_assert_int_eq(n.family, AF_INET);
	ck_assert_int_eq(ipnet_parse("fe80::1", &n), 0);
	ck_assert_int_eq(n.family, AF_INET6);
	ck_assert_int_eq(ipnet_bits(&n), 128);
	/* masking never widens */
	n = ipnet_mask(&n, 48);
	n = ipnet_mask(&n, 64);
	ck_assert_int_eq(n.prefix, 48);
}
END_TEST

static const struct {
	const char *addr;
	int loopback;
} loops[] = {
	{ "127.0.0.1", 1 },
	{ "127.3.0.1", 1 },
	{ "127.255.255.254", 1 },
	{ "::1", 1 },
	{ "0:0:0:0:0:0:0:1", 1 },
	{ "::ffff:127.0.0.1", 1 },
	{ "128.0.0.1", 0 },
	{ "10.127.0.1", 0 },
	{ "::2", 0 },
	{ "::", 0 },
	{ "::ffff:10.0.0.1", 0 },
	{ "fe80::1", 0 },
	{ "127.", 0 },
	{ "127.0.0.1x", 0 },
	{ "", 0 },
	{ "localhost", 0 },
};

START_TEST(test_loopback)
{
	ck_assert_int_eq(ipnet_loopback(loops[_i].addr), loops[_i].loopback);
}
END_TEST

CHECK_MAIN("ipnet", CHECK_OPTS(NULL, NULL, 10, 1),
    CHECK_LOOP(test_mask, sizeof(masks) / sizeof(masks[0])),
    CHECK_LOOP(test_bad, sizeof(bad) / sizeof(bad[0])),
    CHECK_TEST(test_families),
    CHECK_LOOP(test_loopback, sizeof(loops) / sizeof(loops[0])))

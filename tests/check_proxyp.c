/*
 * check_proxyp - unit tests for the PROXY protocol parser, the socket
 * reader (nothing past the header is consumed), the trusted-network list
 * and the per-service proxy_protocol key.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_run.h"
#include "cfg.h"
#include "err.h"
#include "ev.h"
#include "fd.h"
#include "proxyp.h"

#define SIG "\r\n\r\n\0\r\nQUIT\n"
#define V4ADDRS "\xc0\x00\x02\x07\xc6\x33\x64\x01\xc8\x22\x00\x8f"
#define LIT(s) s, sizeof(s) - 1

/* a header that parses: its length, and what it names */
static const struct good {
	const char *data;
	size_t len;
	int local;
	const char *src;
	int sport;
	const char *dst;
	int dport;
} good[] = {
	{ LIT("PROXY TCP4 192.0.2.7 198.51.100.1 51234 143\r\n"), 0,
	    "192.0.2.7", 51234, "198.51.100.1", 143 },
	{ LIT("PROXY TCP6 2001:DB8::7 ::1 4660 993\r\n"), 0, "2001:db8::7",
	    4660, "::1", 993 },
	{ LIT("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"), 0, "0.0.0.0",
	    0, "255.255.255.255", 65535 },
	{ LIT("PROXY UNKNOWN\r\n"), 1, "", 0, "", 0 },
	{ LIT("PROXY UNKNOWN ffff:f...f:ffff 1.2.3.4 65535 65535\r\n"), 1, "",
	    0, "", 0 },
	/* the longest v1 line: 107 bytes */
	{ LIT("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
	    0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535 },
	{ LIT(SIG "\x21\x11\x00\x0c" V4ADDRS), 0, "192.0.2.7", 51234,
	    "198.51.100.1", 143 },
	{ LIT(SIG
	      "\x21\x21\x00\x24"
	      "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07"
	      "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
	      "\x12\x34\x03\xe1"),
	    0, "2001:db8::7", 4660, "::1", 993 },
	/* LOCAL: a health check; addresses, if any, are ignored */
	{ LIT(SIG "\x20\x00\x00\x00"), 1, "", 0, "", 0 },
	{ LIT(SIG "\x20\x11\x00\x0c" V4ADDRS), 1, "", 0, "", 0 },
	/* PROXY with an unspecified family: the socket's addresses */
	{ LIT(SIG "\x21\x00\x00\x00"), 1, "", 0, "", 0 },
	/* TLVs (NOOP, AUTHORITY) are skipped */
	{ LIT(SIG "\x21\x11\x00\x20" V4ADDRS "\x04\x00\x03"
		  "abc"
		  "\x02\x00\x0b"
		  "example.org"),
	    0, "192.0.2.7", 51234, "198.51.100.1", 143 },
	{ LIT(SIG "\x21\x11\x00\x0f" V4ADDRS "\x04\x00\x00"), 0, "192.0.2.7",
	    51234, "198.51.100.1", 143 },
};

/* input that is refused, and a word of the reason */
static const struct bad {
	const char *data;
	size_t len;
	const char *why;
} bad[] = {
	{ LIT("a1 LOGIN ann pw\r\n"), "not a PROXY header" },
	{ LIT("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
	    "not a PROXY header" },
	{ LIT("PROXYTCP4"), "not a PROXY header" },
	{ LIT("PROXY TCP5 192.0.2.7 198.51.100.1 1 2\r\n"), "protocol" },
	{ LIT("PROXY TCP4 192.0.2.7 198.51.100.1 1\r\n"), "fields" },
	{ LIT("PROXY TCP4 192.0.2.7 198.51.100.1 1 2 3\r\n"), "fields" },
	{ LIT("PROXY TCP4 192.0.2.7  198.51.100.1 1 2\r\n"), "fields" },
	{ LIT("PROXY TCP4 192.0.2.7 198.51.100.1  2\r\n"), "port" },
	{ LIT("PROXY TCP4 2001:db8::7 198.51.100.1 1 2\r\n"), "address" },
	{ LIT("PROXY TCP6 192.0.2.7 ::1 1 2\r\n"), "address" },
	{ LIT("PROXY TCP4 192.0.2.7 198.51.100.1 65536 2\r\n"), "port" },
	{ LIT("PROXY TCP4 192.0.2.7 198.51.100.1 0143 2\r\n"), "port" },
	{ LIT("PROXY TCP4 192.0.2.7 198.51.100.1 -1 2\r\n"), "port" },
	{ LIT("PROXY TCP4 192.0.2.7 198.51.100.1 1 \r\n"), "port" },
	{ LIT("PROXY TCP4 192.0.2.7 198.51.100.1 1 2\n"), "CRLF" },
	{ LIT("PROXY TCP4 192.0.2.7 198.51.100.1 1 2\rx"), "CR without" },
	{ LIT("PROXY TCP4 192.0.2.7\t198.51.100.1 1 2\r\n"), "character" },
	{ LIT("PROXY \r\n"), "protocol" },
	/* 108 bytes without an end */
	{ LIT("PROXY UNKNOWN xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"),
	    "107" },
	{ LIT("\r\n\r\n\0\r\nQUIX\n\x21\x11\x00\x0c" V4ADDRS), "signature" },
	{ LIT("\r\n\r\nHELLO"), "signature" },
	{ LIT(SIG "\x11\x11\x00\x0c" V4ADDRS), "version" },
	{ LIT(SIG "\x22\x11\x00\x0c" V4ADDRS), "command" },
	{ LIT(SIG "\x21\x41\x00\x0c" V4ADDRS), "family" },
	{ LIT(SIG "\x21\x12\x00\x0c" V4ADDRS), "stream" },
	{ LIT(SIG "\x21\x21\x00\x0c" V4ADDRS), "too short" },
	{ LIT(SIG "\x21\x11\x08\x00"), "longer than 2048" },
	{ LIT(SIG "\x21\x11\xff\xff"), "longer than 2048" },
	{ LIT(SIG "\x21\x11\x00\x0e" V4ADDRS "\x04\x00"), "truncated TLV" },
	{ LIT(SIG "\x21\x11\x00\x0f" V4ADDRS "\x04\x00\x05"), "TLV longer" },
};

static void
check_good(const struct good *g, const struct proxyp_result *r)
{
	ck_assert_int_eq(r->local, g->local);
	ck_assert_int_eq(r->version, g->data[0] == 'P' ? 1 : 2);
	if (g->local)
		return;
	ck_assert_str_eq(r->src, g->src);
	ck_assert_str_eq(r->dst, g->dst);
	ck_assert_int_eq(r->sport, g->sport);
	ck_assert_int_eq(r->dport, g->dport);
}

START_TEST(test_good)
{
	const struct good *g = &good[_i];
	struct proxyp_result r;
	const char *err = NULL;
	char more[PROXYP_MAX + 64];
	size_t i;

	ck_assert_int_eq(proxyp_parse(g->data, g->len, &r, &err), (int)g->len);
	check_good(g, &r);
	/* every proper prefix asks for more */
	for (i = 0; i < g->len; i++)
		ck_assert_int_eq(proxyp_parse(g->data, i, &r, &err), 0);
	/* what follows is not looked at */
	memcpy(more, g->data, g->len);
	memcpy(more + g->len, "a1 CAPABILITY\r\n\r\n\r\n", 19);
	ck_assert_int_eq(proxyp_parse(more, g->len + 19, &r, &err),
	    (int)g->len);
	check_good(g, &r);
}
END_TEST

START_TEST(test_bad)
{
	const struct bad *b = &bad[_i];
	struct proxyp_result r;
	const char *err = NULL;

	ck_assert_int_eq(proxyp_parse(b->data, b->len, &r, &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, b->why) != NULL, "'%s' lacks '%s'", err,
	    b->why);
}
END_TEST

/* v2 with a Unix address block (216 bytes): the socket's addresses */
START_TEST(test_v2_unix)
{
	unsigned char b[16 + 216];
	struct proxyp_result r;
	const char *err;

	memset(b, 'x', sizeof(b));
	memcpy(b, SIG "\x21\x31\x00\xd8", 16);
	ck_assert_int_eq(proxyp_parse(b, sizeof(b), &r, &err), (int)sizeof(b));
	ck_assert_int_eq(r.local, 1);
	ck_assert_int_eq(proxyp_parse(b, sizeof(b) - 1, &r, &err), 0);
}
END_TEST

/* the largest v2 header taken, with one TLV filling it */
START_TEST(test_v2_max)
{
	unsigned char b[PROXYP_MAX];
	size_t tlv = PROXYP_V2_MAX_LEN - 12 - 3;
	struct proxyp_result r;
	const char *err;

	memset(b, 0, sizeof(b));
	memcpy(b, SIG "\x21\x11", 14);
	b[14] = PROXYP_V2_MAX_LEN >> 8;
	b[15] = PROXYP_V2_MAX_LEN & 0xff;
	memcpy(b + 16, V4ADDRS, 12);
	b[28] = 0xe0;
	b[29] = (unsigned char)(tlv >> 8);
	b[30] = (unsigned char)tlv;
	ck_assert_int_eq(proxyp_parse(b, sizeof(b), &r, &err), PROXYP_MAX);
	ck_assert_str_eq(r.src, "192.0.2.7");
	b[15]++;
	ck_assert_int_eq(proxyp_parse(b, sizeof(b), &r, &err), -1);
}
END_TEST

/* the reader, fed one byte at a time, leaves the following bytes */
START_TEST(test_read_bytewise)
{
	const struct good *g = &good[_i];
	static const char after[] = "a1 LOGIN ann pw\r\n";
	struct proxyp_reader rd;
	struct proxyp_result r;
	const char *err = NULL;
	char rest[64];
	size_t i;
	int sv[2], n = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	rd.len = 0;
	for (i = 0; i < g->len; i++) {
		ck_assert_int_eq(proxyp_read(&rd, sv[1], &r, &err), 0);
		ck_assert_int_eq(write(sv[0], g->data + i, 1), 1);
		if (i + 1 == g->len)
			ck_assert_int_eq(write(sv[0], after, sizeof(after) - 1),
			    (int)sizeof(after) - 1);
		n = proxyp_read(&rd, sv[1], &r, &err);
		ck_assert_int_eq(n, i + 1 == g->len);
	}
	check_good(g, &r);
	ck_assert_int_eq(recv(sv[1], rest, sizeof(rest), MSG_DONTWAIT),
	    (int)sizeof(after) - 1);
	ck_assert_int_eq(memcmp(rest, after, sizeof(after) - 1), 0);
	fd_close(sv[0]);
	fd_close(sv[1]);
}
END_TEST

/* all at once, with the client's first bytes in the same segment */
START_TEST(test_read_wait)
{
	const struct good *g = &good[_i];
	struct proxyp_result r;
	const char *err = NULL;
	char rest[64];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[0], g->data, g->len), (int)g->len);
	ck_assert_int_eq(write(sv[0], SIG, 12), 12);
	ck_assert_int_eq(proxyp_read_wait(sv[1], 5000, &r, &err), 0);
	check_good(g, &r);
	ck_assert_int_eq(recv(sv[1], rest, sizeof(rest), MSG_DONTWAIT), 12);
	ck_assert_int_eq(memcmp(rest, SIG, 12), 0);
	fd_close(sv[0]);
	fd_close(sv[1]);
}
END_TEST

START_TEST(test_read_errors)
{
	struct proxyp_result r;
	const char *err = NULL;
	int sv[2];

	/* nothing in time */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(proxyp_read_wait(sv[1], 50, &r, &err), -1);
	ck_assert_str_eq(err, "no PROXY header in time");
	/* half a header in time */
	ck_assert_int_eq(write(sv[0], "PROXY TCP4 ", 11), 11);
	ck_assert_int_eq(proxyp_read_wait(sv[1], 50, &r, &err), -1);
	ck_assert_str_eq(err, "PROXY header incomplete in time");
	fd_close(sv[0]);
	fd_close(sv[1]);
	/* the peer goes away mid-header */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[0], "PROXY TCP4 ", 11), 11);
	fd_close(sv[0]);
	ck_assert_int_eq(proxyp_read_wait(sv[1], 5000, &r, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "connection closed"));
	fd_close(sv[1]);
	/* garbage is refused at once */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[0], "GET / HTTP/1.0\r\n", 16), 16);
	ck_assert_int_eq(proxyp_read_wait(sv[1], 5000, &r, &err), -1);
	ck_assert_str_eq(err, "not a PROXY header");
	fd_close(sv[0]);
	fd_close(sv[1]);
}
END_TEST

static const struct {
	const char *addr;
	const char *nets;
	int want;
} trusted[] = {
	{ "10.1.2.3", "10.0.0.0/8", 1 },
	{ "10.1.2.3", "192.0.2.0/24, 10.1.2.3", 1 },
	{ "10.1.2.3", "192.0.2.0/24 10.1.2.4", 0 },
	{ "10.1.2.3", "10.1.2.99/24", 1 },
	{ "::ffff:10.1.2.3", "10.0.0.0/8", 1 },
	{ "2001:db8::5", "2001:db8::/32", 1 },
	{ "2001:db8::5", "10.0.0.0/8 ::1", 0 },
	{ "127.0.0.1", "", 0 },
	{ "127.0.0.1", "0.0.0.0/0", 1 },
	{ "unix", "0.0.0.0/0 ::/0", 0 },
	{ "127.0.0.1", "127.0.0.0/8 bogus", -1 },
	{ "127.0.0.1", "127.0.0.0/33", -1 },
};

START_TEST(test_trusted)
{
	const char *err = NULL;

	ck_assert_int_eq(proxyp_trusted(trusted[_i].addr, trusted[_i].nets,
			     &err),
	    trusted[_i].want);
	if (trusted[_i].want < 0)
		ck_assert_ptr_nonnull(strstr(err, "proxy_trusted"));
}
END_TEST

/* proxy_protocol for one service ("<service>_proxy_protocol", Cyrus's
 * per-service form) or all */
START_TEST(test_service_key)
{
	static const char conf[] = "proxy_protocol: no\n"
				   "imaps_proxy_protocol: yes\n"
				   "lb_proxy_trusted: 10.0.0.0/8\n";
	struct err cerr;

	ck_assert_int_eq(cfg_load_text("t", conf, sizeof(conf) - 1, NULL,
			     &cerr),
	    0);
	ck_assert_int_eq(proxyp_enabled("imaps"), 1);
	ck_assert_int_eq(proxyp_enabled("imap"), 0);
	ck_assert_str_eq(cfg_service_str("lb", "proxy_trusted"), "10.0.0.0/8");
	ck_assert_str_eq(cfg_service_str("imap", "proxy_trusted"), "");
	ck_assert_int_eq(cfg_set("proxy_protocol", "yes", &cerr), 0);
	ck_assert_int_eq(proxyp_enabled("imap"), 1);
	/* a per-service value is checked against the key's type */
	ck_assert_int_eq(cfg_load_text("t", "imap_proxy_protocol: maybe\n", 27,
			     NULL, &cerr),
	    -1);
}
END_TEST

static int ev_done;
static char ev_err[128];

static void
ev_fn(const char *err, void *ctx)
{
	ev_done++;
	(void)snprintf(ev_err, sizeof(ev_err), "%s", err ? err : "");
	(void)ctx;
}

/* ev_wait - run the loop until ev_fn was called, at most ~5 s */
static void
ev_wait(void)
{
	int i;

	for (i = 0; i < 500 && !ev_done; i++)
		ev_run_once(10);
}

/* the event-loop reader: a header in two parts, what follows kept */
START_TEST(test_ev_accept)
{
	struct err cerr;
	char addr[64] = "127.0.0.9", rest[32];
	int sv[2], port = 1;

	ev_init();
	/* a deadline far enough not to pass while the header is sent (it
	 * did under valgrind: the first half alone counted as a timeout) */
	ck_assert_int_eq(cfg_load_text("t",
			     "proxy_protocol: yes\n"
			     "proxy_trusted: 127.0.0.0/8\nproxy_timeout: "
			     "60s\n",
			     66, NULL, &cerr),
	    0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
			     sv),
	    0);
	ck_assert_int_eq(write(sv[0], "PROXY TCP4 192.0.2.", 19), 19);
	proxyp_ev_accept(sv[1], "imaps", addr, sizeof(addr), &port, ev_fn,
	    NULL);
	ck_assert_int_eq(ev_done, 0);
	ev_run_once(10);
	ck_assert_int_eq(ev_done, 0);
	ck_assert_int_eq(write(sv[0], "7 192.0.2.1 5 993\r\nx1", 21), 21);
	ev_wait();
	ck_assert_int_eq(ev_done, 1);
	ck_assert_str_eq(ev_err, "");
	ck_assert_str_eq(addr, "192.0.2.7");
	ck_assert_int_eq(port, 5);
	ck_assert_int_eq(read(sv[1], rest, sizeof(rest)), 2);
	/* nothing more: the deadline */
	ck_assert_int_eq(cfg_load_text("t",
			     "proxy_protocol: yes\n"
			     "proxy_trusted: 127.0.0.0/8\nproxy_timeout: "
			     "200ms\n",
			     68, NULL, &cerr),
	    0);
	ev_done = 0;
	(void)snprintf(addr, sizeof(addr), "127.0.0.9");
	proxyp_ev_accept(sv[1], "imaps", addr, sizeof(addr), &port, ev_fn,
	    NULL);
	ev_wait();
	ck_assert_int_eq(ev_done, 1);
	ck_assert_str_eq(ev_err, "no PROXY header in time");
	/* garbage */
	ev_done = 0;
	ck_assert_str_eq(addr, "127.0.0.9");
	ck_assert_int_eq(write(sv[0], "a1 NOOP\r\n", 9), 9);
	proxyp_ev_accept(sv[1], "imaps", addr, sizeof(addr), &port, ev_fn,
	    NULL);
	ev_wait();
	ck_assert_str_eq(ev_err, "not a PROXY header");
	/* untrusted and off: at once */
	ev_done = 0;
	(void)snprintf(addr, sizeof(addr), "192.0.2.50");
	proxyp_ev_accept(sv[1], "imaps", addr, sizeof(addr), &port, ev_fn,
	    NULL);
	ck_assert_int_eq(ev_done, 1);
	ck_assert_str_eq(ev_err,
	    "PROXY header from an address not in "
	    "proxy_trusted");
	ck_assert_int_eq(cfg_set("imaps_proxy_protocol", "no", &cerr), 0);
	proxyp_ev_accept(sv[1], "imaps", addr, sizeof(addr), &port, ev_fn,
	    NULL);
	ck_assert_int_eq(ev_done, 2);
	ck_assert_str_eq(ev_err, "");
	fd_close(sv[0]);
	fd_close(sv[1]);
}
END_TEST

CHECK_MAIN("proxyp", CHECK_OPTS(NULL, NULL, 10, 1),
    CHECK_LOOP(test_good, sizeof(good) / sizeof(good[0])),
    CHECK_LOOP(test_bad, sizeof(bad) / sizeof(bad[0])),
    CHECK_TEST(test_v2_unix), CHECK_TEST(test_v2_max),
    CHECK_LOOP(test_trusted, sizeof(trusted) / sizeof(trusted[0])),
    CHECK_TEST(test_service_key),
    CHECK_LOOP(test_read_bytewise, sizeof(good) / sizeof(good[0])),
    CHECK_LOOP(test_read_wait, sizeof(good) / sizeof(good[0])),
    CHECK_TEST(test_read_errors), CHECK_TEST(test_ev_accept))

/*
 * check_imapurl - unit tests for the IMAP URL parser (lib/imap/imapurl,
 * RFC 5092 as CATENATE takes URLs).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "imapurl.h"

static const struct {
	const char *url;
	const char *user, *host;
	unsigned port;
	const char *mailbox;
	uint32_t uidvalidity, uid;
	const char *section;
	int partial;
	uint32_t poff, plen;
	int urlauth;
} good[] = {
	{ "/INBOX;UIDVALIDITY=385759045/;UID=20", NULL, NULL, 0, "INBOX",
	    385759045, 20, NULL, 0, 0, 0, 0 },
	{ "/INBOX/;UID=20/;SECTION=1.MIME", NULL, NULL, 0, "INBOX", 0, 20,
	    "1.MIME", 0, 0, 0, 0 },
	{ "imap://fred@example.com/a/b;UIDVALIDITY=4294967295/;uid=7", "fred",
	    "example.com", 0, "a/b", 4294967295U, 7, NULL, 0, 0, 0, 0 },
	{ "IMAP://fred;AUTH=*@Example.COM:143/a%2Fb%20c/;UID=1", "fred",
	    "Example.COM", 143, "a/b c", 0, 1, NULL, 0, 0, 0, 0 },
	{ "imap://;AUTH=GSSAPI@[::1]:993/Sent/;UID=3/;PARTIAL=5.10", NULL,
	    "[::1]", 993, "Sent", 0, 3, NULL, 1, 5, 10, 0 },
	{ "//host/Sent/;UID=3/;SECTION=HEADER.FIELDS%20(From%20To)/"
	  ";PARTIAL=0",
	    NULL, "host", 0, "Sent", 0, 3, "HEADER.FIELDS (From To)", 1, 0, 0,
	    0 },
	{ ";UID=9", NULL, NULL, 0, NULL, 0, 9, NULL, 0, 0, 0, 0 },
	{ ";Uid=9/;Section=2/;Partial=4.4", NULL, NULL, 0, NULL, 0, 9, "2", 1,
	    4, 4, 0 },
	{ "Drafts;UIDVALIDITY=1/;UID=2", NULL, NULL, 0, "Drafts", 1, 2, NULL, 0,
	    0, 0, 0 },
	{ "/%C3%A9t%C3%A9/;UID=5", NULL, NULL, 0, "\xc3\xa9t\xc3\xa9", 0, 5,
	    NULL, 0, 0, 0, 0 },
	{ "/INBOX/;UID=5;URLAUTH=anonymous:internal:0123", NULL, NULL, 0,
	    "INBOX", 0, 5, NULL, 0, 0, 0, 1 },
	{ "/INBOX/;UID=5/;SECTION=1;EXPIRE=2026-01-01T00:00:00Z;URLAUTH=x",
	    NULL, NULL, 0, "INBOX", 0, 5, "1", 0, 0, 0, 1 },
};

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

START_TEST(test_imapurl_parse_good)
{
	struct imapurl u;
	const char *err = NULL;

	ck_assert_msg(imapurl_parse(good[_i].url, strlen(good[_i].url), &u,
			  &err) == 0,
	    "%s: %s", good[_i].url, err);
	ck_assert(same(u.user, good[_i].user));
	ck_assert(same(u.host, good[_i].host));
	ck_assert_uint_eq(u.port, good[_i].port);
	ck_assert(same(u.mailbox, good[_i].mailbox));
	ck_assert_uint_eq(u.uidvalidity, good[_i].uidvalidity);
	ck_assert_uint_eq(u.uid, good[_i].uid);
	ck_assert(same(u.section, good[_i].section));
	ck_assert_int_eq(u.partial, good[_i].partial);
	ck_assert_uint_eq(u.poff, good[_i].poff);
	ck_assert_uint_eq(u.plen, good[_i].plen);
	ck_assert_int_eq(u.urlauth, good[_i].urlauth);
	imapurl_free(&u);
	ck_assert_ptr_null(u.mailbox);
}
END_TEST

static const char *const bad[] = {
	"",
	"/",
	"/INBOX", /* no message */
	"/INBOX;UIDVALIDITY=3",
	"/INBOX;UIDVALIDITY=3;UID=1", /* "/" missing */
	"/INBOX;UID=1",
	"/;UID=1",	 /* empty mailbox */
	"/INBOX/;UID=0", /* nz-number */
	"/INBOX/;UID=01",
	"/INBOX/;UID=4294967296", /* past 32 bits */
	"/INBOX;UIDVALIDITY=0/;UID=1",
	"/INBOX/;UID=",
	"/INBOX/;UID=1x",
	"/INBOX/;UID=1/;SECTION=",
	"/INBOX/;UID=1/;PARTIAL=",
	"/INBOX/;UID=1/;PARTIAL=1.0", /* length is nz */
	"/INBOX/;UID=1/;PARTIAL=4294967296",
	"/INBOX/;UID=1/;SECTION=1/;FOO=2",
	"/INBOX/;UID=1;FOO",
	"/IN BOX/;UID=1", /* a raw space */
	"/IN\"BOX/;UID=1",
	"/INBOX%/;UID=1", /* broken escapes */
	"/INBOX%4/;UID=1",
	"/INBOX%zz/;UID=1",
	"/IN%00BOX/;UID=1", /* an escaped NUL */
	"/INBOX/;UID=1/;SECTION=1%00",
	"imap://",
	"imap://host",
	"imap://host/",
	"imap://host/;UID=1",
	"imap://@host/INBOX/;UID=1", /* empty user */
	"imap://u;AUTH=@host/INBOX/;UID=1",
	"imap://u;FOO=x@host/INBOX/;UID=1",
	"imap:///INBOX/;UID=1", /* no host */
	"imap://host:99999/INBOX/;UID=1",
	"imap://host:/INBOX/;UID=1",
	"imap://host:1x/INBOX/;UID=1",
	"imap://[]/INBOX/;UID=1",
	"imap://[zz]/INBOX/;UID=1",
	"imap://h[/INBOX/;UID=1",
	"http://host/INBOX/;UID=1",
	";SECTION=1", /* no message in the base */
	";UID=1 ",
};

START_TEST(test_imapurl_parse_bad)
{
	struct imapurl u;
	const char *err = NULL;

	ck_assert_msg(imapurl_parse(bad[_i], strlen(bad[_i]), &u, &err) == -1,
	    "%s parsed", bad[_i]);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_null(u.user);
	ck_assert_ptr_null(u.host);
	ck_assert_ptr_null(u.mailbox);
	ck_assert_ptr_null(u.section);
}
END_TEST

/* the length given is what is parsed: bytes past it (or a NUL inside)
 * are not read as part of the URL */
START_TEST(test_imapurl_parse_length)
{
	static const char s[] = "/INBOX/;UID=12/;SECTION=1";
	struct imapurl u;
	const char *err = NULL;
	char *big;

	ck_assert_int_eq(imapurl_parse(s, 13, &u, &err), 0);
	ck_assert_uint_eq(u.uid, 1);
	ck_assert_ptr_null(u.section);
	imapurl_free(&u);
	ck_assert_int_eq(imapurl_parse("/IN\0X/;UID=1", 12, &u, &err), -1);
	big = malloc(IMAPURL_MAX_LEN + 2);
	memset(big, 'a', IMAPURL_MAX_LEN + 1);
	memcpy(big, "/a/;UID=1/;SECTION=", 19);
	ck_assert_int_eq(imapurl_parse(big, IMAPURL_MAX_LEN + 1, &u, &err), -1);
	free(big);
}
END_TEST

CHECK_MAIN("imapurl", NULL,
    CHECK_LOOP(test_imapurl_parse_good, sizeof(good) / sizeof(good[0])),
    CHECK_LOOP(test_imapurl_parse_bad, sizeof(bad) / sizeof(bad[0])),
    CHECK_TEST(test_imapurl_parse_length))

/*
 * check_tlsd - unit tests for tlsd's pure configuration logic
 * (tlsd/tlsd_conf.c): tls_versions, tls_client_certs, the SNI table.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "check_run.h"
#include "tlsd.h"

static const struct {
	const char *s;
	int ok, min, max;
} versions[] = {
	{ "tls1_2 tls1_3", 1, TLS1_2_VERSION, TLS1_3_VERSION },
	{ "tls1_3", 1, TLS1_3_VERSION, TLS1_3_VERSION },
	{ "TLS1_2", 1, TLS1_2_VERSION, TLS1_2_VERSION },
	{ "tls1_3,tls1_2", 1, TLS1_2_VERSION, TLS1_3_VERSION },
	{ "tls1_0 tls1_1 tls1_2 tls1_3", 1, TLS1_VERSION, TLS1_3_VERSION },
	{ "tls1_1 tls1_3", 0, 0, 0 }, /* a gap */
	{ "", 0, 0, 0 },
	{ "ssl3", 0, 0, 0 },
	{ "tls1_2 tls1_4", 0, 0, 0 },
};

START_TEST(test_versions)
{
	const char *err = NULL;
	int lo = 0, hi = 0, r;

	r = tlsd_conf_versions(versions[_i].s, &lo, &hi, &err);
	if (!versions[_i].ok) {
		ck_assert_int_eq(r, -1);
		ck_assert_ptr_nonnull(err);
		ck_assert(strstr(err, "tls_versions") != NULL);
		return;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(lo, versions[_i].min);
	ck_assert_int_eq(hi, versions[_i].max);
}
END_TEST

START_TEST(test_client_certs)
{
	ck_assert_int_eq(tlsd_conf_client_certs("off"), 0);
	ck_assert_int_eq(tlsd_conf_client_certs(NULL), 0);
	ck_assert_int_eq(tlsd_conf_client_certs("optional"), 1);
	ck_assert_int_eq(tlsd_conf_client_certs("Require"), 2);
	ck_assert_int_eq(tlsd_conf_client_certs("maybe"), -1);
}
END_TEST

START_TEST(test_sni_parse)
{
	struct tlsd_sni_tab t = { NULL, 0 };
	const char *err;

	ck_assert_int_eq(tlsd_conf_sni_parse("Mail.Example.COM=/a.crt,/a.key "
					     "\t*.example.org=/b.pem",
			     &t, &err),
	    0);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_str_eq(t.e[0].name, "mail.example.com");
	ck_assert_str_eq(t.e[0].cert, "/a.crt");
	ck_assert_str_eq(t.e[0].key, "/a.key");
	ck_assert_str_eq(t.e[1].name, "*.example.org");
	ck_assert_str_eq(t.e[1].key, "/b.pem"); /* key in the cert file */
	ck_assert_ptr_null(t.e[0].ocsp);
	ck_assert_ptr_null(t.e[1].ocsp);
	ck_assert_int_eq(tlsd_conf_sni_parse(NULL, &t, &err), 0);
	ck_assert_uint_eq(t.n, 2);
	/* an entry's own OCSP response */
	ck_assert_int_eq(
	    tlsd_conf_sni_parse("c.example.net=/c.crt,/c.key,/c.der", &t, &err),
	    0);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_str_eq(t.e[2].cert, "/c.crt");
	ck_assert_str_eq(t.e[2].key, "/c.key");
	ck_assert_str_eq(t.e[2].ocsp, "/c.der");
	tlsd_conf_sni_free(&t);
	ck_assert_uint_eq(t.n, 0);
}
END_TEST

static const char *bad_sni[] = {
	"mail.example.com",
	"=/a.crt",
	"mail.example.com=",
	"a.b=/x,",
	"a.b=/x,/y,",
	"a.b=/x,,/z",
	"a.b=/x,/y,/z,/w",
	"bad_name=/x",
	"*.=/x",
	"a..b.=/x",
	"*=/x",
};

START_TEST(test_sni_bad)
{
	struct tlsd_sni_tab t = { NULL, 0 };
	const char *err = NULL;

	ck_assert_int_eq(tlsd_conf_sni_parse(bad_sni[_i], &t, &err), -1);
	ck_assert(strstr(err, "tls_sni_certs") != NULL);
	tlsd_conf_sni_free(&t);
}
END_TEST

START_TEST(test_sni_find)
{
	struct tlsd_sni_tab t = { NULL, 0 };
	const char *err;

	ck_assert_int_eq(tlsd_conf_sni_parse("*.example.org=/w "
					     "imap.example.org=/i "
					     "mail.example.com=/m",
			     &t, &err),
	    0);
	ck_assert_int_eq(tlsd_conf_sni_find(&t, "imap.example.org"), 1);
	ck_assert_int_eq(tlsd_conf_sni_find(&t, "IMAP.Example.Org"), 1);
	ck_assert_int_eq(tlsd_conf_sni_find(&t, "pop.example.org"), 0);
	/* one label only */
	ck_assert_int_eq(tlsd_conf_sni_find(&t, "a.b.example.org"), -1);
	ck_assert_int_eq(tlsd_conf_sni_find(&t, "example.org"), -1);
	ck_assert_int_eq(tlsd_conf_sni_find(&t, "mail.example.com"), 2);
	ck_assert_int_eq(tlsd_conf_sni_find(&t, "x.example.com"), -1);
	ck_assert_int_eq(tlsd_conf_sni_find(&t, ""), -1);
	ck_assert_int_eq(tlsd_conf_sni_find(&t, NULL), -1);
	tlsd_conf_sni_free(&t);
}
END_TEST

CHECK_MAIN("tlsd", CHECK_OPTS(NULL, NULL, 10, 1),
    CHECK_LOOP(test_versions, sizeof(versions) / sizeof(versions[0])),
    CHECK_TEST(test_client_certs), CHECK_TEST(test_sni_parse),
    CHECK_LOOP(test_sni_bad, sizeof(bad_sni) / sizeof(bad_sni[0])),
    CHECK_TEST(test_sni_find))

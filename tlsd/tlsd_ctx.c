/*
 * tlsd_ctx - the OpenSSL contexts built from imapd.conf: the default one
 * (tls_server_cert, tls_server_key) and one per SNI entry
 * (tls_sni_certs), all with the same protocol settings: tls_versions
 * (default TLS 1.2 and 1.3), tls_ciphers (Mozilla "intermediate" by
 * default), tls_ciphersuites (TLS 1.3; OpenSSL's by default),
 * tls_prefer_server_ciphers, client certificates (tls_client_certs,
 * tls_client_ca_file), no renegotiation, no compression, no session
 * cache (tickets only, tlsd_ticket); the default context staples
 * tls_ocsp_file (tlsd_ocsp).
 *
 * A missing, unreadable, expired or mismatched certificate or key fails
 * the load with an error naming the file: fatal at start, logged and the
 * running contexts kept on a reload (SIGHUP).  Connections keep the
 * context they started with (OpenSSL counts references); the SNI
 * contexts of a set are freed with its default context.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cfg.h"
#include "log.h"
#include "tlsd.h"
#include "xalloc.h"

/* the SNI part of a set, hung on its default context */
struct ctx_set {
	struct tlsd_sni_tab sni;
	SSL_CTX **sni_ctx;
};

static SSL_CTX *ctx_cur;
static int ctx_set_idx = -1;
static char ctx_err[1024];

const char *
tlsd_ctx_reason(const char *fallback)
{
	static char why[256];
	/* the first error says what went wrong; later ones where */
	unsigned long e = ERR_peek_error();
	const char *r;

	if (e == 0) {
		ERR_clear_error();
		return fallback;
	}
	r = ERR_reason_error_string(e);
	if (r != NULL)
		(void)snprintf(why, sizeof(why), "%s", r);
	else
		ERR_error_string_n(e, why, sizeof(why));
	ERR_clear_error();
	return why;
}

/* ctx_set_free - ex_data free hook: the default context is gone */
static void
ctx_set_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	struct ctx_set *set = ptr;
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; set->sni_ctx != NULL && i < set->sni.n; i++)
		SSL_CTX_free(set->sni_ctx[i]);
	free(set->sni_ctx);
	tlsd_conf_sni_free(&set->sni);
	free(set);
}

/* ctx_servername - SNI: switch to the entry's certificate */
static int
ctx_servername(SSL *ssl, int *al, void *arg)
{
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	struct ctx_set *set =
	    SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_set_idx);
	int i;

	if (set == NULL || name == NULL)
		return SSL_TLSEXT_ERR_OK;
	i = tlsd_conf_sni_find(&set->sni, name);
	if (i >= 0)
		SSL_set_SSL_CTX(ssl, set->sni_ctx[i]);
	return SSL_TLSEXT_ERR_OK;
}

/* ctx_readable - can we open path? */
static int
ctx_readable(const char *what, const char *path, const char **error_r)
{
	FILE *f = fopen(path, "r");

	if (f != NULL) {
		fclose(f);
		return 0;
	}
	(void)snprintf(ctx_err, sizeof(ctx_err), "cannot read TLS %s %s: %s",
	    what, path, strerror(errno));
	*error_r = ctx_err;
	return -1;
}

/* ctx_cert - load and check a certificate and its key */
static int
ctx_cert(SSL_CTX *ctx, const char *cert, const char *key, const char **error_r)
{
	X509 *x;

	if (ctx_readable("certificate", cert, error_r) < 0 ||
	    ctx_readable("key", key, error_r) < 0)
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		(void)snprintf(ctx_err, sizeof(ctx_err),
		    "TLS certificate %s: %s", cert,
		    tlsd_ctx_reason("not a PEM certificate"));
		*error_r = ctx_err;
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_error()) != X509_R_KEY_VALUES_MISMATCH) {
		(void)snprintf(ctx_err, sizeof(ctx_err), "TLS key %s: %s", key,
		    tlsd_ctx_reason("not a PEM private key"));
		*error_r = ctx_err;
		return -1;
	}
	if (ERR_peek_error() != 0 || SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		(void)snprintf(ctx_err, sizeof(ctx_err),
		    "TLS key %s does not match "
		    "certificate %s",
		    key, cert);
		*error_r = ctx_err;
		return -1;
	}
	x = SSL_CTX_get0_certificate(ctx);
	if (x != NULL && X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
		(void)snprintf(ctx_err, sizeof(ctx_err),
		    "TLS certificate %s has "
		    "expired",
		    cert);
		*error_r = ctx_err;
		return -1;
	}
	return 0;
}

/* ctx_verify - tls_client_certs and tls_client_ca_file */
static int
ctx_verify(SSL_CTX *ctx, const char **error_r)
{
	const char *ca = cfg_str("tls_client_ca_file");
	int mode = tlsd_conf_client_certs(cfg_str("tls_client_certs"));
	STACK_OF(X509_NAME) * names;

	if (mode < 0) {
		*error_r = "tls_client_certs: off, optional or require";
		return -1;
	}
	if (mode == 0)
		return 0;
	if (ca == NULL || *ca == '\0') {
		*error_r = "tls_client_certs needs tls_client_ca_file";
		return -1;
	}
	if (ctx_readable("client CA file", ca, error_r) < 0)
		return -1;
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 ||
	    (names = SSL_load_client_CA_file(ca)) == NULL) {
		(void)snprintf(ctx_err, sizeof(ctx_err),
		    "TLS client CA file %s: %s", ca,
		    tlsd_ctx_reason("no certificate in it"));
		*error_r = ctx_err;
		return -1;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx,
	    SSL_VERIFY_PEER | (mode == 2 ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
	    NULL);
	return 0;
}

/*
 * ctx_suites - tls_ciphersuites: every name must be a TLS 1.3 suite this
 * OpenSSL knows (SSL_CTX_set_ciphersuites skips unknown names without a
 * word, and a list of typos would leave TLS 1.3 without a suite); empty
 * or unset keeps OpenSSL's list
 */
static int
ctx_suites(SSL_CTX *ctx, const char **error_r)
{
	const char *list = cfg_str("tls_ciphersuites");
	char *copy, *w, *save = NULL;
	const char *bad = NULL;
	STACK_OF(SSL_CIPHER) * sk;
	int i, found;

	if (list == NULL || *list == '\0')
		return 0;
	copy = xstrdup(list);
	for (w = strtok_r(copy, ":", &save); w != NULL && bad == NULL;
	     w = strtok_r(NULL, ":", &save)) {
		found = 0;
		if (SSL_CTX_set_ciphersuites(ctx, w) == 1 &&
		    (sk = SSL_CTX_get_ciphers(ctx)) != NULL)
			for (i = 0; i < sk_SSL_CIPHER_num(sk); i++)
				if (strcmp(SSL_CIPHER_get_name(
					       sk_SSL_CIPHER_value(sk, i)),
					w) == 0)
					found = 1;
		if (!found)
			bad = w;
	}
	if (bad == NULL && strchr(list, ' ') == NULL &&
	    SSL_CTX_set_ciphersuites(ctx, list) == 1) {
		free(copy);
		return 0;
	}
	(void)snprintf(ctx_err, sizeof(ctx_err),
	    "tls_ciphersuites '%s': %s%s%s", list,
	    bad != NULL ? "unknown TLS 1.3 cipher suite '"
			: "a list of TLS 1.3 suites separated by ':'",
	    bad != NULL ? bad : "", bad != NULL ? "'" : "");
	free(copy);
	ERR_clear_error();
	*error_r = ctx_err;
	return -1;
}

/* ctx_make - one context with the protocol settings and a certificate,
 * stapling the OCSP response in ocsp (NULL: none; sni: the entry's name,
 * NULL for the default certificate) */
static SSL_CTX *
ctx_make(const char *cert, const char *key, const char *ocsp, const char *sni,
    const char **error_r)
{
	char what[300], certname[300];

	static const unsigned char sid[] = "berth";
	const char *ciphers = cfg_str("tls_ciphers");
	SSL_CTX *ctx;
	int lo, hi;

	if (tlsd_conf_versions(cfg_str("tls_versions"), &lo, &hi, error_r) < 0)
		return NULL;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		*error_r = tlsd_ctx_reason("SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, lo);
	SSL_CTX_set_max_proto_version(ctx, hi);
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
		(cfg_bool("tls_prefer_server_ciphers")
			? SSL_OP_CIPHER_SERVER_PREFERENCE
			: 0));
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_info_callback(ctx, tlsd_relay_info);
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	SSL_CTX_set_dh_auto(ctx, 1); /* DHE suites: RFC 7919 groups */
	if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1 ||
	    (ciphers != NULL && *ciphers != '\0' &&
		SSL_CTX_set_cipher_list(ctx, ciphers) != 1)) {
		(void)snprintf(ctx_err, sizeof(ctx_err), "tls_ciphers '%s': %s",
		    ciphers ? ciphers : "", tlsd_ctx_reason("no cipher"));
		*error_r = ctx_err;
		SSL_CTX_free(ctx);
		return NULL;
	}
	(void)snprintf(what, sizeof(what), "%s%s%s",
	    sni ? "tls_sni_certs " : "", sni ? sni : "tls_ocsp_file",
	    sni ? " ocspfile" : "");
	(void)snprintf(certname, sizeof(certname), "%s%s",
	    sni ? "the certificate of " : "", sni ? sni : "tls_server_cert");
	if (ctx_suites(ctx, error_r) < 0 ||
	    ctx_cert(ctx, cert, key, error_r) < 0 ||
	    ctx_verify(ctx, error_r) < 0 ||
	    tlsd_ocsp_setup(ctx, ocsp, what, certname, error_r) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	tlsd_ticket_setup(ctx);
	return ctx;
}

/* ctx_sni - the SNI contexts of set; -1 *error_r */
static int
ctx_sni(struct ctx_set *set, const char **error_r)
{
	size_t i;

	if (tlsd_conf_sni_parse(cfg_str("tls_sni_certs"), &set->sni, error_r) <
	    0)
		return -1;
	set->sni_ctx = xcalloc(set->sni.n + 1, sizeof(*set->sni_ctx));
	for (i = 0; i < set->sni.n; i++) {
		set->sni_ctx[i] =
		    ctx_make(set->sni.e[i].cert, set->sni.e[i].key,
			set->sni.e[i].ocsp, set->sni.e[i].name, error_r);
		if (set->sni_ctx[i] == NULL)
			return -1;
	}
	return 0;
}

int
tlsd_ctx_load(const char **error_r)
{
	const char *cert = cfg_str("tls_server_cert"),
		   *key = cfg_str("tls_server_key");
	struct ctx_set *set;
	SSL_CTX *ctx;

	if (ctx_set_idx < 0)
		ctx_set_idx =
		    SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ctx_set_free);
	if (cert == NULL || *cert == '\0') {
		*error_r = "tls_server_cert is not set in imapd.conf";
		return -1;
	}
	if (key == NULL || *key == '\0')
		key = cert;
	set = xcalloc(1, sizeof(*set));
	if ((ctx = ctx_make(cert, key, cfg_str("tls_ocsp_file"), NULL,
		 error_r)) == NULL) {
		ctx_set_free(NULL, set, NULL, 0, 0, NULL);
		return -1;
	}
	if (ctx_sni(set, error_r) < 0) {
		ctx_set_free(NULL, set, NULL, 0, 0, NULL);
		SSL_CTX_free(ctx);
		return -1;
	}
	SSL_CTX_set_ex_data(ctx, ctx_set_idx, set);
	SSL_CTX_set_tlsext_servername_callback(ctx, ctx_servername);
	if (ctx_cur != NULL)
		SSL_CTX_free(ctx_cur); /* connections keep theirs */
	ctx_cur = ctx;
	return 0;
}

SSL_CTX *
tlsd_ctx_default(void)
{
	return ctx_cur;
}

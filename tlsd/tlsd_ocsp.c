/*
 * tlsd_ocsp - OCSP stapling (RFC 6066 8) from a file: tls_ocsp_file
 * holds a DER OCSP response for tls_server_cert, fetched by the operator
 * (for example "openssl ocsp -issuer ... -cert ... -url ... -respout"),
 * and is read again on every reload (SIGHUP), with the certificates.
 * Each tls_sni_certs entry may name its own response file
 * (name=cert,key,ocsp), checked and stapled in the same way for its
 * certificate.
 *
 * At load the response must parse, be "successful", cover the
 * certificate's serial number and not be past its nextUpdate; otherwise
 * the load fails naming the key and the file (fatal at start, the
 * running contexts kept on a reload).  It is stapled, to clients that ask
 * (status_request), only by the context it was loaded for: an SNI
 * certificate never gets the default certificate's response.  A response
 * that goes past its nextUpdate while running is no longer stapled
 * (logged once): an expired staple makes careful clients fail, a missing
 * one does not.
 *
 * Does not fetch responses itself (tlsd runs chrooted, without network
 * access to responders).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "tlsd.h"
#include "xalloc.h"

#define OCSP_MAX_FILE (64 * 1024)

/* the response of one context */
struct ocsp_staple {
	char *what; /* "tls_ocsp_file", or the SNI entry's */
	unsigned char *der;
	int len;
	time_t next; /* nextUpdate, 0: none given */
	int expired_logged;
};

static int ocsp_idx = -1;
static char ocsp_err[1200];

/* ocsp_free - ex_data free hook of a context */
static void
ocsp_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	struct ocsp_staple *o = ptr;

	if (o == NULL)
		return;
	free(o->what);
	free(o->der);
	free(o);
}

/* ocsp_fail - the error of a load, naming the setting and the file */
static int
ocsp_fail(const char *what, const char *path, const char *why,
    const char **error_r)
{
	(void)snprintf(ocsp_err, sizeof(ocsp_err), "%s %s: %s", what, path,
	    why);
	*error_r = ocsp_err;
	return -1;
}

/* ocsp_read - the whole file into *der_r; -1 with *error_r */
static int
ocsp_read(const char *what, const char *path, unsigned char **der_r, int *len_r,
    const char **error_r)
{
	unsigned char *b = xmalloc(OCSP_MAX_FILE + 1);
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		free(b);
		return ocsp_fail(what, path, strerror(errno), error_r);
	}
	n = fread(b, 1, OCSP_MAX_FILE + 1, f);
	fclose(f);
	if (n == 0 || n > OCSP_MAX_FILE) {
		free(b);
		return ocsp_fail(what, path,
		    n == 0 ? "empty" : "larger than 64 KB", error_r);
	}
	*der_r = b;
	*len_r = (int)n;
	return 0;
}

/* ocsp_single - the response's entry for leaf's serial, or NULL */
static OCSP_SINGLERESP *
ocsp_single(OCSP_BASICRESP *bs, X509 *leaf)
{
	const ASN1_INTEGER *want = X509_get0_serialNumber(leaf);
	ASN1_INTEGER *serial;
	OCSP_SINGLERESP *one;
	int i;

	for (i = 0; i < OCSP_resp_count(bs); i++) {
		one = OCSP_resp_get0(bs, i);
		serial = NULL;
		if (OCSP_id_get0_info(NULL, NULL, NULL, &serial,
			(OCSP_CERTID *)OCSP_SINGLERESP_get0_id(one)) == 1 &&
		    serial != NULL && ASN1_INTEGER_cmp(serial, want) == 0)
			return one;
	}
	return NULL;
}

/* ocsp_check - der is a good response for leaf (certname); its
 * nextUpdate */
static int
ocsp_check(const char *what, const char *path, const char *certname,
    const unsigned char *der, int len, X509 *leaf, time_t *next_r,
    const char **error_r)
{
	char nostatus[300];

	const unsigned char *p = der;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, len);
	OCSP_BASICRESP *bs = NULL;
	OCSP_SINGLERESP *one;
	ASN1_GENERALIZEDTIME *nextupd = NULL;
	struct tm tm;
	const char *why = NULL;
	int status, reason;

	*next_r = 0;
	if (resp == NULL || p != der + len)
		why = "not a DER OCSP response";
	else if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
		why = "the responder's answer is not \"successful\"";
	else if ((bs = OCSP_response_get1_basic(resp)) == NULL)
		why = "not a basic OCSP response";
	else if ((one = ocsp_single(bs, leaf)) == NULL) {
		(void)snprintf(nostatus, sizeof(nostatus),
		    "no status for the serial number of %s", certname);
		why = nostatus;
	} else {
		status =
		    OCSP_single_get0_status(one, &reason, NULL, NULL, &nextupd);
		if (nextupd != NULL && X509_cmp_current_time(nextupd) < 0)
			why = "expired (past its nextUpdate)";
		else if (nextupd != NULL && ASN1_TIME_to_tm(nextupd, &tm) == 1)
			*next_r = timegm(&tm);
		if (why == NULL && status == V_OCSP_CERTSTATUS_REVOKED)
			log_warn("%s %s says %s is REVOKED", what, path,
			    certname);
	}
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return why != NULL ? ocsp_fail(what, path, why, error_r) : 0;
}

/* ocsp_cb - a client asked for the certificate's status */
static int
ocsp_cb(SSL *ssl, void *arg)
{
	struct ocsp_staple *o =
	    SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ocsp_idx);
	unsigned char *copy;

	if (o == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	if (o->next != 0 && time(NULL) >= o->next) {
		if (!o->expired_logged++)
			log_warn("%s response expired; not stapled until a "
				 "fresh one is loaded (SIGHUP)",
			    o->what);
		return SSL_TLSEXT_ERR_NOACK;
	}
	/* OpenSSL frees what it is given */
	if ((copy = OPENSSL_memdup(o->der, (size_t)o->len)) == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, o->len) != 1) {
		OPENSSL_free(copy);
		return SSL_TLSEXT_ERR_NOACK;
	}
	return SSL_TLSEXT_ERR_OK;
}

int
tlsd_ocsp_setup(SSL_CTX *ctx, const char *path, const char *what,
    const char *certname, const char **error_r)
{
	struct ocsp_staple *o;
	X509 *leaf = SSL_CTX_get0_certificate(ctx);
	unsigned char *der;
	time_t next;
	int len;

	if (ocsp_idx < 0)
		ocsp_idx =
		    SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ocsp_free);
	SSL_CTX_set_tlsext_status_cb(ctx, ocsp_cb);
	if (path == NULL || *path == '\0')
		return 0;
	if (leaf == NULL)
		return ocsp_fail(what, path, "no certificate loaded", error_r);
	if (ocsp_read(what, path, &der, &len, error_r) < 0)
		return -1;
	if (ocsp_check(what, path, certname, der, len, leaf, &next, error_r) <
	    0) {
		free(der);
		return -1;
	}
	o = xcalloc(1, sizeof(*o));
	o->what = xstrdup(what);
	o->der = der;
	o->len = len;
	o->next = next;
	SSL_CTX_set_ex_data(ctx, ocsp_idx, o);
	return 0;
}

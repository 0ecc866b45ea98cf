/*
 * tlsd_selfsign - "tlsd -g": make a self-signed certificate where
 * tls_server_cert names one that does not exist yet, so that a new
 * installation serves IMAPS and STARTTLS on its first start (master.conf
 * runs it from START, before anything listens).  An existing certificate
 * is never touched: replace it with a real one and SIGHUP.
 *
 * The certificate is for servername (or the host name), localhost and
 * 127.0.0.1, ECDSA P-256, valid 825 days; the key goes to tls_server_key
 * (mode 0600), or into the certificate's file when that is unset.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cfg.h"
#include "log.h"
#include "tlsd.h"
#include "xalloc.h"

#define SELFSIGN_DAYS 825

/* ss_mkdirs - the directories above path */
static void
ss_mkdirs(const char *path)
{
	char *dir = xstrdup(path), *p;

	for (p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			log_fatal("mkdir %s: %m", dir);
		*p = '/';
	}
	free(dir);
}

/* ss_ext - add one v3 extension */
static void
ss_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (e == NULL || X509_add_ext(x, e, -1) != 1)
		log_fatal("certificate extension %s: %s", value,
		    tlsd_ctx_reason("failed"));
	X509_EXTENSION_free(e);
}

/* ss_make - a key and a self-signed certificate for name */
static X509 *
ss_make(const char *name, EVP_PKEY **key_r)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	unsigned char serial[16];
	BIGNUM *bn;
	char san[600];

	if (pk == NULL || x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		log_fatal("cannot make a key: %s", tlsd_ctx_reason("failed"));
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	X509_set_version(x, 2);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * SELFSIGN_DAYS);
	X509_set_pubkey(x, pk);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, n);
	(void)snprintf(san, sizeof(san), "DNS:%s%s,IP:127.0.0.1,IP:::1", name,
	    strcmp(name, "localhost") ? ",DNS:localhost" : "");
	ss_ext(x, NID_basic_constraints, "critical,CA:TRUE");
	ss_ext(x, NID_subject_key_identifier, "hash");
	ss_ext(x, NID_subject_alt_name, san);
	if (X509_sign(x, pk, EVP_sha256()) <= 0)
		log_fatal("cannot sign the certificate: %s",
		    tlsd_ctx_reason("failed"));
	*key_r = pk;
	return x;
}

/* ss_write - write path (mode) atomically with the PEM of key and/or x */
static void
ss_write(const char *path, int mode, EVP_PKEY *key, X509 *x)
{
	char tmp[1100];
	FILE *f;
	int fd, ok;

	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
		log_fatal("cannot write %s: %m", tmp);
	ok =
	    (key == NULL ||
		PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1) &&
	    (x == NULL || PEM_write_X509(f, x) == 1);
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
	if (fclose(f) != 0 || !ok || rename(tmp, path) < 0) {
		unlink(tmp);
		log_fatal("cannot write %s: %m", path);
	}
}

int
tlsd_selfsign(void)
{
	const char *cert = cfg_str("tls_server_cert"),
		   *key = cfg_str("tls_server_key"),
		   *name = cfg_str("servername");
	char host[256];
	EVP_PKEY *pk;
	X509 *x;

	if (cert == NULL || *cert == '\0')
		log_fatal("tls_server_cert is not set in imapd.conf");
	if (access(cert, F_OK) == 0)
		return 0;
	if (key != NULL && *key != '\0' && strcmp(key, cert) != 0 &&
	    access(key, F_OK) == 0)
		log_fatal("TLS key %s exists but certificate %s does not: "
			  "remove the key or give its certificate",
		    key, cert);
	if (name == NULL || *name == '\0') {
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		name = host;
	}
	x = ss_make(name, &pk);
	ss_mkdirs(cert);
	if (key != NULL && *key != '\0' && strcmp(key, cert) != 0) {
		ss_mkdirs(key);
		ss_write(key, 0600, pk, NULL);
		ss_write(cert, 0644, NULL, x);
	} else {
		ss_write(cert, 0600, pk, x);
	}
	log_info("made a self-signed certificate for %s in %s: clients will "
		 "warn about it until it is replaced by one a CA signed",
	    name, cert);
	X509_free(x);
	EVP_PKEY_free(pk);
	return 0;
}

/*
 * tlsd_ticket - session tickets that every tlsd process can decrypt, so
 * that a client resumes whichever process accepts it, without a shared
 * session cache.
 *
 * The keys are derived from one secret, <configdirectory>/tls_ticket.key
 * (32 random bytes, mode 0600, made by the first tlsd that finds none),
 * and the wall clock: time is cut in periods of tls_session_timeout, and
 * the keys of period p are HMAC-SHA256(secret, label || p).  A ticket is
 * issued under the current period's keys and accepted under the current
 * or the previous one's (then renewed); so keys rotate by themselves, the
 * same in every process, and a ticket lives between one and two periods
 * (OpenSSL also refuses a session older than tls_session_timeout).
 * tls_session_timeout: 0 issues no tickets.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>

#include "cfg.h"
#include "log.h"
#include "tlsd.h"

#define TICKET_SECRET 32

static unsigned char ticket_secret[TICKET_SECRET];
static char ticket_err[1200];

/* ticket_derive - HMAC-SHA256(secret, label || period) */
static void
ticket_derive(const char *label, uint64_t period, unsigned char out[32])
{
	unsigned char in[64];
	size_t n = strlen(label);
	unsigned int olen = 32;
	int i;

	memcpy(in, label, n);
	for (i = 0; i < 8; i++)
		in[n + (size_t)i] = (unsigned char)(period >> (56 - 8 * i));
	HMAC(EVP_sha256(), ticket_secret, TICKET_SECRET, in, n + 8, out, &olen);
}

static uint64_t
ticket_period(void)
{
	long long len = cfg_duration_ms("tls_session_timeout") / 1000;

	if (len < 60)
		len = 60;
	return (uint64_t)time(NULL) / (uint64_t)len;
}

/* ticket_keys - cipher and MAC set up with period's keys */
static int
ticket_keys(uint64_t period, const unsigned char *iv, EVP_CIPHER_CTX *cctx,
    EVP_MAC_CTX *hctx, int enc)
{
	unsigned char aes[32], mac[32];
	OSSL_PARAM params[2];
	int ok;

	ticket_derive("berth-aes", period, aes);
	ticket_derive("berth-mac", period, mac);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = EVP_MAC_init(hctx, mac, sizeof(mac), params) == 1 &&
	    (enc ? EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, aes, iv)
		 : EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, aes,
		       iv)) == 1;
	OPENSSL_cleanse(aes, sizeof(aes));
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok ? 0 : -1;
}

/* ticket_cb - OpenSSL's ticket key callback: 1 use, 2 use and renew, 0
 * unknown key (a full handshake), -1 error */
static int
ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	unsigned char n[32];
	uint64_t now = ticket_period(), p;
	int i;

	if (enc) {
		ticket_derive("berth-name", now, n);
		memcpy(name, n, 16);
		if (getrandom(iv, 16, 0) != 16 ||
		    ticket_keys(now, iv, cctx, hctx, 1) < 0)
			return -1;
		return 1;
	}
	for (i = 0; i < 2 && (uint64_t)i <= now; i++) {
		p = now - (uint64_t)i;
		ticket_derive("berth-name", p, n);
		if (memcmp(name, n, 16) != 0)
			continue;
		if (ticket_keys(p, iv, cctx, hctx, 0) < 0)
			return -1;
		return i == 0 ? 1 : 2;
	}
	return 0;
}

/* ticket_make - write a new secret to path, unless one appears first */
static void
ticket_make(const char *path)
{
	char tmp[1100];
	unsigned char s[TICKET_SECRET];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	if (getrandom(s, sizeof(s), 0) != sizeof(s))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, s, sizeof(s)) == (ssize_t)sizeof(s) && fsync(fd) == 0 &&
	    link(tmp, path) == 0)
		log_info("made the session ticket secret %s", path);
	close(fd);
	unlink(tmp);
	OPENSSL_cleanse(s, sizeof(s));
}

int
tlsd_ticket_init(const char **error_r)
{
	char path[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/tls_ticket.key",
	    cfg_str("configdirectory"));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 && errno == ENOENT) {
		ticket_make(path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(ticket_err, sizeof(ticket_err),
		    "cannot read the "
		    "session ticket secret %s: %s",
		    path, strerror(errno));
		*error_r = ticket_err;
		return -1;
	}
	n = read(fd, ticket_secret, sizeof(ticket_secret));
	close(fd);
	if (n != (ssize_t)sizeof(ticket_secret)) {
		snprintf(ticket_err, sizeof(ticket_err),
		    "session ticket "
		    "secret %s: not %d bytes (remove it to make a new one)",
		    path, TICKET_SECRET);
		*error_r = ticket_err;
		return -1;
	}
	return 0;
}

void
tlsd_ticket_setup(SSL_CTX *ctx)
{
	long long t = cfg_duration_ms("tls_session_timeout") / 1000;

	if (t <= 0) {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(ctx, 0);
		return;
	}
	SSL_CTX_set_timeout(ctx, (long)t);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
}

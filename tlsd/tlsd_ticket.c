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
 * tls_session_timeout: 0 issues no tickets.  A period's keys are
 * derived on first use and kept (the current and the previous period's),
 * and the cipher fetched once: a ticket costs its own encryption only.
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
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "cfg.h"
#include "log.h"
#include "tlsd.h"

#define TICKET_SECRET 32

static unsigned char ticket_secret[TICKET_SECRET];
static char ticket_err[1200];

/* the keys of one period, derived once (a handshake issues one or two
 * tickets and a resumption checks one: deriving three HMACs and fetching
 * the cipher for each showed in perf of full handshakes) */
struct ticket_keys {
	uint64_t period;
	int valid;
	unsigned char name[16], aes[32], mac[32];
};

/* the current period's and the previous one's, by period parity */
static struct ticket_keys ticket_cache[2];
static EVP_CIPHER *ticket_aes;
static long long ticket_len_s;

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

/* ticket_get - period's keys, derived on first use */
static const struct ticket_keys *
ticket_get(uint64_t period)
{
	struct ticket_keys *k = &ticket_cache[period & 1];
	unsigned char n[32];

	if (k->valid && k->period == period)
		return k;
	OPENSSL_cleanse(k, sizeof(*k));
	ticket_derive("berth-name", period, n);
	memcpy(k->name, n, sizeof(k->name));
	ticket_derive("berth-aes", period, k->aes);
	ticket_derive("berth-mac", period, k->mac);
	k->period = period;
	k->valid = 1;
	return k;
}

static uint64_t
ticket_period(void)
{
	return (uint64_t)time(NULL) / (uint64_t)ticket_len_s;
}

/* ticket_keys - cipher and MAC set up with k */
static int
ticket_keys(const struct ticket_keys *k, const unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	OSSL_PARAM params[2];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(hctx, k->mac, sizeof(k->mac), params) != 1)
		return -1;
	return (enc ? EVP_EncryptInit_ex(cctx, ticket_aes, NULL, k->aes, iv)
		    : EVP_DecryptInit_ex(cctx, ticket_aes, NULL, k->aes, iv)) ==
		1
	    ? 0
	    : -1;
}

/* ticket_cb - OpenSSL's ticket key callback: 1 use, 2 use and renew, 0
 * not ours (a full handshake follows), -1 error */
static int
ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	const struct ticket_keys *k;
	uint64_t now = ticket_period(), p;
	int i;

	(void)ssl;
	if (enc) {
		k = ticket_get(now);
		memcpy(name, k->name, 16);
		/* OpenSSL's generator: no system call per ticket */
		if (RAND_bytes(iv, 16) != 1 ||
		    ticket_keys(k, iv, cctx, hctx, 1) < 0)
			return -1;
		return 1;
	}
	for (i = 0; i < 2 && (uint64_t)i <= now; i++) {
		p = now - (uint64_t)i;
		k = ticket_get(p);
		if (CRYPTO_memcmp(name, k->name, 16) != 0)
			continue;
		if (ticket_keys(k, iv, cctx, hctx, 0) < 0)
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

	/* fits: configdirectory is at most CFG_CONFDIR_MAX */
	(void)snprintf(path, sizeof(path), "%s/tls_ticket.key",
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
	if (ticket_len_s != (t < 60 ? 60 : t)) {
		/* a reload changed the periods: keys of the new ones */
		OPENSSL_cleanse(ticket_cache, sizeof(ticket_cache));
		ticket_len_s = t < 60 ? 60 : t;
	}
	if (ticket_aes == NULL &&
	    (ticket_aes = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL)
		log_fatal("session tickets: no AES-256-CBC in OpenSSL");
	SSL_CTX_set_timeout(ctx, (long)t);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
}

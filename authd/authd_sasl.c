/*
 * authd_sasl - the libsasl2 server side: options from imapd.conf's
 * sasl_* keys, one sasl_conn_t per login, result mapping, and the user
 * name a client response claims (for logs and priority only).
 *
 * Thread safety, as libsasl2 documents it: mutex functions are given to
 * the library before sasl_server_init(); init and every sasl_server_new
 * and sasl_dispose happen on the main thread; a pool thread runs
 * sasl_server_start/step on one connection that nothing else touches
 * meanwhile.  The callbacks (getopt, log) read the loaded configuration
 * and format on the stack: no static buffers.
 *
 * Never logs secrets; the only place that sees passwords is libsasl2.
 */
#include "config.h"

#include <pthread.h>
#include <sasl/sasl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authd.h"
#include "cfg.h"
#include "log.h"
#include "xalloc.h"

/* authd_sasl_getopt - SASL options come from imapd.conf sasl_<option> */
static int
authd_sasl_getopt(void *ctx, const char *plugin, const char *option,
    const char **result, unsigned *len)
{
	char key[128];
	const char *v;

	(void)ctx;
	(void)plugin;
	snprintf(key, sizeof(key), "sasl_%s", option);
	v = cfg_str_any(key);
	if (v == NULL)
		return SASL_FAIL;
	*result = v;
	if (len)
		*len = (unsigned)strlen(v);
	return SASL_OK;
}

static int
authd_sasl_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level <= SASL_LOG_ERR)
		log_error("sasl: %s", msg);
	else if (level == SASL_LOG_FAIL)
		log_debug("sasl: %s", msg);	/* authd logs the failure */
	else if (level <= SASL_LOG_WARN)
		log_warn("sasl: %s", msg);
	else if (level <= SASL_LOG_NOTE)
		log_info("sasl: %s", msg);
	return SASL_OK;
}

static sasl_callback_t authd_sasl_cbs[] = {
	{ SASL_CB_GETOPT, (int (*)(void))(void (*)(void))authd_sasl_getopt,
	    NULL },
	{ SASL_CB_LOG, (int (*)(void))(void (*)(void))authd_sasl_log, NULL },
	{ SASL_CB_LIST_END, NULL, NULL },
};

static void *
authd_sasl_mutex_alloc(void)
{
	pthread_mutex_t *m = xmalloc(sizeof(*m));

	pthread_mutex_init(m, NULL);
	return m;
}

static int
authd_sasl_mutex_lock(void *m)
{
	return pthread_mutex_lock(m) == 0 ? SASL_OK : SASL_FAIL;
}

static int
authd_sasl_mutex_unlock(void *m)
{
	return pthread_mutex_unlock(m) == 0 ? SASL_OK : SASL_FAIL;
}

static void
authd_sasl_mutex_free(void *m)
{
	pthread_mutex_destroy(m);
	free(m);
}

void
authd_sasl_init(void)
{
	int r;

	sasl_set_mutex(authd_sasl_mutex_alloc, authd_sasl_mutex_lock,
	    authd_sasl_mutex_unlock, authd_sasl_mutex_free);
	r = sasl_server_init(authd_sasl_cbs, "berth");
	if (r != SASL_OK)
		log_fatal("sasl_server_init: %s", sasl_errstring(r, NULL,
		    NULL));
}

int
authd_sasl_plaintext_ok(int secure)
{
	return secure || cfg_bool("allowplaintext");
}

int
authd_sasl_new(sasl_conn_t **conn_r, int secure, const char *addr,
    unsigned port)
{
	sasl_security_properties_t sp;
	char remote[128];
	int r;

	snprintf(remote, sizeof(remote), "%s;%u", addr, port);
	r = sasl_server_new("imap", NULL, NULL, NULL,
	    strchr(addr, ':') || strchr(addr, '.') == NULL ? NULL : remote,
	    authd_sasl_cbs, 0, conn_r);
	if (r != SASL_OK) {
		log_error("sasl_server_new: %s", sasl_errstring(r, NULL,
		    NULL));
		*conn_r = NULL;
		return -1;
	}
	memset(&sp, 0, sizeof(sp));
	sp.max_ssf = 0;		/* no SASL security layers */
	sp.maxbufsize = 0;
	if (!authd_sasl_plaintext_ok(secure))
		sp.security_flags = SASL_SEC_NOPLAINTEXT;
	sasl_setprop(*conn_r, SASL_SEC_PROPS, &sp);
	return 0;
}

void
authd_sasl_dispose(sasl_conn_t **conn)
{
	if (*conn != NULL)
		sasl_dispose(conn);
	*conn = NULL;
}

enum authc_result
authd_sasl_code(int r, const char **text_r)
{
	switch (r) {
	case SASL_OK:
		return AUTHC_OK;
	case SASL_CONTINUE:
		return AUTHC_CONTINUE;
	case SASL_NOMECH:
	case SASL_TOOWEAK:
	case SASL_ENCRYPT:
		*text_r = "mechanism not available";
		return AUTHC_BADMECH;
	case SASL_BADPROT:
	case SASL_BADPARAM:
	case SASL_BADMAC:
		*text_r = "malformed authentication data";
		return AUTHC_BADDATA;
	case SASL_TRYAGAIN:
	case SASL_UNAVAIL:
	case SASL_FAIL:		/* e.g. saslauthd unreachable: not the
				 * client's fault, no penalty */
	case SASL_NOMEM:
		*text_r = "authentication backend unavailable";
		return AUTHC_UNAVAILABLE;
	default:
		*text_r = "authentication failed";
		return AUTHC_FAIL;
	}
}

int
authd_sasl_is_plain(const char *mech)
{
	return strcasecmp(mech, "PLAIN") == 0 ||
	    strcasecmp(mech, "LOGIN") == 0;
}

const char *
authd_sasl_user(sasl_conn_t *conn)
{
	const void *u = NULL;

	if (conn == NULL || sasl_getprop(conn, SASL_USERNAME, &u) !=
	    SASL_OK || !u)
		return NULL;
	return u;
}

int
authd_sasl_mechs(int secure, char *out, size_t size)
{
	sasl_conn_t *tmp = NULL;
	const char *list;
	unsigned len;
	int n;

	if (authd_sasl_new(&tmp, secure, "127.0.0.1", 0) < 0)
		return -1;
	if (sasl_listmech(tmp, NULL, "", " ", "", &list, &len, &n) !=
	    SASL_OK || len >= size) {
		authd_sasl_dispose(&tmp);
		return -1;
	}
	memcpy(out, list, len);
	out[len] = '\0';
	authd_sasl_dispose(&tmp);
	return 0;
}

/* claimed_copy - a printable user name of at most size - 1 bytes */
static void
claimed_copy(const char *p, size_t n, char *user, size_t size)
{
	size_t i;

	if (n >= size)
		return;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x21 || p[i] == 0x7f)
			return;		/* not a name worth keeping */
	memcpy(user, p, n);
	user[n] = '\0';
}

/* claimed_scram - "n=" of a SCRAM client-first "gs2,authzid,n=..,r=.." */
static void
claimed_scram(const char *in, size_t len, char *user, size_t size)
{
	const char *end = in + len, *p = in, *q;
	int commas = 0;

	while (p < end && commas < 2)
		if (*p++ == ',')
			commas++;
	if (commas < 2 || end - p < 2 || p[0] != 'n' || p[1] != '=')
		return;
	p += 2;
	q = memchr(p, ',', (size_t)(end - p));
	claimed_copy(p, q ? (size_t)(q - p) : (size_t)(end - p), user, size);
}

void
authd_sasl_claimed(const char *mech, int nresp, const char *in, size_t len,
    char *user, size_t size)
{
	const char *a, *b;

	/* only the client's first response names the user: never look at
	 * a later one (LOGIN's second response is the password) */
	if (nresp != 0 || user[0] != '\0' || in == NULL || len == 0)
		return;
	if (strcasecmp(mech, "PLAIN") == 0) {
		/* [authzid] \0 authcid \0 password */
		if ((a = memchr(in, '\0', len)) == NULL)
			return;
		a++;
		b = memchr(a, '\0', len - (size_t)(a - in));
		if (b != NULL)
			claimed_copy(a, (size_t)(b - a), user, size);
	} else if (strcasecmp(mech, "LOGIN") == 0) {
		/* the first response is the user name (SASL-IR or step 1) */
		if (memchr(in, '\0', len) == NULL)
			claimed_copy(in, len, user, size);
	} else if (strncasecmp(mech, "SCRAM-", 6) == 0) {
		claimed_scram(in, len, user, size);
	}
}

/*
 * authd_sasl - the libsasl2 server side: options from imapd.conf's
 * sasl_* keys, one sasl_conn_t per login, result mapping, and the user
 * name a client response claims (for logs, priority and penalties).
 *
 * User names follow one rule (lib/uname): the names a first response
 * claims are canonicalised (or the login refused) before libsasl2 sees
 * them, and libsasl2's canon_user callback applies the same rule to
 * every mechanism's authcid and authzid, so the name a failure counts
 * against is the name whose password was checked.
 *
 * Thread safety, as libsasl2 documents it: mutex functions are given to
 * the library before sasl_server_init(); init and every sasl_server_new
 * and sasl_dispose happen on the main thread; a pool thread runs
 * sasl_server_start/step on one connection that nothing else touches
 * meanwhile.  The callbacks (getopt, log) read the loaded configuration
 * and format on the stack: no static buffers.
 *
 * Authorization: an authzid other than the authenticated name (PLAIN's
 * first field) is allowed only to the admins of imapd.conf; the session
 * is then the authzid's, and authd logs both names.
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
#include "saslcfg.h"
#include "uname.h"
#include "xalloc.h"

static int
authd_sasl_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level <= SASL_LOG_ERR)
		log_error("sasl: %s", msg);
	else if (level == SASL_LOG_FAIL)
		log_debug("sasl: %s", msg); /* authd logs the failure */
	else if (level <= SASL_LOG_WARN)
		log_warn("sasl: %s", msg);
	else if (level <= SASL_LOG_NOTE)
		log_info("sasl: %s", msg);
	return SASL_OK;
}

/* authd_sasl_canon - canon_user for every mechanism's authcid and
 * authzid (on a backend thread: touches only its arguments) */
static int
authd_sasl_canon(sasl_conn_t *conn, void *ctx, const char *in, unsigned inlen,
    unsigned flags, const char *realm, char *out, unsigned out_max,
    unsigned *out_len)
{
	const char *why;
	int n;

	(void)ctx;
	(void)flags;
	(void)realm;
	n = uname_canon(in, inlen, out, out_max, &why);
	if (n < 0) {
		sasl_seterror(conn, SASL_NOLOG, "%s", why);
		return SASL_BADPROT;
	}
	*out_len = (unsigned)n;
	return SASL_OK;
}

#define AUTHZ_REFUSED "authorization refused: "

/*
 * authd_sasl_admin - is name one of the admins (imapd.conf's "admins",
 * Cyrus's key: names separated by spaces or commas)?  Reads the loaded
 * configuration only: safe on a backend thread.
 */
int
authd_sasl_admin(const char *name, size_t len)
{
	const char *p = cfg_str("admins"), *e;

	if (p == NULL || len == 0)
		return 0;
	while (*p != '\0') {
		p += strspn(p, " ,\t");
		e = p + strcspn(p, " ,\t");
		if (e > p && (size_t)(e - p) == len &&
		    memcmp(p, name, len) == 0)
			return 1;
		p = e;
	}
	return 0;
}

/*
 * authd_sasl_authorize - SASL authorization (proxy policy): the
 * authenticated identity may act as another user only when it is an
 * admin, as imapsync and Dovecot master users expect of PLAIN with an
 * authzid.  A refusal's reason is kept as the connection's error detail
 * for login_fail to log (authd_sasl_refusal).  On a backend thread.
 */
static int
authd_sasl_authorize(sasl_conn_t *conn, void *ctx, const char *requested,
    unsigned rlen, const char *authid, unsigned alen, const char *realm,
    unsigned urlen, struct propctx *props)
{
	char why[700];

	(void)ctx;
	(void)realm;
	(void)urlen;
	(void)props;
	if (requested == NULL || rlen == 0 ||
	    (rlen == alen && memcmp(requested, authid, alen) == 0))
		return SASL_OK;
	if (authd_sasl_admin(authid, alen))
		return SASL_OK;
	/* formatted here: sasl_seterror knows only a few conversions */
	(void)snprintf(why, sizeof(why),
	    AUTHZ_REFUSED "user=%.*s authid=%.*s "
			  "reason=\"not an admin (admins)\"",
	    (int)(rlen < 256 ? rlen : 256), requested,
	    (int)(alen < 256 ? alen : 256), authid);
	sasl_seterror(conn, SASL_NOLOG, "%s", why);
	return SASL_BADAUTH;
}

static sasl_callback_t authd_sasl_cbs[] = {
	{ SASL_CB_GETOPT, (int (*)(void))(void (*)(void))saslcfg_getopt, NULL },
	{ SASL_CB_LOG, (int (*)(void))(void (*)(void))authd_sasl_log, NULL },
	{ SASL_CB_CANON_USER, (int (*)(void))(void (*)(void))authd_sasl_canon,
	    NULL },
	{ SASL_CB_PROXY_POLICY,
	    (int (*)(void))(void (*)(void))authd_sasl_authorize, NULL },
	{ SASL_CB_LIST_END, NULL, NULL },
};

static void *
authd_sasl_mutex_alloc(void)
{
	pthread_mutex_t *m = xmalloc(sizeof(*m));

	if (pthread_mutex_init(m, NULL) != 0) {
		free(m);
		return NULL; /* libsasl2 reports a mutex it could not have */
	}
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
		log_fatal("sasl_server_init: %s",
		    sasl_errstring(r, NULL, NULL));
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
		log_error("sasl_server_new: %s", sasl_errstring(r, NULL, NULL));
		*conn_r = NULL;
		return -1;
	}
	memset(&sp, 0, sizeof(sp));
	sp.max_ssf = 0; /* no SASL security layers */
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

enum authclient_result
authd_sasl_code(int r, const char **text_r)
{
	switch (r) {
	case SASL_OK:
		return AUTHCLIENT_OK;
	case SASL_CONTINUE:
		return AUTHCLIENT_CONTINUE;
	case SASL_NOMECH:
	case SASL_TOOWEAK:
	case SASL_ENCRYPT:
		*text_r = "mechanism not available";
		return AUTHCLIENT_BADMECH;
	case SASL_BADPROT:
	case SASL_BADPARAM:
	case SASL_BADMAC:
		*text_r = "malformed authentication data";
		return AUTHCLIENT_BADDATA;
	case SASL_TRYAGAIN:
	case SASL_UNAVAIL:
	case SASL_FAIL: /* e.g. saslauthd unreachable: not the
			 * client's fault, no penalty */
	case SASL_NOMEM:
		*text_r = "authentication backend unavailable";
		return AUTHCLIENT_UNAVAILABLE;
	default:
		*text_r = "authentication failed";
		return AUTHCLIENT_FAIL;
	}
}

int
authd_sasl_is_plain(const char *mech)
{
	return strcasecmp(mech, "PLAIN") == 0 || strcasecmp(mech, "LOGIN") == 0;
}

const char *
authd_sasl_user(sasl_conn_t *conn)
{
	const void *u = NULL;

	if (conn == NULL || sasl_getprop(conn, SASL_USERNAME, &u) != SASL_OK ||
	    !u)
		return NULL;
	return u;
}

const char *
authd_sasl_authid(sasl_conn_t *conn)
{
	const void *u = NULL;

	if (conn == NULL || sasl_getprop(conn, SASL_AUTHUSER, &u) != SASL_OK ||
	    !u || *(const char *)u == '\0')
		return NULL;
	return u;
}

const char *
authd_sasl_refusal(sasl_conn_t *conn)
{
	const char *d;

	if (conn == NULL || (d = sasl_errdetail(conn)) == NULL ||
	    (d = strstr(d, AUTHZ_REFUSED)) == NULL)
		return NULL;
	return d + strlen(AUTHZ_REFUSED);
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
	if (sasl_listmech(tmp, NULL, "", " ", "", &list, &len, &n) != SASL_OK ||
	    len >= size) {
		authd_sasl_dispose(&tmp);
		return -1;
	}
	memcpy(out, list, len);
	out[len] = '\0';
	authd_sasl_dispose(&tmp);
	return 0;
}

/* claimed_name - a claimed name canonical into user (size bytes); -1
 * with *why_r when the name is refused */
static int
claimed_name(const char *p, size_t n, char *user, size_t size,
    const char **why_r)
{
	return uname_canon(p, n, user, size, why_r) < 0 ? -1 : 0;
}

/* claimed_saslname - a SCRAM saslname ("=2C" is ',', "=3D" is '=')
 * decoded into out; its length, or -1 when an escape is malformed
 * (libsasl2 refuses those itself) */
static int
claimed_saslname(const char *p, size_t n, char *out, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (o + 1 >= size)
			return -1;
		if (p[i] != '=') {
			out[o++] = p[i];
			continue;
		}
		if (n - i < 3)
			return -1;
		if (p[i + 1] == '2' && p[i + 2] == 'C')
			out[o++] = ',';
		else if (p[i + 1] == '3' && p[i + 2] == 'D')
			out[o++] = '=';
		else
			return -1;
		i += 2;
	}
	return (int)o;
}

/* claimed_saslname_at - the saslname of "k=..." at [p, end) (k: 'a' or
 * 'n'), canonical into user; 0 when it is not there or malformed (left
 * to libsasl2), -1 when refused */
static int
claimed_saslname_at(char k, const char *p, const char *end, char *user,
    size_t size, const char **why_r)
{
	char name[AUTHPROTO_MAX_USER * 3];
	int n;

	if (end - p < 2 || p[0] != k || p[1] != '=')
		return 0;
	n = claimed_saslname(p + 2, (size_t)(end - p - 2), name, sizeof(name));
	if (n < 0)
		return 0;
	return claimed_name(name, (size_t)n, user, size, why_r);
}

/* claimed_scram - a SCRAM client-first "gs2flag,[a=authzid],n=..,r=..":
 * the authzid is checked, the authcid (n=) claimed */
static int
claimed_scram(const char *in, size_t len, char *user, size_t size,
    const char **why_r)
{
	const char *end = in + len, *a, *n, *q;

	if ((a = memchr(in, ',', len)) == NULL)
		return 0;
	a++;
	if ((n = memchr(a, ',', (size_t)(end - a))) == NULL)
		return 0;
	if (claimed_saslname_at('a', a, n, user, size, why_r) < 0)
		return -1;
	user[0] = '\0';
	n++;
	if ((q = memchr(n, ',', (size_t)(end - n))) == NULL)
		q = end;
	return claimed_saslname_at('n', n, q, user, size, why_r);
}

/* claimed_plain - PLAIN's "[authzid] \0 authcid \0 password" */
static int
claimed_plain(const char *in, size_t len, char *user, size_t size,
    const char **why_r)
{
	const char *a, *b;

	if ((a = memchr(in, '\0', len)) == NULL)
		return 0; /* malformed: libsasl2 says so */
	a++;
	if ((b = memchr(a, '\0', len - (size_t)(a - in))) == NULL)
		return 0;
	if (a - 1 > in) {
		if (claimed_name(in, (size_t)(a - 1 - in), user, size, why_r) <
		    0)
			return -1;
		user[0] = '\0';
	}
	if (claimed_name(a, (size_t)(b - a), user, size, why_r) < 0) {
		user[0] = '\0';
		return -1;
	}
	return 0;
}

int
authd_sasl_claimed(const char *mech, int nresp, const char *in, size_t len,
    char *user, size_t size, const char **why_r)
{
	int r = 0;

	/* only the client's first response names the user: never look at
	 * a later one (LOGIN's second response is the password) */
	if (nresp != 0 || user[0] != '\0' || in == NULL)
		return 0;
	if (strcasecmp(mech, "PLAIN") == 0)
		r = claimed_plain(in, len, user, size, why_r);
	else if (strcasecmp(mech, "LOGIN") == 0)
		r = claimed_name(in, len, user, size, why_r);
	else if (strncasecmp(mech, "SCRAM-", 6) == 0)
		r = claimed_scram(in, len, user, size, why_r);
	if (r < 0)
		user[0] = '\0';
	return r;
}

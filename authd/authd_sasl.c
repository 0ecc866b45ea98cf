/*
 * authd_sasl - the libsasl2 server side: options from imapd.conf's
 * sasl_* keys, one sasl_conn_t per login, result mapping.
 *
 * Never logs secrets; the only place that sees passwords is libsasl2.
 */
#include "config.h"

#include <sasl/sasl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authc.h"
#include "authd.h"
#include "cfg.h"
#include "log.h"

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
	else if (level <= SASL_LOG_WARN)
		log_warn("sasl: %s", msg);
	else if (level <= SASL_LOG_NOTE)
		log_info("sasl: %s", msg);
	return SASL_OK;
}

static sasl_callback_t authd_sasl_cbs[] = {
	{ SASL_CB_GETOPT, (int (*)(void))(void (*)(void))authd_sasl_getopt, NULL },
	{ SASL_CB_LOG, (int (*)(void))(void (*)(void))authd_sasl_log, NULL },
	{ SASL_CB_LIST_END, NULL, NULL },
};

void
authd_sasl_init(void)
{
	int r = sasl_server_init(authd_sasl_cbs, "berth");

	if (r != SASL_OK)
		log_fatal("sasl_server_init: %s", sasl_errstring(r, NULL,
		    NULL));
}

/* authd_sasl_plaintext_ok - may plaintext mechanisms be used? */
static int
authd_sasl_plaintext_ok(int secure)
{
	return secure || cfg_bool("allowplaintext");
}

int
authd_sasl_new(struct authd_conn *c, int secure, const char *addr,
    unsigned port)
{
	sasl_security_properties_t sp;
	char remote[128];
	int r;

	authd_sasl_dispose(c);
	snprintf(remote, sizeof(remote), "%s;%u", addr, port);
	r = sasl_server_new("imap", NULL, NULL, NULL,
	    strchr(addr, ':') ? NULL : remote, authd_sasl_cbs, 0, &c->sasl);
	if (r != SASL_OK) {
		log_error("sasl_server_new: %s", sasl_errstring(r, NULL,
		    NULL));
		c->sasl = NULL;
		return -1;
	}
	memset(&sp, 0, sizeof(sp));
	sp.max_ssf = 0;		/* no SASL security layers */
	sp.maxbufsize = 0;
	if (!authd_sasl_plaintext_ok(secure))
		sp.security_flags = SASL_SEC_NOPLAINTEXT;
	sasl_setprop(c->sasl, SASL_SEC_PROPS, &sp);
	return 0;
}

void
authd_sasl_dispose(struct authd_conn *c)
{
	if (c->sasl != NULL)
		sasl_dispose(&c->sasl);
	c->sasl = NULL;
}

/* authd_sasl_code - map a libsasl2 result */
static enum authc_result
authd_sasl_code(int r, const char **text_r)
{
	switch (r) {
	case SASL_OK:
		return AUTHC_OK;
	case SASL_CONTINUE:
		return AUTHC_CONTINUE;
	case SASL_NOMECH:
		*text_r = "mechanism not available";
		return AUTHC_BADMECH;
	case SASL_BADPROT:
	case SASL_BADPARAM:
	case SASL_BADMAC:
		*text_r = "malformed authentication data";
		return AUTHC_BADDATA;
	case SASL_TRYAGAIN:
	case SASL_UNAVAIL:
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

enum authc_result
authd_sasl_start(struct authd_conn *c, const char *mech, const char *in,
    unsigned inlen, const char **out, unsigned *outlen, const char **text_r)
{
	int r;

	if (authd_sasl_is_plain(mech) && !authd_sasl_plaintext_ok(c->secure)) {
		*text_r = "plaintext authentication requires TLS";
		return AUTHC_PRIVACY;
	}
	r = sasl_server_start(c->sasl, mech, in, inlen, out, outlen);
	return authd_sasl_code(r, text_r);
}

enum authc_result
authd_sasl_step(struct authd_conn *c, const char *in, unsigned inlen,
    const char **out, unsigned *outlen, const char **text_r)
{
	int r = sasl_server_step(c->sasl, in, inlen, out, outlen);

	return authd_sasl_code(r, text_r);
}

const char *
authd_sasl_user(struct authd_conn *c)
{
	const void *u = NULL;

	if (sasl_getprop(c->sasl, SASL_USERNAME, &u) != SASL_OK || !u)
		return NULL;
	return u;
}

int
authd_sasl_mechs(int secure, char *out, size_t size)
{
	struct authd_conn tmp;
	const char *list;
	unsigned len;
	int n;

	memset(&tmp, 0, sizeof(tmp));
	if (authd_sasl_new(&tmp, secure, "127.0.0.1", 0) < 0)
		return -1;
	if (sasl_listmech(tmp.sasl, NULL, "", " ", "", &list, &len, &n) !=
	    SASL_OK || len >= size) {
		authd_sasl_dispose(&tmp);
		return -1;
	}
	memcpy(out, list, len);
	out[len] = '\0';
	authd_sasl_dispose(&tmp);
	return 0;
}

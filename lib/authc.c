/*
 * authc - the worker's requests to authd: ADMIT, START/STEP/ABORT, MECHS,
 * each with a deadline, over the process's authd link (lib/authn).
 *
 * A SASL exchange lives in authd on the link it began on: if the link is
 * made again between START and STEP (authd restarted), the STEP fails
 * with AUTHC_UNAVAILABLE instead of reaching an authd that never saw the
 * START.  Any failure to talk to authd answers AUTHC_UNAVAILABLE.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "authc.h"
#include "authn.h"
#include "authp.h"
#include "buf.h"
#include "cfg.h"
#include "ipc.h"
#include "log.h"

#define AUTHC_CONNECT_WAIT_MS 3000	/* authd restarting under master */
#define AUTHC_ADMIT_WAIT_MS 1000
#define AUTHC_ADMIT_TIMEOUT_MS 3000
#define AUTHC_MARGIN_MS 2000

static struct ipc_msg authc_req, authc_rep;
static unsigned authc_gen;	/* link generation of the open exchange */
static int authc_warned;

void
authc_close(void)
{
	authn_disconnect();
}

long long
authc_timeout_ms(void)
{
	return 2 * cfg_duration_ms("authd_queue_timeout") +
	    cfg_duration_ms("authd_backend_timeout") + AUTHC_MARGIN_MS;
}

/* authc_call - authc_req -> authc_rep; -1 when authd could not answer */
static int
authc_call(long long wait_ms, long long timeout_ms)
{
	const char *err;

	if (authn_call(&authc_req, &authc_rep, wait_ms, timeout_ms,
	    &err) < 0) {
		log_warn("authd request failed: %s", err);
		return -1;
	}
	return 0;
}

int
authc_admit(const struct authc_client *cl, uint64_t *conn_id_r,
    const char **reason_r, const char **limit_r, long long *delay_ms_r)
{
	static char text[256], limit[64];
	uint64_t ts = authp_now_ns(), delay = 0;

	*reason_r = *limit_r = "";
	*delay_ms_r = 0;
	ipc_msg_init(&authc_req, AUTHP_T_ADMIT);
	if (ipc_put_str(&authc_req, AUTHP_ADDR, cl->addr) < 0 ||
	    ipc_put_u32(&authc_req, AUTHP_PORT, (uint32_t)cl->port) < 0 ||
	    ipc_put_u64(&authc_req, AUTHP_TS, ts) < 0 ||
	    authn_call(&authc_req, &authc_rep, AUTHC_ADMIT_WAIT_MS,
	    AUTHC_ADMIT_TIMEOUT_MS, reason_r) < 0)
		goto open;
	if (authc_rep.type == AUTHP_T_ADMITTED &&
	    ipc_get_u64(&authc_rep, AUTHP_CONNID, conn_id_r) == 0) {
		authn_adopt(*conn_id_r, ts, cl->addr, "");
		authc_warned = 0;
		return 0;
	}
	if (authc_rep.type == AUTHP_T_REFUSED) {
		if (ipc_get_str(&authc_rep, AUTHP_TEXT, text,
		    sizeof(text)) < 0)
			snprintf(text, sizeof(text), "Connection refused");
		if (ipc_get_str(&authc_rep, AUTHP_LIMIT, limit,
		    sizeof(limit)) < 0)
			limit[0] = '\0';
		*reason_r = text;
		*limit_r = limit;
		if (ipc_get_u64(&authc_rep, AUTHP_DELAY, &delay) == 0 &&
		    delay <= 60000)
			*delay_ms_r = (long long)delay;
		return -1;
	}
	*reason_r = "unexpected reply";
	authn_disconnect();
open:
	/* fail open: without authd no login succeeds anyway */
	if (!authc_warned++)
		log_warn("admission without authd (%s) addr=%s", *reason_r,
		    cl->addr);
	*conn_id_r = authn_new_id();
	authn_hold(*conn_id_r, cl->addr, "");
	*reason_r = "";
	return 0;
}

/* authc_unavailable - the answer when authd could not be asked */
static void
authc_unavailable(struct authc_reply *rep, const char *why)
{
	rep->result = AUTHC_UNAVAILABLE;
	rep->reason = why;
}

/* authc_no - decode a NO reply (or a RESULT's failure) in m */
static void
authc_no(const struct ipc_msg *m, struct authc_reply *rep)
{
	static char text[256], limit[64];
	uint32_t code;
	uint64_t delay = 0;

	if (ipc_get_u32(m, AUTHP_CODE, &code) < 0 ||
	    code == AUTHC_OK || code == AUTHC_CONTINUE ||
	    code > AUTHC_LIMIT) {
		authc_unavailable(rep, "authentication service error");
		return;
	}
	if (ipc_get_str(m, AUTHP_TEXT, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "failed");
	if (ipc_get_str(m, AUTHP_LIMIT, limit, sizeof(limit)) < 0)
		limit[0] = '\0';
	ipc_get_u64(m, AUTHP_DELAY, &delay);
	rep->result = (enum authc_result)code;
	rep->reason = text;
	rep->limit = limit;
	/* a delay is authd's to choose, but never longer than a minute */
	rep->delay_ms = delay > 60000 ? 60000 : (long long)delay;
}

/* authc_result - decode the reply to START or STEP */
static void
authc_result(struct buf *challenge_r, struct authc_reply *rep)
{
	const void *p;
	size_t len;

	switch (authc_rep.type) {
	case AUTHP_T_OK:
		if (ipc_get_str(&authc_rep, AUTHP_USER, rep->user,
		    sizeof(rep->user)) < 0 || rep->user[0] == '\0')
			break;
		rep->result = AUTHC_OK;
		return;
	case AUTHP_T_CONTINUE:
		if (ipc_get(&authc_rep, AUTHP_CHAL, &p, &len) < 0)
			len = 0;
		buf_reset(challenge_r);
		buf_append(challenge_r, len ? p : "", len);
		rep->result = AUTHC_CONTINUE;
		return;
	case AUTHP_T_NO:
		authc_no(&authc_rep, rep);
		return;
	}
	log_warn("unexpected reply type %u from authd", authc_rep.type);
	authn_disconnect();
	authc_unavailable(rep, "authentication service error");
}

static void
authc_reply_init(struct authc_reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->reason = rep->limit = "";
}

/* authc_put_start - START's fields (type is START or LOGIN); -1 when
 * they do not fit */
static int
authc_put_start(uint16_t type, const struct authc_client *cl,
    const char *mech, const char *resp, size_t resp_len)
{
	ipc_msg_init(&authc_req, type);
	if (resp_len > AUTHP_MAX_RESP || strlen(mech) >= AUTHP_MAX_MECH ||
	    ipc_put_str(&authc_req, AUTHP_MECH, mech) < 0 ||
	    (resp != NULL && ipc_put(&authc_req, AUTHP_RESP, resp,
	    resp_len) < 0) ||
	    ipc_put_str(&authc_req, AUTHP_ADDR, cl->addr) < 0 ||
	    ipc_put_u32(&authc_req, AUTHP_PORT, (uint32_t)cl->port) < 0 ||
	    ipc_put_str(&authc_req, AUTHP_LADDR, cl->local_addr ?
	    cl->local_addr : "") < 0 ||
	    ipc_put_u32(&authc_req, AUTHP_SECURE, (uint32_t)cl->secure) < 0 ||
	    ipc_put_u64(&authc_req, AUTHP_CONNID, cl->conn_id) < 0 ||
	    ipc_put_u32(&authc_req, AUTHP_FAILS,
	    (uint32_t)cl->failed_logins) < 0)
		return -1;
	return 0;
}

int
authc_login_async(const struct authc_client *cl, const char *mech,
    const char *resp, size_t resp_len, const char *tag)
{
	int r = -1;

	if (authc_put_start(AUTHP_T_LOGIN, cl, mech, resp, resp_len) == 0 &&
	    strlen(tag) < AUTHP_MAX_TAG &&
	    ipc_put_str(&authc_req, AUTHP_TAG, tag) == 0)
		r = authn_event(&authc_req);
	explicit_bzero(authc_req.data, authc_req.len);
	return r;
}

int
authc_result_decode(const struct ipc_msg *m, uint64_t *conn_id_r,
    char *tag, size_t tagsize, struct authc_reply *rep)
{
	uint32_t code;

	authc_reply_init(rep);
	if (m->type != AUTHP_T_RESULT ||
	    ipc_get_u64(m, AUTHP_CONNID, conn_id_r) < 0 ||
	    ipc_get_str(m, AUTHP_TAG, tag, tagsize) < 0 ||
	    ipc_get_u32(m, AUTHP_CODE, &code) < 0)
		return -1;
	if (code != AUTHC_OK) {
		authc_no(m, rep);
		return 0;
	}
	if (ipc_get_str(m, AUTHP_USER, rep->user, sizeof(rep->user)) < 0 ||
	    rep->user[0] == '\0')
		authc_unavailable(rep, "authentication service error");
	else
		rep->result = AUTHC_OK;
	return 0;
}

/* authc_text_ok - a reason fit for a reply line: starts with a capital,
 * printable ASCII only */
static int
authc_text_ok(const char *t)
{
	if (t == NULL || *t < 'A' || *t > 'Z')
		return 0;
	for (; *t != '\0'; t++)
		if (*t < 0x20 || *t > 0x7e)
			return 0;
	return 1;
}

void
authc_reply_line(struct buf *out, const char *tag,
    const struct authc_reply *rep)
{
	switch (rep->result) {
	case AUTHC_PRIVACY:
		buf_printf(out, "%s NO [PRIVACYREQUIRED] Plaintext "
		    "authentication is not allowed on an unencrypted "
		    "connection\r\n", tag);
		break;
	case AUTHC_BADMECH:
		buf_printf(out, "%s NO [CANNOT] Unsupported authentication "
		    "mechanism\r\n", tag);
		break;
	case AUTHC_BADDATA:
		/* authd's words when it says what was wrong */
		buf_printf(out, "%s BAD %s\r\n", tag, authc_text_ok(
		    rep->reason) ? rep->reason : "Malformed authentication "
		    "data");
		break;
	case AUTHC_LIMIT:
		buf_printf(out, "%s NO [LIMIT] %s\r\n", tag, rep->reason);
		break;
	default:
		buf_printf(out, "%s NO [UNAVAILABLE] Authentication service "
		    "is unavailable; try again later\r\n", tag);
		break;
	}
}

int
authc_fail_line(struct buf *out, const char *tag, int failed_logins)
{
	long long max = cfg_int("maxbadlogins");
	int close_after = max > 0 && failed_logins >= max;

	buf_printf(out, "%s NO [AUTHENTICATIONFAILED] Authentication "
	    "failed\r\n", tag);
	if (close_after)
		buf_puts(out, "* BYE Too many failed logins\r\n");
	return close_after;
}

void
authc_start(const struct authc_client *cl, const char *mech,
    const char *resp, size_t resp_len, struct buf *challenge_r,
    struct authc_reply *rep)
{
	authc_reply_init(rep);
	if (authc_put_start(AUTHP_T_START, cl, mech, resp, resp_len) < 0) {
		rep->result = AUTHC_BADDATA;
		rep->reason = "authentication data too long";
		goto out;
	}
	if (authc_call(AUTHC_CONNECT_WAIT_MS, authc_timeout_ms()) < 0) {
		authc_unavailable(rep, "authentication service unavailable");
		goto out;
	}
	authc_gen = authn_generation();
	authc_result(challenge_r, rep);
out:
	explicit_bzero(authc_req.data, authc_req.len);
}

void
authc_step(const char *resp, size_t resp_len, struct buf *challenge_r,
    struct authc_reply *rep)
{
	authc_reply_init(rep);
	if (resp_len > AUTHP_MAX_RESP) {
		rep->result = AUTHC_BADDATA;
		rep->reason = "authentication data too long";
		authc_abort();
		return;
	}
	if (authn_generation() != authc_gen) {
		authc_unavailable(rep, "authentication service restarted");
		return;
	}
	ipc_msg_init(&authc_req, AUTHP_T_STEP);
	ipc_put(&authc_req, AUTHP_RESP, resp, resp_len);
	if (authc_call(0, authc_timeout_ms()) < 0 ||
	    authn_generation() != authc_gen)
		authc_unavailable(rep, "authentication service unavailable");
	else
		authc_result(challenge_r, rep);
	explicit_bzero(authc_req.data, authc_req.len);
}

void
authc_abort(void)
{
	ipc_msg_init(&authc_req, AUTHP_T_ABORT);
	authn_event(&authc_req);
}

const char *
authc_mechs(int secure)
{
	static char mechs[1024];

	ipc_msg_init(&authc_req, AUTHP_T_MECHS);
	ipc_put_u32(&authc_req, AUTHP_SECURE, (uint32_t)secure);
	if (authc_call(AUTHC_CONNECT_WAIT_MS, AUTHC_ADMIT_TIMEOUT_MS) < 0 ||
	    authc_rep.type != AUTHP_T_MECHLIST ||
	    ipc_get_str(&authc_rep, AUTHP_MECHS, mechs, sizeof(mechs)) < 0)
		return NULL;
	return mechs;
}

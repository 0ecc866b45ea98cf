/*
 * authclient - the worker's requests to authd: ADMIT, START/STEP/ABORT, MECHS,
 * each with a deadline, over the process's authd link (lib/proto/authlink).
 *
 * A SASL exchange lives in authd on the link it began on: if the link is
 * made again between START and STEP (authd restarted), the STEP fails
 * with AUTHCLIENT_UNAVAILABLE instead of reaching an authd that never saw the
 * START.  Any failure to talk to authd answers AUTHCLIENT_UNAVAILABLE.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "authclient.h"
#include "authlink.h"
#include "authproto.h"
#include "buf.h"
#include "cfg.h"
#include "ipc.h"
#include "log.h"

#define AUTHCLIENT_CONNECT_WAIT_MS 3000 /* authd restarting under master */
#define AUTHCLIENT_ADMIT_WAIT_MS 1000
#define AUTHCLIENT_ADMIT_TIMEOUT_MS 3000
#define AUTHCLIENT_MARGIN_MS 2000

static struct ipc_msg authclient_req, authclient_rep;
static unsigned authclient_gen; /* link generation of the open exchange */
static int authclient_warned;

void
authclient_close(void)
{
	authlink_disconnect();
}

long long
authclient_timeout_ms(void)
{
	return 2 * cfg_duration_ms("authd_queue_timeout") +
	    cfg_duration_ms("authd_backend_timeout") + AUTHCLIENT_MARGIN_MS;
}

/* authclient_call - authclient_req -> authclient_rep; -1 when authd could not
 * answer */
static int
authclient_call(long long wait_ms, long long timeout_ms)
{
	const char *err;

	if (authlink_call(&authclient_req, &authclient_rep, wait_ms, timeout_ms,
		&err) < 0) {
		log_warn("authd request failed: %s", err);
		return -1;
	}
	return 0;
}

int
authclient_admit(const struct authclient_client *cl, uint64_t *conn_id_r,
    struct authclient_reply *rep)
{
	uint64_t ts = authproto_now_ns(), delay = 0;

	rep->result = AUTHCLIENT_OK;
	rep->reason = rep->limit = "";
	rep->delay_ms = 0;
	ipc_msg_init(&authclient_req, AUTHPROTO_T_ADMIT);
	if (ipc_put_str(&authclient_req, AUTHPROTO_ADDR, cl->addr) < 0 ||
	    ipc_put_u32(&authclient_req, AUTHPROTO_PORT, (uint32_t)cl->port) <
		0 ||
	    ipc_put_u64(&authclient_req, AUTHPROTO_TS, ts) < 0 ||
	    authlink_call(&authclient_req, &authclient_rep,
		AUTHCLIENT_ADMIT_WAIT_MS, AUTHCLIENT_ADMIT_TIMEOUT_MS,
		&rep->reason) < 0)
		goto open;
	if (authclient_rep.type == AUTHPROTO_T_ADMITTED &&
	    ipc_get_u64(&authclient_rep, AUTHPROTO_CONNID, conn_id_r) == 0) {
		authlink_adopt(*conn_id_r, ts, cl->addr, "");
		authclient_warned = 0;
		return 0;
	}
	if (authclient_rep.type == AUTHPROTO_T_REFUSED) {
		rep->result = AUTHCLIENT_LIMIT;
		if (ipc_get_str(&authclient_rep, AUTHPROTO_TEXT, rep->text,
			sizeof(rep->text)) < 0)
			(void)snprintf(rep->text, sizeof(rep->text),
			    "Connection refused");
		if (ipc_get_str(&authclient_rep, AUTHPROTO_LIMIT,
			rep->limit_key, sizeof(rep->limit_key)) < 0)
			rep->limit_key[0] = '\0';
		rep->reason = rep->text;
		rep->limit = rep->limit_key;
		if (ipc_get_u64(&authclient_rep, AUTHPROTO_DELAY, &delay) ==
			0 &&
		    delay <= 60000)
			rep->delay_ms = (long long)delay;
		return -1;
	}
	rep->reason = "unexpected reply";
	authlink_disconnect();
open:
	/* fail open: without authd no login succeeds anyway */
	if (!authclient_warned++)
		log_warn("admission without authd (%s) addr=%s", rep->reason,
		    cl->addr);
	*conn_id_r = authlink_new_id();
	authlink_hold(*conn_id_r, cl->addr, "");
	rep->reason = "";
	return 0;
}

/* authclient_unavailable - the answer when authd could not be asked */
static void
authclient_unavailable(struct authclient_reply *rep, const char *why)
{
	rep->result = AUTHCLIENT_UNAVAILABLE;
	rep->reason = why;
}

/* authclient_no - decode a NO reply (or a RESULT's failure) in m */
static void
authclient_no(const struct ipc_msg *m, struct authclient_reply *rep)
{
	uint32_t code;
	uint64_t delay = 0;

	if (ipc_get_u32(m, AUTHPROTO_CODE, &code) < 0 ||
	    code == AUTHCLIENT_OK || code == AUTHCLIENT_CONTINUE ||
	    code > AUTHCLIENT_LIMIT) {
		authclient_unavailable(rep, "authentication service error");
		return;
	}
	if (ipc_get_str(m, AUTHPROTO_TEXT, rep->text, sizeof(rep->text)) < 0)
		(void)snprintf(rep->text, sizeof(rep->text), "failed");
	if (ipc_get_str(m, AUTHPROTO_LIMIT, rep->limit_key,
		sizeof(rep->limit_key)) < 0)
		rep->limit_key[0] = '\0';
	ipc_get_u64(m, AUTHPROTO_DELAY, &delay);
	rep->result = (enum authclient_result)code;
	rep->reason = rep->text;
	rep->limit = rep->limit_key;
	/* a delay is authd's to choose, but never longer than a minute */
	rep->delay_ms = delay > 60000 ? 60000 : (long long)delay;
}

/* authclient_result - decode the reply to START or STEP */
static void
authclient_result(struct buf *challenge_r, struct authclient_reply *rep)
{
	const void *p;
	size_t len;

	switch (authclient_rep.type) {
	case AUTHPROTO_T_OK:
		if (ipc_get_str(&authclient_rep, AUTHPROTO_USER, rep->user,
			sizeof(rep->user)) < 0 ||
		    rep->user[0] == '\0')
			break;
		rep->result = AUTHCLIENT_OK;
		return;
	case AUTHPROTO_T_CONTINUE:
		if (ipc_get(&authclient_rep, AUTHPROTO_CHAL, &p, &len) < 0)
			len = 0;
		buf_reset(challenge_r);
		buf_append(challenge_r, len ? p : "", len);
		rep->result = AUTHCLIENT_CONTINUE;
		return;
	case AUTHPROTO_T_NO:
		authclient_no(&authclient_rep, rep);
		return;
	}
	log_warn("unexpected reply type %u from authd", authclient_rep.type);
	authlink_disconnect();
	authclient_unavailable(rep, "authentication service error");
}

static void
authclient_reply_init(struct authclient_reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->reason = rep->limit = "";
}

/* authclient_put_start - START's fields (type is START or LOGIN); -1 when
 * they do not fit */
static int
authclient_put_start(uint16_t type, const struct authclient_client *cl,
    const char *mech, const char *resp, size_t resp_len)
{
	ipc_msg_init(&authclient_req, type);
	if (resp_len > AUTHPROTO_MAX_RESP ||
	    strlen(mech) >= AUTHPROTO_MAX_MECH ||
	    ipc_put_str(&authclient_req, AUTHPROTO_MECH, mech) < 0 ||
	    (resp != NULL &&
		ipc_put(&authclient_req, AUTHPROTO_RESP, resp, resp_len) < 0) ||
	    ipc_put_str(&authclient_req, AUTHPROTO_ADDR, cl->addr) < 0 ||
	    ipc_put_u32(&authclient_req, AUTHPROTO_PORT, (uint32_t)cl->port) <
		0 ||
	    ipc_put_str(&authclient_req, AUTHPROTO_LADDR,
		cl->local_addr ? cl->local_addr : "") < 0 ||
	    ipc_put_u32(&authclient_req, AUTHPROTO_SECURE,
		(uint32_t)cl->secure) < 0 ||
	    ipc_put_u64(&authclient_req, AUTHPROTO_CONNID, cl->conn_id) < 0 ||
	    ipc_put_u32(&authclient_req, AUTHPROTO_FAILS,
		(uint32_t)cl->failed_logins) < 0)
		return -1;
	return 0;
}

int
authclient_login_async(const struct authclient_client *cl, const char *mech,
    const char *resp, size_t resp_len, const char *tag)
{
	int r = -1;

	if (authclient_put_start(AUTHPROTO_T_LOGIN, cl, mech, resp, resp_len) ==
		0 &&
	    strlen(tag) < AUTHPROTO_MAX_TAG &&
	    ipc_put_str(&authclient_req, AUTHPROTO_TAG, tag) == 0)
		r = authlink_event(&authclient_req);
	explicit_bzero(authclient_req.data, authclient_req.len);
	return r;
}

int
authclient_result_decode(const struct ipc_msg *m, uint64_t *conn_id_r,
    char *tag, size_t tagsize, struct authclient_reply *rep)
{
	uint32_t code;

	authclient_reply_init(rep);
	if (m->type != AUTHPROTO_T_RESULT ||
	    ipc_get_u64(m, AUTHPROTO_CONNID, conn_id_r) < 0 ||
	    ipc_get_str(m, AUTHPROTO_TAG, tag, tagsize) < 0 ||
	    ipc_get_u32(m, AUTHPROTO_CODE, &code) < 0)
		return -1;
	if (code != AUTHCLIENT_OK) {
		authclient_no(m, rep);
		return 0;
	}
	if (ipc_get_str(m, AUTHPROTO_USER, rep->user, sizeof(rep->user)) < 0 ||
	    rep->user[0] == '\0')
		authclient_unavailable(rep, "authentication service error");
	else
		rep->result = AUTHCLIENT_OK;
	return 0;
}

/* authclient_text_ok - a reason fit for a reply line: starts with a capital,
 * printable ASCII only */
static int
authclient_text_ok(const char *t)
{
	if (t == NULL || *t < 'A' || *t > 'Z')
		return 0;
	for (; *t != '\0'; t++)
		if (*t < 0x20 || *t > 0x7e)
			return 0;
	return 1;
}

void
authclient_reply_line(struct buf *out, const char *tag,
    const struct authclient_reply *rep)
{
	switch (rep->result) {
	case AUTHCLIENT_PRIVACY:
		buf_printf(out,
		    "%s NO [PRIVACYREQUIRED] Plaintext "
		    "authentication is not allowed on an unencrypted "
		    "connection\r\n",
		    tag);
		break;
	case AUTHCLIENT_BADMECH:
		buf_printf(out,
		    "%s NO [CANNOT] Unsupported authentication "
		    "mechanism\r\n",
		    tag);
		break;
	case AUTHCLIENT_BADDATA:
		/* authd's words when it says what was wrong */
		buf_printf(out, "%s BAD %s\r\n", tag,
		    authclient_text_ok(rep->reason)
			? rep->reason
			: "Malformed authentication "
			  "data");
		break;
	case AUTHCLIENT_LIMIT:
		buf_printf(out, "%s NO [LIMIT] %s\r\n", tag, rep->reason);
		break;
	default:
		buf_printf(out,
		    "%s NO [UNAVAILABLE] Authentication service "
		    "is unavailable; try again later\r\n",
		    tag);
		break;
	}
}

int
authclient_fail_line(struct buf *out, const char *tag, int failed_logins)
{
	long long max = cfg_int("maxbadlogins");
	int close_after = max > 0 && failed_logins >= max;

	buf_printf(out,
	    "%s NO [AUTHENTICATIONFAILED] Authentication "
	    "failed\r\n",
	    tag);
	if (close_after)
		buf_puts(out, "* BYE Too many failed logins\r\n");
	return close_after;
}

void
authclient_start(const struct authclient_client *cl, const char *mech,
    const char *resp, size_t resp_len, struct buf *challenge_r,
    struct authclient_reply *rep)
{
	authclient_reply_init(rep);
	if (authclient_put_start(AUTHPROTO_T_START, cl, mech, resp, resp_len) <
	    0) {
		rep->result = AUTHCLIENT_BADDATA;
		rep->reason = "authentication data too long";
		goto out;
	}
	if (authclient_call(AUTHCLIENT_CONNECT_WAIT_MS,
		authclient_timeout_ms()) < 0) {
		authclient_unavailable(rep,
		    "authentication service unavailable");
		goto out;
	}
	authclient_gen = authlink_generation();
	authclient_result(challenge_r, rep);
out:
	explicit_bzero(authclient_req.data, authclient_req.len);
}

/* authclient_step_on - STEP, with CONNID when conn_id is not 0 (the
 * exchange was detached: any link reaches it) */
static void
authclient_step_on(uint64_t conn_id, const char *resp, size_t resp_len,
    struct buf *challenge_r, struct authclient_reply *rep)
{
	authclient_reply_init(rep);
	if (resp_len > AUTHPROTO_MAX_RESP) {
		rep->result = AUTHCLIENT_BADDATA;
		rep->reason = "authentication data too long";
		authclient_abort();
		return;
	}
	if (conn_id == 0 && authlink_generation() != authclient_gen) {
		authclient_unavailable(rep, "authentication service restarted");
		return;
	}
	ipc_msg_init(&authclient_req, AUTHPROTO_T_STEP);
	ipc_put(&authclient_req, AUTHPROTO_RESP, resp, resp_len);
	if (conn_id != 0)
		ipc_put_u64(&authclient_req, AUTHPROTO_CONNID, conn_id);
	if (authclient_call(conn_id ? AUTHCLIENT_CONNECT_WAIT_MS : 0,
		authclient_timeout_ms()) < 0 ||
	    (conn_id == 0 && authlink_generation() != authclient_gen)) {
		authclient_unavailable(rep,
		    "authentication service unavailable");
	} else {
		authclient_gen = authlink_generation();
		authclient_result(challenge_r, rep);
	}
	explicit_bzero(authclient_req.data, authclient_req.len);
}

void
authclient_step(const char *resp, size_t resp_len, struct buf *challenge_r,
    struct authclient_reply *rep)
{
	authclient_step_on(0, resp, resp_len, challenge_r, rep);
}

void
authclient_step_detached(uint64_t conn_id, const char *resp, size_t resp_len,
    struct buf *challenge_r, struct authclient_reply *rep)
{
	authclient_step_on(conn_id, resp, resp_len, challenge_r, rep);
}

int
authclient_detach(uint64_t conn_id, struct authclient_reply *rep)
{
	authclient_reply_init(rep);
	if (conn_id == 0 || authlink_generation() != authclient_gen) {
		authclient_unavailable(rep, "authentication service restarted");
		return -1;
	}
	ipc_msg_init(&authclient_req, AUTHPROTO_T_DETACH);
	ipc_put_u64(&authclient_req, AUTHPROTO_CONNID, conn_id);
	if (authclient_call(0, AUTHCLIENT_ADMIT_TIMEOUT_MS) < 0) {
		authclient_unavailable(rep,
		    "authentication service unavailable");
		return -1;
	}
	if (authclient_rep.type == AUTHPROTO_T_DETACHED)
		return 0;
	if (authclient_rep.type == AUTHPROTO_T_NO)
		authclient_no(&authclient_rep, rep);
	else
		authclient_unavailable(rep, "authentication service error");
	return -1;
}

void
authclient_abort(void)
{
	ipc_msg_init(&authclient_req, AUTHPROTO_T_ABORT);
	authlink_event(&authclient_req);
}

void
authclient_abort_detached(uint64_t conn_id)
{
	ipc_msg_init(&authclient_req, AUTHPROTO_T_ABORT);
	ipc_put_u64(&authclient_req, AUTHPROTO_CONNID, conn_id);
	authlink_event(&authclient_req);
}

int
authclient_mechs(int secure, char *out, size_t size)
{
	ipc_msg_init(&authclient_req, AUTHPROTO_T_MECHS);
	ipc_put_u32(&authclient_req, AUTHPROTO_SECURE, (uint32_t)secure);
	if (authclient_call(AUTHCLIENT_CONNECT_WAIT_MS,
		AUTHCLIENT_ADMIT_TIMEOUT_MS) < 0 ||
	    authclient_rep.type != AUTHPROTO_T_MECHLIST ||
	    ipc_get_str(&authclient_rep, AUTHPROTO_MECHS, out, size) < 0)
		return -1;
	return 0;
}

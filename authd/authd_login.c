/*
 * authd_login - one SASL exchange per worker connection: START, STEPs,
 * the outcome.
 *
 * The exchange's libsasl2 connection lives here, created and disposed on
 * the main thread.  Every call that carries a client response (and so
 * may reach a backend) becomes a job for authd_sched with the login's
 * priority; only a START without data runs inline.  While a job runs,
 * the exchange belongs to its thread: if the worker goes away or the
 * job is abandoned, the job takes the sasl_conn_t and disposes of it
 * when the thread is done.
 *
 * The user name a first response claims is canonicalised (lib/uname)
 * before libsasl2 sees it, and a name that is refused ends the exchange
 * with BAD naming what was wrong; a failure counts against the canonical
 * name, so "bob " cannot dodge bob's counter.
 *
 * A success is checked against maxlogins_per_user and maxlogins_per_host
 * (authd_admit) before the worker hears OK, and the user is recorded on
 * the connection's hold so later counts include it.  Failures are
 * answered with a code for the tagged NO; nothing here writes to a
 * client.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authd.h"
#include "cfg.h"
#include "ipc.h"
#include "log.h"
#include "xalloc.h"

/* a detached exchange outlives sasl_response_timeout by this much, so
 * that a response idled hands on just before its deadline still finds
 * it */
#define AUTHD_DETACH_MARGIN_MS 5000

struct authd_login {
	sasl_conn_t *sasl;
	struct authd_job *job; /* queued or running, or NULL */
	struct authd_keys keys;
	char mech[AUTHPROTO_MAX_MECH];
	char addr[AUTHPROTO_MAX_ADDR];
	char user[AUTHPROTO_MAX_USER]; /* claimed, canonical: logs,
					* priority, penalties */
	uint64_t conn_id;
	unsigned port;
	int secure;
	int conn_fails; /* earlier failures on the connection */
	int nresp;	/* client responses so far */
	int ok_pending; /* authenticated; the last challenge
			 * carried the server's final data */
};

/* login_detach - the exchange no longer waits for its job */
static void
login_detach(struct authd_login *l)
{
	struct authd_job *j = l->job;

	if (j == NULL)
		return;
	l->job = NULL;
	if (j->state == AUTHD_J_RUNNING) {
		j->own_sasl = 1; /* the thread still uses it */
		l->sasl = NULL;
	}
	authd_sched_cancel(j);
}

static void
login_dispose(struct authd_login *l)
{
	login_detach(l);
	authd_sasl_dispose(&l->sasl);
	explicit_bzero(l, sizeof(*l));
	free(l);
}

static void
login_free(struct authd_peer *p)
{
	if (p->login == NULL)
		return;
	login_dispose(p->login);
	p->login = NULL;
}

/* login_no - answer NO with code and text, and end the exchange */
static void
login_no(struct authd_peer *p, enum authclient_result code, const char *text,
    long long delay_ms, const char *limit)
{
	ipc_msg_init(&authd_reply, AUTHPROTO_T_NO);
	ipc_put_u32(&authd_reply, AUTHPROTO_CODE, (uint32_t)code);
	ipc_put_str(&authd_reply, AUTHPROTO_TEXT, text);
	if (delay_ms > 0)
		ipc_put_u64(&authd_reply, AUTHPROTO_DELAY, (uint64_t)delay_ms);
	if (limit != NULL)
		ipc_put_str(&authd_reply, AUTHPROTO_LIMIT, limit);
	authd_peer_send(p, &authd_reply);
	login_free(p);
}

/* login_ok - authenticated: the after-login limits, then OK */
static void
login_ok(struct authd_peer *p)
{
	struct authd_login *l = p->login;
	const char *user = authd_sasl_user(l->sasl), *limit, *authid;
	long long max = 0;
	char text[160];

	if (user == NULL || *user == '\0' ||
	    strlen(user) >= AUTHPROTO_MAX_USER) {
		log_error("login without a usable user name addr=%s mech=%s",
		    l->addr, l->mech);
		login_no(p, AUTHCLIENT_UNAVAILABLE,
		    "authentication service error", 0, NULL);
		return;
	}
	if (authd_admit_maxlogins(user, l->addr, l->conn_id, &limit, &max, text,
		sizeof(text)) < 0) {
		authd_report_limit(user, l->addr, limit, max, text);
		login_no(p, AUTHCLIENT_LIMIT, text, 0, limit);
		return;
	}
	authd_penalty_success(user, &l->keys);
	/* an admin acting as user (authorization): both names logged */
	authid = authd_sasl_authid(l->sasl);
	if (authid != NULL && strcmp(authid, user) == 0)
		authid = NULL;
	authd_report_login(user, l->addr, l->mech, authid);
	ipc_msg_init(&authd_reply, AUTHPROTO_T_OK);
	ipc_put_str(&authd_reply, AUTHPROTO_USER, user);
	authd_peer_send(p, &authd_reply);
	login_free(p);
}

/* login_fail - wrong credentials: counted, and answered after a delay
 * that the worker (or idled) serves */
static void
login_fail(struct authd_peer *p, const char *text)
{
	struct authd_login *l = p->login;
	struct authd_level lv;
	const char *authid, *refusal;
	long long delay;

	/* a mechanism whose response authd does not parse (CRAM-MD5,
	 * DIGEST-MD5): the name libsasl2 canonicalised */
	if (l->user[0] == '\0' &&
	    (authid = authd_sasl_authid(l->sasl)) != NULL &&
	    strlen(authid) < sizeof(l->user))
		snprintf(l->user, sizeof(l->user), "%s", authid);
	/* authenticated, but not allowed to be the user it asked for */
	if ((refusal = authd_sasl_refusal(l->sasl)) != NULL)
		log_info("login refused addr=%s mech=%s %s", l->addr, l->mech,
		    refusal);
	delay = authd_penalty_fail(l->user, &l->keys, &lv);
	authd_report_failure(l->user, l->addr, l->mech, l->conn_fails + 1, &lv,
	    delay);
	login_no(p, AUTHCLIENT_FAIL, text, delay, NULL);
}

/* login_claim - the user name in a first response: 0, or -1 when it
 * is refused (answered and logged here; the exchange is over) */
static int
login_claim(struct authd_peer *p, const char *in, size_t inlen)
{
	struct authd_login *l = p->login;
	const char *why = NULL;
	char text[128];

	if (authd_sasl_claimed(l->mech, l->nresp++, in, inlen, l->user,
		sizeof(l->user), &why) == 0)
		return 0;
	authd_report_malformed(l->addr, l->mech, why);
	(void)snprintf(text, sizeof(text), "Refused: %s", why);
	login_no(p, AUTHCLIENT_BADDATA, text, 0, NULL);
	return -1;
}

/* login_challenge - CONTINUE with the server's data */
static void
login_challenge(struct authd_peer *p, const char *out, unsigned outlen)
{
	ipc_msg_init(&authd_reply, AUTHPROTO_T_CONTINUE);
	if (ipc_put(&authd_reply, AUTHPROTO_CHAL, out ? out : "",
		out ? outlen : 0) < 0) {
		login_no(p, AUTHCLIENT_UNAVAILABLE, "challenge too long", 0,
		    NULL);
		return;
	}
	authd_peer_send(p, &authd_reply);
}

/* login_outcome - what libsasl2 said about the last response */
static void
login_outcome(struct authd_peer *p, int rc, const char *out, unsigned outlen)
{
	const char *text = "authentication failed";
	enum authclient_result r = authd_sasl_code(rc, &text);

	switch (r) {
	case AUTHCLIENT_OK:
		if (out != NULL && outlen > 0) {
			/* additional data with success (SCRAM's server
			 * signature): IMAP sends it as one more challenge,
			 * answered empty, then the tagged OK */
			p->login->ok_pending = 1;
			login_challenge(p, out, outlen);
			return;
		}
		login_ok(p);
		return;
	case AUTHCLIENT_CONTINUE:
		login_challenge(p, out, outlen);
		return;
	case AUTHCLIENT_FAIL:
		login_fail(p, text);
		return;
	case AUTHCLIENT_BADDATA:
		/* libsasl2's reason (canon_user's, for a user name) */
		authd_report_malformed(p->login->addr, p->login->mech,
		    sasl_errdetail(p->login->sasl));
		login_no(p, r, text, 0, NULL);
		return;
	case AUTHCLIENT_UNAVAILABLE:
		log_warn("login backend error user=%s addr=%s mech=%s "
			 "sasl=\"%s\"",
		    p->login->user[0] ? p->login->user : "-", p->login->addr,
		    p->login->mech, sasl_errdetail(p->login->sasl));
		/* FALLTHROUGH */
	default:
		login_no(p, r, text, 0, NULL);
	}
}

void
authd_job_free(struct authd_job *j)
{
	if (j->own_sasl)
		authd_sasl_dispose(&j->sasl);
	if (j->in != NULL) {
		explicit_bzero(j->in, j->inlen);
		free(j->in);
	}
	free(j->out);
	free(j);
}

/*
 * login_run - one libsasl2 call with the client's response: inline when
 * there is none (nothing to check), else a job in the priority queue
 */
static void
login_run(struct authd_peer *p, int start, const char *in, unsigned inlen,
    int has_in)
{
	struct authd_login *l = p->login;
	struct authd_job *j;
	const char *out = NULL;
	unsigned outlen = 0;
	int rc;

	if (start && !has_in) {
		rc =
		    sasl_server_start(l->sasl, l->mech, NULL, 0, &out, &outlen);
		login_outcome(p, rc, out, outlen);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->peer = p;
	j->sasl = l->sasl;
	j->start = start;
	snprintf(j->mech, sizeof(j->mech), "%s", l->mech);
	j->in = xmemdup(inlen ? in : "", inlen ? inlen : 1);
	j->inlen = inlen;
	j->has_in = has_in;
	j->q.cls = authd_penalty_class(l->user, &l->keys, &j->q.score);
	l->job = j;
	authd_sched_submit(j);
}

void
authd_login_done(struct authd_job *j)
{
	struct authd_peer *p = j->peer;

	if (p->login == NULL || p->login->job != j)
		log_panic("finished job without its login");
	log_set_session(p->login->conn_id);
	p->login->job = NULL;
	login_outcome(p, j->rc, j->out, j->outlen);
}

void
authd_login_shed(struct authd_job *j, const char *why)
{
	struct authd_peer *p = j->peer;
	struct authd_login *l = p ? p->login : NULL;
	int running = j->state == AUTHD_J_RUNNING;

	if (l != NULL && l->job == j) {
		log_set_session(l->conn_id);
		authd_report_shed(l->user, l->addr, why, j->q.cls,
		    authd_now_ms() - j->queued_ms);
		if (running) {
			j->own_sasl = 1;
			l->sasl = NULL;
		}
		l->job = NULL;
		login_no(p, AUTHCLIENT_UNAVAILABLE,
		    strcmp(why, "backend-timeout") == 0
			? "authentication backend timed out"
			: "server busy",
		    0, NULL);
	}
	if (!running)
		authd_job_free(j);
}

/* login_parse - START's fields into a new exchange; -1 malformed */
static int
login_parse(struct authd_login *l, const struct ipc_msg *m)
{
	uint32_t port = 0, secure = 0, fails = 0;

	if (ipc_get_str(m, AUTHPROTO_MECH, l->mech, sizeof(l->mech)) < 0 ||
	    ipc_get_str(m, AUTHPROTO_ADDR, l->addr, sizeof(l->addr)) < 0 ||
	    ipc_get_u32(m, AUTHPROTO_SECURE, &secure) < 0)
		return -1;
	ipc_get_u32(m, AUTHPROTO_PORT, &port);
	ipc_get_u32(m, AUTHPROTO_FAILS, &fails);
	ipc_get_u64(m, AUTHPROTO_CONNID, &l->conn_id);
	l->port = port;
	l->secure = secure != 0;
	authd_keys_make(l->addr, &l->keys);
	l->conn_fails = fails > 1000 ? 1000 : (int)fails;
	return 0;
}

void
authd_login_start(struct authd_peer *p, const struct ipc_msg *m)
{
	struct authd_login *l;
	const void *in = NULL;
	size_t inlen = 0;
	int has_in;

	login_free(p);
	l = p->login = xcalloc(1, sizeof(*l));
	if (login_parse(l, m) < 0) {
		log_warn("malformed START from a worker; closing it");
		login_free(p);
		p->dead = 1;
		return;
	}
	log_set_session(l->conn_id);
	has_in = ipc_get(m, AUTHPROTO_RESP, &in, &inlen) == 0;
	if (inlen > AUTHPROTO_MAX_RESP) {
		login_no(p, AUTHCLIENT_BADDATA, "authentication data too long",
		    0, NULL);
		return;
	}
	if (authd_sasl_is_plain(l->mech) &&
	    !authd_sasl_plaintext_ok(l->secure)) {
		login_no(p, AUTHCLIENT_PRIVACY,
		    "plaintext authentication "
		    "requires TLS",
		    0, NULL);
		return;
	}
	if (authd_sasl_new(&l->sasl, l->secure, l->addr, l->port) < 0) {
		login_no(p, AUTHCLIENT_UNAVAILABLE,
		    "authentication service error", 0, NULL);
		return;
	}
	if (has_in && login_claim(p, in, inlen) < 0)
		return;
	login_run(p, 1, in, (unsigned)inlen, has_in);
}

void
authd_login_step(struct authd_peer *p, const struct ipc_msg *m)
{
	struct authd_login *l = p->login;
	const void *in;
	size_t inlen;
	uint64_t conn_id;

	if (ipc_get(m, AUTHPROTO_RESP, &in, &inlen) < 0) {
		log_warn("malformed STEP from a worker; closing it");
		p->dead = 1;
		return;
	}
	/* the next step of an exchange detached while its session was
	 * parked: whichever worker resumed it takes it back */
	if (ipc_get_u64(m, AUTHPROTO_CONNID, &conn_id) == 0) {
		login_free(p);
		l = p->login = authd_detach_take(conn_id);
	}
	if (l != NULL)
		log_set_session(l->conn_id);
	if (l == NULL || l->job != NULL) {
		/* authd restarted since the START, or a confused worker */
		login_free(p);
		ipc_msg_init(&authd_reply, AUTHPROTO_T_NO);
		ipc_put_u32(&authd_reply, AUTHPROTO_CODE,
		    AUTHCLIENT_UNAVAILABLE);
		ipc_put_str(&authd_reply, AUTHPROTO_TEXT,
		    "no authentication in "
		    "progress");
		authd_peer_send(p, &authd_reply);
		return;
	}
	if (inlen > AUTHPROTO_MAX_RESP) {
		login_no(p, AUTHCLIENT_BADDATA, "authentication data too long",
		    0, NULL);
		return;
	}
	if (l->ok_pending) {
		if (inlen == 0)
			login_ok(p);
		else
			login_no(p, AUTHCLIENT_BADDATA,
			    "expected an empty "
			    "response",
			    0, NULL);
		return;
	}
	if (login_claim(p, in, inlen) < 0)
		return;
	login_run(p, 0, in, (unsigned)inlen, 1);
}

void
authd_login_abort(struct authd_peer *p)
{
	login_free(p);
}

/* login_dropped - a detached exchange ends without its client's answer */
static void
login_dropped(void *obj, const char *why)
{
	struct authd_login *l = obj;

	log_set_session(l->conn_id);
	log_info("sasl exchange dropped user=%s addr=%s mech=%s conn=%llu "
		 "reason=%s",
	    l->user[0] ? l->user : "-", l->addr, l->mech,
	    (unsigned long long)l->conn_id, why);
	login_dispose(l);
}

void
authd_login_detach(struct authd_peer *p, const struct ipc_msg *m)
{
	struct authd_login *l = p->login;
	long long max = cfg_int("sasl_detached_max"),
		  max_addr = cfg_int("sasl_detached_max_addr");
	const char *limit;
	uint64_t conn_id;

	authd_detach_init(login_dropped);
	if (l != NULL)
		log_set_session(l->conn_id);
	if (ipc_get_u64(m, AUTHPROTO_CONNID, &conn_id) < 0 || conn_id == 0 ||
	    l == NULL || l->job != NULL || l->conn_id != conn_id) {
		ipc_msg_init(&authd_reply, AUTHPROTO_T_NO);
		ipc_put_u32(&authd_reply, AUTHPROTO_CODE,
		    AUTHCLIENT_UNAVAILABLE);
		ipc_put_str(&authd_reply, AUTHPROTO_TEXT,
		    "no authentication "
		    "to detach");
		authd_peer_send(p, &authd_reply);
		return;
	}
	if (authd_detach_put(conn_id, l->addr, l, authd_now_ms(), max, max_addr,
		&limit) < 0) {
		log_info("refused sasl detach user=%s addr=%s mech=%s "
			 "limit=%s:%lld",
		    l->user[0] ? l->user : "-", l->addr, l->mech, limit,
		    strcmp(limit, "sasl_detached_max") == 0 ? max : max_addr);
		login_no(p, AUTHCLIENT_LIMIT,
		    "Too many unfinished "
		    "authentications",
		    0, limit);
		return;
	}
	p->login = NULL;
	ipc_msg_init(&authd_reply, AUTHPROTO_T_DETACHED);
	authd_peer_send(p, &authd_reply);
}

void
authd_login_forget(uint64_t conn_id, const char *why)
{
	authd_detach_drop(conn_id, why);
}

void
authd_login_tick(long long now_ms)
{
	/* the parked session's own deadline (idled's) comes first: this
	 * only catches what nobody will ask for again */
	authd_detach_expire(now_ms,
	    cfg_duration_ms("sasl_response_timeout") + AUTHD_DETACH_MARGIN_MS);
}

/*
 * cmd_auth - CAPABILITY, NOOP, LOGOUT, ID, LOGIN, AUTHENTICATE, ENABLE,
 * NAMESPACE.  Credentials are relayed to authd; imapd never checks a
 * password itself.
 *
 * A failed login that authd delays is handed to idled with its reply
 * (imapd_park_penalty), so the delay costs no worker; only when idled
 * cannot take it does the worker wait out the delay itself.  Every SASL
 * response is bounded (AUTHPROTO_MAX_RESP decoded bytes) and strictly
 * base64-checked before authd sees it.
 */
#include "config.h"

#include <errno.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "authclient.h"
#include "authlink.h"
#include "cfg.h"
#include "imapd.h"
#include "imapd_cmd.h"
#include "log.h"
#include "xalloc.h"

static void
cmd_capability_list(struct imap_session *s, struct buf *out)
{
	const char *mechs;
	char *m, *w, *save = NULL;
	long long limit;

	buf_puts(out, "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE "
	    "UIDPLUS UNSELECT CHILDREN MOVE CONDSTORE QRESYNC ESEARCH "
	    "LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE "
	    "STATUS=SIZE WITHIN SAVEDATE OBJECTID SORT SORT=DISPLAY "
	    "THREAD=ORDEREDSUBJECT PREVIEW BINARY MULTIAPPEND NOTIFY");
	/* APPENDLIMIT (RFC 7889): what APPEND takes, its literal too */
	limit = cfg_size("maxmessagesize");
	if (cfg_size("maxliteral") > 0 && cfg_size("maxliteral") < limit)
		limit = cfg_size("maxliteral");
	buf_printf(out, " APPENDLIMIT=%lld", limit);
	if (s->state != IMAP_S_NOTAUTH)
		return;
	if (!s->secure && !cfg_bool("allowplaintext"))
		buf_puts(out, " LOGINDISABLED");
	if (!s->tls && imapd_tls_available())
		buf_puts(out, " STARTTLS");
	mechs = authclient_mechs(s->secure);
	if (mechs == NULL)
		return;
	m = xstrdup(mechs);
	for (w = strtok_r(m, " ", &save); w; w = strtok_r(NULL, " ", &save))
		buf_printf(out, " AUTH=%s", w);
	free(m);
}

void
cmd_capability(struct imap_cmd *cmd)
{
	struct buf caps = BUF_INIT;

	cmd_capability_list(cmd->s, &caps);
	io_printf(cmd->s, "* CAPABILITY %s\r\n", buf_cstr(&caps));
	buf_free(&caps);
	imap_ok(cmd, "Completed");
}

void
cmd_noop(struct imap_cmd *cmd)
{
	imap_ok(cmd, "%s completed", cmd->c->name);
}

void
cmd_logout(struct imap_cmd *cmd)
{
	io_printf(cmd->s, "* BYE berth logging out\r\n");
	imap_ok(cmd, "Completed");
	cmd->s->state = IMAP_S_LOGOUT;
}

void
cmd_id(struct imap_cmd *cmd)
{
	io_printf(cmd->s, "* ID (\"name\" \"berth\" \"version\" \"%s\")\r\n",
	    PACKAGE_VERSION);
	imap_ok(cmd, "Completed");
}

void
cmd_enable(struct imap_cmd *cmd)
{
	struct buf en = BUF_INIT;
	size_t i;

	if (cmd->nargs == 0) {
		imap_bad(cmd, "ENABLE needs at least one capability");
		return;
	}
	for (i = 0; i < cmd->nargs; i++) {
		if (cmd->args[i].type != IMAPP_ATOM) {
			imap_bad(cmd, "ENABLE takes capability names");
			buf_free(&en);
			return;
		}
		if (strcasecmp(cmd->args[i].str, "CONDSTORE") == 0 &&
		    !cmd->s->condstore) {
			cmd->s->condstore = 1;
			buf_puts(&en, " CONDSTORE");
		}
		/* QRESYNC implies CONDSTORE (RFC 7162 3.2.3) */
		if (strcasecmp(cmd->args[i].str, "QRESYNC") == 0 &&
		    !cmd->s->qresync) {
			cmd->s->qresync = cmd->s->condstore = 1;
			buf_puts(&en, " QRESYNC");
		}
	}
	io_printf(cmd->s, "* ENABLED%s\r\n", buf_cstr(&en));
	buf_free(&en);
	imap_ok(cmd, "Completed");
}

void
cmd_namespace(struct imap_cmd *cmd)
{
	io_printf(cmd->s, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
	imap_ok(cmd, "Completed");
}

/* cmd_auth_sleep - the worker serves a delay itself: the watchdog pauses
 * (this is waiting, not being stuck); a client that hangs up ends it */
static void
cmd_auth_sleep(struct imap_session *s, long long ms)
{
	static int warned;
	struct pollfd pfd = { s->fd, POLLRDHUP, 0 };
	unsigned watchdog;
	int r;

	if (!warned++)
		log_warn("failed-login delays served in the worker: idled "
		    "cannot park them");
	watchdog = alarm(0);
	do
		r = poll(&pfd, 1, (int)ms);
	while (r < 0 && errno == EINTR);
	if (r > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		s->dead = 1;
	if (watchdog > 0)
		alarm(IMAPD_WATCHDOG_S);
}

/* cmd_auth_failed - wrong credentials: the NO, after authd's delay */
static void
cmd_auth_failed(struct imap_cmd *cmd, const struct authclient_reply *rep)
{
	struct imap_session *s = cmd->s;
	int close_after;
	struct buf reply = BUF_INIT;

	close_after = authclient_fail_line(&reply, cmd->tag, ++s->failed_logins);
	if (close_after)
		log_info("closing after failed logins addr=%s count=%d "
		    "limit=maxbadlogins:%lld", s->addr, s->failed_logins,
		    cfg_int("maxbadlogins"));
	if (rep->delay_ms > 0 && io_flush(s) == 0) {
		if (imapd_park_penalty(s, rep->delay_ms, buf_cstr(&reply),
		    close_after) == 0) {
			s->parked = 1;
			s->state = IMAP_S_LOGOUT;
			buf_free(&reply);
			return;
		}
		cmd_auth_sleep(s, rep->delay_ms);
	}
	io_put(s, reply.data, reply.len);
	buf_free(&reply);
	if (close_after)
		s->state = IMAP_S_LOGOUT;
}

void
cmd_auth_login_finish(struct imap_session *s, const char *tag,
    const char *user, const char *mech)
{
	struct store_mbox mb;
	struct buf caps = BUF_INIT;
	const char *err;

	snprintf(s->user, sizeof(s->user), "%s", user);
	if (store_mbox_get(s->st, s->user, "INBOX", &mb, &err) ==
	    STORE_ENOENT) {
		/* first login */
		store_mbox_create(s->st, s->user, "INBOX", &err);
		specialuse_autocreate(s);
	}
	s->state = IMAP_S_AUTH;
	authlink_hold(s->conn_id, s->addr, s->user);
	log_info("login user=%s addr=%s mech=%s", s->user, s->addr, mech);
	cmd_capability_list(s, &caps);
	io_printf(s, "%s OK [CAPABILITY %s] Logged in\r\n", tag,
	    buf_cstr(&caps));
	buf_free(&caps);
}

/* cmd_auth_done - common end of LOGIN and AUTHENTICATE */
static void
cmd_auth_done(struct imap_cmd *cmd, const struct authclient_reply *rep,
    const char *mech)
{
	struct buf line = BUF_INIT;

	switch (rep->result) {
	case AUTHCLIENT_OK:
		cmd_auth_login_finish(cmd->s, cmd->tag, rep->user, mech);
		return;
	case AUTHCLIENT_FAIL:
		cmd_auth_failed(cmd, rep);
		return;
	default:
		/* the same words idled uses for a parked login */
		authclient_reply_line(&line, cmd->tag, rep);
		buf_append(&cmd->s->out, line.data, line.len);
		buf_free(&line);
		return;
	}
}

static void
cmd_auth_client(struct imap_session *s, struct authclient_client *cl)
{
	cl->addr = s->addr;
	cl->port = s->port;
	cl->local_addr = "";
	cl->secure = s->secure;
	cl->conn_id = s->conn_id;
	cl->failed_logins = s->failed_logins;
}

/*
 * cmd_auth_park - a one-step login whose check need not hold this
 * worker: park the session in idled (waiting for authd's answer, which
 * goes there), then hand authd the credentials.  0 when the session is
 * gone from this worker, -1 when the caller must do the login itself.
 */
static int
cmd_auth_park(struct imap_cmd *cmd, const char *mech, const char *resp,
    size_t len)
{
	struct imap_session *s = cmd->s;
	struct authclient_client cl;
	struct authclient_reply rep;
	struct buf unavailable = BUF_INIT;
	int r;

	if (!cfg_bool("login_park") || s->conn_id == 0 || authlink_fd_now() < 0 ||
	    strlen(cmd->tag) >= AUTHPROTO_MAX_TAG || io_flush(s) < 0)
		return -1;
	/* the answer if authd's never comes */
	memset(&rep, 0, sizeof(rep));
	rep.result = AUTHCLIENT_UNAVAILABLE;
	authclient_reply_line(&unavailable, cmd->tag, &rep);
	r = imapd_park_login(s, cmd->tag, mech, buf_cstr(&unavailable),
	    authclient_timeout_ms() + 5000);
	buf_free(&unavailable);
	if (r != 0)
		return r < 0 ? -1 : 0;	/* unacknowledged: idled answers */
	cmd_auth_client(s, &cl);
	if (authclient_login_async(&cl, mech, resp, len, cmd->tag) < 0)
		log_warn("authd not told of a parked login addr=%s; idled "
		    "answers it when its wait runs out", s->addr);
	return 0;
}

/* cmd_reply_set - a reply decided in the worker */
static void
cmd_reply_set(struct authclient_reply *rep, enum authclient_result r)
{
	memset(rep, 0, sizeof(*rep));
	rep->result = r;
	rep->reason = rep->limit = "";
}

void
cmd_login(struct imap_cmd *cmd)
{
	const char *user = imap_astring(cmd, 0), *pass = imap_astring(cmd, 1);
	const char *why = NULL;
	struct authclient_client cl;
	struct authclient_reply rep;
	struct buf resp = BUF_INIT, chal = BUF_INIT;

	if (user == NULL || pass == NULL || cmd->nargs != 2) {
		imap_bad(cmd, "LOGIN needs a user name and a password");
		return;
	}
	/* what the PLAIN relay cannot carry; authd's rule (lib/uname)
	 * judges the rest of the name */
	if (memchr(user, '\0', cmd->args[0].len) != NULL)
		why = "NUL in user name";
	else if (memchr(pass, '\0', cmd->args[1].len) != NULL)
		why = "NUL in password";
	else if (cmd->args[0].len >= AUTHCLIENT_MAX_USER ||
	    cmd->args[0].len + cmd->args[1].len + 2 > AUTHPROTO_MAX_RESP)
		why = "user name or password too long";
	if (why != NULL) {
		log_info("login refused user=- addr=%s mech=LOGIN "
		    "reason=\"%s\"", cmd->s->addr, why);
		imap_bad(cmd, "Refused: %s", why);
		return;
	}
	if (!cmd->s->secure && !cfg_bool("allowplaintext")) {
		cmd_reply_set(&rep, AUTHCLIENT_PRIVACY);
		cmd_auth_done(cmd, &rep, "LOGIN");
		return;
	}
	/* LOGIN is relayed as SASL PLAIN: "\0user\0pass" */
	buf_putc(&resp, '\0');
	buf_append(&resp, user, cmd->args[0].len);
	buf_putc(&resp, '\0');
	buf_append(&resp, pass, cmd->args[1].len);
	if (cmd_auth_park(cmd, "PLAIN", resp.data, resp.len) == 0) {
		explicit_bzero(resp.data, resp.len);
		buf_free(&resp);
		return;
	}
	cmd_auth_client(cmd->s, &cl);
	authclient_start(&cl, "PLAIN", resp.data, resp.len, &chal, &rep);
	if (rep.result == AUTHCLIENT_CONTINUE) {
		authclient_abort();
		rep.result = AUTHCLIENT_FAIL;
	}
	explicit_bzero(resp.data, resp.len);
	buf_free(&resp);
	buf_free(&chal);
	cmd_auth_done(cmd, &rep, "LOGIN");
}

/* cmd_b64_decode - strict base64 s into out; -1 if malformed or if it
 * decodes to more than AUTHPROTO_MAX_RESP bytes */
static int
cmd_b64_decode(const char *s, struct buf *out)
{
	size_t len = strlen(s), i, pad = 0;
	unsigned char *p;
	int n;

	buf_reset(out);
	if (len % 4 != 0 || len / 4 * 3 > AUTHPROTO_MAX_RESP + 2)
		return -1;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '=') {
			if (i < len - 2)
				return -1;
			pad++;
		} else if (pad || !((c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '+' || c == '/')) {
			return -1;
		}
	}
	if (len == 0)
		return 0;
	p = (unsigned char *)buf_reserve(out, len);
	n = EVP_DecodeBlock(p, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n < pad)
		return -1;
	n -= (int)pad;
	if (n > AUTHPROTO_MAX_RESP)
		return -1;
	out->len = (size_t)n;
	out->data[n] = '\0';
	return 0;
}

static void
cmd_b64_send(struct imap_session *s, const struct buf *chal)
{
	char *enc = xmalloc(4 * (chal->len / 3 + 1) + 1);

	EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)
	    (chal->data ? chal->data : ""), (int)chal->len);
	io_printf(s, "+ %s\r\n", enc);
	free(enc);
}

/*
 * cmd_auth_timeout - the client owes a SASL response and sent none in
 * sasl_response_timeout.  authd keeps the exchange's SASL state on this
 * worker's connection, so the exchange cannot be parked and resumed by
 * another worker: it is bounded instead, and ends as a failed login of
 * the connection (maxbadlogins counts it).
 */
static void
cmd_auth_timeout(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	long long limit = cfg_duration_ms("sasl_response_timeout");

	authclient_abort();
	s->failed_logins++;
	buf_reset(&s->in);	/* a response begun and never finished */
	log_info("refused authentication timed out user=- addr=%s "
	    "limit=sasl_response_timeout:%llds", s->addr, limit / 1000);
	imap_no(cmd, "Authentication timed out");
	if (cfg_int("maxbadlogins") > 0 &&
	    s->failed_logins >= cfg_int("maxbadlogins")) {
		io_printf(s, "* BYE Too many failed logins\r\n");
		s->state = IMAP_S_LOGOUT;
	}
}

/*
 * cmd_auth_exchange - relay challenges and responses until authd decides;
 * 0 with *rep set, -1 when the exchange ended here (cancelled, bad
 * base64, client gone: already answered)
 */
static int
cmd_auth_exchange(struct imap_cmd *cmd, struct buf *data, struct buf *chal,
    struct authclient_reply *rep)
{
	struct imap_session *s = cmd->s;
	char *line;
	int bad;

	while (rep->result == AUTHCLIENT_CONTINUE) {
		cmd_b64_send(s, chal);
		line = io_read_line(s,
		    cfg_duration_ms("sasl_response_timeout"));
		if (line == NULL && errno == ETIMEDOUT) {
			cmd_auth_timeout(cmd);
			return -1;
		}
		if (line == NULL) {
			authclient_abort();
			s->dead = 1;
			return -1;
		}
		if (strcmp(line, "*") == 0) {
			free(line);
			authclient_abort();
			imap_bad(cmd, "Authentication cancelled");
			return -1;
		}
		bad = cmd_b64_decode(line, data) < 0;
		explicit_bzero(line, strlen(line));
		free(line);
		if (bad) {
			authclient_abort();
			imap_bad(cmd, "Invalid base64 in response, or longer "
			    "than %d bytes", AUTHPROTO_MAX_RESP);
			return -1;
		}
		authclient_step(data->data ? data->data : "", data->len, chal,
		    rep);
		if (data->data)
			explicit_bzero(data->data, data->len);
	}
	return 0;
}

void
cmd_authenticate(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct authclient_client cl;
	struct authclient_reply rep;
	struct buf data = BUF_INIT, chal = BUF_INIT;
	const char *mech;

	if (cmd->nargs < 1 || cmd->nargs > 2 ||
	    cmd->args[0].type != IMAPP_ATOM ||
	    strlen(cmd->args[0].str) >= AUTHPROTO_MAX_MECH) {
		imap_bad(cmd, "AUTHENTICATE needs a mechanism name");
		return;
	}
	mech = cmd->args[0].str;
	cmd_auth_client(s, &cl);
	if (cmd->nargs == 2) {
		/* SASL-IR: "=" is an empty initial response */
		const char *ir = cmd->args[1].str;

		if (cmd->args[1].type != IMAPP_ATOM || (strcmp(ir, "=") != 0 &&
		    cmd_b64_decode(ir, &data) < 0)) {
			imap_bad(cmd, "Invalid base64 initial response");
			return;
		}
		/* PLAIN with its initial response is one step */
		if (strcasecmp(mech, "PLAIN") == 0 && data.len > 0 &&
		    cmd_auth_park(cmd, "PLAIN", data.data, data.len) == 0) {
			explicit_bzero(data.data, data.len);
			buf_free(&data);
			return;
		}
		authclient_start(&cl, mech, data.data ? data.data : "", data.len,
		    &chal, &rep);
		if (data.data)
			explicit_bzero(data.data, data.len);
	} else {
		authclient_start(&cl, mech, NULL, 0, &chal, &rep);
	}
	if (cmd_auth_exchange(cmd, &data, &chal, &rep) == 0)
		cmd_auth_done(cmd, &rep, mech);
	buf_free(&data);
	buf_free(&chal);
}

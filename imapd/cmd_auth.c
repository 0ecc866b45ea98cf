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
 *
 * An AUTHENTICATE whose client does not send its next response within
 * partial_park_delay costs no worker either: authd detaches the exchange
 * (keeps it under the connection's id) and the session parks in idled
 * (imapd_park_sasl), which hands it to any worker once the response
 * line is in, or answers the timeout itself.  The worker that resumes it
 * goes on exactly where this one stopped (cmd_auth_resume).
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
#include "clock.h"
#include "imapd.h"
#include "imapcaps.h"
#include "imapd_cmd.h"
#include "log.h"
#include "xalloc.h"

/*
 * cmd_auth_mechs - the mechanisms authd offers at this security, asked
 * once per process (they change only with the configuration, and a new
 * configuration comes with new workers): the greeting lists them too
 * without a round trip to authd per connection.  NULL when authd could
 * not be asked.
 */
static const char *
cmd_auth_mechs(int secure)
{
	static char mechs[2][1024];
	static int known[2];

	secure = secure != 0;
	if (!known[secure] &&
	    authclient_mechs(secure, mechs[secure], sizeof(mechs[secure])) == 0)
		known[secure] = 1;
	return known[secure] ? mechs[secure] : NULL;
}

void
cmd_auth_capabilities(struct imap_session *s, struct buf *out)
{
	struct imapcaps c = { s->state == IMAP_S_NOTAUTH, s->z == NULL,
		s->secure, 0, NULL };

	if (c.notauth) {
		c.starttls = !s->tls && imapd_tls_available();
		c.mechs = cmd_auth_mechs(s->secure);
	}
	imapcaps_put(out, &c);
}

void
cmd_capability(struct imap_cmd *cmd)
{
	struct buf caps = BUF_INIT;

	cmd_auth_capabilities(cmd->s, &caps);
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
		/* IMAP4rev2 (RFC 9051) takes UTF-8 as UTF8=ACCEPT does,
		 * and has no \\Recent: this session neither takes nor
		 * shows it from now on */
		if (strcasecmp(cmd->args[i].str, "IMAP4rev2") == 0 &&
		    !cmd->s->rev2) {
			cmd->s->rev2 = cmd->s->utf8 = 1;
			view_recent_drop(cmd->s);
			buf_puts(&en, " IMAP4rev2");
		}
		if (strcasecmp(cmd->args[i].str, "UTF8=ACCEPT") == 0 &&
		    !cmd->s->utf8) {
			cmd->s->utf8 = 1;
			buf_puts(&en, " UTF8=ACCEPT");
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

	close_after =
	    authclient_fail_line(&reply, cmd->tag, ++s->failed_logins);
	if (close_after)
		log_info("closing after failed logins addr=%s count=%d "
			 "limit=maxbadlogins:%lld",
		    s->addr, s->failed_logins, cfg_int("maxbadlogins"));
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
cmd_auth_login_finish(struct imap_session *s, const char *tag, const char *user,
    const char *mech)
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
	cmd_auth_capabilities(s, &caps);
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

	if (!cfg_bool("login_park") || s->conn_id == 0 ||
	    authlink_fd_now() < 0 || strlen(cmd->tag) >= AUTHPROTO_MAX_TAG ||
	    io_flush(s) < 0)
		return -1;
	/* the answer if authd's never comes */
	memset(&rep, 0, sizeof(rep));
	rep.result = AUTHCLIENT_UNAVAILABLE;
	authclient_reply_line(&unavailable, cmd->tag, &rep);
	r = imapd_park_login(s, cmd->tag, mech, buf_cstr(&unavailable),
	    authclient_timeout_ms() + 5000);
	buf_free(&unavailable);
	if (r != 0)
		return r < 0 ? -1 : 0; /* unacknowledged: idled answers */
	cmd_auth_client(s, &cl);
	if (authclient_login_async(&cl, mech, resp, len, cmd->tag) < 0)
		log_warn("authd not told of a parked login addr=%s; idled "
			 "answers it when its wait runs out",
		    s->addr);
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
			 "reason=\"%s\"",
		    cmd->s->addr, why);
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
		} else if (pad ||
		    !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '+' || c == '/')) {
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

	EVP_EncodeBlock((unsigned char *)enc,
	    (const unsigned char *)(chal->data ? chal->data : ""),
	    (int)chal->len);
	io_printf(s, "+ %s\r\n", enc);
	free(enc);
}

/* one AUTHENTICATE's exchange, as the worker relays it */
struct cmd_sasl {
	struct imap_cmd *cmd;
	const char *mech;
	uint64_t detached;     /* authd keeps the exchange under this
				* connection id, off our link (0: no) */
	long long deadline_ms; /* for the client's next response */
};

/* cmd_sasl_abort - the exchange ends here */
static void
cmd_sasl_abort(struct cmd_sasl *x)
{
	if (x->detached != 0)
		authclient_abort_detached(x->detached);
	else
		authclient_abort();
	x->detached = 0;
}

/*
 * cmd_auth_timeout - the client owes a SASL response and sent none in
 * sasl_response_timeout: the exchange ends as a failed login of the
 * connection (maxbadlogins counts it).  A parked session's timeout is
 * idled's: the same words (cmd_auth_timeout_line).
 */
static int
cmd_auth_timeout_line(struct buf *out, const char *tag, int failed_logins)
{
	long long max = cfg_int("maxbadlogins");

	buf_printf(out, "%s NO Authentication timed out\r\n", tag);
	if (max > 0 && failed_logins >= max) {
		buf_puts(out, "* BYE Too many failed logins\r\n");
		return 1;
	}
	return 0;
}

static void
cmd_auth_timeout(struct cmd_sasl *x)
{
	struct imap_session *s = x->cmd->s;
	long long limit = cfg_duration_ms("sasl_response_timeout");
	struct buf line = BUF_INIT;

	cmd_sasl_abort(x);
	s->failed_logins++;
	buf_reset(&s->in); /* a response begun and never finished */
	log_info("refused authentication timed out user=- addr=%s "
		 "limit=sasl_response_timeout:%llds",
	    s->addr, limit / 1000);
	if (cmd_auth_timeout_line(&line, x->cmd->tag, s->failed_logins))
		s->state = IMAP_S_LOGOUT;
	io_put(s, line.data, line.len);
	buf_free(&line);
}

/*
 * cmd_auth_park_sasl - the client has not sent its response within
 * partial_park_delay: detach the exchange in authd and park the session
 * in idled, which wakes it when the response line is there.  1 when the
 * session has left this worker, 0 when it waits here (on, or without
 * authd's exchange detached: x->detached says), -1 when authd refused
 * (answered: the exchange is over).
 */
static int
cmd_auth_park_sasl(struct cmd_sasl *x)
{
	struct imap_session *s = x->cmd->s;
	struct authclient_reply rep;
	struct buf line = BUF_INIT, reply = BUF_INIT;
	int close_after, r;

	if (!cfg_bool("login_park") || s->conn_id == 0 ||
	    strlen(x->cmd->tag) >= AUTHPROTO_MAX_TAG || io_flush(s) < 0)
		return 0;
	if (authclient_detach(s->conn_id, &rep) < 0) {
		if (rep.result != AUTHCLIENT_LIMIT)
			return 0; /* authd still has it, or never will */
		authclient_reply_line(&line, x->cmd->tag, &rep);
		io_put(s, line.data, line.len);
		buf_free(&line);
		return -1;
	}
	x->detached = s->conn_id;
	close_after =
	    cmd_auth_timeout_line(&reply, x->cmd->tag, s->failed_logins + 1);
	r = imapd_park_sasl(s, x->cmd->tag, x->mech, buf_cstr(&reply),
	    x->deadline_ms, close_after);
	buf_free(&reply);
	return r == 0 ? 1 : 0;
}

/*
 * cmd_auth_read - the client's next response, by x->deadline_ms; parked
 * after partial_park_delay when it can be.  0 with *line_r; 1 parked; -1
 * with errno ETIMEDOUT (not answered), EPROTO (answered) or else (the
 * client is gone).
 */
static int
cmd_auth_read(struct cmd_sasl *x, char **line_r)
{
	struct imap_session *s = x->cmd->s;
	long long pdelay = cfg_duration_ms("partial_park_delay"), left;
	int r;

	left = x->deadline_ms - clock_mono_ms();
	if (pdelay > 0 && pdelay < left && x->detached == 0) {
		*line_r = io_read_line(s, pdelay);
		if (*line_r != NULL)
			return 0;
		if (errno != ETIMEDOUT)
			return -1;
		if ((r = cmd_auth_park_sasl(x)) != 0) {
			errno = EPROTO;
			return r;
		}
		left = x->deadline_ms - clock_mono_ms();
	}
	*line_r = io_read_line(s, left > 0 ? left : 0);
	return *line_r != NULL ? 0 : -1;
}

/*
 * cmd_auth_exchange - relay challenges and responses until authd decides;
 * 0 with *rep set, -1 when the exchange ended here (cancelled, bad
 * base64, timed out, client gone or parked: already answered).  With
 * first_chal 0 the challenge is out already (a resumed session).
 */
static int
cmd_auth_exchange(struct cmd_sasl *x, struct buf *data, struct buf *chal,
    struct authclient_reply *rep, int first_chal)
{
	struct imap_cmd *cmd = x->cmd;
	struct imap_session *s = cmd->s;
	char *line;
	int bad, r;

	while (rep->result == AUTHCLIENT_CONTINUE) {
		if (first_chal) {
			cmd_b64_send(s, chal);
			x->deadline_ms = clock_mono_ms() +
			    cfg_duration_ms("sasl_response_timeout");
		}
		first_chal = 1;
		if ((r = cmd_auth_read(x, &line)) > 0)
			return -1; /* parked */
		if (r < 0 && errno == ETIMEDOUT) {
			cmd_auth_timeout(x);
			return -1;
		}
		if (r < 0) {
			if (errno != EPROTO) {
				cmd_sasl_abort(x);
				s->dead = 1;
			}
			return -1;
		}
		if (strcmp(line, "*") == 0) {
			free(line);
			cmd_sasl_abort(x);
			imap_bad(cmd, "Authentication cancelled");
			return -1;
		}
		bad = cmd_b64_decode(line, data) < 0;
		explicit_bzero(line, strlen(line));
		free(line);
		if (bad) {
			cmd_sasl_abort(x);
			imap_bad(cmd,
			    "Invalid base64 in response, or longer "
			    "than %d bytes",
			    AUTHPROTO_MAX_RESP);
			return -1;
		}
		if (x->detached != 0)
			authclient_step_detached(x->detached,
			    data->data ? data->data : "", data->len, chal, rep);
		else
			authclient_step(data->data ? data->data : "", data->len,
			    chal, rep);
		x->detached = 0; /* back on our link */
		if (data->data)
			explicit_bzero(data->data, data->len);
	}
	return 0;
}

void
cmd_auth_resume(struct imap_session *s, const char *tag, const char *mech,
    long long deadline_ms)
{
	struct imap_cmd cmd;
	struct cmd_sasl x;
	struct authclient_reply rep;
	struct buf data = BUF_INIT, chal = BUF_INIT;

	memset(&cmd, 0, sizeof(cmd));
	cmd.s = s;
	cmd.tag = tag;
	x.cmd = &cmd;
	x.mech = mech;
	x.detached = s->conn_id;
	x.deadline_ms = deadline_ms;
	memset(&rep, 0, sizeof(rep));
	rep.result = AUTHCLIENT_CONTINUE;
	if (cmd_auth_exchange(&x, &data, &chal, &rep, 0) == 0)
		cmd_auth_done(&cmd, &rep, mech);
	buf_free(&data);
	buf_free(&chal);
}

void
cmd_authenticate(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct authclient_client cl;
	struct authclient_reply rep;
	struct buf data = BUF_INIT, chal = BUF_INIT;
	struct cmd_sasl x;
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

		if (cmd->args[1].type != IMAPP_ATOM ||
		    (strcmp(ir, "=") != 0 && cmd_b64_decode(ir, &data) < 0)) {
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
		authclient_start(&cl, mech, data.data ? data.data : "",
		    data.len, &chal, &rep);
		if (data.data)
			explicit_bzero(data.data, data.len);
	} else {
		authclient_start(&cl, mech, NULL, 0, &chal, &rep);
	}
	x.cmd = cmd;
	x.mech = mech;
	x.detached = 0;
	x.deadline_ms = 0;
	if (cmd_auth_exchange(&x, &data, &chal, &rep, 1) == 0)
		cmd_auth_done(cmd, &rep, mech);
	buf_free(&data);
	buf_free(&chal);
}

/*
 * cmd_auth - CAPABILITY, NOOP, LOGOUT, ID, LOGIN, AUTHENTICATE, ENABLE,
 * NAMESPACE.  Credentials are relayed to authd; imapd never checks a
 * password itself.
 */
#include "config.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authc.h"
#include "cfg.h"
#include "imapd.h"
#include "imapd_cmd.h"
#include "log.h"
#include "xalloc.h"

#define IMAP_MAX_BAD_LOGINS 3

static void
cmd_capability_list(struct imap_session *s, struct buf *out)
{
	const char *mechs;
	char *m, *w, *save = NULL;

	buf_puts(out, "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE "
	    "UIDPLUS UNSELECT CHILDREN MOVE CONDSTORE NOTIFY");
	if (s->state != IMAP_S_NOTAUTH)
		return;
	if (!s->secure && !cfg_bool("allowplaintext"))
		buf_puts(out, " LOGINDISABLED");
	mechs = authc_mechs(s->secure);
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

/* cmd_auth_done - common end of LOGIN and AUTHENTICATE */
static void
cmd_auth_done(struct imap_cmd *cmd, enum authc_result r, const char *user,
    const char *mech, const char *reason)
{
	struct imap_session *s = cmd->s;
	struct store_mbox mb;
	struct buf caps = BUF_INIT;
	const char *err;

	switch (r) {
	case AUTHC_OK:
		snprintf(s->user, sizeof(s->user), "%s", user);
		if (store_mbox_get(s->st, s->user, "INBOX", &mb, &err) ==
		    STORE_ENOENT)
			store_mbox_create(s->st, s->user, "INBOX", &err);
		s->state = IMAP_S_AUTH;
		log_info("login user=%s addr=%s mech=%s", s->user, s->addr,
		    mech);
		cmd_capability_list(s, &caps);
		imap_ok(cmd, "[CAPABILITY %s] Logged in", buf_cstr(&caps));
		buf_free(&caps);
		return;
	case AUTHC_PRIVACY:
		imap_no(cmd, "[PRIVACYREQUIRED] Plaintext authentication is "
		    "not allowed on an unencrypted connection");
		break;
	case AUTHC_BADMECH:
		imap_no(cmd, "[CANNOT] Unsupported authentication mechanism");
		break;
	case AUTHC_BADDATA:
		imap_bad(cmd, "Malformed authentication data");
		break;
	case AUTHC_UNAVAILABLE:
		imap_no(cmd, "[UNAVAILABLE] Authentication service is "
		    "unavailable; try again later");
		break;
	default:
		imap_no(cmd, "[AUTHENTICATIONFAILED] Authentication failed");
		break;
	}
	(void)reason;
	if (r == AUTHC_FAIL && ++s->failed_logins >= IMAP_MAX_BAD_LOGINS) {
		io_printf(s, "* BYE Too many failed logins\r\n");
		log_info("closing after failed logins addr=%s count=%d",
		    s->addr, s->failed_logins);
		s->state = IMAP_S_LOGOUT;
	}
}

static void
cmd_auth_client(struct imap_session *s, struct authc_client *cl)
{
	cl->addr = s->addr;
	cl->port = s->port;
	cl->local_addr = "";
	cl->secure = s->secure;
}

void
cmd_login(struct imap_cmd *cmd)
{
	const char *user = imap_astring(cmd, 0), *pass = imap_astring(cmd, 1);
	struct authc_client cl;
	struct buf resp = BUF_INIT, chal = BUF_INIT;
	char authuser[AUTHC_MAX_USER];
	const char *reason = NULL;
	enum authc_result r;

	if (user == NULL || pass == NULL || cmd->nargs != 2) {
		imap_bad(cmd, "LOGIN needs a user name and a password");
		return;
	}
	if (!cmd->s->secure && !cfg_bool("allowplaintext")) {
		cmd_auth_done(cmd, AUTHC_PRIVACY, NULL, "LOGIN", NULL);
		return;
	}
	/* LOGIN is relayed as SASL PLAIN: "\0user\0pass" */
	buf_putc(&resp, '\0');
	buf_append(&resp, user, cmd->args[0].len);
	buf_putc(&resp, '\0');
	buf_append(&resp, pass, cmd->args[1].len);
	cmd_auth_client(cmd->s, &cl);
	r = authc_start(&cl, "PLAIN", resp.data, resp.len, &chal, authuser,
	    &reason);
	if (r == AUTHC_CONTINUE) {
		authc_abort();
		r = AUTHC_FAIL;
	}
	memset(resp.data, 0, resp.len);
	buf_free(&resp);
	buf_free(&chal);
	cmd_auth_done(cmd, r, authuser, "LOGIN", reason);
}

/* cmd_b64 - decode base64 s; -1 if malformed */
static int
cmd_b64_decode(const char *s, struct buf *out)
{
	size_t len = strlen(s);
	unsigned char *p;
	int n;

	buf_reset(out);
	if (len % 4 != 0)
		return -1;
	if (len == 0)
		return 0;
	p = (unsigned char *)buf_reserve(out, len);
	n = EVP_DecodeBlock(p, (const unsigned char *)s, (int)len);
	if (n < 0)
		return -1;
	if (len >= 1 && s[len - 1] == '=')
		n--;
	if (len >= 2 && s[len - 2] == '=')
		n--;
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

void
cmd_authenticate(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct authc_client cl;
	struct buf data = BUF_INIT, chal = BUF_INIT;
	char authuser[AUTHC_MAX_USER] = "", *line;
	const char *mech, *reason = NULL;
	enum authc_result r;

	if (cmd->nargs < 1 || cmd->nargs > 2 ||
	    cmd->args[0].type != IMAPP_ATOM) {
		imap_bad(cmd, "AUTHENTICATE needs a mechanism name");
		return;
	}
	mech = cmd->args[0].str;
	cmd_auth_client(s, &cl);
	if (cmd->nargs == 2) {
		/* SASL-IR: "=" is an empty initial response */
		const char *ir = cmd->args[1].str;

		if (strcmp(ir, "=") == 0)
			buf_reset(&data);
		else if (cmd_b64_decode(ir, &data) < 0) {
			imap_bad(cmd, "Invalid base64 initial response");
			return;
		}
		r = authc_start(&cl, mech, data.data ? data.data : "",
		    data.len, &chal, authuser, &reason);
	} else {
		r = authc_start(&cl, mech, NULL, 0, &chal, authuser,
		    &reason);
	}
	while (r == AUTHC_CONTINUE) {
		cmd_b64_send(s, &chal);
		line = io_read_line(s, s->timeout_ms);
		if (line == NULL) {
			authc_abort();
			s->dead = 1;
			buf_free(&data);
			buf_free(&chal);
			return;
		}
		if (strcmp(line, "*") == 0) {
			free(line);
			authc_abort();
			imap_bad(cmd, "Authentication cancelled");
			buf_free(&data);
			buf_free(&chal);
			return;
		}
		if (cmd_b64_decode(line, &data) < 0) {
			free(line);
			authc_abort();
			imap_bad(cmd, "Invalid base64 in response");
			buf_free(&data);
			buf_free(&chal);
			return;
		}
		memset(line, 0, strlen(line));
		free(line);
		r = authc_step(data.data ? data.data : "", data.len, &chal,
		    authuser, &reason);
	}
	if (data.data)
		memset(data.data, 0, data.len);
	buf_free(&data);
	buf_free(&chal);
	cmd_auth_done(cmd, r, authuser, mech, reason);
}

/*
 * authc - the imapd side of the authd protocol: admission and logins.
 *
 * Requests go over this process's authd link (lib/authn), one at a time.
 * The worker only relays SASL steps: it never sees a password check.
 * Every call blocks until authd answers or the call's deadline passes
 * (authd's queue and backend deadlines plus a margin, from imapd.conf);
 * on any failure to talk to authd the link is dropped (the next call
 * remakes it) and AUTHC_UNAVAILABLE is returned, so a login never hangs.
 */
#ifndef BERTH_AUTHC_H
#define BERTH_AUTHC_H

#include <stddef.h>
#include <stdint.h>

#include "authp.h"

struct buf;
struct ipc_msg;

enum authc_result {
	AUTHC_OK = 0,		/* authenticated: user filled */
	AUTHC_CONTINUE,		/* challenge filled: send "+ base64" */
	AUTHC_FAIL,		/* wrong credentials: NO [AUTHENTICATIONFAILED] */
	AUTHC_BADMECH,		/* unknown / disallowed mechanism */
	AUTHC_PRIVACY,		/* plaintext refused: NO [PRIVACYREQUIRED] */
	AUTHC_BADDATA,		/* malformed SASL data: BAD */
	AUTHC_UNAVAILABLE,	/* authd down, busy or timed out */
	AUTHC_LIMIT,		/* authenticated, but over maxlogins_*: NO
				 * [LIMIT] */
};

struct authc_client {
	const char *addr;	/* client address, e.g. "192.0.2.7" */
	int port;
	const char *local_addr;
	int secure;		/* TLS or a local socket */
	uint64_t conn_id;	/* from authc_admit, 0 if none */
	int failed_logins;	/* failures so far on this connection */
};

#define AUTHC_MAX_USER AUTHP_MAX_USER

/* the outcome of a START or STEP */
struct authc_reply {
	enum authc_result result;
	char user[AUTHC_MAX_USER];	/* AUTHC_OK: the canonical user */
	const char *reason;		/* short human text for NO/BAD */
	long long delay_ms;		/* AUTHC_FAIL: hold the NO this long */
	const char *limit;		/* AUTHC_LIMIT: which key, or "" */
};

/*
 * authc_admit - may this client connect?  Returns 0 with *conn_id_r (the
 * connection now counts as held by this process), or -1 with *reason_r,
 * *limit_r and *delay_ms_r (how long the refusal may be held back, 0:
 * answer at once) when authd refused it.  When authd cannot be reached
 * the client is admitted (fail open: logins fail anyway until authd is
 * back) with a locally made id.
 */
int authc_admit(const struct authc_client *cl, uint64_t *conn_id_r,
    const char **reason_r, const char **limit_r, long long *delay_ms_r);
/*
 * authc_start - begin an authentication.  resp/resp_len is the SASL
 * initial response (already base64-decoded) or resp == NULL for none.
 * challenge_r gets the challenge on AUTHC_CONTINUE.
 */
void authc_start(const struct authc_client *cl, const char *mech,
    const char *resp, size_t resp_len, struct buf *challenge_r,
    struct authc_reply *rep);
/*
 * authc_login_async - a one-step login (PLAIN with its initial response)
 * for a session this worker has parked in idled: authd answers idled
 * (RESULT), not us.  Never blocks; -1 when authd could not be told (idled
 * then answers NO [UNAVAILABLE] when its wait runs out).
 */
int authc_login_async(const struct authc_client *cl, const char *mech,
    const char *resp, size_t resp_len, const char *tag);
/* authc_result_decode - a RESULT message (idled); -1 malformed */
int authc_result_decode(const struct ipc_msg *m, uint64_t *conn_id_r,
    char *tag, size_t tagsize, struct authc_reply *rep);
/* authc_reply_line - the tagged reply to a login that neither succeeded
 * nor failed on its credentials (PRIVACY, BADMECH, BADDATA, LIMIT,
 * UNAVAILABLE), with its CRLF */
void authc_reply_line(struct buf *out, const char *tag,
    const struct authc_reply *rep);
/* authc_fail_line - the tagged NO of a wrong password, the failed_logins-th
 * on the connection, and the BYE when that reaches maxbadlogins; returns
 * 1 when the connection is to be closed */
int authc_fail_line(struct buf *out, const char *tag, int failed_logins);
/* authc_step - the client's next response (decoded) */
void authc_step(const char *resp, size_t resp_len, struct buf *challenge_r,
    struct authc_reply *rep);
/* authc_abort - the client cancelled ("*"); never blocks long */
void authc_abort(void);
/*
 * authc_mechs - space-separated mechanisms authd offers to a client with
 * this security (for CAPABILITY AUTH=...); NULL when authd is unreachable.
 * Static storage, valid until the next authc call.
 */
const char *authc_mechs(int secure);
/* authc_close - drop the link (before exec, or in tests) */
void authc_close(void);
/* authc_timeout_ms - how long a login request may take at most */
long long authc_timeout_ms(void);

#endif

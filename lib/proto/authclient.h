/*
 * authclient - the imapd side of the authd protocol: admission and logins.
 *
 * Requests go over this process's authd link (lib/proto/authlink), one at a
 * time. The worker only relays SASL steps: it never sees a password check.
 * Every call blocks until authd answers or the call's deadline passes
 * (authd's queue and backend deadlines plus a margin, from imapd.conf);
 * on any failure to talk to authd the link is dropped (the next call
 * remakes it) and AUTHCLIENT_UNAVAILABLE is returned, so a login never hangs.
 */
#ifndef BERTH_AUTHCLIENT_H
#define BERTH_AUTHCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "authproto.h"

struct buf;
struct ipc_msg;

enum authclient_result {
	AUTHCLIENT_OK = 0,   /* authenticated: user filled */
	AUTHCLIENT_CONTINUE, /* challenge filled: send "+ base64" */
	AUTHCLIENT_FAIL,     /* wrong credentials: NO [AUTHENTICATIONFAILED] */
	AUTHCLIENT_BADMECH,  /* unknown / disallowed mechanism */
	AUTHCLIENT_PRIVACY,  /* plaintext refused: NO [PRIVACYREQUIRED] */
	AUTHCLIENT_BADDATA,  /* malformed SASL data: BAD */
	AUTHCLIENT_UNAVAILABLE, /* authd down, busy or timed out */
	AUTHCLIENT_LIMIT,	/* authenticated, but over maxlogins_*: NO
				 * [LIMIT] */
};

struct authclient_client {
	const char *addr; /* client address, e.g. "192.0.2.7" */
	int port;
	const char *local_addr;
	int secure;	   /* TLS or a local socket */
	uint64_t conn_id;  /* from authclient_admit, 0 if none */
	int failed_logins; /* failures so far on this connection */
};

#define AUTHCLIENT_MAX_USER AUTHPROTO_MAX_USER

/* the outcome of a START or STEP */
struct authclient_reply {
	enum authclient_result result;
	char user[AUTHCLIENT_MAX_USER]; /* AUTHCLIENT_OK: the canonical user */
	const char *reason;		/* short human text for NO/BAD */
	long long delay_ms; /* AUTHCLIENT_FAIL: hold the NO this long */
	const char *limit;  /* AUTHCLIENT_LIMIT: which key, or "" */
	char text[256];	    /* storage for authd's reason */
	char limit_key[64]; /* storage for authd's limit */
};

/*
 * authclient_admit - may this client connect?  Returns 0 with *conn_id_r
 * (the connection now counts as held by this process), or -1 with
 * rep's reason, limit and delay_ms (how long the refusal may be held
 * back, 0: answer at once) when authd refused it.  When authd cannot be
 * reached the client is admitted (fail open: logins fail anyway until
 * authd is back) with a locally made id.
 */
int authclient_admit(const struct authclient_client *cl, uint64_t *conn_id_r,
    struct authclient_reply *rep);
/*
 * authclient_start - begin an authentication.  resp/resp_len is the SASL
 * initial response (already base64-decoded) or resp == NULL for none.
 * challenge_r gets the challenge on AUTHCLIENT_CONTINUE.
 */
void authclient_start(const struct authclient_client *cl, const char *mech,
    const char *resp, size_t resp_len, struct buf *challenge_r,
    struct authclient_reply *rep);
/*
 * authclient_login_async - a one-step login (PLAIN with its initial response)
 * for a session this worker has parked in idled: authd answers idled
 * (RESULT), not us.  Never blocks; -1 when authd could not be told (idled
 * then answers NO [UNAVAILABLE] when its wait runs out).
 */
int authclient_login_async(const struct authclient_client *cl, const char *mech,
    const char *resp, size_t resp_len, const char *tag);
/* authclient_result_decode - a RESULT message (idled); -1 malformed */
int authclient_result_decode(const struct ipc_msg *m, uint64_t *conn_id_r,
    char *tag, size_t tagsize, struct authclient_reply *rep);
/* authclient_reply_line - the tagged reply to a login that neither succeeded
 * nor failed on its credentials (PRIVACY, BADMECH, BADDATA, LIMIT,
 * UNAVAILABLE), with its CRLF */
void authclient_reply_line(struct buf *out, const char *tag,
    const struct authclient_reply *rep);
/* authclient_fail_line - the tagged NO of a wrong password, the
 * failed_logins-th on the connection, and the BYE when that reaches
 * maxbadlogins; returns 1 when the connection is to be closed */
int authclient_fail_line(struct buf *out, const char *tag, int failed_logins);
/* authclient_step - the client's next response (decoded) */
void authclient_step(const char *resp, size_t resp_len, struct buf *challenge_r,
    struct authclient_reply *rep);
/*
 * authclient_detach - the exchange in progress, waiting for the client's
 * response, is to wait in authd under conn_id while the session is
 * parked.  0 when authd has it (continue with authclient_step_detached,
 * from any process), else -1 with rep set: AUTHCLIENT_LIMIT when authd
 * refused (the exchange is over), AUTHCLIENT_UNAVAILABLE otherwise (the
 * exchange goes on here, if authd still has it).
 */
int authclient_detach(uint64_t conn_id, struct authclient_reply *rep);
/* authclient_step_detached - authclient_step for an exchange detached
 * under conn_id */
void authclient_step_detached(uint64_t conn_id, const char *resp,
    size_t resp_len, struct buf *challenge_r, struct authclient_reply *rep);
/* authclient_abort - the client cancelled ("*"); never blocks long */
void authclient_abort(void);
/* authclient_abort_detached - the same for an exchange authd keeps
 * detached under conn_id (from any process linked to authd) */
void authclient_abort_detached(uint64_t conn_id);
/*
 * authclient_mechs - space-separated mechanisms authd offers to a client
 * with this security (for CAPABILITY AUTH=...) into out; -1 when authd is
 * unreachable.
 */
int authclient_mechs(int secure, char *out, size_t size);
/* authclient_close - drop the link (before exec, or in tests) */
void authclient_close(void);
/* authclient_timeout_ms - how long a login request may take at most */
long long authclient_timeout_ms(void);

#endif

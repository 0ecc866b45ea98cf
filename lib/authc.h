/*
 * authc - the imapd side of the authd protocol.
 *
 * One connection per worker process to authd's SOCK_SEQPACKET socket
 * (imapd.conf authd_socket, default <configdirectory>/socket/authd), one
 * request at a time.  The worker only relays SASL steps: it never sees a
 * password check.  Every call may block until authd answers or the call's
 * deadline passes; on any failure to talk to authd the connection is
 * dropped (the next call reconnects) and AUTHC_UNAVAILABLE is returned, so
 * a login never hangs.
 */
#ifndef BERTH_AUTHC_H
#define BERTH_AUTHC_H

#include <stddef.h>

struct buf;

enum authc_result {
	AUTHC_OK = 0,		/* authenticated: user_r filled */
	AUTHC_CONTINUE,		/* challenge_r filled: send "+ base64" */
	AUTHC_FAIL,		/* wrong credentials: NO [AUTHENTICATIONFAILED] */
	AUTHC_BADMECH,		/* unknown / disallowed mechanism */
	AUTHC_PRIVACY,		/* plaintext refused: NO [PRIVACYREQUIRED] */
	AUTHC_BADDATA,		/* malformed SASL data: BAD */
	AUTHC_UNAVAILABLE,	/* authd down, busy or timed out */
};

struct authc_client {
	const char *addr;	/* client address, e.g. "192.0.2.7" */
	int port;
	const char *local_addr;
	int secure;		/* TLS or a local socket */
};

#define AUTHC_MAX_USER 256

/*
 * authc_start - begin an authentication.  resp/resp_len is the SASL
 * initial response (already base64-decoded) or resp == NULL for none.
 * On AUTHC_OK user_r (AUTHC_MAX_USER bytes) has the canonical user name.
 * reason_r (may be NULL) gets a short human reason for a failure.
 */
enum authc_result authc_start(const struct authc_client *cl, const char *mech,
    const char *resp, size_t resp_len, struct buf *challenge_r, char *user_r,
    const char **reason_r);
/* authc_step - the client's next response (decoded) */
enum authc_result authc_step(const char *resp, size_t resp_len,
    struct buf *challenge_r, char *user_r, const char **reason_r);
/* authc_abort - the client cancelled ("*"); never blocks long */
void authc_abort(void);
/*
 * authc_mechs - space-separated mechanisms authd offers to a client with
 * this security (for CAPABILITY AUTH=...); NULL when authd is unreachable.
 * Static storage, valid until the next authc call.
 */
const char *authc_mechs(int secure);
/* authc_close - drop the connection (before exec, or in tests) */
void authc_close(void);

#endif

/*
 * tlsproto - the tlsd wire protocol (ipc messages).
 *
 * NEW (tlsd -> a service's handoff socket, with the plaintext end of a
 * socketpair whose other end tlsd relays to the TLS client):
 *   {ADDR, PORT, CONNID, FAILED, VERSION, CIPHER, SNI?, PEER?, STARTTLS?}
 *   a decrypted session whose handshake is done.  Any free imapd accepts
 *   it, holds CONNID (authd admitted it already: no second admission)
 *   and greets it, unless STARTTLS (u32 1): the client then goes on
 *   without a greeting, as after any STARTTLS.  The sender closes.
 * STARTTLS (imapd -> tlsd's socket, tlsd_socket, with the client's TCP
 *   fd, after "OK Begin TLS negotiation now"):
 *   {ADDR, PORT, CONNID, FAILED, HANDOFF}
 *   answered by TAKEN once tlsd holds the client (the worker then
 *   releases it and closes its copy), or by a close when it cannot take
 *   it (the worker closes the client).  tlsd delivers the session, once
 *   its handshake is done, as NEW with STARTTLS to HANDOFF.
 *
 * FAILED carries the connection's failed logins, so that a STARTTLS
 * does not reset maxbadlogins.  Strings are bounded by the receiver.
 */
#ifndef BERTH_TLSPROTO_H
#define BERTH_TLSPROTO_H

enum tlsp_type {
	TLSPROTO_T_NEW = 300,
	TLSPROTO_T_STARTTLS,
	TLSPROTO_T_TAKEN,
};

enum tlsp_tag {
	TLSPROTO_ADDR = 1,
	TLSPROTO_PORT,
	TLSPROTO_CONNID,
	TLSPROTO_FAILED,
	TLSPROTO_VERSION,  /* "TLSv1.3" */
	TLSPROTO_CIPHER,   /* "TLS_AES_256_GCM_SHA384" */
	TLSPROTO_SNI,	   /* the server name the client asked for */
	TLSPROTO_PEER,	   /* the client certificate's subject */
	TLSPROTO_STARTTLS, /* u32 1: came by STARTTLS, no greeting */
	TLSPROTO_HANDOFF,  /* STARTTLS: where to deliver the session */
};

#define TLSPROTO_MAX_NAME 256 /* SNI, PEER, HANDOFF, NUL included */

#endif

/*
 * authp - the authd wire protocol (ipc messages over authd's
 * SOCK_SEQPACKET socket), shared by authd, the worker-side client authc,
 * the connection-event library authn and berthctl.
 *
 * Requests, each answered by exactly one reply (one request at a time on
 * a connection):
 *   ADMIT  {ADDR, PORT, TS}               -> ADMITTED {CONNID}
 *                                         |  REFUSED {TEXT, LIMIT}
 *   START  {MECH, RESP?, ADDR, PORT, SECURE, CONNID, FAILS}
 *   STEP   {RESP}                         -> OK {USER}
 *                                         |  CONTINUE {CHAL}
 *                                         |  NO {CODE, TEXT, DELAY?, LIMIT?}
 *   LOGIN  {START's fields, RESP, TAG}    a one-step login (PLAIN with an
 *                                         initial response) whose session
 *                                         the worker has parked in idled:
 *                                         answered to idled, not to the
 *                                         sender, as RESULT {CONNID, TAG,
 *                                         CODE, USER?, TEXT?, DELAY?,
 *                                         LIMIT?} (CODE AUTHC_OK with USER
 *                                         for OK)
 *   MECHS  {SECURE}                       -> MECHLIST {MECHS}
 *   CTL_PENALTIES {MAX}, CTL_CONNS {MAX}  -> CTL_REPLY {LINE...}
 *   CTL_CLEAR {KEY}                       -> CTL_REPLY {TEXT}
 * Events, never answered:
 *   ABORT  {}                             the client cancelled the login
 *   HOLD   {CONNID, TS, ADDR, USER}...    the sender now holds these
 *                                         client connections (repeated
 *                                         groups, each begun by CONNID)
 *   CLOSED {CONNID, TS}                   the connection is gone
 *   IAM    {ROLE}                         the sender is "idled" (where
 *                                         RESULTs go)
 *
 * CODE is an enum authc_result value; DELAY is the milliseconds the
 * worker must hold a failure before answering it; LIMIT names the
 * imapd.conf limit that refused.  TS is CLOCK_MONOTONIC in nanoseconds
 * at the sender (one clock for the whole machine): authd keeps, per
 * connection, the newest HOLD and ignores older ones, so two processes
 * handing a session over cannot race.  A connection's holder is the authd
 * connection that sent its newest HOLD (or its ADMIT); when that
 * connection closes (the process died), authd forgets what it held.
 */
#ifndef BERTH_AUTHP_H
#define BERTH_AUTHP_H

#include <stddef.h>
#include <stdint.h>

struct ipc_msg;

enum authp_type {
	AUTHP_T_START = 1,
	AUTHP_T_STEP,
	AUTHP_T_ABORT,
	AUTHP_T_MECHS,
	AUTHP_T_ADMIT,
	AUTHP_T_LOGIN,
	AUTHP_T_HOLD = 20,
	AUTHP_T_CLOSED,
	AUTHP_T_IAM,
	AUTHP_T_CTL_PENALTIES = 40,
	AUTHP_T_CTL_CLEAR,
	AUTHP_T_CTL_CONNS,
	AUTHP_T_OK = 100,
	AUTHP_T_CONTINUE,
	AUTHP_T_NO,
	AUTHP_T_MECHLIST,
	AUTHP_T_ADMITTED,
	AUTHP_T_REFUSED,
	AUTHP_T_CTL_REPLY,
	AUTHP_T_RESULT,
};

enum authp_tag {
	AUTHP_MECH = 1,
	AUTHP_RESP,
	AUTHP_ADDR,
	AUTHP_PORT,
	AUTHP_LADDR,
	AUTHP_SECURE,
	AUTHP_USER,
	AUTHP_CHAL,
	AUTHP_CODE,
	AUTHP_TEXT,
	AUTHP_MECHS,
	AUTHP_CONNID,
	AUTHP_TS,
	AUTHP_FAILS,
	AUTHP_DELAY,
	AUTHP_LIMIT,
	AUTHP_MAX,
	AUTHP_KEY,
	AUTHP_LINE,
	AUTHP_TAG,
	AUTHP_ROLE,
};

#define AUTHP_MAX_TAG 64	/* an IMAP command tag, NUL included */

#define AUTHP_MAX_USER 256	/* user names, NUL included */
#define AUTHP_MAX_ADDR 64	/* numeric client addresses */
#define AUTHP_MAX_MECH 32
#define AUTHP_MAX_RESP 16384	/* one decoded SASL response */
#define AUTHP_HOLD_BATCH 100	/* HOLD groups per message */

/* authp_socket_path - imapd.conf authd_socket or its default (static) */
const char *authp_socket_path(void);

/*
 * authp_field_next - walk m's fields in order: *off starts at 0; returns
 * 1 with the next field's tag, value and length, 0 at the end, -1 on a
 * field that runs past the message.
 */
int authp_field_next(const struct ipc_msg *m, size_t *off, uint16_t *tag_r,
    const void **p_r, size_t *len_r);

/* authp_now_ns - CLOCK_MONOTONIC in nanoseconds (the TS of HOLD) */
uint64_t authp_now_ns(void);

#endif

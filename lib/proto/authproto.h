/*
 * authproto - the authd wire protocol (ipc messages over authd's
 * SOCK_SEQPACKET socket), shared by authd, the worker-side client authclient,
 * the connection-event library authlink and berthctl.
 *
 * Requests, each answered by exactly one reply (one request at a time on
 * a connection):
 *   ADMIT  {ADDR, PORT, TS}               -> ADMITTED {CONNID}
 *                                         |  REFUSED {TEXT, LIMIT}
 *   START  {MECH, RESP?, ADDR, PORT, SECURE, CONNID, FAILS}
 *   STEP   {RESP, CONNID?}                -> OK {USER}
 *                                         |  CONTINUE {CHAL}
 *                                         |  NO {CODE, TEXT, DELAY?, LIMIT?}
 *                                         (with CONNID: the exchange
 *                                         detached under that id, from
 *                                         whichever worker)
 *   DETACH {CONNID}                       -> DETACHED {}
 *                                         |  NO {CODE, TEXT, LIMIT?}
 *                                         the exchange, waiting for the
 *                                         client's response, leaves this
 *                                         link: authd keeps it under
 *                                         CONNID (bounded, until a STEP
 *                                         with CONNID, CLOSED, or expiry)
 *                                         while the session is parked
 *   LOGIN  {START's fields, RESP, TAG}    a one-step login (PLAIN with an
 *                                         initial response) whose session
 *                                         the worker has parked in idled:
 *                                         answered to idled, not to the
 *                                         sender, as RESULT {CONNID, TAG,
 *                                         CODE, USER?, TEXT?, DELAY?,
 *                                         LIMIT?} (CODE AUTHCLIENT_OK with USER
 *                                         for OK)
 *   MECHS  {SECURE}                       -> MECHLIST {MECHS}
 *   CTL_PENALTIES {MAX}, CTL_CONNS {MAX}  -> CTL_REPLY {LINE...}
 *   CTL_CLEAR {KEY}                       -> CTL_REPLY {TEXT}
 *   CTL_WHO {USER?}                       -> CTL_REPLY {LINE...}...: every
 *                                         held connection (of USER), as
 *                                         "id user addr age_s role pid",
 *                                         tab-separated, in as many
 *                                         replies as it takes; all but the
 *                                         last carry MORE
 *   CTL_KICK {USER}                       -> CTL_REPLY {CODE, TEXT, LINE...}
 *                                         every connection of USER is
 *                                         sent KICK at its holder, and
 *                                         again at each later holder
 *                                         until it closes
 * Events, never answered:
 *   ABORT  {CONNID?}                      the client cancelled the login
 *                                         (CONNID: the one detached under
 *                                         that id)
 *   HOLD   {CONNID, TS, ADDR, USER}...    the sender now holds these
 *                                         client connections (repeated
 *                                         groups, each begun by CONNID)
 *   CLOSED {CONNID, TS}                   the connection is gone
 *   IAM    {ROLE}                         the sender is "idled" (where
 *                                         RESULTs go)
 * Events from authd, never answered:
 *   KICK   {CONNID, USER}                 end this connection (berthctl
 *                                         kick): the holder says BYE and
 *                                         closes it; one it no longer
 *                                         holds is ignored
 *
 * CODE is an enum authclient_result value; DELAY is the milliseconds the
 * worker must hold a failure before answering it; LIMIT names the
 * imapd.conf limit that refused.  TS is CLOCK_MONOTONIC in nanoseconds
 * at the sender (one clock for the whole machine): authd keeps, per
 * connection, the newest HOLD and ignores older ones, so two processes
 * handing a session over cannot race.  A connection's holder is the authd
 * connection that sent its newest HOLD (or its ADMIT); when that
 * connection closes (the process died), authd forgets what it held.
 */
#ifndef BERTH_AUTHPROTO_H
#define BERTH_AUTHPROTO_H

#include <stddef.h>
#include <stdint.h>

struct ipc_msg;

enum authproto_type {
	AUTHPROTO_T_START = 1,
	AUTHPROTO_T_STEP,
	AUTHPROTO_T_ABORT,
	AUTHPROTO_T_MECHS,
	AUTHPROTO_T_ADMIT,
	AUTHPROTO_T_LOGIN,
	AUTHPROTO_T_DETACH,
	AUTHPROTO_T_HOLD = 20,
	AUTHPROTO_T_CLOSED,
	AUTHPROTO_T_IAM,
	AUTHPROTO_T_CTL_PENALTIES = 40,
	AUTHPROTO_T_CTL_CLEAR,
	AUTHPROTO_T_CTL_CONNS,
	AUTHPROTO_T_CTL_WHO,
	AUTHPROTO_T_CTL_KICK,
	AUTHPROTO_T_KICK = 60,
	AUTHPROTO_T_OK = 100,
	AUTHPROTO_T_CONTINUE,
	AUTHPROTO_T_NO,
	AUTHPROTO_T_MECHLIST,
	AUTHPROTO_T_ADMITTED,
	AUTHPROTO_T_REFUSED,
	AUTHPROTO_T_CTL_REPLY,
	AUTHPROTO_T_RESULT,
	AUTHPROTO_T_DETACHED,
};

enum authproto_tag {
	AUTHPROTO_MECH = 1,
	AUTHPROTO_RESP,
	AUTHPROTO_ADDR,
	AUTHPROTO_PORT,
	AUTHPROTO_LADDR,
	AUTHPROTO_SECURE,
	AUTHPROTO_USER,
	AUTHPROTO_CHAL,
	AUTHPROTO_CODE,
	AUTHPROTO_TEXT,
	AUTHPROTO_MECHS,
	AUTHPROTO_CONNID,
	AUTHPROTO_TS,
	AUTHPROTO_FAILS,
	AUTHPROTO_DELAY,
	AUTHPROTO_LIMIT,
	AUTHPROTO_MAX,
	AUTHPROTO_KEY,
	AUTHPROTO_LINE,
	AUTHPROTO_TAG,
	AUTHPROTO_ROLE,
	AUTHPROTO_MORE,
};

#define AUTHPROTO_MAX_TAG 64 /* an IMAP command tag, NUL included */

#define AUTHPROTO_MAX_USER 256 /* user names, NUL included */
#define AUTHPROTO_MAX_ADDR 64  /* numeric client addresses */
#define AUTHPROTO_MAX_MECH 32
#define AUTHPROTO_MAX_RESP 16384 /* one decoded SASL response */
#define AUTHPROTO_HOLD_BATCH 100 /* HOLD groups per message */

/* authproto_socket_path - imapd.conf authd_socket or its default (static) */
const char *authproto_socket_path(void);

/*
 * authproto_field_next - walk m's fields in order: *off starts at 0; returns
 * 1 with the next field's tag, value and length, 0 at the end, -1 on a
 * field that runs past the message.
 */
int authproto_field_next(const struct ipc_msg *m, size_t *off, uint16_t *tag_r,
    const void **p_r, size_t *len_r);

/*
 * authproto_line_next - the next LINE field of m from *off (0 at first)
 * into line, NUL-terminated: fields of other tags and lines of size bytes
 * or more are skipped; 1, or 0 at the end (or at a field that runs past
 * the message)
 */
int authproto_line_next(const struct ipc_msg *m, size_t *off, char *line,
    size_t size);

/* authproto_now_ns - CLOCK_MONOTONIC in nanoseconds (the TS of HOLD) */
uint64_t authproto_now_ns(void);

#endif

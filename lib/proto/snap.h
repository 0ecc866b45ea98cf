/*
 * snap - the session snapshot: what a parked session is, so that any
 * worker can resume it exactly.  Written by the worker that parks a
 * session, kept (in a compact form of its own) by idled, and read by the
 * worker that resumes it.
 *
 * Kinds of parked session:
 *   SNAP_K_IDLE    inside an IDLE command (tag = the IDLE tag)
 *   SNAP_K_WAIT    logged in, between commands: IDLE ended by idled
 *                  answering DONE, or a NOTIFY session waiting for its
 *                  next command
 *   SNAP_K_NOTAUTH not logged in: a failed login serving its penalty.
 *                  idled sends `reply` (the tagged NO) at wake_ms, then
 *                  closes the session (SNAP_F_CLOSE) or holds it until the
 *                  client sends its next command.  With
 *                  SNAP_F_SASLWAIT: a stalled AUTHENTICATE, woken by
 *                  the client's response line, or answered with
 *                  `reply` at wake_ms (sasl_response_timeout).
 *
 * The client's message-number view is not stored: it is rebuilt from the
 * store as "the mailbox's UIDs up to maxuid as of modseq": current records
 * with uid <= maxuid plus records expunged after modseq with uid <= maxuid.
 * `exists` is the number of messages in that view, so that idled can
 * answer a change that only added messages ("* N EXISTS") without a
 * worker.  A snapshot is a few hundred bytes whatever the mailbox size.
 *
 * Watches: the mailboxes whose changes wake the session, each with the
 * NOTIFY_EV_* events that matter.  An IDLE session watches its selected
 * mailbox (all events).  user_events are events about the user's mailbox
 * list (NOTIFY_EV_MAILBOXNAME, NOTIFY_EV_SUBSCRIPTION).  notify_spec is
 * opaque to idled: the worker's own encoding of the session's NOTIFY SET,
 * restored on resume.
 *
 * Travels as ipc fields (SNAP_VERSION) with the client's fd.  A message
 * with another version, or without a required field, is refused.
 */
#ifndef BERTH_SNAP_H
#define BERTH_SNAP_H

#include <stdint.h>

#include "buf.h"

struct ipc_msg;

#define SNAP_VERSION 2
/* client bytes read while parked: a whole pre-login command fits */
#define SNAP_MAX_PENDING 8192
#define SNAP_MAX_WATCH 1000  /* watched mailboxes */
#define SNAP_MAX_SPEC 32768  /* notify_spec bytes */
#define SNAP_MAX_REPLY 512   /* reply bytes */
#define SNAP_MAX_SAVED 8192  /* saved bytes */
#define SNAP_MAX_ZDICT 16384 /* zdict bytes */

enum snap_kind {
	SNAP_K_IDLE = 1,
	SNAP_K_WAIT,
	SNAP_K_NOTAUTH,
};

struct snap_watch {
	uint32_t mboxid;
	uint32_t events; /* NOTIFY_EV_* | SNAP_W_* */
	uint64_t modseq; /* HIGHESTMODSEQ the client was told of */
};

struct snap {
	uint32_t kind;	/* enum snap_kind */
	uint32_t flags; /* SNAP_F_* */
	char user[256]; /* "" for SNAP_K_NOTAUTH */
	char addr[64];
	uint32_t port;
	char tag[64];		/* SNAP_K_IDLE: the IDLE command's tag;
				 * AUTHWAIT: the login's */
	char mech[32];		/* AUTHWAIT: the login's mechanism */
	uint64_t conn_id;	/* authd's admission id, 0 if none */
	uint32_t failed_logins; /* on this connection */
	int64_t idle_since_ms;	/* CLOCK_MONOTONIC: IDLE/wait began */
	/* selected mailbox (SNAP_F_SELECTED) */
	char mailbox[1024];
	uint32_t mboxid;
	uint32_t uidvalidity;
	uint32_t maxuid;    /* highest UID the client knows */
	uint32_t exists;    /* messages in the client's view */
	uint32_t recent_lo; /* UIDs in (recent_lo, recent_hi] are */
	uint32_t recent_hi; /* \Recent for this session */
	uint64_t modseq;    /* the view is as of this HIGHESTMODSEQ */
	/* what wakes the session besides client input */
	struct snap_watch *watch; /* malloc'ed, nwatch entries */
	uint32_t nwatch;
	uint32_t user_events;	/* NOTIFY_EV_MAILBOXNAME | ..SUBSCRIPTION */
	struct buf notify_spec; /* opaque to idled */
	/* SNAP_K_NOTAUTH */
	int64_t wake_ms;    /* CLOCK_MONOTONIC: when to send reply */
	struct buf reply;   /* e.g. "a1 NO [AUTHENTICATIONFAILED] ...\r\n" */
	struct buf pending; /* bytes the client sent while parked, or
			     * the command it had begun when parked */
	uint32_t pending_contd; /* every synchronizing literal announced in
				 * pending[0..pending_contd) has had its
				 * "+" continuation; one announced later
				 * has not (absent in the message: 0) */
	/* optional, opaque to idled (absent in the message: empty) */
	struct buf saved; /* SEARCHRES "$": the UIDs as a UID set */
	struct buf zdict; /* SNAP_F_DEFLATE: the worker's encoding of
			   * its inflater (the client's window) */
};

#define SNAP_F_CONDSTORE 0x01
#define SNAP_F_READONLY 0x02 /* EXAMINE */
#define SNAP_F_SECURE 0x04   /* TLS or a local socket */
#define SNAP_F_SELECTED 0x08 /* a mailbox is selected */
#define SNAP_F_CLOSE 0x10    /* NOTAUTH: close after the reply */
#define SNAP_F_QRESYNC 0x20
/* NOTIFY SET active: watched changes wake a SNAP_K_WAIT session too */
#define SNAP_F_NOTIFY 0x40
/* NOTAUTH: its login (tag, mech) is with authd, whose RESULT comes to idled */
#define SNAP_F_AUTHWAIT 0x80
/* NOTAUTH: that login succeeded as user; the worker completes it */
#define SNAP_F_LOGGEDIN 0x100
#define SNAP_F_TLS 0x200 /* under TLS: tlsd relays the client */
/* NOTAUTH: inside AUTHENTICATE (tag, mech), the client owes its next SASL
 * response; authd keeps the exchange under conn_id. A whole line of input
 * wakes it; at wake_ms idled sends reply (the timeout's NO) and drops pending
 */
#define SNAP_F_SASLWAIT 0x400
#define SNAP_F_REV2 0x800  /* ENABLE IMAP4rev2 */
#define SNAP_F_UTF8 0x1000 /* ENABLE UTF8=ACCEPT (or IMAP4rev2) */
/* COMPRESS=DEFLATE is on (RFC 4978): the client's bytes (pending too) are
 * deflated, idled cannot read them and wakes a worker on any; what idled
 * writes goes as stored deflate blocks (snap_deflate_stored); zdict restores
 * the worker's inflater */
#define SNAP_F_DEFLATE 0x2000

/* in snap_watch.events besides NOTIFY_EV_*: */
#define SNAP_W_SELECTED 0x10000 /* the selected mailbox */
/* MessageNew wants FETCH data: only a worker can answer it */
#define SNAP_W_NEWFETCH 0x20000

/* snap_init - an empty snapshot (bufs with their maxima) */
void snap_init(struct snap *sn);
/* snap_watch_add - watch mboxid for events from modseq on; -1 past
 * SNAP_MAX_WATCH */
int snap_watch_add(struct snap *sn, uint32_t mboxid, uint32_t events,
    uint64_t modseq);
/* snap_put - append the snapshot's fields to m; -1 if it does not fit */
int snap_put(const struct snap *sn, struct ipc_msg *m);
/*
 * snap_get - read a snapshot from m into sn (which it initialises);
 * -1 if the version differs, a required field is missing or a bound is
 * passed.  Call snap_free either way.
 */
int snap_get(const struct ipc_msg *m, struct snap *sn);
void snap_free(struct snap *sn);
/*
 * snap_deflate_stored - data[0..len) as raw deflate stored blocks
 * (RFC 1951 3.2.4), appended to out: what a writer that keeps no
 * compressor state sends on a COMPRESS=DEFLATE session whose last
 * output ended on a flush (byte-aligned, no final block).  -1 if out is
 * full.
 */
int snap_deflate_stored(struct buf *out, const char *data, size_t len);
const char *snap_kind_name(uint32_t kind);

struct imapp_reader;
/*
 * snap_reader_limits - set r's limits for a session before login
 * (notauth) or after: imapd reads commands, and idled reads a parked
 * session's pending bytes, with the same limits.  Before login they are
 * small (imap_maxline_preauth, maxliteral_preauth) and a whole command
 * fits in SNAP_MAX_PENDING, so that a command a client has begun can
 * always be parked.
 */
void snap_reader_limits(struct imapp_reader *r, int notauth);

#endif

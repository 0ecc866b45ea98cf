/*
 * idled - shared structures of the idle daemon.
 *
 * A parked session (struct isess) is the client's fd and a compact copy
 * of its snapshot: strings that many sessions share (the user, the
 * mailbox) are interned, so a session costs a few hundred bytes.
 * Indexes:
 *   users     hash of struct iuser; each lists its sessions oldest first
 *             (the caps evict from the head)
 *   mailboxes hash of struct imbox by mailbox id; each lists the watches
 *             on it, and keeps the last few changes it went through, so
 *             that a change that added messages only is answered by idled
 *             itself ("* N EXISTS") without a worker
 *   all       every session, oldest first (keep-alives, timeouts)
 */
#ifndef BERTH_IDLED_H
#define BERTH_IDLED_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ev.h"
#include "notify.h"
#include "snap.h"

struct isess;

struct iuser {
	char *name;
	size_t nsess;
	struct isess *head, *tail; /* oldest first */
};

/* one change a mailbox went through: prevmodseq -> modseq */
struct ichange {
	uint64_t prevmodseq, modseq;
	uint32_t what, exists, uidnext;
};

#define IMBOX_CHANGES 8

struct iwatch {
	struct isess *s;
	struct imbox *mb;
	uint32_t events; /* NOTIFY_EV_* | SNAP_W_* */
	uint64_t modseq; /* the client knows the mailbox as of this */
	struct iwatch *prev, *next; /* on mb */
};

struct imbox {
	uint32_t id;
	uint64_t modseq;		  /* newest known */
	struct ichange ch[IMBOX_CHANGES]; /* ring, newest at chead */
	unsigned chead;
	struct iwatch *watches;
	size_t nwatch;
	long long last_ms;   /* last change or watch: for expiry */
	struct ev_timer gap; /* waiting for a change that is late */
};

struct isess {
	int fd;
	struct ev_io io;
	uint8_t kind;	 /* enum snap_kind */
	uint8_t waking;	 /* queued for a worker */
	uint8_t replied; /* NOTAUTH: reply sent */
	uint8_t tarpit;	 /* a refused connection held for its BYE */
	uint8_t quiet;	 /* park and unpark logged at debug level:
			  * tarpits and logins waiting for authd,
			  * whose events authd logs */
	uint32_t flags;	 /* SNAP_F_* */
	struct iuser *user;
	const char *handoff; /* interned: the service's handoff socket */
	uint32_t port;
	char *tag; /* IDLE tag; "" otherwise */
	uint64_t conn_id;
	uint32_t failed_logins;
	long long idle_since_ms;
	long long since_ms;    /* parked at */
	long long ping_ms;     /* last keep-alive */
	long long wake_ms;     /* NOTAUTH: when to reply */
	struct ev_timer timer; /* NOTAUTH: the reply */
	/* the selected mailbox as the client knows it */
	char *mailbox;
	uint32_t mboxid, uidvalidity, maxuid, exists, recent_lo, recent_hi;
	uint64_t modseq;
	struct iwatch *watch; /* nwatch entries; watch[0] is the selected
			       * mailbox's when SNAP_F_SELECTED */
	uint32_t nwatch;
	uint32_t user_events;
	char *spec; /* notify_spec, malloc'ed, or NULL */
	size_t speclen;
	char *opaque; /* the snapshot's saved then zdict bytes,
		       * carried for the worker, or NULL */
	uint16_t savedlen, zdictlen;
	char *reply;		     /* NOTAUTH reply, or NULL */
	char *mech;		     /* AUTHWAIT: the login's mechanism */
	char *authuser;		     /* LOGGEDIN: who logged in */
	struct buf pending;	     /* client bytes not yet answered: a command
				      * the client has not finished, or more */
	uint32_t contd;		     /* every synchronizing literal announced in
				      * pending[0..contd) had its "+" sent */
	const char *why;	     /* why it is being woken */
	struct isess *uprev, *unext; /* on user */
	struct isess *aprev, *anext; /* on all */
	struct isess *qnext;	     /* on the wake queue */
	char addr[];		     /* the client's, as long as it is */
};

/* idled_sess.c */
extern struct isess *idled_all_head, *idled_all_tail;
extern size_t idled_nsess;
struct iuser *idled_user_find(const char *name);
struct imbox *idled_mbox_get(uint32_t id, int create);
/* idled_sess_new - a session from a received snapshot and fd; consumes
 * the fd (the snapshot's pending bytes move into the session) */
struct isess *idled_sess_new(struct snap *sn, int fd, const char *handoff);
/* idled_sess_snap - the session back as a snapshot (for a worker) */
void idled_sess_snap(const struct isess *s, struct snap *sn);
/* idled_sess_drop - close and forget s; reason (NULL: no log line) */
void idled_sess_drop(struct isess *s, const char *reason);
/* idled_sess_log_park - the park line of s */
void idled_sess_log_park(const struct isess *s);
/* idled_sess_write - send text to the client; -1 (and dropped) when the
 * client is gone or not reading */
int idled_sess_write(struct isess *s, const char *text, size_t len);
/* idled_net - the client's network: IPv4 /24, IPv6 /64 (textually) */
void idled_net(const char *addr, char *out, size_t size);
void idled_mbox_expire(void);
/*
 * idled_tarpit_take - may one more refused connection from addr wait
 * here for its delayed BYE?  Bounded per address (idled_tarpit_addr) and
 * in all (idled_tarpit_max), so a flood of refused connections cannot
 * fill idled's descriptors; 1 and counted, or 0.
 */
int idled_tarpit_take(const char *addr);

/* idled_wake.c */
/* idled_wake - hand s back to a worker (now, or queued when every worker
 * is busy); s is gone for the caller either way */
void idled_wake(struct isess *s, const char *why);
/* idled_wake_forget - s is being dropped: take it off the queue */
void idled_wake_forget(struct isess *s);
size_t idled_wake_queued(void);

/* idled_change.c */
void idled_change_init(void);
/* idled_change_catch_up - bring s up to its mailboxes' newest changes:
 * answer what idled can, wake s for the rest; 1 if s was woken/dropped */
int idled_change_catch_up(struct isess *s);
/* idled_selected_held - does the worker hold back changes of the selected
 * mailbox (an IDLE must then start in a worker, which reports them)? */
int idled_selected_held(const struct isess *s);

/* idled_client.c */
void idled_client_io(struct ev_io *io, unsigned events, void *ctx);
/* idled_client_input - answer the pending input where idled can: send
 * the continuation of a synchronizing literal it can hold, refuse what
 * is over the pre-login limits, answer DONE/IDLE/LOGOUT, and hand a
 * whole command (or one too big to hold) to a worker; 1 when the
 * session was handed on or dropped */
int idled_client_input(struct isess *s);

/* idled_limits.c */
/* idled_limits_park - caps after s joined (evicts the oldest) */
void idled_limits_park(struct isess *s);
/* idled_limits_rearm - a NOTAUTH session's reply is now s->reply, due at
 * s->wake_ms */
void idled_limits_rearm(struct isess *s);
void idled_limits_init(void);

/* idled_park.c */
void idled_park_init(void);

/* idled_authd.c */
void idled_authd_init(void);
/* idled_authd_tick - remake the link to authd when due, and watch it */
void idled_authd_tick(void);
/* idled_authd_watch - watch the link if it changed (after a call that may
 * have made it) */
void idled_authd_watch(void);
/* idled_authd_linked - is the link to authd up (and watched)? */
int idled_authd_linked(void);
/* idled_authd_drop - authd is not answering: drop the link (remade
 * later); logins and admissions waiting on it are answered without it */
void idled_authd_drop(void);

/* idled_front.c */
struct ipc_msg;
/* idled_front_take - a FRONT message from master: its client (m->fd,
 * consumed) is admitted, greeted and parked */
void idled_front_take(const struct ipc_msg *m);
/* idled_front_answer - authd's answer (ADMITTED, REFUSED, MECHLIST) to
 * the oldest question idled_front asked */
void idled_front_answer(const struct ipc_msg *m);
/* idled_front_fail_all - the link is gone: admit every client waiting
 * for an answer without authd */
void idled_front_fail_all(const char *why);

#endif

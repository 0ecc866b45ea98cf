/*
 * imapd - the IMAP worker.  All state of a session lives in struct
 * imap_session (nothing at file scope but per-process resources), so that
 * a session can later be snapshotted and resumed elsewhere.
 */
#ifndef BERTH_IMAPD_H
#define BERTH_IMAPD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "imapp.h"
#include "store.h"

enum imap_state {
	IMAP_S_NOTAUTH,
	IMAP_S_AUTH,
	IMAP_S_SELECTED,
	IMAP_S_LOGOUT,
};

/* one message as the client knows it; msgno = index + 1 */
struct view_msg {
	uint32_t uid;
	uint32_t flags;	 /* STORE_F_* as last reported */
	uint64_t modseq; /* as last reported */
	unsigned recent : 1;
	unsigned gone : 1; /* expunged, EXPUNGE not yet sent */
};

struct search_ctx;

struct imap_view {
	uint32_t mboxid;
	char *name;
	int readonly;
	uint32_t uidvalidity;
	uint64_t modseq;     /* HIGHESTMODSEQ as last synced */
	uint64_t smodseq;    /* HIGHESTMODSEQ the last sync read: >= modseq;
			      * greater while expunges are held back (all
			      * else up to it is in the view) */
	uint32_t recent_lo;  /* UIDs in (recent_lo, recent_hi] are */
	uint32_t recent_hi;  /* \Recent in this session: claimed at
			      * SELECT and as they arrive (EXAMINE:
			      * those nobody claimed at EXAMINE) */
	struct buf keywords; /* " a b": keywords the client was told
			      * of in FLAGS */
	uint32_t *saved;     /* SEARCHRES "$": UIDs, ascending; they
			      * travel in a parked session's snapshot
			      * (its saved field) */
	size_t nsaved;
	struct view_msg *msgs;
	size_t n, size;
	struct search_ctx *ctx; /* RETURN (UPDATE) contexts (search_ctx.c);
				 * while any, the session is not parked */
	int ctx_logged;		/* "not parked" said for this view */
};

struct imap_session {
	int fd;
	char addr[64];
	int port;
	int secure; /* TLS or a Unix socket */
	int tls;    /* under TLS (tlsd relays it) */
	enum imap_state state;
	char user[256];
	struct store *st;
	struct imap_view view; /* valid in IMAP_S_SELECTED */
	struct imapp_reader rd;
	struct buf in;	     /* bytes read but not yet fed */
	size_t in_contd;     /* in[0..in_contd) came back from idled
			      * with its literals' "+" already sent */
	long long served_ms; /* CLOCK_MONOTONIC: this worker took it */
	long long cmd_ms;    /* when the unfinished command began, or 0 */
	uint64_t in_total;   /* bytes read from the client so far */
	long long stall_ms;  /* a command too big to park: when its
			      * current stall_min_rate window began, or 0 */
	uint64_t stall_in;   /* in_total then */
	struct buf out;	     /* pending output */
	int failed_logins;
	int condstore;	    /* ENABLE CONDSTORE / used */
	int qresync;	    /* ENABLE QRESYNC: VANISHED for EXPUNGE */
	int rev2;	    /* ENABLE IMAP4rev2 (RFC 9051): no \Recent,
			     * ESEARCH for SEARCH, LIST in SELECT */
	int utf8;	    /* ENABLE UTF8=ACCEPT (RFC 6855), or
			     * IMAP4rev2: mailbox names and quoted
			     * strings in UTF-8 */
	struct compress *z; /* COMPRESS=DEFLATE (RFC 4978), or NULL */
	long long timeout_ms;
	int dead;		    /* I/O failed: stop */
	int parked;		    /* handed to idled: do not close */
	uint64_t conn_id;	    /* authd's admission id, 0 if none */
	long long idle_since_ms;    /* CLOCK_MONOTONIC, when the current
				     * IDLE began (kept across parks) */
	struct imap_notify *notify; /* NOTIFY SET state, NULL: none */
	int slot_fd[2];		    /* upload slots held (user, address), -1:
				     * none (imapd_slot.c) */
	char *slot_path[2];	    /* their files, NULL: none */
	unsigned deferred;	    /* commands answered in s->out under a
				     * deferred flush (io_defer) */
};

/* the command currently running, for handlers */
struct imap_cmd {
	struct imap_session *s;
	struct imapp_cmd *c;
	const char *tag;
	struct imapp_arg *args;
	size_t nargs;
	int uid;      /* UID prefix */
	char **spent; /* argument strings replaced by their
		       * stored form (cmd_mbox_check), freed
		       * after the handler */
	size_t nspent;
};

typedef void imap_cmd_fn(struct imap_cmd *cmd);

/* watchdog: a command that makes no progress for this long is stuck;
 * SIGALRM tells its client BYE and ends the worker (main.c), and master
 * reclaims its locks with failchk: no one else's session is touched.
 * Waiting for the client does not count. */
#define IMAPD_WATCHDOG_S 300
/* a client seen queued on a waiting worker's listeners is looked for
 * again this much later: one a free worker takes is gone by then */
#define IMAPD_BACKLOG_STEP_MS 10
/* a session idled did not take is offered again after this, doubling up
 * to IMAPD_PARK_RETRY_MAX_MS (idled restarting, or its tarpit full) */
#define IMAPD_PARK_RETRY_MS 1000
#define IMAPD_PARK_RETRY_MAX_MS 30000

#define IMAP_CMD_NOTAUTH 0x01  /* allowed before login */
#define IMAP_CMD_AUTH 0x02     /* allowed after login */
#define IMAP_CMD_SELECTED 0x04 /* needs a selected mailbox */
/* no untagged EXPUNGE after (RFC 3501 7.4.1: FETCH, STORE, SEARCH) */
#define IMAP_CMD_NOEXPUNGE 0x08
#define IMAP_CMD_UID 0x10 /* also as "UID <command>" */

struct imap_cmd_def {
	const char *name;
	imap_cmd_fn *fn;
	unsigned flags;
};

const struct imap_cmd_def *imapd_cmd_find(const char *name);

/* io.c */
void io_printf(struct imap_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void io_put(struct imap_session *s, const char *p, size_t len);
int io_flush(struct imap_session *s);
/*
 * io_defer - may the answers so far wait, unsent and unflushed, for the
 * next command?  Only while the store's flush is deferred (store_defer_
 * flush), fewer than IO_DEFER_MAX commands wait, and the next command's
 * input is at hand (read, or readable now): a pipelining client.  The
 * next io_flush makes them durable, then sends them (group commit).
 */
int io_defer(struct imap_session *s);
/* io_read - read more input into s->in; 0 ok, -1 EOF/error/timeout */
int io_read(struct imap_session *s, long long timeout_ms);
/* io_read_press - io_read, but -1 with errno EBUSY as soon as a client or
 * a resumed session waits on this worker's listeners (one blocking wait
 * on all of them) */
int io_read_press(struct imap_session *s, long long timeout_ms);
/*
 * io_backlog - is a new client or a resumed session waiting on this
 * worker's listeners right now (no worker has taken it yet)?
 */
int io_backlog(void);
/* io_linger - flush a last BYE, then drain the client's input a moment
 * (bounded) so that closing does not reset the connection under it */
void io_linger(struct imap_session *s);
/* io_read_line - one raw line (for AUTHENTICATE), whole within
 * timeout_ms; NULL on EOF or error, or with errno ETIMEDOUT */
char *io_read_line(struct imap_session *s, long long timeout_ms);

/* main.c - the worker: signals, accepting */
/* imapd_client_watch - the client fd the stop and watchdog signals act
 * on (-1: none, e.g. while idled takes it); a stop already seen shuts
 * down fd's read side at once */
void imapd_client_watch(int fd);
/* imapd_client_deflated - the watched client is (1) or is no longer (0)
 * under COMPRESS=DEFLATE, for the watchdog's BYE */
void imapd_client_deflated(int on);
/* imapd_stopping - the stop signal master sent, 0 if none */
int imapd_stopping(void);

/* imapd_slot.c */
/*
 * imapd_slot_take - a worker of the user's and of the address's for
 * reading a literal idled cannot hold: 0 when held (or already held, or
 * not capped), -1 when every one is in use, *limit_r naming the key of
 * the cap.  Never blocks.
 */
int imapd_slot_take(struct imap_session *s, const char **limit_r);
/* imapd_slot_release - give back what imapd_slot_take took, if anything */
void imapd_slot_release(struct imap_session *s);

/* compress.c - COMPRESS=DEFLATE (RFC 4978) on a session's I/O */
struct compress;
/* compress_start - from now on s's output is deflated and its input
 * inflated (after the tagged OK went out uncompressed) */
void compress_start(struct imap_session *s);
void compress_free(struct imap_session *s);
/* compress_deflate - data[0..len) deflated with a sync flush; *out_r
 * points into s's compressor (valid until the next call); -1 on a
 * zlib failure */
int compress_deflate(struct imap_session *s, const char *data, size_t len,
    const char **out_r, size_t *len_r);
/* compress_inflate - raw[0..len) from the client, inflated into s->in
 * as far as max bytes; what is left stays with the inflater (see
 * compress_more).  -1: the client's stream is broken or ended */
int compress_inflate(struct imap_session *s, const char *raw, size_t len,
    size_t max);
/* compress_more - does the inflater hold input not yet inflated? */
int compress_more(const struct imap_session *s);
struct snap;
/* compress_snap - the inflater into sn (SNAP_F_DEFLATE, zdict); -1 when
 * it cannot travel now (not at a block boundary, input held, or too
 * large) */
int compress_snap(struct imap_session *s, struct snap *sn);
/* compress_restore - the inflater and deflater of a resumed session,
 * pending (deflated bytes idled read) inflated into s->in; -1 broken */
int compress_restore(struct imap_session *s, const struct snap *sn);

/* imapd_park.c */
struct snap;
/*
 * imapd_park - hand the session to idled as kind (SNAP_K_IDLE: tag is the
 * IDLE tag; SNAP_K_WAIT: between commands).  Returns 0 when idled has the
 * client: s->parked is set and the caller ends the session without
 * closing anything more than its own copy of the fd.  -1: the caller
 * serves on itself (idled down or refusing; logged once per worker).
 */
int imapd_park(struct imap_session *s, int kind, const char *tag);
/* imapd_park_login - park a session whose one-step login (tag, mech)
 * authd will answer to idled; reply is sent if no answer comes within
 * wait_ms.  0 when idled has it (the caller hands authd the login), 1
 * when idled did not acknowledge in time (the session is left with it,
 * which answers reply: the caller does nothing more), -1 when the caller
 * logs in itself */
int imapd_park_login(struct imap_session *s, const char *tag, const char *mech,
    const char *reply, long long wait_ms);
/* cmd_auth_capabilities - the CAPABILITY list for s's state (the
 * greeting's, CAPABILITY's and the login OK's) */
void cmd_auth_capabilities(struct imap_session *s, struct buf *out);
/* cmd_auth_login_finish - a login succeeded (here, or while parked): the
 * user's session starts with the tagged OK */
void cmd_auth_login_finish(struct imap_session *s, const char *tag,
    const char *user, const char *mech);
/* cmd_auth_resume - a session parked by imapd_park_sasl is back with
 * input: go on with its exchange (cmd_auth.c) */
void cmd_auth_resume(struct imap_session *s, const char *tag, const char *mech,
    long long deadline_ms);
/* imapd_park_penalty - park a failed login until delay_ms from now, when
 * idled sends reply (and closes the session if close_after); 0 when
 * idled has it, -1 when the caller must do it itself */
int imapd_park_penalty(struct imap_session *s, long long delay_ms,
    const char *reply, int close_after);
/* imapd_park_sasl - park a session inside AUTHENTICATE (tag, mech)
 * whose client owes its next response (authd holds the exchange,
 * detached); what it has sent of it (s->in) travels along.  idled wakes
 * it on a whole line, or sends reply at deadline_ms (then closes if
 * close_after).  0 when idled has it, -1 when the caller waits itself */
int imapd_park_sasl(struct imap_session *s, const char *tag, const char *mech,
    const char *reply, long long deadline_ms, int close_after);
/*
 * imapd_park_take - receive what the handoff connection conn brings: a
 * parked session (returns its client fd, sn filled), a new TLS session
 * from tlsd (returns IMAPD_PARK_TLS, *tls_r the message), or nothing
 * usable (-1).
 */
#define IMAPD_PARK_TLS (-2)
struct ipc_msg;
int imapd_park_take(int conn, struct snap *sn, struct ipc_msg **tls_r);
/* imapd_park_restore - s as the snapshot describes it; -1: cannot go on
 * (a BYE is queued) */
int imapd_park_restore(struct imap_session *s, const struct snap *sn);

/* specialuse.c - special-use mailboxes (RFC 6154) in the store's
 * STORE_MBOX_USE_MASK bits */
/* specialuse_bit - the bit of attribute attr ("\\Sent"), 0 if unknown */
uint32_t specialuse_bit(const char *attr);
/* specialuse_put - " \\Sent" etc. for the bits in attrs, appended */
void specialuse_put(struct buf *out, uint32_t attrs);
/* specialuse_autocreate - at a user's first login: the special-use
 * mailboxes the configuration names (xlist-<use>), created and marked */
void specialuse_autocreate(struct imap_session *s);

/* imapd_notify.c - NOTIFY (RFC 5465) state of a session */
/* imapd_notify_snap - add the session's watches and NOTIFY state to sn */
int imapd_notify_snap(struct imap_session *s, struct snap *sn);
/* imapd_notify_restore - rebuild s->notify from a resumed snapshot */
int imapd_notify_restore(struct imap_session *s, const struct snap *sn);
/* imapd_notify_sync - where untagged responses are allowed: send what
 * the NOTIFY spec asks about the selected mailbox and the others (STATUS,
 * LIST).  how: IMAPD_SYNC_WAIT between commands, IMAPD_SYNC_IDLE inside
 * IDLE (delayed expunges may go), IMAPD_SYNC_CMD after a command (the
 * other mailboxes only, at most once per idle_poll) */
void imapd_notify_sync(struct imap_session *s, int how);
#define IMAPD_SYNC_WAIT 0
#define IMAPD_SYNC_IDLE 1
#define IMAPD_SYNC_CMD 2
void imapd_notify_free(struct imap_session *s);

/* imapd_tls.c */
struct ipc_msg;
/* imapd_tls_available - may STARTTLS be offered (tlsd's socket is
 * there, and a handoff socket to come back through)? */
int imapd_tls_available(void);
/* imapd_tls_connect - a connection to tlsd for STARTTLS, or -1 */
int imapd_tls_connect(void);
/* imapd_tls_pass - give the client to tlsd on connection c (consumed);
 * 0 when tlsd holds it (s is parked: the caller only drops its copy),
 * -1 when it did not take it */
int imapd_tls_pass(struct imap_session *s, int c);
/* imapd_tls_serve - serve a session tlsd delivered (a NEW message, m's
 * fd consumed); 1 when it logged in here, else 0 */
int imapd_tls_serve(struct store *st, struct ipc_msg *m);

/* cmd_select.c */
/* cmd_idle_run - serve an IDLE (tag) until DONE; parks it when it can */
void cmd_idle_run(struct imap_session *s, const char *tag);

/* imapd_session.c - the life of a session */
void imapd_session_init(struct imap_session *s, struct store *st, int fd);
/* imapd_session_run - a new client on fd: admission, then serve; 1
 * when it logged in, else 0 (main counts logins toward recycling) */
int imapd_session_run(struct store *st, int fd);
/* imapd_session_resume - take one session from the handoff connection
 * conn and serve it.  Consumes conn.  1 when it was a new session (from
 * tlsd) that logged in here, else 0 */
int imapd_session_resume(struct store *st, int conn);
/* imapd_session_end - the client is gone (not parked): log, tell authd */
void imapd_session_end(struct imap_session *s);
void imapd_session_done(struct imap_session *s);
/* imapd_serve - the command loop; greet: send the greeting first */
void imapd_serve(struct imap_session *s, int greet);
/* imapd_wait_sync - between commands: send what changed (selected
 * mailbox, NOTIFY) */
void imapd_wait_sync(struct imap_session *s);
/* imapd_idle_sync - the same inside IDLE */
void imapd_idle_sync(struct imap_session *s);
void imap_ok(struct imap_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void imap_no(struct imap_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void imap_bad(struct imap_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* imap_astring - argument i as a string, or NULL if not an astring */
const char *imap_astring(struct imap_cmd *cmd, size_t i);
/* imap_put_mbox - mailbox name (the store's modified UTF-7) as an
 * astring in the session's form: UTF-8 once enabled (RFC 6855) */
void imap_put_mbox(struct imap_session *s, struct buf *out, const char *name);
/* imap_flags_parse - a flag list into bits and keywords; -1 bad */
int imap_flags_parse(const struct imapp_arg *a, uint32_t *flags_r,
    struct buf *kw_r);
void imap_flags_put(struct buf *out, uint32_t flags, const char *kw,
    int recent);

/* view.c */
int view_open(struct imap_session *s, const char *name, int readonly,
    struct store_mbox *mb_r, uint32_t *nrecent_r, const char **error_r);
void view_close(struct imap_session *s);
/* view_sync - bring the view up to date, sending untagged responses;
 * expunges are held back when allow_expunge is 0 */
void view_sync(struct imap_session *s, int allow_expunge);
/* view_new_fn - a message view_sync_as added (after its EXISTS) */
typedef void view_new_fn(struct imap_session *s, const struct store_msg *m,
    uint32_t msgno, void *ctx);
/* add new messages (EXISTS); without it only a rename/delete is noticed */
#define VIEW_SYNC_NEW 0x01
#define VIEW_SYNC_EXPUNGE 0x02 /* send EXPUNGE (else held back) */
/* FETCH for flag changes (else the view takes them silently) */
#define VIEW_SYNC_FLAGS 0x04
/* view_sync_as - view_sync reporting what says (VIEW_SYNC_*); new_fn
 * (may be NULL) is called for every message added */
void view_sync_as(struct imap_session *s, unsigned what, view_new_fn *new_fn,
    void *ctx);
/* view_uncap - after view_rebuild: the client also knows every change up
 * to smodseq but held-back expunges (a snapshot's modseq stays at the
 * first held expunge); take those flags as reported */
int view_uncap(struct imap_session *s, uint64_t smodseq, const char **error_r);
struct snap;
/* view_rebuild - the client's view as of a snapshot, from the store:
 * UIDs up to maxuid now present or expunged after the snapshot's modseq;
 * the next view_sync then reports every change since */
int view_rebuild(struct imap_session *s, const struct snap *sn,
    const char **error_r);
/* view_uids - resolve a sequence set (msgnos or, with uid, UIDs) into
 * UIDs in the view, expunged ones not yet reported included; -1 on a
 * bad set */
int view_uids(struct imap_session *s, const char *set, int uid,
    uint32_t **uids_r, size_t *n_r);
/* view_keywords_note - before a FETCH shows kws (space-separated): a
 * keyword the client was not told of is added to the view's, and FLAGS
 * and PERMANENTFLAGS announce the new list (RFC 3501 7.2.6) */
void view_keywords_note(struct imap_session *s, const char *kws);
/* view_keywords_put - FLAGS and PERMANENTFLAGS with the view's keywords */
void view_keywords_put(struct imap_session *s);
/* view_put_uids - uids[0..n) (ascending) as a compact set "1:3,7" */
void view_put_uids(struct buf *out, const uint32_t *uids, size_t n);
/* view_vanished_earlier - "* VANISHED (EARLIER)" for the UIDs of set
 * (a UID set, NULL: all) expunged after modseq and no longer in the
 * view, optionally only those also in known (a UID set, NULL: all);
 * -1 on a bad set */
int view_vanished_earlier(struct imap_session *s, const char *set,
    const char *known, uint64_t modseq);
/* view_recent - messages \Recent in the view */
uint32_t view_recent(struct imap_session *s);
/* view_recent_drop - IMAP4rev2: the view has no \Recent from now on */
void view_recent_drop(struct imap_session *s);
/* view_msgno - msgno of uid in the view, 0 if absent */
uint32_t view_msgno(struct imap_session *s, uint32_t uid);

#endif

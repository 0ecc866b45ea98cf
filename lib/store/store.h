/*
 * store - the mail store: one transactional Berkeley DB environment under
 * configdirectory/db, and one file per message under the partition.
 *
 * Databases (all in one DB_INIT_TXN|LOCK|LOG|MPOOL environment):
 *   mailboxes  "<user>\0<name>"  -> mailbox record (id, UIDVALIDITY,
 *                                   UIDNEXT, HIGHESTMODSEQ, recent mark)
 *   index      (mboxid, uid)     -> message record (modseq, dates, size,
 *                                   flags, keywords, guid)
 *   expunged   (mboxid, uid)     -> modseq at expunge, then the message
 *                                   record as it was (for QRESYNC, for
 *                                   resuming parked sessions, and for
 *                                   FETCH by sessions not yet told);
 *                                   never pruned while the mailbox
 *                                   exists, so QRESYNC is always exact
 *   modseq     (mboxid, modseq, uid) -> index record (a secondary of
 *                                   index, kept by Berkeley DB: what
 *                                   changed since a modseq, store_view.c)
 *   xmodseq    (mboxid, modseq, uid) -> expunged record (the same for
 *                                   expunged)
 *   mcache     (mboxid, uid)     -> guid, ENVELOPE, BODY, BODYSTRUCTURE
 *                                   text, the header block: the FETCH
 *                                   cache (store_cache.c)
 *   cache      guid              -> the same without the guid: the
 *                                   FETCH cache of stores made before
 *                                   mcache, read when mcache has none
 *   refs       guid              -> count of index records using the file
 *   subs       "<user>\0<name>"  -> subscription
 *   meta       counters          -> next mailbox id
 *   dup        "<msgid>\0<user>\0<name>" -> expiry (int64, seconds):
 *                                   deliveries already made, for
 *                                   duplicate suppression (store_deliver)
 *   quota      "<user>"             -> usage (octets, messages) and limits
 *                                   (store_quota)
 * Message files are content-addressed: <partition>/<g[0..1]>/<guid> where
 * guid is the SHA-1 of the bytes.  COPY and multi-recipient delivery add
 * index records for the same guid and bump refs; nothing is copied.
 *
 * Durability: the user's journal (store_journal.c) is the write-ahead
 * record.  store_append writes the message file under its guid name (a
 * message over STORE_INLINE_MAX is fsync'd with its directory; a smaller
 * one is not), commits the transaction without flushing Berkeley DB's
 * log, appends the transaction's journal lines (a small message's bytes
 * in an F line) and returns 0 only once those lines are durable: the
 * same lines go in a record of the partition's commit log
 * (store_wal.c), fdatasync'd by this call or by a concurrent writer,
 * of any user, whose flush covered them (group commit); one flush covers
 * every journal a transaction wrote.  So a caller's OK means the mail survives
 * kill -9 and power loss: recovery replays what the database lost from
 * the journals (store_redo.c).  A file left without a record by a crash
 * is never referenced (UIDs are only allocated inside the transaction), and
 * store_recover sweeps such files.  Files of expunged messages are removed
 * by the same sweep (at recovery, and at checkpoints once unreferenced for
 * an hour), never right after the expunge: a crash can then never leave a
 * record whose file is gone.
 *
 * Stale locks: every process registers with the environment
 * (set_thread_count/set_isalive) and closes its handles on every exit
 * path it controls.  Whatever killed a process, DB_ENV->failchk releases
 * its lockers, locks and transactions: master runs it every few seconds
 * and when a child dies abnormally (store_failchk_env from berthctl
 * failchk), and a lock wait past a few seconds runs it as well.
 *
 * Sizing: the lock table and the thread table are made when recovery
 * creates the region, for store_set_procs() processes (master passes
 * maxchild of every service plus its other children in
 * BERTH_STORE_PROCS); STORE_PROC_* is what one process needs.  A full
 * table (ENOMEM) is a shortage, reported as such, never a reason for
 * recovery.
 *
 * Mailbox names are as the client sends them (modified UTF-7), hierarchy
 * separator '/'.  "INBOX" in any case as the first component is stored as
 * "INBOX".  Users are plain names.
 *
 * Functions on a handle return 0 on success, -1 with *error_r (text
 * in the handle, valid until its next call) on failure, and STORE_ENOENT
 * / etc. where noted; those without a handle write the reason into the
 * caller's struct err.  None of them call exit.  Calls block on disk I/O.
 */
#ifndef BERTH_STORE_H
#define BERTH_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;
struct err;
struct store;

/* return codes besides 0 and -1 */
#define STORE_ENOENT (-2) /* no such mailbox / message */
#define STORE_EEXIST (-3) /* mailbox already exists */
#define STORE_EINVAL (-4) /* bad name or argument */
#define STORE_EQUOTA (-8) /* the user's quota has no room for it */

/* system flags; \Recent is per session and not stored */
#define STORE_F_SEEN 0x01
#define STORE_F_ANSWERED 0x02
#define STORE_F_FLAGGED 0x04
#define STORE_F_DELETED 0x08
#define STORE_F_DRAFT 0x10

#define STORE_MAX_KEYWORDS_LEN 1024 /* space-separated keywords */

/* mailbox attributes */
#define STORE_MBOX_NOSELECT 0x01 /* placeholder parent */
/* special-use bits, the caller's meaning (store_mbox_set_use) */
#define STORE_MBOX_USE_MASK 0xff00

struct store_mbox {
	uint32_t id;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t recentuid; /* highest UID already reported \Recent */
	uint64_t highestmodseq;
	uint32_t attrs;	 /* STORE_MBOX_* */
	uint32_t exists; /* number of messages */
	uint32_t unseen; /* messages without \Seen */
	uint64_t size;	 /* sum of message sizes */
};

struct store_msg {
	uint32_t uid;
	uint32_t flags; /* STORE_F_* */
	uint64_t modseq;
	int64_t internaldate; /* seconds since the epoch, UTC */
	int32_t tzoff;	      /* INTERNALDATE zone, minutes east of UTC */
	int64_t savedate;
	uint64_t size;
	char guid[41]; /* hex SHA-1 of the message bytes */
	char keywords[STORE_MAX_KEYWORDS_LEN]; /* space-separated, "" none */
};

/* what one process needs of the shared environment: lockers (12 handles,
 * a transaction, cursors), locks and lock objects (a transaction over
 * many pages), and one thread-table slot */
#define STORE_PROC_LOCKERS 32
#define STORE_PROC_LOCKS 500
#define STORE_PROC_OBJECTS 500
#define STORE_PROCS_DEFAULT 512 /* without store_set_procs */
#define STORE_PROCS_MIN 16
#define STORE_PROCS_MAX 100000

/* store_set_procs - size the next environment created (recovery) for
 * procs processes at once (at least STORE_PROCS_MIN); 0 keeps
 * STORE_PROCS_DEFAULT */
void store_set_procs(unsigned procs);
/* store_set_cachesize - the shared buffer pool (bytes) of the next
 * environment created (recovery); 0 keeps STORE_CACHESIZE_DEFAULT.  One
 * pool for every process: a header SEARCH or FETCH ENVELOPE of a
 * mailbox whose cache records outgrow it reads them from the file
 * system one page at a time (imapd.conf berkeley_cachesize) */
#define STORE_CACHESIZE_DEFAULT (16u * 1024 * 1024)
#define STORE_CACHESIZE_MIN (1u * 1024 * 1024)
#define STORE_CACHESIZE_MAX (4096ull * 1024 * 1024)
void store_set_cachesize(unsigned long long bytes);
/* store_procs_env - the count master put in BERTH_STORE_PROCS, 0 if
 * none */
unsigned store_procs_env(void);

#define STORE_OPEN_RECOVER 0x01 /* run DB recovery; caller must be alone */
#define STORE_OPEN_CREATE 0x02	/* create the environment if missing */
/* berthctl reconstruct: open an environment not known complete */
#define STORE_OPEN_REBUILD 0x04
/* berthctl restore: catastrophic recovery over every log; alone */
#define STORE_OPEN_RESTORE 0x08

/*
 * Completeness: an environment is known complete when its meta database
 * holds the "complete" record.  store_open writes it when it finds none
 * and the partition holds no message or journal file (a new
 * installation); berthctl reconstruct writes it when it has rebuilt
 * everything.  Otherwise (the environment was removed, lost or made
 * anew beside existing mail) store_open fails with STORE_ENODB: nothing
 * may run on a database that does not know the mail on disk.
 */
#define STORE_ENODB (-7)
/* exit status of berthctl recover on such an environment: master stops
 * with a message telling the admin to run berthctl reconstruct */
#define STORE_EXIT_NODB 73

/*
 * store_open - join (or with STORE_OPEN_RECOVER, recover) the environment
 * under configdir, messages in the partition directory partdir.  Returns
 * 0, or with err set: STORE_ENODB (above), STORE_ERECOVER (a process died
 * inside Berkeley DB: only recovery helps), STORE_ESHORTAGE (no room in
 * the lock table or region: too many processes, or dead ones' lockers
 * not yet reclaimed; not a reason for recovery), or -1.
 */
int store_open(const char *configdir, const char *partdir, int flags,
    struct store **st_r, struct err *err);
#define STORE_ESHORTAGE (-8)
void store_close(struct store **st);
/*
 * Change events.  After each commit the store calls the handle's event
 * function once per mailbox the transaction changed (and once per
 * subscription change), so the daemon can tell whoever listens (imapd,
 * lmtpd and berthctl install lib/proto/notify's sender: idled hears).
 * The events are RFC 5465's, numbered as the notify protocol numbers
 * them.  Pointers in the event are valid during the call only.
 */
#define STORE_EV_NEW 0x0001	     /* MessageNew */
#define STORE_EV_EXPUNGE 0x0002	     /* MessageExpunge */
#define STORE_EV_FLAGS 0x0004	     /* FlagChange */
#define STORE_EV_ANNOTATION 0x0008   /* AnnotationChange */
#define STORE_EV_MAILBOXNAME 0x0010  /* MailboxName */
#define STORE_EV_SUBSCRIPTION 0x0020 /* SubscriptionChange */
/* only with STORE_EV_MAILBOXNAME: the mailbox was deleted */
#define STORE_W_DELETED 0x0100

struct store_event {
	uint16_t what;	 /* STORE_EV_* and STORE_W_* */
	uint32_t mboxid; /* 0: not about one mailbox (subscriptions) */
	uint32_t uidvalidity;
	uint32_t exists; /* after the change */
	uint32_t uidnext;
	uint32_t unseen;
	uint64_t prevmodseq;		   /* HIGHESTMODSEQ before the change */
	uint64_t modseq;		   /* and after */
	const char *user, *name, *oldname; /* oldname: NULL unless a
					    * rename */
};
typedef void store_event_fn(const struct store_event *ev, void *ctx);
/* store_set_event_fn - call fn(ev, ctx) for every committed change; NULL
 * (the default) announces nothing */
void store_set_event_fn(struct store *st, store_event_fn *fn, void *ctx);

/* store_recover - recovery plus sweep of unreferenced files (START);
 * STORE_ENODB (nothing done, nothing swept) when the environment is not
 * known complete */
int store_recover(const char *configdir, const char *partdir, struct err *err);
/*
 * store_needs_recovery - did the environment report that it needs
 * recovery (a process died inside Berkeley DB)?  The process should exit
 * with STORE_EXIT_RECOVER; master then stops every store user and runs
 * its START commands (berthctl recover) again.
 */
int store_needs_recovery(struct store *st);
#define STORE_EXIT_RECOVER 75
/* exit status of a process that found no room in the store's tables:
 * master reclaims dead lockers, never recovers for it */
#define STORE_EXIT_SHORTAGE 74
/* store_busy - is a store transaction of st running (for an exit path
 * that must not close handles under it, and for a signal handler: it
 * only reads a sig_atomic_t)? */
int store_busy(struct store *st);

/*
 * store_failchk_env - join the environment under configdir and run
 * DB_ENV->failchk: free the lockers and locks of dead processes and abort
 * their transactions.  One process at a time (a lock file); when another
 * holds it, returns 0 at once.  Returns 0, -1 with err set, or
 * STORE_ERECOVER when a process died inside the library (only recovery
 * helps).  *missing_r (may be NULL) is set when there is no environment
 * yet (returns 0).
 */
int store_failchk_env(const char *configdir, int *missing_r, struct err *err);
#define STORE_ERECOVER (-5)

/* store_panic_env - mark the environment under configdir as needing
 * recovery (DB_PANIC_ENVIRONMENT): every user gets DB_RUNRECOVERY */
int store_panic_env(const char *configdir, struct err *err);

/* store_stat_fn - one figure of the environment (name, value) */
typedef void store_stat_fn(const char *name, unsigned long long value,
    void *ctx);
/* store_stats - join the environment and report lockers, locks, objects,
 * transactions, log and cache figures through cb */
int store_stats(const char *configdir, store_stat_fn *cb, void *ctx,
    struct err *err);
/* store_checkpoint - checkpoint, remove old logs, and remove message files
 * unreferenced for an hour (EVENTS); returns files removed or -1 */
int store_checkpoint(struct store *st, const char **error_r);

/*
 * Reconstruct and check (store_rebuild.c): the database against the
 * users' journals in <partition>/journal and the message files.  Each
 * finding is handed to fn as one key=value line.
 */
typedef void store_report_fn(const char *line, void *ctx);
#define STORE_REBUILD_PURGE 0x01 /* remove files in no mailbox */
/*
 * store_reconstruct - rebuild user's mailboxes (only mailbox, if not
 * NULL), subscriptions and messages from the journal, with the journal's
 * ids, UIDVALIDITY, UIDs, modseqs, flags and dates; user NULL: every user
 * that has a journal, then mark the environment complete and report the
 * message files in no mailbox (removed only with STORE_REBUILD_PURGE).
 * Open the store with STORE_OPEN_REBUILD for that.  Returns the number of
 * messages left out for want of their file, or -1.
 */
int store_reconstruct(struct store *st, const char *user, const char *mailbox,
    int flags, store_report_fn *fn, void *ctx, const char **error_r);
/* store_check - compare database, journals and files (user NULL: all),
 * changing nothing; returns the number of differences or -1 */
int store_check(struct store *st, const char *user, store_report_fn *fn,
    void *ctx, const char **error_r);
/*
 * Backup and restore (store_backup.c), while the store serves.  A backup
 * directory holds db/ (a Berkeley DB hot backup of the environment:
 * databases, then logs), journal/ (every user's journal, each read under
 * its lock), spool/ (the message files) and BACKUP, written last: a
 * directory without it is an unfinished backup and is never restored.
 * Message files are named by their content and never change, so a
 * second backup into the same directory copies only the files it lacks
 * and removes those the store no longer has.  No file of the gone list
 * is swept while a backup runs, so every file the copied database or
 * journals name is copied.
 */
struct store_backup_stats {
	unsigned long long db_bytes, journal_bytes;
	unsigned long long copied, copied_bytes; /* message files */
	unsigned long long kept, kept_bytes, removed;
	unsigned journals;
};
/*
 * store_backup - back st up into dir (made if missing); *stop (may be
 * NULL) set by a signal handler ends it early with an error.  Blocks on
 * disk I/O for as long as the copy takes.
 */
int store_backup(struct store *st, const char *dir, const volatile int *stop,
    struct store_backup_stats *bs, const char **error_r);
/*
 * store_restore - bring the backup in dir back into configdir and
 * partdir, which must hold no database and no mail: the environment is
 * copied and recovered (catastrophic recovery over its logs), the
 * journals and files copied, and every user whose journal differs from
 * the database (changed while the backup ran) rebuilt from the journal,
 * so the result is the store as of the journal copy.  Findings go to
 * fn.  Returns 0 or -1 with err set.
 */
int store_restore(const char *configdir, const char *partdir, const char *dir,
    store_report_fn *fn, void *ctx, struct err *err);

/* store_users - every user with a mailbox in the database, sorted,
 * malloc'ed */
int store_users(struct store *st, char ***users_r, size_t *n_r,
    const char **error_r);

/* mailboxes */
int store_mbox_get(struct store *st, const char *user, const char *name,
    struct store_mbox *mb_r, const char **error_r); /* STORE_ENOENT */
/* creates missing parents as well; STORE_EEXIST if name exists */
int store_mbox_create(struct store *st, const char *user, const char *name,
    const char **error_r);
/* store_mbox_set_use - set the STORE_MBOX_USE_MASK bits of an existing
 * mailbox to use (kept across renames); STORE_ENOENT if none */
int store_mbox_set_use(struct store *st, const char *user, const char *name,
    uint32_t use, const char **error_r);
/* deletes the mailbox and its messages; children are kept; INBOX cannot */
int store_mbox_delete(struct store *st, const char *user, const char *name,
    const char **error_r);
/* renames name and its children; renaming INBOX moves its messages into a
 * new mailbox and leaves INBOX empty (RFC 3501 6.3.5) */
int store_mbox_rename(struct store *st, const char *user, const char *from,
    const char *to, const char **error_r);
/* store_mbox_set_uidvalidity - give user's mailbox name, which has
 * never held a message, the UIDVALIDITY uv (berthctl import keeps the
 * source's); STORE_EEXIST when it has, STORE_ENOENT when it is missing */
int store_mbox_set_uidvalidity(struct store *st, const char *user,
    const char *name, uint32_t uv, const char **error_r);
/* store_user_remove - delete every mailbox of user, INBOX too (berthctl
 * user delete); *n_r: how many */
int store_user_remove(struct store *st, const char *user, size_t *n_r,
    const char **error_r);
typedef int store_mbox_fn(const char *name, const struct store_mbox *mb,
    void *ctx);
/* store_mbox_list - every mailbox of user in name order; cb returning
 * non-zero stops the walk */
int store_mbox_list(struct store *st, const char *user, store_mbox_fn *cb,
    void *ctx, const char **error_r);

/* subscriptions (kept even when the mailbox does not exist) */
int store_sub_set(struct store *st, const char *user, const char *name,
    int subscribed, const char **error_r);
typedef int store_sub_fn(const char *name, void *ctx);
int store_sub_list(struct store *st, const char *user, store_sub_fn *cb,
    void *ctx, const char **error_r);

/*
 * store_claim_recent - for SELECT and a selected mailbox's new mail:
 * return the old recent mark and move it to uidnext - 1 (*newrecent_r,
 * may be NULL), atomically, so exactly one session sees a message as
 * \Recent: those in (old, new].
 */
int store_claim_recent(struct store *st, uint32_t mboxid, uint32_t *oldrecent_r,
    uint32_t *newrecent_r, const char **error_r);

/* messages */

/* store_msg_list - all records of a mailbox, by ascending UID; *msgs_r is
 * malloc'ed, caller frees; also fills *mb_r (as of the same snapshot) */
int store_msg_list(struct store *st, uint32_t mboxid, struct store_mbox *mb_r,
    struct store_msg **msgs_r, size_t *n_r, const char **error_r);
/* store_msg_range - the records with lo <= UID <= hi, ascending, at most
 * max (0: all) of them: one cursor range; *msgs_r malloc'ed */
int store_msg_range(struct store *st, uint32_t mboxid, uint32_t lo, uint32_t hi,
    size_t max, struct store_msg **msgs_r, size_t *n_r, const char **error_r);
/* store_msg_get_uids - the records of uids[0..n) that exist, in one
 * transaction, in the order of uids; *msgs_r is malloc'ed, caller frees */
int store_msg_get_uids(struct store *st, uint32_t mboxid, const uint32_t *uids,
    size_t n, struct store_msg **msgs_r, size_t *n_r, const char **error_r);
/* store_msg_changed - records with modseq > since, by ascending UID;
 * reads those only (store_view.c) */
int store_msg_changed(struct store *st, uint32_t mboxid, uint64_t since,
    struct store_msg **msgs_r, size_t *n_r, const char **error_r);
/* store_expunged_since - UIDs expunged with modseq > since, ascending;
 * reads those only (store_view.c) */
int store_expunged_since(struct store *st, uint32_t mboxid, uint64_t since,
    uint32_t **uids_r, size_t *n_r, const char **error_r);
/* store_expunged_first - the lowest UID above `above` expunged with
 * modseq > since (0 if none); reads the expunges since only */
int store_expunged_first(struct store *st, uint32_t mboxid, uint64_t since,
    uint32_t above, uint32_t *uid_r, const char **error_r);
/*
 * The selected mailbox's view (store_view.c): compact records, and what
 * changed since a modseq at a cost in proportion to the change (two
 * secondary databases order records and expunges by modseq).
 */
struct store_vmsg {
	uint32_t uid;
	uint32_t flags; /* STORE_F_* */
	uint64_t modseq;
	const char *keywords; /* store_view_delta: space-separated, ""
			       * none; store_view_list: NULL */
	uint32_t kwoff;	      /* the store's */
};
/*
 * store_view_list - every message of mboxid by ascending UID, in one bulk
 * cursor pass, with the mailbox record of the same snapshot; keywords
 * (may be NULL) gets the union of the keywords of those with modseq up
 * to kwmodseq as " a b".  24 bytes a message; *msgs_r malloc'ed.
 */
int store_view_list(struct store *st, uint32_t mboxid, struct store_mbox *mb_r,
    struct store_vmsg **msgs_r, size_t *n_r, struct buf *keywords,
    uint64_t kwmodseq, const char **error_r);
/*
 * store_view_list_kw - store_view_list with every record's keywords
 * (store_vmsg.keywords, "" none) in *kwpool_r (malloc'ed, may be NULL
 * when none has any; the caller frees it after the records)
 */
int store_view_list_kw(struct store *st, uint32_t mboxid,
    struct store_mbox *mb_r, struct store_vmsg **msgs_r, size_t *n_r,
    char **kwpool_r, const char **error_r);
struct store_view_delta {
	struct store_mbox mb;	    /* as of the same snapshot */
	struct store_vmsg *changed; /* modseq > since, UID <= last; by
				     * UID */
	size_t nchanged;
	struct store_vmsg *added; /* UID > last, by UID */
	size_t nadded;
	uint32_t *expunged; /* expunged at modseq > xsince, by
			     * UID */
	size_t nexpunged;
	char *kwpool; /* the store's */
};
/*
 * store_view_delta - in one transaction: the mailbox record, records
 * changed since `since` with UID up to last, every record above last,
 * and the UIDs expunged since xsince (UINT64_MAX: none).  Reads what
 * changed, not the mailbox.  Free with store_view_delta_free.
 */
int store_view_delta(struct store *st, uint32_t mboxid, uint64_t since,
    uint64_t xsince, uint32_t last, struct store_view_delta *d,
    const char **error_r);
void store_view_delta_free(struct store_view_delta *d);

/* store_msg_expunged - uid's record as it was when expunged from mboxid,
 * for a session that has not been told of the expunge yet (RFC 3501
 * 7.4.1: its message number stays valid until then); STORE_ENOENT if
 * none is kept.  Its file and FETCH cache stay readable until the sweep
 * of unreferenced files. */
int store_msg_expunged(struct store *st, uint32_t mboxid, uint32_t uid,
    struct store_msg *m_r, const char **error_r);

struct store_append {
	uint32_t flags;
	const char *keywords; /* space-separated, may be NULL */
	int64_t internaldate; /* 0: now */
	int32_t tzoff;
	uint32_t uid; /* 0: the next UID; else this one when no
		       * UID as high was given yet (berthctl
		       * import keeps the source's UIDs) */
};

/*
 * store_append - deliver data into user's mailbox name.  Returns 0 only
 * after the transaction committed and its journal lines, which make the
 * message and its record durable, are flushed (see Durability above).
 */
int store_append(struct store *st, const char *user, const char *name,
    const char *data, size_t len, const struct store_append *opt,
    uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r);

/*
 * store_defer_flush - until store_flush, calls that change the store
 * (store_append above all) return once committed and written, without
 * waiting for the flush that makes them durable; store_flush then makes
 * every one of them durable with one fdatasync (a MULTIAPPEND's
 * messages).  Nothing may be acknowledged before store_flush returned 0.
 * store_flush ends the deferral; it returns 0 at once when nothing is
 * pending.
 */
void store_defer_flush(struct store *st);
int store_flush(struct store *st, const char **error_r);
/* store_flush_pending - is a deferral on (store_flush not yet called)? */
int store_flush_pending(const struct store *st);

/*
 * Delivery (lmtpd): the message is received into a spool file in the
 * partition (store_spool_open), which store_spool_commit names by its
 * content (fsync'd only when over STORE_INLINE_MAX: a smaller one's bytes
 * ride in the journal's F line); store_deliver then adds one record of
 * that file to each recipient's mailbox.  Memory stays bounded whatever
 * the size: the bytes are written as they arrive and mapped, never
 * copied, afterwards.
 */

/* store_spool_open - a new temp file under <partition>/tmp for a message
 * being received: *fd_r open for writing, *path_r (malloc'ed) its name.
 * A file left behind by a crash is removed by the sweep. */
int store_spool_open(struct store *st, int *fd_r, char **path_r,
    const char **error_r);
/*
 * store_spool_commit - name the spool file by its content (or drop it
 * when those bytes are stored already); a file over STORE_INLINE_MAX is
 * fsync'd first and its directory after.
 * Consumes fd and the file at path, even on error.  On success *data_r,
 * *len_r map the message (store_msg_unmap) and guid_r is its name.
 */
int store_spool_commit(struct store *st, int fd, const char *path,
    char guid_r[41], const char **data_r, size_t *len_r, const char **error_r);

#define STORE_DUP (-6) /* store_rcpt result: delivered before */

struct store_rcpt {
	const char *user;
	const char *name; /* mailbox; NULL: INBOX */
	int fallback;	  /* name missing or \Noselect: INBOX instead */
	const struct store_append *opt; /* NULL: the delivery's */
	/* out: 0 stored, STORE_DUP (suppressed), STORE_ENOENT (no such
	 * mailbox, nor INBOX), STORE_EQUOTA (no room in the user's quota),
	 * -1 (not stored: the transaction failed) */
	int result;
	const char *mailbox; /* where it went (name or "INBOX") */
	uint32_t uidvalidity, uid;
};

struct store_delivery {
	const char *guid; /* from store_spool_commit */
	const char *data; /* the mapped message (for the FETCH cache) */
	size_t len;
	const struct store_append *opt; /* may be NULL */
	const char *msgid;    /* Message-ID; NULL or "": no suppression */
	long long dup_window; /* seconds a delivery counts as a duplicate;
			       * 0: no suppression */
};

#define STORE_DELIVER_BATCH 32 /* recipients per transaction */

/*
 * store_deliver - add the message to each of rc[0..n)'s mailbox.  One
 * transaction per STORE_DELIVER_BATCH recipients: a recipient's copy,
 * its mailbox counters and its duplicate entry commit together or not at
 * all.  A message whose (msgid, user, mailbox) was delivered less than
 * dup_window ago is not stored again (result STORE_DUP).  Returns 0 when
 * every batch committed (each rc[i].result set), -1 with *error_r when
 * one failed (its recipients and later ones have result -1; earlier
 * batches stay delivered).  Changed mailboxes are announced to idled.
 */
int store_deliver(struct store *st, const struct store_delivery *d,
    struct store_rcpt *rc, size_t n, const char **error_r);

/*
 * store_copy - copy messages uids[0..n) of mailbox src (which belongs to
 * user) to user's mailbox dst, in one transaction.  newuids_r (n entries,
 * caller-allocated) receives the new UIDs.  With move, the sources are
 * expunged in the same transaction.  Missing source UIDs are skipped
 * (their newuids entry is 0).
 */
int store_copy(struct store *st, uint32_t src, const uint32_t *uids, size_t n,
    const char *user, const char *dst, int move, uint32_t *uidvalidity_r,
    uint32_t *newuids_r, const char **error_r);

/* store_expunge - remove uids[0..n) in one transaction */
int store_expunge(struct store *st, uint32_t mboxid, const uint32_t *uids,
    size_t n, const char **error_r);

enum store_flag_op {
	STORE_FLAGS_SET,
	STORE_FLAGS_ADD,
	STORE_FLAGS_REMOVE,
};

/*
 * store_set_flags - change flags/keywords of uids[0..n) in one
 * transaction.  Each message whose flags actually change gets a new modseq.
 * With unchangedsince != 0 (CONDSTORE), messages whose modseq is greater
 * are left alone and their UIDs reported in *failed_r (malloc'ed).
 * results_r (n entries, caller-allocated, may be NULL) receives each
 * message's record after the change (uid 0 when it no longer exists).
 */
int store_set_flags(struct store *st, uint32_t mboxid, const uint32_t *uids,
    size_t n, enum store_flag_op op, uint32_t flags, const char *keywords,
    uint64_t unchangedsince, struct store_msg *results_r, uint32_t **failed_r,
    size_t *nfailed_r, const char **error_r);

/*
 * Quota (store_quota.c; RFC 9208 STORAGE and MESSAGE, one quota root per
 * user).  The usage is the sum of the user's mailboxes, kept in the same
 * transactions that change them; APPEND, COPY and delivery past a limit
 * fail with STORE_EQUOTA (a delivery: that recipient's result), while
 * MOVE, expunges and deletes never do.  A limit is a number (storage in
 * KiB, units of 1024 octets), STORE_QUOTA_NONE, or STORE_QUOTA_DEFAULT:
 * the handle's default.
 */
#define STORE_QUOTA_KEEP UINT64_MAX /* store_quota_set: unchanged */
#define STORE_QUOTA_DEFAULT (UINT64_MAX - 1)
#define STORE_QUOTA_NONE (UINT64_MAX - 2)

struct store_quota {
	uint64_t storage;	/* octets used */
	uint64_t messages;	/* messages held */
	uint64_t storage_limit; /* KiB or STORE_QUOTA_NONE (in effect) */
	uint64_t message_limit; /* or STORE_QUOTA_NONE */
	int storage_own;	/* the user's own limit, not the default */
	int message_own;
};

/* store_quota_set_default - the limits of users without their own
 * (storage in KiB; 0: none, as before the call) */
void store_quota_set_default(struct store *st, uint64_t storage_kib,
    uint64_t messages);
/* store_quota_get - user's usage and the limits in effect */
int store_quota_get(struct store *st, const char *user, struct store_quota *q_r,
    const char **error_r);
/* store_quota_set - user's own limits (a number, STORE_QUOTA_NONE,
 * STORE_QUOTA_DEFAULT or STORE_QUOTA_KEEP each); journaled, so they
 * survive a reconstruct */
int store_quota_set(struct store *st, const char *user, uint64_t storage_limit,
    uint64_t message_limit, const char **error_r);

/* store_msg_map - map the message file read-only; unmap with munmap */
int store_msg_map(struct store *st, const char *guid, const char **data_r,
    size_t *len_r, const char **error_r);
void store_msg_unmap(const char *data, size_t len);
/* store_msg_open - open the message file read-only, for reading a range
 * at a time (pread) in bounded memory: *fd_r (the caller closes it),
 * *len_r its size */
int store_msg_open(struct store *st, const char *guid, int *fd_r, size_t *len_r,
    const char **error_r);
/* store_msg_fd - the same without its size, for a caller that has the
 * message's index record: files are content-addressed, so the record's
 * size is the file's (one system call less a message of a FETCH 1:*
 * BODY[]) */
int store_msg_fd(struct store *st, const char *guid, int *fd_r,
    const char **error_r);

/*
 * The FETCH cache (store_cache.c), read through a reader: a struct
 * store_crd reads a mailbox's records a bulk page at a time, ahead of
 * the UID asked for, so that asking in ascending UID order (SEARCH,
 * FETCH 1:*) walks the database once.  What it returns points into the
 * reader, valid until its next call.  A reader may serve any number of
 * commands and mailboxes (records never change; each is checked against
 * the message's guid); it holds at most a page (256 KB) and one record.
 * A message without a record (an old store's, or expunged and not yet
 * swept) is read from the old cache or built from its file.
 */
struct store_crd;
struct store_crd *store_crd_new(void);
void store_crd_free(struct store_crd **rd);

/* store_msg_cache - ENVELOPE, BODY and BODYSTRUCTURE of message m of
 * mailbox mboxid as IMAP text (fields_r[0..2]), computed once at
 * delivery */
int store_msg_cache(struct store *st, struct store_crd *rd, uint32_t mboxid,
    const struct store_msg *m, const char *fields_r[3], const char **error_r);

/*
 * store_msg_header - the message's header block (field lines and the
 * blank line, as delivered) from the cache delivery made, without
 * opening the message file.  STORE_ENOENT when the cache has no header
 * block (a header longer than STORE_CACHE_HDR_MAX, or a message stored
 * before it was kept): read the file instead.
 */
#define STORE_CACHE_HDR_MAX 65536
int store_msg_header(struct store *st, struct store_crd *rd, uint32_t mboxid,
    const struct store_msg *m, const char **hdr_r, size_t *len_r,
    const char **error_r);

#endif

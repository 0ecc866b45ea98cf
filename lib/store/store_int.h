/*
 * store_int - private to the store: the handle, on-disk records, and the
 * transaction runner.
 */
#ifndef BERTH_STORE_INT_H
#define BERTH_STORE_INT_H

#include <db.h>
#include <signal.h>
#include <sys/types.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

struct store {
	DB_ENV *env;
	DB *mboxes, *index, *expunged, *cache, *refs, *subs, *meta, *byid;
	DB *mcache; /* store_cache.c: the FETCH cache by (mboxid, uid);
		     * cache: the old one, by guid */
	DB *dup;    /* store_deliver.c: duplicate deliveries */
	DB *modseq, *xmodseq; /* store_view.c: index and expunged by
			       * modseq (secondaries) */
	DB *quota;	      /* store_quota.c: usage and limits per user */
	uint64_t quota_storage_default; /* KiB, STORE_QUOTA_NONE: none */
	uint64_t quota_message_default;
	char *configdir, *partdir;
	int partfd; /* partdir, for openat; -1 until first read */
	char err[512];
	int needs_recovery; /* DB_RUNRECOVERY seen */
	int open_short;	    /* store_open: lock table or region full */
	int open_nodb;	    /* store_open: environment not complete */
	/* inside store_run: read by exit paths and signal handlers */
	volatile sig_atomic_t busy;
	/* mailboxes written by the running transaction, announced through
	 * event_fn after commit */
	struct store_change *changed;
	size_t nchanged, changed_size;
	store_event_fn *event_fn;
	void *event_ctx;
	/* store_journal.c: lines of the running transaction, written to
	 * the users' journals after commit; jquiet: write none */
	struct store_jline *jlines;
	size_t njlines, jlines_size;
	int jquiet;
	/* store_wal.c: the commit log, open once; records of the running
	 * flush; flushes made (for tests) */
	int wal_fd;
	struct buf wal_buf;
	unsigned long wal_syncs;
	int wal_defer;			/* store_defer_flush */
	unsigned long long wal_pending; /* end not yet flushed; 0: none */
	int nogone; /* reconstruct: dropped records leave their
		     * files off the gone list */
};

/* one mailbox changed by a transaction */
struct store_change {
	struct store_event m; /* what, ids, counters after the change */
	char *user, *name, *oldname;
};

/* mailbox record, value of mailboxes "<user>\0<name>" */
struct store_mrec {
	uint32_t version;
	struct store_mbox mb;
	uint64_t jseq; /* bumped at every write: orders the
			* mailbox's journal lines */
};

/* index key: big-endian (mboxid, uid) so a cursor walks in UID order */
struct store_ikey {
	uint32_t mboxid_be, uid_be;
};

typedef int store_op_fn(struct store *st, DB_TXN *txn, void *arg);

/* store_run - run op in a transaction, retrying on deadlock and lock
 * timeouts (after failchk); returns op's result or -1 */
int store_run(struct store *st, store_op_fn *op, void *arg,
    const char **error_r);
int store_fail(struct store *st, const char **error_r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* store_dberr - fail with what and Berkeley DB's r; a full lock table or
 * region (ENOMEM) is named as a shortage, DB_RUNRECOVERY marks st */
int store_dberr(struct store *st, const char **error_r, const char *what,
    int r);
void store_ikey(struct store_ikey *k, uint32_t mboxid, uint32_t uid);
/* store_conflict_wait - after Berkeley DB's r on try number attempt
 * (from 0) of a read outside a transaction: 0 once it is worth trying
 * again (a lock conflict: waited as store_run waits, failchk every 16
 * tries), else the error to give up with (r itself, DB_RUNRECOVERY, or
 * the conflict after STORE_RETRIES tries).  Such a read still waits for
 * a page's write lock, and may be chosen to end a deadlock. */
int store_conflict_wait(struct store *st, int attempt, int r);
/* store_sub_walk - each subscription of user in txn (a cursor with
 * flags): deleted if del, then given to cb (if not NULL), which stops the
 * walk by returning nonzero; 0 or Berkeley DB's error */
int store_sub_walk(struct store *st, DB_TXN *txn, uint32_t flags,
    const char *user, int del, store_sub_fn *cb, void *ctx);
/* store_cache.c: the FETCH cache record of (mboxid, uid), in txn:
 * written (guid and cache text), copied to another message, dropped */
int store_cache_put(struct store *st, DB_TXN *txn, uint32_t mboxid,
    uint32_t uid, const char *guid, const char *cache, size_t len);
int store_cache_copy(struct store *st, DB_TXN *txn, uint32_t from,
    uint32_t fuid, uint32_t to, uint32_t tuid);
int store_cache_del(struct store *st, DB_TXN *txn, uint32_t mboxid,
    uint32_t uid);
/* mcache.db's pages: a record of a usual header block (a few KB) stays
 * on its leaf page, so a walk reads no overflow page per message */
#define STORE_CACHE_PAGESIZE (32 * 1024)
/* store_dbt_key - k the key (size bytes, not copied), v empty: for a get,
 * put or del */
void store_dbt_key(DBT *k, DBT *v, const void *key, size_t size);
/* store_dbt_cursor - the same for a cursor, which writes the key it
 * lands on back into key */
void store_dbt_cursor(DBT *k, DBT *v, void *key, size_t size);

int store_mrec_get(struct store *st, DB_TXN *txn, const char *user,
    const char *name, struct store_mrec *rec, int rmw);
/* store_mrec_put - write a mailbox record; what (NOTIFY_EV_*) says what
 * changed, for the announcement after commit (0: nothing to announce) */
int store_mrec_put(struct store *st, DB_TXN *txn, const char *user,
    const char *name, struct store_mrec *rec, uint32_t what);
/* store_mrec_del - remove a mailbox record (rec: as it is now) */
int store_mrec_del(struct store *st, DB_TXN *txn, const char *user,
    const char *name, const struct store_mrec *rec);
/* store_changed - note a change to announce after commit: rec as it is
 * now; oldname for a rename; prevmodseq the HIGHESTMODSEQ before */
void store_changed(struct store *st, const char *user, const char *name,
    const char *oldname, const struct store_mbox *mb, uint64_t prevmodseq,
    uint32_t what);
/* store_mrec_by_id - the record (read for update) and key of mailbox id */
int store_mrec_by_id(struct store *st, DB_TXN *txn, uint32_t id,
    struct store_mrec *rec, char *user_r, char *name_r, size_t size);

/* store_msg.c: one append inside a transaction (store_op_fn) */
struct store_append_arg {
	const char *user, *name;
	const struct store_append *opt;
	const char *guid;
	size_t len;
	const char *data; /* the bytes, for an F line; NULL: none */
	const char *cache;
	size_t cache_len;
	uint32_t uidvalidity, uid;
};
int store_op_append(struct store *st, DB_TXN *txn, void *varg);
/* store_cache_build - "ENVELOPE\0BODY\0BODYSTRUCTURE\0" of data, then
 * 'H' and the header block when it is at most STORE_CACHE_HDR_MAX */
void store_cache_build(const char *data, size_t len, struct buf *out);

/* store_deliver.c: remove expired duplicate-delivery entries */
int store_dup_prune(struct store *st, const char **error_r);

/*
 * store_quota.c.  store_quota_account - add what a write did to user's
 * usage (store_mrec_put and store_mrec_del call it; in txn).
 * store_quota_admit - may user's mailboxes take storage more octets
 * and messages more messages?  0, STORE_EQUOTA, or a Berkeley DB error;
 * locks the usage record.  store_quota_recount - set user's usage to the
 * sum of its mailbox records (reconstruct; store_quota_boot does every
 * user's at recovery).
 */
int store_quota_account(struct store *st, DB_TXN *txn, const char *user,
    int64_t storage, int64_t messages);
int store_quota_admit(struct store *st, DB_TXN *txn, const char *user,
    uint64_t storage, uint64_t messages);
int store_quota_recount(struct store *st, const char *user,
    const char **error_r);
int store_quota_boot(struct store *st, const char **error_r);
struct store_jstate;
/* store_quota_check - the usage against the mailbox records, the limits
 * against the journal's js; the number of differences reported, or -1 */
int store_quota_check(struct store *st, const char *user,
    const struct store_jstate *js, store_report_fn *fn, void *ctx,
    const char **error_r);

/* store_mark_complete - record that the environment knows all the mail
 * on disk (a new installation, or reconstruct done) */
int store_mark_complete(struct store *st, const char **error_r);

/*
 * store_jboot.c - journals written from the database for users whose
 * mail predates them (see there).  store_jboot_user appends user's
 * mailboxes, messages, expunges and subscriptions to its journal and
 * reports one line through fn (may be NULL); store_jboot_all does every
 * user of the database and then sets the "journal" mark, which says
 * every user's journal is complete (store_jboot_marked: 1 set, 0 not,
 * -1 error; store_jboot_mark sets it).  store_meta_marked - is the meta
 * record key present (1, 0, -1)?
 */
int store_jboot_user(struct store *st, const char *user, store_report_fn *fn,
    void *ctx, const char **error_r);
int store_jboot_all(struct store *st, store_report_fn *fn, void *ctx,
    const char **error_r);
int store_jboot_marked(struct store *st, const char **error_r);
int store_jboot_mark(struct store *st, const char **error_r);
int store_meta_marked(struct store *st, const char *key, const char **error_r);
/* store_msg_decode - an index record's value into m */
void store_msg_decode(const DBT *v, struct store_msg *m);

/* store_msg.c, for reconstruct: write an index record; refs += delta */
int store_msg_put(struct store *st, DB_TXN *txn, uint32_t mboxid,
    const struct store_msg *m);
int store_refs_add(struct store *st, DB_TXN *txn, const char *guid, int delta,
    uint32_t *now_r);
/* store.c: open (create) one database of the environment (_paged:
 * with pages of pagesize bytes when it is made) */
int store_open_db(struct store *st, DB **db, const char *name,
    const char **error_r);
int store_open_db_paged(struct store *st, DB **db, const char *name,
    uint32_t pagesize, const char **error_r);
/* store_view.c: open the secondaries and join them to their primaries
 * (building them when new) */
int store_view_open(struct store *st, const char **error_r);
/* store_view_since - inside txn: the index records (expunged: the
 * expunged UIDs) of mboxid with modseq > since and UID > above, by
 * ascending UID, from the secondaries; *msgs_r or *uids_r malloc'ed */
int store_view_since(struct store *st, DB_TXN *txn, int expunged,
    uint32_t mboxid, uint64_t since, uint32_t above, struct store_msg **msgs_r,
    uint32_t **uids_r, size_t *n_r);
/* store.c, for reconstruct */
int store_meta_next(struct store *st, DB_TXN *txn, const char *key,
    uint32_t min, uint32_t *out);
int store_user_names(struct store *st, DB_TXN *txn, const char *user,
    char ***names_r, size_t *n_r);
void store_names_free(char **names, size_t n);
void store_mkey(DBT *k, char *buf, size_t size, const char *user,
    const char *name);

/*
 * store_journal.c - the per-user journal beside the message files,
 * <partition>/journal/<user>: one line per record a transaction wrote
 * (B mailbox, D mailbox deleted, I message, X expunged, S/U
 * subscription), written after the commit and flushed before the caller
 * is answered: the write-ahead record (one fdatasync shared by the
 * writers of a journal at once).  See store_journal.c for the format.
 */
struct store_jline {
	uint32_t mboxid;
	char *user; /* NULL: the user of mboxid's B/D line */
	char *line;
};
void store_jnl_reset(struct store *st);
void store_jnl_unesc(char *s);
void store_jnl_mbox(struct store *st, const char *user, const char *name,
    const struct store_mrec *rec);
void store_jnl_mbox_gone(struct store *st, const char *user, uint32_t id);
void store_jnl_msg(struct store *st, uint32_t mboxid,
    const struct store_msg *m);
void store_jnl_expunge(struct store *st, uint32_t mboxid, uint32_t uid,
    uint64_t modseq);
void store_jnl_sub(struct store *st, const char *user, const char *name,
    int subscribed);
/* store_jnl_body - an F line: a small message's bytes, so that the
 * journal's fdatasync makes the message durable with its records */
void store_jnl_body(struct store *st, uint32_t mboxid, const char *guid,
    const char *data, size_t len);
/* store_jnl_quota - user's limits (Q line: the last one says) */
void store_jnl_quota(struct store *st, const char *user, uint64_t storage,
    uint64_t messages);
/* store_jnl_flush - append the pending lines to their journals and make
 * them durable, all of them with one flush of the commit log
 * (store_wal_commit: a concurrent writer's fdatasync may cover them) */
int store_jnl_flush(struct store *st, const char **error_r);
/* store_jnl_restore - at recovery, the commit log's record of lines
 * text[0..len) written at off of user's journal, inode ino: written
 * again at the end of its whole lines unless the journal holds them (or
 * is another file now, compacted since); 1 written, 0 not, -1.  *known
 * is the caller's, for this journal and inode, 0 at first: how many of
 * its first bytes are known to hold no NUL, so that a replay of many
 * records reads each journal's text once, not once a record */
int store_jnl_restore(struct store *st, const char *user, ino_t ino,
    unsigned long long off, const char *text, size_t len, size_t *known,
    const char **error_r);

/*
 * store_wal.c - the commit log <partition>/journal/.wal: one record per
 * journal a transaction wrote, the same lines, flushed once for all
 * (group commit across sessions and users).  See store_wal.c.
 */
/* store_wal_add - queue the record of lines text[0..len) written at off
 * of user's journal (inode ino) for the next store_wal_commit */
void store_wal_add(struct store *st, const char *user, ino_t ino,
    unsigned long long off, const char *text, size_t len);
/* store_wal_commit - append the queued records and return once they
 * are durable (blocks on the flush); the queue is emptied either way */
int store_wal_commit(struct store *st, const char **error_r);
/* store_wal_mark - where the records end now (0: none readable) */
int store_wal_mark(struct store *st, unsigned long long *end_r,
    const char **error_r);
/* store_wal_trim - drop the records before upto (a store_wal_mark taken
 * before a store_jnl_durable): the log is rewritten with the rest */
int store_wal_trim(struct store *st, unsigned long long upto,
    const char **error_r);
/* store_wal_replay - recovery, alone, before store_redo: every record
 * whose lines a crash took from their journal written back; how many */
int store_wal_replay(struct store *st, const char **error_r);
void store_wal_close(struct store *st);

/* the journal of one user, replayed */
struct store_jmbox {
	uint32_t id, uidvalidity, uidnext, recentuid, attrs;
	uint64_t jseq, hms;
	char *name;
	int deleted;
};
struct store_jmsg {
	uint32_t mboxid;
	char kind;	    /* 'I' or 'X' */
	struct store_msg m; /* keywords truncated at compaction size */
};
struct store_jstate {
	struct store_jmbox *mboxes; /* live ones, by name */
	size_t nmboxes;
	struct store_jmsg *msgs; /* by (mboxid, uid), one each */
	size_t nmsgs;
	char **subs; /* sorted */
	size_t nsubs;
	int has_quota; /* a Q line: the user's limits */
	uint64_t quota_storage, quota_messages;
	size_t bad; /* lines not understood */
};
char *store_jnl_path(struct store *st, const char *user);
/* store_jnl_read - replay user's journal into *js (empty if none) */
int store_jnl_read(struct store *st, const char *user, struct store_jstate *js,
    const char **error_r);
void store_jstate_free(struct store_jstate *js);
/* store_jnl_users - the users that have a journal (malloc'ed) */
int store_jnl_users(struct store *st, char ***users_r, size_t *n_r);
/* store_jnl_compact - rewrite user's journal as its live records, when
 * it has grown past twice its last compacted size (force: always) */
int store_jnl_compact(struct store *st, const char *user, int force,
    const char **error_r);
/* store_jnl_compact_all - store_jnl_compact of every journal; returns
 * how many were rewritten */
int store_jnl_compact_all(struct store *st, const char **error_r);

/*
 * store_backup.c: the lock between backups and sweeps,
 * <configdir>/backup.lock.  store_backup_lock - a backup (shared, waits)
 * or a sweep (exclusive, does not wait: -2 when a backup holds it); the
 * fd to pass to store_backup_unlock, or -1 when the lock could not be
 * made (the caller goes on without it).
 */
int store_backup_lock(struct store *st, int backup);
void store_backup_unlock(int fd);

/* store_jbody_fn - a small message's bytes from an F line; < 0 stops
 * (the error is the store's) */
typedef int store_jbody_fn(const char *guid, const char *data, size_t len,
    void *ctx);
/* the lines of a journal past its synced mark, resolved */
struct store_jtail {
	struct store_jmbox *mboxes; /* last B line of each id, by id;
				     * deleted: a D line */
	size_t nmboxes;
	struct store_jmsg *msgs; /* last of each (id, uid), sorted */
	size_t nmsgs;
	char **subs; /* "S<name>" / "U<name>" in order */
	size_t nsubs;
	unsigned long long end; /* where the whole lines end */
	size_t lines, bad;
};
/* store_jnl_tail - the lines of user's journal past its synced mark
 * (none: an empty tail), each F line handed to body_fn as it is read,
 * the header's end set back to where the whole lines end; for recovery,
 * alone */
int store_jnl_tail(struct store *st, const char *user, struct store_jtail *t,
    store_jbody_fn *body_fn, void *body_ctx, const char **error_r);
void store_jtail_free(struct store_jtail *t);
/* store_jnl_set_synced - user's synced mark to end, if the journal is
 * still the file ino */
int store_jnl_set_synced(struct store *st, const char *user,
    unsigned long long end, ino_t ino, const char **error_r);
/* store_jnl_durable - every committed transaction and written message
 * file made durable: syncfs of the partition and a log flush (blocks) */
int store_jnl_durable(struct store *st, const char **error_r);
/* store_jnl_sync_all - every journal's synced mark moved to its end
 * (after store_jnl_durable); returns how many moved */
int store_jnl_sync_all(struct store *st, const char **error_r);

/* store_redo.c: at recovery, what the journals hold past their synced
 * marks put back into the database and the message files; returns how
 * many mailboxes and files were repaired */
int store_redo(struct store *st, const char **error_r);
/* store_redo_add - a record the database lost (or the rebuild writes):
 * in, with its reference and its FETCH cache record */
int store_redo_add(struct store *st, DB_TXN *txn, uint32_t mboxid,
    const struct store_msg *m);

/* store_msg.c, for store_redo: drop one record (expunged at modseq if
 * nonzero) */
int store_msg_remove(struct store *st, DB_TXN *txn, uint32_t mboxid,
    const struct store_msg *m, uint64_t modseq);
int store_msgs_drop(struct store *st, DB_TXN *txn, uint32_t mboxid);

/* store_file.c */
/*
 * Messages up to STORE_INLINE_MAX bytes are written without fsync: their
 * bytes go into the journal (an F line) and its fdatasync is the one
 * flush of an APPEND or a delivery; larger ones are fsync'd, file and
 * directory, before their record commits.
 */
#define STORE_INLINE_MAX (64 * 1024)
#define store_file_inline(len) ((len) <= STORE_INLINE_MAX)
void store_sha1_hex(const char *data, size_t len, char out[41]);
/* store_file_restore - write guid's file from data (fsync'd, the
 * directory too), replacing whatever is there */
int store_file_restore(struct store *st, const char *guid, const char *data,
    size_t len, const char **error_r);
int store_fsync_dir(const char *path);
/* store_file_write_all - all of data to fd, at off (pwrite) or, when off
 * is negative, at the file offset; retries EINTR; -1 with errno */
int store_file_write_all(int fd, const char *data, size_t len, off_t off);
/* store_file_place - rename the file at tmp to guid's name, the fan-out
 * directory made if missing and fsync'd after if sync; tmp is left where
 * it is on failure */
int store_file_place(struct store *st, const char *tmp, const char *guid,
    int sync, const char **error_r);
int store_file_dirs(struct store *st, const char **error_r);
/* store_file_mkdirs - path and its parents (mode 0750); -1 if
 * one could not be made */
int store_file_mkdirs(const char *path);
/* store_file_fanout - a message file's fan-out directory dir, made if
 * missing (the partition fsync'd after); -1 with the error */
int store_file_fanout(struct store *st, const char *dir, const char **error_r);
void store_file_warm(void);
int store_file_put(struct store *st, const char *data, size_t len,
    char guid_r[41], const char **error_r);
char *store_file_path(struct store *st, const char *guid);
/* store_file_any - does the partition hold any message or journal file? */
int store_file_any(struct store *st);
/* store_gone_add - put guid on the gone list (meta "gone:<guid>"): its
 * last record went in txn; only files on that list are ever swept */
#define STORE_GONE_PREFIX "gone:"
int store_gone_add(struct store *st, DB_TXN *txn, const char *guid);
/* store_file_sweep - remove temp files and the files of the gone list
 * still unreferenced, only those untouched for min_age seconds (0: all;
 * recovery, alone) */
int store_file_sweep(struct store *st, long min_age, const char **error_r);

#endif

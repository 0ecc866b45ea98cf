/*
 * store - environment open/recovery, the transaction runner, mailboxes
 * and subscriptions.  Messages are in store_msg.c, files in store_file.c.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "store_int.h"
#include "xalloc.h"

#define STORE_RETRIES 1000 /* at most about 10 s of back-off in all */
#define STORE_BACKOFF_MAX_US 10000
#define STORE_REC_VERSION 1

/* why the last store_open failed; the size of environments created */
static unsigned store_procs;
static unsigned long long store_cachesize;

int
store_fail(struct store *st, const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
	*error_r = st->err;
	return -1;
}

void
store_ikey(struct store_ikey *k, uint32_t mboxid, uint32_t uid)
{
	k->mboxid_be = htobe32(mboxid);
	k->uid_be = htobe32(uid);
}

void
store_dbt_key(DBT *k, DBT *v, const void *key, size_t size)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->data = (void *)key;
	k->size = (uint32_t)size;
}

void
store_dbt_cursor(DBT *k, DBT *v, void *key, size_t size)
{
	store_dbt_key(k, v, key, size);
	k->ulen = (uint32_t)size;
	k->flags = DB_DBT_USERMEM;
}

/* store_changes_reset - forget the changes of an aborted transaction */
static void
store_changes_reset(struct store *st)
{
	size_t i;

	for (i = 0; i < st->nchanged; i++) {
		free(st->changed[i].user);
		free(st->changed[i].name);
		free(st->changed[i].oldname);
	}
	st->nchanged = 0;
}

void
store_changed(struct store *st, const char *user, const char *name,
    const char *oldname, const struct store_mbox *mb, uint64_t prevmodseq,
    uint32_t what)
{
	struct store_change *c = NULL;
	size_t i;

	if (what == 0)
		return;
	/* one entry per mailbox id (renames: per name) and transaction */
	for (i = 0; i < st->nchanged; i++)
		if (mb->id != 0 && st->changed[i].m.mboxid == mb->id &&
		    strcmp(st->changed[i].name, name) == 0)
			c = &st->changed[i];
	if (c == NULL) {
		if (st->nchanged == st->changed_size) {
			st->changed_size =
			    st->changed_size ? st->changed_size * 2 : 8;
			st->changed = xreallocarray(st->changed,
			    st->changed_size, sizeof(*st->changed));
		}
		c = &st->changed[st->nchanged++];
		memset(c, 0, sizeof(*c));
		c->user = xstrdup(user);
		c->name = xstrdup(name);
		c->m.prevmodseq = prevmodseq;
	}
	if (oldname != NULL && c->oldname == NULL)
		c->oldname = xstrdup(oldname);
	c->m.what |= (uint16_t)what;
	c->m.mboxid = mb->id;
	c->m.uidvalidity = mb->uidvalidity;
	c->m.exists = mb->exists;
	c->m.uidnext = mb->uidnext;
	c->m.unseen = mb->unseen;
	c->m.modseq = mb->highestmodseq;
}

/* store_changes_send - announce what the committed transaction did */
static void
store_changes_send(struct store *st)
{
	struct store_change *c;
	size_t i;

	for (i = 0; st->event_fn != NULL && i < st->nchanged; i++) {
		c = &st->changed[i];
		c->m.user = c->user;
		c->m.name = c->name;
		c->m.oldname = c->oldname;
		st->event_fn(&c->m, st->event_ctx);
	}
	store_changes_reset(st);
}

void
store_set_event_fn(struct store *st, store_event_fn *fn, void *ctx)
{
	st->event_fn = fn;
	st->event_ctx = ctx;
}

/*
 * store_failchk_lock - run DB_ENV->failchk on env: release the locks and
 * lockers of processes that died, abort their transactions.  Berkeley
 * DB's failchk must not run in two processes at once (it crashed when
 * every new worker ran it at start), so it runs under an exclusive lock
 * file; when another process holds it, that one is doing the work.
 */
static int
store_failchk_lock(DB_ENV *env, const char *configdir)
{
	char *path = xasprintf("%s/db/failchk.lock", configdir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640), r = 0;

	free(path);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		r = env->failchk(env, 0);
		flock(fd, LOCK_UN);
	}
	close(fd);
	return r;
}

static int
store_failchk(struct store *st)
{
	return store_failchk_lock(st->env, st->configdir);
}

int
store_dberr(struct store *st, const char **error_r, const char *what, int r)
{
	if (r == DB_RUNRECOVERY)
		st->needs_recovery = 1;
	if (r == ENOMEM)
		return store_fail(st, error_r,
		    "%s: lock table or region "
		    "full (shortage): %s",
		    what, db_strerror(r));
	return store_fail(st, error_r, "%s: %s", what, db_strerror(r));
}

/* store_errcall - Berkeley DB's own messages go to our log */
static void
store_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	(void)pfx;
	log_warn("db: %s", msg);
}

static void
store_msgcall(const DB_ENV *env, const char *msg)
{
	(void)env;
	log_debug("db: %s", msg);
}

/* store_isalive - for failchk: is the process that held locks alive? */
static int
store_isalive(DB_ENV *env, pid_t pid, db_threadid_t tid, uint32_t flags)
{
	(void)env;
	(void)tid;
	(void)flags;
	return kill(pid, 0) == 0 || errno == EPERM;
}

int
store_open_db(struct store *st, DB **db, const char *name, const char **error_r)
{
	return store_open_db_paged(st, db, name, 0, error_r);
}

int
store_open_db_paged(struct store *st, DB **db, const char *name,
    uint32_t pagesize, const char **error_r)
{
	char what[64];
	int r, tries;

	/* opens take locks too: many workers starting at once conflict */
	for (tries = 0; tries < 200; tries++) {
		if ((r = db_create(db, st->env, 0)) != 0)
			return store_fail(st, error_r, "db_create: %s",
			    db_strerror(r));
		/* used when the database is made; an existing one keeps
		 * its own */
		if (pagesize != 0 &&
		    (r = (*db)->set_pagesize(*db, pagesize)) != 0)
			return store_fail(st, error_r, "set_pagesize: %s",
			    db_strerror(r));
		r = (*db)->open(*db, NULL, name, NULL, DB_BTREE,
		    DB_CREATE | DB_AUTO_COMMIT | DB_READ_UNCOMMITTED, 0640);
		if (r == 0)
			return 0;
		(*db)->close(*db, 0);
		*db = NULL;
		/* out of lockers: those of dead processes may not have been
		 * reclaimed yet; reclaim them and try once more */
		if (r == ENOMEM && tries < 199) {
			if (store_failchk(st) != 0)
				break;
			tries = 198;
			continue;
		}
		if (r != DB_LOCK_DEADLOCK && r != DB_LOCK_NOTGRANTED)
			break;
		usleep(5000);
	}
	if (r == ENOMEM)
		st->open_short = 1;
	snprintf(what, sizeof(what), "open %s", name);
	return store_dberr(st, error_r, what, r);
}

#define STORE_COMPLETE_KEY "complete"

/*
 * store_complete_check - is the environment known complete?  If it has
 * no mark and the partition holds no mail, it is a new installation:
 * mark it now.  With mail on disk, only reconstruct may go on.
 */
static int
store_complete_check(struct store *st, int flags, const char **error_r)
{
	DBT k, v;
	int r;

	store_dbt_key(&k, &v, STORE_COMPLETE_KEY, strlen(STORE_COMPLETE_KEY));
	v.flags = DB_DBT_MALLOC;
	r = st->meta->get(st->meta, NULL, &k, &v, DB_READ_COMMITTED);
	if (r == 0) {
		free(v.data);
		return 0;
	}
	if (r != DB_NOTFOUND)
		return store_dberr(st, error_r, "meta", r);
	if (flags & STORE_OPEN_REBUILD)
		return 0;
	if (store_file_any(st)) {
		st->open_nodb = 1;
		store_fail(st, error_r,
		    "the database in %s/db does not know "
		    "the mail in %s (it is missing, new or partial): nothing "
		    "will run on it; rebuild it with `berthctl reconstruct`",
		    st->configdir, st->partdir);
		return STORE_ENODB;
	}
	/* a new installation: every journal is complete from the start */
	if (store_jboot_mark(st, error_r) < 0)
		return -1;
	return store_mark_complete(st, error_r);
}

int
store_mark_complete(struct store *st, const char **error_r)
{
	DBT k, v;
	int64_t now = (int64_t)time(NULL);
	int r;

	store_dbt_key(&k, &v, STORE_COMPLETE_KEY, strlen(STORE_COMPLETE_KEY));
	v.data = &now;
	v.size = sizeof(now);
	/* committed and flushed before anyone relies on it */
	if ((r = st->meta->put(st->meta, NULL, &k, &v, DB_AUTO_COMMIT)) != 0)
		return store_dberr(st, error_r, "meta complete", r);
	if ((r = st->env->log_flush(st->env, NULL)) != 0)
		return store_dberr(st, error_r, "log flush", r);
	return 0;
}

void
store_set_procs(unsigned procs)
{
	/* below STORE_PROCS_MIN Berkeley DB 5.3 wedged in lock_get after
	 * failchk had emptied a full table (4 processes' worth) */
	if (procs > 0 && procs < STORE_PROCS_MIN)
		procs = STORE_PROCS_MIN;
	store_procs = procs > STORE_PROCS_MAX ? STORE_PROCS_MAX : procs;
}

void
store_set_cachesize(unsigned long long bytes)
{
	if (bytes > 0 && bytes < STORE_CACHESIZE_MIN)
		bytes = STORE_CACHESIZE_MIN;
	store_cachesize =
	    bytes > STORE_CACHESIZE_MAX ? STORE_CACHESIZE_MAX : bytes;
}

unsigned
store_procs_env(void)
{
	const char *s = getenv("BERTH_STORE_PROCS");
	unsigned long n;
	char *end;

	if (s == NULL || *s == '\0')
		return 0;
	n = strtoul(s, &end, 10);
	if (*end != '\0' || n > STORE_PROCS_MAX)
		return 0;
	return (unsigned)n;
}

int
store_busy(struct store *st)
{
	return st != NULL && st->busy > 0;
}

/*
 * store_env_new - a DB_ENV handle configured for berth: never block on a
 * lock (see store_run), register for failchk, and the tables sized for
 * store_procs processes and the buffer pool store_cachesize bytes (used
 * when the region is created: recovery).
 */
static int
store_env_new(DB_ENV **env_r)
{
	unsigned procs = store_procs ? store_procs : STORE_PROCS_DEFAULT;
	unsigned long long cache;
	DB_ENV *env;
	int r;

	if ((r = db_env_create(&env, 0)) != 0)
		return r;
	env->set_errcall(env, store_errcall);
	env->set_msgcall(env, store_msgcall);
	env->set_lk_detect(env, DB_LOCK_DEFAULT);
	env->set_flags(env, DB_TXN_NOWAIT, 1);
	/* commits write the log but do not flush it: the users' journals
	 * are the write-ahead record that is flushed before any reply, and
	 * recovery replays them (store_redo.c) */
	env->set_flags(env, DB_TXN_WRITE_NOSYNC, 1);
	env->set_timeout(env, 3000000, DB_SET_LOCK_TIMEOUT);
	env->set_thread_count(env, procs);
	env->set_isalive(env, store_isalive);
	env->set_lk_max_lockers(env, procs * STORE_PROC_LOCKERS);
	env->set_lk_max_locks(env, procs * STORE_PROC_LOCKS);
	env->set_lk_max_objects(env, procs * STORE_PROC_OBJECTS);
	cache = store_cachesize ? store_cachesize : STORE_CACHESIZE_DEFAULT;
	env->set_cachesize(env, (uint32_t)(cache >> 30),
	    (uint32_t)(cache & ((1u << 30) - 1)), 1);
	env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1);
	*env_r = env;
	return 0;
}

/* store_env_join - join an existing environment (no creation, no
 * recovery) for failchk and statistics; *missing_r when there is none */
static int
store_env_join(const char *configdir, DB_ENV **env_r, int *missing_r,
    struct err *err)
{
	char *envdir = xasprintf("%s/db", configdir);
	int r;

	*missing_r = 0;
	if ((r = store_env_new(env_r)) != 0) {
		err_set(err, "db_env_create: %s", db_strerror(r));
		free(envdir);
		return -1;
	}
	r = (*env_r)->open(*env_r, envdir,
	    DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL, 0640);
	if (r != 0) {
		*missing_r = r == ENOENT;
		err_set(err, "open environment %s: %s", envdir, db_strerror(r));
		(*env_r)->close(*env_r, 0);
		*env_r = NULL;
		free(envdir);
		return r == DB_RUNRECOVERY ? STORE_ERECOVER : -1;
	}
	free(envdir);
	return 0;
}

int
store_failchk_env(const char *configdir, int *missing_r, struct err *err)
{
	DB_ENV *env;
	int missing, r;

	r = store_env_join(configdir, &env, &missing, err);
	if (missing_r != NULL)
		*missing_r = missing;
	if (r < 0 && missing)
		return 0;
	if (r < 0)
		return r;
	if ((r = store_failchk_lock(env, configdir)) != 0) {
		err_set(err, "failchk: %s", db_strerror(r));
		r = r == DB_RUNRECOVERY ? STORE_ERECOVER : -1;
	}
	env->close(env, 0);
	return r;
}

int
store_panic_env(const char *configdir, struct err *err)
{
	DB_ENV *env;
	int missing, r;

	if (store_env_join(configdir, &env, &missing, err) < 0)
		return -1;
	/* every process in the environment gets DB_RUNRECOVERY from its
	 * next call; the flag lives in the region until recovery */
	r = env->set_flags(env, DB_PANIC_ENVIRONMENT, 1);
	env->close(env, 0);
	if (r != 0 && r != DB_RUNRECOVERY)
		return err_set(err, "panic: %s", db_strerror(r));
	return 0;
}

/* STORE_STAT - hand one figure to store_stats's callback */
#define STORE_STAT(name, v) cb(name, (unsigned long long)(v), ctx)

int
store_stats(const char *configdir, store_stat_fn *cb, void *ctx,
    struct err *err)
{
	DB_LOCK_STAT *ls;
	DB_TXN_STAT *ts;
	DB_LOG_STAT *lg;
	DB_MPOOL_STAT *ms;
	DB_ENV *env;
	int missing, r;

	if (store_env_join(configdir, &env, &missing, err) < 0)
		return -1;
	if ((r = env->lock_stat(env, &ls, 0)) == 0) {
		STORE_STAT("lockers", ls->st_nlockers);
		STORE_STAT("lockers_max", ls->st_maxlockers);
		STORE_STAT("lockers_hwm", ls->st_maxnlockers);
		STORE_STAT("locks", ls->st_nlocks);
		STORE_STAT("locks_max", ls->st_maxlocks);
		STORE_STAT("locks_hwm", ls->st_maxnlocks);
		STORE_STAT("objects", ls->st_nobjects);
		STORE_STAT("objects_max", ls->st_maxobjects);
		STORE_STAT("objects_hwm", ls->st_maxnobjects);
		STORE_STAT("lock_requests", ls->st_nrequests);
		STORE_STAT("lock_nowait_conflicts", ls->st_lock_nowait);
		STORE_STAT("lock_wait_conflicts", ls->st_lock_wait);
		STORE_STAT("deadlocks", ls->st_ndeadlocks);
		STORE_STAT("lock_timeouts", ls->st_nlocktimeouts);
		free(ls);
	}
	if (r == 0 && (r = env->txn_stat(env, &ts, 0)) == 0) {
		STORE_STAT("txns", ts->st_nactive);
		STORE_STAT("txns_max", ts->st_maxtxns);
		STORE_STAT("txns_hwm", ts->st_maxnactive);
		STORE_STAT("txns_begun", ts->st_nbegins);
		STORE_STAT("txns_committed", ts->st_ncommits);
		STORE_STAT("txns_aborted", ts->st_naborts);
		free(ts);
	}
	if (r == 0 && (r = env->log_stat(env, &lg, 0)) == 0) {
		STORE_STAT("log_file", lg->st_cur_file);
		STORE_STAT("log_offset", lg->st_cur_offset);
		STORE_STAT("log_bytes",
		    (unsigned long long)lg->st_w_mbytes * 1048576 +
			lg->st_w_bytes);
		STORE_STAT("log_syncs", lg->st_scount);
		free(lg);
	}
	if (r == 0 && (r = env->memp_stat(env, &ms, NULL, 0)) == 0) {
		STORE_STAT("cache_bytes",
		    (unsigned long long)ms->st_gbytes * 1073741824ULL +
			ms->st_bytes);
		STORE_STAT("cache_pages", ms->st_pages);
		STORE_STAT("cache_dirty", ms->st_page_dirty);
		STORE_STAT("cache_hits", ms->st_cache_hit);
		STORE_STAT("cache_misses", ms->st_cache_miss);
		free(ms);
	}
	env->close(env, 0);
	if (r != 0) {
		err_set(err, "statistics: %s", db_strerror(r));
		return -1;
	}
	return 0;
}

/*
 * store_room - is there room in the lock table for one more process?
 * Berkeley DB 5.3 does not survive running out of lockers inside
 * DB->open: depending on where the table ran out, the process crashed
 * (SIGSEGV, SIGBUS in __lock_getlocker_int) or deadlocked on its own
 * mutex closing the environment.  So a process joins only while
 * STORE_PROC_LOCKERS lockers and locks are free (after reclaiming dead
 * processes' if they are not); the last reserve serves the transactions
 * of the processes already in.
 */
static int
store_room(struct store *st, const char **error_r)
{
	DB_LOCK_STAT *ls;
	uint32_t lockers, locks, max_lockers, max_locks;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (st->env->lock_stat(st->env, &ls, 0) != 0)
			return 0; /* cannot tell: try */
		lockers = ls->st_nlockers;
		max_lockers = ls->st_maxlockers;
		locks = ls->st_nlocks;
		max_locks = ls->st_maxlocks;
		free(ls);
		if (lockers + STORE_PROC_LOCKERS <= max_lockers &&
		    locks + STORE_PROC_LOCKERS <= max_locks)
			return 0;
		if (tries == 0 && store_failchk(st) != 0)
			break;
	}
	st->open_short = 1;
	return store_fail(st, error_r,
	    "lock table or region full "
	    "(shortage): lockers=%u of %u locks=%u of %u in use",
	    lockers, max_lockers, locks, max_locks);
}

int
store_open(const char *configdir, const char *partdir, int flags,
    struct store **st_r, struct err *err)
{
	struct store *st = xcalloc(1, sizeof(*st));
	const char *e;
	char *envdir, *tmpdir;
	uint32_t oflags;
	int r;

	st->configdir = xstrdup(configdir);
	st->partdir = xstrdup(partdir);
	st->partfd = -1;
	st->wal_fd = -1;
	st->quota_storage_default = STORE_QUOTA_NONE;
	st->quota_message_default = STORE_QUOTA_NONE;
	envdir = xasprintf("%s/db", configdir);
	tmpdir = xasprintf("%s/tmp", partdir);
	if (store_file_mkdirs(envdir) < 0 || store_file_mkdirs(tmpdir) < 0) {
		store_fail(st, &e, "cannot create %s or %s: %s", envdir, tmpdir,
		    strerror(errno));
		goto fail;
	}
	if (store_file_dirs(st, &e) < 0)
		goto fail;
	store_file_warm();
	if ((r = store_env_new(&st->env)) != 0) {
		store_fail(st, &e, "db_env_create: %s", db_strerror(r));
		goto fail;
	}
	oflags = DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG |
	    DB_INIT_MPOOL;
	if (flags & STORE_OPEN_RECOVER)
		oflags |= DB_RECOVER;
	if (flags & STORE_OPEN_RESTORE)
		oflags |= DB_RECOVER_FATAL;
	if ((r = st->env->open(st->env, envdir, oflags, 0640)) != 0) {
		if (r == ENOMEM)
			st->open_short = 1;
		store_dberr(st, &e, envdir, r);
		goto fail;
	}

	if (store_room(st, &e) < 0)
		goto fail;
	if (store_open_db(st, &st->mboxes, "mailboxes.db", &e) < 0 ||
	    store_open_db(st, &st->index, "index.db", &e) < 0 ||
	    store_open_db(st, &st->expunged, "expunged.db", &e) < 0 ||
	    store_open_db(st, &st->cache, "cache.db", &e) < 0 ||
	    store_open_db_paged(st, &st->mcache, "mcache.db",
		STORE_CACHE_PAGESIZE, &e) < 0 ||
	    store_open_db(st, &st->refs, "refs.db", &e) < 0 ||
	    store_open_db(st, &st->subs, "subs.db", &e) < 0 ||
	    store_open_db(st, &st->meta, "meta.db", &e) < 0 ||
	    store_open_db(st, &st->byid, "byid.db", &e) < 0 ||
	    store_open_db(st, &st->dup, "dup.db", &e) < 0 ||
	    store_open_db(st, &st->quota, "quota.db", &e) < 0 ||
	    store_view_open(st, &e) < 0)
		goto fail;
	if (store_complete_check(st, flags, &e) != 0)
		goto fail;
	free(envdir);
	free(tmpdir);
	*st_r = st;
	return 0;
fail:
	/* the message lives in st->err: copy it out */
	err_set(err, "%s", st->err);
	r = st->open_nodb	 ? STORE_ENODB
	    : st->needs_recovery ? STORE_ERECOVER
	    : st->open_short	 ? STORE_ESHORTAGE
				 : -1;
	free(envdir);
	free(tmpdir);
	store_close(&st);
	return r;
}

/* store_env_panicked - does env refuse every call (DB_RUNRECOVERY)?  A
 * cheap call that checks for it, without the library's message */
static int
store_env_panicked(DB_ENV *env)
{
	uint32_t id;
	int r;

	env->set_errcall(env, NULL);
	r = env->lock_id(env, &id);
	if (r == 0)
		env->lock_id_free(env, id);
	env->set_errcall(env, store_errcall);
	return r == DB_RUNRECOVERY;
}

void
store_close(struct store **stp)
{
	struct store *st = *stp;
	/* secondaries before their primaries */
	DB **dbs[] = { &st->modseq, &st->xmodseq, &st->mboxes, &st->index,
		&st->expunged, &st->cache, &st->mcache, &st->refs, &st->subs,
		&st->meta, &st->byid, &st->dup, &st->quota };
	size_t i;

	if (st == NULL)
		return;
	/* a store that needs recovery (ours or another process's panic)
	 * closes without a line per handle: recovery is what it needs */
	if (st->env != NULL &&
	    (st->needs_recovery || store_env_panicked(st->env)))
		st->env->set_errcall(st->env, NULL);
	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if (*dbs[i] != NULL)
			(*dbs[i])->close(*dbs[i], 0);
	if (st->env != NULL)
		st->env->close(st->env, 0);
	store_changes_reset(st);
	free(st->changed);
	store_jnl_reset(st);
	free(st->jlines);
	store_wal_close(st);
	free(st->configdir);
	if (st->partfd >= 0)
		close(st->partfd);
	free(st->partdir);
	free(st);
	*stp = NULL;
}

static void
store_jboot_log(const char *line, void *ctx)
{
	(void)ctx;
	log_info("%s", line);
}

/*
 * store_jboot_start - at recovery, alone: a store whose users' journals
 * are not known complete (its mail predates them) gets them written
 * from the database, so that reconstruct can rebuild every user
 */
static int
store_jboot_start(struct store *st, const char **error_r)
{
	int r;

	if ((r = store_jboot_marked(st, error_r)) != 0)
		return r < 0 ? -1 : 0;
	log_info("journal bootstrap: the journals are not known complete; "
		 "writing every user's from the database");
	return store_jboot_all(st, store_jboot_log, NULL, error_r);
}

int
store_recover(const char *configdir, const char *partdir, struct err *err)
{
	struct store *st;
	const char *e;
	int swept;

	if ((swept = store_open(configdir, partdir,
		 STORE_OPEN_RECOVER | STORE_OPEN_CREATE, &st, err)) < 0)
		return swept;
	/* what the journals hold and the database lost, before the sweep
	 * can take a file a replayed record refers to */
	swept = store_wal_replay(st, &e);
	if (swept >= 0)
		swept = store_redo(st, &e);
	if (swept >= 0)
		swept = store_jboot_start(st, &e);
	if (swept >= 0)
		swept = store_jnl_sync_all(st, &e);
	if (swept >= 0)
		swept = store_quota_boot(st, &e);
	if (swept >= 0)
		swept = store_file_sweep(st, 0, &e);
	if (swept < 0)
		err_set(err, "%s", e); /* e may live in st: copy it first */
	store_close(&st);
	return swept < 0 ? -1 : swept;
}

int
store_checkpoint(struct store *st, const char **error_r)
{
	int r = st->env->txn_checkpoint(st->env, 0, 0, 0), swept;

	if (r != 0)
		return store_fail(st, error_r, "checkpoint: %s",
		    db_strerror(r));
	if (store_dup_prune(st, error_r) < 0)
		return -1;
	/* files of expunged messages; an hour's margin covers deliveries
	 * whose file is written but whose record is not yet committed */
	if ((swept = store_file_sweep(st, 3600, error_r)) < 0)
		return -1;
	/* the journals' lines so far are durable in the database and the
	 * files now: recovery need not replay them */
	if (store_jnl_sync_all(st, error_r) < 0)
		return -1;
	if (store_jnl_compact_all(st, error_r) < 0)
		return -1;
	return swept;
}

/*
 * store_backoff - wait before retry number attempt + 1: a random time up
 * to 100 us doubling per attempt, at most STORE_BACKOFF_MAX_US.  Random,
 * so that writers that collided do not collide again in step; short,
 * because a conflict on a page lasts one commit (about a millisecond),
 * and long fixed sleeps were what made busy APPENDs slow.
 */
static void
store_backoff(int attempt)
{
	static unsigned seed;
	unsigned cap = 100u << (attempt < 7 ? attempt : 7);

	if (seed == 0)
		seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	if (cap > STORE_BACKOFF_MAX_US)
		cap = STORE_BACKOFF_MAX_US;
	usleep(50 + (unsigned)rand_r(&seed) % cap);
}

int
store_conflict_wait(struct store *st, int attempt, int r)
{
	if (r != DB_LOCK_DEADLOCK && r != DB_LOCK_NOTGRANTED)
		return r;
	if (attempt + 1 >= STORE_RETRIES)
		return r;
	/* DB_RUNRECOVERY: a process died inside the library */
	if (attempt % 16 == 15 && (r = store_failchk(st)) != 0)
		return r;
	store_backoff(attempt);
	return 0;
}

static int store_run_txn(struct store *st, store_op_fn *op, void *arg,
    const char **error_r);

int
store_run(struct store *st, store_op_fn *op, void *arg, const char **error_r)
{
	int r;

	st->busy++;
	r = store_run_txn(st, op, arg, error_r);
	st->busy--;
	return r;
}

/* store_run_txn - store_run's loop */
static int
store_run_txn(struct store *st, store_op_fn *op, void *arg,
    const char **error_r)
{
	DB_TXN *txn;
	int attempt, r;

	/*
	 * Transactions never wait for a lock (DB_TXN_NOWAIT): a conflict
	 * aborts and retries with back-off.  A lock held by a process that
	 * died is released by failchk, which we run every few conflicts; a
	 * blocking wait would hang forever on such a lock.
	 */
	for (attempt = 0; attempt < STORE_RETRIES; attempt++) {
		store_changes_reset(st);
		store_jnl_reset(st);
		if ((r = st->env->txn_begin(st->env, NULL, &txn,
			 DB_TXN_NOWAIT)) != 0)
			return store_dberr(st, error_r, "txn_begin", r);
		r = op(st, txn, arg);
		if (r == DB_LOCK_DEADLOCK || r == DB_LOCK_NOTGRANTED) {
			txn->abort(txn);
			if (attempt + 1 < STORE_RETRIES &&
			    (r = store_conflict_wait(st, attempt, r)) != 0)
				return store_dberr(st, error_r, "failchk", r);
			continue;
		}
		if (r < 0 && r > -100) {
			/* the op's own failure (-1, STORE_E*) */
			txn->abort(txn);
			if (r == -1)
				*error_r = st->err;
			return r;
		}
		if (r != 0) {
			txn->abort(txn);
			return store_dberr(st, error_r, "database", r);
		}
		if ((r = txn->commit(txn, 0)) != 0)
			return store_dberr(st, error_r, "commit", r);
		/* committed: into the journal before anyone is answered */
		r = store_jnl_flush(st, error_r);
		/* tell idled which mailboxes moved on */
		store_changes_send(st);
		return r;
	}
	return store_fail(st, error_r,
	    "database busy: gave up after %d "
	    "retries",
	    STORE_RETRIES);
}

/* ---- mailboxes ---- */

/* store_mname - canonical name: INBOX in any case becomes INBOX */
static char *
store_mname(const char *name)
{
	if (strncasecmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == '/'))
		return xasprintf("INBOX%s", name + 5);
	return xstrdup(name);
}

static int
store_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < 1000 && name[0] != '/' && name[n - 1] != '/' &&
	    strstr(name, "//") == NULL && strpbrk(name, "*%\r\n") == NULL;
}

void
store_mkey(DBT *k, char *buf, size_t size, const char *user, const char *name)
{
	size_t ul = strlen(user), nl = strlen(name);

	memset(k, 0, sizeof(*k));
	if (ul + nl + 2 > size)
		nl = size - ul - 2;
	memcpy(buf, user, ul + 1);
	memcpy(buf + ul + 1, name, nl);
	k->data = buf;
	k->size = (uint32_t)(ul + 1 + nl);
}

/* store_mrec_get - read a mailbox record in txn; DB_NOTFOUND if none */
int
store_mrec_get(struct store *st, DB_TXN *txn, const char *user,
    const char *name, struct store_mrec *rec, int rmw)
{
	char kb[2048];
	DBT k, v;

	store_mkey(&k, kb, sizeof(kb), user, name);
	memset(&v, 0, sizeof(v));
	memset(rec, 0, sizeof(*rec)); /* records older than jseq */
	v.data = rec;
	v.ulen = sizeof(*rec);
	v.flags = DB_DBT_USERMEM;
	/* outside a transaction read without locks: a dead process's write
	 * lock must not block a reader */
	return st->mboxes->get(st->mboxes, txn, &k, &v,
	    rmw		      ? DB_RMW
		: txn == NULL ? DB_READ_UNCOMMITTED
			      : 0);
}

int
store_mrec_put(struct store *st, DB_TXN *txn, const char *user,
    const char *name, struct store_mrec *rec, uint32_t what)
{
	struct store_mrec old;
	uint64_t prev = 0;
	char kb[2048];
	DBT k, v, ik;
	int r;

	/* the modseq before this transaction's first write, so idled can
	 * tell whether a parked session missed anything in between; and
	 * what the write changes in the user's quota usage */
	if ((r = store_mrec_get(st, txn, user, name, &old, 1)) == 0)
		prev = old.mb.highestmodseq;
	else if (r == DB_NOTFOUND)
		memset(&old, 0, sizeof(old));
	else
		return r;
	if ((r = store_quota_account(st, txn, user,
		 (int64_t)rec->mb.size - (int64_t)old.mb.size,
		 (int64_t)rec->mb.exists - (int64_t)old.mb.exists)) != 0)
		return r;

	store_mkey(&k, kb, sizeof(kb), user, name);
	memset(&v, 0, sizeof(v));
	rec->version = STORE_REC_VERSION;
	rec->jseq++;
	store_jnl_mbox(st, user, name, rec);
	v.data = rec;
	v.size = sizeof(*rec);
	if ((r = st->mboxes->put(st->mboxes, txn, &k, &v, 0)) != 0)
		return r;
	store_changed(st, user, name, NULL, &rec->mb, prev, what);
	/* byid: mailbox id -> key, for operations that know only the id */
	memset(&ik, 0, sizeof(ik));
	ik.data = &rec->mb.id;
	ik.size = sizeof(rec->mb.id);
	return st->byid->put(st->byid, txn, &ik, &k, 0);
}

int
store_mrec_del(struct store *st, DB_TXN *txn, const char *user,
    const char *name, const struct store_mrec *rec)
{
	char kb[2048];
	DBT k;
	int r;

	store_mkey(&k, kb, sizeof(kb), user, name);
	if ((r = st->mboxes->del(st->mboxes, txn, &k, 0)) != 0)
		return r;
	return store_quota_account(st, txn, user, -(int64_t)rec->mb.size,
	    -(int64_t)rec->mb.exists);
}

int
store_mrec_by_id(struct store *st, DB_TXN *txn, uint32_t id,
    struct store_mrec *rec, char *user_r, char *name_r, size_t size)
{
	char kb[2048];
	DBT ik, k, v;
	size_t ul;
	int r;

	memset(&ik, 0, sizeof(ik));
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	ik.data = &id;
	ik.size = sizeof(id);
	k.data = kb;
	k.ulen = sizeof(kb);
	k.flags = DB_DBT_USERMEM;
	if ((r = st->byid->get(st->byid, txn, &ik, &k, 0)) != 0)
		return r == DB_NOTFOUND ? STORE_ENOENT : r;
	memset(rec, 0, sizeof(*rec));
	v.data = rec;
	v.ulen = sizeof(*rec);
	v.flags = DB_DBT_USERMEM;
	r = st->mboxes->get(st->mboxes, txn, &k, &v, DB_RMW);
	if (r != 0)
		return r == DB_NOTFOUND ? STORE_ENOENT : r;
	if (rec->mb.id != id)
		return STORE_ENOENT; /* stale byid entry */
	ul = strnlen(kb, k.size);
	if (ul + 1 > size || k.size - ul - 1 + 1 > size)
		return STORE_EINVAL;
	memcpy(user_r, kb, ul + 1);
	memcpy(name_r, kb + ul + 1, k.size - ul - 1);
	name_r[k.size - ul - 1] = '\0';
	return 0;
}

/* store_meta_next - increment and return a counter in meta */
int
store_meta_next(struct store *st, DB_TXN *txn, const char *key, uint32_t min,
    uint32_t *out)
{
	DBT k, v;
	uint32_t n = 0;
	int r;

	store_dbt_key(&k, &v, key, strlen(key));
	v.data = &n;
	v.ulen = sizeof(n);
	v.flags = DB_DBT_USERMEM;
	r = st->meta->get(st->meta, txn, &k, &v, DB_RMW);
	if (r != 0 && r != DB_NOTFOUND)
		return r;
	n = n + 1 > min ? n + 1 : min;
	v.size = sizeof(n);
	if ((r = st->meta->put(st->meta, txn, &k, &v, 0)) != 0)
		return r;
	*out = n;
	return 0;
}

struct store_mbox_arg {
	const char *user, *name, *to;
	struct store_mbox *mb;
	uint32_t u32;
};

/* store_mbox_new - create one mailbox record (name must not exist) */
static int
store_mbox_new(struct store *st, DB_TXN *txn, const char *user,
    const char *name, uint32_t attrs)
{
	struct store_mrec rec;
	uint32_t now = (uint32_t)time(NULL);
	int r;

	memset(&rec, 0, sizeof(rec));
	if ((r = store_meta_next(st, txn, "mailbox-id", 1, &rec.mb.id)) != 0)
		return r;
	/* UIDVALIDITY = max(now, last + 1): never repeats, clock or not */
	if ((r = store_meta_next(st, txn, "uidvalidity", now,
		 &rec.mb.uidvalidity)) != 0)
		return r;
	rec.mb.uidnext = 1;
	rec.mb.highestmodseq = 1;
	rec.mb.attrs = attrs;
	return store_mrec_put(st, txn, user, name, &rec, STORE_EV_MAILBOXNAME);
}

static int
store_op_create(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_mbox_arg *a = varg;
	struct store_mrec rec;
	char *p, *parent;
	int r;

	r = store_mrec_get(st, txn, a->user, a->name, &rec, 1);
	if (r == 0 && !(rec.mb.attrs & STORE_MBOX_NOSELECT))
		return STORE_EEXIST;
	if (r == 0) {
		/* a placeholder parent becomes a real mailbox */
		rec.mb.attrs &= ~(uint32_t)STORE_MBOX_NOSELECT;
		return store_mrec_put(st, txn, a->user, a->name, &rec,
		    STORE_EV_MAILBOXNAME);
	}
	if (r != DB_NOTFOUND)
		return r;
	/* missing parents are created as real mailboxes (RFC 3501 6.3.3) */
	parent = xstrdup(a->name);
	for (p = strchr(parent, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		r = store_mrec_get(st, txn, a->user, parent, &rec, 1);
		if (r == DB_NOTFOUND)
			r = store_mbox_new(st, txn, a->user, parent, 0);
		*p = '/';
		if (r != 0) {
			free(parent);
			return r;
		}
	}
	free(parent);
	return store_mbox_new(st, txn, a->user, a->name, 0);
}

/*
 * store_run_mbox - store_run(op) on the mailbox name of a->user (INBOX in
 * any case is INBOX), naming a missing or existing mailbox in *error_r
 */
static int
store_run_mbox(struct store *st, store_op_fn *op, struct store_mbox_arg *a,
    const char *name, const char **error_r)
{
	char *n = store_mname(name);
	int r;

	a->name = n;
	r = store_run(st, op, a, error_r);
	if (r == STORE_ENOENT)
		store_fail(st, error_r, "no such mailbox");
	else if (r == STORE_EEXIST)
		store_fail(st, error_r, "mailbox already exists");
	a->name = NULL;
	free(n);
	return r;
}

int
store_mbox_create(struct store *st, const char *user, const char *name,
    const char **error_r)
{
	struct store_mbox_arg a = { user, NULL, NULL, NULL, 0 };

	/* the canonical name differs from name in case only */
	if (!store_name_ok(name)) {
		store_fail(st, error_r, "invalid mailbox name");
		return STORE_EINVAL;
	}
	return store_run_mbox(st, store_op_create, &a, name, error_r);
}

static int
store_op_attrs(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_mbox_arg *a = varg;
	struct store_mrec rec;
	int r = store_mrec_get(st, txn, a->user, a->name, &rec, 1);

	if (r == DB_NOTFOUND ||
	    (r == 0 && (rec.mb.attrs & STORE_MBOX_NOSELECT)))
		return STORE_ENOENT;
	if (r != 0)
		return r;
	rec.mb.attrs = (rec.mb.attrs & ~(uint32_t)STORE_MBOX_USE_MASK) |
	    (a->u32 & STORE_MBOX_USE_MASK);
	return store_mrec_put(st, txn, a->user, a->name, &rec, 0);
}

int
store_mbox_set_use(struct store *st, const char *user, const char *name,
    uint32_t use, const char **error_r)
{
	struct store_mbox_arg a = { user, NULL, NULL, NULL, use };

	return store_run_mbox(st, store_op_attrs, &a, name, error_r);
}

static int
store_op_get(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_mbox_arg *a = varg;
	struct store_mrec rec;
	int r = store_mrec_get(st, txn, a->user, a->name, &rec, 0);

	if (r == DB_NOTFOUND)
		return STORE_ENOENT;
	if (r == 0)
		*a->mb = rec.mb;
	return r;
}

int
store_mbox_get(struct store *st, const char *user, const char *name,
    struct store_mbox *mb_r, const char **error_r)
{
	struct store_mbox_arg a = { user, NULL, NULL, mb_r, 0 };

	return store_run_mbox(st, store_op_get, &a, name, error_r);
}

/* store_msgs_drop - remove every index record of mboxid (for DELETE) */
int store_msgs_drop(struct store *st, DB_TXN *txn, uint32_t mboxid);

static int
store_op_delete(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_mbox_arg *a = varg;
	struct store_mrec rec;
	int r;

	r = store_mrec_get(st, txn, a->user, a->name, &rec, 1);
	if (r == DB_NOTFOUND)
		return STORE_ENOENT;
	if (r != 0)
		return r;
	if ((r = store_msgs_drop(st, txn, rec.mb.id)) != 0)
		return r;
	store_changed(st, a->user, a->name, NULL, &rec.mb, rec.mb.highestmodseq,
	    STORE_EV_MAILBOXNAME | STORE_W_DELETED);
	store_jnl_mbox_gone(st, a->user, rec.mb.id);
	return store_mrec_del(st, txn, a->user, a->name, &rec);
}

int
store_mbox_delete(struct store *st, const char *user, const char *name,
    const char **error_r)
{
	struct store_mbox_arg a = { user, NULL, NULL, NULL, 0 };

	if (strcasecmp(name, "INBOX") == 0) {
		store_fail(st, error_r, "INBOX cannot be deleted");
		return STORE_EINVAL;
	}
	return store_run_mbox(st, store_op_delete, &a, name, error_r);
}

int
store_user_remove(struct store *st, const char *user, size_t *n_r,
    const char **error_r)
{
	struct store_mbox_arg a = { user, NULL, NULL, NULL, 0 };
	char **names;
	size_t n, i;
	int r;

	*n_r = 0;
	if ((r = store_user_names(st, NULL, user, &names, &n)) != 0)
		return store_dberr(st, error_r, "mailboxes", r);
	/* children first, INBOX too */
	for (i = n, r = 0; i > 0 && r == 0; i--) {
		a.name = names[i - 1];
		r = store_run(st, store_op_delete, &a, error_r);
		if (r == STORE_ENOENT)
			r = 0;
		else if (r == 0)
			(*n_r)++;
	}
	store_names_free(names, n);
	return r;
}

/* store_user_names - every mailbox name of user (in txn), malloc'ed */
int
store_user_names(struct store *st, DB_TXN *txn, const char *user,
    char ***names_r, size_t *n_r)
{
	char kb[2048];
	DBC *c;
	DBT k, v;
	size_t ul = strlen(user);
	int r;

	*names_r = NULL;
	*n_r = 0;
	if ((r = st->mboxes->cursor(st->mboxes, txn, &c,
		 txn == NULL ? DB_READ_UNCOMMITTED : 0)) != 0)
		return r;
	store_mkey(&k, kb, sizeof(kb), user, "");
	k.ulen = sizeof(kb);
	k.flags = DB_DBT_USERMEM;
	memset(&v, 0, sizeof(v));
	for (r = c->get(c, &k, &v, DB_SET_RANGE); r == 0;
	     r = c->get(c, &k, &v, DB_NEXT)) {
		if (k.size < ul + 1 || memcmp(k.data, user, ul + 1) != 0)
			break;
		*names_r = xreallocarray(*names_r, *n_r + 1, sizeof(**names_r));
		(*names_r)[(*n_r)++] =
		    xstrndup((char *)k.data + ul + 1, k.size - ul - 1);
	}
	c->close(c);
	return r == DB_NOTFOUND || r == 0 ? 0 : r;
}

void
store_names_free(char **names, size_t n)
{
	while (n > 0)
		free(names[--n]);
	free(names);
}

/* store_move_inbox - RENAME INBOX: messages go to a new mailbox */
int store_msgs_move_all(struct store *st, DB_TXN *txn, uint32_t from,
    struct store_mrec *fromrec, uint32_t to, struct store_mrec *torec);

static int
store_op_rename(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_mbox_arg *a = varg;
	struct store_mrec rec, trec;
	char **names, *nn;
	size_t n, i, fl = strlen(a->name);
	int r;

	if ((r = store_mrec_get(st, txn, a->user, a->name, &rec, 1)) != 0)
		return r == DB_NOTFOUND ? STORE_ENOENT : r;
	if ((r = store_mrec_get(st, txn, a->user, a->to, &trec, 0)) == 0)
		return STORE_EEXIST;
	if (strcmp(a->name, "INBOX") == 0) {
		struct store_mbox_arg c = { a->user, a->to, NULL, NULL, 0 };

		if ((r = store_op_create(st, txn, &c)) != 0)
			return r;
		if ((r = store_mrec_get(st, txn, a->user, a->to, &trec, 1)) !=
		    0)
			return r;
		if ((r = store_msgs_move_all(st, txn, rec.mb.id, &rec,
			 trec.mb.id, &trec)) != 0 ||
		    (r = store_mrec_put(st, txn, a->user, "INBOX", &rec,
			 STORE_EV_EXPUNGE)) != 0)
			return r;
		return store_mrec_put(st, txn, a->user, a->to, &trec,
		    STORE_EV_NEW);
	}
	if ((r = store_user_names(st, txn, a->user, &names, &n)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		if (strncmp(names[i], a->name, fl) != 0 ||
		    (names[i][fl] != '\0' && names[i][fl] != '/'))
			continue;
		if ((r = store_mrec_get(st, txn, a->user, names[i], &rec, 1)) !=
		    0)
			break;
		nn = xasprintf("%s%s", a->to, names[i] + fl);
		r = store_mrec_del(st, txn, a->user, names[i], &rec);
		if (r == 0)
			r = store_mrec_put(st, txn, a->user, nn, &rec, 0);
		/* announced under the new name, with the old one */
		if (r == 0)
			store_changed(st, a->user, nn, names[i], &rec.mb,
			    rec.mb.highestmodseq, STORE_EV_MAILBOXNAME);
		free(nn);
	}
	store_names_free(names, n);
	if (r == 0 && strchr(a->to, '/') != NULL) {
		/* parents of the new name exist afterwards */
		struct store_mbox_arg c = { a->user, a->to, NULL, NULL, 0 };

		r = store_op_create(st, txn, &c);
		if (r == STORE_EEXIST)
			r = 0;
	}
	return r;
}

int
store_mbox_rename(struct store *st, const char *user, const char *from,
    const char *to, const char **error_r)
{
	struct store_mbox_arg a = { user, NULL, NULL, NULL, 0 };
	char *f = store_mname(from), *t = store_mname(to);
	int r;

	if (!store_name_ok(t) || strcmp(t, "INBOX") == 0 ||
	    (strncmp(t, f, strlen(f)) == 0 && t[strlen(f)] == '/' &&
		strcmp(f, "INBOX") != 0)) {
		store_fail(st, error_r, "invalid new mailbox name");
		r = STORE_EINVAL;
		goto out;
	}
	a.name = f;
	a.to = t;
	r = store_run(st, store_op_rename, &a, error_r);
	if (r == STORE_ENOENT)
		store_fail(st, error_r, "no such mailbox");
	else if (r == STORE_EEXIST)
		store_fail(st, error_r, "target mailbox already exists");
out:
	free(f);
	free(t);
	return r;
}

int
store_mbox_list(struct store *st, const char *user, store_mbox_fn *cb,
    void *ctx, const char **error_r)
{
	struct store_mrec rec;
	char **names;
	size_t n, i;
	int r;

	/* read the names without holding locks across the callbacks */
	if ((r = store_user_names(st, NULL, user, &names, &n)) != 0)
		return store_fail(st, error_r, "list: %s", db_strerror(r));
	for (i = 0; i < n; i++) {
		if (store_mrec_get(st, NULL, user, names[i], &rec, 0) != 0)
			continue;
		if (cb(names[i], &rec.mb, ctx) != 0)
			break;
	}
	store_names_free(names, n);
	return 0;
}

int
store_sub_set(struct store *st, const char *user, const char *name,
    int subscribed, const char **error_r)
{
	char kb[2048], *n = store_mname(name);
	struct store_event m;
	DBT k, v;
	int r;

	store_mkey(&k, kb, sizeof(kb), user, n);
	memset(&v, 0, sizeof(v));
	v.data = (void *)"";
	v.size = 1;
	if (subscribed)
		r = st->subs->put(st->subs, NULL, &k, &v, DB_AUTO_COMMIT);
	else
		r = st->subs->del(st->subs, NULL, &k, DB_AUTO_COMMIT);
	if (r != 0 && r != DB_NOTFOUND) {
		free(n);
		return store_fail(st, error_r, "subscriptions: %s",
		    db_strerror(r));
	}
	store_jnl_reset(st);
	store_jnl_sub(st, user, n, subscribed);
	if (store_jnl_flush(st, error_r) < 0) {
		free(n);
		return -1;
	}
	memset(&m, 0, sizeof(m));
	m.what = STORE_EV_SUBSCRIPTION;
	m.user = user;
	m.name = n;
	if (st->event_fn != NULL)
		st->event_fn(&m, st->event_ctx);
	free(n);
	return 0;
}

int
store_sub_walk(struct store *st, DB_TXN *txn, uint32_t flags, const char *user,
    int del, store_sub_fn *cb, void *ctx)
{
	char kb[2048], *name;
	size_t ul = strlen(user);
	DBC *c;
	DBT k, v;
	int r;

	if ((r = st->subs->cursor(st->subs, txn, &c, flags)) != 0)
		return r;
	store_mkey(&k, kb, sizeof(kb), user, "");
	k.ulen = sizeof(kb);
	k.flags = DB_DBT_USERMEM;
	memset(&v, 0, sizeof(v));
	for (r = c->get(c, &k, &v, DB_SET_RANGE); r == 0;
	     r = c->get(c, &k, &v, DB_NEXT)) {
		if (k.size < ul + 1 || memcmp(k.data, user, ul + 1) != 0)
			break;
		if (del && (r = c->del(c, 0)) != 0)
			break;
		if (cb == NULL)
			continue;
		name = xstrndup((char *)k.data + ul + 1, k.size - ul - 1);
		r = cb(name, ctx);
		free(name);
		if (r != 0) {
			r = 0;
			break;
		}
	}
	c->close(c);
	return r == DB_NOTFOUND ? 0 : r;
}

int
store_sub_list(struct store *st, const char *user, store_sub_fn *cb, void *ctx,
    const char **error_r)
{
	int r = store_sub_walk(st, NULL, DB_READ_UNCOMMITTED, user, 0, cb, ctx);

	if (r != 0)
		return store_fail(st, error_r, "subscriptions: %s",
		    db_strerror(r));
	return 0;
}

static int
store_op_claim(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_mbox_arg *a = varg;
	struct store_mrec rec;
	char user[1024], name[1024];
	int r;

	r = store_mrec_by_id(st, txn, a->u32, &rec, user, name, sizeof(user));
	if (r != 0)
		return r;
	a->mb->recentuid = rec.mb.recentuid;
	a->mb->uidnext = rec.mb.uidnext;
	if (rec.mb.recentuid == rec.mb.uidnext - 1)
		return 0;
	rec.mb.recentuid = rec.mb.uidnext - 1;
	return store_mrec_put(st, txn, user, name, &rec, 0);
}

int
store_claim_recent(struct store *st, uint32_t mboxid, uint32_t *oldrecent_r,
    uint32_t *newrecent_r, const char **error_r)
{
	struct store_mbox mb;
	struct store_mbox_arg a = { NULL, NULL, NULL, &mb, mboxid };
	int r;

	/* the recent mark is per server, not worth a journal write */
	st->jquiet = 1;
	r = store_run(st, store_op_claim, &a, error_r);
	st->jquiet = 0;

	if (r == STORE_ENOENT)
		store_fail(st, error_r, "no such mailbox");
	if (r == 0)
		*oldrecent_r = mb.recentuid;
	if (r == 0 && newrecent_r != NULL)
		*newrecent_r = mb.uidnext - 1;
	return r;
}

int
store_needs_recovery(struct store *st)
{
	return st->needs_recovery;
}

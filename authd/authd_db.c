/*
 * authd_db - authd's own small Berkeley DB: the failure counters and the
 * recent successful logins, so that penalties survive a restart.
 *
 * A transactional environment in <configdirectory>/authd, apart from the
 * mail store's (master recovers that one; authd recovers its own, with
 * DB_RECOVER at every start, being its only user).  DB_PRIVATE regions
 * and a lock file keep a second authd out.  Commits do not fsync
 * (DB_TXN_WRITE_NOSYNC): a crash of the machine may lose the last
 * seconds of counters, a crash of authd loses nothing.  Log files are
 * removed as checkpoints make them unneeded.
 *
 * Main thread only.  Failures to write are logged (once a minute at most)
 * and otherwise ignored: the counters in memory are what authd uses.
 */
#include "config.h"

#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authd.h"
#include "cfg.h"
#include "fd.h"
#include "log.h"

static DB_ENV *db_env;
static DB *db_pen;
static long long db_warned_ms;

static void
db_warn(const char *what, int r)
{
	long long now = authd_now_ms();

	if (db_warned_ms && now - db_warned_ms < 60000)
		return;
	db_warned_ms = now;
	log_error("penalty database %s: %s", what, db_strerror(r));
}

/* db_lock - one authd per directory: a second would corrupt the
 * private environment */
static int
db_lock(const char *dir, char *err, size_t size)
{
	char path[1100];
	int fd;

	/* fits: configdirectory is at most CFG_CONFDIR_MAX */
	(void)snprintf(path, sizeof(path), "%s/lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		(void)snprintf(err, size, "%s: %s (another authd running?)",
		    path, strerror(errno));
		if (fd >= 0)
			fd_close(fd);
		return -1;
	}
	return 0; /* held until we exit */
}

int
authd_db_open(const char **error_r)
{
	static char err[1200];
	char dir[1024];
	int r;

	/* fits: configdirectory is at most CFG_CONFDIR_MAX */
	(void)snprintf(dir, sizeof(dir), "%s/authd",
	    cfg_str("configdirectory"));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		(void)snprintf(err, sizeof(err), "mkdir %s: %s", dir,
		    strerror(errno));
		*error_r = err;
		return -1;
	}
	if (db_lock(dir, err, sizeof(err)) < 0) {
		*error_r = err;
		return -1;
	}
	if ((r = db_env_create(&db_env, 0)) != 0)
		goto fail;
	db_env->set_errpfx(db_env, "authd");
	db_env->set_cachesize(db_env, 0, 1 << 20, 1);
	db_env->set_flags(db_env, DB_TXN_WRITE_NOSYNC, 1);
	db_env->log_set_config(db_env, DB_LOG_AUTO_REMOVE, 1);
	if ((r = db_env->open(db_env, dir,
		 DB_CREATE | DB_INIT_MPOOL | DB_INIT_TXN | DB_INIT_LOG |
		     DB_INIT_LOCK | DB_RECOVER | DB_PRIVATE,
		 0600)) != 0)
		goto fail;
	if ((r = db_create(&db_pen, db_env, 0)) != 0 ||
	    (r = db_pen->open(db_pen, NULL, "penalty.db", NULL, DB_BTREE,
		 DB_CREATE | DB_AUTO_COMMIT, 0600)) != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, sizeof(err), "%s/penalty.db: %s", dir, db_strerror(r));
	*error_r = err;
	return -1;
}

void
authd_db_put(const void *key, size_t klen, const struct authd_rec *rec)
{
	DBT k, v;
	int r;

	if (db_pen == NULL)
		return;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)key;
	k.size = (u_int32_t)klen;
	v.data = (void *)rec;
	v.size = sizeof(*rec);
	if ((r = db_pen->put(db_pen, NULL, &k, &v, DB_AUTO_COMMIT)) != 0)
		db_warn("write", r);
}

void
authd_db_del(const void *key, size_t klen)
{
	DBT k;
	int r;

	if (db_pen == NULL)
		return;
	memset(&k, 0, sizeof(k));
	k.data = (void *)key;
	k.size = (u_int32_t)klen;
	r = db_pen->del(db_pen, NULL, &k, DB_AUTO_COMMIT);
	if (r != 0 && r != DB_NOTFOUND)
		db_warn("delete", r);
}

int
authd_db_load(
    void (*fn)(const void *key, size_t klen, const struct authd_rec *rec))
{
	struct authd_rec rec;
	DBC *c = NULL;
	DBT k, v;
	int r, n = 0;

	if (db_pen == NULL || db_pen->cursor(db_pen, NULL, &c, 0) != 0)
		return -1;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	while ((r = c->get(c, &k, &v, DB_NEXT)) == 0) {
		/* skip what an older or newer authd wrote differently */
		if (v.size != sizeof(rec))
			continue;
		memcpy(&rec, v.data, sizeof(rec));
		if (rec.version != AUTHD_REC_VERSION || k.size == 0 ||
		    k.size > 2 * AUTHPROTO_MAX_USER)
			continue;
		fn(k.data, k.size, &rec);
		n++;
	}
	c->close(c);
	if (r != DB_NOTFOUND)
		db_warn("read", r);
	return n;
}

void
authd_db_checkpoint(void)
{
	int r;

	if (db_env != NULL &&
	    (r = db_env->txn_checkpoint(db_env, 0, 0, 0)) != 0)
		db_warn("checkpoint", r);
}

/*
 * store_backup - berthctl backup and restore: a consistent copy of the
 * store made while it serves, and brought back into an empty one.
 *
 * Backup, in this order, holding the backup lock (no sweep meanwhile):
 *   1. BACKUP is removed: until step 5 the directory is unfinished;
 *   2. db/: a checkpoint, then DB_ENV->backup (Berkeley DB's hot
 *      backup: it marks the
 *      environment so that no log is removed and pages are logged
 *      whole, copies the databases, then the logs); catastrophic
 *      recovery over these logs gives the databases as of the copy's
 *      end.  Written beside as .db.new and renamed over db/;
 *   3. journal/: each user's journal, read under its flock (writers
 *      append under an exclusive one), up to the end of its lines;
 *   4. spool/: every message file the backup lacks.  Files are named by
 *      their content and never rewritten, so a file already there with
 *      the same size is the same file: a second run copies only new
 *      mail.  Files the store no longer has are removed from the backup
 *      (swept before this backup began: neither the database copy nor
 *      the journals can name them);
 *   5. one syncfs of the backup's filesystem (every file copied and
 *      every name made or removed, at once: see bk_put), then BACKUP,
 *      fsync'd, renamed into place.
 * Every journal line names a file written before its commit (a small
 * one's bytes also ride in the journal's F line), and no file is swept
 * while the lock is held, so every file the copied database or
 * journals name is in spool/.
 *
 * The store's own flushes are not what make the copy whole: writers
 * commit without flushing Berkeley DB's log and do not fsync a small
 * message file (the user's journal is the write-ahead record, flushed
 * before each answer: store_journal.c, store_redo.c).  The backup reads
 * logs, journals and files through the page cache, which holds every
 * write whether flushed or not, and makes its own copy durable: every
 * file and directory it wrote is flushed (step 5) before BACKUP is.  A command
 * is answered only after its journal lines are written, so it is in
 * the copied journal if it was answered before step 3 began.
 *
 * Restore copies the three parts into an empty configdir and partition,
 * recovers the environment catastrophically, and then makes database and
 * journals agree: a user whose journal differs from the database (it
 * changed between steps 2 and 3) is rebuilt from the journal, the later
 * copy.  The restored store is the store as of the journal copy: every
 * command acknowledged before step 3 began is in it.
 *
 * The database is copied whole at every run; it is small next to the
 * spool.  Not done here: Berkeley DB's incremental log-only update
 * (DB_BACKUP_UPDATE), which needs every log since the last run, and the
 * store removes logs at checkpoints (DB_LOG_AUTO_REMOVE).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "store_int.h"
#include "xalloc.h"

#define BACKUP_MAGIC "berth-backup\t1\n"

/* ---- the lock between backups and sweeps ---- */

int
store_backup_lock(struct store *st, int backup)
{
	char *path = xasprintf("%s/backup.lock", st->configdir);
	int fd, r;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	free(path);
	if (fd < 0)
		return -1;
	do
		r = flock(fd, backup ? LOCK_SH : LOCK_EX | LOCK_NB);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		r = errno == EWOULDBLOCK ? -2 : -1;
		close(fd);
		return r;
	}
	return fd;
}

void
store_backup_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* ---- files ---- */

static int
bk_rm_one(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	(void)sb;
	(void)f;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* bk_rm_rf - remove path and all it holds (missing: fine) */
static int
bk_rm_rf(const char *path)
{
	if (access(path, F_OK) != 0)
		return 0;
	return nftw(path, bk_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
bk_fsync_one(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	int fd, r;

	(void)sb;
	(void)f;
	if (type != FTW_F && type != FTW_DP)
		return 0;
	fd = open(path,
	    O_RDONLY | O_CLOEXEC | (type == FTW_DP ? O_DIRECTORY : 0));
	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* bk_fsync_tree - every file and directory under path made durable */
static int
bk_fsync_tree(const char *path)
{
	return nftw(path, bk_fsync_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* bk_copy_fd - len bytes of in into out, in the kernel where it can */
static int
bk_copy_fd(int in, int out, unsigned long long len)
{
	char buf[65536];
	ssize_t n;

	while (len > 0) {
		n = copy_file_range(in, NULL, out, NULL,
		    len > (1 << 30) ? (size_t)1 << 30 : (size_t)len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 &&
		    (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
			errno == EOPNOTSUPP))
			break;
		if (n <= 0)
			return -1;
		len -= (unsigned long long)n;
	}
	while (len > 0) {
		n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || store_file_write_all(out, buf, (size_t)n, -1) < 0)
			return -1;
		len -= (unsigned long long)n;
	}
	return 0;
}

/*
 * bk_put - write data (or the first len bytes of in) to dst through a
 * temp name, renamed.  Data written here (a journal, BACKUP) is fsync'd
 * now; a copied file (in >= 0) is left to bk_syncfs: one syncfs after
 * every file is in place instead of a flush per file, which for a spool
 * of 100,000 messages was most of a backup's and a restore's time.
 */
static int
bk_put(const char *dst, int in, const char *data, unsigned long long len)
{
	char *tmp = xasprintf("%s.tmp", dst);
	int out, r;

	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (out < 0) {
		free(tmp);
		return -1;
	}
	r = in >= 0 ? bk_copy_fd(in, out, len)
		    : store_file_write_all(out, data, (size_t)len, -1);
	if (r == 0 && in < 0)
		r = fsync(out);
	if (close(out) < 0)
		r = -1;
	if (r == 0)
		r = rename(tmp, dst);
	if (r < 0) {
		int e = errno;

		unlink(tmp);
		errno = e;
	}
	free(tmp);
	return r;
}

/* bk_copy - the file src to dst; *bytes_r += its size */
static int
bk_copy(const char *src, const char *dst, unsigned long long *bytes_r)
{
	struct stat sb;
	int in, r;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((r = fstat(in, &sb)) == 0)
		r = bk_put(dst, in, NULL, (unsigned long long)sb.st_size);
	if (r == 0 && bytes_r != NULL)
		*bytes_r += (unsigned long long)sb.st_size;
	close(in);
	return r;
}

/* bk_copy_dir - every plain file of src (not named .*) into dst, made
 * if missing */
static int
bk_copy_dir(const char *src, const char *dst, unsigned long long *bytes_r,
    unsigned *n_r)
{
	struct dirent *de;
	char *a, *b;
	DIR *d;
	int r = 0;

	if (store_file_mkdirs(dst) < 0)
		return -1;
	if ((d = opendir(src)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		a = xasprintf("%s/%s", src, de->d_name);
		b = xasprintf("%s/%s", dst, de->d_name);
		r = bk_copy(a, b, bytes_r);
		if (r == 0 && n_r != NULL)
			(*n_r)++;
		free(a);
		free(b);
	}
	closedir(d);
	return r; /* made durable by bk_syncfs */
}

/* bk_syncfs - everything written to the filesystem of path so far made
 * durable: the files bk_put copied and the directory entries made or
 * removed (syncfs reports a failed writeback since Linux 5.8) */
static int
bk_syncfs(const char *path)
{
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	r = syncfs(fd);
	close(fd);
	return r;
}

/* ---- backup ---- */

/*
 * bk_journal - user journal src copied to dst: its lines as they are
 * under the journal's lock, from the file now at src (not one a
 * compaction replaced meanwhile)
 */
static int
bk_journal(const char *src, const char *dst, unsigned long long *bytes_r)
{
	struct stat a, b;
	struct buf text = BUF_INIT;
	char chunk[65536], *z;
	ssize_t n;
	int fd, tries, r = -1;

	for (tries = 0; tries < 100; tries++) {
		if ((fd = open(src, O_RDONLY | O_CLOEXEC)) < 0)
			return errno == ENOENT ? 0 : -1;
		if (flock(fd, LOCK_SH) < 0 || fstat(fd, &a) < 0) {
			close(fd);
			return -1;
		}
		if (stat(src, &b) == 0 && a.st_ino == b.st_ino)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		errno = EAGAIN;
		return -1;
	}
	/* the lines end at the first NUL (zeros written ahead) */
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		z = memchr(chunk, '\0', (size_t)n);
		buf_append(&text, chunk, z ? (size_t)(z - chunk) : (size_t)n);
		if (z != NULL)
			break;
	}
	close(fd);
	if (n >= 0) {
		r = bk_put(dst, -1, text.data ? text.data : "", text.len);
		*bytes_r += text.len;
	}
	buf_free(&text);
	return r;
}

static int
bk_journals(struct store *st, const char *dir, struct store_backup_stats *bs)
{
	char *src = xasprintf("%s/journal", st->partdir);
	char *tmp = xasprintf("%s/.journal.new", dir);
	char *dst = xasprintf("%s/journal", dir), *a, *b;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (bk_rm_rf(tmp) < 0 || store_file_mkdirs(tmp) < 0) {
		r = -1;
		goto out;
	}
	if ((d = opendir(src)) != NULL) {
		while (r == 0 && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue; /* compaction's temp files */
			a = xasprintf("%s/%s", src, de->d_name);
			b = xasprintf("%s/%s", tmp, de->d_name);
			r = bk_journal(a, b, &bs->journal_bytes);
			bs->journals++;
			free(a);
			free(b);
		}
		closedir(d);
	} else if (errno != ENOENT) {
		r = -1;
	}
	if (r == 0 &&
	    (store_fsync_dir(tmp) < 0 || bk_rm_rf(dst) < 0 ||
		rename(tmp, dst) < 0))
		r = -1;
out:
	free(src);
	free(tmp);
	free(dst);
	return r;
}

/* bk_spool_dir - fan-out directory sub of the spool: new files copied,
 * files the store no longer has removed */
static int
bk_spool_dir(const char *live, const char *copy, const volatile int *stop,
    struct store_backup_stats *bs)
{
	struct stat ls, cs;
	struct dirent *de;
	char *a, *b;
	DIR *d;
	int r = 0;

	if ((d = opendir(live)) == NULL)
		return errno == ENOENT ? 0 : -1;
	if (store_file_mkdirs(copy) < 0) {
		closedir(d);
		return -1;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 40)
			continue;
		if (stop != NULL && *stop) {
			errno = EINTR;
			r = -1;
			break;
		}
		a = xasprintf("%s/%s", live, de->d_name);
		b = xasprintf("%s/%s", copy, de->d_name);
		if (stat(a, &ls) < 0) {
			r = errno == ENOENT ? 0 : -1;
		} else if (stat(b, &cs) == 0 && cs.st_size == ls.st_size) {
			bs->kept++;
			bs->kept_bytes += (unsigned long long)ls.st_size;
		} else if ((r = bk_copy(a, b, &bs->copied_bytes)) == 0) {
			bs->copied++;
		}
		free(a);
		free(b);
	}
	closedir(d);
	if (r < 0 || (d = opendir(copy)) == NULL)
		return r;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		a = xasprintf("%s/%s", live, de->d_name);
		b = xasprintf("%s/%s", copy, de->d_name);
		/* swept before the backup began, or a temp file a killed
		 * run left */
		if (strlen(de->d_name) != 40 || access(a, F_OK) != 0) {
			if (unlink(b) == 0 && strlen(de->d_name) == 40)
				bs->removed++;
		}
		free(a);
		free(b);
	}
	closedir(d);
	return 0; /* the files and names: bk_syncfs */
}

static int
bk_spool(struct store *st, const char *dir, const volatile int *stop,
    struct store_backup_stats *bs)
{
	char *live, *copy;
	int i, r = 0;

	for (i = 0; i < 256 && r == 0; i++) {
		live = xasprintf("%s/%02x", st->partdir, i);
		copy = xasprintf("%s/spool/%02x", dir, i);
		r = bk_spool_dir(live, copy, stop, bs);
		free(live);
		free(copy);
	}
	return r;
}

/* bk_db - the environment's hot backup into dir/db */
static int
bk_db(struct store *st, const char *dir, struct store_backup_stats *bs,
    const char **error_r)
{
	char *tmp = xasprintf("%s/.db.new", dir);
	char *dst = xasprintf("%s/db", dir), *p;
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int r;

	if (bk_rm_rf(tmp) < 0) {
		r = store_fail(st, error_r, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	/* as db_hotbackup -c: a checkpoint first, so that the logs copied
	 * (and replayed at restore) are only those since */
	if ((r = st->env->txn_checkpoint(st->env, 0, 0, 0)) != 0) {
		r = store_dberr(st, error_r, "checkpoint", r);
		goto out;
	}
	if ((r = st->env->backup(st->env, tmp, DB_CREATE | DB_BACKUP_CLEAN)) !=
	    0) {
		r = store_dberr(st, error_r, "hot backup", r);
		goto out;
	}
	if (bk_fsync_tree(tmp) < 0 || bk_rm_rf(dst) < 0 ||
	    rename(tmp, dst) < 0) {
		r = store_fail(st, error_r, "%s: %s", dst, strerror(errno));
		goto out;
	}
	if ((d = opendir(dst)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			p = xasprintf("%s/%s", dst, de->d_name);
			if (de->d_name[0] != '.' && stat(p, &sb) == 0)
				bs->db_bytes += (unsigned long long)sb.st_size;
			free(p);
		}
		closedir(d);
	}
out:
	free(tmp);
	free(dst);
	return r;
}

int
store_backup(struct store *st, const char *dir, const volatile int *stop,
    struct store_backup_stats *bs, const char **error_r)
{
	struct buf man = BUF_INIT;
	char *path;
	int lock, r = -1;

	memset(bs, 0, sizeof(*bs));
	path = xasprintf("%s/BACKUP", dir);
	if (store_file_mkdirs(dir) < 0 ||
	    (unlink(path) < 0 && errno != ENOENT) || store_fsync_dir(dir) < 0) {
		store_fail(st, error_r, "%s: %s", dir, strerror(errno));
		free(path);
		return -1;
	}
	if ((lock = store_backup_lock(st, 1)) < 0) {
		store_fail(st, error_r, "%s/backup.lock: %s", st->configdir,
		    strerror(errno));
		free(path);
		return -1;
	}
	if (bk_db(st, dir, bs, error_r) < 0)
		goto out;
	if (bk_journals(st, dir, bs) < 0) {
		store_fail(st, error_r, "journals: %s", strerror(errno));
		goto out;
	}
	if (bk_spool(st, dir, stop, bs) < 0) {
		store_fail(st, error_r, "message files: %s",
		    errno == EINTR ? "interrupted" : strerror(errno));
		goto out;
	}
	if (bk_syncfs(dir) < 0) {
		store_fail(st, error_r, "syncfs %s: %s", dir, strerror(errno));
		goto out;
	}
	buf_printf(&man, "%stime=%lld\njournals=%u\nfiles=%llu\nbytes=%llu\n",
	    BACKUP_MAGIC, (long long)time(NULL), bs->journals,
	    bs->copied + bs->kept, bs->copied_bytes + bs->kept_bytes);
	if (bk_put(path, -1, man.data, man.len) < 0 ||
	    store_fsync_dir(dir) < 0) {
		store_fail(st, error_r, "%s: %s", path, strerror(errno));
		goto out;
	}
	r = 0;
out:
	store_backup_unlock(lock);
	buf_free(&man);
	free(path);
	return r;
}

/* ---- restore ---- */

/* rs_has - does directory path hold an entry that match() accepts? */
static int
rs_has(const char *path, int (*match)(const char *))
{
	struct dirent *de;
	DIR *d;
	int found = 0;

	if ((d = opendir(path)) == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL)
		found = match(de->d_name);
	closedir(d);
	return found;
}

static int
rs_is_db(const char *name)
{
	size_t n = strlen(name);

	return (n > 3 && strcmp(name + n - 3, ".db") == 0) ||
	    strncmp(name, "log.", 4) == 0;
}

static int
rs_is_msg(const char *name)
{
	return strlen(name) == 40;
}

static int
rs_is_entry(const char *name)
{
	return name[0] != '.';
}

/* rs_empty - do configdir and partdir hold no database and no mail? */
static int
rs_empty(const char *configdir, const char *partdir, struct err *err)
{
	char *p;
	int i, full;

	p = xasprintf("%s/db", configdir);
	full = rs_has(p, rs_is_db);
	free(p);
	if (full)
		return err_set(err,
		    "%s/db holds a database: restore only "
		    "into an empty store",
		    configdir);
	p = xasprintf("%s/journal", partdir);
	full = rs_has(p, rs_is_entry);
	free(p);
	for (i = 0; i < 256 && !full; i++) {
		p = xasprintf("%s/%02x", partdir, i);
		full = rs_has(p, rs_is_msg);
		free(p);
	}
	if (full)
		return err_set(err,
		    "%s holds mail: restore only into an "
		    "empty store",
		    partdir);
	return 0;
}

/* rs_copy - the backup's parts into the store's directories */
static int
rs_copy(const char *configdir, const char *partdir, const char *dir,
    struct err *err)
{
	char *a, *b;
	unsigned long long bytes = 0;
	int i, r;

	a = xasprintf("%s/db", dir);
	b = xasprintf("%s/db", configdir);
	r = bk_copy_dir(a, b, &bytes, NULL);
	free(a);
	free(b);
	/* a commit log left here describes journals that are not these */
	a = xasprintf("%s/journal/.wal", partdir);
	if (unlink(a) < 0 && errno != ENOENT)
		r = -1;
	free(a);
	a = xasprintf("%s/journal", dir);
	b = xasprintf("%s/journal", partdir);
	if (r == 0)
		r = bk_copy_dir(a, b, &bytes, NULL);
	free(a);
	free(b);
	for (i = 0; i < 256 && r == 0; i++) {
		a = xasprintf("%s/spool/%02x", dir, i);
		b = xasprintf("%s/%02x", partdir, i);
		if (access(a, F_OK) == 0)
			r = bk_copy_dir(a, b, &bytes, NULL);
		free(a);
		free(b);
	}
	if (r == 0 && (bk_syncfs(partdir) < 0 || bk_syncfs(configdir) < 0))
		r = -1;
	if (r < 0)
		return err_set(err, "copy from %s: %s", dir, strerror(errno));
	return 0;
}

static void
rs_count(const char *line, void *ctx)
{
	(void)line;
	(*(int *)ctx)++;
}

/* rs_agree - rebuild from its journal each user whose database records
 * differ from it */
static int
rs_agree(struct store *st, store_report_fn *fn, void *ctx, const char **error_r)
{
	char **ju, **du, line[1200];
	size_t nj, nd, i = 0, j = 0;
	const char *user;
	int c, diffs, r = 0;

	if (store_jnl_users(st, &ju, &nj) < 0)
		return store_fail(st, error_r, "journals: %s", strerror(errno));
	if (store_users(st, &du, &nd, error_r) < 0) {
		store_names_free(ju, nj);
		return -1;
	}
	/* both sorted: every user of either, once */
	while (r == 0 && (i < nj || j < nd)) {
		c = i >= nj ? 1 : j >= nd ? -1 : strcmp(ju[i], du[j]);
		user = c <= 0 ? ju[i] : du[j];
		diffs = 0;
		if ((r = store_check(st, user, rs_count, &diffs, error_r)) < 0)
			break;
		if (diffs > 0) {
			snprintf(line, sizeof(line),
			    "restore user=%.1000s "
			    "changed while the backup ran: rebuilt from its "
			    "journal",
			    user);
			fn(line, ctx);
			r = store_reconstruct(st, user, NULL, 0, fn, ctx,
			    error_r);
			r = r < 0 ? -1 : 0;
		}
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	store_names_free(ju, nj);
	store_names_free(du, nd);
	return r;
}

int
store_restore(const char *configdir, const char *partdir, const char *dir,
    store_report_fn *fn, void *ctx, struct err *err)
{
	struct store *st;
	struct err oerr;
	const char *error;
	char head[sizeof(BACKUP_MAGIC)], *path;
	int fd, r, diffs = 0;
	ssize_t n;

	path = xasprintf("%s/BACKUP", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, head, sizeof(head) - 1) : -1;
	if (fd >= 0)
		close(fd);
	free(path);
	if (n != (ssize_t)sizeof(head) - 1 ||
	    memcmp(head, BACKUP_MAGIC, sizeof(head) - 1) != 0)
		return err_set(err,
		    "%s is not a finished backup (no "
		    "BACKUP file in it)",
		    dir);
	if (rs_empty(configdir, partdir, err) < 0)
		return -1;
	path = xasprintf("%s/db", configdir);
	r = store_file_mkdirs(path);
	free(path);
	if (r < 0 || store_file_mkdirs(partdir) < 0)
		return err_set(err, "%s: %s", configdir, strerror(errno));
	if (rs_copy(configdir, partdir, dir, err) < 0)
		return -1;
	if ((r = store_open(configdir, partdir,
		 STORE_OPEN_CREATE | STORE_OPEN_RESTORE, &st, &oerr)) < 0)
		return err_set(err,
		    "recovery of the copied environment: "
		    "%s",
		    oerr.msg);
	r = rs_agree(st, fn, ctx, &error);
	if (r == 0 && (r = store_check(st, NULL, fn, ctx, &error)) > 0)
		diffs = r;
	if (r < 0)
		err_set(err, "%s", error);
	store_close(&st);
	if (r < 0)
		return -1;
	if (diffs > 0)
		return err_set(err,
		    "%d differences between database and "
		    "journals remain (see above)",
		    diffs);
	return 0;
}

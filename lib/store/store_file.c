/*
 * store_file - content-addressed message files under the partition:
 * <partition>/<g0g1>/<sha1>.  Writes go to <partition>/tmp and are
 * renamed into place; a large message's file is fsync'd and so is its
 * directory, a small one's bytes are made durable by the journal's F
 * line instead (STORE_INLINE_MAX, store_int.h).  Never touches the
 * database except to ask, when sweeping, whether a file is referenced.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"
#include "xalloc.h"

char *
store_file_path(struct store *st, const char *guid)
{
	return xasprintf("%s/%.2s/%s", st->partdir, guid, guid);
}

int
store_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

int
store_file_mkdirs(const char *path)
{
	char *p = xstrdup(path), *s;
	int r = 0;

	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0750) < 0 && errno != EEXIST)
			r = -1;
		*s = '/';
	}
	if (mkdir(p, 0750) < 0 && errno != EEXIST)
		r = -1;
	free(p);
	return r;
}

int
store_file_fanout(struct store *st, const char *dir, const char **error_r)
{
	if (mkdir(dir, 0750) == 0) {
		/* a new directory entry: durable before a file in it is */
		if (store_fsync_dir(st->partdir) < 0)
			return store_fail(st, error_r, "fsync %s: %s",
			    st->partdir, strerror(errno));
	} else if (errno != EEXIST) {
		return store_fail(st, error_r, "mkdir %s: %s", dir,
		    strerror(errno));
	}
	return 0;
}

/*
 * store_file_dirs - the 256 fan-out directories, made once and made
 * durable (the partition fsync'd) before any message goes in, so that a
 * message's file is never lost with a directory a crash took away.
 * "ff" is made last: when it exists, all do.
 */
int
store_file_dirs(struct store *st, const char **error_r)
{
	char *dir;
	int i, made = 0;

	dir = xasprintf("%s/ff", st->partdir);
	if (access(dir, F_OK) == 0) {
		free(dir);
		return 0;
	}
	free(dir);
	for (i = 0; i < 256; i++) {
		dir = xasprintf("%s/%02x", st->partdir, i);
		if (mkdir(dir, 0750) == 0)
			made = 1;
		else if (errno != EEXIST) {
			store_fail(st, error_r, "mkdir %s: %s", dir,
			    strerror(errno));
			free(dir);
			return -1;
		}
		free(dir);
	}
	if (made && store_fsync_dir(st->partdir) < 0)
		return store_fail(st, error_r, "fsync %s: %s", st->partdir,
		    strerror(errno));
	return 0;
}

void
store_sha1_hex(const char *data, size_t len, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	EVP_Digest(data, len, md, &mdlen, EVP_sha1(), NULL);
	for (i = 0; i < mdlen && i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[40] = '\0';
}

/*
 * store_file_warm - the first digest in a process loads OpenSSL's
 * providers (about 1.5 ms here): done when the store opens, before the
 * worker is ready, not inside a client's first APPEND, where fifty fresh
 * workers appending at once paid it together.
 */
void
store_file_warm(void)
{
	char guid[41];

	store_sha1_hex("", 0, guid);
}

int
store_file_write_all(int fd, const char *data, size_t len, off_t off)
{
	ssize_t n;

	while (len > 0) {
		n = off < 0 ? write(fd, data, len) : pwrite(fd, data, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

int
store_file_place(struct store *st, const char *tmp, const char *guid, int sync,
    const char **error_r)
{
	char *path = store_file_path(st, guid);
	char *dir = xasprintf("%s/%.2s", st->partdir, guid);
	int r = -1;

	/* made at open; again here only if someone removed it */
	if (store_file_fanout(st, dir, error_r) < 0)
		goto out;
	if (rename(tmp, path) < 0) {
		store_fail(st, error_r, "rename %s: %s", path, strerror(errno));
		goto out;
	}
	if (sync && store_fsync_dir(dir) < 0) {
		store_fail(st, error_r, "fsync %s: %s", dir, strerror(errno));
		goto out;
	}
	r = 0;
out:
	free(dir);
	free(path);
	return r;
}

/* store_file_write - data under guid's name through a temp file; sync:
 * the file and the directory fsync'd (else the journal's F line makes
 * the bytes durable) */
static int
store_file_write(struct store *st, const char *guid, const char *data,
    size_t len, int sync, const char **error_r)
{
	char *tmp;
	int fd, r = -1;

	tmp = xasprintf("%s/tmp/%d.%s", st->partdir, (int)getpid(), guid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		store_fail(st, error_r, "create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (store_file_write_all(fd, data, len, -1) < 0 ||
	    (sync && fsync(fd) < 0)) {
		store_fail(st, error_r, "write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (store_file_place(st, tmp, guid, sync, error_r) < 0) {
		unlink(tmp);
		goto out;
	}
	r = 0;
out:
	free(tmp);
	return r;
}

int
store_file_restore(struct store *st, const char *guid, const char *data,
    size_t len, const char **error_r)
{
	return store_file_write(st, guid, data, len, 1, error_r);
}

int
store_file_put(struct store *st, const char *data, size_t len, char guid_r[41],
    const char **error_r)
{
	char *path;
	int r;

	store_sha1_hex(data, len, guid_r);
	path = store_file_path(st, guid_r);
	if (utimensat(AT_FDCWD, path, NULL, 0) == 0) {
		/* the same bytes are already stored; the fresh mtime keeps a
		 * concurrent sweep from taking the file before our record
		 * commits */
		free(path);
		return 0;
	}
	free(path);
	r = store_file_write(st, guid_r, data, len, !store_file_inline(len),
	    error_r);
	return r;
}

/* store_file_referenced - does refs hold guid? */
static int
store_file_referenced(struct store *st, const char *guid)
{
	DBT k, v;
	uint32_t n = 0;

	store_dbt_key(&k, &v, guid, 40);
	v.data = &n;
	v.ulen = sizeof(n);
	v.flags = DB_DBT_USERMEM;
	return st->refs->get(st->refs, NULL, &k, &v, DB_READ_UNCOMMITTED) ==
	    0 &&
	    n > 0;
}

/* store_file_old - was path last touched more than min_age seconds ago? */
static int
store_file_old(const char *path, long min_age)
{
	struct stat sb;

	if (min_age <= 0)
		return 1;
	return stat(path, &sb) == 0 && sb.st_mtime + min_age < time(NULL);
}

int
store_file_any(struct store *st)
{
	char *sub;
	DIR *d;
	struct dirent *de;
	int i, found = 0;

	for (i = 0; i < 256 && !found; i++) {
		sub = xasprintf("%s/%02x", st->partdir, i);
		if ((d = opendir(sub)) != NULL) {
			while (!found && (de = readdir(d)) != NULL)
				found = strlen(de->d_name) == 40;
			closedir(d);
		}
		free(sub);
	}
	sub = xasprintf("%s/journal", st->partdir);
	if (!found && (d = opendir(sub)) != NULL) {
		while (!found && (de = readdir(d)) != NULL)
			found = de->d_name[0] != '.';
		closedir(d);
	}
	free(sub);
	return found;
}

int
store_gone_add(struct store *st, DB_TXN *txn, const char *guid)
{
	char key[sizeof(STORE_GONE_PREFIX) + 40];
	int64_t now = (int64_t)time(NULL);
	DBT k, v;

	if (st->nogone)
		return 0;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	snprintf(key, sizeof(key), "%s%.40s", STORE_GONE_PREFIX, guid);
	k.data = key;
	k.size = (uint32_t)strlen(key);
	v.data = &now;
	v.size = sizeof(now);
	return st->meta->put(st->meta, txn, &k, &v, 0);
}

/* store_gone_list - the guids of the gone list (malloc'ed, 41 each) */
static int
store_gone_list(struct store *st, char (**guids_r)[41], size_t *n_r)
{
	char key[sizeof(STORE_GONE_PREFIX) + 40];
	size_t pl = strlen(STORE_GONE_PREFIX);
	DBC *c;
	DBT k, v;
	int r;

	*guids_r = NULL;
	*n_r = 0;
	if ((r = st->meta->cursor(st->meta, NULL, &c, DB_READ_COMMITTED)) != 0)
		return r;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	snprintf(key, sizeof(key), "%s", STORE_GONE_PREFIX);
	k.data = key;
	k.size = (uint32_t)pl;
	k.ulen = sizeof(key);
	k.flags = DB_DBT_USERMEM;
	for (r = c->get(c, &k, &v, DB_SET_RANGE); r == 0;
	     r = c->get(c, &k, &v, DB_NEXT)) {
		if (k.size != pl + 40 ||
		    memcmp(key, STORE_GONE_PREFIX, pl) != 0)
			break;
		*guids_r = xreallocarray(*guids_r, *n_r + 1, sizeof(**guids_r));
		memcpy((*guids_r)[*n_r], key + pl, 40);
		(*guids_r)[(*n_r)++][40] = '\0';
	}
	c->close(c);
	return r == DB_NOTFOUND || r == 0 ? 0 : r;
}

/* store_gone_del - forget guid in the gone list */
static void
store_gone_del(struct store *st, const char *guid)
{
	char key[sizeof(STORE_GONE_PREFIX) + 40];
	DBT k;

	memset(&k, 0, sizeof(k));
	snprintf(key, sizeof(key), "%s%.40s", STORE_GONE_PREFIX, guid);
	k.data = key;
	k.size = (uint32_t)strlen(key);
	(void)st->meta->del(st->meta, NULL, &k, DB_AUTO_COMMIT);
}

/*
 * store_file_sweep - temp files a crash left, and the files the gone
 * list names: those whose last record this database removed (expunge,
 * DELETE) and that nothing references again.  A file the database never
 * knew is never touched, whatever state the database is in: a new,
 * partial or rebuilt environment has an empty gone list.
 */
int
store_file_sweep(struct store *st, long min_age, const char **error_r)
{
	char *sub, *path, (*gone)[41];
	size_t n, i;
	DIR *d;
	struct dirent *de;
	int swept = 0, r, lock;

	/* temp files are never referenced: a crash left them */
	sub = xasprintf("%s/tmp", st->partdir);
	if ((d = opendir(sub)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			path = xasprintf("%s/%s", sub, de->d_name);
			if (store_file_old(path, min_age) && unlink(path) == 0)
				swept++;
			free(path);
		}
		closedir(d);
	}
	free(sub);
	/* a backup copying the spool needs every file its database copy
	 * names: no file of the gone list goes while one runs */
	if ((lock = store_backup_lock(st, 0)) == -2)
		return swept;
	if ((r = store_gone_list(st, &gone, &n)) != 0) {
		store_backup_unlock(lock);
		return store_fail(st, error_r, "gone list: %s", db_strerror(r));
	}
	for (i = 0; i < n; i++) {
		if (store_file_referenced(st, gone[i])) {
			/* delivered or copied again since */
			store_gone_del(st, gone[i]);
			continue;
		}
		path = store_file_path(st, gone[i]);
		if (!store_file_old(path, min_age)) {
			free(path);
			continue;
		}
		if (unlink(path) == 0)
			swept++;
		if (access(path, F_OK) != 0)
			store_gone_del(st, gone[i]);
		free(path);
	}
	free(gone);
	store_backup_unlock(lock);
	return swept;
}

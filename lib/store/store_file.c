/*
 * store_file - content-addressed message files under the partition:
 * <partition>/<g0g1>/<sha1>.  Writes go to <partition>/tmp, are fsync'd,
 * then linked into place and the directory fsync'd.  Never touches the
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

/* store_write_all - write and fsync data to fd */
static int
store_write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return fsync(fd);
}

int
store_file_put(struct store *st, const char *data, size_t len,
    char guid_r[41], const char **error_r)
{
	char *tmp, *dir, *path;
	int fd, r = -1;

	store_sha1_hex(data, len, guid_r);
	path = store_file_path(st, guid_r);
	dir = xasprintf("%s/%.2s", st->partdir, guid_r);
	tmp = xasprintf("%s/tmp/%d.%s", st->partdir, (int)getpid(), guid_r);
	if (utimensat(AT_FDCWD, path, NULL, 0) == 0) {
		/* the same bytes are already stored; the fresh mtime keeps a
		 * concurrent sweep from taking the file before our record
		 * commits */
		r = 0;
		goto out;
	}
	/* made at open; again here only if someone removed it */
	if (mkdir(dir, 0750) == 0) {
		if (store_fsync_dir(st->partdir) < 0) {
			store_fail(st, error_r, "fsync %s: %s", st->partdir,
			    strerror(errno));
			goto out;
		}
	} else if (errno != EEXIST) {
		store_fail(st, error_r, "mkdir %s: %s", dir, strerror(errno));
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		store_fail(st, error_r, "create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (store_write_all(fd, data, len) < 0) {
		store_fail(st, error_r, "write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		store_fail(st, error_r, "rename %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (store_fsync_dir(dir) < 0) {
		store_fail(st, error_r, "fsync %s: %s", dir, strerror(errno));
		goto out;
	}
	r = 0;
out:
	free(tmp);
	free(dir);
	free(path);
	return r;
}

/* store_file_referenced - does refs hold guid? */
static int
store_file_referenced(struct store *st, const char *guid)
{
	DBT k, v;
	uint32_t n = 0;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)guid;
	k.size = 40;
	v.data = &n;
	v.ulen = sizeof(n);
	v.flags = DB_DBT_USERMEM;
	return st->refs->get(st->refs, NULL, &k, &v, DB_READ_UNCOMMITTED) ==
	    0 && n > 0;
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
store_file_sweep(struct store *st, long min_age, const char **error_r)
{
	char *sub, *path;
	DIR *d, *sd;
	struct dirent *de, *se;
	int swept = 0;

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
	if ((d = opendir(st->partdir)) == NULL)
		return store_fail(st, error_r, "opendir %s: %s", st->partdir,
		    strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 2)
			continue;
		sub = xasprintf("%s/%s", st->partdir, de->d_name);
		if ((sd = opendir(sub)) != NULL) {
			while ((se = readdir(sd)) != NULL) {
				if (strlen(se->d_name) != 40 ||
				    store_file_referenced(st, se->d_name))
					continue;
				path = xasprintf("%s/%s", sub, se->d_name);
				if (store_file_old(path, min_age) &&
				    unlink(path) == 0)
					swept++;
				free(path);
			}
			closedir(sd);
		}
		free(sub);
	}
	closedir(d);
	return swept;
}

/*
 * lockslot - counted slots as flocks on files that exist only while held
 * (see lockslot.h for the protocol and why unlinking is safe).
 *
 * Owns the files of its directory and nothing else; the caller chooses
 * the directory, the prefixes (file-name-safe) and the counts.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd.h"
#include "lockslot.h"
#include "xalloc.h"

/* a name unlinked under us again and again: give up on it (errno EAGAIN) */
#define LOCKSLOT_RETRIES 100

/* lockslot_lock_path - flock the file path names now, without waiting:
 * its fd (the name still leads to it), -1 with errno EWOULDBLOCK when
 * someone holds it, else an error */
static int
lockslot_lock_path(const char *path, int create)
{
	struct stat fs, ps;
	int fd, i;

	for (i = 0; i < LOCKSLOT_RETRIES; i++) {
		fd = open(path,
		    O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0),
		    0600);
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;

			fd_close(fd);
			errno = e;
			return -1;
		}
		/* released (unlinked) between our open and our flock? */
		if (fstat(fd, &fs) == 0 && stat(path, &ps) == 0 &&
		    fs.st_dev == ps.st_dev && fs.st_ino == ps.st_ino)
			return fd;
		fd_close(fd);
		if (!create) {
			errno = ENOENT;
			return -1;
		}
	}
	errno = EAGAIN;
	return -1;
}

int
lockslot_take(const char *dir, const char *prefix, int max, char **path_r)
{
	char *path;
	int fd, i;

	*path_r = NULL;
	for (i = 0; i < max; i++) {
		path = xasprintf("%s/%s.%d", dir, prefix, i);
		fd = lockslot_lock_path(path, 1);
		if (fd >= 0) {
			*path_r = path;
			return fd;
		}
		free(path);
		if (errno != EWOULDBLOCK)
			return -1;
	}
	errno = 0;
	return -1;
}

void
lockslot_release(int *fd_r, char **path_r)
{
	if (*fd_r >= 0) {
		/* still locked: a taker that opened this file before the
		 * unlink finds, once it has the lock, that the name no
		 * longer leads to it */
		if (*path_r != NULL)
			(void)unlink(*path_r);
		fd_close(*fd_r);
	}
	*fd_r = -1;
	free(*path_r);
	*path_r = NULL;
}

int
lockslot_sweep(const char *dir)
{
	struct dirent *de;
	char *path;
	DIR *d;
	int fd, n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		/* only a file no one holds; held as a slot would be, so a
		 * taker racing with us sees it gone */
		if ((fd = lockslot_lock_path(path, 0)) >= 0) {
			if (unlink(path) == 0)
				n++;
			fd_close(fd);
		}
		free(path);
	}
	closedir(d);
	return n;
}

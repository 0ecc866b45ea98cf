/*
 * master_pidfile - master_pid_file: the running master's pid, held by
 * an flock for master's whole life.
 *
 * The lock, not the pid in the file, says whether a master runs: a file
 * left by a master that was killed is taken over (its lock died with
 * it), and a live master's is refused whatever pid it names, so a reused
 * pid can neither block a start nor let a second master in.  flock (not
 * fcntl) because the lock must survive the daemonizing fork: it belongs
 * to the open file, which the child keeps.  Taken before the listeners
 * are bound, so a second master says why it cannot start instead of
 * failing to bind; the pid is written once master is the process that
 * will run (after the fork).  Removed at a clean exit (emptied when the
 * directory is not ours after dropping privileges).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"
#include "master.h"
#include "xalloc.h"

static int pidfile_fd = -1;
static char *pidfile_path;

void
master_pidfile_take(const char *path)
{
	char old[32];
	ssize_t n;

	if (path == NULL || *path == '\0')
		return;
	pidfile_fd =
	    open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (pidfile_fd < 0)
		log_fatal("master_pid_file %s: cannot open: %m", path);
	n = pread(pidfile_fd, old, sizeof(old) - 1, 0);
	old[n > 0 ? n : 0] = '\0';
	old[strcspn(old, "\n")] = '\0';
	if (flock(pidfile_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			log_fatal("another master is running: pid=%s holds "
				  "master_pid_file %s",
			    old[0] ? old : "?", path);
		log_fatal("master_pid_file %s: cannot lock: %m", path);
	}
	if (old[0] != '\0')
		log_info("master_pid_file %s: pid=%s left it and is gone; "
			 "taking it over",
		    path, old);
	pidfile_path = xstrdup(path);
	/* empty until master_pidfile_write: never the pid of a parent
	 * about to exit after the daemonizing fork */
	if (ftruncate(pidfile_fd, 0) < 0)
		log_fatal("master_pid_file %s: cannot write: %m", path);
}

void
master_pidfile_write(void)
{
	char line[32];
	int n;

	if (pidfile_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (ftruncate(pidfile_fd, 0) < 0 ||
	    pwrite(pidfile_fd, line, (size_t)n, 0) != n)
		log_fatal("master_pid_file %s: cannot write: %m", pidfile_path);
}

void
master_pidfile_remove(void)
{
	if (pidfile_fd < 0)
		return;
	/* after dropping privileges the directory may not be ours: an
	 * empty, unlocked file then says no master runs */
	if (unlink(pidfile_path) < 0 && ftruncate(pidfile_fd, 0) < 0)
		log_warn("master_pid_file %s: cannot remove: %m", pidfile_path);
	fd_close(pidfile_fd);
	pidfile_fd = -1;
}

/*
 * fd - see fd.h.
 */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"

void
fd_close(int fd)
{
	int saved = errno;

	if (fd < 0)
		return;
	if (close(fd) < 0 && errno == EBADF)
		log_warn("close fd=%d error=not-open", fd);
	errno = saved;
}

/*
 * fd - closing descriptors whose close() has nothing to tell us.
 *
 * close() on Linux releases the descriptor whatever it returns (even on
 * EINTR), so it is never retried.  Its error matters only for a file
 * whose written bytes we still count on, and those are fsync'd (and the
 * fsync checked) before they are closed, or closed with close() and the
 * result checked.  Everything else - sockets, pipes, files only read,
 * descriptors given up on an error path - goes through fd_close.
 */
#ifndef BERTH_FD_H
#define BERTH_FD_H

/* fd_close - close fd (nothing when fd < 0), keeping errno as it was, so
 * an error path may close first and report errno after; a descriptor
 * that was not open (EBADF) is our bug and is logged as a warning */
void fd_close(int fd);

#endif

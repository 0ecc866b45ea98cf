/*
 * indexd_notice - the notice socket: every writer's MessageNew changes
 * (lib/proto/notify), one kept SOCK_SEQPACKET connection per writer as
 * idled has them.  A notice only queues its user (indexd_queue); the
 * rest is read from the store then, so a notice carries no weight of its
 * own and a malformed one only closes that writer's connection.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "ev.h"
#include "fd.h"
#include "indexd.h"
#include "log.h"
#include "net.h"
#include "notify.h"
#include "xalloc.h"

struct notice_writer {
	struct ev_io io;
	struct notice_writer *prev, *next;
};

static struct ev_io notice_lio;
/* the connected writers, closed at exit (epoll holds no reference a
 * leak checker sees) */
static struct notice_writer *notice_writers;

/* notice_drop - close wr and forget it (the caller frees it) */
static void
notice_drop(struct notice_writer *wr)
{
	int fd = wr->io.fd;

	ev_io_del(&wr->io);
	fd_close(fd);
	if (wr->prev != NULL)
		wr->prev->next = wr->next;
	else
		notice_writers = wr->next;
	if (wr->next != NULL)
		wr->next->prev = wr->prev;
}

/* notice_read - notices from one writer, until its queue is empty */
static void
notice_read(struct ev_io *io, unsigned events, void *ctx)
{
	struct notice_writer *wr = ctx;
	struct notify_change c;
	char buf[NOTIFY_MAX_MSG + 1];
	ssize_t n;

	(void)events;
	for (;;) {
		n = recv(io->fd, buf, sizeof(buf), MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || (size_t)n > NOTIFY_MAX_MSG ||
		    notify_parse(buf, (size_t)n, &c) < 0) {
			if (n > 0)
				log_warn("malformed notice (%zd bytes); "
					 "closing that writer",
				    n);
			break;
		}
		log_debug("notice user=%s mailbox=%s what=%#x uidnext=%u",
		    c.user, c.name, c.m.what, c.m.uidnext);
		if ((c.m.what & NOTIFY_EV_NEW) && c.user[0] != '\0')
			indexd_queue_user(c.user);
	}
	notice_drop(wr);
	ev_defer_free(wr);
}

static void
notice_accept(struct ev_io *io, unsigned events, void *ctx)
{
	struct notice_writer *wr;
	int fd;

	(void)events;
	(void)ctx;
	while ((fd = accept4(io->fd, NULL, NULL,
		    SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		wr = xcalloc(1, sizeof(*wr));
		if (ev_io_add(&wr->io, fd, EV_READ, notice_read, wr) < 0) {
			fd_close(fd);
			free(wr);
			continue;
		}
		wr->next = notice_writers;
		if (notice_writers != NULL)
			notice_writers->prev = wr;
		notice_writers = wr;
	}
}

void
indexd_notice_close(void)
{
	struct notice_writer *wr;

	while ((wr = notice_writers) != NULL) {
		notice_drop(wr);
		free(wr);
	}
}

void
indexd_notice_init(void)
{
	const char *path = notify_index_path();
	struct err err;
	int fd = net_bind_seqpacket(path, &err);

	if (fd < 0 || listen(fd, 1024) < 0)
		log_fatal("cannot listen on %s: %s", path,
		    fd < 0 ? err.msg : strerror(errno));
	if (net_set_nonblock(fd, 1) < 0 ||
	    ev_io_add(&notice_lio, fd, EV_READ, notice_accept, NULL) < 0)
		log_fatal("cannot watch %s: %m", path);
}

/*
 * authd - berth's authentication daemon: admission, SASL logins and the
 * accounting of who holds which client connection.
 *
 * One event loop (lib/ev) over the SOCK_SEQPACKET listener, the peers
 * (authd_peer), the backend pool's eventfd (authd_pool), the request
 * deadlines (authd_sched) and, once a second, the housekeeping ticks.
 * Runs as a DAEMON of master; a restart loses only the exchanges in
 * flight (the workers answer NO [UNAVAILABLE]) and the connection
 * counts, which the holders replay when they reconnect.  Penalties are
 * kept on disk (authd_db).
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "authd.h"
#include "cfg.h"
#include "clock.h"
#include "ev.h"
#include "log.h"
#include "srv.h"
#include "xalloc.h"

long long
authd_now_ms(void)
{
	return clock_mono_ms();
}

long long
authd_wall_ms(void)
{
	return clock_wall_ms();
}

/* authd_listen - bind the worker socket */
static int
authd_listen(void)
{
	struct sockaddr_un sun;
	const char *path = authproto_socket_path();
	char *dir = xstrdup(path), *slash;
	int fd;

	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			log_fatal("mkdir %s: %m", dir);
	}
	free(dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		log_fatal("authd_socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		log_fatal("socket: %m");
	if (unlink(path) < 0 && errno != ENOENT)
		log_fatal("unlink %s: %m", path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		log_fatal("bind %s: %m", path);
	if (chmod(path, 0600) < 0)
		log_fatal("chmod %s: %m", path);
	if (listen(fd, 1024) < 0)
		log_fatal("listen %s: %m", path);
	log_info("listening on %s", path);
	return fd;
}

/* authd_tick - housekeeping, about once a second */
static void
authd_tick(long long now)
{
	static long long last;

	authd_sched_tick(now);
	if (now - last < 1000)
		return;
	last = now;
	authd_hold_tick(now);
	authd_login_tick(now);
	authd_admit_tick(now);
	authd_penalty_tick(now);
	authd_report_tick(now);
}

/* authd_on_listen - peers connecting */
static void
authd_on_listen(struct ev_io *io, unsigned events, void *ctx)
{
	(void)events;
	(void)ctx;
	authd_peer_accept(io->fd);
}

/* authd_on_pool - backend threads finished checks */
static void
authd_on_pool(struct ev_io *io, unsigned events, void *ctx)
{
	(void)io;
	(void)events;
	(void)ctx;
	authd_sched_reap();
}

int
main(int argc, char **argv)
{
	static struct ev_io lio, pio;
	int ind;

	srv_init(argc, argv, "authd", &ind);
	(void)signal(SIGPIPE, SIG_IGN);
	/* one malloc arena for the loop and one shared by the backend
	 * threads: glibc's default (eight per core) gives each busy thread
	 * its own heap, megabytes that the checks never need */
	mallopt(M_ARENA_MAX, 2);
	authd_sasl_init();
	authd_hold_init();
	authd_admit_init();
	authd_penalty_init();
	authd_pool_init();
	ev_init();
	if (ev_io_add(&lio, authd_listen(), EV_READ, authd_on_listen, NULL) <
		0 ||
	    ev_io_add(&pio, authd_pool_fd(), EV_READ, authd_on_pool, NULL) < 0)
		log_fatal("cannot watch the authd socket: %m");
	for (;;) {
		/* deadlines are checked ten times a second while busy */
		ev_run_once(authd_sched_busy() ? 100 : 1000);
		authd_peer_reap();
		authd_tick(authd_now_ms());
	}
}

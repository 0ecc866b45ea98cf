/*
 * lmtpd - the LMTP delivery worker.  Takes clients (an MTA's LMTP client:
 * Postfix's lmtp transport, Exim's lmtp transport) from the listener
 * master passed on fd 4, a Unix socket or TCP, serves one session at a
 * time, reports ready/busy on the status pipe, and exits after
 * LMTPD_MAX_USES sessions.
 *
 * Ending: SIGTERM, SIGINT and SIGHUP set a flag; a worker waiting for a
 * client exits at once, one serving a session has the client's read side
 * shut down, so the session ends at its next read (nothing half-received
 * is stored: no 250 was sent for it) and the worker exits.  The store is
 * closed on every way out this process controls; failchk (master)
 * reclaims what a process killed outright held.  master's trim
 * (SRV_TRIM_SIGNAL) is obeyed only while waiting for a client.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "err.h"
#include "fd.h"
#include "lmtpd.h"
#include "log.h"
#include "net.h"
#include "notify.h"
#include "srv.h"
#include "xalloc.h"

#define LMTPD_MAX_USES 1000

static struct store *lmtpd_store;
static volatile sig_atomic_t lmtpd_stop, lmtpd_trim, lmtpd_client_fd = -1;
static int lmtpd_wake[2] = { -1, -1 };

const char *
lmtp_hostname(void)
{
	static char host[256];
	const char *sn;

	if (host[0] == '\0') {
		if ((sn = cfg_str("servername")) != NULL && *sn)
			snprintf(host, sizeof(host), "%s", sn);
		else if (gethostname(host, sizeof(host) - 1) < 0)
			snprintf(host, sizeof(host), "localhost");
	}
	return host;
}

/* lmtpd_on_stop - SIGTERM/SIGINT/SIGHUP: async-signal-safe calls only */
static void
lmtpd_on_stop(int sig)
{
	int saved = errno, fd = lmtpd_client_fd;

	lmtpd_stop = sig;
	/* ends the session's reads; a socket already gone needs nothing */
	if (fd >= 0)
		(void)shutdown(fd, SHUT_RD);
	if (lmtpd_wake[1] >= 0)
		(void)!write(lmtpd_wake[1], "", 1);
	errno = saved;
}

/* lmtpd_on_trim - SRV_TRIM_SIGNAL: exit when next waiting for a client */
static void
lmtpd_on_trim(int sig)
{
	int saved = errno;

	(void)sig;
	lmtpd_trim = 1;
	if (lmtpd_wake[1] >= 0)
		(void)!write(lmtpd_wake[1], "", 1);
	errno = saved;
}

/* lmtpd_exit_close - atexit: as imapd's */
static void
lmtpd_exit_close(void)
{
	if (lmtpd_store != NULL && !store_busy(lmtpd_store) &&
	    !store_needs_recovery(lmtpd_store))
		store_close(&lmtpd_store);
}

static void
lmtpd_signals(void)
{
	static const int stops[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	size_t i;

	if (pipe2(lmtpd_wake, O_CLOEXEC | O_NONBLOCK) < 0)
		log_fatal("pipe: %m");
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		sigaddset(&sa.sa_mask, stops[i]);
	sa.sa_handler = lmtpd_on_stop;
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		if (sigaction(stops[i], &sa, NULL) < 0)
			log_fatal("sigaction: %m");
	sa.sa_handler = lmtpd_on_trim;
	if (sigaction(SRV_TRIM_SIGNAL, &sa, NULL) < 0)
		log_fatal("sigaction: %m");
	(void)signal(SIGPIPE, SIG_IGN);
	atexit(lmtpd_exit_close);
}

static void
lmtpd_session_run(int fd)
{
	static unsigned seq;
	struct lmtp_session s;

	memset(&s, 0, sizeof(s));
	s.fd = fd;
	s.st = lmtpd_store;
	s.spool_fd = -1;
	s.timeout_ms = cfg_duration_ms("lmtp_timeout");
	if (s.timeout_ms < 1000)
		s.timeout_ms = 1000;
	s.in = xmalloc(LMTP_IN_SIZE);
	buf_init(&s.out, 0);
	buf_init(&s.spool_buf, 0);
	snprintf(s.id, sizeof(s.id), "%llx-%d-%u",
	    (unsigned long long)time(NULL), (int)getpid(), ++seq);
	net_peer(fd, s.addr, sizeof(s.addr), &s.port);
	/* writes wait in poll, bounded, never in write(2); F_SETFL on the
	 * fd accept just gave us cannot fail */
	(void)!net_set_nonblock(fd, 1);
	lmtpd_client_fd = fd;
	/* stopping: the session ends at its next read, or already has */
	if (lmtpd_stop)
		(void)shutdown(fd, SHUT_RD);
	log_info("connect session=%s addr=%s", s.id, s.addr);
	lmtp_serve(&s);
	if (lmtpd_stop && !s.quit) {
		/* stopped by master: tell the MTA to come back */
		lmtp_reply(&s, "421 4.3.2 Service shutting down");
		s.dead = 0;
		lmtp_flush(&s);
		log_info("stopping session=%s signal=%d", s.id,
		    (int)lmtpd_stop);
	}
	lmtpd_client_fd = -1;
	log_info("disconnect session=%s addr=%s transactions=%u", s.id, s.addr,
	    s.ntx);
	free(s.rcpts);
	free(s.in);
	buf_free(&s.out);
	buf_free(&s.spool_buf);
}

/* lmtpd_accept - the next client, or -1 when a stop or trim signal came */
static int
lmtpd_accept(int lfd)
{
	struct pollfd pfd[2] = { { lfd, POLLIN, 0 },
		{ lmtpd_wake[0], POLLIN, 0 } };
	int fd;

	for (;;) {
		if (lmtpd_stop || lmtpd_trim)
			return -1;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("poll: %m");
		}
		if (lmtpd_stop || lmtpd_trim)
			return -1;
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_fatal("accept: %m");
	}
}

int
main(int argc, char **argv)
{
	const char *part;
	struct err err;
	int ind, lfd, fd, uses, r;

	srv_init(argc, argv, "lmtpd", &ind);
	lmtpd_signals();
	part = cfg_partition_path(cfg_str("defaultpartition"));
	if (part == NULL)
		log_fatal("%s: partition-%s is not set", cfg_path(),
		    cfg_str("defaultpartition"));
	if ((r = store_open(cfg_str("configdirectory"), part, STORE_OPEN_CREATE,
		 &lmtpd_store, &err)) < 0) {
		log_error("cannot open the mail store: %s", err.msg);
		exit(r == STORE_ERECOVER       ? STORE_EXIT_RECOVER
			: r == STORE_ESHORTAGE ? STORE_EXIT_SHORTAGE
					       : 1);
	}
	/* deliveries are announced to idled: parked sessions hear at once */
	store_set_event_fn(lmtpd_store, notify_store_event, NULL);
	store_quota_set_default(lmtpd_store,
	    (uint64_t)cfg_size("quota_default_storage") / 1024,
	    (uint64_t)cfg_int("quota_default_messages"));
	if ((lfd = srv_listen_fd()) < 0)
		log_fatal("no listener: run lmtpd from master");
	if (net_set_nonblock(lfd, 1) < 0)
		log_fatal("listener: %m");
	for (uses = 0; uses < LMTPD_MAX_USES && !lmtpd_stop && !lmtpd_trim;
	     uses++) {
		srv_status_send(SRV_S_READY);
		if ((fd = lmtpd_accept(lfd)) < 0)
			break;
		srv_status_send(SRV_S_BUSY);
		lmtpd_session_run(fd);
		fd_close(fd);
		if (store_needs_recovery(lmtpd_store)) {
			log_error("mail store needs recovery");
			srv_status_send(SRV_S_EXITING);
			exit(STORE_EXIT_RECOVER);
		}
	}
	srv_status_send(SRV_S_EXITING);
	store_close(&lmtpd_store);
	return 0;
}

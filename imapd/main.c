/*
 * imapd - the IMAP worker process.  Takes clients from the listener that
 * master passed on fd 4, serves one session at a time, reports
 * ready/busy on the status pipe, exits after a number of sessions.
 *
 * "imapd -C conf -s" serves one session on stdin/stdout (tests, inetd).
 *
 * Ending: the store is closed on every way out this process controls, so
 * it leaves no lockers behind (failchk, run by master, reclaims those of
 * a process killed outright).  SIGTERM, SIGINT and SIGHUP only set a flag
 * and wake the process: a worker waiting for a client (self-pipe in its
 * poll) exits at once; one serving a session has the client's read side
 * shut down, so the session ends at its next read, its client is told
 * BYE, and the worker exits.  master's trim (SRV_TRIM_SIGNAL) is obeyed
 * only while waiting for a client: one taken already is served to its
 * end, and the worker exits after it.  No Berkeley DB call runs in a
 * handler.
 * exit() from anywhere else (log_fatal) closes the store in an atexit
 * hook unless a store call is running or the store needs recovery.  The
 * watchdog (SIGALRM) tells the client BYE with write(2) and dies of the
 * signal; master then reclaims what it held with failchk.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "authclient.h"
#include "authlink.h"
#include "cfg.h"
#include "err.h"
#include "fd.h"
#include "imapd.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "notify.h"
#include "proxyp.h"
#include "snap.h"
#include "srv.h"
#include "tlsproto.h"

/*
 * A worker is replaced after IMAPD_MAX_USES logins (a user's work: SASL,
 * the store, mailbox views; what a long life could leave behind) or
 * IMAPD_MAX_SESSIONS sessions of any kind (connections that never log
 * in, parked sessions resumed for a command).  A new worker costs 30 to
 * 100 ms of CPU (exec, dynamic linking, joining the store's regions):
 * replaced every 250 greetings, that was a third of a TLS handshake's
 * server CPU.
 */
#define IMAPD_MAX_USES 250
#define IMAPD_MAX_SESSIONS 10000
#define IMAPD_WATCHDOG_GRACE_S 5 /* to leave a store transaction */
#define IMAPD_WATCHDOG_GRACES 12

static struct store *imapd_store;
/* for the signal handlers: the stop signal seen, the client being served
 * (-1: none), the self-pipe that wakes imapd_accept */
static volatile sig_atomic_t imapd_stop, imapd_trim, imapd_client_fd = -1;
/* the client's session is compressed (COMPRESS=DEFLATE): a BYE written
 * from a handler goes as a stored deflate block */
static volatile sig_atomic_t imapd_client_z;
static int imapd_wake[2] = { -1, -1 };

/* imapd_on_stop - SIGTERM/SIGINT/SIGHUP: async-signal-safe calls only */
static void
imapd_on_stop(int sig)
{
	int saved = errno, fd = imapd_client_fd;

	imapd_stop = sig;
	/* a session being handed to idled is not ours to stop: parking
	 * takes it off (imapd_client_watch) */
	if (fd >= 0)
		shutdown(fd, SHUT_RD);
	if (imapd_wake[1] >= 0)
		(void)!write(imapd_wake[1], "", 1);
	errno = saved;
}

/* imapd_on_trim - SRV_TRIM_SIGNAL: exit when next waiting for a client;
 * the client being served, if any, is not touched */
static void
imapd_on_trim(int sig)
{
	int saved = errno;

	(void)sig;
	imapd_trim = 1;
	if (imapd_wake[1] >= 0)
		(void)!write(imapd_wake[1], "", 1);
	errno = saved;
}

/*
 * imapd_on_watchdog - SIGALRM: a command made no progress for
 * IMAPD_WATCHDOG_S; tell that client and die of the signal (master sees
 * the watchdog, reclaims the lockers, and no one else is disturbed).  A
 * process that dies inside a Berkeley DB call makes failchk ask for
 * recovery, so a command caught inside a store transaction is given
 * IMAPD_WATCHDOG_GRACE_S at a time, IMAPD_WATCHDOG_GRACES times, to come
 * out of it; one still inside then is stuck in the store, and recovery
 * is what it needs.  (An alarm that comes long after the last grace is a
 * new watchdog, with graces of its own.)
 */
static void
imapd_on_watchdog(int sig)
{
	static const char bye[] =
	    "* BYE [UNAVAILABLE] command took too long\r\n";
	static volatile sig_atomic_t graces;
	static volatile time_t grace_at;
	struct timespec now;
	int fd = imapd_client_fd;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - grace_at > 2 * IMAPD_WATCHDOG_GRACE_S)
		graces = 0;
	if (store_busy(imapd_store) && graces < IMAPD_WATCHDOG_GRACES) {
		graces++;
		grace_at = now.tv_sec;
		alarm(IMAPD_WATCHDOG_GRACE_S);
		return;
	}
	if (fd >= 0 && imapd_client_z) {
		/* BFINAL 0, BTYPE 00; LEN and NLEN (snap_deflate_stored) */
		unsigned char h[5] = { 0, (sizeof(bye) - 1) & 0xff,
			(sizeof(bye) - 1) >> 8, ~(sizeof(bye) - 1) & 0xff,
			(~(sizeof(bye) - 1) >> 8) & 0xff };

		(void)!write(fd, h, sizeof(h));
	}
	if (fd >= 0)
		(void)!write(fd, bye, sizeof(bye) - 1);
	(void)signal(sig, SIG_DFL);
	raise(sig); /* delivered when this handler returns */
}

/* imapd_exit_close - atexit: close the store unless a store call is
 * under way (exit from inside it) or it needs recovery (master stops
 * everyone and recovers; closing a panicked environment helps nothing) */
static void
imapd_exit_close(void)
{
	if (imapd_store != NULL && !store_busy(imapd_store) &&
	    !store_needs_recovery(imapd_store))
		store_close(&imapd_store);
}

/* imapd_signals - the handlers above, without SA_RESTART */
static void
imapd_signals(void)
{
	static const int stops[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	size_t i;

	if (pipe2(imapd_wake, O_CLOEXEC | O_NONBLOCK) < 0)
		log_fatal("pipe: %m");
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		sigaddset(&sa.sa_mask, stops[i]);
	sa.sa_handler = imapd_on_stop;
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		sigaction(stops[i], &sa, NULL);
	sa.sa_handler = imapd_on_trim;
	sigaction(SRV_TRIM_SIGNAL, &sa, NULL);
	sa.sa_handler = imapd_on_watchdog;
	sigaction(SIGALRM, &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	atexit(imapd_exit_close);
}

int
imapd_stopping(void)
{
	return (int)imapd_stop;
}

void
imapd_client_deflated(int on)
{
	imapd_client_z = on;
}

void
imapd_client_watch(int fd)
{
	imapd_client_fd = fd;
	/* a stop that came while it was not watched */
	if (fd >= 0 && imapd_stop)
		shutdown(fd, SHUT_RD);
}

/* imapd_accept - wait for a new client (lfd) or a resumed session (hfd);
 * returns the accepted fd, *resume_r set for the latter; -1 when a stop
 * or trim signal came (a trim that comes after the accept is obeyed after
 * that session) */
static int
imapd_accept(int lfd, int hfd, int *resume_r)
{
	struct pollfd pfd[3] = { { lfd, POLLIN, 0 }, { hfd, POLLIN, 0 },
		{ imapd_wake[0], POLLIN, 0 } };
	int fd, i;

	for (;;) {
		/* the self-pipe keeps a signal between this test and poll;
		 * the test after poll leaves a client that came with the
		 * signal to another worker */
		if (imapd_stop || imapd_trim)
			return -1;
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("poll: %m");
		}
		if (imapd_stop || imapd_trim)
			return -1;
		/* resumes first: those clients are already waiting */
		for (i = hfd >= 0 ? 1 : 0; i >= 0; i--) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0) {
				*resume_r = i == 1;
				return fd;
			}
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_fatal("accept: %m");
		}
	}
}

/* imapd_refuse_one - a client that would have been served here is told
 * bye and closed (consumes fd) */
static void
imapd_refuse_one(int fd, const char *addr, uint64_t conn_id)
{
	static const char bye[] = "* BYE [UNAVAILABLE] Server busy; try "
				  "again in a moment\r\n";

	(void)!write(fd, bye, sizeof(bye) - 1);
	log_set_session(conn_id);
	log_info("refused addr=%s limit=lock_table", addr);
	fd_close(fd);
	/* a session from idled: authd counts it until someone says it
	 * went */
	if (conn_id != 0) {
		authlink_hold(conn_id, addr, "");
		authlink_closed(conn_id);
	}
}

/*
 * imapd_refuse_shortage - the store has no room for this process (lock
 * table or region full): not a reason to recover the store.  Refuse the
 * client that would have been served, if one comes within a second (on
 * the listener, or on the handoff socket: a session idled greeted or
 * held whose command came, or one from tlsd), and exit with
 * STORE_EXIT_SHORTAGE; master reclaims dead processes' lockers (failchk)
 * and forks a new worker after its back-off.
 */
static void
imapd_refuse_shortage(const char *err)
{
	struct pollfd pfd[2] = { { srv_listen_fd(), POLLIN, 0 },
		{ -1, POLLIN, 0 } };
	struct ipc_msg *tls = NULL;
	const char *handoff;
	char addr[64] = "-";
	struct snap sn;
	int fd, conn, port;

	log_error("cannot open the mail store: %s; refusing clients "
		  "limit=lock_table",
	    err);
	pfd[1].fd = srv_handoff_fd(&handoff);
	if (poll(pfd, 2, 1000) <= 0)
		exit(STORE_EXIT_SHORTAGE);
	if (pfd[0].revents != 0 &&
	    (fd = accept4(pfd[0].fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		net_peer(fd, addr, sizeof(addr), &port);
		imapd_refuse_one(fd, addr, 0);
	} else if (pfd[1].revents != 0 &&
	    (conn = accept4(pfd[1].fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		fd = imapd_park_take(conn, &sn, &tls);
		fd_close(conn);
		if (fd == IMAPD_PARK_TLS) {
			uint64_t id = 0;

			(void)!ipc_get_str(tls, TLSPROTO_ADDR, addr,
			    sizeof(addr));
			(void)!ipc_get_u64(tls, TLSPROTO_CONNID, &id);
			imapd_refuse_one(tls->fd, addr, id);
		} else if (fd >= 0)
			imapd_refuse_one(fd, sn.addr, sn.conn_id);
		snap_free(&sn);
	}
	exit(STORE_EXIT_SHORTAGE);
}

int
main(int argc, char **argv)
{
	const char *part, *handoff;
	struct err err;
	int ind, lfd, hfd, fd, uses, sessions, resume;

	srv_init(argc, argv, "imapd", &ind);
	imapd_signals();
	part = cfg_partition_path(cfg_str("defaultpartition"));
	if (part == NULL)
		log_fatal("%s: partition-%s is not set", cfg_path(),
		    cfg_str("defaultpartition"));
	switch (store_open(cfg_str("configdirectory"), part, STORE_OPEN_CREATE,
	    &imapd_store, &err)) {
	case 0:
		break;
	case STORE_ERECOVER:
		log_error("cannot open the mail store: %s", err.msg);
		exit(STORE_EXIT_RECOVER);
	case STORE_ESHORTAGE:
		imapd_refuse_shortage(err.msg);
		break;
	default:
		log_fatal("cannot open the mail store: %s", err.msg);
	}
	store_set_event_fn(imapd_store, notify_store_event, NULL);
	store_quota_set_default(imapd_store,
	    (uint64_t)cfg_size("quota_default_storage") / 1024,
	    (uint64_t)cfg_int("quota_default_messages"));
	if (ind < argc && strcmp(argv[ind], "-s") == 0) {
		imapd_session_run(imapd_store, 0);
		store_close(&imapd_store);
		return 0;
	}
	if ((lfd = srv_listen_fd()) < 0)
		log_fatal("no listener: run imapd from master, or with -s");
	/* workers share the listeners: several may wake for one client */
	if (net_set_nonblock(lfd, 1) < 0)
		log_fatal("listener: %m");
	if ((hfd = srv_handoff_fd(&handoff)) >= 0 &&
	    net_set_nonblock(hfd, 1) < 0)
		log_fatal("handoff socket: %m");
	for (uses = sessions = 0; uses < IMAPD_MAX_USES &&
	     sessions < IMAPD_MAX_SESSIONS && !imapd_stop && !imapd_trim;
	     sessions++) {
		srv_status_send(SRV_S_READY);
		if ((fd = imapd_accept(lfd, hfd, &resume)) < 0)
			break;
		srv_status_send(SRV_S_BUSY);
		if (resume)
			uses += imapd_session_resume(imapd_store, fd);
		else {
			uses += imapd_session_run(imapd_store, fd);
			fd_close(fd);
		}
		/* the command watchdog covers commands, not waiting in
		 * accept for the next client */
		alarm(0);
	}
	srv_status_send(SRV_S_EXITING);
	store_close(&imapd_store);
	return 0;
}

/*
 * imapd - the IMAP worker process.  Takes clients from the listener that
 * master passed on fd 4, serves one session at a time, reports
 * ready/busy on the status pipe, exits after a number of sessions.
 *
 * "imapd -C conf -s" serves one session on stdin/stdout (tests, inetd).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authc.h"
#include "authn.h"
#include "cfg.h"
#include "imapd.h"
#include "log.h"
#include "net.h"
#include "srv.h"

#define IMAPD_MAX_USES 250

static struct store *imapd_store;

void
imapd_session_init(struct imap_session *s, struct store *st, int fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->st = st;
	s->timeout_ms = cfg_duration_ms("timeout");
	if (s->timeout_ms < 60000)
		s->timeout_ms = 60000;
	imapp_reader_init(&s->rd, (size_t)cfg_size("imap_maxline"),
	    (uint64_t)cfg_size("maxliteral"),
	    (size_t)cfg_size("maxliteral") + 4 * (size_t)cfg_size(
	    "imap_maxline"));
	buf_init(&s->in, 0);
	buf_init(&s->out, 0);
}

void
imapd_session_end(struct imap_session *s)
{
	authn_closed(s->conn_id);
	log_info("disconnect user=%s addr=%s", s->user[0] ? s->user : "-",
	    s->addr);
}

void
imapd_session_done(struct imap_session *s)
{
	/* parked: idled holds the connection now and tells authd so */
	if (s->parked)
		authn_release(s->conn_id);
	imapd_notify_free(s);
	view_close(s);
	imapp_reader_free(&s->rd);
	buf_free(&s->in);
	buf_free(&s->out);
}

/*
 * imapd_admit - ask authd whether this client may connect.  A refusal
 * costs no SASL work (authd logs it, with the limit); its BYE is held back
 * for authd's delay in idled (a tarpit: a client that waits for its
 * answer retries once per delay, and waiting costs no worker), or sent at
 * once when idled cannot take it.
 */
static int
imapd_admit(struct imap_session *s)
{
	struct authc_client cl = { s->addr, s->port, "", s->secure, 0, 0 };
	const char *reason, *limit;
	long long delay;
	char bye[320];

	if (authc_admit(&cl, &s->conn_id, &reason, &limit, &delay) == 0)
		return 0;
	snprintf(bye, sizeof(bye), "* BYE [UNAVAILABLE] %s\r\n", reason);
	log_debug("refused addr=%s limit=%s delay_ms=%lld", s->addr, limit,
	    delay);
	if (delay > 0 && imapd_park_penalty(s, delay, bye, 1) == 0)
		return -1;
	io_printf(s, "%s", bye);
	io_flush(s);
	return -1;
}

static void
imapd_session_run(int fd)
{
	struct imap_session s;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	imapd_session_init(&s, imapd_store, fd);
	net_peer(fd, s.addr, sizeof(s.addr), &s.port);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    ss.ss_family == AF_UNIX)
		s.secure = 1;
	if (imapd_admit(&s) < 0) {
		imapd_session_done(&s);
		return;
	}
	log_info("connect addr=%s port=%d", s.addr, s.port);
	imapd_serve(&s, 1);
	if (!s.parked)
		imapd_session_end(&s);
	imapd_session_done(&s);
}

/* imapd_accept - wait for a new client (lfd) or a resumed session (hfd);
 * returns the accepted fd, *resume_r set for the latter */
static int
imapd_accept(int lfd, int hfd, int *resume_r)
{
	struct pollfd pfd[2] = { { lfd, POLLIN, 0 }, { hfd, POLLIN, 0 } };
	int fd, i;

	for (;;) {
		if (poll(pfd, hfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("poll: %m");
		}
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

int
main(int argc, char **argv)
{
	const char *part, *err;
	const char *handoff;
	int ind, lfd, hfd, fd, uses, resume;

	srv_init(argc, argv, "imapd", &ind);
	signal(SIGPIPE, SIG_IGN);
	part = cfg_partition_path(cfg_str("defaultpartition"));
	if (part == NULL)
		log_fatal("%s: partition-%s is not set", cfg_path(),
		    cfg_str("defaultpartition"));
	if (store_open(cfg_str("configdirectory"), part, STORE_OPEN_CREATE,
	    &imapd_store, &err) < 0) {
		if (store_open_needs_recovery()) {
			log_error("cannot open the mail store: %s", err);
			exit(STORE_EXIT_RECOVER);
		}
		log_fatal("cannot open the mail store: %s", err);
	}
	if (ind < argc && strcmp(argv[ind], "-s") == 0) {
		imapd_session_run(0);
		store_close(&imapd_store);
		return 0;
	}
	if ((lfd = srv_listen_fd()) < 0)
		log_fatal("no listener: run imapd from master, or with -s");
	/* workers share the listeners: several may wake for one client */
	net_set_nonblock(lfd, 1);
	if ((hfd = srv_handoff_fd(&handoff)) >= 0)
		net_set_nonblock(hfd, 1);
	for (uses = 0; uses < IMAPD_MAX_USES; uses++) {
		srv_status_send(SRV_S_READY);
		fd = imapd_accept(lfd, hfd, &resume);
		srv_status_send(SRV_S_BUSY);
		if (resume)
			imapd_resume(imapd_store, fd);
		else {
			imapd_session_run(fd);
			close(fd);
		}
		/* the command watchdog covers commands, not waiting in
		 * accept for the next client */
		alarm(0);
	}
	srv_status_send(SRV_S_EXITING);
	store_close(&imapd_store);
	return 0;
}

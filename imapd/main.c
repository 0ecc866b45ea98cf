/*
 * imapd - the IMAP worker process.  Takes clients from the listener that
 * master passed on fd 4, serves one session at a time, reports
 * ready/busy on the status pipe, exits after a number of sessions.
 *
 * "imapd -C conf -s" serves one session on stdin/stdout (tests, inetd).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "imapd.h"
#include "log.h"
#include "net.h"
#include "srv.h"

#define IMAPD_MAX_USES 250

static struct store *imapd_store;

static void
imapd_session_run(int fd)
{
	struct imap_session s;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	memset(&s, 0, sizeof(s));
	s.fd = fd;
	s.st = imapd_store;
	s.timeout_ms = cfg_duration_ms("timeout");
	if (s.timeout_ms < 60000)
		s.timeout_ms = 60000;
	net_peer(fd, s.addr, sizeof(s.addr), &s.port);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    ss.ss_family == AF_UNIX)
		s.secure = 1;
	imapp_reader_init(&s.rd, (size_t)cfg_size("imap_maxline"),
	    (uint64_t)cfg_size("maxliteral"),
	    (size_t)cfg_size("maxliteral") + 4 * (size_t)cfg_size(
	    "imap_maxline"));
	buf_init(&s.in, 0);
	buf_init(&s.out, 0);
	log_info("connect addr=%s port=%d", s.addr, s.port);
	imapd_serve(&s);
	log_info("disconnect user=%s addr=%s", s.user[0] ? s.user : "-",
	    s.addr);
	view_close(&s);
	imapp_reader_free(&s.rd);
	buf_free(&s.in);
	buf_free(&s.out);
}

int
main(int argc, char **argv)
{
	const char *part, *err;
	int ind, lfd, fd, uses;

	srv_init(argc, argv, "imapd", &ind);
	signal(SIGPIPE, SIG_IGN);
	part = cfg_partition_path(cfg_str("defaultpartition"));
	if (part == NULL)
		log_fatal("%s: partition-%s is not set", cfg_path(),
		    cfg_str("defaultpartition"));
	if (store_open(cfg_str("configdirectory"), part, STORE_OPEN_CREATE,
	    &imapd_store, &err) < 0) {
		log_error("cannot open the mail store: %s", err);
		exit(STORE_EXIT_RECOVER);
	}
	if (ind < argc && strcmp(argv[ind], "-s") == 0) {
		imapd_session_run(0);
		store_close(&imapd_store);
		return 0;
	}
	if ((lfd = srv_listen_fd()) < 0)
		log_fatal("no listener: run imapd from master, or with -s");
	for (uses = 0; uses < IMAPD_MAX_USES; uses++) {
		srv_status_send(SRV_S_READY);
		do
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
		if (fd < 0)
			log_fatal("accept: %m");
		srv_status_send(SRV_S_BUSY);
		imapd_session_run(fd);
		close(fd);
	}
	srv_status_send(SRV_S_EXITING);
	store_close(&imapd_store);
	return 0;
}

/*
 * test_child - a tiny program for master's tests, run through the srv.h
 * contract like the real daemons.
 *
 *   test_child service            accept on fd 4, report READY/BUSY, write
 *                                 "hello <pid>\n", echo what comes
 *                                 until the client closes it
 *   test_child start FILE ADDR    START: write to FILE whether a connect to
 *                                 ADDR (host:port) was "refused" or
 *                                 "connected", then exit 0
 *   test_child fail               exit 3 (a failing START command)
 *   test_child daemon FILE        DAEMON: append our pid to FILE, then
 *                                 wait for a signal
 *
 * Not part of any installed program; does no IMAP.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"
#include "srv.h"

/* child_service - the accept loop of a SERVICES worker */
static int
child_service(void)
{
	int lfd = srv_listen_fd(), fd;
	char line[64], junk[512];
	ssize_t n;

	if (lfd < 0)
		log_fatal("no listener on fd %d", SRV_LISTEN_FD);
	for (;;) {
		srv_status_send(SRV_S_READY);
		fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			log_fatal("accept: %m");
		}
		srv_status_send(SRV_S_BUSY);
		(void)snprintf(line, sizeof(line), "hello %d\n", (int)getpid());
		if (write(fd, line, strlen(line)) < 0)
			log_warn("write: %m");
		/* echo: a test can see the connection is still served */
		while ((n = read(fd, junk, sizeof(junk))) > 0)
			if (write(fd, junk, (size_t)n) < 0)
				break;
		fd_close(fd);
	}
}

/* child_start - record whether addr accepts connections yet */
static int
child_start(const char *file, const char *addr)
{
	struct sockaddr_in sin;
	const char *colon = strrchr(addr, ':');
	char host[64];
	FILE *f;
	int fd, r;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
		log_fatal("bad address %s", addr);
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		log_fatal("bad address %s", addr);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		log_fatal("socket: %m");
	r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	fd_close(fd);
	if ((f = fopen(file, "w")) == NULL)
		log_fatal("%s: %m", file);
	fprintf(f, "%s\n", r == 0 ? "connected" : "refused");
	fclose(f);
	return 0;
}

/* child_daemon - note our pid and wait to be killed */
static int
child_daemon(const char *file)
{
	FILE *f = fopen(file, "a");

	if (f == NULL)
		log_fatal("%s: %m", file);
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	for (;;)
		pause();
}

int
main(int argc, char **argv)
{
	int i;

	srv_init(argc, argv, "test_child", &i);
	if (i < argc && strcmp(argv[i], "service") == 0)
		return child_service();
	if (i + 2 < argc && strcmp(argv[i], "start") == 0)
		return child_start(argv[i + 1], argv[i + 2]);
	if (i < argc && strcmp(argv[i], "fail") == 0)
		return 3;
	if (i + 1 < argc && strcmp(argv[i], "daemon") == 0)
		return child_daemon(argv[i + 1]);
	(void)fprintf(stderr,
	    "usage: test_child -C conf service | start FILE ADDR"
	    " | fail | daemon FILE\n");
	return 2;
}

/*
 * benchutil - what the load generators (idlebench, stormbench) share:
 * the clock, fatal errors, connecting from a chosen loopback address,
 * writing commands and splitting the server's lines.
 *
 * A header of static functions: each generator is one cc command
 * (bench/peers.py compile_c), and each uses all of them.
 */
#ifndef BENCHUTIL_H
#define BENCHUTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define MS 1000000LL

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * NS + ts.tv_nsec;
}

static void __attribute__((noreturn)) die(const char *what)
{
	perror(what);
	exit(1);
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* fd_sendf - one formatted write (a command line); 0 or -1 */
static int
fd_sendf(int fd, const char *fmt, ...)
{
	char b[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	return write(fd, b, (size_t)n) == n ? 0 : -1;
}

/*
 * bench_connect - a non-blocking connect from src (host order) to dst,
 * watched on ep for EPOLLIN | EPOLLOUT with ptr; the fd, or -1 when the
 * connect was refused at once.  Exits on what only a broken machine does.
 */
static int
bench_connect(uint32_t src, const struct sockaddr_in *dst, int ep, void *ptr)
{
	struct sockaddr_in sa;
	struct epoll_event ev;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		die("socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(src);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = ptr;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
	return fd;
}

/* bench_connected - the connect bench_connect began has finished: 0 and
 * fd watched for EPOLLIN only, or -1 when it failed */
static int
bench_connected(int fd, int ep, void *ptr)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ptr };
	int err = 0;
	socklen_t el = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0)
		return -1;
	epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
	return 0;
}

/* bench_line_next - the next whole CRLF line of buf from *pos, cut there
 * (NUL for the CR), or NULL when none is whole; buf is NUL-terminated */
static char *
bench_line_next(char *buf, size_t *pos)
{
	char *p = buf + *pos, *nl = strstr(p, "\r\n");

	if (nl == NULL)
		return NULL;
	*nl = '\0';
	*pos = (size_t)(nl + 2 - buf);
	return p;
}

/* bench_line_keep - move the partial line at pos to the start of buf (len
 * bytes, size in all); its new length: 0 when one line filled buf (too
 * long to matter, dropped) */
static size_t
bench_line_keep(char *buf, size_t len, size_t pos, size_t size)
{
	len -= pos;
	memmove(buf, buf + pos, len);
	return len == size - 1 ? 0 : len;
}

#endif

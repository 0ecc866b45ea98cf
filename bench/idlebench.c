/*
 * idlebench - IMAP IDLE load generator (epoll, one process).
 *
 *   idlebench HOST PORT NIDLERS NUSERS PASSWORD ROUNDS
 *
 * Users are user0..user<NUSERS-1>.  Opens NIDLERS sessions spread over
 * source addresses 127.0.1.1.. (so ephemeral ports never run out), each
 * logs in, selects INBOX and enters IDLE.  Prints "idling N" and waits for
 * a line on stdin (the caller measures server memory), then runs ROUNDS
 * rounds: one APPEND to every user's INBOX, and for every idler the time
 * from that APPEND's tagged OK... no: from sending it, to the idler's
 * "* n EXISTS".  Reports p50/p99/max and the idlers that got nothing in
 * 10 s, then DONE+LOGOUT for all and the time until every session closed.
 * Stays under one process's fd limit: NIDLERS + NUSERS < 19000.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum st { S_GREET, S_LOGIN, S_SELECT, S_IDLE, S_IDLING, S_DONE, S_CLOSED };

struct conn {
	int fd, user, appender;
	enum st st;
	char buf[4096];
	size_t len;
	long long sent_ns;	/* appender: when the APPEND went out */
	long long got_ns;	/* idler: EXISTS of this round */
	unsigned exists;
};

static struct conn *conns;
static int nconn, nidlers, nusers, ep;
static const char *password;
static long long *round_sent;	/* per user, this round */

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void
sendf(struct conn *c, const char *fmt, ...)
{
	char b[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (write(c->fd, b, (size_t)n) != n)
		die("write");
}

static int
connect_to(const char *host, int port, int i)
{
	struct sockaddr_in src, dst;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000100 + 1 + (i / 20000) * 256 +
	    (i % 250));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
		die("bind");
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &dst.sin_addr);
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		die("connect");
	return fd;
}

/* on_line - one line from the server */
static void
on_line(struct conn *c, char *ln)
{
	switch (c->st) {
	case S_GREET:
		if (strncmp(ln, "* OK", 4) == 0) {
			sendf(c, "a LOGIN user%d %s\r\n", c->user, password);
			c->st = S_LOGIN;
		}
		break;
	case S_LOGIN:
		if (strncmp(ln, "a OK", 4) == 0) {
			sendf(c, "b SELECT INBOX\r\n");
			c->st = S_SELECT;
		} else if (strncmp(ln, "a ", 2) == 0) {
			fprintf(stderr, "login failed: %s\n", ln);
			exit(1);
		}
		break;
	case S_SELECT:
		if (strncmp(ln, "b OK", 4) == 0) {
			if (c->appender) {
				/* appenders live for one APPEND */
				round_sent[c->user] = now_ns();
				sendf(c, "p APPEND INBOX {24+}\r\n%s\r\n"
				    "z LOGOUT\r\n",
				    "Subject: bench\r\n\r\nhi!\r\n");
				c->st = S_DONE;
			} else {
				sendf(c, "c IDLE\r\n");
				c->st = S_IDLE;
			}
		}
		break;
	case S_IDLE:
		if (ln[0] == '+')
			c->st = S_IDLING;
		break;
	case S_IDLING:
		if (!c->appender && strstr(ln, " EXISTS") && ln[0] == '*' &&
		    c->got_ns == 0)
			c->got_ns = now_ns();
		break;
	case S_DONE:		/* wait for the server to close */
		break;
	default:
		break;
	}
}

static void
on_read(struct conn *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len - 1);
	char *p, *nl;

	if (n <= 0) {
		if (c->st != S_CLOSED) {
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
			c->st = S_CLOSED;
		}
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	p = c->buf;
	while ((nl = strstr(p, "\r\n")) != NULL) {
		*nl = '\0';
		on_line(c, p);
		p = nl + 2;
	}
	c->len -= (size_t)(p - c->buf);
	memmove(c->buf, p, c->len);
}

static int
count_state(enum st s)
{
	int i, n = 0;

	for (i = 0; i < nconn; i++)
		n += conns[i].st == s;
	return n;
}

static void
pump(int ms)
{
	struct epoll_event evs[512];
	int n, i;

	n = epoll_wait(ep, evs, 512, ms);
	for (i = 0; i < n; i++)
		on_read(&conns[evs[i].data.u32]);
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct epoll_event ev;
	long long t0, *lat;
	int port, rounds, r, i, nlat = 0, missed = 0;
	char line[64];

	if (argc != 7) {
		fprintf(stderr, "usage: idlebench HOST PORT NIDLERS NUSERS "
		    "PASSWORD ROUNDS\n");
		return 2;
	}
	port = atoi(argv[2]);
	nidlers = atoi(argv[3]);
	nusers = atoi(argv[4]);
	password = argv[5];
	rounds = atoi(argv[6]);
	nconn = nidlers + nusers;	/* appenders: the last nusers */
	conns = calloc((size_t)nconn, sizeof(*conns));
	round_sent = calloc((size_t)nusers, sizeof(*round_sent));
	lat = calloc((size_t)nidlers * (size_t)rounds + 1, sizeof(*lat));
	if ((ep = epoll_create1(0)) < 0)
		die("epoll");
	for (i = 0; i < nidlers; i++) {
		/* at most 200 handshakes in flight, as clients arrive in
		 * practice; a burst of thousands only measures the backlog */
		while (i - count_state(S_IDLING) - count_state(S_CLOSED) >= 200)
			pump(10);
		conns[i].user = i % nusers;
		conns[i].fd = connect_to(argv[1], port, i);
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
	}
	t0 = now_ns();
	while (count_state(S_IDLING) < nidlers) {
		pump(100);
		if (now_ns() - t0 > 120000000000LL) {
			fprintf(stderr, "only %d of %d sessions idling\n",
			    count_state(S_IDLING), nidlers);
			return 1;
		}
	}
	printf("idling %d\n", nidlers);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < nidlers; i++)
			conns[i].got_ns = 0;
		for (i = nidlers; i < nconn; i++) {
			memset(&conns[i], 0, sizeof(conns[i]));
			conns[i].appender = 1;
			conns[i].user = i - nidlers;
			conns[i].fd = connect_to(argv[1], port, i);
			ev.events = EPOLLIN;
			ev.data.u32 = (uint32_t)i;
			epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
		}
		t0 = now_ns();
		while (now_ns() - t0 < 10000000000LL) {
			pump(50);
			for (i = 0; i < nidlers; i++)
				if (conns[i].got_ns == 0 &&
				    conns[i].st == S_IDLING)
					break;
			if (i == nidlers)
				break;
		}
		for (i = 0; i < nidlers; i++) {
			if (conns[i].got_ns == 0)
				missed++;
			else
				lat[nlat++] = conns[i].got_ns -
				    round_sent[conns[i].user];
		}
		/* let stragglers and keep-alives settle between rounds */
		t0 = now_ns();
		while (now_ns() - t0 < 1000000000LL)
			pump(50);
	}
	qsort(lat, (size_t)nlat, sizeof(*lat), cmp_ll);
	if (nlat > 0)
		printf("exists_latency_ms p50=%.1f p99=%.1f max=%.1f "
		    "samples=%d missed=%d\n", lat[nlat / 2] / 1e6,
		    lat[(nlat * 99) / 100] / 1e6, lat[nlat - 1] / 1e6, nlat,
		    missed);
	else
		printf("exists_latency_ms none missed=%d\n", missed);
	t0 = now_ns();
	for (i = 0; i < nidlers; i++) {
		if (conns[i].st == S_CLOSED)
			continue;
		sendf(&conns[i], "DONE\r\nz LOGOUT\r\n");
		conns[i].st = S_DONE;
	}
	while (count_state(S_CLOSED) < nconn &&
	    now_ns() - t0 < 30000000000LL)
		pump(50);
	printf("logout_all_s=%.2f closed=%d of %d\n", (now_ns() - t0) / 1e9,
	    count_state(S_CLOSED) - nusers, nidlers);
	return 0;
}

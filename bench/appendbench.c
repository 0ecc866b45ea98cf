/*
 * appendbench - APPEND load generator: durable APPENDs per second.
 *
 *   appendbench HOST PORT USER PASSWORD CONNS COUNT WINDOW [SIZE]
 *   appendbench fsync DIR MS
 *
 * Owns: CONNS connections logged in as USER, then COUNT APPENDs to INBOX
 * on each, all connections at once, of distinct SIZE-byte messages
 * (default 4096: a server that stores a content once must still store
 * each); at most WINDOW commands outstanding on a connection (1: the
 * next APPEND is sent when the last one's tagged OK came; more: a
 * pipelining client, LITERAL+ required).  Without LITERAL+ each literal
 * waits for the server's "+" and WINDOW is 1.
 *
 * Output: one key=value line: msg_per_s over the whole run (first
 * command written to last tagged OK read), p50_ms/p99_ms from an
 * APPEND's first byte written to its tagged OK, literalplus, and no
 * line at all but a message and exit status 1 when any APPEND was not
 * answered OK.
 *
 * "fsync DIR MS" is the disk's figure for the same minute: a 4 KB block
 * of a file in DIR rewritten and fdatasync'd, again and again for MS
 * milliseconds; fdatasync_per_s.  One process, epoll, no threads: the
 * client's own cost stays small beside the server's.  Bounded: 300 s.
 */
#define _GNU_SOURCE
#include <fcntl.h>

#include "benchutil.h"

#define SRC_BASE 0x7f000300u /* 127.0.3.x */
#define INBUF 65536
#define LIMIT_NS (300 * NS)

enum { C_CONNECT, C_GREET, C_CAPA, C_LOGIN, C_READY, C_RUN, C_DONE };

struct conn {
	int fd, id, state, waitplus;
	long long *sent_ns; /* by sequence number modulo the window */
	int sent, acked;    /* APPENDs written / answered */
	char in[INBUF];
	size_t inlen;
	char *out; /* pending output */
	size_t outlen, outoff, outsize;
};

static int nconns, count, window, msgsize, literalplus = 1, ep;
static long long *lat;
static int nlat;
static const char *user, *password;

/* message - the distinct message i of connection c into b (msgsize) */
static void
message(char *b, int c, int i)
{
	int n = snprintf(b, (size_t)msgsize,
	    "From: bench@example.org\r\nTo: %s@example.org\r\n"
	    "Subject: append %d.%d\r\nMessage-ID: <%d.%d.%lld@example.org>\r\n"
	    "\r\n",
	    user, c, i, c, i, now_ns());
	int k;

	for (k = n; k < msgsize; k++)
		b[k] = (k - n) % 78 == 76 ? '\r'
		    : (k - n) % 78 == 77  ? '\n'
					  : (char)('a' + (k + i) % 26);
}

static void
out_reserve(struct conn *c, size_t more)
{
	if (c->outoff > 0 && c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if (c->outlen + more <= c->outsize)
		return;
	c->outsize = (c->outlen + more) * 2;
	if ((c->out = realloc(c->out, c->outsize)) == NULL)
		die("realloc");
}

/* out_write - write what is pending; watch EPOLLOUT while some is left */
static void
out_write(struct conn *c)
{
	struct epoll_event ev = { .data.ptr = c };
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			die("write");
		c->outoff += (size_t)n;
	}
	ev.events = EPOLLIN | (c->outoff < c->outlen ? EPOLLOUT : 0);
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* append_more - the APPENDs the window allows, written */
static void
append_more(struct conn *c)
{
	char hdr[96];
	int n;

	while (c->sent < count && c->sent - c->acked < window && !c->waitplus) {
		n = snprintf(hdr, sizeof(hdr), "a%d APPEND INBOX {%d%s}\r\n",
		    c->sent, msgsize, literalplus ? "+" : "");
		out_reserve(c, (size_t)n + (size_t)msgsize + 2);
		memcpy(c->out + c->outlen, hdr, (size_t)n);
		c->outlen += (size_t)n;
		c->sent_ns[c->sent % window] = now_ns();
		if (!literalplus) {
			c->waitplus = 1;
			break;
		}
		message(c->out + c->outlen, c->id, c->sent);
		memcpy(c->out + c->outlen + msgsize, "\r\n", 2);
		c->outlen += (size_t)msgsize + 2;
		c->sent++;
	}
	out_write(c);
}

/* on_line - one line from the server; 1 when this connection is done */
static int
on_line(struct conn *c, const char *ln)
{
	int seq;

	switch (c->state) {
	case C_GREET:
		if (strncmp(ln, "* OK", 4) != 0)
			die("greeting");
		c->state = C_CAPA;
		fd_sendf(c->fd, "c CAPABILITY\r\n");
		return 0;
	case C_CAPA:
		if (strncmp(ln, "* CAPABILITY", 12) == 0 &&
		    strstr(ln, " LITERAL+") == NULL)
			literalplus = 0;
		if (strncmp(ln, "c ", 2) == 0) {
			c->state = C_LOGIN;
			fd_sendf(c->fd, "l LOGIN %s %s\r\n", user, password);
		}
		return 0;
	case C_LOGIN:
		if (strncmp(ln, "l OK", 4) == 0)
			c->state = C_READY;
		else if (strncmp(ln, "l ", 2) == 0) {
			fprintf(stderr, "login: %s\n", ln);
			exit(1);
		}
		return 0;
	case C_RUN:
		if (ln[0] == '+' && c->waitplus) {
			out_reserve(c, (size_t)msgsize + 2);
			message(c->out + c->outlen, c->id, c->sent);
			memcpy(c->out + c->outlen + msgsize, "\r\n", 2);
			c->outlen += (size_t)msgsize + 2;
			c->sent++;
			c->waitplus = 0;
			out_write(c);
			return 0;
		}
		if (ln[0] != 'a' || sscanf(ln + 1, "%d", &seq) != 1)
			return 0;
		if (strstr(ln, " OK") == NULL || seq != c->acked) {
			fprintf(stderr, "append %d: %s\n", c->acked, ln);
			exit(1);
		}
		lat[nlat++] = now_ns() - c->sent_ns[seq % window];
		c->acked++;
		if (c->acked == count) {
			c->state = C_DONE;
			return 1;
		}
		append_more(c);
		return 0;
	}
	return 0;
}

/* on_input - read and handle what came; the connections done now */
static int
on_input(struct conn *c)
{
	size_t pos = 0;
	ssize_t n;
	char *ln;
	int done = 0;

	n = read(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0) {
		fprintf(stderr, "connection %d closed after %d answers\n",
		    c->id, c->acked);
		exit(1);
	}
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	while ((ln = bench_line_next(c->in, &pos)) != NULL)
		done += on_line(c, ln);
	c->inlen = bench_line_keep(c->in, c->inlen, pos, sizeof(c->in));
	return done;
}

/* loop - events until want connections reach state, or die at the limit */
static void
loop(struct conn *cs, int state, long long end)
{
	struct epoll_event evs[64];
	int i, n, reached;
	struct conn *c;

	for (;;) {
		for (reached = 0, i = 0; i < nconns; i++)
			reached += cs[i].state >= state;
		if (reached == nconns)
			return;
		if (now_ns() > end) {
			fprintf(stderr, "timed out\n");
			exit(1);
		}
		n = epoll_wait(ep, evs, 64, 1000);
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (c->state == C_CONNECT) {
				if (bench_connected(c->fd, ep, c) < 0)
					die("connect");
				c->state = C_GREET;
				continue;
			}
			if (evs[i].events & EPOLLOUT)
				out_write(c);
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_input(c);
		}
	}
}

static int
fsync_probe(const char *dir, long long ms)
{
	char path[4096], b[4096];
	long long t0 = now_ns(), t;
	long n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/appendbench-fsync.%d", dir,
	    (int)getpid());
	if ((fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600)) < 0)
		die(path);
	memset(b, 'x', sizeof(b));
	/* the block allocated and durable first: what is timed rewrites it */
	if (write(fd, b, sizeof(b)) != (ssize_t)sizeof(b) || fsync(fd) < 0)
		die("fsync");
	do {
		if (pwrite(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b) ||
		    fdatasync(fd) < 0)
			die("fdatasync");
		n++;
	} while ((t = now_ns() - t0) < ms * MS);
	unlink(path);
	close(fd);
	printf("fdatasync_per_s=%.1f\n", (double)n * NS / (double)t);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in dst;
	struct conn *cs;
	long long t0, t;
	int i;

	if (argc == 4 && strcmp(argv[1], "fsync") == 0)
		return fsync_probe(argv[2], atoll(argv[3]));
	if (argc < 8) {
		fprintf(stderr,
		    "usage: appendbench HOST PORT USER PASSWORD "
		    "CONNS COUNT WINDOW [SIZE]\n"
		    "       appendbench fsync DIR MS\n");
		return 2;
	}
	user = argv[3];
	password = argv[4];
	nconns = atoi(argv[5]);
	count = atoi(argv[6]);
	window = atoi(argv[7]);
	msgsize = argc > 8 ? atoi(argv[8]) : 4096;
	if (nconns < 1 || count < 1 || window < 1 || msgsize < 256) {
		fprintf(stderr, "appendbench: bad arguments\n");
		return 2;
	}
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1)
		die("address");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	if ((cs = calloc((size_t)nconns, sizeof(*cs))) == NULL ||
	    (lat = calloc((size_t)nconns * (size_t)count, sizeof(*lat))) ==
		NULL)
		die("calloc");
	t0 = now_ns();
	for (i = 0; i < nconns; i++) {
		cs[i].id = i;
		if ((cs[i].sent_ns =
			    calloc((size_t)window, sizeof(long long))) == NULL)
			die("calloc");
		cs[i].fd =
		    bench_connect(SRC_BASE + 1 + (uint32_t)i, &dst, ep, &cs[i]);
		if (cs[i].fd < 0)
			die("connect");
		fcntl(cs[i].fd, F_SETFL, O_NONBLOCK);
	}
	loop(cs, C_READY, t0 + LIMIT_NS);
	if (!literalplus)
		window = 1;
	t = now_ns();
	for (i = 0; i < nconns; i++) {
		cs[i].state = C_RUN;
		append_more(&cs[i]);
	}
	loop(cs, C_DONE, t0 + LIMIT_NS);
	t = now_ns() - t;
	qsort(lat, (size_t)nlat, sizeof(*lat), cmp_ll);
	printf("conns=%d window=%d count=%d size=%d literalplus=%d "
	       "msg_per_s=%.1f p50_ms=%.2f p99_ms=%.2f\n",
	    nconns, window, count, msgsize, literalplus,
	    (double)nconns * count * NS / (double)t, (double)lat[nlat / 2] / MS,
	    (double)lat[nlat * 99 / 100] / MS);
	for (i = 0; i < nconns; i++)
		close(cs[i].fd);
	return 0;
}

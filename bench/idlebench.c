/*
 * idlebench - IMAP IDLE load generator, split over processes.
 *
 *   idlebench HOST PORT NIDLERS NUSERS PASSWORD ROUNDS [PERPROC [TLSPORT]]
 *
 * Owns: opening NIDLERS IDLE sessions on INBOX over users
 * user0..user<NUSERS-1> (idler i is user i % NUSERS), measuring for every
 * idler the time from an APPEND to its user's INBOX until that idler's
 * "* n EXISTS", and the time to DONE+LOGOUT all of them.
 *
 * Shape: one process holds at most ~20,000 fds here, so the parent forks
 * ceil(NIDLERS / PERPROC) children (PERPROC defaults to 5000), each
 * driving its share of idlers over epoll, with at most 200 handshakes in
 * flight per child (a burst of thousands would only measure the listen
 * backlog).  A pipe pair per child carries the parent's commands
 * ("round R", "logout") and the child's replies ("idling K F", "ready R",
 * "res R N" + N int64 arrival times, "closed K LAST_NS").  The parent
 * does the APPENDs itself (one connection per user per round, all logged
 * in first, then every APPEND written at once) and merges the arrival
 * times, so p50/p99/max are over all idlers.  CLOCK_MONOTONIC is one
 * clock for all processes.
 *
 * An idler counts for round R on an EXISTS of at least (its count at
 * SELECT) + R + 1, so a late EXISTS from an earlier round is not taken
 * for this one.  Missed: no such EXISTS within 10 s of its user's APPEND.
 * The APPEND uses LITERAL+ only if the server advertises it.
 * Source addresses: idlers 127.1.x.y, appenders 127.0.2.x, so ephemeral
 * ports never run out.
 *
 * With TLSPORT the idlers speak implicit TLS to it (OpenSSL, no
 * certificate check, buffers released while idle); the appenders stay on
 * PORT in plaintext.  An EXISTS counts when its record is decrypted.
 * Besides APPEND->EXISTS the parent reports what it is made of: the
 * APPEND itself (written -> tagged OK: append_p50_ms, append_p99_ms) and
 * the rest (OK -> EXISTS: ok_exists_p50_ms, ok_exists_p99_ms; negative
 * when the EXISTS came first), and per round the spread of the EXISTS
 * of one round (first to last: spread_ms), which a server that wakes
 * idlers one by one makes long.
 *
 * Output, after the caller's "go" line on stdin: key=value lines.  With
 * IDLEBENCH_DEBUG set, each child names on stderr every idler that got
 * nothing in a round (its state, counts seen, last line).
 * Bounded: setup 300 s, each round 12 s, logout 30 s; a child whose
 * parent dies (EOF on its command pipe) exits.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "benchutil.h"

#define INFLIGHT 200
#define MISS_NS (10 * NS)

enum st {
	S_CONNECT,
	S_TLS, /* handshake in progress */
	S_GREET,
	S_LOGIN,
	S_SELECT,
	S_IDLE,
	S_IDLING,
	S_DONE,
	S_CLOSED,
	S_FAILED
};

struct conn {
	int fd, idx, user;
	SSL *ssl; /* TLS idlers */
	enum st st;
	unsigned sel_exists;  /* EXISTS at SELECT */
	unsigned last_exists; /* highest EXISTS seen (diagnostics) */
	char last[64];	      /* last line seen (diagnostics) */
	long long got_ns;     /* EXISTS of this round */
	size_t len;
	char buf[1024];
};

static struct sockaddr_in dst;
static const char *password;
static int nusers, ep, round_no, literal_plus, debug;
static SSL_CTX *tls_ctx; /* idlers speak TLS */

/* conn_sendf - one formatted command on c (TLS or not); 0 or -1 */
static int
conn_sendf(struct conn *c, const char *fmt, ...)
{
	char b[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (c->ssl == NULL)
		return fd_sendf(c->fd, "%s", b);
	/* a few bytes into an empty socket buffer: never WANT_WRITE here */
	return SSL_write(c->ssl, b, n) == n ? 0 : -1;
}

/* tls_init - the client context of TLS idlers */
static void
tls_init(void)
{
	if ((tls_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		die("SSL_CTX_new");
	SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(tls_ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
}

/* full_write - all of b, or exit (pipes to and from the parent) */
static void
full_write(int fd, const void *b, size_t n)
{
	const char *p = b;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			die("write pipe");
		}
		p += w;
		n -= (size_t)w;
	}
}

static int
full_read(int fd, void *b, size_t n)
{
	char *p = b;
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, p, n)) <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* read_line - one '\n'-terminated line from a pipe, byte by byte */
static int
read_line(int fd, char *b, size_t size)
{
	size_t n = 0;

	while (n < size - 1) {
		if (full_read(fd, b + n, 1) < 0)
			return -1;
		if (b[n] == '\n')
			break;
		n++;
	}
	b[n] = '\0';
	return 0;
}

/* open_conn - non-blocking connect from src; the conn waits in S_CONNECT */
static void
open_conn(struct conn *c, uint32_t src)
{
	c->len = 0;
	c->got_ns = 0;
	c->fd = bench_connect(src, &dst, ep, c);
	c->st = c->fd < 0 ? S_FAILED : S_CONNECT;
}

static void
close_conn(struct conn *c, enum st st)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		(void)close(c->fd);
		c->fd = -1;
	}
	c->st = st;
}

/* ---- idlers (children) ------------------------------------------------ */

static void
idler_line(struct conn *c, char *ln)
{
	unsigned n;

	switch (c->st) {
	case S_GREET:
		if (strncmp(ln, "* OK", 4) == 0) {
			if (conn_sendf(c, "a LOGIN user%d %s\r\n", c->user,
				password) < 0)
				close_conn(c, S_FAILED);
			else
				c->st = S_LOGIN;
		} else
			close_conn(c, S_FAILED);
		break;
	case S_LOGIN:
		if (strncmp(ln, "a OK", 4) == 0) {
			if (conn_sendf(c, "b SELECT INBOX\r\n") < 0)
				close_conn(c, S_FAILED);
			else
				c->st = S_SELECT;
		} else if (strncmp(ln, "a ", 2) == 0) {
			(void)fprintf(stderr, "idlebench: login user%d: %s\n",
			    c->user, ln);
			close_conn(c, S_FAILED);
		}
		break;
	case S_SELECT:
		if (sscanf(ln, "* %u EXISTS", &n) == 1)
			c->sel_exists = n;
		else if (strncmp(ln, "b OK", 4) == 0) {
			if (conn_sendf(c, "c IDLE\r\n") < 0)
				close_conn(c, S_FAILED);
			else
				c->st = S_IDLE;
		} else if (strncmp(ln, "b ", 2) == 0)
			close_conn(c, S_FAILED);
		break;
	case S_IDLE:
		if (ln[0] == '+')
			c->st = S_IDLING;
		else if (strncmp(ln, "c ", 2) == 0)
			close_conn(c, S_FAILED);
		break;
	case S_IDLING:
		(void)snprintf(c->last, sizeof(c->last), "%s", ln);
		if (sscanf(ln, "* %u EXISTS", &n) == 1 && n > c->last_exists)
			c->last_exists = n;
		if (sscanf(ln, "* %u EXISTS", &n) == 1 && c->got_ns == 0 &&
		    round_no > 0 && n >= c->sel_exists + (unsigned)round_no)
			c->got_ns = now_ns();
		break;
	default:
		break;
	}
}

/* conn_tls - go on with c's handshake: 0 (done or waiting), -1 failed */
static int
conn_tls(struct conn *c)
{
	struct epoll_event ev = { .data.ptr = c };
	int r;

	if (c->ssl == NULL) {
		if ((c->ssl = SSL_new(tls_ctx)) == NULL ||
		    SSL_set_fd(c->ssl, c->fd) != 1)
			return -1;
		SSL_set_connect_state(c->ssl);
		c->st = S_TLS;
	}
	ERR_clear_error();
	if ((r = SSL_do_handshake(c->ssl)) == 1) {
		c->st = S_GREET;
		ev.events = EPOLLIN;
	} else if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ) {
		ev.events = EPOLLIN;
	} else if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_WRITE) {
		ev.events = EPOLLOUT;
	} else {
		return -1;
	}
	(void)epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

/* conn_read - bytes into c->buf: >0, 0 at EOF, -1 with errno (EAGAIN:
 * nothing now).  TLS reads until OpenSSL holds nothing decrypted, since
 * epoll cannot see what it has buffered */
static ssize_t
conn_read(struct conn *c)
{
	size_t room = sizeof(c->buf) - c->len - 1;
	int r, e;

	if (c->ssl == NULL)
		return read(c->fd, c->buf + c->len, room);
	ERR_clear_error();
	r = SSL_read(c->ssl, c->buf + c->len, (int)room);
	if (r > 0)
		return r;
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	return e == SSL_ERROR_ZERO_RETURN ? 0 : (errno = EIO, -1);
}

/* conn_input - read and split lines; line_fn sees each without CRLF */
static void
conn_input(struct conn *c, uint32_t events,
    void (*line_fn)(struct conn *, char *))
{
	char *ln;
	size_t pos;
	ssize_t n;

	if (c->st == S_CONNECT) {
		if (bench_connected(c->fd, ep, c) < 0) {
			close_conn(c, S_FAILED);
			return;
		}
		c->st = S_GREET;
		if (tls_ctx != NULL && line_fn == idler_line)
			c->st = S_TLS;
		else if (!(events & EPOLLIN))
			return;
	}
	if (c->st == S_TLS) {
		if (conn_tls(c) < 0)
			close_conn(c, S_FAILED);
		if (c->st != S_GREET)
			return;
	}
	do {
		n = conn_read(c);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			close_conn(c,
			    c->st == S_DONE || c->st == S_IDLING ? S_CLOSED
								 : S_FAILED);
			return;
		}
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		pos = 0;
		while (
		    c->fd >= 0 && (ln = bench_line_next(c->buf, &pos)) != NULL)
			line_fn(c, ln);
		if (c->fd >= 0)
			c->len = bench_line_keep(c->buf, c->len, pos,
			    sizeof(c->buf));
	} while (c->fd >= 0 && c->ssl != NULL);
}

/* pump - one epoll_wait; returns 1 if the command pipe is readable */
static int
pump(int ms, int cmdfd, void (*line_fn)(struct conn *, char *))
{
	struct epoll_event evs[512];
	int n, i, cmd = 0;

	n = epoll_wait(ep, evs, 512, ms);
	for (i = 0; i < n; i++) {
		if (evs[i].data.ptr == NULL)
			cmd = 1;
		else
			conn_input(evs[i].data.ptr, evs[i].events, line_fn);
	}
	(void)cmdfd;
	return cmd;
}

static int
count_state(struct conn *cs, int n, enum st s)
{
	int i, k = 0;

	for (i = 0; i < n; i++)
		k += cs[i].st == s;
	return k;
}

static uint32_t
idler_addr(int i)
{
	return (127u << 24) | (1u << 16) |
	    ((1u + (unsigned)(i / 250) % 250) << 8) |
	    (1u + (unsigned)(i % 250));
}

/* child_setup - connect lo..hi-1, at most INFLIGHT handshakes at once */
static void
child_setup(struct conn *cs, int lo, int n)
{
	long long t0 = now_ns();
	int i = 0, idling = 0, failed = 0;

	for (;;) {
		idling = count_state(cs, n, S_IDLING);
		failed = count_state(cs, n, S_FAILED);
		while (i < n && i - idling - failed < INFLIGHT) {
			cs[i].idx = lo + i;
			cs[i].user = (lo + i) % nusers;
			open_conn(&cs[i], idler_addr(lo + i));
			i++;
		}
		if (idling + failed == n || now_ns() - t0 > 300 * NS)
			break;
		pump(50, -1, idler_line);
	}
}

static void
child_main(int lo, int n, int cmdfd, int resfd)
{
	struct conn *cs = calloc((size_t)n, sizeof(*cs));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	long long *got = calloc((size_t)n + 1, sizeof(*got)), t0, last;
	char line[128];
	int i, r, k, done;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll");
	child_setup(cs, lo, n);
	(void)snprintf(line, sizeof(line), "idling %d %d\n",
	    count_state(cs, n, S_IDLING), n - count_state(cs, n, S_IDLING));
	full_write(resfd, line, strlen(line));
	(void)epoll_ctl(ep, EPOLL_CTL_ADD, cmdfd, &ev);
	for (;;) {
		while (!pump(1000, cmdfd, idler_line))
			;
		if (read_line(cmdfd, line, sizeof(line)) < 0)
			exit(0);
		if (sscanf(line, "round %d", &r) == 1) {
			for (i = 0; i < n; i++)
				cs[i].got_ns = 0;
			round_no = r;
			(void)snprintf(line, sizeof(line), "ready %d\n", r);
			full_write(resfd, line, strlen(line));
			t0 = now_ns();
			while (now_ns() - t0 < 12 * NS) {
				pump(20, cmdfd, idler_line);
				for (i = 0; i < n; i++)
					if (cs[i].st == S_IDLING &&
					    cs[i].got_ns == 0)
						break;
				if (i == n)
					break;
			}
			for (i = 0; i < n; i++)
				got[i] =
				    cs[i].st == S_FAILED ? -1 : cs[i].got_ns;
			for (i = 0; debug && i < n; i++)
				if (cs[i].got_ns == 0)
					(void)fprintf(stderr,
					    "idlebench: round %d "
					    "idler %d user%d st=%d sel=%u "
					    "last_exists=%u last=\"%s\"\n",
					    r, cs[i].idx, cs[i].user, cs[i].st,
					    cs[i].sel_exists, cs[i].last_exists,
					    cs[i].last);
			(void)snprintf(line, sizeof(line), "res %d %d\n", r, n);
			full_write(resfd, line, strlen(line));
			full_write(resfd, got, (size_t)n * sizeof(*got));
		} else if (strcmp(line, "logout") == 0)
			break;
	}
	t0 = now_ns();
	for (i = 0; i < n; i++)
		if (cs[i].st == S_IDLING) {
			if (conn_sendf(&cs[i], "DONE\r\nz LOGOUT\r\n") < 0)
				close_conn(&cs[i], S_CLOSED);
			else
				cs[i].st = S_DONE;
		}
	last = t0;
	for (;;) {
		done = count_state(cs, n, S_DONE);
		k = count_state(cs, n, S_CLOSED);
		if (done == 0 || now_ns() - t0 > 30 * NS)
			break;
		pump(20, cmdfd, idler_line);
		if (count_state(cs, n, S_CLOSED) > k)
			last = now_ns();
	}
	(void)snprintf(line, sizeof(line), "closed %d %d %lld\n",
	    count_state(cs, n, S_CLOSED), count_state(cs, n, S_DONE), last);
	full_write(resfd, line, strlen(line));
	exit(0);
}

/* ---- appenders (parent) ----------------------------------------------- */

static long long *sent_ns, *ok_ns;
static int appended, append_failed, append_round_no;

/* append_text - this round's message for user u: every message differs,
 * as real mail does (identical bytes would share one stored file) */
static const char *
append_text(int u)
{
	static char msg[128];

	(void)snprintf(msg, sizeof(msg),
	    "Subject: bench\r\nMessage-ID: "
	    "<r%d.u%d@bench.invalid>\r\n\r\nhi!\r\n",
	    append_round_no, u);
	return msg;
}

static void
appender_line(struct conn *c, char *ln)
{
	switch (c->st) {
	case S_GREET:
		if (strncmp(ln, "* OK", 4) == 0 &&
		    conn_sendf(c, "a LOGIN user%d %s\r\n", c->user, password) ==
			0)
			c->st = S_LOGIN;
		else
			close_conn(c, S_FAILED);
		break;
	case S_LOGIN:
		if (strncmp(ln, "a OK", 4) == 0)
			c->st = S_SELECT; /* logged in, waiting */
		else if (strncmp(ln, "a ", 2) == 0)
			close_conn(c, S_FAILED);
		break;
	case S_IDLE: /* APPEND sent, literal pending */
		if (ln[0] == '+') {
			if (conn_sendf(c, "%s\r\n", append_text(c->user)) < 0)
				close_conn(c, S_FAILED);
			else
				c->st = S_IDLING;
		} else if (strncmp(ln, "p ", 2) == 0)
			close_conn(c, S_FAILED);
		break;
	case S_IDLING: /* APPEND answered? */
		if (strncmp(ln, "p OK", 4) == 0) {
			ok_ns[c->user] = now_ns();
			appended++;
			if (conn_sendf(c, "z LOGOUT\r\n") < 0)
				close_conn(c, S_CLOSED);
			else
				c->st = S_DONE;
		} else if (strncmp(ln, "p ", 2) == 0) {
			(void)fprintf(stderr, "idlebench: append user%d: %s\n",
			    c->user, ln);
			close_conn(c, S_FAILED);
		}
		break;
	default:
		break;
	}
}

/* append_round - one APPEND to every user's INBOX, written at once */
static void
append_round(struct conn *ap)
{
	const char *msg;
	long long t0 = now_ns();
	int u, waiting;

	append_round_no++;
	for (u = 0; u < nusers; u++) {
		memset(&ap[u], 0, sizeof(ap[u]));
		ap[u].user = u;
		open_conn(&ap[u],
		    (127u << 24) + ((2u + (unsigned)u / 250) << 8) +
			(unsigned)(u % 250 + 1));
	}
	do {
		pump(20, -1, appender_line);
		waiting = 0;
		for (u = 0; u < nusers; u++)
			waiting += ap[u].st < S_SELECT;
	} while (waiting > 0 && now_ns() - t0 < 10 * NS);
	for (u = 0; u < nusers; u++) {
		sent_ns[u] = ok_ns[u] = 0;
		if (ap[u].st != S_SELECT)
			continue;
		sent_ns[u] = now_ns();
		msg = append_text(u);
		if (literal_plus) {
			if (conn_sendf(&ap[u],
				"p APPEND INBOX {%zu+}\r\n%s\r\n", strlen(msg),
				msg) == 0)
				ap[u].st = S_IDLING;
		} else if (conn_sendf(&ap[u], "p APPEND INBOX {%zu}\r\n",
			       strlen(msg)) == 0)
			ap[u].st = S_IDLE;
		if (ap[u].st == S_SELECT)
			close_conn(&ap[u], S_FAILED);
	}
}

/* appenders_finish - wait for every APPEND's answer; count failures */
static void
appenders_finish(struct conn *ap, long long until, int before)
{
	int u;

	while (now_ns() < until) {
		for (u = 0; u < nusers; u++)
			if (ap[u].st < S_DONE)
				break;
		if (u == nusers)
			break;
		pump(20, -1, appender_line);
	}
	for (u = 0; u < nusers; u++)
		close_conn(&ap[u], S_CLOSED);
	append_failed += nusers - (appended - before);
}

/* probe - LITERAL+ advertised (after login)?  Blocking, with a timeout */
static int
probe(void)
{
	struct timeval tv = { 10, 0 };
	char b[8192];
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), lp = -1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		die("probe connect");
	(void)snprintf(b, sizeof(b),
	    "a LOGIN user0 %s\r\nb CAPABILITY\r\n"
	    "z LOGOUT\r\n",
	    password);
	if (write(fd, b, strlen(b)) < 0)
		die("probe write");
	while (len < sizeof(b) - 1 &&
	    (n = read(fd, b + len, sizeof(b) - 1 - len)) > 0) {
		len += (size_t)n;
		b[len] = '\0';
		char *cap = strstr(b, "\r\n* CAPABILITY ");
		if (cap != NULL && strstr(cap + 2, "\r\n") != NULL) {
			char *end = strstr(cap + 2, "\r\n");
			*end = '\0';
			lp = strstr(cap, " LITERAL+") != NULL;
			break;
		}
	}
	(void)close(fd);
	if (lp < 0) {
		(void)fprintf(stderr, "idlebench: no CAPABILITY answer\n");
		exit(1);
	}
	return lp;
}

int
main(int argc, char **argv)
{
	int nidlers, rounds, perproc = 5000, nproc, p, r, i, k, n;
	int idling = 0, setup_failed = 0, missed = 0, nlat = 0, closed = 0;
	int stuck = 0, *cmd, *res, *plo, *pn, port, tls_port = 0;
	int napp = 0, nok = 0;
	long long *lat, *got, t0, last = 0, ln_ns, rmax, *alat, *olat;
	long long lo, hi;
	char rounds_max[512], spreads[512];
	size_t rlen = 0, slen = 0;
	struct conn *ap;
	char line[128];

	if (argc < 7 || argc > 9) {
		(void)fprintf(stderr,
		    "usage: idlebench HOST PORT NIDLERS NUSERS "
		    "PASSWORD ROUNDS [PERPROC [TLSPORT]]\n");
		return 2;
	}
	port = atoi(argv[2]);
	nidlers = atoi(argv[3]);
	nusers = atoi(argv[4]);
	password = argv[5];
	rounds = atoi(argv[6]);
	if (argc >= 8)
		perproc = atoi(argv[7]);
	if (argc == 9 && (tls_port = atoi(argv[8])) <= 0)
		return 2;
	if (nidlers < 1 || nusers < 1 || perproc < 1 || rounds < 0)
		return 2;
	if (tls_port > 0)
		tls_init();
	(void)signal(SIGPIPE, SIG_IGN);
	debug = getenv("IDLEBENCH_DEBUG") != NULL;
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1)
		return 2;
	literal_plus = probe();
	nproc = (nidlers + perproc - 1) / perproc;
	cmd = calloc((size_t)nproc, sizeof(int));
	res = calloc((size_t)nproc, sizeof(int));
	plo = calloc((size_t)nproc, sizeof(int));
	pn = calloc((size_t)nproc, sizeof(int));
	for (p = 0; p < nproc; p++) {
		int a[2], b[2];

		plo[p] = p * nidlers / nproc;
		pn[p] = (p + 1) * nidlers / nproc - plo[p];
		if (pipe2(a, O_CLOEXEC) < 0 || pipe2(b, O_CLOEXEC) < 0)
			die("pipe");
		switch (fork()) {
		case -1:
			die("fork");
		case 0:
			(void)close(a[1]);
			(void)close(b[0]);
			for (i = 0; i < p; i++) {
				(void)close(cmd[i]);
				(void)close(res[i]);
			}
			if (tls_port > 0) /* the idlers' port */
				dst.sin_port = htons((uint16_t)tls_port);
			child_main(plo[p], pn[p], a[0], b[1]);
		}
		(void)close(a[0]);
		(void)close(b[1]);
		cmd[p] = a[1];
		res[p] = b[0];
	}
	t0 = now_ns();
	for (p = 0; p < nproc; p++) {
		if (read_line(res[p], line, sizeof(line)) < 0 ||
		    sscanf(line, "idling %d %d", &k, &n) != 2)
			die("child setup");
		idling += k;
		setup_failed += n;
	}
	(void)printf("idling %d\n", idling);
	(void)printf("processes=%d literal_plus=%d setup_s=%.1f "
		     "setup_failed=%d\n",
	    nproc + 1, literal_plus, (now_ns() - t0) / 1e9, setup_failed);
	(void)fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll");
	ap = calloc((size_t)nusers, sizeof(*ap));
	sent_ns = calloc((size_t)nusers, sizeof(*sent_ns));
	ok_ns = calloc((size_t)nusers, sizeof(*ok_ns));
	alat = calloc((size_t)nusers * (size_t)rounds + 1, sizeof(*alat));
	olat = calloc((size_t)nidlers * (size_t)rounds + 1, sizeof(*olat));
	got = calloc((size_t)nidlers, sizeof(*got));
	lat = calloc((size_t)nidlers * (size_t)rounds + 1, sizeof(*lat));
	for (r = 1; r <= rounds; r++) {
		(void)snprintf(line, sizeof(line), "round %d\n", r);
		for (p = 0; p < nproc; p++)
			full_write(cmd[p], line, strlen(line));
		for (p = 0; p < nproc; p++)
			if (read_line(res[p], line, sizeof(line)) < 0)
				die("child ready");
		k = appended;
		append_round(ap);
		appenders_finish(ap, now_ns() + 11 * NS, k);
		for (p = 0; p < nproc; p++) {
			if (read_line(res[p], line, sizeof(line)) < 0 ||
			    sscanf(line, "res %*d %d", &n) != 1 || n != pn[p] ||
			    full_read(res[p], got + plo[p],
				(size_t)n * sizeof(*got)) < 0)
				die("child result");
		}
		rmax = 0;
		lo = hi = 0;
		for (i = 0; i < nusers; i++)
			if (sent_ns[i] != 0 && ok_ns[i] != 0)
				alat[napp++] = ok_ns[i] - sent_ns[i];
		for (i = 0; i < nidlers; i++) {
			if (got[i] > 0 && (lo == 0 || got[i] < lo))
				lo = got[i];
			if (got[i] > hi)
				hi = got[i];
			if (got[i] > 0 && ok_ns[i % nusers] != 0 &&
			    got[i] - sent_ns[i % nusers] <= MISS_NS)
				olat[nok++] = got[i] - ok_ns[i % nusers];
			if (got[i] < 0)
				continue; /* never idled: setup_failed */
			if (got[i] > 0 && sent_ns[i % nusers] != 0 &&
			    got[i] - sent_ns[i % nusers] > rmax)
				rmax = got[i] - sent_ns[i % nusers];
			ln_ns = got[i] - sent_ns[i % nusers];
			if (got[i] == 0 || sent_ns[i % nusers] == 0 ||
			    ln_ns > MISS_NS)
				missed++;
			else
				lat[nlat++] = ln_ns;
		}
		n = snprintf(rounds_max + rlen, sizeof(rounds_max) - rlen,
		    "%s%.1f", r > 1 ? "," : "", rmax / 1e6);
		if (n > 0 && (size_t)n < sizeof(rounds_max) - rlen)
			rlen += (size_t)n;
		n = snprintf(spreads + slen, sizeof(spreads) - slen, "%s%.1f",
		    r > 1 ? "," : "", (hi - lo) / 1e6);
		if (n > 0 && (size_t)n < sizeof(spreads) - slen)
			slen += (size_t)n;
		t0 = now_ns();
		while (now_ns() - t0 < NS)
			pump(50, -1, appender_line);
	}
	qsort(lat, (size_t)nlat, sizeof(*lat), cmp_ll);
	if (nlat > 0)
		(void)printf("p50_ms=%.1f p99_ms=%.1f max_ms=%.1f samples=%d "
			     "missed=%d\n",
		    lat[nlat / 2] / 1e6, lat[(nlat * 99) / 100] / 1e6,
		    lat[nlat - 1] / 1e6, nlat, missed);
	else
		(void)printf("p50_ms=nan p99_ms=nan max_ms=nan samples=0 "
			     "missed=%d\n",
		    missed);
	(void)
	    printf("rounds=%d append_failed=%d round_max_ms=%s spread_ms=%s\n",
		rounds, append_failed, rlen ? rounds_max : "none",
		slen ? spreads : "none");
	qsort(alat, (size_t)napp, sizeof(*alat), cmp_ll);
	qsort(olat, (size_t)nok, sizeof(*olat), cmp_ll);
	if (napp > 0 && nok > 0)
		(void)printf("append_p50_ms=%.1f append_p99_ms=%.1f "
			     "ok_exists_p50_ms=%.1f ok_exists_p99_ms=%.1f\n",
		    alat[napp / 2] / 1e6, alat[(napp * 99) / 100] / 1e6,
		    olat[nok / 2] / 1e6, olat[(nok * 99) / 100] / 1e6);
	(void)fflush(stdout);
	t0 = now_ns();
	for (p = 0; p < nproc; p++)
		full_write(cmd[p], "logout\n", 7);
	for (p = 0; p < nproc; p++) {
		long long l;

		if (read_line(res[p], line, sizeof(line)) < 0 ||
		    sscanf(line, "closed %d %d %lld", &k, &n, &l) != 3)
			die("child logout");
		closed += k;
		stuck += n;
		if (l > last)
			last = l;
	}
	(void)printf("logout_all_s=%.2f closed=%d not_closed=%d\n",
	    (last - t0) / 1e9, closed, stuck);
	(void)fflush(stdout);
	for (p = 0; p < nproc; p++)
		wait(NULL);
	return 0;
}

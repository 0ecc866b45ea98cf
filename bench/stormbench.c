/*
 * stormbench - a login storm against an IMAP server, and one legitimate
 * client trying to get in through it.
 *
 *   stormbench HOST PORT ATTACKERS SECONDS NUSERS PASSWORD [LEGITUSER]
 *
 * Owns: ATTACKERS connections, each from its own source address
 * (127.2.x.y), each sending "LOGIN user<k % NUSERS> <wrong password>"
 * again as soon as the previous one is answered, reconnecting at once
 * when the server closes or says BYE (a refused connect waits 50 ms so
 * a dead server is not a busy loop); and the legitimate client, from
 * 127.3.0.1, which every 200 ms opens a new connection and logs in as
 * LEGITUSER (default user0) with PASSWORD, then LOGOUT.  Its latency is
 * connect to the tagged OK of LOGIN; a NO, BYE, close, refused connect
 * or no OK within 15 s is a failure.  legit_p50/p99/max are over the
 * logins that succeeded; legit_p99_all counts each failure as infinitely
 * slow ("inf" when more than 1% failed).
 *
 * Counting: an attacker's password check is a tagged answer to its
 * LOGIN, counted while the storm lasts (SECONDS).  Legitimate attempts
 * are started during SECONDS and each is followed to its end, the
 * attackers keeping up the pressure meanwhile (at most 15 s more).
 * Per-connection deadline for attackers: 60 s without an answer.
 *
 * One process, epoll: hundreds of attackers are far below the fd limit
 * (ATTACKERS <= 15000).  Output: key=value lines on stdout; "storm t=S
 * answers=N legit_ok=N legit_fail=N" every second on stderr.
 */
#define _GNU_SOURCE
#include <signal.h>

#include "benchutil.h"

#define LEGIT_EVERY (200 * MS)
#define LEGIT_TIMEOUT (15 * NS)
#define ATTACK_TIMEOUT (60 * NS)
#define REFUSED_WAIT (50 * MS)
#define MAXLEGIT 256

enum st { S_OFF, S_CONNECT, S_GREET, S_LOGIN, S_LOGOUT };
enum fail { F_NO, F_BYE, F_CLOSED, F_REFUSED, F_TIMEOUT, F_NFAIL };

static const char *fail_name[F_NFAIL] = { "no", "bye", "closed", "refused",
	"timeout" };

struct conn {
	int fd, legit, user;
	enum st st;
	uint32_t src;
	long long start_ns; /* legit: connect; attacker: last activity */
	long long retry_ns; /* attacker: reconnect not before */
	size_t len;
	char buf[2048];
};

static struct sockaddr_in dst;
static const char *password;
static int ep, counting = 1;
static long long t_start;

static long long a_answers, a_connects, a_refused, a_bye, a_closed;
static long long a_timeouts, a_ok;
static long long l_attempts, l_ok, l_fail[F_NFAIL];
static long long *l_lat;
static size_t l_nlat, l_cap;

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		(void)close(c->fd);
	}
	c->fd = -1;
	c->st = S_OFF;
	c->len = 0;
}

/* conn_open - non-blocking connect; -1 if refused at once */
static int
conn_open(struct conn *c)
{
	c->len = 0;
	c->start_ns = now_ns();
	c->fd = bench_connect(c->src, &dst, ep, c);
	c->st = c->fd < 0 ? S_OFF : S_CONNECT;
	return c->fd < 0 ? -1 : 0;
}

static void
legit_fail(struct conn *c, enum fail f)
{
	l_fail[f]++;
	conn_close(c);
}

/* attacker_gone - the server closed, refused or said BYE: go again */
static void
attacker_gone(struct conn *c, long long *counter, long long wait)
{
	if (counting)
		(*counter)++;
	conn_close(c);
	c->retry_ns = now_ns() + wait;
}

static void
attacker_line(struct conn *c, const char *ln)
{
	if (strncmp(ln, "* BYE", 5) == 0) {
		attacker_gone(c, &a_bye, 0);
		return;
	}
	switch (c->st) {
	case S_GREET:
		if (strncmp(ln, "* OK", 4) != 0)
			break;
		/* FALLTHROUGH */
	case S_LOGIN:
		if (c->st == S_LOGIN) {
			if (strncmp(ln, "a ", 2) != 0)
				break;
			if (counting) {
				a_answers++;
				a_ok += strncmp(ln, "a OK", 4) == 0;
			}
		}
		c->start_ns = now_ns();
		if (fd_sendf(c->fd, "a LOGIN user%d wrong%d\r\n", c->user,
			(int)(a_answers % 1000)) < 0)
			attacker_gone(c, &a_closed, 0);
		else
			c->st = S_LOGIN;
		break;
	default:
		break;
	}
}

static void
legit_line(struct conn *c, const char *ln)
{
	long long t = now_ns();

	switch (c->st) {
	case S_GREET:
		if (strncmp(ln, "* OK", 4) == 0) {
			if (fd_sendf(c->fd, "a LOGIN user%d %s\r\n", c->user,
				password) < 0)
				legit_fail(c, F_CLOSED);
			else
				c->st = S_LOGIN;
		} else if (strncmp(ln, "* BYE", 5) == 0)
			legit_fail(c, F_BYE);
		break;
	case S_LOGIN:
		if (strncmp(ln, "a OK", 4) == 0) {
			l_ok++;
			if (l_nlat == l_cap) {
				l_cap = l_cap ? 2 * l_cap : 1024;
				l_lat = realloc(l_lat, l_cap * sizeof(*l_lat));
				if (l_lat == NULL)
					die("realloc");
			}
			l_lat[l_nlat++] = t - c->start_ns;
			if (fd_sendf(c->fd, "z LOGOUT\r\n") < 0)
				conn_close(c);
			else {
				c->st = S_LOGOUT;
				c->start_ns = t;
			}
		} else if (strncmp(ln, "a ", 2) == 0)
			legit_fail(c, F_NO);
		else if (strncmp(ln, "* BYE", 5) == 0)
			legit_fail(c, F_BYE);
		break;
	default:
		break;
	}
}

static void
conn_input(struct conn *c, uint32_t events)
{
	char *ln;
	size_t pos = 0;
	ssize_t n;

	if (c->st == S_CONNECT) {
		if (bench_connected(c->fd, ep, c) < 0) {
			if (c->legit)
				legit_fail(c, F_REFUSED);
			else
				attacker_gone(c, &a_refused, REFUSED_WAIT);
			return;
		}
		c->st = S_GREET;
		if (!c->legit && counting)
			a_connects++;
		if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			return;
	}
	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len - 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (c->legit && c->st != S_LOGOUT)
			legit_fail(c, F_CLOSED);
		else if (c->legit)
			conn_close(c);
		else
			attacker_gone(c, &a_closed, 0);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	while (c->fd >= 0 && (ln = bench_line_next(c->buf, &pos)) != NULL) {
		if (c->legit)
			legit_line(c, ln);
		else
			attacker_line(c, ln);
	}
	if (c->fd >= 0)
		c->len = bench_line_keep(c->buf, c->len, pos, sizeof(c->buf));
}

/* timers - reconnect attackers, expire stuck connections */
static void
timers(struct conn *att, int na, struct conn *leg, int storming)
{
	long long t = now_ns();
	int i;

	for (i = 0; i < na; i++) {
		struct conn *c = &att[i];

		if (c->st == S_OFF && storming && t >= c->retry_ns) {
			if (conn_open(c) < 0)
				attacker_gone(c, &a_refused, REFUSED_WAIT);
		} else if (c->st != S_OFF && t - c->start_ns > ATTACK_TIMEOUT)
			attacker_gone(c, &a_timeouts, 0);
	}
	for (i = 0; i < MAXLEGIT; i++) {
		struct conn *c = &leg[i];

		if (c->st == S_LOGOUT && t - c->start_ns > 2 * NS)
			conn_close(c);
		else if (c->st != S_OFF && c->st != S_LOGOUT &&
		    t - c->start_ns > LEGIT_TIMEOUT)
			legit_fail(c, F_TIMEOUT);
	}
}

static int
legit_busy(struct conn *leg)
{
	int i, n = 0;

	for (i = 0; i < MAXLEGIT; i++)
		n += leg[i].st != S_OFF && leg[i].st != S_LOGOUT;
	return n;
}

static void
legit_start(struct conn *leg, int user)
{
	int i;

	for (i = 0; i < MAXLEGIT; i++)
		if (leg[i].st == S_OFF)
			break;
	l_attempts++;
	if (i == MAXLEGIT) {
		l_fail[F_TIMEOUT]++; /* cannot happen: 15 s / 200 ms */
		return;
	}
	leg[i].legit = 1;
	leg[i].user = user;
	leg[i].src = (127u << 24) | (3u << 16) | 1u;
	if (conn_open(&leg[i]) < 0)
		l_fail[F_REFUSED]++;
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[512];
	struct conn *att, leg[MAXLEGIT];
	long long seconds, next_legit, next_report, t, t_end;
	int na, nusers, legit_user = 0, i, n;
	long long fails = 0;

	if (argc != 7 && argc != 8) {
		(void)fprintf(stderr,
		    "usage: stormbench HOST PORT ATTACKERS SECONDS "
		    "NUSERS PASSWORD [LEGITUSER]\n");
		return 2;
	}
	na = atoi(argv[3]);
	seconds = atoll(argv[4]);
	nusers = atoi(argv[5]);
	password = argv[6];
	if (argc == 8)
		legit_user = atoi(argv[7]);
	if (na < 0 || na > 15000 || seconds < 1 || nusers < 1)
		return 2;
	(void)signal(SIGPIPE, SIG_IGN);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1)
		return 2;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll");
	att = calloc((size_t)na + 1, sizeof(*att));
	memset(leg, 0, sizeof(leg));
	for (i = 0; i < MAXLEGIT; i++)
		leg[i].fd = -1;
	for (i = 0; i < na; i++) {
		att[i].fd = -1;
		att[i].user = i % nusers;
		att[i].src = (127u << 24) | (2u << 16) |
		    ((unsigned)(i / 250) << 8) | (unsigned)(i % 250 + 1);
	}
	t_start = now_ns();
	t_end = t_start + seconds * NS;
	next_legit = t_start;
	next_report = t_start + NS;
	for (;;) {
		t = now_ns();
		if (t >= t_end && counting)
			counting = 0;
		if (!counting && legit_busy(leg) == 0)
			break;
		if (t >= t_end + LEGIT_TIMEOUT + NS)
			break;
		if (counting && t >= next_legit) {
			legit_start(leg, legit_user);
			next_legit += LEGIT_EVERY;
		}
		if (t >= next_report) {
			for (fails = 0, i = 0; i < F_NFAIL; i++)
				fails += l_fail[i];
			(void)fprintf(stderr,
			    "storm t=%lld answers=%lld legit_ok=%lld "
			    "legit_fail=%lld\n",
			    (t - t_start) / NS, a_answers, l_ok, fails);
			next_report += NS;
		}
		timers(att, na, leg, 1);
		n = epoll_wait(ep, evs, 512, 5);
		for (i = 0; i < n; i++)
			conn_input(evs[i].data.ptr, evs[i].events);
	}
	for (fails = 0, i = 0; i < F_NFAIL; i++)
		fails += l_fail[i];
	(void)printf("attackers=%d seconds=%lld attacker_answers=%lld "
		     "attacker_checks_per_s=%.1f attacker_connects=%lld "
		     "attacker_refused=%lld attacker_bye=%lld "
		     "attacker_closed=%lld "
		     "attacker_timeouts=%lld attacker_ok=%lld\n",
	    na, seconds, a_answers, (double)a_answers / (double)seconds,
	    a_connects, a_refused, a_bye, a_closed, a_timeouts, a_ok);
	qsort(l_lat, l_nlat, sizeof(*l_lat), cmp_ll);
	(void)printf("legit_attempts=%lld legit_ok=%lld legit_fail=%lld",
	    l_attempts, l_ok, fails);
	for (i = 0; i < F_NFAIL; i++)
		(void)printf(" legit_fail_%s=%lld", fail_name[i], l_fail[i]);
	if (l_nlat > 0)
		(void)printf(" legit_p50_ms=%.1f legit_p99_ms=%.1f "
			     "legit_max_ms=%.1f",
		    l_lat[l_nlat / 2] / 1e6, l_lat[(l_nlat * 99) / 100] / 1e6,
		    l_lat[l_nlat - 1] / 1e6);
	else
		(void)printf(
		    " legit_p50_ms=nan legit_p99_ms=nan legit_max_ms=nan");
	/* over every attempt, a failure counting as infinitely slow: the
	 * figure to compare when one server fails most logins */
	i = (int)((l_nlat + (size_t)fails) * 99 / 100);
	if (l_nlat + (size_t)fails == 0)
		(void)printf(" legit_p99_all_ms=nan\n");
	else if ((size_t)i < l_nlat)
		(void)printf(" legit_p99_all_ms=%.1f\n", l_lat[i] / 1e6);
	else
		(void)printf(" legit_p99_all_ms=inf\n");
	for (i = 0; i < na; i++)
		conn_close(&att[i]);
	for (i = 0; i < MAXLEGIT; i++)
		conn_close(&leg[i]);
	return 0;
}

/*
 * proxyp_read - take a PROXY header off a socket, and the accept-time
 * policy around it (see proxyp.h).
 *
 * Nothing after the header is consumed: each step peeks at what has
 * arrived and reads exactly the bytes known to be header: all of them
 * while the header is incomplete (so the next poll waits for new bytes
 * instead of spinning on peeked ones), then the rest of the header once
 * its end is in sight.  Reading byte by byte would do too, at one system
 * call per byte of a 107-byte line.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cfg.h"
#include "ipnet.h"
#include "proxyp.h"

int
proxyp_read(struct proxyp_reader *rd, int fd, struct proxyp_result *r,
    const char **error_r)
{
	ssize_t n, got;
	size_t take;
	int h;

	if (rd->len >= sizeof(rd->buf)) {
		*error_r = "header too long";
		return -1;
	}
	n = recv(fd, rd->buf + rd->len, sizeof(rd->buf) - rd->len,
	    MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0) {
		*error_r = n == 0 ? "connection closed before the PROXY "
				    "header ended"
		    : errno == ECONNRESET ? "connection reset "
					    "before the PROXY header ended"
					  : "read error before the "
					    "PROXY header ended";
		return -1;
	}
	h = proxyp_parse(rd->buf, rd->len + (size_t)n, r, error_r);
	if (h < 0)
		return -1;
	/* an incomplete header cannot end inside what it already holds */
	take = h > 0 ? (size_t)h - rd->len : (size_t)n;
	got = recv(fd, rd->buf + rd->len, take, MSG_DONTWAIT);
	if (got != (ssize_t)take) {
		*error_r = "short read of peeked bytes";
		return -1;
	}
	rd->len += take;
	return h > 0;
}

/* proxyp_now_ms - CLOCK_MONOTONIC in milliseconds */
static long long
proxyp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
proxyp_read_wait(int fd, long long timeout_ms, struct proxyp_result *r,
    const char **error_r)
{
	struct proxyp_reader rd;
	struct pollfd pfd = { fd, POLLIN, 0 };
	long long end = proxyp_now_ms() + timeout_ms, left;
	int n;

	rd.len = 0;
	for (;;) {
		if ((n = proxyp_read(&rd, fd, r, error_r)) != 0)
			return n > 0 ? 0 : -1;
		if ((left = end - proxyp_now_ms()) <= 0) {
			*error_r = rd.len == 0
			    ? "no PROXY header in time"
			    : "PROXY header incomplete in time";
			return -1;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
			*error_r = "poll failed";
			return -1;
		}
	}
}

int
proxyp_trusted(const char *addr, const char *nets, const char **error_r)
{
	struct ipnet a, n, m;
	char one[IPNET_KEYLEN];
	size_t len;
	int found = 0;

	if (nets == NULL || ipnet_parse(addr, &a) < 0)
		return 0;
	for (;;) {
		nets += strspn(nets, " \t,");
		if ((len = strcspn(nets, " \t,")) == 0)
			return found;
		if (len >= sizeof(one))
			len = sizeof(one) - 1;
		memcpy(one, nets, len);
		one[len] = '\0';
		nets += strcspn(nets, " \t,");
		if (ipnet_parse_key(one, &n) < 0) {
			/* the value is the admin's own: say which key */
			*error_r = "proxy_trusted: an entry is not an address "
				   "or network";
			return -1;
		}
		n = ipnet_mask(&n, n.prefix); /* "10.1.2.3/8" too */
		m = ipnet_mask(&a, n.prefix);
		if (m.family == n.family && m.prefix == n.prefix &&
		    memcmp(m.a, n.a, sizeof(m.a)) == 0)
			found = 1;
	}
}

int
proxyp_enabled(const char *service)
{
	return cfg_service_bool(service, "proxy_protocol");
}

int
proxyp_accept(int fd, const char *service, char *addr, size_t size, int *port_r,
    const char **error_r)
{
	struct proxyp_result r;
	int t;

	if (!proxyp_enabled(service))
		return 0;
	t = proxyp_trusted(addr, cfg_service_str(service, "proxy_trusted"),
	    error_r);
	if (t < 0)
		return -1;
	if (t == 0) {
		*error_r = "PROXY header from an address not in proxy_trusted";
		return -1;
	}
	if (proxyp_read_wait(fd, cfg_duration_ms("proxy_timeout"), &r,
		error_r) < 0)
		return -1;
	if (!r.local) {
		snprintf(addr, size, "%s", r.src);
		*port_r = r.sport;
	}
	return 0;
}

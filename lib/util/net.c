/*
 * net - binding listeners from master.conf specs; address formatting.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "err.h"
#include "fd.h"
#include "net.h"

static int
net_bind_unix_type(const char *path, int type, int mode, struct err *err)
{
	struct sockaddr_un sun;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		return err_set(err, "%s: path too long", path);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	if (unlink(path) < 0 && errno != ENOENT)
		goto fail_close;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, (mode_t)mode) < 0)
		goto fail_close;
	return fd;
fail_close:
	err_set(err, "%s: %s", path, strerror(errno));
	(void)close(fd); /* never listened on */
	return -1;
fail:
	return err_set(err, "%s: %s", path, strerror(errno));
}

static int
net_bind_unix(const char *path, struct err *err)
{
	return net_bind_unix_type(path, SOCK_STREAM, 0666, err);
}

int
net_bind_seqpacket(const char *path, struct err *err)
{
	return net_bind_unix_type(path, SOCK_SEQPACKET, 0600, err);
}

int
net_connect_unix(const char *path, int type, struct err *err)
{
	struct sockaddr_un sun;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return err_set(err, "%s: path too long", path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) < 0)
		return err_set(err, "%s: %s", path, strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err_set(err, "%s: %s", path, strerror(errno));
		(void)close(fd); /* never connected: nothing was written */
		return -1;
	}
	return fd;
}

int
net_bind(const char *spec, struct err *err)
{
	struct addrinfo hints, *res = NULL;
	char host[256], *port;
	const char *h = NULL;
	int fd = -1, on = 1, r;

	if (spec[0] == '/')
		return net_bind_unix(spec, err);
	if (strlen(spec) >= sizeof(host)) {
		return err_set(err, "%s: too long", spec);
	}
	strcpy(host, spec);
	if (host[0] == '[') {
		port = strstr(host, "]:");
		if (port == NULL)
			goto bad;
		*port = '\0';
		port += 2;
		h = host + 1;
	} else if ((port = strrchr(host, ':')) != NULL) {
		*port++ = '\0';
		h = host;
	} else {
		port = host;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = h ? AF_UNSPEC : AF_INET6;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((r = getaddrinfo(h, port, &hints, &res)) != 0) {
		if (h == NULL) { /* no IPv6: fall back to IPv4 */
			hints.ai_family = AF_INET;
			r = getaddrinfo(h, port, &hints, &res);
		}
		if (r != 0) {
			return err_set(err, "%s: %s", spec, gai_strerror(r));
		}
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto syserr;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		goto syserr;
	if (res->ai_family == AF_INET6) {
		/* a wildcard listener takes IPv4 too; a named one only v6 */
		int v6only = h != NULL;

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
			sizeof(v6only)) < 0)
			goto syserr;
	}
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0)
		goto syserr;
	freeaddrinfo(res);
	return fd;
syserr:
	err_set(err, "%s: %s", spec, strerror(errno));
	if (fd >= 0)
		fd_close(fd);
	freeaddrinfo(res);
	return -1;
bad:
	return err_set(err, "%s: bad listen address", spec);
}

void
net_addr_str(const struct sockaddr *sa, char *out, size_t size, int *port_r)
{
	const struct sockaddr_in *sin = (const void *)sa;
	const struct sockaddr_in6 *sin6 = (const void *)sa;

	*port_r = 0;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)size);
		*port_r = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], out,
			    (socklen_t)size);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, out,
			    (socklen_t)size);
		*port_r = ntohs(sin6->sin6_port);
	} else if (sa->sa_family == AF_UNIX) {
		(void)snprintf(out, size, "unix");
	} else {
		(void)snprintf(out, size, "unknown");
	}
}

void
net_peer(int fd, char *out, size_t size, int *port_r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	*port_r = 0;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		(void)snprintf(out, size, "unknown");
		return;
	}
	if (len == 0 || ss.ss_family == AF_UNIX) {
		(void)snprintf(out, size, "unix");
		return;
	}
	net_addr_str((struct sockaddr *)&ss, out, size, port_r);
}

int
net_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

void
net_keepalive(int fd)
{
	int on = 1, idle = (int)(cfg_duration_ms("tcp_keepalive_idle") / 1000),
	    intvl = (int)(cfg_duration_ms("tcp_keepalive_intvl") / 1000),
	    cnt = (int)cfg_int("tcp_keepalive_cnt");

	/* best effort: each option that fails leaves the kernel default */
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0)
		return;
	if (idle > 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle,
		    sizeof(idle));
	if (intvl > 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
		    sizeof(intvl));
	if (cnt > 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt,
		    sizeof(cnt));
}

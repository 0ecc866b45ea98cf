/*
 * authd - berth's authentication daemon.  Workers relay SASL steps over
 * a SOCK_SEQPACKET socket; authd runs libsasl2 and answers.  One request
 * at a time per worker connection; a malformed message closes that
 * worker's connection only.
 *
 * XXX(#4): admission, the prioritised backend pool and penalties are the
 * next issue; today checks run inline on the event loop.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "authc.h"
#include "authd.h"
#include "authp.h"
#include "cfg.h"
#include "ipc.h"
#include "log.h"
#include "srv.h"
#include "xalloc.h"

static struct ipc_msg authd_in, authd_out;

/* authd_listen - bind the worker socket */
static int
authd_listen(void)
{
	struct sockaddr_un sun;
	const char *path = authp_socket_path();
	char *dir = xstrdup(path), *slash;
	int fd;

	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			log_fatal("mkdir %s: %m", dir);
	}
	free(dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		log_fatal("authd_socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0)
		log_fatal("socket: %m");
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		log_fatal("bind %s: %m", path);
	chmod(path, 0600);
	if (listen(fd, 256) < 0)
		log_fatal("listen %s: %m", path);
	log_info("listening on %s", path);
	return fd;
}

/* authd_plain_user - the authcid of a PLAIN response, for logs only */
static void
authd_plain_user(struct authd_conn *c, const char *in, size_t len)
{
	const char *a = memchr(in, '\0', len), *b;

	if (a == NULL)
		return;
	a++;
	b = memchr(a, '\0', len - (size_t)(a - in));
	if (b == NULL || (size_t)(b - a) >= sizeof(c->user))
		return;
	memcpy(c->user, a, (size_t)(b - a));
	c->user[b - a] = '\0';
}

/* authd_reply - answer a START/STEP outcome */
static void
authd_reply(struct authd_conn *c, enum authc_result r, const char *out,
    unsigned outlen, const char *text)
{
	const char *user;

	if (r == AUTHC_OK) {
		user = authd_sasl_user(c);
		ipc_msg_init(&authd_out, AUTHP_T_OK);
		ipc_put_str(&authd_out, AUTHP_USER, user ? user : "");
		log_info("login ok user=%s addr=%s mech=%s", user ? user : "",
		    c->addr, c->mech);
		authd_sasl_dispose(c);
	} else if (r == AUTHC_CONTINUE) {
		ipc_msg_init(&authd_out, AUTHP_T_CONTINUE);
		ipc_put(&authd_out, AUTHP_CHAL, out ? out : "", out ? outlen :
		    0);
	} else {
		ipc_msg_init(&authd_out, AUTHP_T_NO);
		ipc_put_u32(&authd_out, AUTHP_CODE, (uint32_t)r);
		ipc_put_str(&authd_out, AUTHP_TEXT, text ? text : "failed");
		log_info("login failed user=%s addr=%s mech=%s reason=\"%s\"",
		    c->user[0] ? c->user : "-", c->addr, c->mech,
		    text ? text : "failed");
		authd_sasl_dispose(c);
	}
	if (ipc_send(c->fd, &authd_out) < 0)
		log_warn("reply to worker failed: %m");
}

static int
authd_start(struct authd_conn *c)
{
	const void *in = NULL;
	const char *out = NULL, *text = NULL;
	unsigned outlen = 0;
	size_t inlen = 0;
	uint32_t port = 0, secure = 0;
	enum authc_result r;
	int has_in;

	if (ipc_get_str(&authd_in, AUTHP_MECH, c->mech, sizeof(c->mech)) < 0
	    || ipc_get_str(&authd_in, AUTHP_ADDR, c->addr, sizeof(c->addr)) <
	    0 || ipc_get_u32(&authd_in, AUTHP_SECURE, &secure) < 0)
		return -1;
	ipc_get_u32(&authd_in, AUTHP_PORT, &port);
	has_in = ipc_get(&authd_in, AUTHP_RESP, &in, &inlen) == 0;
	c->secure = secure != 0;
	c->user[0] = '\0';
	if (has_in && strcasecmp(c->mech, "PLAIN") == 0)
		authd_plain_user(c, in, inlen);
	if (authd_sasl_new(c, c->secure, c->addr, port) < 0) {
		authd_reply(c, AUTHC_UNAVAILABLE, NULL, 0,
		    "authentication service error");
		return 0;
	}
	r = authd_sasl_start(c, c->mech, has_in ? in : NULL,
	    (unsigned)inlen, &out, &outlen, &text);
	authd_reply(c, r, out, outlen, text);
	return 0;
}

static int
authd_step(struct authd_conn *c)
{
	const void *in;
	const char *out = NULL, *text = NULL;
	unsigned outlen = 0;
	size_t inlen;
	enum authc_result r;

	if (ipc_get(&authd_in, AUTHP_RESP, &in, &inlen) < 0)
		return -1;
	if (c->sasl == NULL) {
		authd_reply(c, AUTHC_BADDATA, NULL, 0, "no authentication "
		    "in progress");
		return 0;
	}
	if (strcasecmp(c->mech, "PLAIN") == 0 && !c->user[0])
		authd_plain_user(c, in, inlen);
	if (strcasecmp(c->mech, "LOGIN") == 0 && !c->user[0] &&
	    inlen < sizeof(c->user) && !memchr(in, '\0', inlen)) {
		memcpy(c->user, in, inlen);
		c->user[inlen] = '\0';
	}
	r = authd_sasl_step(c, in, (unsigned)inlen, &out, &outlen, &text);
	authd_reply(c, r, out, outlen, text);
	return 0;
}

/* authd_handle - one message from a worker; -1 closes it */
static int
authd_handle(struct authd_conn *c)
{
	char mechs[1024];
	uint32_t secure = 0;
	int r = ipc_recv(c->fd, &authd_in);

	if (r <= 0) {
		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r < 0)
			log_warn("malformed message from worker: %m; closing");
		return -1;
	}
	if (authd_in.fd >= 0) {
		close(authd_in.fd);
		log_warn("worker sent an fd; closing");
		return -1;
	}
	switch (authd_in.type) {
	case AUTHP_T_START:
		return authd_start(c);
	case AUTHP_T_STEP:
		return authd_step(c);
	case AUTHP_T_ABORT:
		authd_sasl_dispose(c);
		return 0;
	case AUTHP_T_MECHS:
		ipc_get_u32(&authd_in, AUTHP_SECURE, &secure);
		if (authd_sasl_mechs(secure != 0, mechs, sizeof(mechs)) < 0)
			mechs[0] = '\0';
		ipc_msg_init(&authd_out, AUTHP_T_MECHLIST);
		ipc_put_str(&authd_out, AUTHP_MECHS, mechs);
		return ipc_send(c->fd, &authd_out);
	default:
		log_warn("unknown message type %u from worker; closing",
		    authd_in.type);
		return -1;
	}
}

int
main(int argc, char **argv)
{
	struct epoll_event ev, evs[64];
	struct authd_conn *c;
	int ind, lfd, ep, n, i, fd;

	srv_init(argc, argv, "authd", &ind);
	authd_sasl_init();
	lfd = authd_listen();
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		log_fatal("epoll_create: %m");
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			log_fatal("epoll_wait: %m");
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC |
				    SOCK_NONBLOCK);
				if (fd < 0)
					continue;
				c = xcalloc(1, sizeof(*c));
				c->fd = fd;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				continue;
			}
			c = evs[i].data.ptr;
			if (authd_handle(c) < 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				authd_sasl_dispose(c);
				free(c);
			}
		}
	}
}

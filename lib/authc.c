/*
 * authc - the worker's client of authd: one SOCK_SEQPACKET connection,
 * one request at a time, each with a deadline.  Any failure drops the
 * connection and answers AUTHC_UNAVAILABLE.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "authc.h"
#include "authp.h"
#include "buf.h"
#include "cfg.h"
#include "ipc.h"
#include "log.h"

#define AUTHC_TIMEOUT_MS 15000

static int authc_fd = -1;
static struct ipc_msg authc_req, authc_rep;

const char *
authp_socket_path(void)
{
	static char path[1024];
	const char *s = cfg_str("authd_socket");

	if (s != NULL && *s)
		return s;
	snprintf(path, sizeof(path), "%s/socket/authd",
	    cfg_str("configdirectory"));
	return path;
}

void
authc_close(void)
{
	if (authc_fd >= 0)
		close(authc_fd);
	authc_fd = -1;
}

static int
authc_connect(void)
{
	struct sockaddr_un sun;
	const char *path = authp_socket_path();
	int tries;

	if (authc_fd >= 0)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warn("authd_socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	authc_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (authc_fd < 0)
		return -1;
	/* authd may be restarting: give it a moment before giving up */
	for (tries = 0; connect(authc_fd, (struct sockaddr *)&sun,
	    sizeof(sun)) < 0; tries++) {
		if ((errno != ECONNREFUSED && errno != ENOENT &&
		    errno != EAGAIN) || tries >= 30) {
			log_warn("authd unreachable at %s: %m", path);
			authc_close();
			return -1;
		}
		usleep(100000);
	}
	return 0;
}

/* authc_call - send authc_req, wait for authc_rep; -1 drops the link */
static int
authc_call(void)
{
	struct pollfd pfd;
	int r, tries;

	for (tries = 0; tries < 2; tries++) {
		if (authc_connect() < 0)
			return -1;
		if (ipc_send(authc_fd, &authc_req) == 0)
			break;
		authc_close();	/* authd restarted: reconnect once */
	}
	if (authc_fd < 0)
		return -1;
	pfd.fd = authc_fd;
	pfd.events = POLLIN;
	do
		r = poll(&pfd, 1, AUTHC_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		log_warn("authd did not answer within %d ms",
		    AUTHC_TIMEOUT_MS);
		authc_close();
		return -1;
	}
	r = ipc_recv(authc_fd, &authc_rep);
	if (r <= 0) {
		if (r < 0)
			log_warn("bad reply from authd: %m");
		authc_close();
		return -1;
	}
	if (authc_rep.fd >= 0) {
		close(authc_rep.fd);
		authc_rep.fd = -1;
	}
	return 0;
}

/* authc_result - decode a reply */
static enum authc_result
authc_result(struct buf *challenge_r, char *user_r, const char **reason_r)
{
	static char text[256];
	const void *p;
	size_t len;
	uint32_t code;

	switch (authc_rep.type) {
	case AUTHP_T_OK:
		if (ipc_get_str(&authc_rep, AUTHP_USER, user_r,
		    AUTHC_MAX_USER) < 0)
			break;
		return AUTHC_OK;
	case AUTHP_T_CONTINUE:
		if (ipc_get(&authc_rep, AUTHP_CHAL, &p, &len) < 0)
			len = 0;
		buf_reset(challenge_r);
		buf_append(challenge_r, len ? p : "", len);
		return AUTHC_CONTINUE;
	case AUTHP_T_NO:
		if (ipc_get_u32(&authc_rep, AUTHP_CODE, &code) < 0 ||
		    code == AUTHC_OK || code == AUTHC_CONTINUE ||
		    code > AUTHC_UNAVAILABLE)
			break;
		if (reason_r != NULL) {
			if (ipc_get_str(&authc_rep, AUTHP_TEXT, text,
			    sizeof(text)) < 0)
				snprintf(text, sizeof(text), "failed");
			*reason_r = text;
		}
		return (enum authc_result)code;
	}
	log_warn("unexpected reply type %u from authd", authc_rep.type);
	authc_close();
	if (reason_r)
		*reason_r = "authentication service error";
	return AUTHC_UNAVAILABLE;
}

enum authc_result
authc_start(const struct authc_client *cl, const char *mech,
    const char *resp, size_t resp_len, struct buf *challenge_r, char *user_r,
    const char **reason_r)
{
	ipc_msg_init(&authc_req, AUTHP_T_START);
	if (ipc_put_str(&authc_req, AUTHP_MECH, mech) < 0 ||
	    (resp != NULL && ipc_put(&authc_req, AUTHP_RESP, resp,
	    resp_len) < 0) ||
	    ipc_put_str(&authc_req, AUTHP_ADDR, cl->addr) < 0 ||
	    ipc_put_u32(&authc_req, AUTHP_PORT, (uint32_t)cl->port) < 0 ||
	    ipc_put_str(&authc_req, AUTHP_LADDR, cl->local_addr ?
	    cl->local_addr : "") < 0 ||
	    ipc_put_u32(&authc_req, AUTHP_SECURE, (uint32_t)cl->secure) < 0) {
		if (reason_r)
			*reason_r = "authentication data too long";
		return AUTHC_BADDATA;
	}
	if (authc_call() < 0) {
		if (reason_r)
			*reason_r = "authentication service unavailable";
		return AUTHC_UNAVAILABLE;
	}
	return authc_result(challenge_r, user_r, reason_r);
}

enum authc_result
authc_step(const char *resp, size_t resp_len, struct buf *challenge_r,
    char *user_r, const char **reason_r)
{
	ipc_msg_init(&authc_req, AUTHP_T_STEP);
	if (ipc_put(&authc_req, AUTHP_RESP, resp, resp_len) < 0) {
		if (reason_r)
			*reason_r = "authentication data too long";
		return AUTHC_BADDATA;
	}
	if (authc_call() < 0) {
		if (reason_r)
			*reason_r = "authentication service unavailable";
		return AUTHC_UNAVAILABLE;
	}
	return authc_result(challenge_r, user_r, reason_r);
}

void
authc_abort(void)
{
	ipc_msg_init(&authc_req, AUTHP_T_ABORT);
	if (authc_fd >= 0 && ipc_send(authc_fd, &authc_req) < 0)
		authc_close();
}

const char *
authc_mechs(int secure)
{
	static char mechs[1024];

	ipc_msg_init(&authc_req, AUTHP_T_MECHS);
	ipc_put_u32(&authc_req, AUTHP_SECURE, (uint32_t)secure);
	if (authc_call() < 0 || authc_rep.type != AUTHP_T_MECHLIST ||
	    ipc_get_str(&authc_rep, AUTHP_MECHS, mechs, sizeof(mechs)) < 0)
		return NULL;
	return mechs;
}

/*
 * imapd_tls - sessions under TLS: taking a decrypted session from tlsd
 * (a NEW message on the handoff socket, with a plaintext socketpair end
 * as the client fd), and giving a client that said STARTTLS to tlsd.
 *
 * A NEW session was admitted by authd in tlsd (or in the worker that
 * took its STARTTLS): it is not admitted again, only held (authn), as a
 * resumed one is.  It is secure: no LOGINDISABLED, plaintext mechanisms
 * offered, no STARTTLS.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "authlink.h"
#include "cfg.h"
#include "fd.h"
#include "imapd.h"
#include "ipc.h"
#include "log.h"
#include "notify.h"
#include "srv.h"
#include "tlsproto.h"

#define TLS_PASS_TIMEOUT_MS 5000

static struct ipc_msg tls_msg;

/* tls_path - imapd.conf tlsd_socket, or its default */
static const char *
tls_path(void)
{
	return notify_tlsd_path();
}

int
imapd_tls_available(void)
{
	const char *handoff;
	struct stat st;

	return srv_handoff_fd(&handoff) >= 0 && stat(tls_path(), &st) == 0 &&
	    S_ISSOCK(st.st_mode);
}

int
imapd_tls_connect(void)
{
	struct sockaddr_un sun;
	const char *path = tls_path(), *handoff;
	int c;

	if (srv_handoff_fd(&handoff) < 0 ||
	    strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		log_warn("STARTTLS: cannot reach tlsd on %s: %m", path);
		if (c >= 0)
			fd_close(c);
		return -1;
	}
	return c;
}

int
imapd_tls_pass(struct imap_session *s, int c)
{
	struct pollfd pfd = { c, POLLIN, 0 };
	const char *handoff;
	int r;

	srv_handoff_fd(&handoff);
	ipc_msg_init(&tls_msg, TLSPROTO_T_STARTTLS);
	tls_msg.fd = s->fd;
	if (ipc_put_str(&tls_msg, TLSPROTO_ADDR, s->addr) < 0 ||
	    ipc_put_u32(&tls_msg, TLSPROTO_PORT, (uint32_t)s->port) < 0 ||
	    ipc_put_u64(&tls_msg, TLSPROTO_CONNID, s->conn_id) < 0 ||
	    ipc_put_u32(&tls_msg, TLSPROTO_FAILED, (uint32_t)s->failed_logins) <
		0 ||
	    ipc_put_str(&tls_msg, TLSPROTO_HANDOFF, handoff) < 0) {
		fd_close(c);
		return -1;
	}
	/* from here the client may be tlsd's: signals leave it alone */
	imapd_client_watch(-1);
	r = ipc_send(c, &tls_msg);
	tls_msg.fd = -1;
	if (r == 0)
		r = poll(&pfd, 1, TLS_PASS_TIMEOUT_MS) > 0 &&
			ipc_recv(c, &tls_msg) > 0 &&
			tls_msg.type == TLSPROTO_T_TAKEN
		    ? 0
		    : -1;
	if (tls_msg.fd >= 0)
		fd_close(tls_msg.fd); /* none belongs here */
	fd_close(c);
	if (r < 0) {
		log_error("STARTTLS: tlsd did not take the client addr=%s",
		    s->addr);
		imapd_client_watch(s->fd);
		return -1;
	}
	/* tlsd holds the connection now, and tells authd */
	s->parked = 1;
	s->state = IMAP_S_LOGOUT;
	return 0;
}

int
imapd_tls_serve(struct store *st, struct ipc_msg *m)
{
	struct imap_session s;
	char version[32] = "-", cipher[128] = "-", sni[TLSPROTO_MAX_NAME] = "-",
	     peer[TLSPROTO_MAX_NAME] = "";
	uint32_t port = 0, failed = 0, starttls = 0;
	int fd = m->fd;

	imapd_session_init(&s, st, fd);
	if (ipc_get_str(m, TLSPROTO_ADDR, s.addr, sizeof(s.addr)) < 0 ||
	    ipc_get_u32(m, TLSPROTO_PORT, &port) < 0 ||
	    ipc_get_u64(m, TLSPROTO_CONNID, &s.conn_id) < 0) {
		log_warn("malformed TLS session from tlsd dropped");
		s.conn_id = 0;
		imapd_session_done(&s);
		fd_close(fd);
		return 0;
	}
	ipc_get_u32(m, TLSPROTO_FAILED, &failed);
	ipc_get_u32(m, TLSPROTO_STARTTLS, &starttls);
	ipc_get_str(m, TLSPROTO_VERSION, version, sizeof(version));
	ipc_get_str(m, TLSPROTO_CIPHER, cipher, sizeof(cipher));
	ipc_get_str(m, TLSPROTO_SNI, sni, sizeof(sni));
	ipc_get_str(m, TLSPROTO_PEER, peer, sizeof(peer));
	s.port = (int)port;
	s.failed_logins = (int)failed;
	s.secure = s.tls = 1;
	log_set_session(s.conn_id);
	authlink_hold(s.conn_id, s.addr, ""); /* tlsd released it */
	log_info("connect addr=%s port=%d tls=%s cipher=%s sni=%s "
		 "starttls=%s peer=\"%s\"",
	    s.addr, s.port, version, cipher, sni, starttls ? "yes" : "no",
	    peer);
	imapd_serve(&s, !starttls);
	if (!s.parked)
		imapd_session_end(&s);
	imapd_session_done(&s);
	fd_close(fd);
	return s.user[0] != '\0';
}

/*
 * ctl_ipc - berthctl's requests to the daemons that answer on an IPC
 * socket (authd, idled): connect and send, then wait for each reply with
 * a deadline.  Failures are said through ctl_error, naming the daemon.
 */
#include "config.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "ipc.h"
#include "net.h"

int
ctl_ipc_send(const char *name, const char *path, const struct ipc_msg *m)
{
	struct err err;
	int c;

	c = net_connect_unix(path, SOCK_SEQPACKET, &err);
	if (c < 0 || ipc_send(c, m) < 0) {
		/* the request failed: nothing was sent to keep */
		if (c >= 0)
			(void)close(c);
		ctl_error("%s is not reachable at %s (is master running?)",
		    name, path);
		return -1;
	}
	return c;
}

int
ctl_ipc_recv(const char *name, int c, struct ipc_msg *m, uint16_t type, int ms)
{
	struct pollfd pfd = { c, POLLIN, 0 };

	if (poll(&pfd, 1, ms) <= 0 || ipc_recv(c, m) <= 0 || m->type != type) {
		ctl_error("no answer from %s", name);
		return -1;
	}
	return 0;
}

/*
 * notify - send change datagrams to idled; socket paths of idled.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "notify.h"

static int notify_fd = -1;

static const char *
notify_sock(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/socket/%s", cfg_str("configdirectory"),
	    name);
	return buf;
}

const char *
notify_path(void)
{
	static char p[1024];

	return notify_sock("notify", p, sizeof(p));
}

const char *
notify_idled_path(void)
{
	static char p[1024];

	return notify_sock("idled", p, sizeof(p));
}

void
notify_send(uint32_t mboxid, uint64_t modseq)
{
	struct notify_msg m = { NOTIFY_VERSION, mboxid, modseq };
	struct sockaddr_un sun;
	const char *path = notify_path();

	if (notify_fd < 0)
		notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
	if (notify_fd < 0 || strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	(void)sendto(notify_fd, &m, sizeof(m), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, sizeof(sun));
}

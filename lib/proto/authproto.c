/*
 * authproto - helpers of the authd protocol shared by both ends: the socket
 * path, walking repeated fields, the HOLD clock.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "authproto.h"
#include "cfg.h"
#include "ipc.h"

const char *
authproto_socket_path(void)
{
	static char path[1024];
	const char *s = cfg_str("authd_socket");

	if (s != NULL && *s)
		return s;
	/* fits: configdirectory is at most CFG_CONFDIR_MAX */
	(void)snprintf(path, sizeof(path), "%s/socket/authd",
	    cfg_str("configdirectory"));
	return path;
}

int
authproto_field_next(const struct ipc_msg *m, size_t *off, uint16_t *tag_r,
    const void **p_r, size_t *len_r)
{
	uint16_t t, l;

	if (*off < sizeof(struct ipc_hdr))
		*off = sizeof(struct ipc_hdr);
	if (*off + 4 > m->len)
		return 0;
	memcpy(&t, m->data + *off, 2);
	memcpy(&l, m->data + *off + 2, 2);
	if (*off + 4 + l > m->len)
		return -1;
	*tag_r = t;
	*p_r = m->data + *off + 4;
	*len_r = l;
	*off += 4 + (size_t)l;
	return 1;
}

int
authproto_line_next(const struct ipc_msg *m, size_t *off, char *line,
    size_t size)
{
	const void *p;
	size_t len;
	uint16_t tag;

	while (authproto_field_next(m, off, &tag, &p, &len) > 0) {
		if (tag != AUTHPROTO_LINE || len >= size)
			continue;
		memcpy(line, p, len);
		line[len] = '\0';
		return 1;
	}
	return 0;
}

uint64_t
authproto_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

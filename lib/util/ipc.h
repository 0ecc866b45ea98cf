/*
 * ipc - messages over AF_UNIX SOCK_SEQPACKET, with fd passing.
 *
 * One sendmsg() is one message: header {u16 version; u16 type; u32 len}
 * (host byte order; both ends are on one machine) then TLV fields
 * {u16 tag; u16 len; bytes}.  At most one fd travels, in SCM_RIGHTS on the
 * same message it belongs to.  Receivers use MSG_CMSG_CLOEXEC, reject
 * MSG_TRUNC/MSG_CTRUNC, a bad len or an unknown version, and close any fd
 * that arrived with a rejected message.  Unknown tags are skipped.
 * ipc_get_* never exit: they return -1 on a missing or short field.
 * ipc_put_* fail only when the message would pass IPC_MAX_MSG: a message
 * of a few fixed-size fields may ignore their results, because its
 * receiver checks every field it needs and drops a message that lacks
 * one; a message filled in a loop must check each put.
 */
#ifndef BERTH_IPC_H
#define BERTH_IPC_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

#define IPC_VERSION 1
#define IPC_MAX_MSG 65536

struct ipc_hdr {
	uint16_t version;
	uint16_t type;
	uint32_t len; /* whole message, header included */
};

/* a message being built or one received; data holds header + fields */
struct ipc_msg {
	uint16_t type;
	unsigned char data[IPC_MAX_MSG];
	size_t len;
	int fd; /* -1: none */
};

void ipc_msg_init(struct ipc_msg *m, uint16_t type);
int ipc_put(struct ipc_msg *m, uint16_t tag, const void *p, size_t len);
int ipc_put_str(struct ipc_msg *m, uint16_t tag, const char *s);
int ipc_put_u32(struct ipc_msg *m, uint16_t tag, uint32_t v);
int ipc_put_u64(struct ipc_msg *m, uint16_t tag, uint64_t v);

/* ipc_get - first field with tag; -1 when absent */
int ipc_get(const struct ipc_msg *m, uint16_t tag, const void **p_r,
    size_t *len_r);
/* ipc_get_str - copies into out (NUL-terminated); -1 absent or too long */
int ipc_get_str(const struct ipc_msg *m, uint16_t tag, char *out,
    size_t outsize);
int ipc_get_u32(const struct ipc_msg *m, uint16_t tag, uint32_t *v_r);
int ipc_get_u64(const struct ipc_msg *m, uint16_t tag, uint64_t *v_r);

/*
 * ipc_send - send m (with m->fd if >= 0; the caller keeps its fd).
 * Blocks unless the socket is non-blocking.  Returns 0 or -1 (errno).
 */
int ipc_send(int sock, const struct ipc_msg *m) BERTH_CHECK;
/*
 * ipc_recv - receive one message.  Returns 1 on a valid message (m->fd
 * set to a received fd or -1; the caller owns it), 0 on EOF, -1 on error
 * or a malformed message (errno EPROTO; any fd that came with it is
 * closed), or -1 with errno EAGAIN on a non-blocking socket.
 */
int ipc_recv(int sock, struct ipc_msg *m) BERTH_CHECK;

/*
 * ipc_queue - copies of messages a non-blocking socket had no room for,
 * oldest first, sent when it has (fds do not travel in it).
 */
struct ipc_qmsg {
	unsigned char *data;
	size_t len;
};
struct ipc_queue {
	struct ipc_qmsg *m;
	size_t head, n, size;
};
#define IPC_QUEUE_INIT                                                         \
	{                                                                      \
		NULL, 0, 0, 0                                                  \
	}
/* ipc_queue_push - keep a copy of m; -1 when max are waiting already */
int ipc_queue_push(struct ipc_queue *q, const struct ipc_msg *m,
    size_t max) BERTH_CHECK;
/* ipc_queue_flush - send what waits on sock (non-blocking): 0 all sent,
 * 1 the socket is full, -1 a send failed (errno; the message stays) */
int ipc_queue_flush(struct ipc_queue *q, int sock) BERTH_CHECK;
/* ipc_queue_len - how many wait */
size_t ipc_queue_len(const struct ipc_queue *q);
/* ipc_queue_clear - drop what waits and free the queue's memory */
void ipc_queue_clear(struct ipc_queue *q);

#endif

/*
 * ipc - build, send, receive and read SOCK_SEQPACKET messages with TLV
 * fields and at most one fd.  Never exits on bad input.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd.h"
#include "ipc.h"
#include "xalloc.h"

void
ipc_msg_init(struct ipc_msg *m, uint16_t type)
{
	struct ipc_hdr h = { IPC_VERSION, type, sizeof(struct ipc_hdr) };

	m->type = type;
	m->fd = -1;
	memcpy(m->data, &h, sizeof(h));
	m->len = sizeof(h);
}

int
ipc_put(struct ipc_msg *m, uint16_t tag, const void *p, size_t len)
{
	uint16_t t = tag, l = (uint16_t)len;
	struct ipc_hdr h;

	if (len > 0xffff || m->len + 4 + len > IPC_MAX_MSG)
		return -1;
	memcpy(m->data + m->len, &t, 2);
	memcpy(m->data + m->len + 2, &l, 2);
	if (len)
		memcpy(m->data + m->len + 4, p, len);
	m->len += 4 + len;
	memcpy(&h, m->data, sizeof(h));
	h.len = (uint32_t)m->len;
	memcpy(m->data, &h, sizeof(h));
	return 0;
}

int
ipc_put_str(struct ipc_msg *m, uint16_t tag, const char *s)
{
	return ipc_put(m, tag, s, strlen(s));
}

int
ipc_put_u32(struct ipc_msg *m, uint16_t tag, uint32_t v)
{
	return ipc_put(m, tag, &v, sizeof(v));
}

int
ipc_put_u64(struct ipc_msg *m, uint16_t tag, uint64_t v)
{
	return ipc_put(m, tag, &v, sizeof(v));
}

int
ipc_get(const struct ipc_msg *m, uint16_t tag, const void **p_r, size_t *len_r)
{
	size_t off = sizeof(struct ipc_hdr);
	uint16_t t, l;

	while (off + 4 <= m->len) {
		memcpy(&t, m->data + off, 2);
		memcpy(&l, m->data + off + 2, 2);
		if (off + 4 + l > m->len)
			return -1;
		if (t == tag) {
			*p_r = m->data + off + 4;
			*len_r = l;
			return 0;
		}
		off += 4 + (size_t)l;
	}
	return -1;
}

int
ipc_get_str(const struct ipc_msg *m, uint16_t tag, char *out, size_t outsize)
{
	const void *p;
	size_t len;

	if (ipc_get(m, tag, &p, &len) < 0 || len + 1 > outsize ||
	    memchr(p, '\0', len) != NULL)
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

/* ipc_get_fixed - a field of exactly size bytes into out */
static int
ipc_get_fixed(const struct ipc_msg *m, uint16_t tag, void *out, size_t size)
{
	const void *p;
	size_t len;

	if (ipc_get(m, tag, &p, &len) < 0 || len != size)
		return -1;
	memcpy(out, p, size);
	return 0;
}

int
ipc_get_u32(const struct ipc_msg *m, uint16_t tag, uint32_t *v_r)
{
	return ipc_get_fixed(m, tag, v_r, sizeof(*v_r));
}

int
ipc_get_u64(const struct ipc_msg *m, uint16_t tag, uint64_t *v_r)
{
	return ipc_get_fixed(m, tag, v_r, sizeof(*v_r));
}

int
ipc_send(int sock, const struct ipc_msg *m)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)m->data;
	iov.iov_len = m->len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (m->fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.h), &m->fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)m->len ? 0 : -1;
}

int
ipc_recv(int sock, struct ipc_msg *m)
{
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	struct ipc_hdr h;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	ssize_t n;
	int fd = -1, bad = 0;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = m->data;
	iov.iov_len = sizeof(m->data);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof(cm.b);
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k,
			    nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (k = 0; k < nfd; k++) {
				int f;

				memcpy(&f, CMSG_DATA(c) + k * sizeof(int),
				    sizeof(int));
				if (fd < 0 && k == 0)
					fd = f;
				else {
					fd_close(f);
					bad = 1; /* one fd at most */
				}
			}
		}
	}
	if (n == 0 && fd < 0)
		return 0;
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof(h))
		bad = 1;
	if (!bad) {
		memcpy(&h, m->data, sizeof(h));
		if (h.version != IPC_VERSION || h.len != (uint32_t)n)
			bad = 1;
	}
	if (bad) {
		if (fd >= 0)
			fd_close(fd);
		errno = EPROTO;
		return -1;
	}
	m->type = h.type;
	m->len = (size_t)n;
	m->fd = fd;
	return 1;
}

int
ipc_queue_push(struct ipc_queue *q, const struct ipc_msg *m, size_t max)
{
	if (q->n - q->head >= max)
		return -1;
	if (q->head > 0 && q->n == q->size) {
		memmove(q->m, q->m + q->head, (q->n - q->head) * sizeof(*q->m));
		q->n -= q->head;
		q->head = 0;
	}
	if (q->n == q->size) {
		q->size = q->size ? q->size * 2 : 64;
		q->m = xreallocarray(q->m, q->size, sizeof(*q->m));
	}
	q->m[q->n].data = xmemdup(m->data, m->len);
	q->m[q->n].len = m->len;
	q->n++;
	return 0;
}

int
ipc_queue_flush(struct ipc_queue *q, int sock)
{
	struct ipc_qmsg *e;
	ssize_t n;

	while (q->head < q->n) {
		e = &q->m[q->head];
		n = send(sock, e->data, e->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n != (ssize_t)e->len) {
			if (n >= 0)
				errno = EMSGSIZE; /* a short send */
			return -1;
		}
		free(e->data);
		q->head++;
	}
	q->head = q->n = 0;
	return 0;
}

size_t
ipc_queue_len(const struct ipc_queue *q)
{
	return q->n - q->head;
}

void
ipc_queue_clear(struct ipc_queue *q)
{
	while (q->head < q->n)
		free(q->m[q->head++].data);
	free(q->m);
	q->m = NULL;
	q->head = q->n = q->size = 0;
}

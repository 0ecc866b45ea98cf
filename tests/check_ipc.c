/*
 * check_ipc - unit tests for the IPC framing (lib/util/ipc) over a real
 * SOCK_SEQPACKET pair: fields in and out, and every message ipc_recv must
 * refuse (truncated, a bad version, a length that is not the message's,
 * too big, more than one fd) without leaking a descriptor that came with
 * it; a field whose length runs past the message is not read.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_run.h"
#include "err.h"
#include "fd.h"
#include "ipc.h"
#include "net.h"

static int sv[2];
static struct ipc_msg m, got;

static void
setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	got.fd = -1;
}

static void
teardown(void)
{
	fd_close(sv[0]);
	fd_close(sv[1]);
	if (got.fd >= 0)
		fd_close(got.fd);
}

/* open_fds - how many descriptors this process has open */
static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* send_raw - len bytes of p as one message, with nfd copies of fd */
static void
send_raw(const void *p, size_t len, int fd, int nfd)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 2)];
	} cm;
	int fds[2] = { fd, fd };

	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfd > 0) {
		mh.msg_control = cm.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfd);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfd);
		memcpy(CMSG_DATA(&cm.h), fds, sizeof(int) * (size_t)nfd);
	}
	ck_assert_int_eq(sendmsg(sv[0], &mh, 0), (ssize_t)len);
}

/* refused - the next message is refused (EPROTO), nothing leaked */
static void
refused(int fds_before)
{
	errno = 0;
	ck_assert_int_eq(ipc_recv(sv[1], &got), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_int_eq(open_fds(), fds_before);
}

START_TEST(test_fields_round_trip)
{
	const void *p;
	size_t len;
	uint32_t u32;
	uint64_t u64;
	char s[8];

	ipc_msg_init(&m, 7);
	ck_assert_int_eq(ipc_put_str(&m, 1, "alice"), 0);
	ck_assert_int_eq(ipc_put_u32(&m, 2, 42), 0);
	/* an unknown tag: skipped */
	ck_assert_int_eq(ipc_put(&m, 9, "xx", 2), 0);
	ck_assert_int_eq(ipc_put_u64(&m, 3, 1ULL << 40), 0);
	ck_assert_int_eq(ipc_put_str(&m, 4, "a longer string"), 0);
	ck_assert_int_eq(ipc_send(sv[0], &m), 0);
	ck_assert_int_eq(ipc_recv(sv[1], &got), 1);
	ck_assert_uint_eq(got.type, 7);
	ck_assert_int_eq(got.fd, -1);
	ck_assert_int_eq(ipc_get_str(&got, 1, s, sizeof(s)), 0);
	ck_assert_str_eq(s, "alice");
	ck_assert_int_eq(ipc_get_u32(&got, 2, &u32), 0);
	ck_assert_uint_eq(u32, 42);
	ck_assert_int_eq(ipc_get_u64(&got, 3, &u64), 0);
	ck_assert(u64 == 1ULL << 40);
	/* absent, too long for the buffer, the wrong size for a number */
	ck_assert_int_eq(ipc_get(&got, 5, &p, &len), -1);
	ck_assert_int_eq(ipc_get_str(&got, 4, s, sizeof(s)), -1);
	ck_assert_int_eq(ipc_get_u32(&got, 3, &u32), -1);
	ck_assert_int_eq(ipc_get_u64(&got, 2, &u64), -1);
}
END_TEST

START_TEST(test_string_with_nul_refused)
{
	char s[16];

	ipc_msg_init(&m, 1);
	ck_assert_int_eq(ipc_put(&m, 1, "a\0b", 3), 0);
	ck_assert_int_eq(ipc_send(sv[0], &m), 0);
	ck_assert_int_eq(ipc_recv(sv[1], &got), 1);
	ck_assert_int_eq(ipc_get_str(&got, 1, s, sizeof(s)), -1);
}
END_TEST

START_TEST(test_message_full)
{
	static char big[IPC_MAX_MSG];
	size_t n = 0;

	ipc_msg_init(&m, 1);
	while (ipc_put(&m, 1, big, 60000) == 0)
		n++;
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_le(m.len, IPC_MAX_MSG);
	/* a field longer than a u16 cannot be put at all */
	ipc_msg_init(&m, 1);
	ck_assert_int_eq(ipc_put(&m, 1, big, 70000), -1);
}
END_TEST

START_TEST(test_truncated)
{
	struct ipc_hdr h = { IPC_VERSION, 1, sizeof(h) };
	int fds = open_fds();

	send_raw(&h, sizeof(h) - 1, -1, 0);
	refused(fds);
	send_raw(&h, 1, -1, 0);
	refused(fds);
}
END_TEST

START_TEST(test_bad_version)
{
	struct ipc_hdr h = { IPC_VERSION + 1, 1, sizeof(h) };
	int fds = open_fds();

	send_raw(&h, sizeof(h), -1, 0);
	refused(fds);
	h.version = 0;
	send_raw(&h, sizeof(h), -1, 0);
	refused(fds);
}
END_TEST

START_TEST(test_wrong_length)
{
	unsigned char b[64];
	struct ipc_hdr h = { IPC_VERSION, 1, sizeof(b) + 1 };
	int fds = open_fds();

	memset(b, 0, sizeof(b));
	memcpy(b, &h, sizeof(h));
	send_raw(b, sizeof(b), -1, 0); /* says more than came */
	refused(fds);
	h.len = sizeof(h);
	memcpy(b, &h, sizeof(h));
	send_raw(b, sizeof(b), -1, 0); /* says less */
	refused(fds);
	h.len = sizeof(b);
	memcpy(b, &h, sizeof(h));
	send_raw(b, sizeof(b), -1, 0); /* right: zero fields */
	ck_assert_int_eq(ipc_recv(sv[1], &got), 1);
}
END_TEST

START_TEST(test_too_big)
{
	static unsigned char b[IPC_MAX_MSG + 100];
	struct ipc_hdr h = { IPC_VERSION, 1, sizeof(b) };
	int fds = open_fds(), fd = open("/dev/null", O_RDONLY);

	memcpy(b, &h, sizeof(h));
	send_raw(b, sizeof(b), fd, 1);
	refused(fds + 1); /* our fd; the copy sent is closed */
	fd_close(fd);
}
END_TEST

START_TEST(test_field_past_the_end)
{
	const void *p;
	size_t len;
	uint16_t f[2] = { 1, 200 }; /* tag 1, 200 bytes: only 4 follow */
	unsigned char b[sizeof(struct ipc_hdr) + 8];
	struct ipc_hdr h = { IPC_VERSION, 1, sizeof(b) };

	memset(b, 'x', sizeof(b));
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), f, sizeof(f));
	send_raw(b, sizeof(b), -1, 0);
	ck_assert_int_eq(ipc_recv(sv[1], &got), 1);
	ck_assert_int_eq(ipc_get(&got, 1, &p, &len), -1);
}
END_TEST

START_TEST(test_one_fd_travels)
{
	int p[2];
	char c;

	ck_assert_int_eq(pipe(p), 0);
	ipc_msg_init(&m, 3);
	m.fd = p[1];
	ck_assert_int_eq(ipc_send(sv[0], &m), 0);
	ck_assert_int_eq(ipc_recv(sv[1], &got), 1);
	ck_assert_int_ge(got.fd, 0);
	ck_assert_int_ne(got.fd, p[1]);
	ck_assert(fcntl(got.fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(write(got.fd, "k", 1), 1);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	fd_close(p[0]);
	fd_close(p[1]);
}
END_TEST

START_TEST(test_two_fds_refused)
{
	struct ipc_hdr h = { IPC_VERSION, 1, sizeof(h) };
	int fds = open_fds(), fd = open("/dev/null", O_RDONLY);

	send_raw(&h, sizeof(h), fd, 2);
	refused(fds + 1); /* both copies closed */
	fd_close(fd);
}
END_TEST

START_TEST(test_fd_with_a_bad_message_closed)
{
	struct ipc_hdr h = { IPC_VERSION + 7, 1, sizeof(h) };
	int fds = open_fds(), fd = open("/dev/null", O_RDONLY);

	send_raw(&h, sizeof(h), fd, 1);
	refused(fds + 1);
	fd_close(fd);
}
END_TEST

START_TEST(test_eof_and_empty)
{
	int fds = open_fds(), fd = open("/dev/null", O_RDONLY);

	/* an empty message with an fd is no EOF, and no message either */
	send_raw("", 0, fd, 1);
	refused(fds + 1);
	fd_close(fd);
	fd_close(sv[0]);
	sv[0] = -1;
	ck_assert_int_eq(ipc_recv(sv[1], &got), 0);
}
END_TEST

START_TEST(test_queue)
{
	struct ipc_queue q = IPC_QUEUE_INIT;
	uint32_t v;
	int i;

	for (i = 0; i < 3; i++) {
		ipc_msg_init(&m, 5);
		ck_assert_int_eq(ipc_put_u32(&m, 1, (uint32_t)i), 0);
		ck_assert_int_eq(ipc_queue_push(&q, &m, 3), 0);
	}
	ck_assert_int_eq(ipc_queue_push(&q, &m, 3), -1);
	ck_assert_uint_eq(ipc_queue_len(&q), 3);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(ipc_queue_flush(&q, sv[0]), 0);
	ck_assert_uint_eq(ipc_queue_len(&q), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(ipc_recv(sv[1], &got), 1);
		ck_assert_int_eq(ipc_get_u32(&got, 1, &v), 0);
		ck_assert_uint_eq(v, (uint32_t)i); /* oldest first */
	}
	ipc_queue_clear(&q);
}
END_TEST

/* net_connect_unix: a listener's messages arrive; a missing socket and a
 * path too long for sun_path are refused with a reason, no fd left open */
START_TEST(test_connect_unix)
{
	char dir[] = "/tmp/check_ipc.XXXXXX", path[64], lng[200];
	struct err err;
	int l, c, a, before = open_fds();

	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/s", dir);
	ck_assert_int_eq(net_connect_unix(path, SOCK_SEQPACKET, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, strerror(ENOENT)));
	memset(lng, 'x', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	ck_assert_int_eq(net_connect_unix(lng, SOCK_SEQPACKET, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "too long"));
	ck_assert_int_eq(open_fds(), before);
	ck_assert_int_ge(l = net_bind_seqpacket(path, &err), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_ge(c = net_connect_unix(path, SOCK_SEQPACKET, &err), 0);
	ck_assert_int_eq(fcntl(c, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_ge(a = accept(l, NULL, NULL), 0);
	ipc_msg_init(&m, 9);
	ck_assert_int_eq(ipc_send(c, &m), 0);
	ck_assert_int_eq(ipc_recv(a, &got), 1);
	ck_assert_uint_eq(got.type, 9);
	fd_close(a);
	fd_close(c);
	fd_close(l);
	(void)unlink(path);
	(void)rmdir(dir);
}
END_TEST

CHECK_MAIN("ipc", CHECK_OPTS(setup, teardown, 0, 0),
    CHECK_TEST(test_fields_round_trip),
    CHECK_TEST(test_string_with_nul_refused), CHECK_TEST(test_message_full),
    CHECK_TEST(test_truncated), CHECK_TEST(test_bad_version),
    CHECK_TEST(test_wrong_length), CHECK_TEST(test_too_big),
    CHECK_TEST(test_field_past_the_end), CHECK_TEST(test_one_fd_travels),
    CHECK_TEST(test_two_fds_refused),
    CHECK_TEST(test_fd_with_a_bad_message_closed),
    CHECK_TEST(test_eof_and_empty), CHECK_TEST(test_queue),
    CHECK_TEST(test_connect_unix))

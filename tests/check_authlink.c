/*
 * check_authn - unit tests for lib/proto/authlink against a stand-in authd on a
 * private socket: events never block the caller, even when authd does
 * not read; what the process holds is replayed on a new link; closes and
 * releases are honoured.
 */
#include "config.h"

#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "authlink.h"
#include "clock.h"
#include "authproto.h"
#include "cfg.h"
#include "err.h"
#include "fd.h"
#include "ipc.h"

#define NIDS 3000

static char dir[64];
static int lfd = -1;
static unsigned char seen[NIDS + 1], closed[NIDS + 1];

static void
setup(void)
{
	struct sockaddr_un sun;
	char conf[256];
	struct err err;

	(void)snprintf(dir, sizeof(dir), "/tmp/check-authlink-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(conf, sizeof(conf),
	    "configdirectory: %s\n"
	    "authd_socket: %s/authd\n",
	    dir, dir);
	ck_assert_int_eq(cfg_load_text("imapd.conf", conf, strlen(conf), NULL,
			     &err),
	    0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/authd", dir);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	memset(seen, 0, sizeof(seen));
	memset(closed, 0, sizeof(closed));
}

static void
teardown(void)
{
	char path[128];

	authlink_disconnect();
	fd_close(lfd);
	(void)snprintf(path, sizeof(path), "%s/authd", dir);
	(void)unlink(path);
	(void)rmdir(dir);
}

static int count(const unsigned char *a);

/* take - read what authd would get on c, for up to ms or until want
 * holds have been seen */
static void
take(int c, long long ms, int want)
{
	static struct ipc_msg m;
	struct pollfd pfd = { c, POLLIN, 0 };
	long long end = clock_mono_ms() + ms;
	const void *p;
	size_t off, len;
	uint16_t tag;
	uint64_t id;

	while (clock_mono_ms() < end && count(seen) < want) {
		authlink_tick(); /* lets queued events out */
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		if (ipc_recv(c, &m) <= 0)
			return;
		for (off = 0;
		     authproto_field_next(&m, &off, &tag, &p, &len) > 0;) {
			if (tag != AUTHPROTO_CONNID || len != 8)
				continue;
			memcpy(&id, p, 8);
			ck_assert_uint_le(id, NIDS);
			if (m.type == AUTHPROTO_T_HOLD)
				seen[id] = 1;
			else if (m.type == AUTHPROTO_T_CLOSED)
				closed[id] = 1;
		}
	}
}

/* accept_tick - authd's accept, while the process goes on with events */
static int
accept_tick(long long ms)
{
	struct pollfd pfd = { lfd, POLLIN, 0 };
	long long end = clock_mono_ms() + ms;

	while (clock_mono_ms() < end) {
		authlink_tick();
		if (poll(&pfd, 1, 20) > 0)
			return accept(lfd, NULL, NULL);
	}
	return -1;
}

static int
count(const unsigned char *a)
{
	int i, n = 0;

	for (i = 1; i <= NIDS; i++)
		n += a[i];
	return n;
}

START_TEST(test_never_blocks)
{
	int i, c;

	/* authd accepts nothing and reads nothing for a while: every call
	 * returns all the same (one that blocked would never return, and
	 * the case's timeout would fail it) */
	for (i = 1; i <= NIDS; i++)
		authlink_hold((uint64_t)i, "192.0.2.7", "ann");
	ck_assert_uint_eq(authlink_held(), NIDS);
	/* then it catches up: every hold arrives */
	c = accept_tick(1000);
	ck_assert_int_ge(c, 0);
	take(c, 3000, NIDS);
	ck_assert_int_eq(count(seen), NIDS);
	fd_close(c);
}
END_TEST

START_TEST(test_replay_after_restart)
{
	int i, c;

	for (i = 1; i <= 10; i++)
		authlink_hold((uint64_t)i, "192.0.2.7", "");
	c = accept_tick(1000);
	ck_assert_int_ge(c, 0);
	authlink_closed(3);
	authlink_release(4); /* handed on: not ours to report */
	take(c, 300, 1000);
	ck_assert_int_eq(count(seen), 10);
	ck_assert_int_eq(closed[3], 1);
	ck_assert_int_eq(closed[4], 0);
	/* authd dies; the next event finds out and makes a new link */
	fd_close(c);
	memset(seen, 0, sizeof(seen));
	authlink_hold(11, "192.0.2.8", "bob");
	authlink_hold(12, "192.0.2.8", "bob");
	c = accept_tick(3000);
	ck_assert_int_ge(c, 0);
	take(c, 2000, 10);
	take(c, 100, 1000); /* and nothing else */
	/* the new authd hears of everything still held, and only that */
	ck_assert_int_eq(count(seen), 10);
	ck_assert_int_eq(seen[3], 0);
	ck_assert_int_eq(seen[4], 0);
	ck_assert_int_eq(seen[11], 1);
	ck_assert_int_eq(seen[12], 1);
	fd_close(c);
}
END_TEST

START_TEST(test_no_authd)
{
	int i;

	/* nobody listens: events return (a connect refused) and are kept
	 * for later */
	fd_close(lfd);
	lfd = -1;
	for (i = 1; i <= 100; i++)
		authlink_hold((uint64_t)i, "192.0.2.9", "");
	authlink_closed(7);
	authlink_tick();
	ck_assert_uint_eq(authlink_held(), 99);
	ck_assert_uint_ne(authlink_new_id(), 0);
}
END_TEST

/* authproto_line_next gives the LINE fields in order, NUL-terminated,
 * and passes over other tags and lines too long for the buffer */
START_TEST(test_line_next)
{
	struct ipc_msg m;
	char line[8];
	size_t off = 0;

	ipc_msg_init(&m, AUTHPROTO_T_CTL_REPLY);
	ck_assert_int_eq(ipc_put_str(&m, AUTHPROTO_LINE, "a\tb"), 0);
	ck_assert_int_eq(ipc_put_u32(&m, AUTHPROTO_CODE, 7), 0);
	ck_assert_int_eq(ipc_put_str(&m, AUTHPROTO_LINE, "12345678"), 0);
	ck_assert_int_eq(ipc_put(&m, AUTHPROTO_LINE, "1234567", 7), 0);
	ck_assert_int_eq(ipc_put(&m, AUTHPROTO_LINE, "", 0), 0);
	ck_assert_int_eq(authproto_line_next(&m, &off, line, sizeof(line)), 1);
	ck_assert_str_eq(line, "a\tb");
	ck_assert_int_eq(authproto_line_next(&m, &off, line, sizeof(line)), 1);
	ck_assert_str_eq(line, "1234567");
	ck_assert_int_eq(authproto_line_next(&m, &off, line, sizeof(line)), 1);
	ck_assert_str_eq(line, "");
	ck_assert_int_eq(authproto_line_next(&m, &off, line, sizeof(line)), 0);
	/* a field cut short ends the walk */
	off = 0;
	m.len -= 5;
	ck_assert_int_eq(authproto_line_next(&m, &off, line, sizeof(line)), 1);
	ck_assert_str_eq(line, "a\tb");
	ck_assert_int_eq(authproto_line_next(&m, &off, line, sizeof(line)), 0);
}
END_TEST

CHECK_MAIN("authlink", CHECK_OPTS(setup, teardown, 20, 1),
    CHECK_TEST(test_never_blocks), CHECK_TEST(test_replay_after_restart),
    CHECK_TEST(test_no_authd), CHECK_TEST(test_line_next))

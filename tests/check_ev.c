/*
 * check_ev - unit tests for the event loop: timers fire in time order and
 * not after deletion, descriptors dispatch, deferred frees.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_run.h"
#include "clock.h"
#include "ev.h"
#include "fd.h"

static int fired[64], nfired;

static void
on_timer(struct ev_timer *t, void *ctx)
{
	(void)t;
	fired[nfired++] = (int)(long)ctx;
}

START_TEST(test_timer_order)
{
	struct ev_timer t[40];
	long long start;
	int i;

	ev_init();
	memset(t, 0, sizeof(t));
	nfired = 0;
	/* a scrambled order of due times, some deleted, one re-armed */
	for (i = 0; i < 40; i++)
		ev_timer_add(&t[i], (i * 7) % 40, on_timer, (void *)(long)i);
	for (i = 0; i < 40; i += 5)
		ev_timer_del(&t[i]);
	ev_timer_add(&t[1], 60, on_timer, (void *)(long)1);
	start = clock_mono_ms();
	while (nfired < 32 && clock_mono_ms() - start < 2000)
		ev_run_once(100);
	ck_assert_int_eq(nfired, 32);
	for (i = 1; i < nfired; i++) {
		int a = fired[i - 1], b = fired[i];
		int da = a == 1 ? 60 : (a * 7) % 40,
		    db = b == 1 ? 60 : (b * 7) % 40;

		ck_assert_int_le(da, db);
		ck_assert_int_ne(b % 5, 0);
	}
	ck_assert_int_eq(fired[nfired - 1], 1);
	for (i = 0; i < 40; i++)
		ck_assert(!ev_timer_armed(&t[i]));
}
END_TEST

struct obj {
	struct ev_io io;
	int got;
};

static struct obj *victim;

/* on_read - the first callback frees the other object, whose event may
 * be in the same batch: it must not run */
static void
on_read(struct ev_io *io, unsigned events, void *ctx)
{
	struct obj *o = ctx;
	char b[16];

	ck_assert(events & EV_READ);
	ck_assert_int_gt(read(io->fd, b, sizeof(b)), 0);
	o->got++;
	if (victim != NULL && victim != o) {
		ev_io_del(&victim->io);
		ev_defer_free(victim);
		victim = NULL;
	}
}

START_TEST(test_io_and_defer)
{
	int p1[2], p2[2], total;
	struct obj *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	ev_init();
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p1), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p2), 0);
	ck_assert_int_eq(ev_io_add(&a->io, p1[0], EV_READ, on_read, a), 0);
	ck_assert_int_eq(ev_io_add(&b->io, p2[0], EV_READ, on_read, b), 0);
	ck_assert_int_eq(write(p1[1], "x", 1), 1);
	ck_assert_int_eq(write(p2[1], "y", 1), 1);
	victim = b;
	ev_run_once(1000);
	/* one of them ran and freed the other, whose event did not run */
	total = victim == NULL ? 1 : 0;
	ck_assert_int_eq(total, 1);
	ck_assert_int_eq(a->got, 1);
	ev_io_del(&a->io);
	free(a);
	fd_close(p1[0]);
	fd_close(p1[1]);
	fd_close(p2[0]);
	fd_close(p2[1]);
}
END_TEST

CHECK_MAIN("ev", CHECK_OPTS(NULL, NULL, 10, 0), CHECK_TEST(test_timer_order),
    CHECK_TEST(test_io_and_defer))

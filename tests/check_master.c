/*
 * check_master - unit tests for master's due times (master_event.c,
 * master_pool.c) with a fake clock and a fake spawn: after a round has
 * acted, no due time it reports may lie in the past, or the main loop
 * polls with a zero timeout for ever (it did after a store recovery).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "master.h"

struct master master;
static long long fake_now = 1000000;
static int spawn_result = -1, spawns, failchks;

long long
master_now_ms(void)
{
	return fake_now;
}

pid_t
master_spawn(struct master_svc *svc)
{
	(void)svc;
	spawns++;
	return spawn_result;
}

int
master_run_wait(struct master_svc *svc)
{
	(void)svc;
	return 0;
}

struct master_child *
master_child_find(pid_t pid)
{
	(void)pid;
	return NULL;
}

void
master_child_remove(pid_t pid)
{
	(void)pid;
}

void
master_store_failchk_soon(const char *why)
{
	(void)why;
	failchks++;
}

static struct master_svc svc, *svcs[1] = { &svc };

static void
setup(void)
{
	memset(&master, 0, sizeof(master));
	memset(&svc, 0, sizeof(svc));
	svc.e.section = MCONF_SERVICES;
	svc.e.name = (char *)"imap";
	svc.e.prefork = 2;
	svc.e.maxchild = 10;
	svc.e.at = -1;
	svc.lfd = 0;
	svc.hfd = -1;
	master.svcs = svcs;
	master.nsvcs = 1;
	spawns = failchks = 0;
	spawn_result = -1;
}

/* due - the earliest due time of both modules, as master_loop takes it */
static long long
due(void)
{
	long long a = master_event_next_ms(), b = master_pool_next_ms();

	return a == 0 || (b != 0 && b < a) ? b : a;
}

/* a service throttled after workers died before they were ready (as
 * around a store recovery): once the throttle passed and a round ran,
 * nothing is due in the past */
START_TEST(test_throttle_passed)
{
	long long d;

	svc.next_ms = fake_now - 5000; /* throttle long over */
	svc.lfd = -1;		       /* no listener: nothing to fork */
	master_pool_adjust();
	master_event_tick();
	d = due();
	ck_assert_msg(d == 0 || d > fake_now, "due %lld at now %lld", d,
	    fake_now);
}
END_TEST

/* a shortage noted before the service was removed wakes no one */
START_TEST(test_removed_short)
{
	svc.short_ms = svc.grow_ms = fake_now - 2000;
	svc.removed = 1;
	master_pool_adjust();
	master_event_tick();
	ck_assert_int_eq(master_pool_next_ms(), 0);
}
END_TEST

/* a fork that fails (program gone, fork failing) throttles the service
 * instead of being due again at once, every round */
START_TEST(test_spawn_fails)
{
	long long d;
	int round;

	svc.short_ms = svc.grow_ms = fake_now - 2000; /* gap is 0 */
	for (round = 0; round < 3; round++) {
		master_pool_adjust();
		master_event_tick();
		d = due();
		ck_assert_msg(d == 0 || d > fake_now,
		    "round %d: due %lld at "
		    "now %lld",
		    round, d, fake_now);
	}
	ck_assert_int_eq(spawns, 1);
}
END_TEST

/* the loop's timeout: none, past, near, far */
START_TEST(test_loop_timeout)
{
	ck_assert_int_eq(master_loop_timeout(0, 5000), 1000);
	ck_assert_int_eq(master_loop_timeout(4000, 5000), 0);
	ck_assert_int_eq(master_loop_timeout(5300, 5000), 300);
	ck_assert_int_eq(master_loop_timeout(900000, 5000), 1000);
}
END_TEST

CHECK_MAIN("master", CHECK_OPTS(setup, NULL, 10, 0),
    CHECK_TEST(test_throttle_passed), CHECK_TEST(test_removed_short),
    CHECK_TEST(test_spawn_fails), CHECK_TEST(test_loop_timeout))

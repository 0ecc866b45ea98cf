/*
 * check_idled_limits - unit tests for idled's caps (idled/idled_limits.c):
 * idled_maxuser per user and idled_maxusernet per user and client
 * network, each evicting the user's oldest session (never the one that
 * just parked) with a BYE [LIMIT]; other users and other networks do not
 * count; sessions not logged in are not capped.  The rest of idled is
 * stood in for below: sessions are built here, writes and drops recorded.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "err.h"
#include "check_run.h"
#include "idled.h"

struct isess *idled_all_head, *idled_all_tail;
size_t idled_nsess;

static struct iuser users[2];
static struct isess *made[16];
static size_t nmade;
static char said[16][128]; /* the last text written to made[i] */
static int dropped[16];

/* idled_sess.c, idled_client.c, idled_authd.c: what limits calls */
static size_t
which(const struct isess *s)
{
	size_t i;

	for (i = 0; i < nmade && made[i] != s; i++)
		;
	ck_assert_uint_lt(i, nmade);
	return i;
}

int
idled_sess_write(struct isess *s, const char *text, size_t len)
{
	(void)snprintf(said[which(s)], sizeof(said[0]), "%.*s", (int)len, text);
	return 0;
}

void
idled_sess_drop(struct isess *s, const char *reason)
{
	struct iuser *u = s->user;

	(void)reason;
	dropped[which(s)] = 1;
	if (s->uprev != NULL)
		s->uprev->unext = s->unext;
	else
		u->head = s->unext;
	if (s->unext != NULL)
		s->unext->uprev = s->uprev;
	else
		u->tail = s->uprev;
	u->nsess--;
	ev_timer_del(&s->timer);
}

void
idled_net(const char *addr, char *out, size_t size)
{
	(void)snprintf(out, size, "%.*s", (int)(strrchr(addr, '.') - addr),
	    addr);
}

void
idled_authd_tick(void)
{
}

void
idled_mbox_expire(void)
{
}

int
idled_client_input(struct isess *s)
{
	(void)s;
	return 0;
}

static void
setup_caps(const char *maxuser, const char *maxusernet)
{
	struct err err;

	ev_init();
	ck_assert_int_eq(cfg_load_text("t", "", 0, NULL, &err), 0);
	ck_assert_int_eq(cfg_set("idled_maxuser", maxuser, &err), 0);
	ck_assert_int_eq(cfg_set("idled_maxusernet", maxusernet, &err), 0);
	memset(users, 0, sizeof(users));
	users[0].name = (char *)"alice";
	users[1].name = (char *)"bob";
	nmade = 0;
	memset(said, 0, sizeof(said));
	memset(dropped, 0, sizeof(dropped));
}

/* park - a session of user u from addr joins (newest last), and the caps
 * are applied; its index in made[] */
static size_t
park(struct iuser *u, const char *addr, int kind)
{
	struct isess *s = calloc(1, sizeof(*s) + strlen(addr) + 1);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_lt(nmade, sizeof(made) / sizeof(made[0]));
	strcpy(s->addr, addr);
	s->fd = -1;
	s->kind = (uint8_t)kind;
	s->user = u;
	s->uprev = u->tail;
	if (u->tail != NULL)
		u->tail->unext = s;
	else
		u->head = s;
	u->tail = s;
	u->nsess++;
	made[nmade] = s;
	idled_limits_park(s);
	return nmade++;
}

static void
free_made(void)
{
	size_t i;

	for (i = 0; i < nmade; i++) {
		ev_timer_del(&made[i]->timer);
		free(made[i]);
	}
}

START_TEST(test_maxuser_evicts_oldest)
{
	size_t i;

	setup_caps("3", "0");
	for (i = 0; i < 3; i++)
		park(&users[0], i % 2 ? "10.0.1.1" : "10.0.2.1", SNAP_K_IDLE);
	ck_assert_int_eq(dropped[0] + dropped[1] + dropped[2], 0);
	/* the fourth pushes out the oldest, then the fifth the next */
	ck_assert_uint_eq(park(&users[0], "10.0.3.1", SNAP_K_WAIT), 3);
	ck_assert(dropped[0] && !dropped[1] && !dropped[3]);
	ck_assert_str_eq(said[0],
	    "* BYE [LIMIT] Too many idle sessions; "
	    "closing the oldest\r\n");
	park(&users[0], "10.0.3.2", SNAP_K_IDLE);
	ck_assert(dropped[1] && !dropped[2] && !dropped[4]);
	ck_assert_uint_eq(users[0].nsess, 3);
	ck_assert_ptr_eq(users[0].head, made[2]);
	free_made();
}
END_TEST

START_TEST(test_maxuser_counts_only_the_user)
{
	size_t i;

	setup_caps("2", "0");
	park(&users[0], "10.0.1.1", SNAP_K_IDLE);
	for (i = 0; i < 4; i++)
		park(&users[1], "10.0.1.2", SNAP_K_IDLE);
	/* bob's went over his cap of 2 (twice); alice's one is untouched */
	ck_assert(!dropped[0] && dropped[1] && dropped[2]);
	ck_assert(!dropped[3] && !dropped[4]);
	park(&users[0], "10.0.1.1", SNAP_K_IDLE);
	ck_assert(!dropped[0] && !dropped[5]);
	free_made();
}
END_TEST

START_TEST(test_maxusernet_evicts_oldest_of_that_network)
{
	setup_caps("100", "2");
	park(&users[0], "10.0.1.1", SNAP_K_IDLE); /* 0 */
	park(&users[0], "10.0.2.1", SNAP_K_IDLE); /* 1: elsewhere */
	park(&users[0], "10.0.1.2", SNAP_K_WAIT); /* 2 */
	park(&users[1], "10.0.1.9", SNAP_K_IDLE); /* 3: bob's */
	ck_assert_int_eq(dropped[0] + dropped[1] + dropped[2] + dropped[3], 0);
	/* a third of alice's from 10.0.1/24: her oldest there goes, not
	 * her older one from 10.0.2/24, not bob's */
	park(&users[0], "10.0.1.3", SNAP_K_IDLE); /* 4 */
	ck_assert(dropped[0] && !dropped[1] && !dropped[2] && !dropped[3] &&
	    !dropped[4]);
	ck_assert_str_eq(said[0],
	    "* BYE [LIMIT] Too many idle sessions "
	    "from your network; closing the oldest\r\n");
	park(&users[0], "10.0.2.2", SNAP_K_IDLE); /* 5: 2 there */
	ck_assert(!dropped[1] && !dropped[5]);
	park(&users[0], "10.0.1.4", SNAP_K_IDLE); /* 6 */
	ck_assert(dropped[2] && !dropped[4] && !dropped[6]);
	free_made();
}
END_TEST

START_TEST(test_network_cap_before_user_cap)
{
	/* both over: one eviction, the network's oldest */
	setup_caps("2", "1");
	park(&users[0], "10.0.2.1", SNAP_K_IDLE);
	park(&users[0], "10.0.1.1", SNAP_K_IDLE);
	ck_assert(!dropped[0] && dropped[1] == 0);
	park(&users[0], "10.0.1.2", SNAP_K_IDLE);
	ck_assert(!dropped[0] && dropped[1] && !dropped[2]);
	ck_assert_uint_eq(users[0].nsess, 2);
	free_made();
}
END_TEST

START_TEST(test_not_logged_in_not_capped)
{
	size_t i;

	setup_caps("1", "1");
	for (i = 0; i < 4; i++)
		park(&users[0], "10.0.1.1", SNAP_K_NOTAUTH);
	for (i = 0; i < 4; i++)
		ck_assert(!dropped[i] && said[i][0] == '\0');
	free_made();
}
END_TEST

START_TEST(test_caps_off)
{
	size_t i;

	setup_caps("0", "0");
	for (i = 0; i < 12; i++)
		park(&users[0], "10.0.1.1", SNAP_K_IDLE);
	for (i = 0; i < 12; i++)
		ck_assert(!dropped[i]);
	free_made();
}
END_TEST

CHECK_MAIN("idled_limits", NULL, CHECK_TEST(test_maxuser_evicts_oldest),
    CHECK_TEST(test_maxuser_counts_only_the_user),
    CHECK_TEST(test_maxusernet_evicts_oldest_of_that_network),
    CHECK_TEST(test_network_cap_before_user_cap),
    CHECK_TEST(test_not_logged_in_not_capped), CHECK_TEST(test_caps_off))

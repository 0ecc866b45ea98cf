/*
 * check_authd - unit tests for authd's pure parts: the hash table, the
 * connection-rate bucket, the keys an address counts under, and the
 * connection accounting (holds, hand-overs, closes, dead holders), and
 * the user-name rule authd applies to every login (lib/uname).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "authd.h"
#include "uname.h"

static long long test_now = 1000000;

long long
authd_now_ms(void)
{
	return test_now;
}

long long
authd_wall_ms(void)
{
	return test_now;
}

START_TEST(test_tab)
{
	struct htab *t = htab_new();
	struct htab_iter it = HTAB_ITER;
	char key[32];
	const void *k;
	size_t len;
	long long num, sum = 0;
	int i, seen = 0;

	for (i = 0; i < 1000; i++) {
		(void)snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(htab_add(t, key, strlen(key), i + 1), i + 1);
	}
	ck_assert_uint_eq(htab_count(t), 1000);
	ck_assert_int_eq(htab_num(t, "k10", 3), 11);
	/* a count back at zero goes away by itself */
	ck_assert_int_eq(htab_add(t, "k10", 3, -11), 0);
	ck_assert_uint_eq(htab_count(t), 999);
	/* values stay, numbers or not */
	htab_put(t, "v", 1, t);
	ck_assert_ptr_eq(htab_get(t, "v", 1), t);
	ck_assert_int_eq(htab_add(t, "v", 1, 0), 0);
	ck_assert_ptr_eq(htab_get(t, "v", 1), t);
	ck_assert_ptr_eq(htab_del(t, "v", 1), t);
	ck_assert_ptr_null(htab_get(t, "v", 1));
	/* keys are binary */
	htab_add(t, "a\0b", 3, 5);
	ck_assert_int_eq(htab_num(t, "a\0c", 3), 0);
	ck_assert_int_eq(htab_num(t, "a\0b", 3), 5);
	htab_add(t, "a\0b", 3, -5);
	/* a walk sees each entry once and may delete as it goes */
	while (htab_next(t, &it, &k, &len, NULL, &num)) {
		sum += num;
		seen++;
		htab_del(t, k, len);
	}
	ck_assert_int_eq(seen, 999);
	ck_assert_int_eq(sum, 1000 * 1001 / 2 - 11);
	ck_assert_uint_eq(htab_count(t), 0);
	htab_free(&t);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_bucket)
{
	double tokens = 3;
	long long last = 0, now = 0;
	int i;

	/* a full bucket of 3 per 60 s: three at once, then none */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(authd_calc_bucket(&tokens, &last, now, 3,
				     60000),
		    1);
	ck_assert_int_eq(authd_calc_bucket(&tokens, &last, now, 3, 60000), 0);
	/* one token back every 20 s */
	now = 19999;
	ck_assert_int_eq(authd_calc_bucket(&tokens, &last, now, 3, 60000), 0);
	now = 20001;
	ck_assert_int_eq(authd_calc_bucket(&tokens, &last, now, 3, 60000), 1);
	ck_assert_int_eq(authd_calc_bucket(&tokens, &last, now, 3, 60000), 0);
	/* never more than the limit, however long the pause */
	now += 10 * 60000;
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(authd_calc_bucket(&tokens, &last, now, 3,
				     60000),
		    1);
	ck_assert_int_eq(authd_calc_bucket(&tokens, &last, now, 3, 60000), 0);
	/* a clock going backwards adds nothing */
	ck_assert_int_eq(authd_calc_bucket(&tokens, &last, now - 50000, 3,
			     60000),
	    0);
	/* no limit */
	ck_assert_int_eq(authd_calc_bucket(&tokens, &last, now, 0, 60000), 1);
}
END_TEST

START_TEST(test_keys)
{
	struct authd_keys k;

	authd_keys_make("192.0.2.7", &k);
	ck_assert_int_eq(k.ip, 1);
	ck_assert_str_eq(k.addr, "192.0.2.7");
	ck_assert_str_eq(k.net, "192.0.2.0/24");
	ck_assert_str_eq(k.wide, "192.0.0.0/16");
	ck_assert_str_eq(k.host, "192.0.2.7");
	ck_assert_str_eq(k.pnet, "192.0.2.0/24");
	authd_keys_make("2001:db8:a:b:1:2:3:4", &k);
	ck_assert_str_eq(k.addr, "2001:db8:a:b:1:2:3:4");
	ck_assert_str_eq(k.net, "2001:db8:a:b::/64");
	ck_assert_str_eq(k.wide, "2001:db8:a::/48");
	/* one IPv6 client is its /64; its network the /48 */
	ck_assert_str_eq(k.host, "2001:db8:a:b::/64");
	ck_assert_str_eq(k.pnet, "2001:db8:a::/48");
	authd_keys_make("unknown", &k);
	ck_assert_int_eq(k.ip, 0);
	ck_assert_str_eq(k.host, "unknown");
}
END_TEST

static long long
count(const char *addr, int level)
{
	struct authd_keys k;

	authd_keys_make(addr, &k);
	return authd_hold_count_addr(&k, level);
}

START_TEST(test_hold_counts)
{
	struct authd_peer w1, w2, idled;
	struct authd_keys k;

	memset(&w1, 0, sizeof(w1));
	memset(&w2, 0, sizeof(w2));
	memset(&idled, 0, sizeof(idled));
	authd_hold_init();
	authd_hold_set(&w1, 1, 100, "192.0.2.7", "");
	authd_hold_set(&w1, 2, 100, "192.0.2.8", "");
	authd_hold_set(&w2, 3, 100, "192.0.3.9", "");
	ck_assert_int_eq(count("192.0.2.7", 0), 1);
	ck_assert_int_eq(count("192.0.2.7", 1), 2);
	ck_assert_int_eq(count("192.0.2.7", 2), 3);
	/* login: the user counts */
	authd_hold_set_user(authd_hold_find(1), "ann");
	ck_assert_int_eq(authd_hold_count_user("ann"), 1);
	authd_keys_make("192.0.2.7", &k);
	ck_assert_int_eq(authd_hold_count_userhost("ann", &k), 1);
	/* parked: idled holds it now; a hold older than that is stale */
	authd_hold_set(&idled, 1, 200, "192.0.2.7", "ann");
	authd_hold_set(&w1, 1, 150, "192.0.2.7", "ann");
	ck_assert_ptr_eq(authd_hold_find(1)->holder, &idled);
	ck_assert_int_eq(count("192.0.2.7", 0), 1);
	ck_assert_int_eq(authd_hold_count_user("ann"), 1);
	/* w1 dies: only what it still held goes */
	authd_hold_release(&w1);
	ck_assert_ptr_null(w1.holds);
	ck_assert_int_eq(count("192.0.2.8", 0), 0);
	ck_assert_int_eq(count("192.0.2.7", 0), 1);
	ck_assert_int_eq(count("192.0.2.7", 2), 2);
	/* resumed by w2, then closed; a late hold cannot bring it back */
	authd_hold_set(&w2, 1, 300, "192.0.2.7", "ann");
	ck_assert_ptr_null(idled.holds);
	authd_hold_closed(1, 400);
	authd_hold_set(&idled, 1, 350, "192.0.2.7", "ann");
	ck_assert_ptr_null(authd_hold_find(1));
	ck_assert_int_eq(authd_hold_count_user("ann"), 0);
	ck_assert_int_eq(count("192.0.2.7", 2), 1);
	/* an unparsable address counts as itself, without networks */
	authd_hold_set(&w2, 4, 100, "unknown", "");
	ck_assert_int_eq(count("unknown", 0), 1);
	authd_hold_release(&w2);
	ck_assert_uint_eq(authd_hold_total(), 0);
	ck_assert_int_eq(count("192.0.3.9", 2), 0);
	ck_assert_int_eq(count("unknown", 0), 0);
}
END_TEST

/* a kicked connection's next holders are to be told, once each; since
 * is when authd first heard of it, whoever holds it later */
START_TEST(test_hold_kicked_moves)
{
	struct authd_peer w1, w2, idled;
	long long t0 = test_now;

	memset(&w1, 0, sizeof(w1));
	memset(&w2, 0, sizeof(w2));
	memset(&idled, 0, sizeof(idled));
	authd_hold_init();
	ck_assert_int_eq(authd_hold_set(&w1, 5, 100, "192.0.2.7", "ann"), 0);
	test_now += 5000;
	ck_assert_int_eq(authd_hold_set(&idled, 5, 200, "192.0.2.7", "ann"),
	    0); /* not kicked: nothing to tell */
	authd_hold_find(5)->kicked = 1;
	ck_assert_int_eq(authd_hold_set(&w2, 5, 300, "192.0.2.7", "ann"), 1);
	ck_assert_int_eq(authd_hold_set(&w2, 5, 310, "192.0.2.7", "ann"), 0);
	ck_assert_int_eq(authd_hold_set(&idled, 5, 250, "192.0.2.7", "ann"),
	    0); /* stale: idled does not hold it */
	ck_assert_ptr_eq(authd_hold_find(5)->holder, &w2);
	ck_assert_int_eq(authd_hold_find(5)->since_ms, t0);
	authd_hold_release(&w2);
	ck_assert_uint_eq(authd_hold_total(), 0);
}
END_TEST

START_TEST(test_hold_tombstones_expire)
{
	struct authd_peer w;

	memset(&w, 0, sizeof(w));
	authd_hold_init();
	authd_hold_closed(9, 10);
	authd_hold_set(&w, 9, 5, "192.0.2.1", "");
	ck_assert_ptr_null(authd_hold_find(9));
	test_now += 11 * 60 * 1000;
	authd_hold_tick(test_now);
	authd_hold_set(&w, 9, 20, "192.0.2.1", "");
	ck_assert_ptr_nonnull(authd_hold_find(9));
	authd_hold_release(&w);
}
END_TEST

START_TEST(test_decay)
{
	/* halves every half-life, whatever the steps */
	ck_assert_double_eq_tol(authd_calc_decay(8, 60000, 60000), 4, 1e-9);
	ck_assert_double_eq_tol(authd_calc_decay(8, 180000, 60000), 1, 1e-9);
	ck_assert_double_eq_tol(authd_calc_decay(authd_calc_decay(8, 30000,
						     60000),
				    30000, 60000),
	    4, 1e-9);
	ck_assert_double_eq_tol(authd_calc_decay(8, 0, 60000), 8, 1e-9);
	/* a clock that went back changes nothing; no half-life: no memory */
	ck_assert_double_eq_tol(authd_calc_decay(8, -5000, 60000), 8, 1e-9);
	ck_assert_double_eq_tol(authd_calc_decay(8, 10, 0), 0, 1e-9);
	/* two half-lives after one failure a client is clean again */
	ck_assert(
	    authd_calc_decay(1, 2 * 60000 - 1, 60000) > AUTHD_CLEAN_LEVEL);
	ck_assert(
	    authd_calc_decay(1, 2 * 60000 + 1, 60000) < AUTHD_CLEAN_LEVEL);
}
END_TEST

static const struct {
	double level;
	long long delay;
} delays[] = {
	{ 0, 2000 },
	{ 1, 2000 },
	{ 1.4, 2000 },
	{ 1.6, 4000 },
	{ 2, 4000 },
	{ 3, 8000 },
	{ 4, 15000 },
	{ 40, 15000 },
	{ 1e9, 15000 },
};

START_TEST(test_delay)
{
	ck_assert_int_eq(authd_calc_delay(delays[_i].level, 2000, 15000),
	    delays[_i].delay);
}
END_TEST

START_TEST(test_delay_edges)
{
	ck_assert_int_eq(authd_calc_delay(5, 0, 15000), 0);
	ck_assert_int_eq(authd_calc_delay(5, 100, 0), 1600);
	ck_assert_int_eq(authd_calc_delay(3, 5000, 1000), 1000);
}
END_TEST

START_TEST(test_class)
{
	double score;

	ck_assert_int_eq(authd_calc_class(1, 50, 500, &score), 1);
	ck_assert_double_eq(score, 0);
	ck_assert_int_eq(authd_calc_class(0, 0.1, 7, &score), 2);
	ck_assert_double_eq(score, 7);
	ck_assert_int_eq(authd_calc_class(0, 3, 7, &score), 3);
	ck_assert_double_eq(score, 10);
}
END_TEST

START_TEST(test_box)
{
	/* in at the threshold; out only below half of it */
	ck_assert_int_eq(authd_calc_box(0, 9.4, 10), 0);
	ck_assert_int_eq(authd_calc_box(0, 9.6, 10), 1);
	ck_assert_int_eq(authd_calc_box(0, 10, 10), 1);
	ck_assert_int_eq(authd_calc_box(1, 6, 10), 1);
	ck_assert_int_eq(authd_calc_box(0, 6, 10), 0);
	ck_assert_int_eq(authd_calc_box(1, 4.9, 10), 0);
	ck_assert_int_eq(authd_calc_box(1, 1000, 0), 0);
}
END_TEST

static struct authd_qitem *
item(struct authd_qitem *it, int cls, double score, long long deadline)
{
	memset(it, 0, sizeof(*it));
	it->cls = cls;
	it->score = score;
	it->deadline_ms = deadline;
	return it;
}

START_TEST(test_queue_order)
{
	struct authd_queue q = { NULL, 0, 0, 0 };
	struct authd_qitem it[8], *got;
	/* class, then score (most-failed last), then arrival */
	static const int cls[8] = { 3, 2, 3, 1, 2, 3, 1, 3 };
	static const double score[8] = { 5, 0, 1, 0, 0, 9, 0, 1 };
	static const int want[8] = { 3, 6, 1, 4, 2, 7, 0, 5 };
	int i;

	for (i = 0; i < 8; i++)
		authd_queue_push(&q, item(&it[i], cls[i], score[i], 0));
	ck_assert_uint_eq(authd_queue_len(&q), 8);
	ck_assert_ptr_eq(authd_queue_worst(&q), &it[5]);
	for (i = 0; i < 8; i++) {
		got = authd_queue_pop(&q);
		ck_assert_ptr_eq(got, &it[want[i]]);
		ck_assert_int_eq(got->queued, 0);
	}
	ck_assert_ptr_null(authd_queue_pop(&q));
	ck_assert_ptr_null(authd_queue_worst(&q));
	authd_queue_free(&q);
}
END_TEST

START_TEST(test_queue_remove)
{
	struct authd_queue q = { NULL, 0, 0, 0 };
	struct authd_qitem it[200], *prev, *got;
	int i, n = 0;

	/* many items, removed from anywhere: the heap stays ordered */
	for (i = 0; i < 200; i++)
		authd_queue_push(&q,
		    item(&it[i], 1 + i % 3, (double)((i * 37) % 11), 1000 + i));
	for (i = 0; i < 200; i += 3)
		authd_queue_remove(&q, &it[i]);
	authd_queue_remove(&q, &it[0]); /* twice: harmless */
	ck_assert_uint_eq(authd_queue_len(&q), 200 - 67);
	ck_assert_ptr_eq(authd_queue_expired(&q, 999), NULL);
	got = authd_queue_expired(&q, 1001);
	ck_assert_ptr_eq(got, &it[1]);
	for (prev = NULL; (got = authd_queue_pop(&q)) != NULL; prev = got) {
		if (prev != NULL)
			ck_assert(authd_queue_before(prev, got));
		ck_assert_int_ne((int)(got - it) % 3, 0);
		n++;
	}
	ck_assert_int_eq(n, 133);
	authd_queue_free(&q);
}
END_TEST

/* uname_canon: what is trimmed, what is kept, what is refused */
static const struct {
	const char *in;
	size_t len;
	const char *out; /* NULL: refused */
	const char *why; /* a word of the reason */
} unames[] = {
	{ "bob", 3, "bob", NULL },
	{ "bob ", 4, "bob", NULL },
	{ " bob", 4, "bob", NULL },
	{ "\t bob \t", 7, "bob", NULL },
	{ "bob smith", 9, "bob smith", NULL },
	{ "b\xc3\xb6"
	  "b",
	    4,
	    "b\xc3\xb6"
	    "b",
	    NULL },
	{ "\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80", NULL },
	{ "", 0, NULL, "empty" },
	{ "   ", 3, NULL, "empty" },
	{ "bob\0junk", 8, NULL, "NUL" },
	{ "\0bob", 4, NULL, "NUL" },
	{ "bob\r\n", 5, NULL, "control" },
	{ "b\x01ob", 4, NULL, "control" },
	{ "bo\tb", 4, NULL, "control" },
	{ "bob\x7f", 4, NULL, "control" },
	{ "b\xc2\x85ob", 5, NULL, "control" },
	{ "b\xc0\xaf"
	  "b",
	    4, NULL, "UTF-8" },
	{ "b\xff"
	  "b",
	    3, NULL, "UTF-8" },
	{ "b\xc3", 2, NULL, "UTF-8" },
	{ "\xed\xa0\x80", 3, NULL, "UTF-8" },
	{ "\xf4\x90\x80\x80", 4, NULL, "UTF-8" },
};

START_TEST(test_uname)
{
	char out[UNAME_MAX + 1];
	const char *why = NULL;
	int n;

	memset(out, 'x', sizeof(out));
	n = uname_canon(unames[_i].in, unames[_i].len, out, sizeof(out), &why);
	if (unames[_i].out == NULL) {
		ck_assert_int_eq(n, -1);
		ck_assert_ptr_nonnull(why);
		ck_assert_ptr_nonnull(strstr(why, unames[_i].why));
		ck_assert_int_eq(out[0], 'x');
		return;
	}
	ck_assert_int_eq(n, (int)strlen(unames[_i].out));
	ck_assert_str_eq(out, unames[_i].out);
}
END_TEST

START_TEST(test_uname_edges)
{
	char in[UNAME_MAX + 3], out[UNAME_MAX + 1], small[4];
	const char *why;

	/* the longest name fits; one more byte is refused; surrounding
	 * blanks do not count */
	memset(in, 'a', sizeof(in));
	ck_assert_int_eq(uname_canon(in, UNAME_MAX, out, sizeof(out), &why),
	    UNAME_MAX);
	ck_assert_int_eq(uname_canon(in, UNAME_MAX + 1, out, sizeof(out), &why),
	    -1);
	ck_assert_ptr_nonnull(strstr(why, "long"));
	in[0] = in[UNAME_MAX + 1] = ' ';
	ck_assert_int_eq(uname_canon(in, UNAME_MAX + 2, out, sizeof(out), &why),
	    UNAME_MAX);
	/* the output buffer bounds it too */
	ck_assert_int_eq(uname_canon("abcd", 4, small, sizeof(small), &why),
	    -1);
	ck_assert_int_eq(uname_canon("abc", 3, small, sizeof(small), &why), 3);
	/* in place, as libsasl2 may call it */
	memcpy(small, " ab", 4);
	ck_assert_int_eq(uname_canon(small, 3, small, sizeof(small), &why), 2);
	ck_assert_str_eq(small, "ab");
}
END_TEST

/* the detached-exchange table: what it hands back to its callback */
static int det_freed[8];
static char det_why[8][16];

static void
det_free(void *obj, const char *why)
{
	int i = (int)(long)obj;

	det_freed[i]++;
	(void)snprintf(det_why[i], sizeof(det_why[i]), "%s", why);
}

START_TEST(test_detach)
{
	const char *limit;

	memset(det_freed, 0, sizeof(det_freed));
	authd_detach_init(det_free);
	/* bounds: 2 per address, 4 in all */
	ck_assert_int_eq(authd_detach_put(1, "192.0.2.1", (void *)1L, 1000, 4,
			     2, &limit),
	    0);
	ck_assert_int_eq(authd_detach_put(2, "192.0.2.1", (void *)2L, 1000, 4,
			     2, &limit),
	    0);
	ck_assert_int_eq(authd_detach_put(3, "192.0.2.1", (void *)3L, 1000, 4,
			     2, &limit),
	    -1);
	ck_assert_str_eq(limit, "sasl_detached_max_addr");
	ck_assert_int_eq(authd_detach_count_addr("192.0.2.1"), 2);
	ck_assert_int_eq(authd_detach_put(3, "192.0.2.2", (void *)3L, 2000, 4,
			     2, &limit),
	    0);
	ck_assert_int_eq(authd_detach_put(4, "192.0.2.3", (void *)4L, 3000, 4,
			     2, &limit),
	    0);
	ck_assert_int_eq(authd_detach_put(5, "192.0.2.4", (void *)5L, 3000, 4,
			     2, &limit),
	    -1);
	ck_assert_str_eq(limit, "sasl_detached_max");
	ck_assert_uint_eq(authd_detach_count(), 4);
	/* taken back: out of the table, not freed; its address counts one
	 * less */
	ck_assert_ptr_eq(authd_detach_take(2), (void *)2L);
	ck_assert_ptr_null(authd_detach_take(2));
	ck_assert_int_eq(det_freed[2], 0);
	ck_assert_int_eq(authd_detach_count_addr("192.0.2.1"), 1);
	/* the connection closed */
	ck_assert_int_eq(authd_detach_drop(1, "closed"), 1);
	ck_assert_int_eq(authd_detach_drop(1, "closed"), 0);
	ck_assert_int_eq(det_freed[1], 1);
	ck_assert_str_eq(det_why[1], "closed");
	ck_assert_int_eq(authd_detach_count_addr("192.0.2.1"), 0);
	/* expiry: only what waited timeout_ms or longer */
	ck_assert_uint_eq(authd_detach_expire(3000, 1000), 1);
	ck_assert_int_eq(det_freed[3], 1);
	ck_assert_str_eq(det_why[3], "expired");
	ck_assert_int_eq(det_freed[4], 0);
	ck_assert_uint_eq(authd_detach_expire(4000, 1000), 1);
	ck_assert_int_eq(det_freed[4], 1);
	ck_assert_uint_eq(authd_detach_count(), 0);
	/* a second detach of one connection replaces the first */
	ck_assert_int_eq(authd_detach_put(6, "192.0.2.1", (void *)6L, 5000, 0,
			     0, &limit),
	    0);
	ck_assert_int_eq(authd_detach_put(6, "192.0.2.1", (void *)7L, 5000, 0,
			     0, &limit),
	    0);
	ck_assert_int_eq(det_freed[6], 1);
	ck_assert_str_eq(det_why[6], "replaced");
	ck_assert_ptr_eq(authd_detach_take(6), (void *)7L);
	ck_assert_int_eq(authd_detach_count_addr("192.0.2.1"), 0);
}
END_TEST

CHECK_MAIN("authd", CHECK_OPTS(NULL, NULL, 10, 1), CHECK_TEST(test_tab),
    CHECK_TEST(test_bucket), CHECK_TEST(test_decay),
    CHECK_LOOP(test_delay, sizeof(delays) / sizeof(delays[0])),
    CHECK_TEST(test_delay_edges), CHECK_TEST(test_class), CHECK_TEST(test_box),
    CHECK_TEST(test_keys), CHECK_TEST(test_hold_counts),
    CHECK_TEST(test_hold_kicked_moves), CHECK_TEST(test_hold_tombstones_expire),
    CHECK_TEST(test_detach), CHECK_TEST(test_queue_order),
    CHECK_TEST(test_queue_remove),
    CHECK_LOOP(test_uname, sizeof(unames) / sizeof(unames[0])),
    CHECK_TEST(test_uname_edges))

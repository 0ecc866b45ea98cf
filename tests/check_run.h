/*
 * check_run - the main() every check suite would otherwise repeat: build
 * the suite from a list of tests, run it, print the results, and give
 * main's exit status.
 */
#ifndef BERTH_CHECK_RUN_H
#define BERTH_CHECK_RUN_H

#include <check.h>
#include <stddef.h>

/* one test: a START_TEST name, run once, or for _i in [0, loop) */
struct check_test {
	const TTest *test;
	int loop;
};
#define CHECK_TEST(t)                                                          \
	{                                                                      \
		t, 0                                                           \
	}
#define CHECK_LOOP(t, n)                                                       \
	{                                                                      \
		t, (int)(n)                                                    \
	}
/* CHECK_TESTS - the list check_main takes, e.g.
 * CHECK_TESTS(CHECK_TEST(test_a), CHECK_LOOP(test_b, 3)) */
#define CHECK_TESTS(...)                                                       \
	((const struct check_test[]){ __VA_ARGS__, { NULL, 0 } })

/* how a suite runs: the fixture around each test (NULL: none), the
 * timeout of each (seconds; 0: check's default), forked: each test in
 * its own process even when CK_FORK=no is set (tests that exit, crash
 * or leave state behind) */
struct check_opts {
	void (*setup)(void);
	void (*teardown)(void);
	int timeout;
	int forked;
};

#define CHECK_OPTS(setup, teardown, timeout, forked)                           \
	(&(const struct check_opts){ setup, teardown, timeout, forked })

/* check_main - the suite name of tests run as opts (CHECK_OPTS(...))
 * says (NULL: plain);
 * EXIT_SUCCESS when every test passed */
int check_main(const char *name, const struct check_test *tests,
    const struct check_opts *opts);

/* CHECK_MAIN - a suite's main(): the suite name of the tests given
 * (CHECK_TEST(...), CHECK_LOOP(...)), run as opts (CHECK_OPTS(...), or
 * NULL) says */
#define CHECK_MAIN(name, opts, ...)                                            \
	int main(void)                                                         \
	{                                                                      \
		return check_main(name, CHECK_TESTS(__VA_ARGS__), opts);       \
	}

/* check_run - run s (and free it); EXIT_SUCCESS when every test passed */
int check_run(Suite *s);
/* check_run_forked - the same, each test in its own process even when
 * CK_FORK=no is set */
int check_run_forked(Suite *s);

#endif

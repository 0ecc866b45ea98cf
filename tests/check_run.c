/*
 * check_run - see check_run.h.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "check_run.h"

static int
check_run_mode(Suite *s, int forked)
{
	SRunner *sr = srunner_create(s);
	int failed;

	if (forked)
		srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int
check_run(Suite *s)
{
	return check_run_mode(s, 0);
}

int
check_run_forked(Suite *s)
{
	return check_run_mode(s, 1);
}

int
check_main(const char *name, const struct check_test *tests,
    const struct check_opts *opts)
{
	static const struct check_opts plain;
	Suite *s = suite_create(name);
	TCase *tc = tcase_create(name);

	if (opts == NULL)
		opts = &plain;
	if (opts->setup != NULL || opts->teardown != NULL)
		tcase_add_checked_fixture(tc, opts->setup, opts->teardown);
	if (opts->timeout > 0)
		tcase_set_timeout(tc, opts->timeout);
	for (; tests->test != NULL; tests++)
		_tcase_add_test(tc, tests->test, 0, 0, 0,
		    tests->loop > 0 ? tests->loop : 1);
	suite_add_tcase(s, tc);
	return check_run_mode(s, opts->forked);
}

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

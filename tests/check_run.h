/*
 * check_run - the main() every check suite would otherwise repeat: run
 * the suite, print the results, and give main's exit status.
 */
#ifndef BERTH_CHECK_RUN_H
#define BERTH_CHECK_RUN_H

#include <check.h>

/* check_run - run s (and free it); EXIT_SUCCESS when every test passed */
int check_run(Suite *s);
/* check_run_forked - the same, each test in its own process even when
 * CK_FORK=no is set (tests that exit, crash or leave state behind) */
int check_run_forked(Suite *s);

#endif

/*
 * check_fd - unit tests for fd_close: it closes, keeps errno, ignores a
 * negative descriptor and survives one that is not open.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "check_run.h"
#include "fd.h"

START_TEST(test_close_closes)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	fd_close(p[0]);
	errno = 0;
	ck_assert_int_eq(fcntl(p[0], F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	fd_close(p[1]);
	ck_assert_int_eq(fcntl(p[1], F_GETFD), -1);
}
END_TEST

START_TEST(test_close_keeps_errno)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	errno = ENOENT;
	fd_close(p[0]);
	ck_assert_int_eq(errno, ENOENT);
	/* not open any more: EBADF inside, errno still the caller's */
	errno = EACCES;
	fd_close(p[0]);
	ck_assert_int_eq(errno, EACCES);
	fd_close(p[1]);
}
END_TEST

START_TEST(test_close_negative)
{
	errno = EAGAIN;
	fd_close(-1);
	ck_assert_int_eq(errno, EAGAIN);
}
END_TEST

CHECK_MAIN("fd", NULL, CHECK_TEST(test_close_closes),
    CHECK_TEST(test_close_keeps_errno), CHECK_TEST(test_close_negative))

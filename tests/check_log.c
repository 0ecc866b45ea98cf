/*
 * check_log - unit tests for log: facility names, the session id every
 * line of a session ends with (and that the event loop clears), stderr
 * as the destination, log_syslog never writing to stderr.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "check_run.h"
#include "ev.h"
#include "fd.h"
#include "log.h"

static int cap_pipe[2], cap_saved = -1;

/* cap_start - stderr into a pipe */
static void
cap_start(void)
{
	ck_assert_int_eq(pipe(cap_pipe), 0);
	cap_saved = dup(2);
	dup2(cap_pipe[1], 2);
	fd_close(cap_pipe[1]);
}

/* cap_end - what went to stderr since cap_start */
static char *
cap_end(void)
{
	static char out[8192];
	ssize_t n;
	size_t len = 0;

	dup2(cap_saved, 2);
	fd_close(cap_saved);
	while ((n = read(cap_pipe[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	fd_close(cap_pipe[0]);
	out[len] = '\0';
	return out;
}

static const struct {
	const char *name;
	int code;
} facilities[] = {
	{ "mail", LOG_MAIL },
	{ "MAIL", LOG_MAIL },
	{ "local6", LOG_LOCAL6 },
	{ "LOCAL0", LOG_LOCAL0 },
	{ "log_local7", LOG_LOCAL7 },
	{ "daemon", LOG_DAEMON },
	{ "user", LOG_USER },
	{ "", LOG_MAIL },
	{ "local8", -1 },
	{ "mailx", -1 },
	{ "log_", -1 },
};

START_TEST(test_facility_code)
{
	ck_assert_int_eq(log_facility_code(facilities[_i].name),
	    facilities[_i].code);
}
END_TEST

START_TEST(test_session_suffix)
{
	char *out;

	log_open("t", "unit", LOG_TO_STDERR, LOG_MAIL);
	cap_start();
	log_info("before user=ann");
	log_set_session(0x1234abcdULL);
	log_info("during user=ann");
	log_set_session(0);
	log_info("after user=ann");
	out = cap_end();
	ck_assert_ptr_nonnull(strstr(out, "t/unit["));
	ck_assert_ptr_nonnull(strstr(out, "before user=ann\n"));
	ck_assert_ptr_nonnull(
	    strstr(out, "during user=ann session=1234abcd\n"));
	ck_assert_ptr_nonnull(strstr(out, "after user=ann\n"));
}
END_TEST

static void
on_io(struct ev_io *io, unsigned events, void *ctx)
{
	char c;

	(void)events;
	(void)ctx;
	ck_assert_int_eq(read(io->fd, &c, 1), 1);
	log_set_session(77);
}

/* the loop forgets a callback's session: the next line is not its */
START_TEST(test_ev_clears_session)
{
	struct ev_io io = { -1, 0, NULL, NULL };
	int sp[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	ev_init();
	ck_assert_int_eq(ev_io_add(&io, sp[0], EV_READ, on_io, NULL), 0);
	ck_assert_int_eq(write(sp[1], "x", 1), 1);
	ev_run_once(1000);
	ck_assert_uint_eq(log_session(), 0);
	ev_io_del(&io);
	fd_close(sp[0]);
	fd_close(sp[1]);
}
END_TEST

/* one line, one record: data cannot forge a second line */
START_TEST(test_newlines_flattened)
{
	char *out, *nl;

	log_open("t", "unit", LOG_TO_STDERR, LOG_MAIL);
	cap_start();
	log_info("user=%s", "a\nb/unit[1]: info: forged\r");
	out = cap_end();
	nl = strchr(out, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_ptr_eq(nl, out + strlen(out) - 1); /* the only one */
	ck_assert_ptr_null(strchr(out, '\r'));
}
END_TEST

START_TEST(test_syslog_only_not_stderr)
{
	char *out;

	log_open("t", "unit", LOG_TO_STDERR, LOG_MAIL);
	cap_start();
	log_syslog(LOG_ERR, "not on stderr");
	out = cap_end();
	ck_assert_str_eq(out, "");
}
END_TEST

CHECK_MAIN("log", CHECK_OPTS(NULL, NULL, 10, 1),
    CHECK_LOOP(test_facility_code, sizeof(facilities) / sizeof(facilities[0])),
    CHECK_TEST(test_session_suffix), CHECK_TEST(test_ev_clears_session),
    CHECK_TEST(test_newlines_flattened),
    CHECK_TEST(test_syslog_only_not_stderr))

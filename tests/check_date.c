/*
 * check_date - unit tests for the date formats (lib/mail/date).
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "date.h"

START_TEST(test_rfc5322)
{
	long long t;
	int tz;

	ck_assert_int_eq(date_parse_rfc5322("Tue, 3 Feb 2026 09:30:00 -0500",
			     30, &t, &tz),
	    0);
	ck_assert_int_eq(tz, -300);
	ck_assert_int_eq(t, 1770129000LL);
	/* no weekday, no seconds, two-digit year, obsolete zone */
	ck_assert_int_eq(date_parse_rfc5322("3 Feb 26 14:30 GMT", 18, &t, &tz),
	    0);
	ck_assert_int_eq(t, 1770129000LL);
	ck_assert_int_eq(tz, 0);
	ck_assert_int_eq(date_parse_rfc5322("3 feb 2026 09:30:00 PST", 23, &t,
			     &tz),
	    0);
	ck_assert_int_eq(tz, -480);
	ck_assert_int_eq(date_parse_rfc5322("yesterday", 9, &t, &tz), -1);
	ck_assert_int_eq(date_parse_rfc5322("3 Foo 2026 09:30", 16, &t, &tz),
	    -1);
	ck_assert_int_eq(date_parse_rfc5322("32 Feb 2026 09:30", 17, &t, &tz),
	    -1);
	ck_assert_int_eq(date_parse_rfc5322("3 Feb 2026 24:30", 16, &t, &tz),
	    -1);
}
END_TEST

START_TEST(test_imap_datetime)
{
	int64_t t;
	int32_t tz;
	char out[DATE_IMAP_DATETIME_LEN];

	ck_assert_int_eq(date_parse_imap_datetime("03-Feb-2026 09:30:00 -0500",
			     &t, &tz),
	    0);
	ck_assert_int_eq(t, 1770129000LL);
	ck_assert_int_eq(tz, -300);
	date_format_imap_datetime(t, tz, out);
	ck_assert_str_eq(out, "03-Feb-2026 09:30:00 -0500");
	date_format_imap_datetime(t, 60, out);
	ck_assert_str_eq(out, "03-Feb-2026 15:30:00 +0100");
	/* day with its leading space, or a one-digit day without it */
	ck_assert_int_eq(date_parse_imap_datetime(" 3-Feb-2026 09:30:00 -0500",
			     &t, &tz),
	    0);
	ck_assert_int_eq(date_parse_imap_datetime("3-Feb-2026 09:30:00 -0500",
			     &t, &tz),
	    0);
	ck_assert_int_eq(t, 1770129000LL);
	/* signs, short fields, bad months and zones */
	ck_assert_int_eq(date_parse_imap_datetime("03-Feb-2026 -1:30:00 -0500",
			     &t, &tz),
	    -1);
	ck_assert_int_eq(date_parse_imap_datetime("03-Feb-26 09:30:00 -0500",
			     &t, &tz),
	    -1);
	ck_assert_int_eq(date_parse_imap_datetime("03-Fex-2026 09:30:00 -0500",
			     &t, &tz),
	    -1);
	ck_assert_int_eq(date_parse_imap_datetime("03-Feb-2026 09:30:00 -0560",
			     &t, &tz),
	    -1);
	ck_assert_int_eq(date_parse_imap_datetime("03-Feb-2026 09:30:00", &t,
			     &tz),
	    -1);
}
END_TEST

START_TEST(test_imap_date)
{
	long long t;

	ck_assert_int_eq(date_parse_imap_date("3-Feb-2026", &t), 0);
	ck_assert_int_eq(t, 1770076800LL);
	ck_assert_int_eq(date_parse_imap_date("03-feb-2026", &t), 0);
	ck_assert_int_eq(t, 1770076800LL);
	ck_assert_int_eq(date_parse_imap_date("+3-Feb-2026", &t), -1);
	ck_assert_int_eq(date_parse_imap_date("3-Feb-26", &t), -1);
	ck_assert_int_eq(date_parse_imap_date("3-Feb-2026 ", &t), -1);
	ck_assert_int_eq(date_parse_imap_date("123-Feb-2026", &t), -1);
	ck_assert_int_eq(date_month("DEC"), 11);
	ck_assert_int_eq(date_month("Dex"), -1);
	ck_assert_str_eq(date_month_name(0), "Jan");
}
END_TEST

CHECK_MAIN("date", NULL, CHECK_TEST(test_rfc5322),
    CHECK_TEST(test_imap_datetime), CHECK_TEST(test_imap_date))

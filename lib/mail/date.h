/*
 * date - the date formats of mail: RFC 5322's Date header, and IMAP's
 * date-time (INTERNALDATE, APPEND) and date (SEARCH BEFORE/ON/SINCE).
 * Times are seconds since the epoch (UTC); zones are offsets in minutes
 * east of UTC.  Parsers return 0, or -1 when s is not that format.
 */
#ifndef BERTH_DATE_H
#define BERTH_DATE_H

#include <stddef.h>
#include <stdint.h>

/* "dd-Mon-yyyy hh:mm:ss +zzzz" and its NUL */
#define DATE_IMAP_DATETIME_LEN 27

/* date_month - 0..11 for a month name's first three letters (any case),
 * -1 otherwise */
int date_month(const char *s);
/* date_month_name - "Jan".."Dec" for 0..11 */
const char *date_month_name(int m);
/* date_parse_rfc5322 - a Date header value ("Tue, 3 Feb 2026 09:30:00
 * -0500"; obsolete zone names and two-digit years are taken) */
int date_parse_rfc5322(const char *s, size_t len, long long *t_r, int *tz_r);
/* date_parse_imap_datetime - RFC 3501 date-time without its quotes,
 * digit for digit ("dd-Mon-yyyy hh:mm:ss +zzzz"; a one-digit day without
 * its leading space is taken too, as other servers do) */
int date_parse_imap_datetime(const char *s, int64_t *t_r, int32_t *tz_r);
/* date_parse_imap_date - RFC 3501 date ("1-Feb-1994") to the UTC
 * midnight of that day */
int date_parse_imap_date(const char *s, long long *t_r);
/* date_format_imap_datetime - t in zone tz as "dd-Mon-yyyy hh:mm:ss
 * +zzzz" */
void date_format_imap_datetime(long long t, int tz,
    char out[DATE_IMAP_DATETIME_LEN]);

#endif

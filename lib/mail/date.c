/*
 * date - RFC 5322 and IMAP dates (see date.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "date.h"

static const char *date_months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

int
date_month(const char *s)
{
	int m;

	for (m = 0; m < 12; m++)
		if (strncasecmp(s, date_months[m], 3) == 0)
			return m;
	return -1;
}

const char *
date_month_name(int m)
{
	return m >= 0 && m < 12 ? date_months[m] : "???";
}

/* date_zone - a numeric zone or an obsolete name, in minutes (anything
 * else is UTC, as RFC 5322 4.3 asks of unknown zones) */
static int
date_zone(const char *z)
{
	static const struct {
		const char *n;
		int m;
	} names[] = {
		{ "UT", 0 },
		{ "GMT", 0 },
		{ "Z", 0 },
		{ "EST", -300 },
		{ "EDT", -240 },
		{ "CST", -360 },
		{ "CDT", -300 },
		{ "MST", -420 },
		{ "MDT", -360 },
		{ "PST", -480 },
		{ "PDT", -420 },
	};
	size_t i;

	if ((z[0] == '+' || z[0] == '-') && strlen(z) >= 5 &&
	    strspn(z + 1, "0123456789") >= 4) {
		int v = (z[1] - '0') * 600 + (z[2] - '0') * 60 +
		    (z[3] - '0') * 10 + (z[4] - '0');

		return z[0] == '-' ? -v : v;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(z, names[i].n) == 0)
			return names[i].m;
	return 0;
}

/* date_utc - the UTC time of a broken-down local time in zone tz */
static long long
date_utc(int y, int m, int d, int h, int mi, int se, int tz)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	return (long long)timegm(&tm) - tz * 60LL;
}

int
date_parse_rfc5322(const char *s, size_t len, long long *t_r, int *tz_r)
{
	char buf[128], mon[16] = "", zone[16] = "";
	int d, y, h = 0, mi = 0, se = 0, n, m, tz;
	const char *p;

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	p = strchr(buf, ',');
	p = p ? p + 1 : buf;
	n = sscanf(p, " %d %15s %d %d:%d:%d %15s", &d, mon, &y, &h, &mi, &se,
	    zone);
	if (n < 6) {
		se = 0;
		n = sscanf(p, " %d %15s %d %d:%d %15s", &d, mon, &y, &h, &mi,
		    zone);
		if (n < 3)
			return -1;
	}
	m = date_month(mon);
	if (m < 0 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    se < 0 || se > 60 || y < 0)
		return -1;
	if (y < 50)
		y += 2000;
	else if (y < 1000)
		y += 1900;
	tz = date_zone(zone);
	*t_r = date_utc(y, m, d, h, mi, se, tz);
	*tz_r = tz;
	return 0;
}

int
date_parse_imap_datetime(const char *s, int64_t *t_r, int32_t *tz_r)
{
	/* digit for digit: sscanf alone takes signs ("-1" hours), short
	 * fields and spaces */
	static const char shape[] = "Dd-aaa-dddd dd:dd:dd sdddd";
	char mon[4], sign, fixed[sizeof(shape)];
	int d, y, h, mi, se, z, m, n = 0;
	size_t i;

	if (strlen(s) == sizeof(shape) - 2 && s[1] == '-') {
		fixed[0] = ' ';
		memcpy(fixed + 1, s, sizeof(shape) - 1);
		s = fixed;
	}
	if (strlen(s) != sizeof(shape) - 1)
		return -1;
	for (i = 0; i < sizeof(shape) - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		if (shape[i] == 'D'	  ? !(isdigit(c) || c == ' ')
			: shape[i] == 'd' ? !isdigit(c)
			: shape[i] == 'a' ? !isalpha(c)
			: shape[i] == 's' ? c != '+' && c != '-'
					  : c != (unsigned char)shape[i])
			return -1;
	}
	if (sscanf(s, "%2d-%3s-%4d %2d:%2d:%2d %c%4d%n", &d, mon, &y, &h, &mi,
		&se, &sign, &z, &n) != 8 ||
	    s[n] != '\0' || (sign != '+' && sign != '-'))
		return -1;
	m = date_month(mon);
	if (m < 0 || strlen(mon) != 3 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60 || z % 100 > 59)
		return -1;
	*tz_r = (sign == '-' ? -1 : 1) * (z / 100 * 60 + z % 100);
	*t_r = (int64_t)date_utc(y, m, d, h, mi, se, *tz_r);
	return 0;
}

int
date_parse_imap_date(const char *s, long long *t_r)
{
	char *e;
	long d, y;
	int m;

	/* date-day 1*2DIGIT, date-year 4DIGIT: no sign, no space */
	if (!isdigit((unsigned char)s[0]))
		return -1;
	d = strtol(s, &e, 10);
	if (e - s > 2 || *e != '-' || d < 1 || d > 31)
		return -1;
	m = date_month(e + 1);
	if (m < 0 || e[4] != '-')
		return -1;
	if (strlen(e + 5) != 4 || strspn(e + 5, "0123456789") != 4)
		return -1;
	y = strtol(e + 5, &e, 10);
	if (*e != '\0' || y < 1900 || y > 9999)
		return -1;
	*t_r = date_utc((int)y, m, (int)d, 0, 0, 0, 0);
	return 0;
}

void
date_format_imap_datetime(long long t, int tz, char out[DATE_IMAP_DATETIME_LEN])
{
	time_t local = (time_t)(t + tz * 60LL);
	int z = tz < 0 ? -tz : tz;
	char tmp[64];
	struct tm tm;
	size_t n;

	if (gmtime_r(&local, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(tmp, sizeof(tmp), "%02d-%s-%04d %02d:%02d:%02d %c%02d%02d",
	    tm.tm_mday, date_month_name(tm.tm_mon), tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, tz < 0 ? '-' : '+', z / 60,
	    z % 60);
	n = strlen(tmp); /* 26 but for years past 9999 */
	if (n >= DATE_IMAP_DATETIME_LEN)
		n = DATE_IMAP_DATETIME_LEN - 1;
	memcpy(out, tmp, n);
	out[n] = '\0';
}

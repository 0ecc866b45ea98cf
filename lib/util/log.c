/*
 * log - one line per event to syslog or stderr.
 *
 * Owns the process's log identity.  Does not buffer: every call is one
 * write.  Safe to call before log_open (logs to stderr as "berth").
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static char log_ident_buf[128] = "berth";
static int log_stderr = 1;
static int log_debug_on;

void
log_open(const char *prefix, const char *proc, int to_stderr)
{
	snprintf(log_ident_buf, sizeof(log_ident_buf), "%s/%s",
	    prefix && *prefix ? prefix : "berth", proc);
	log_stderr = to_stderr;
	if (!to_stderr) {
		closelog();
		openlog(log_ident_buf, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

void
log_set_debug(int on)
{
	log_debug_on = on;
}

int
log_to_stderr(void)
{
	return log_stderr;
}

const char *
log_ident(void)
{
	return log_ident_buf;
}

/* log_expand_m - copy fmt replacing %m by strerror(err) */
static void
log_expand_m(char *out, size_t size, const char *fmt, int err)
{
	const char *es = strerror(err);
	size_t o = 0, n;

	while (*fmt && o + 1 < size) {
		if (fmt[0] == '%' && fmt[1] == '%') {
			if (o + 2 >= size)
				break;
			out[o++] = *fmt++;
			out[o++] = *fmt++;
		} else if (fmt[0] == '%' && fmt[1] == 'm') {
			for (n = 0; es[n] && o + 1 < size; n++) {
				if (es[n] == '%') {
					if (o + 2 >= size)
						break;
					out[o++] = '%';
				}
				out[o++] = es[n];
			}
			fmt += 2;
		} else {
			out[o++] = *fmt++;
		}
	}
	out[o] = '\0';
}

static const char *
log_level_name(int prio)
{
	switch (prio) {
	case LOG_DEBUG: return "debug";
	case LOG_INFO: return "info";
	case LOG_NOTICE: return "notice";
	case LOG_WARNING: return "warning";
	case LOG_ERR: return "error";
	case LOG_CRIT: return "fatal";
	default: return "panic";
	}
}

void
log_vmsg(int prio, const char *fmt, va_list ap)
{
	int saved = errno;
	char efmt[1024], line[4096];
	size_t i;

	if (prio == LOG_DEBUG && !log_debug_on)
		return;
	log_expand_m(efmt, sizeof(efmt), fmt, saved);
	vsnprintf(line, sizeof(line), efmt, ap);
	/* one event, one line: never let data split a record */
	for (i = 0; line[i]; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (log_stderr) {
		struct timespec ts;
		struct tm tm;
		char tbuf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s[%ld]: %s: %s\n", tbuf,
		    ts.tv_nsec / 1000000, log_ident_buf, (long)getpid(),
		    log_level_name(prio), line);
	} else {
		syslog(prio, "%s", line);
	}
	errno = saved;
}

#define LOG_BODY(prio) do {			\
	va_list ap;				\
	va_start(ap, fmt);			\
	log_vmsg(prio, fmt, ap);		\
	va_end(ap);				\
} while (0)

void log_debug(const char *fmt, ...) { LOG_BODY(LOG_DEBUG); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_INFO); }
void log_warn(const char *fmt, ...) { LOG_BODY(LOG_WARNING); }
void log_error(const char *fmt, ...) { LOG_BODY(LOG_ERR); }

void
log_fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT);
	exit(1);
}

void
log_panic(const char *fmt, ...)
{
	LOG_BODY(LOG_ALERT);
	abort();
}

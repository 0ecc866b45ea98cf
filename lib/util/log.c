/*
 * log - one line per event to syslog, stderr or both.
 *
 * Owns the process's log identity, destination and current session.
 * Does not buffer: every call is one write.  Safe to call before log_open
 * (logs to stderr as "berth").  glibc's syslog(3) talks to /dev/log; with
 * no /dev/log it would drop every line without a word, so log_open looks
 * first and falls back to stderr, saying so once.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_DEVLOG "/dev/log"		      /* glibc's _PATH_LOG */
#define LOG_NODEVLOG_ENV "BERTH_LOG_NODEVLOG" /* told already */

static char log_ident_buf[128] = "berth";
static int log_to = LOG_TO_STDERR;
static int log_debug_on;
static _Thread_local uint64_t log_session_id; /* authd's threads: none */

static const struct {
	const char *name;
	int code;
} log_facilities[] = {
	{ "auth", LOG_AUTH },
	{ "authpriv", LOG_AUTHPRIV },
	{ "cron", LOG_CRON },
	{ "daemon", LOG_DAEMON },
	{ "ftp", LOG_FTP },
	{ "kern", LOG_KERN },
	{ "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
	{ "lpr", LOG_LPR },
	{ "mail", LOG_MAIL },
	{ "news", LOG_NEWS },
	{ "syslog", LOG_SYSLOG },
	{ "user", LOG_USER },
	{ "uucp", LOG_UUCP },
};

int
log_facility_code(const char *name)
{
	size_t i;

	if (name == NULL || *name == '\0')
		return LOG_MAIL;
	/* Cyrus writes them either way: LOCAL6, local6, log_local6 */
	if (strncasecmp(name, "log_", 4) == 0)
		name += 4;
	for (i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]); i++)
		if (strcasecmp(name, log_facilities[i].name) == 0)
			return log_facilities[i].code;
	return -1;
}

int
log_dest_default(int foreground)
{
	if (foreground)
		return LOG_TO_STDERR;
	return isatty(2) ? LOG_TO_SYSLOG | LOG_TO_STDERR : LOG_TO_SYSLOG;
}

/* log_devlog_missing - is there no syslog socket?  Says so on stderr
 * the first time in a process tree */
static int
log_devlog_missing(void)
{
	struct stat st;
	char line[300];
	int n;

	if (stat(LOG_DEVLOG, &st) == 0 && S_ISSOCK(st.st_mode))
		return 0;
	if (getenv(LOG_NODEVLOG_ENV) == NULL) {
		n = snprintf(line, sizeof(line),
		    "%s[%ld]: warning: no syslog "
		    "socket %s (is a syslog daemon running?): logging to "
		    "standard error\n",
		    log_ident_buf, (long)getpid(), LOG_DEVLOG);
		if (n > 0 &&
		    write(2, line,
			(size_t)n < sizeof(line) ? (size_t)n
						 : sizeof(line) - 1) < 0)
			n = 0; /* nowhere left to say it */
		/* only spares the children a second attempt: ENOMEM is harmless
		 */
		(void)setenv(LOG_NODEVLOG_ENV, "1", 1);
	}
	return 1;
}

void
log_open(const char *prefix, const char *proc, int to, int facility)
{
	snprintf(log_ident_buf, sizeof(log_ident_buf), "%s/%s",
	    prefix && *prefix ? prefix : "berth", proc);
	if ((to & LOG_TO_SYSLOG) && log_devlog_missing())
		to = LOG_TO_STDERR;
	log_to = to;
	if (to & LOG_TO_SYSLOG) {
		closelog();
		openlog(log_ident_buf, LOG_PID | LOG_NDELAY,
		    facility >= 0 ? facility : LOG_MAIL);
	}
}

void
log_set_session(uint64_t id)
{
	log_session_id = id;
}

uint64_t
log_session(void)
{
	return log_session_id;
}

void
log_set_debug(int on)
{
	log_debug_on = on;
}

int
log_to_stderr(void)
{
	return (log_to & LOG_TO_STDERR) != 0;
}

int
log_dest(void)
{
	return log_to;
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
	case LOG_DEBUG:
		return "debug";
	case LOG_INFO:
		return "info";
	case LOG_NOTICE:
		return "notice";
	case LOG_WARNING:
		return "warning";
	case LOG_ERR:
		return "error";
	case LOG_CRIT:
		return "fatal";
	default:
		return "panic";
	}
}

/* log_vmsg_to - format one line and write it to the destinations to */
static void
log_vmsg_to(int to, int prio, const char *fmt, va_list ap)
{
	int saved = errno;
	char efmt[1024], line[4096];
	size_t i, n;

	if (prio == LOG_DEBUG && !log_debug_on)
		return;
	log_expand_m(efmt, sizeof(efmt), fmt, saved);
	(void)vsnprintf(line, sizeof(line), efmt, ap);
	/* one event, one line: never let data split a record */
	for (i = 0; line[i]; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	n = i;
	if (log_session_id != 0 && n < sizeof(line))
		(void)snprintf(line + n, sizeof(line) - n, " session=%llx",
		    (unsigned long long)log_session_id);
	if (to & LOG_TO_SYSLOG)
		syslog(prio, "%s", line);
	if (to & LOG_TO_STDERR) {
		struct timespec ts;
		struct tm tm;
		char tbuf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
		(void)fprintf(stderr, "%s.%03ld %s[%ld]: %s: %s\n", tbuf,
		    ts.tv_nsec / 1000000, log_ident_buf, (long)getpid(),
		    log_level_name(prio), line);
	}
	errno = saved;
}

void
log_vmsg(int prio, const char *fmt, va_list ap)
{
	log_vmsg_to(log_to, prio, fmt, ap);
}

void
log_syslog(int prio, const char *fmt, ...)
{
	va_list ap;

	if (!(log_to & LOG_TO_SYSLOG))
		return;
	va_start(ap, fmt);
	log_vmsg_to(LOG_TO_SYSLOG, prio, fmt, ap);
	va_end(ap);
}

#define LOG_BODY(prio)                                                         \
	do {                                                                   \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_vmsg(prio, fmt, ap);                                       \
		va_end(ap);                                                    \
	} while (0)

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_DEBUG);
}
void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO);
}
void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING);
}
void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR);
}

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

/*
 * log - syslog (LOG_MAIL, ident "<prefix>/<proc>", LOG_PID) or stderr.
 *
 * Levels: debug, info, warn, error; fatal (environment or configuration
 * failed: exit 1, the master backs off) and panic (our own structures are
 * inconsistent: abort for a core).  "%m" is expanded by our formatter so it
 * works on stderr too.  One event per line, key=value fields.
 */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

#include <stdarg.h>

#define LOG_FMT(a, b) __attribute__((format(printf, a, b)))

/*
 * log_open - start logging as <prefix>/<proc>.  to_stderr: write to
 * stderr instead of syslog (foreground runs and tests).  May be called
 * again (e.g. after the config names a syslog_prefix).
 */
void log_open(const char *prefix, const char *proc, int to_stderr);
void log_set_debug(int on);
int log_to_stderr(void);
const char *log_ident(void);

void log_debug(const char *fmt, ...) LOG_FMT(1, 2);
void log_info(const char *fmt, ...) LOG_FMT(1, 2);
void log_warn(const char *fmt, ...) LOG_FMT(1, 2);
void log_error(const char *fmt, ...) LOG_FMT(1, 2);
void log_fatal(const char *fmt, ...) LOG_FMT(1, 2)
    __attribute__((noreturn));
void log_panic(const char *fmt, ...) LOG_FMT(1, 2)
    __attribute__((noreturn));
void log_vmsg(int prio, const char *fmt, va_list ap) LOG_FMT(2, 0);

#endif

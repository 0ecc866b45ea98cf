/*
 * log - syslog (ident "<prefix>/<proc>", LOG_PID, facility syslog_facility)
 * and/or stderr.
 *
 * Levels: debug, info, warn, error; fatal (environment or configuration
 * failed: exit 1, the master backs off) and panic (our own structures are
 * inconsistent: abort for a core).  "%m" is expanded by our formatter so it
 * works on stderr too.  One event per line, key=value fields.
 *
 * Session ids: while a process works for one client session it names it
 * with log_set_session(); every line then ends with "session=<hex>", the
 * id authd gave the connection at admission (or a random one), which
 * travels with the session through tlsd's handoff, idled's snapshot and
 * authd's requests, so one grep follows a session across processes.  The
 * event loop (ev) clears it after every callback.
 */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

#include <stdarg.h>
#include <stdint.h>

#define LOG_FMT(a, b) __attribute__((format(printf, a, b)))

#define LOG_TO_SYSLOG 0x1
#define LOG_TO_STDERR 0x2

/*
 * log_open - log as <prefix>/<proc> to `to` (LOG_TO_* bits) with the
 * syslog facility (a LOG_* value, see log_facility_code).  May be called
 * again (e.g. once the config names a syslog_prefix).  When syslog is
 * wanted but /dev/log does not exist, says so once on stderr (once per
 * process tree: the environment tells children) and logs to stderr.
 */
void log_open(const char *prefix, const char *proc, int to, int facility);
/* log_dest_default - where a process logs: stderr alone in the foreground
 * (-D), syslog and stderr when stderr is a terminal, else syslog */
int log_dest_default(int foreground);
/* log_facility_code - the LOG_* facility named ("mail", "local0"...), or
 * -1 for an unknown name */
int log_facility_code(const char *name);
void log_set_debug(int on);
/* log_to_stderr - do lines go to stderr (alone or with syslog)? */
int log_to_stderr(void);
/* log_dest - the LOG_TO_* bits in effect */
int log_dest(void);
const char *log_ident(void);
/* log_set_session - lines from now on name session id (0: none) */
void log_set_session(uint64_t id);
uint64_t log_session(void);

void log_debug(const char *fmt, ...) LOG_FMT(1, 2);
void log_info(const char *fmt, ...) LOG_FMT(1, 2);
void log_warn(const char *fmt, ...) LOG_FMT(1, 2);
void log_error(const char *fmt, ...) LOG_FMT(1, 2);
void log_fatal(const char *fmt, ...) LOG_FMT(1, 2) __attribute__((noreturn));
void log_panic(const char *fmt, ...) LOG_FMT(1, 2) __attribute__((noreturn));
void log_vmsg(int prio, const char *fmt, va_list ap) LOG_FMT(2, 0);
/* log_syslog - one line to syslog only (when syslog is a destination):
 * for a tool that has already said it on stderr its own way */
void log_syslog(int prio, const char *fmt, ...) LOG_FMT(2, 3);

#endif

/*
 * srv - the child side of the master contract (see srv.h): option
 * parsing, configuration, logging, status reports, privilege drop.
 *
 * Does not loop or accept: each program owns its own main loop.
 */
#include "config.h"

#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "log.h"
#include "srv.h"

static uint32_t srv_generation;
static int srv_master;
static const char *srv_proc = "berth";
static int srv_tool; /* berthctl: stderr as well as syslog */

void
srv_interactive(void)
{
	srv_tool = 1;
}

/* srv_log_dest - where this program's lines go */
static int
srv_log_dest(int foreground)
{
	if (srv_tool && !foreground)
		return LOG_TO_SYSLOG | LOG_TO_STDERR;
	return log_dest_default(foreground);
}

/* srv_crash - a fatal signal: leave a backtrace on stderr, then die of
 * the same signal (core dump where allowed) */
static void
srv_crash(int sig)
{
	void *frames[64];
	int n = backtrace(frames, 64);
	static const char msg[] = "fatal signal; backtrace:\n";

	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(128 + sig);
	backtrace_symbols_fd(frames, n, 2);
	/* the default action ends the process; if either fails, the
	 * handler returns and the fault repeats with no handler left */
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
}

void
srv_log_open(const char *proc, int foreground)
{
	const char *fac = cfg_str("syslog_facility");
	int code = log_facility_code(fac);

	log_open(cfg_str("syslog_prefix"), proc, srv_log_dest(foreground),
	    code);
	if (code < 0)
		log_fatal("imapd.conf syslog_facility: unknown facility '%s' "
			  "(mail, daemon, user, local0 ... local7)",
		    fac);
}

void
srv_init(int argc, char **argv, const char *proc, int *optind_r)
{
	const char *conf = NULL, *gen;
	struct err cerr;
	struct buf warn;
	int fg = 0, i;

	srv_proc = proc;
	(void)signal(SIGSEGV, srv_crash);
	(void)signal(SIGBUS, srv_crash);
	(void)signal(SIGFPE, srv_crash);
	if (getenv("BERTH_LOG_STDERR") != NULL)
		fg = 1;
	/* our options come first: -C <conf>, -D */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-C") == 0 && i + 1 < argc)
			conf = argv[++i];
		else if (strcmp(argv[i], "-D") == 0)
			fg = 1;
		else
			break;
	}
	*optind_r = i;
	log_open("berth", proc, srv_log_dest(fg), LOG_MAIL);
	if (conf == NULL)
		conf = getenv("BERTH_CONFIG");
	if (conf == NULL)
		conf = CFG_DEFAULT_PATH;
	/* under master, master has already warned about unknown keys */
	buf_init(&warn, 0);
	if (cfg_load_file(conf, getenv("BERTH_GENERATION") ? &warn : NULL,
		&cerr) < 0)
		log_fatal("%s", cerr.msg);
	buf_free(&warn);
	srv_log_open(proc, fg);
	if (cfg_bool("debug"))
		log_set_debug(1);
	gen = getenv("BERTH_GENERATION");
	if (gen != NULL) {
		srv_generation = (uint32_t)strtoul(gen, NULL, 10);
		srv_master = 1;
	}
}

void
srv_status_send(enum srv_state state)
{
	struct srv_status st;

	if (!srv_master)
		return;
	st.pid = (int32_t)getpid();
	st.generation = srv_generation;
	st.state = state;
	if (write(SRV_STATUS_FD, &st, sizeof(st)) != sizeof(st) &&
	    errno == EPIPE)
		log_fatal("master went away");
}

int
srv_under_master(void)
{
	return srv_master;
}

int
srv_listen_fd(void)
{
	return srv_master && getenv("BERTH_LISTEN") != NULL ? SRV_LISTEN_FD
							    : -1;
}

const char *
srv_service_name(void)
{
	const char *s = getenv("BERTH_SERVICE");

	return s ? s : srv_proc;
}

void
srv_drop_privs(void)
{
	const char *user = cfg_str("berth_user");
	struct passwd *pw;

	if (geteuid() != 0)
		return;
	if (user == NULL || *user == '\0')
		log_fatal("running as root and imapd.conf berth_user is empty");
	pw = getpwnam(user);
	if (pw == NULL)
		log_fatal("berth_user '%s' does not exist: create it or set "
			  "berth_user in imapd.conf",
		    user);
	if (pw->pw_uid == 0)
		return; /* explicitly configured to stay root */
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		log_fatal("cannot become berth_user '%s': %m", user);
	if (setuid(0) == 0)
		log_panic("regained root after dropping privileges");
}

int
srv_handoff_fd(const char **path_r)
{
	const char *p = getenv("BERTH_HANDOFF");

	if (!srv_master || p == NULL)
		return -1;
	*path_r = p;
	return SRV_HANDOFF_FD;
}

void
srv_chown_berth(const char *path)
{
	const char *user = cfg_str("berth_user");
	struct passwd *pw;

	if (geteuid() != 0 || user == NULL || (pw = getpwnam(user)) == NULL)
		return;
	if (chown(path, pw->pw_uid, pw->pw_gid) < 0)
		log_warn("chown %s to %s: %m", path, user);
}

/*
 * master - berth's process supervisor: reads master.conf, runs START
 * commands, binds listeners, drops privileges, keeps worker pools, runs
 * EVENTS and DAEMON children, reloads on SIGHUP, stops on SIGTERM.
 *
 * This file owns the option parsing, the main loop (lib/ev on the status
 * pipe and a signalfd) and store recovery (which only a child's
 * STORE_EXIT_RECOVER, failchk's verdict or a blocked failchk asks for).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "ev.h"
#include "fd.h"
#include "lockslot.h"
#include "log.h"
#include "master.h"
#include "srv.h"
#include "clock.h"
#include "store.h"
#include "xalloc.h"

struct master master;

long long
master_now_ms(void)
{
	return clock_mono_ms();
}

static void
usage(void)
{
	(void)fprintf(stderr,
	    "usage: master [-C imapd.conf] [-M master.conf] "
	    "[-D | -F] [-d]\n");
	exit(2);
}

/* master_reap - collect exited children and react */
static void
master_reap(void)
{
	struct master_child *c, copy;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		c = master_child_find(pid);
		if (c == NULL)
			continue;
		copy = *c;
		master_child_remove(pid);
		if (master_store_reaped(pid, status))
			continue;
		master_pool_reaped(&copy, status);
		if (WIFEXITED(status) &&
		    WEXITSTATUS(status) == STORE_EXIT_RECOVER)
			master.recover_pending = 1;
		if (copy.svc->e.section == MCONF_DAEMON && !copy.svc->removed &&
		    !master.terminating)
			master_event_schedule(copy.svc, 0);
	}
}

/* master_stopping - is c one master_stop_children stops? */
static int
master_stopping(const struct master_child *c, int store_users)
{
	return !store_users || c->svc->e.section != MCONF_DAEMON;
}

/* master_stopped_left - children still to stop */
static size_t
master_stopped_left(int store_users)
{
	size_t i, n = 0;

	for (i = 0; i < master.nchildren; i++)
		if (master_stopping(&master.children[i], store_users))
			n++;
	return n;
}

/*
 * master_stop_children - SIGTERM, wait up to 10 s, then SIGKILL.  Every
 * child, or with store_users only those that use the mail store (not
 * DAEMON entries: berth's daemons, authd and idled, never open it, and
 * stopping idled would drop every parked session).
 */
static void
master_stop_children(int store_users)
{
	long long deadline;
	size_t i;

	for (i = 0; i < master.nchildren; i++)
		if (master_stopping(&master.children[i], store_users))
			kill(master.children[i].pid, SIGTERM);
	deadline = master_now_ms() + 10000;
	while (master_stopped_left(store_users) > 0 &&
	    master_now_ms() < deadline) {
		master_reap();
		usleep(20000);
	}
	for (i = 0; i < master.nchildren; i++) {
		if (!master_stopping(&master.children[i], store_users))
			continue;
		log_warn("pid=%d did not exit; killing",
		    (int)master.children[i].pid);
		kill(master.children[i].pid, SIGKILL);
	}
	while (master_stopped_left(store_users) > 0) {
		master_reap();
		usleep(20000);
	}
}

/* master_shutdown - stop listening and every child, then exit */
static void
master_shutdown(void)
{
	size_t i;

	master.terminating = 1;
	log_info("shutting down: children=%zu", master.nchildren);
	for (i = 0; i < master.nsvcs; i++)
		if (master.svcs[i]->lfd >= 0)
			fd_close(master.svcs[i]->lfd);
	master_stop_children(0);
	log_info("stopped");
	master_pidfile_remove();
	exit(0);
}

/* master_slots_sweep - remove the upload slot files (imapd_slot.c) of
 * workers that died holding one, at start and after a recovery (when no
 * worker of ours runs; lockslot_sweep leaves any file still held) */
static void
master_slots_sweep(void)
{
	char *dir = xasprintf("%s/slots", cfg_str("configdirectory"));
	int n;

	if ((n = lockslot_sweep(dir)) < 0 && errno != ENOENT)
		log_warn("cannot sweep %s: %m", dir);
	else if (n > 0)
		log_info("removed stale upload slots dir=%s count=%d", dir, n);
	free(dir);
}

/*
 * master_recover - a child reported that the mail store needs recovery (a
 * process died inside Berkeley DB).  Recovery needs the store to itself:
 * stop every child that uses it, run the START commands again, then carry
 * on.  The listeners stay open, so clients wait in the backlog meanwhile;
 * DAEMONs (idled with its parked sessions, authd) keep running.
 */
static void
master_recover(void)
{
	size_t i;

	master.recover_pending = 0;
	log_error("mail store needs recovery: stopping children=%zu and "
		  "running START again",
	    master_stopped_left(1));
	master.terminating = 1;
	master_stop_children(1);
	master.terminating = 0;
	master_store_size();
	master_slots_sweep();
	master_event_run_start();
	for (i = 0; i < master.nsvcs; i++)
		master_event_schedule(master.svcs[i], 1);
	log_info("recovery done; services resume");
}

/* master_forward_hup - SIGHUP to the children that asked for it (tlsd:
 * certificates), after the reload of imapd.conf */
static void
master_forward_hup(void)
{
	size_t i;

	for (i = 0; i < master.nchildren; i++)
		if (master.children[i].reloads)
			kill(master.children[i].pid, SIGHUP);
}

/* master_signal - one signalfd event */
static void
master_signal(int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			master_reap();
			break;
		case SIGHUP:
			log_info("SIGHUP: reloading %s and %s",
			    master.imapd_conf, master.master_conf);
			master_conf_load(0);
			master_log_open(0);
			master_store_reloaded();
			master_forward_hup();
			break;
		case SIGTERM:
		case SIGINT:
			master_shutdown();
			break;
		}
	}
}

static int
master_signals(void)
{
	sigset_t set;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		log_fatal("signalfd: %m");
	return sfd;
}

static void
master_daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		log_fatal("fork: %m");
	if (pid > 0)
		_exit(0);
	setsid();
	if (chdir("/") < 0)
		log_fatal("chdir /: %m");
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		/* with no syslog, stderr is where the lines go */
		if (log_dest() & LOG_TO_SYSLOG)
			dup2(fd, 2);
		if (fd > 2)
			fd_close(fd);
	}
	master_log_open(0); /* the terminal is gone */
}

void
master_log_open(int initial)
{
	const char *fac = cfg_str("syslog_facility");
	int code = log_facility_code(fac);

	log_open(cfg_str("syslog_prefix"), "master",
	    log_dest_default(master.foreground), code);
	if (code >= 0)
		return;
	if (initial)
		log_fatal("imapd.conf syslog_facility: unknown facility '%s' "
			  "(mail, daemon, user, local0 ... local7)",
		    fac);
	log_error("imapd.conf syslog_facility: unknown facility '%s'; "
		  "logging to mail",
	    fac);
}

/* master_next_min - the earlier of two due times (0: none) */
static long long
master_next_min(long long a, long long b)
{
	return a == 0 || (b != 0 && b < a) ? b : a;
}

/* master_on_status - children reported ready or busy */
static void
master_on_status(struct ev_io *io, unsigned events, void *ctx)
{
	(void)io;
	(void)events;
	(void)ctx;
	master_pool_status();
}

/* master_on_signal - a signal arrived on the signalfd */
static void
master_on_signal(struct ev_io *io, unsigned events, void *ctx)
{
	(void)events;
	(void)ctx;
	master_signal(io->fd);
}

/*
 * master_loop - one round: act on what is due, then sleep until the next
 * due time or an event.  Every due time the rounds compute is consumed by
 * the tick that acts on it (moved on or cleared), so a due time in the
 * past means a round of work, never a spin.
 */
static void
master_loop(int sfd)
{
	static struct ev_io sio, pio;
	long long next, now;
	int timeout, busy = 0;

	ev_init();
	if (ev_io_add(&sio, sfd, EV_READ, master_on_signal, NULL) < 0 ||
	    ev_io_add(&pio, master.status_rfd, EV_READ, master_on_status,
		NULL) < 0)
		log_fatal("cannot watch the signal and status descriptors: %m");
	for (;;) {
		if (master.recover_pending)
			master_recover();
		master_pool_adjust();
		master_front_adjust();
		master_event_tick();
		master_store_tick();
		next = master_next_min(master_event_next_ms(),
		    master_pool_next_ms());
		next = master_next_min(next, master_store_next_ms());
		now = master_now_ms();
		timeout = master_loop_timeout(next, now);
		/* a due time no tick consumes is our bug: say which, and
		 * sleep a little rather than burn a core */
		busy = timeout == 0 ? busy + 1 : 0;
		if (busy == MASTER_SPIN_ROUNDS)
			log_error("main loop: a due time in the past is not "
				  "consumed event=%lld pool=%lld store=%lld "
				  "now=%lld",
			    master_event_next_ms(), master_pool_next_ms(),
			    master_store_next_ms(), now);
		if (busy >= MASTER_SPIN_ROUNDS)
			timeout = 10;
		ev_run_once(timeout);
	}
}

int
main(int argc, char **argv)
{
	int c, sfd, pfd[2], nofork = 0;
	size_t i;

	master.imapd_conf = SYSCONFDIR "/berth/imapd.conf";
	master.master_conf = SYSCONFDIR "/berth/master.conf";
	while ((c = getopt(argc, argv, "C:M:DFd")) != -1) {
		switch (c) {
		case 'C':
			master.imapd_conf = optarg;
			break;
		case 'M':
			master.master_conf = optarg;
			break;
		case 'D':
			master.foreground = 1;
			break;
		case 'F':
			nofork = 1;
			break;
		case 'd':
			log_set_debug(1);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_open("berth", "master", log_dest_default(master.foreground),
	    LOG_MAIL);
	/* children find their config by the path, wherever they chdir */
	if (master.imapd_conf[0] != '/')
		master.imapd_conf = realpath(master.imapd_conf, NULL)
		    ? realpath(master.imapd_conf, NULL)
		    : master.imapd_conf;
	sfd = master_signals();
	master_conf_load(1); /* binds listeners; fatal on errors */
	master_log_open(1);
	if (!master.foreground && !nofork)
		master_daemonize();
	master_pidfile_write();
	srv_drop_privs();
	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0)
		log_fatal("pipe: %m");
	master.status_rfd = pfd[0];
	master.status_wfd = pfd[1];
	master_store_size();
	master_slots_sweep();
	master_event_run_start();
	for (i = 0; i < master.nsvcs; i++) {
		struct master_svc *svc = master.svcs[i];

		if (svc->lfd >= 0 && listen(svc->lfd, 1024) < 0)
			log_fatal("service=%s listen=%s: %m", svc->e.name,
			    svc->e.listen);
		if (svc->lfd >= 0)
			log_info("service=%s listening on %s", svc->e.name,
			    svc->e.listen);
	}
	log_info("ready generation=%u", master.generation);
	master_loop(sfd);
	return 0;
}

/*
 * tlsd - the TLS front: terminates TLS for implicit TLS (the SERVICES
 * entry's listener, fd 4) and for STARTTLS (clients imapd passes on the
 * entry's handoff listener, fd 5, whose path is imapd.conf tlsd_socket),
 * and gives each session to a free imapd as a plaintext socketpair end
 * through the imapd service's handoff socket ("-h path"; default
 * <configdirectory>/socket/handoff).  The session then lives on a Unix
 * socket: idled parks it as it parks any other.
 *
 *   tlsd [-h handoff]
 *   tlsd -g        make a self-signed certificate if there is none
 *                  (master.conf START), then exit
 *
 * One event loop per process, many connections each; run a few (master
 * prefork = maxchild, maxfds: two descriptors per connection).  Files:
 * tlsd_conn (accept, handshake, close), tlsd_admit (authd admission),
 * tlsd_handoff (to and from imapd), tlsd_relay (bytes both ways),
 * tlsd_ctx and tlsd_conf (imapd.conf's tls_* keys), tlsd_ticket (session
 * tickets shared by all tlsd processes).
 *
 * SIGHUP (master forwards its own) re-reads imapd.conf and the
 * certificates; open connections keep theirs.  A bad certificate at
 * start is fatal, on a reload it is logged and the running ones stay.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cfg.h"
#include "err.h"
#include "log.h"
#include "srv.h"
#include "tlsd.h"

static struct ev_io main_sio;

/* main_reload - SIGHUP: imapd.conf and the certificates again */
static void
main_reload(void)
{
	const char *err;
	struct err cerr;

	if (cfg_load_file(cfg_path(), NULL, &cerr) < 0) {
		log_error("reload failed, keeping the running TLS settings: "
			  "%s",
		    cerr.msg);
		return;
	}
	if (tlsd_ctx_load(&err) < 0) {
		log_error("reload failed, keeping the running certificates: "
			  "%s",
		    err);
		return;
	}
	log_info("reloaded certificates connections=%zu", tlsd_conn_count());
}

static void
main_signal(struct ev_io *io, unsigned events, void *ctx)
{
	struct signalfd_siginfo si;

	while (read(io->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			main_reload();
			continue;
		}
		log_info("stopping signal=%u connections=%zu", si.ssi_signo,
		    tlsd_conn_count());
		exit(0);
	}
}

static void
main_signals(void)
{
	sigset_t set;
	int fd;

	(void)signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		log_fatal("signalfd: %m");
	if (ev_io_add(&main_sio, fd, EV_READ, main_signal, NULL) < 0)
		log_fatal("epoll: %m");
}

/* main_starttls - the STARTTLS listener, checked against tlsd_socket */
static void
main_starttls(void)
{
	const char *path, *want = cfg_str("tlsd_socket");
	char def[1024];
	int sfd = srv_handoff_fd(&path);

	if (sfd < 0) {
		log_info("no handoff= in master.conf: implicit TLS only, no "
			 "STARTTLS");
		return;
	}
	if (want == NULL) {
		/* fits: configdirectory is at most CFG_CONFDIR_MAX */
		(void)snprintf(def, sizeof(def), "%s/socket/tlsd",
		    cfg_str("configdirectory"));
		want = def;
	}
	if (strcmp(path, want) != 0)
		log_warn("master.conf handoff=%s is not imapd.conf "
			 "tlsd_socket=%s: imapd will not find this tlsd for "
			 "STARTTLS",
		    path, want);
	tlsd_starttls_listen(sfd);
}

int
main(int argc, char **argv)
{
	const char *err, *handoff = NULL;
	char def[1024];
	int ind, c, gen = 0;

	srv_init(argc, argv, "tlsd", &ind);
	optind = ind;
	while ((c = getopt(argc, argv, "gh:")) != -1) {
		if (c == 'h')
			handoff = optarg;
		else if (c == 'g')
			gen = 1;
		else
			log_fatal("usage: tlsd [-C imapd.conf] [-g | -h "
				  "handoff]");
	}
	if (gen)
		return tlsd_selfsign();
	if (!srv_under_master())
		log_fatal("tlsd runs under master (master.conf SERVICES)");
	if (handoff == NULL) {
		/* fits: configdirectory is at most CFG_CONFDIR_MAX */
		(void)snprintf(def, sizeof(def), "%s/socket/handoff",
		    cfg_str("configdirectory"));
		handoff = def;
	}
	tlsd_handoff_set_default(handoff);
	if (tlsd_ticket_init(&err) < 0 || tlsd_ctx_load(&err) < 0)
		log_fatal("%s", err);
	ev_init();
	main_signals();
	tlsd_conn_listen(srv_listen_fd());
	main_starttls();
	tlsd_admit_init();
	srv_status_send(SRV_S_RELOADS);
	srv_status_send(SRV_S_READY);
	ev_run();
	return 0;
}

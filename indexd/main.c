/*
 * indexd - the full-text indexer (indexd(8)).  One event-driven process
 * run by master (DAEMON): every writer (imapd, lmtpd, berthctl) tells it
 * of new messages over its notice socket, as idled is told of every
 * change; it queues their users and indexes them in batches, at low CPU
 * priority, a slice at a time, so notices are read between slices.
 *
 * Why a process of its own and not the worker after its reply: an
 * APPEND or LMTP worker that indexed after replying would hold its slot
 * in the pool meanwhile (fifty recipients, fifty indexes), compete at
 * the priority of the deliveries themselves, and lose the work when
 * killed; one indexer batches what arrives together into one
 * transaction per user, runs niced, and is the only writer of the
 * indexes in the steady state (SEARCH still catches up what it has not
 * reached).  Notices are hints, never needed: a sweep at start and every
 * indexd_sweep queues every user, so a notice dropped (indexd down or
 * behind) or a kill -9 loses nothing, and each batch is committed as it
 * goes.
 *
 * Files: indexd_notice (the notice socket), indexd_queue (users waiting,
 * the slices, the sweep), indexd_index (one user's mailboxes into the
 * index).  SIGTERM and SIGINT end it between slices; the store is closed
 * on the way out (failchk, run by master, reclaims what a kill -9 left).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "err.h"
#include "ev.h"
#include "indexd.h"
#include "log.h"
#include "notify.h"
#include "srv.h"
#include "store.h"

/* the CPU priority indexing runs at: behind the deliveries and logins
 * it follows */
#define INDEXD_NICE 10

struct store *indexd_store;

static struct ev_io indexd_sig_io;

/* indexd_on_signal - SIGTERM or SIGINT through the signalfd: stop */
static void
indexd_on_signal(struct ev_io *io, unsigned events, void *ctx)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)ctx;
	if (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		log_info("stopping signal=%u", si.ssi_signo);
	ev_break();
}

static void
indexd_signals(void)
{
	sigset_t set;
	int fd;

	(void)signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		log_fatal("signalfd: %m");
	if (ev_io_add(&indexd_sig_io, fd, EV_READ, indexd_on_signal, NULL) < 0)
		log_fatal("cannot watch signals: %m");
}

/* indexd_nice - run at INDEXD_NICE unless started lower still */
static void
indexd_nice(void)
{
	errno = 0;
	if (getpriority(PRIO_PROCESS, 0) < INDEXD_NICE && errno == 0 &&
	    setpriority(PRIO_PROCESS, 0, INDEXD_NICE) < 0)
		log_warn("setpriority %d: %m", INDEXD_NICE);
}

/* indexd_store_open - join the store; exit as master expects when it
 * needs recovery or has no room */
static void
indexd_store_open(void)
{
	const char *part = cfg_partition_path(cfg_str("defaultpartition"));
	struct err err;
	int r;

	if (part == NULL)
		log_fatal("%s: partition-%s is not set", cfg_path(),
		    cfg_str("defaultpartition"));
	if ((r = store_open(cfg_str("configdirectory"), part, STORE_OPEN_CREATE,
		 &indexd_store, &err)) < 0) {
		log_error("cannot open the mail store: %s", err.msg);
		exit(r == STORE_ERECOVER       ? STORE_EXIT_RECOVER
			: r == STORE_ESHORTAGE ? STORE_EXIT_SHORTAGE
					       : 1);
	}
}

int
main(int argc, char **argv)
{
	char dir[1024], *slash;
	int ind;

	srv_init(argc, argv, "indexd", &ind);
	/* fits: configdirectory is at most CFG_CONFDIR_MAX */
	(void)snprintf(dir, sizeof(dir), "%s", notify_index_path());
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0'; /* <configdirectory>/socket */
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			log_fatal("mkdir %s: %m", dir);
	}
	indexd_nice();
	indexd_store_open();
	ev_init();
	indexd_signals();
	indexd_notice_init();
	indexd_queue_init();
	log_info("listening on %s", notify_index_path());
	ev_run();
	indexd_notice_close();
	store_close(&indexd_store);
	return 0;
}

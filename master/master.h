/*
 * master - shared state of the master process.
 *
 * One struct master_svc per master.conf entry (any section) and one
 * struct master_child per running child.  The pool policy lives in
 * master_pool.c, forking in master_spawn.c, START/EVENTS/DAEMON timing in
 * master_event.c, config (re)loading in master_conf.c.
 */
#ifndef BERTH_MASTER_H
#define BERTH_MASTER_H

#include <stdint.h>
#include <sys/types.h>

#include "ev.h"
#include "mconf.h"

enum master_cstate {
	MASTER_C_STARTING, /* forked, no status yet */
	MASTER_C_READY,
	MASTER_C_BUSY,
};

struct master_svc {
	struct mconf_entry e; /* owns its strings */
	int lfd;	      /* SERVICES: listener, -1 otherwise */
	int hfd;	      /* SERVICES: handoff listener or -1 */
	int removed;	      /* gone from the config after SIGHUP */
	int at_max;	      /* at maxchild (2: and logged it) */
	int max_hits;	      /* times since the last such line */
	long long max_logged_ms;
	/* fork rate */
	long long rate_window_ms;
	int rate_forks;
	/* trimming (master_pool_trim): the fewest ready workers seen in
	 * each of the last trim_nring (maxidle) seconds, a ring indexed by
	 * the second; trim_sec the last second recorded, trim_since_s the
	 * first, trim_last the count the last round left */
	int *trim_ring;
	int trim_nring, trim_last;
	long long trim_sec, trim_since_s;
	/* growth past prefork: a shortage of ready workers since short_ms
	 * (0: none), the last fork it caused at grow_ms */
	long long short_ms, grow_ms;
	/* DAEMON / EVENTS */
	long long next_ms; /* next start (back-off or schedule) */
	long long backoff_ms;
	long long started_ms;
	long long ready_ms; /* last became ready */
	/* master_front: the listener watched while no worker is ready */
	struct ev_io front_io;
	long long front_retry_ms; /* idled failed us: not before this */
};

struct master_child {
	pid_t pid;
	struct master_svc *svc;
	enum master_cstate state;
	uint32_t generation;
	long long started_ms;
	long long ready_ms; /* last became ready */
	int reloads;	    /* sent SRV_S_RELOADS: gets our SIGHUP */
	int slow;	    /* not ready in time: 1 failchk asked for,
			     * 2 told to stop (master_pool_stuck) */
};

struct master {
	const char *imapd_conf;
	const char *master_conf;
	int foreground;
	uint32_t generation;
	struct master_svc **svcs;
	size_t nsvcs;
	struct master_child *children;
	size_t nchildren;
	int status_rfd, status_wfd;
	int terminating;
	int recover_pending; /* a child asked for store recovery */
};

extern struct master master;

long long master_now_ms(void);

#define MASTER_START_TIMEOUT_MS 10000
#define MASTER_START_STOP_MS 120000 /* then a slow starter is stopped */
/* growth past prefork: one fork per MASTER_GROW_GAP_MS while a shortage
 * lasts, the gap halving every MASTER_GROW_STEP_MS of it */
#define MASTER_GROW_GAP_MS 10
#define MASTER_GROW_STEP_MS 100
#define MASTER_MAX_LOG_MS 60000 /* "maxchild reached" at most this often */
/* rounds in a row with nothing to wait for: paced growth forks once a
 * round at most, so far more than any maxchild means a spin */
#define MASTER_SPIN_ROUNDS 100000
#define MASTER_FAILCHK_MS 5000 /* reclaim dead processes' lockers */
/* a failchk this slow is blocked (on a dead process's mutex) */
#define MASTER_FAILCHK_TIMEOUT_MS 30000

/* master_pidfile.c: master_pid_file */
/* master_pidfile_take - lock path (none when unset) and empty it; fatal
 * when a live master holds it */
void master_pidfile_take(const char *path);
/* master_pidfile_write - our pid into it (after the daemonizing fork) */
void master_pidfile_write(void);
/* master_pidfile_remove - at a clean exit */
void master_pidfile_remove(void);
/* master_log_open - the log as imapd.conf and the options say */
void master_log_open(int initial);

/* master_conf.c */
int master_conf_load(int initial);
/* master_spawn.c */
pid_t master_spawn(struct master_svc *svc);
int master_run_wait(struct master_svc *svc);
struct master_child *master_child_find(pid_t pid);
void master_child_remove(pid_t pid);
/* master_pool.c */
void master_pool_status(void);
void master_pool_adjust(void);
/* master_pool_next_ms - when a paced fork is due, 0 if none is */
long long master_pool_next_ms(void);
void master_pool_reaped(struct master_child *c, int status);
/* master_front.c */
/* master_front_adjust - watch the listeners of imapd services that have
 * no ready worker, to hand their new clients to idled; stop watching
 * the others */
void master_front_adjust(void);
/* master_front_serves - does master hand svc's new clients to idled when
 * no worker is ready (an imapd service with a handoff socket)? */
int master_front_serves(const struct master_svc *svc);
/* master_front_forget - stop watching svc's listener (before it closes) */
void master_front_forget(struct master_svc *svc);
/* master_event.c */
void master_event_run_start(void);
void master_event_tick(void);
long long master_event_next_ms(void);
void master_event_schedule(struct master_svc *svc, int initial);
/* master_loop_timeout - poll timeout for the earliest due time next (0:
 * none) at now: never negative, at most 1000 ms */
int master_loop_timeout(long long next, long long now);
/* master_store.c */
/* master_store_size - count the store's processes, export
 * BERTH_STORE_PROCS for the START recovery, log the sizing */
void master_store_size(void);
/* master_store_reloaded - after SIGHUP: warn when the pools outgrew the
 * store's tables (only a restart, or a recovery, resizes them) */
void master_store_reloaded(void);
/* master_store_failchk_soon - run failchk at the next round */
void master_store_failchk_soon(const char *why);
/* master_store_tick - start failchk when due, watch a running one */
void master_store_tick(void);
/* master_store_next_ms - when master_store_tick has work, 0 if never */
long long master_store_next_ms(void);
/* master_store_reaped - 1 if pid was failchk (its verdict acted on) */
int master_store_reaped(pid_t pid, int status);
int master_store_is_failchk(const struct master_svc *svc);

#endif

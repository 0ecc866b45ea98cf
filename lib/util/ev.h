/*
 * ev - the event loop of berth's daemons: epoll for descriptors, a binary
 * heap of timers, a cached clock.  One loop per process; callbacks never
 * block.  Not thread-safe: authd's backend threads report to the loop
 * through an eventfd watched with ev_io_add.
 *
 * The caller owns every struct ev_io and struct ev_timer (embed them in
 * the object they serve); the loop only links them.  A callback may add
 * or delete any watcher, itself included; an object holding an ev_io is
 * released with ev_defer_free, since a later event of the same batch may
 * still point at it.  A callback that works for one client session names
 * it with log_set_session(); the loop clears it after every callback.
 */
#ifndef BERTH_EV_H
#define BERTH_EV_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

#define EV_READ 0x01
#define EV_WRITE 0x04 /* EPOLLOUT */

struct ev_io;
struct ev_timer;
/* events: EV_READ/EV_WRITE as ready, plus EV_HUP when the peer hung up
 * or the descriptor is in error */
#define EV_HUP 0x10
typedef void ev_io_fn(struct ev_io *io, unsigned events, void *ctx);
typedef void ev_timer_fn(struct ev_timer *t, void *ctx);

struct ev_io {
	int fd; /* -1: not watched */
	unsigned events;
	ev_io_fn *cb;
	void *ctx;
};

struct ev_timer {
	long long when_ms; /* ev_now_ms() clock */
	size_t slot;	   /* heap index + 1; 0: not armed */
	ev_timer_fn *cb;
	void *ctx;
};

/* ev_init - create the loop (fatal on failure) */
void ev_init(void);
/* ev_io_add - watch fd for events (EV_READ | EV_WRITE); -1 on failure */
int ev_io_add(struct ev_io *io, int fd, unsigned events, ev_io_fn *cb,
    void *ctx) BERTH_CHECK;
/* ev_io_mod - change the events of a watched fd; -1 on failure */
int ev_io_mod(struct ev_io *io, unsigned events) BERTH_CHECK;
/* ev_io_del - stop watching (the fd stays open); no-op if not watched */
void ev_io_del(struct ev_io *io);
/* ev_io_forget - the fd was closed already (epoll dropped it then): mark
 * io unwatched without touching epoll, where the number may be reused */
void ev_io_forget(struct ev_io *io);
/* ev_timer_add - (re)arm t to fire once, ms from now */
void ev_timer_add(struct ev_timer *t, long long ms, ev_timer_fn *cb, void *ctx);
void ev_timer_del(struct ev_timer *t);
int ev_timer_armed(const struct ev_timer *t);
/* ev_now_ms - CLOCK_MONOTONIC in ms, as of the last wake-up */
long long ev_now_ms(void);
/* ev_run_once - wait for events (at most max_ms, -1: until a timer or an
 * event) and dispatch them */
void ev_run_once(long long max_ms);
/* ev_defer_free - free p once the current batch of events is done: for
 * objects holding an ev_io that a later event of the batch may name */
void ev_defer_free(void *p);
/* ev_run - dispatch until ev_break */
void ev_run(void);
void ev_break(void);

#endif

/*
 * ev - epoll and a timer heap.  Descriptors are dispatched in the order
 * epoll reports them; expired timers after them, earliest first.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ev.h"
#include "log.h"
#include "xalloc.h"

#define EV_BATCH 256

static int ev_ep = -1;
static long long ev_now;
static int ev_stop;
static struct ev_timer **ev_heap;
static size_t ev_nheap, ev_heap_size;
static void **ev_graveyard; /* freed after the batch */
static size_t ev_ndead, ev_dead_size;

static void ev_bury(void);

long long
ev_now_ms(void)
{
	return ev_now ? ev_now : (ev_now = clock_mono_ms());
}

void
ev_init(void)
{
	if ((ev_ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		log_fatal("epoll_create: %m");
	ev_now = clock_mono_ms();
}

static uint32_t
ev_mask(unsigned events)
{
	uint32_t m = EPOLLRDHUP;

	if (events & EV_READ)
		m |= EPOLLIN;
	if (events & EV_WRITE)
		m |= EPOLLOUT;
	return m;
}

int
ev_io_add(struct ev_io *io, int fd, unsigned events, ev_io_fn *cb, void *ctx)
{
	struct epoll_event e;

	io->fd = fd;
	io->events = events;
	io->cb = cb;
	io->ctx = ctx;
	e.events = ev_mask(events);
	e.data.ptr = io;
	if (epoll_ctl(ev_ep, EPOLL_CTL_ADD, fd, &e) < 0) {
		io->fd = -1;
		return -1;
	}
	return 0;
}

int
ev_io_mod(struct ev_io *io, unsigned events)
{
	struct epoll_event e;

	if (io->fd < 0 || io->events == events)
		return 0;
	io->events = events;
	e.events = ev_mask(events);
	e.data.ptr = io;
	return epoll_ctl(ev_ep, EPOLL_CTL_MOD, io->fd, &e);
}

void
ev_io_forget(struct ev_io *io)
{
	io->fd = -1;
}

void
ev_io_del(struct ev_io *io)
{
	if (io->fd < 0)
		return;
	/* fails only for an fd already closed, which epoll has dropped */
	(void)epoll_ctl(ev_ep, EPOLL_CTL_DEL, io->fd, NULL);
	io->fd = -1;
}

/* ev_heap_set - place t at index i */
static void
ev_heap_set(size_t i, struct ev_timer *t)
{
	ev_heap[i] = t;
	t->slot = i + 1;
}

static void
ev_heap_up(size_t i)
{
	struct ev_timer *t = ev_heap[i];

	while (i > 0 && ev_heap[(i - 1) / 2]->when_ms > t->when_ms) {
		ev_heap_set(i, ev_heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	ev_heap_set(i, t);
}

static void
ev_heap_down(size_t i)
{
	struct ev_timer *t = ev_heap[i];
	size_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= ev_nheap)
			break;
		if (c + 1 < ev_nheap &&
		    ev_heap[c + 1]->when_ms < ev_heap[c]->when_ms)
			c++;
		if (ev_heap[c]->when_ms >= t->when_ms)
			break;
		ev_heap_set(i, ev_heap[c]);
		i = c;
	}
	ev_heap_set(i, t);
}

void
ev_timer_del(struct ev_timer *t)
{
	struct ev_timer *last;
	size_t i;

	if (t->slot == 0)
		return;
	i = t->slot - 1;
	t->slot = 0;
	if (--ev_nheap == i)
		return;
	last = ev_heap[ev_nheap];
	ev_heap_set(i, last);
	ev_heap_up(i);
	ev_heap_down(last->slot - 1);
}

void
ev_timer_add(struct ev_timer *t, long long ms, ev_timer_fn *cb, void *ctx)
{
	ev_timer_del(t);
	t->when_ms = ev_now_ms() + (ms > 0 ? ms : 0);
	t->cb = cb;
	t->ctx = ctx;
	if (ev_nheap == ev_heap_size) {
		ev_heap_size = ev_heap_size ? ev_heap_size * 2 : 64;
		ev_heap =
		    xreallocarray(ev_heap, ev_heap_size, sizeof(*ev_heap));
	}
	ev_heap_set(ev_nheap, t);
	ev_heap_up(ev_nheap++);
}

int
ev_timer_armed(const struct ev_timer *t)
{
	return t->slot != 0;
}

/* ev_timers_run - fire every timer that is due */
static void
ev_timers_run(void)
{
	struct ev_timer *t;

	while (ev_nheap > 0 && ev_heap[0]->when_ms <= ev_now) {
		t = ev_heap[0];
		ev_timer_del(t);
		t->cb(t, t->ctx);
		log_set_session(0); /* what a callback named ends with it */
	}
}

void
ev_run_once(long long max_ms)
{
	struct epoll_event evs[EV_BATCH];
	long long wait = max_ms;
	unsigned got;
	int n, i;

	if (ev_nheap > 0) {
		long long due = ev_heap[0]->when_ms - clock_mono_ms();

		if (due < 0)
			due = 0;
		if (wait < 0 || due < wait)
			wait = due;
	}
	n = epoll_wait(ev_ep, evs, EV_BATCH,
	    wait < 0		  ? -1
		: wait > 86400000 ? 86400000
				  : (int)wait);
	if (n < 0 && errno != EINTR)
		log_fatal("epoll_wait: %m");
	ev_now = clock_mono_ms();
	for (i = 0; i < n; i++) {
		struct ev_io *io = evs[i].data.ptr;

		got = 0;
		if (evs[i].events & EPOLLIN)
			got |= EV_READ;
		if (evs[i].events & EPOLLOUT)
			got |= EV_WRITE;
		if (evs[i].events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
			got |= EV_HUP;
		/* a callback earlier in this batch may have stopped it;
		 * its memory lives until ev_bury */
		if (io->fd >= 0 && io->cb != NULL)
			io->cb(io, got, io->ctx);
		log_set_session(0);
	}
	ev_timers_run();
	ev_bury();
}

void
ev_defer_free(void *p)
{
	if (ev_ndead == ev_dead_size) {
		ev_dead_size = ev_dead_size ? ev_dead_size * 2 : 64;
		ev_graveyard = xreallocarray(ev_graveyard, ev_dead_size,
		    sizeof(*ev_graveyard));
	}
	ev_graveyard[ev_ndead++] = p;
}

/* ev_bury - free what callbacks of this batch let go of */
static void
ev_bury(void)
{
	while (ev_ndead > 0)
		free(ev_graveyard[--ev_ndead]);
}

void
ev_run(void)
{
	ev_stop = 0;
	while (!ev_stop)
		ev_run_once(-1);
}

void
ev_break(void)
{
	ev_stop = 1;
}

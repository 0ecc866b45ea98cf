/*
 * proxyp_ev - proxyp_accept for event-driven daemons (tlsd): the header
 * is read as it arrives, on the process's lib/ev loop, bounded by
 * proxy_timeout, so a slow proxy holds up no other client.
 *
 * Per connection being read: one allocation (the reader, its ev_io and
 * timer), freed once the callback has run.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cfg.h"
#include "ev.h"
#include "proxyp.h"
#include "xalloc.h"

struct proxyp_ev {
	struct ev_io io;
	struct ev_timer timer;
	char *addr;
	size_t size;
	int *port_r;
	proxyp_ev_fn *fn;
	void *ctx;
	struct proxyp_reader rd;
};

/* proxyp_ev_end - stop watching, report, free */
static void
proxyp_ev_end(struct proxyp_ev *p, const char *err)
{
	ev_io_del(&p->io);
	ev_timer_del(&p->timer);
	p->fn(err, p->ctx);
	ev_defer_free(p);
}

static void
proxyp_ev_timeout(struct ev_timer *t, void *ctx)
{
	struct proxyp_ev *p = ctx;

	proxyp_ev_end(p,
	    p->rd.len == 0 ? "no PROXY header in time"
			   : "PROXY header incomplete in time");
}

static void
proxyp_ev_input(struct ev_io *io, unsigned events, void *ctx)
{
	struct proxyp_ev *p = ctx;
	struct proxyp_result r;
	const char *err;
	int n;

	if ((n = proxyp_read(&p->rd, p->io.fd, &r, &err)) == 0)
		return;
	if (n > 0 && !r.local) {
		snprintf(p->addr, p->size, "%s", r.src);
		*p->port_r = r.sport;
	}
	proxyp_ev_end(p, n > 0 ? NULL : err);
}

void
proxyp_ev_accept(int fd, const char *service, char *addr, size_t size,
    int *port_r, proxyp_ev_fn *fn, void *ctx)
{
	struct proxyp_ev *p;
	const char *err;
	int t;

	if (!proxyp_enabled(service)) {
		fn(NULL, ctx);
		return;
	}
	t = proxyp_trusted(addr, cfg_service_str(service, "proxy_trusted"),
	    &err);
	if (t <= 0) {
		fn(t < 0 ? err
			 : "PROXY header from an address not in "
			   "proxy_trusted",
		    ctx);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->addr = addr;
	p->size = size;
	p->port_r = port_r;
	p->fn = fn;
	p->ctx = ctx;
	p->io.fd = -1;
	if (ev_io_add(&p->io, fd, EV_READ, proxyp_ev_input, p) < 0) {
		free(p);
		fn("cannot watch the connection", ctx);
		return;
	}
	ev_timer_add(&p->timer, cfg_duration_ms("proxy_timeout"),
	    proxyp_ev_timeout, p);
}

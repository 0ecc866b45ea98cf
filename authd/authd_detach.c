/*
 * authd_detach - SASL exchanges whose client owes a response while its
 * session is parked in idled: kept here under the connection's id, with
 * no worker attached, until a worker takes one back (a STEP carrying
 * CONNID) or it ends otherwise: the connection closed, the exchange
 * waited longer than it may, or authd stopped.
 *
 * Bounded in total and per client address: a put over a bound is refused
 * with the limit's name, and the caller ends that exchange.  The table
 * holds the exchange as an opaque pointer and gives it back to the
 * callback given at init (with why) when it drops one.  Main thread only;
 * no configuration is read here (the caller passes bounds and times), so
 * that the table is unit-tested on its own.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "xalloc.h"

struct detached {
	uint64_t conn_id;
	long long since_ms;
	void *obj;
	char addr[AUTHPROTO_MAX_ADDR];
};

static struct htab *det_conns; /* conn id -> struct detached */
static struct htab *det_addrs; /* address -> count */
static authd_detach_free_fn *det_free;

void
authd_detach_init(authd_detach_free_fn *free_fn)
{
	if (det_conns == NULL) {
		det_conns = htab_new();
		det_addrs = htab_new();
	}
	det_free = free_fn;
}

/* detach_remove - d leaves the table; returns its exchange */
static void *
detach_remove(struct detached *d)
{
	void *obj = d->obj;

	htab_del(det_conns, &d->conn_id, sizeof(d->conn_id));
	htab_add(det_addrs, d->addr, strlen(d->addr), -1);
	free(d);
	return obj;
}

int
authd_detach_put(uint64_t conn_id, const char *addr, void *obj,
    long long now_ms, long long max_total, long long max_addr,
    const char **limit_r)
{
	struct detached *d;
	size_t al = strlen(addr);

	*limit_r = NULL;
	/* a second detach of one connection replaces the first */
	authd_detach_drop(conn_id, "replaced");
	if (al >= sizeof(d->addr))
		al = sizeof(d->addr) - 1;
	if (max_total > 0 && (long long)htab_count(det_conns) >= max_total) {
		*limit_r = "sasl_detached_max";
		return -1;
	}
	if (max_addr > 0 && htab_num(det_addrs, addr, al) >= max_addr) {
		*limit_r = "sasl_detached_max_addr";
		return -1;
	}
	d = xcalloc(1, sizeof(*d));
	d->conn_id = conn_id;
	d->since_ms = now_ms;
	d->obj = obj;
	memcpy(d->addr, addr, al);
	htab_put(det_conns, &d->conn_id, sizeof(d->conn_id), d);
	htab_add(det_addrs, d->addr, al, 1);
	return 0;
}

void *
authd_detach_take(uint64_t conn_id)
{
	struct detached *d;

	if (det_conns == NULL ||
	    (d = htab_get(det_conns, &conn_id, sizeof(conn_id))) == NULL)
		return NULL;
	return detach_remove(d);
}

int
authd_detach_drop(uint64_t conn_id, const char *why)
{
	void *obj = authd_detach_take(conn_id);

	if (obj == NULL)
		return 0;
	det_free(obj, why);
	return 1;
}

size_t
authd_detach_expire(long long now_ms, long long timeout_ms)
{
	struct htab_iter it = HTAB_ITER;
	struct detached *d;
	const void *key;
	size_t len, n = 0;
	void *val;

	if (det_conns == NULL)
		return 0;
	while (htab_next(det_conns, &it, &key, &len, &val, NULL)) {
		d = val;
		if (now_ms - d->since_ms < timeout_ms)
			continue;
		det_free(detach_remove(d), "expired");
		n++;
	}
	return n;
}

size_t
authd_detach_count(void)
{
	return det_conns ? htab_count(det_conns) : 0;
}

long long
authd_detach_count_addr(const char *addr)
{
	return det_addrs ? htab_num(det_addrs, addr, strlen(addr)) : 0;
}

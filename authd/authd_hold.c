/*
 * authd_hold - which process holds which client connection, and the
 * counts the limits read: connections per address, per network (IPv4 /24
 * and /16, IPv6 /64 and /48), per user and per user + client.
 *
 * A connection's record names its holder (the peer whose ADMIT or
 * newest HOLD it was); a HOLD older than the record's is stale and
 * ignored, so a session handed worker -> idled -> worker cannot be
 * counted twice or lost however authd orders the messages.  CLOSED
 * deletes the record and leaves a tombstone for a while, so a HOLD
 * still in flight from an earlier holder cannot bring it back.  When a
 * peer goes away (its process died or dropped its link) every record it
 * still holds is deleted; a live holder's replay recreates its own.
 *
 * Invariant: the count tables are the sums over the records, always;
 * every change to a record goes through authd_hold_count().
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "authd.h"
#include "log.h"
#include "xalloc.h"

#define AUTHD_TOMB_MS (10 * 60 * 1000) /* how long CLOSED is remembered */

static struct htab *hold_conns;	 /* conn_id -> struct authd_hold */
static struct htab *hold_tombs;	 /* conn_id -> closed at (ms) */
static struct htab *hold_counts; /* "<kind>key" -> count */
static struct htab *hold_names;	 /* user -> its one copy, and how
				  * many records share it */

void
authd_hold_init(void)
{
	hold_conns = htab_new();
	hold_tombs = htab_new();
	hold_counts = htab_new();
	hold_names = htab_new();
}

void
authd_keys_make(const char *addr, struct authd_keys *k)
{
	struct ipnet n, m;
	int v6;

	memset(k, 0, sizeof(*k));
	if (ipnet_parse(addr, &n) < 0) {
		/* a local socket or something unparsable: count it as one
		 * client without networks */
		snprintf(k->addr, sizeof(k->addr), "%s", addr);
		snprintf(k->host, sizeof(k->host), "%s", addr);
		return;
	}
	k->ip = 1;
	v6 = n.family == AF_INET6;
	ipnet_key(&n, k->addr, sizeof(k->addr));
	m = ipnet_mask(&n, v6 ? 64 : 24);
	ipnet_key(&m, k->net, sizeof(k->net));
	m = ipnet_mask(&n, v6 ? 48 : 16);
	ipnet_key(&m, k->wide, sizeof(k->wide));
	m = ipnet_mask(&n, v6 ? 64 : 32);
	ipnet_key(&m, k->host, sizeof(k->host));
	m = ipnet_mask(&n, v6 ? 48 : 24);
	ipnet_key(&m, k->pnet, sizeof(k->pnet));
}

/* hold_key - "<kind>a[\0b]" into out; returns its length */
static size_t
hold_key(char kind, const char *a, const char *b, char *out, size_t size)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0, n = 1 + la;

	if (n + (b ? 1 + lb : 0) > size)
		log_panic("hold key too long");
	out[0] = kind;
	memcpy(out + 1, a, la);
	if (b != NULL) {
		out[n++] = '\0';
		memcpy(out + n, b, lb);
		n += lb;
	}
	return n;
}

/* authd_hold_count - add delta to every count h is part of */
static void
authd_hold_count(const struct authd_hold *h, long long delta)
{
	char key[AUTHPROTO_MAX_USER + 2 * IPNET_KEYLEN];
	struct authd_keys k;
	size_t n;

	authd_keys_make(h->addr, &k);
	n = hold_key('a', k.addr, NULL, key, sizeof(key));
	htab_add(hold_counts, key, n, delta);
	if (k.ip) {
		n = hold_key('n', k.net, NULL, key, sizeof(key));
		htab_add(hold_counts, key, n, delta);
		n = hold_key('w', k.wide, NULL, key, sizeof(key));
		htab_add(hold_counts, key, n, delta);
	}
	if (h->user[0]) {
		n = hold_key('u', h->user, NULL, key, sizeof(key));
		htab_add(hold_counts, key, n, delta);
		n = hold_key('h', h->user, k.host, key, sizeof(key));
		htab_add(hold_counts, key, n, delta);
	}
}

/* hold_user - set h's user name: one shared copy per user, counted in
 * hold_names ("" costs nothing) */
static void
hold_user(struct authd_hold *h, const char *user)
{
	static char none[1];
	size_t len;
	char *v;

	if (h->user != NULL && h->user != none) {
		len = strlen(h->user);
		if (htab_add(hold_names, h->user, len, -1) <= 0)
			free(htab_del(hold_names, h->user, len));
	}
	h->user = none;
	if (user[0] == '\0')
		return;
	len = strlen(user);
	if ((v = htab_get(hold_names, user, len)) == NULL) {
		v = xstrdup(user);
		htab_put(hold_names, v, len, v);
	}
	htab_add(hold_names, user, len, 1);
	h->user = v;
}

struct authd_hold *
authd_hold_find(uint64_t conn_id)
{
	return htab_get(hold_conns, &conn_id, sizeof(conn_id));
}

/* hold_unlink - take h off its holder's list */
static void
hold_unlink(struct authd_hold *h)
{
	if (h->holder == NULL)
		return;
	if (h->prev)
		h->prev->next = h->next;
	else
		h->holder->holds = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
	h->holder = NULL;
}

static void
hold_link(struct authd_hold *h, struct authd_peer *p)
{
	h->holder = p;
	h->prev = NULL;
	h->next = p->holds;
	if (p->holds)
		p->holds->prev = h;
	p->holds = h;
}

static void
hold_delete(struct authd_hold *h)
{
	authd_hold_count(h, -1);
	hold_unlink(h);
	htab_del(hold_conns, &h->conn_id, sizeof(h->conn_id));
	hold_user(h, "");
	free(h);
}

int
authd_hold_set(struct authd_peer *p, uint64_t conn_id, uint64_t ts,
    const char *addr, const char *user)
{
	struct authd_hold *h;
	struct authd_peer *was = NULL;
	int moved;

	if (conn_id == 0)
		return 0;
	if (htab_get(hold_tombs, &conn_id, sizeof(conn_id)) != NULL ||
	    htab_num(hold_tombs, &conn_id, sizeof(conn_id)) != 0)
		return 0; /* closed already: a stale hold */
	h = authd_hold_find(conn_id);
	if (h != NULL && ts < h->ts)
		return 0; /* an older hold than the one we have */
	if (h == NULL) {
		/* a connection's address is the one it was admitted with;
		 * later holds repeat it */
		h = xcalloc(1,
		    sizeof(*h) + strnlen(addr, AUTHPROTO_MAX_ADDR - 1) + 1);
		h->conn_id = conn_id;
		h->since_ms = authd_now_ms();
		memcpy(h->addr, addr, strnlen(addr, AUTHPROTO_MAX_ADDR - 1));
		htab_put(hold_conns, &conn_id, sizeof(conn_id), h);
	} else {
		was = h->holder;
		authd_hold_count(h, -1);
		hold_unlink(h);
	}
	moved = was != p;
	h->ts = ts;
	hold_user(h, user);
	hold_link(h, p);
	authd_hold_count(h, 1);
	return h->kicked && moved;
}

void
authd_hold_set_user(struct authd_hold *h, const char *user)
{
	authd_hold_count(h, -1);
	hold_user(h, user);
	authd_hold_count(h, 1);
}

void
authd_hold_closed(uint64_t conn_id, uint64_t ts)
{
	struct authd_hold *h = authd_hold_find(conn_id);

	(void)ts;
	if (h != NULL)
		hold_delete(h);
	htab_set_num(hold_tombs, &conn_id, sizeof(conn_id), authd_now_ms() + 1);
}

void
authd_hold_release(struct authd_peer *p)
{
	while (p->holds != NULL)
		hold_delete(p->holds);
}

void
authd_hold_tick(long long now_ms)
{
	struct htab_iter it = HTAB_ITER;
	const void *key;
	size_t len;
	long long at;

	while (htab_next(hold_tombs, &it, &key, &len, NULL, &at))
		if (now_ms - at > AUTHD_TOMB_MS)
			htab_del(hold_tombs, key, len);
}

long long
authd_hold_count_addr(const struct authd_keys *k, int level)
{
	char key[IPNET_KEYLEN + 1];
	const char *a = level == 0 ? k->addr : level == 1 ? k->net : k->wide;
	size_t n = hold_key("anw"[level], a, NULL, key, sizeof(key));

	return htab_num(hold_counts, key, n);
}

long long
authd_hold_count_user(const char *user)
{
	char key[AUTHPROTO_MAX_USER + 1];
	size_t n = hold_key('u', user, NULL, key, sizeof(key));

	return htab_num(hold_counts, key, n);
}

long long
authd_hold_count_userhost(const char *user, const struct authd_keys *k)
{
	char key[AUTHPROTO_MAX_USER + IPNET_KEYLEN + 2];
	size_t n = hold_key('h', user, k->host, key, sizeof(key));

	return htab_num(hold_counts, key, n);
}

size_t
authd_hold_total(void)
{
	return htab_count(hold_conns);
}

int
authd_hold_next(struct htab_iter *it, struct authd_hold **h_r)
{
	void *v;

	if (!htab_next(hold_conns, it, NULL, NULL, &v, NULL))
		return 0;
	*h_r = v;
	return 1;
}

/*
 * authd_admit - may this client connect?  Asked by a worker after
 * accept() and before the greeting, so a refusal costs no SASL work.
 *
 * In order: the penalty box (authd_penalty), new connections per address
 * per window (a token bucket per client), then concurrent connections
 * per address, per network and per wide network (authd_hold's counts).
 * An admitted connection gets its id and is held by the asking worker
 * from then on.  Also the after-login limits maxlogins_per_user and
 * maxlogins_per_host (per user + client, which a NAT cannot exhaust for
 * other users).
 *
 * Every refusal names its limit (the imapd.conf key) in the reply and
 * in the log line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "authd.h"
#include "cfg.h"
#include "ipc.h"
#include "log.h"
#include "xalloc.h"

struct admit_bucket {
	double tokens;
	long long last_ms;
};

static struct htab *admit_rates; /* host key -> admit_bucket */
static uint64_t admit_next_id;

void
authd_admit_init(void)
{
	uint32_t hi = 0;

	admit_rates = htab_new();
	/* ids stay unique across restarts: a random high half */
	if (getrandom(&hi, sizeof(hi), 0) != sizeof(hi))
		hi = (uint32_t)authd_wall_ms();
	admit_next_id = ((uint64_t)(hi | 1) << 32) | 1;
}

/* admit_rate_ok - the per-address connection rate */
static int
admit_rate_ok(const struct authd_keys *k, long long now)
{
	long long limit = cfg_int("authd_maxrate_addr"),
		  window = cfg_duration_ms("authd_rate_window");
	struct admit_bucket *b;
	size_t len = strlen(k->host);

	if (limit <= 0 || window <= 0)
		return 1;
	b = htab_get(admit_rates, k->host, len);
	if (b == NULL) {
		b = xcalloc(1, sizeof(*b));
		b->tokens = (double)limit;
		b->last_ms = now;
		htab_put(admit_rates, k->host, len, b);
	}
	return authd_calc_bucket(&b->tokens, &b->last_ms, now, limit, window);
}

/* authd_admit_tick - drop buckets that have refilled: they are as good
 * as absent */
void
authd_admit_tick(long long now_ms)
{
	struct htab_iter it = HTAB_ITER;
	long long limit = cfg_int("authd_maxrate_addr"),
		  window = cfg_duration_ms("authd_rate_window");
	const void *key;
	size_t len;
	void *v;

	while (htab_next(admit_rates, &it, &key, &len, &v, NULL)) {
		struct admit_bucket *b = v;

		if (limit <= 0 || window <= 0 ||
		    b->tokens +
			    (double)(now_ms - b->last_ms) * (double)limit /
				(double)window >=
			(double)limit) {
			htab_del(admit_rates, key, len);
			free(b);
		}
	}
}

static const struct {
	const char *key;
	int level;
	const char *what;
} admit_conc[] = {
	{ "authd_maxconns_addr", 0, "your address" },
	{ "authd_maxconns_net", 1, "your network" },
	{ "authd_maxconns_wide", 2, "your network" },
};

/*
 * admit_check - 0 admitted, or -1 with *limit_r and the client's text;
 * detail gets the counter that tripped, for the log
 */
static int
admit_check(const struct authd_keys *k, long long now, const char **limit_r,
    char *text, size_t size, char *detail, size_t dsize)
{
	long long n, max;
	size_t i;

	if (authd_penalty_refuse(k, limit_r, detail, dsize)) {
		(void)snprintf(text, size,
		    "Too many failed logins from your "
		    "network; try again later");
		return -1;
	}
	if (!admit_rate_ok(k, now)) {
		*limit_r = "authd_maxrate_addr";
		(void)snprintf(text, size,
		    "Too many new connections from your "
		    "address; try again later");
		(void)snprintf(detail, dsize, "rate=%lld/%llds",
		    cfg_int("authd_maxrate_addr"),
		    cfg_duration_ms("authd_rate_window") / 1000);
		return -1;
	}
	for (i = 0; k->ip && i < sizeof(admit_conc) / sizeof(admit_conc[0]);
	     i++) {
		max = cfg_int(admit_conc[i].key);
		n = authd_hold_count_addr(k, admit_conc[i].level);
		if (max > 0 && n >= max) {
			*limit_r = admit_conc[i].key;
			(void)snprintf(text, size,
			    "Too many connections from %s", admit_conc[i].what);
			(void)snprintf(detail, dsize, "conns=%lld key=%s", n,
			    admit_conc[i].level == 0	   ? k->addr
				: admit_conc[i].level == 1 ? k->net
							   : k->wide);
			return -1;
		}
	}
	return 0;
}

/*
 * admit_refusal_delay - how long the worker may hold a refusal back:
 * authd_delay_max for the penalty box, authd_delay_base for the other
 * limits, give or take a quarter at random, so that clients refused
 * together do not all come back together (a botnet's waves would
 * otherwise stay in step and hit the worker pool at once)
 */
static long long
admit_refusal_delay(const char *limit)
{
	long long d = cfg_duration_ms(strncmp(limit, "authd_box", 9) == 0
		? "authd_delay_max"
		: "authd_delay_base");
	uint32_t r = 0;

	if (d <= 0 || getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		return d;
	return d * 3 / 4 + (long long)(r % (uint32_t)(d / 2 + 1));
}

void
authd_admit_request(struct authd_peer *p, const struct ipc_msg *m)
{
	char addr[AUTHPROTO_MAX_ADDR], text[160], detail[160];
	const char *limit = "";
	struct authd_keys k;
	uint64_t ts = 0, id;

	if (ipc_get_str(m, AUTHPROTO_ADDR, addr, sizeof(addr)) < 0 ||
	    ipc_get_u64(m, AUTHPROTO_TS, &ts) < 0) {
		log_warn("malformed ADMIT from a worker; closing it");
		p->dead = 1;
		return;
	}
	authd_keys_make(addr, &k);
	detail[0] = '\0';
	if (admit_check(&k, authd_now_ms(), &limit, text, sizeof(text), detail,
		sizeof(detail)) < 0) {
		authd_report_refusal(addr, limit, detail);
		ipc_msg_init(&authd_reply, AUTHPROTO_T_REFUSED);
		ipc_put_str(&authd_reply, AUTHPROTO_TEXT, text);
		ipc_put_str(&authd_reply, AUTHPROTO_LIMIT, limit);
		/* how long the worker may hold the refusal back (idled
		 * does it): a client that waits for its answer before
		 * trying again then tries once per delay, not thousands of
		 * times a second */
		ipc_put_u64(&authd_reply, AUTHPROTO_DELAY,
		    (uint64_t)admit_refusal_delay(limit));
		authd_peer_send(p, &authd_reply);
		return;
	}
	id = admit_next_id++;
	authd_hold_set(p, id, ts, addr, "");
	ipc_msg_init(&authd_reply, AUTHPROTO_T_ADMITTED);
	ipc_put_u64(&authd_reply, AUTHPROTO_CONNID, id);
	authd_peer_send(p, &authd_reply);
}

/*
 * admit_maxlogins - a maxlogins_* limit.  Unset, it follows idled's cap
 * on parked sessions (plus room for active ones), so a login is never
 * refused where idled would instead have closed the user's oldest
 * parked session; 0 is no limit, as in Cyrus.
 */
static long long
admit_maxlogins(const char *key, const char *idled_key)
{
	long long n;

	if (cfg_str(key) != NULL)
		return cfg_int(key);
	n = cfg_int(idled_key);
	return n > 0 ? n + AUTHD_MAXLOGINS_ACTIVE : 0;
}

int
authd_admit_maxlogins(const char *user, const char *addr, uint64_t conn_id,
    const char **limit_r, long long *max_r, char *text, size_t size)
{
	long long maxu = admit_maxlogins("maxlogins_per_user", "idled_maxuser"),
		  maxh =
		      admit_maxlogins("maxlogins_per_host", "idled_maxusernet"),
		  n;
	struct authd_hold *h = authd_hold_find(conn_id);
	struct authd_keys k;
	int self;

	authd_keys_make(addr, &k);
	/* this connection itself counts once it has the user */
	self = h != NULL && strcmp(h->user, user) == 0;
	n = authd_hold_count_user(user) - self;
	if (maxu > 0 && n >= maxu) {
		*limit_r = "maxlogins_per_user";
		*max_r = maxu;
		(void)snprintf(text, size,
		    "Too many sessions for this user (%lld)", n);
		return -1;
	}
	n = authd_hold_count_userhost(user, &k) - self;
	if (maxh > 0 && n >= maxh) {
		*limit_r = "maxlogins_per_host";
		*max_r = maxh;
		(void)snprintf(text, size,
		    "Too many sessions for this user from "
		    "your address (%lld)",
		    n);
		return -1;
	}
	if (h != NULL && !self)
		authd_hold_set_user(h, user);
	return 0;
}

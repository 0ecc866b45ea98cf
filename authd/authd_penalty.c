/*
 * authd_penalty - failure counters per client, per network and per user,
 * decaying with a half-life; the penalty box; the delay a failure earns;
 * the recent successful logins that make a user + client pair "known".
 *
 * Keys (also the database's): "a:<client>" (IPv4 address, IPv6 /64),
 * "n:<network>" (IPv4 /24, IPv6 /48), "u:<user>" (as claimed), and
 * "k:<user>\0<client>" for a successful login (its time).  A counter is
 * stored as its value at a time; reading decays it to now (wall clock,
 * since it outlives the process).  Every change is written through to
 * authd_db, and everything is loaded back at start.
 *
 * Policy:
 *  - a failure adds 1 to its client, network and user; its delay doubles
 *    from authd_delay_base with the largest of the three, up to
 *    authd_delay_max;
 *  - a client or network whose count reaches authd_box_addr /
 *    authd_box_net is in the penalty box until it decays to half that:
 *    new connections from it are refused at admission;
 *  - except from a client someone logged in from within
 *    authd_known_window: an office or school behind one NAT keeps
 *    working while a bot behind the same NAT is only delayed;
 *  - user counters only delay and order, never refuse: anyone can make a
 *    user's counter grow.
 * Memory is bounded per kind (PEN_MAX_KIND entries each, so junk user
 * names cannot crowd out addresses or known pairs): entries that have
 * decayed to nothing, and successes older than the window, are pruned
 * every minute; a kind that fills up sheds its least-failed entries at
 * once (at most every PEN_FULL_MS), keeping the boxed ones.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "cfg.h"
#include "log.h"
#include "xalloc.h"

#define PEN_MAX_KIND 100000 /* entries of one kind kept in memory */
#define PEN_PRUNE_MS 60000
#define PEN_FULL_MS 10000
#define PEN_FORGET 0.01 /* a count this small is no count */

static struct htab *pen_tab;	 /* key -> struct authd_rec */
static struct htab *pen_trusted; /* client -> last success (ms) */
static size_t pen_kinds[4];	 /* entries per kind: a n u k */
static long long pen_full_ms[4]; /* last shed of a full kind */

/* pen_kind - index of key's kind in pen_kinds */
static int
pen_kind(const char *key)
{
	switch (key[0]) {
	case 'a':
		return 0;
	case 'n':
		return 1;
	case 'u':
		return 2;
	default:
		return 3;
	}
}

/* pen_key - "<kind>:<a>[\0<b>]" into out; its length */
static size_t
pen_key(char kind, const char *a, const char *b, char *out, size_t size)
{
	int n = snprintf(out, size, "%c:%s", kind, a);

	if (n < 0 || (size_t)n >= size)
		return 0;
	if (b != NULL) {
		size_t lb = strlen(b);

		if ((size_t)n + 1 + lb >= size)
			return 0;
		out[n++] = '\0';
		memcpy(out + n, b, lb + 1);
		n += (int)lb;
	}
	return (size_t)n;
}

static long long
pen_halflife(void)
{
	return cfg_duration_ms("authd_penalty_halflife");
}

/* pen_now - r's count decayed to now */
static double
pen_now(const struct authd_rec *r, long long now)
{
	return authd_calc_decay(r->count, now - r->last_ms, pen_halflife());
}

static void
pen_drop(const char *key, size_t len)
{
	struct authd_rec *r = htab_del(pen_tab, key, len);

	if (r != NULL)
		pen_kinds[pen_kind(key)]--;
	free(r);
	authd_db_del(key, len);
}

/*
 * pen_shed - kind is full: drop its least-failed entries (never boxed
 * ones; for known pairs, the oldest), raising the bar until a tenth of
 * the room is free
 */
static void
pen_shed(int kind, long long now)
{
	struct htab_iter it;
	const void *key;
	size_t len;
	void *v;
	double bar = 1.5;
	long long age = cfg_duration_ms("authd_known_window") / 2;

	log_warn("penalty table full kind=%c entries=%zu: dropping the "
		 "least-failed",
	    "anuk"[kind], pen_kinds[kind]);
	while (
	    pen_kinds[kind] > PEN_MAX_KIND - PEN_MAX_KIND / 10 && bar < 1e9) {
		it = (struct htab_iter)HTAB_ITER;
		while (htab_next(pen_tab, &it, &key, &len, &v, NULL)) {
			struct authd_rec *r = v;

			if (pen_kind(key) != kind || r->boxed)
				continue;
			if (kind == 3 ? now - r->last_ms > age
				      : pen_now(r, now) < bar)
				pen_drop(key, len);
		}
		bar *= 2;
		age /= 2;
	}
}

static struct authd_rec *
pen_get(const char *key, size_t len, int create)
{
	struct authd_rec *r;
	long long now;
	int kind;

	if (len == 0)
		return NULL;
	r = htab_get(pen_tab, key, len);
	if (r != NULL || !create)
		return r;
	kind = pen_kind(key);
	if (pen_kinds[kind] >= PEN_MAX_KIND) {
		now = authd_now_ms();
		if (pen_full_ms[kind] && now - pen_full_ms[kind] < PEN_FULL_MS)
			return NULL;
		pen_full_ms[kind] = now;
		pen_shed(kind, authd_wall_ms());
		if (pen_kinds[kind] >= PEN_MAX_KIND)
			return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->version = AUTHD_REC_VERSION;
	htab_put(pen_tab, key, len, r);
	pen_kinds[kind]++;
	return r;
}

/* pen_trust - client had a success at ms */
static void
pen_trust(const char *client, long long ms)
{
	size_t len = strlen(client);

	if (htab_num(pen_trusted, client, len) < ms)
		htab_set_num(pen_trusted, client, len, ms);
}

static void
pen_loaded(const void *key, size_t len, const struct authd_rec *rec)
{
	const char *k = key;
	struct authd_rec *r;

	if (len < 3 || k[1] != ':' || strchr("anuk", k[0]) == NULL)
		return;
	r = pen_get(key, len, 1);
	if (r == NULL)
		return;
	*r = *rec;
	if (k[0] == 'k' && memchr(k, '\0', len) != NULL) {
		char client[IPNET_KEYLEN];
		const char *c = (const char *)memchr(k, '\0', len) + 1;
		size_t cl = len - (size_t)(c - k);

		if (cl < sizeof(client)) {
			memcpy(client, c, cl);
			client[cl] = '\0';
			pen_trust(client, r->last_ms);
		}
	}
}

void
authd_penalty_init(void)
{
	const char *err;
	int n;

	pen_tab = htab_new();
	pen_trusted = htab_new();
	if (authd_db_open(&err) < 0) {
		if (strstr(err, "another authd") != NULL)
			log_fatal("%s", err);
		log_error("%s; penalties are kept in memory only", err);
		return;
	}
	n = authd_db_load(pen_loaded);
	log_info("penalty database loaded entries=%d", n);
	authd_penalty_tick(authd_now_ms());
}

/* pen_known - did user log in from client within the window? */
static int
pen_known(const char *user, const char *client, long long now)
{
	char key[AUTHPROTO_MAX_USER + IPNET_KEYLEN + 4];
	size_t len;
	struct authd_rec *r;

	if (user == NULL || *user == '\0')
		return 0;
	len = pen_key('k', user, client, key, sizeof(key));
	r = pen_get(key, len, 0);
	return r != NULL &&
	    now - r->last_ms < cfg_duration_ms("authd_known_window");
}

static int
pen_trusted_client(const char *client, long long now)
{
	long long at = htab_num(pen_trusted, client, strlen(client));

	return at > 0 && now - at < cfg_duration_ms("authd_known_window");
}

/* pen_level - the decayed count under kind:a, 0 if none */
static double
pen_level(char kind, const char *a, long long now)
{
	char key[AUTHPROTO_MAX_USER + 4];
	size_t len = pen_key(kind, a, NULL, key, sizeof(key));
	struct authd_rec *r = pen_get(key, len, 0);

	return r ? pen_now(r, now) : 0;
}

/* pen_fail_one - one more failure under kind:a; its count now */
static double
pen_fail_one(char kind, const char *a, long long now, const char *limit,
    int *boxed_r)
{
	char key[AUTHPROTO_MAX_USER + 4];
	size_t len = pen_key(kind, a, NULL, key, sizeof(key));
	struct authd_rec *r = pen_get(key, len, 1);
	int was;

	if (r == NULL)
		return 0;
	r->count = pen_now(r, now) + 1;
	r->last_ms = r->last_fail_ms = now;
	r->total++;
	if (limit != NULL) {
		was = r->boxed != 0;
		r->boxed = (uint32_t)authd_calc_box(r->boxed != 0, r->count,
		    cfg_int(limit));
		if (r->boxed && !was) {
			*boxed_r = 1;
			log_info("penalty box %s=%s fails=%.1f limit=%s:%lld",
			    kind == 'a' ? "addr" : "net", a, r->count, limit,
			    cfg_int(limit));
		}
	}
	authd_db_put(key, len, r);
	return r->count;
}

long long
authd_penalty_fail(const char *user, const struct authd_keys *k,
    struct authd_level *lv)
{
	long long now = authd_wall_ms();
	double level;

	memset(lv, 0, sizeof(*lv));
	lv->addr = pen_fail_one('a', k->host, now,
	    k->ip ? "authd_box_addr" : NULL, &lv->boxed);
	if (k->ip)
		lv->net = pen_fail_one('n', k->pnet, now, "authd_box_net",
		    &lv->boxed);
	if (user != NULL && *user != '\0')
		lv->user = pen_fail_one('u', user, now, NULL, &lv->boxed);
	level = lv->addr;
	if (lv->net > level)
		level = lv->net;
	if (lv->user > level)
		level = lv->user;
	return authd_calc_delay(level, cfg_duration_ms("authd_delay_base"),
	    cfg_duration_ms("authd_delay_max"));
}

void
authd_penalty_success(const char *user, const struct authd_keys *k)
{
	char key[AUTHPROTO_MAX_USER + IPNET_KEYLEN + 4];
	size_t len = pen_key('k', user, k->host, key, sizeof(key));
	struct authd_rec *r = pen_get(key, len, 1);
	long long now = authd_wall_ms();

	if (r == NULL)
		return;
	/* one write a minute per pair is enough for a 30-day window */
	if (now - r->last_ms < 60000 && r->total > 0)
		return;
	r->last_ms = now;
	r->total++;
	pen_trust(k->host, now);
	authd_db_put(key, len, r);
}

int
authd_penalty_class(const char *user, const struct authd_keys *k,
    double *score_r)
{
	long long now = authd_wall_ms();

	return authd_calc_class(pen_known(user, k->host, now),
	    pen_level('a', k->host, now),
	    k->ip ? pen_level('n', k->pnet, now) : 0, score_r);
}

/* pen_boxed - is kind:a in the box now?  (updates a decayed box) */
static int
pen_boxed(char kind, const char *a, const char *limit, long long now,
    double *count_r)
{
	char key[AUTHPROTO_MAX_USER + 4];
	size_t len = pen_key(kind, a, NULL, key, sizeof(key));
	struct authd_rec *r = pen_get(key, len, 0);

	if (r == NULL || !r->boxed)
		return 0;
	*count_r = pen_now(r, now);
	if (!authd_calc_box(1, *count_r, cfg_int(limit))) {
		r->boxed = 0;
		authd_db_put(key, len, r);
		log_info("penalty box released %s=%s fails=%.1f",
		    kind == 'a' ? "addr" : "net", a, *count_r);
		return 0;
	}
	return 1;
}

int
authd_penalty_refuse(const struct authd_keys *k, const char **limit_r,
    char *detail, size_t dsize)
{
	long long now = authd_wall_ms();
	double c = 0;

	if (!k->ip)
		return 0;
	if (pen_boxed('a', k->host, "authd_box_addr", now, &c))
		*limit_r = "authd_box_addr";
	else if (pen_boxed('n', k->pnet, "authd_box_net", now, &c))
		*limit_r = "authd_box_net";
	else
		return 0;
	/* someone logged in from this very client lately: let it in, its
	 * failures are still delayed */
	if (pen_trusted_client(k->host, now))
		return 0;
	(void)snprintf(detail, dsize, "fails=%.1f key=%s", c,
	    strcmp(*limit_r, "authd_box_addr") == 0 ? k->host : k->pnet);
	return 1;
}

void
authd_penalty_tick(long long now_mono)
{
	static long long last;
	struct htab_iter it = HTAB_ITER;
	long long now = authd_wall_ms(),
		  window = cfg_duration_ms("authd_known_window");
	const void *key;
	size_t len;
	long long at;
	void *v;

	if (last && now_mono - last < PEN_PRUNE_MS)
		return;
	last = now_mono;
	while (htab_next(pen_tab, &it, &key, &len, &v, NULL)) {
		struct authd_rec *r = v;
		const char *k = key;

		if (k[0] == 'k' ? now - r->last_ms >= window
				: !r->boxed && pen_now(r, now) < PEN_FORGET)
			pen_drop(key, len);
	}
	it = (struct htab_iter)HTAB_ITER;
	while (htab_next(pen_trusted, &it, &key, &len, NULL, &at))
		if (now - at >= window)
			htab_del(pen_trusted, key, len);
	authd_db_checkpoint();
}

int
authd_penalty_next(struct htab_iter *it, const char **key_r, size_t *len_r,
    struct authd_rec *now_r)
{
	const void *key;
	void *v;
	long long now = authd_wall_ms();

	while (htab_next(pen_tab, it, &key, len_r, &v, NULL)) {
		const struct authd_rec *r = v;

		*key_r = key;
		*now_r = *r;
		if (((const char *)key)[0] != 'k')
			now_r->count = pen_now(r, now);
		return 1;
	}
	return 0;
}

int
authd_penalty_clear(const char *key, size_t len)
{
	if (htab_get(pen_tab, key, len) == NULL)
		return 0;
	pen_drop(key, len);
	return 1;
}

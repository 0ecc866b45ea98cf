/*
 * authd_ctl - berthctl's questions to authd: the most-penalised clients,
 * networks and users; clearing one; who is connected from where.
 *
 * Answers are one CTL_REPLY of LINE fields, tab-separated, at most
 * CTL_MAX_ROWS per kind (the message holds 64 KB); berthctl formats
 * them.  who lists every held connection, in as many replies as it
 * takes.  kick tells the holders of a user's connections to end them
 * (authd holds no client fd itself).  Read-only except CTL_CLEAR and
 * CTL_KICK.  Main thread only.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "authd.h"
#include "ipc.h"
#include "log.h"
#include "xalloc.h"

#define CTL_MAX_ROWS 200
#define CTL_DEFAULT_ROWS 20

struct ctl_row {
	const char *key; /* without its "<kind>:" */
	size_t len;
	double n;
	struct authd_rec r;
};

/* ctl_rows - how many rows per kind berthctl asked for */
static size_t
ctl_rows(const struct ipc_msg *m)
{
	uint32_t max = CTL_DEFAULT_ROWS;

	ipc_get_u32(m, AUTHPROTO_MAX, &max);
	if (max < 1)
		max = 1;
	return max > CTL_MAX_ROWS ? CTL_MAX_ROWS : max;
}

/* ctl_insert - keep rows[0..*have) the largest by n, at most max */
static void
ctl_insert(struct ctl_row *rows, size_t *have, size_t max,
    const struct ctl_row *row)
{
	size_t i = *have;

	while (i > 0 && rows[i - 1].n < row->n)
		i--;
	if (i >= max)
		return;
	memmove(&rows[i + 1], &rows[i],
	    (*have < max ? *have - i : max - 1 - i) * sizeof(*rows));
	rows[i] = *row;
	if (*have < max)
		(*have)++;
}

static void ctl_line(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
ctl_line(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ipc_put_str(&authd_reply, AUTHPROTO_LINE, line); /* full: dropped */
}

void
authd_ctl_penalties(struct authd_peer *p, const struct ipc_msg *m)
{
	static const char kinds[] = "anu";
	struct ctl_row *rows = xcalloc(CTL_MAX_ROWS + 1, sizeof(*rows));
	struct htab_iter it;
	struct ctl_row row;
	size_t max = ctl_rows(m), have, i, k;
	const char *key;

	ipc_msg_init(&authd_reply, AUTHPROTO_T_CTL_REPLY);
	for (k = 0; k < sizeof(kinds) - 1; k++) {
		have = 0;
		it = (struct htab_iter)HTAB_ITER;
		while (authd_penalty_next(&it, &key, &row.len, &row.r)) {
			if (key[0] != kinds[k] || row.len < 3)
				continue;
			row.key = key + 2;
			row.len -= 2;
			row.n = row.r.count;
			ctl_insert(rows, &have, max, &row);
		}
		for (i = 0; i < have; i++)
			ctl_line("%c\t%.*s\t%.1f\t%llu\t%lld\t%s", kinds[k],
			    (int)rows[i].len, rows[i].key, rows[i].r.count,
			    (unsigned long long)rows[i].r.total,
			    (long long)rows[i].r.last_fail_ms,
			    rows[i].r.boxed ? "yes" : "no");
	}
	free(rows);
	authd_peer_send(p, &authd_reply);
}

size_t
authd_ctl_key(const char *text, char *key, size_t size)
{
	struct ipnet n;
	char net[IPNET_KEYLEN];
	int bits, n_r;

	if (*text == '\0')
		return 0;
	if (ipnet_parse_key(text, &n) < 0) {
		if (strchr(text, '/') != NULL ||
		    strlen(text) >= AUTHPROTO_MAX_USER)
			return 0;
		n_r = snprintf(key, size, "u:%s", text);
		return n_r > 0 && (size_t)n_r < size ? (size_t)n_r : 0;
	}
	bits = ipnet_bits(&n);
	/* a whole IPv6 address counts as its /64 */
	if (n.family == AF_INET6 && n.prefix == 128)
		n = ipnet_mask(&n, 64);
	ipnet_key(&n, net, sizeof(net));
	if (n.prefix == (n.family == AF_INET6 ? 64 : bits))
		n_r = snprintf(key, size, "a:%s", net);
	else if (n.prefix == (n.family == AF_INET6 ? 48 : 24))
		n_r = snprintf(key, size, "n:%s", net);
	else
		return 0;
	return n_r > 0 && (size_t)n_r < size ? (size_t)n_r : 0;
}

void
authd_ctl_clear(struct authd_peer *p, const struct ipc_msg *m)
{
	char text[AUTHPROTO_MAX_USER], key[AUTHPROTO_MAX_USER + 4], out[400];
	size_t len;

	ipc_msg_init(&authd_reply, AUTHPROTO_T_CTL_REPLY);
	if (ipc_get_str(m, AUTHPROTO_KEY, text, sizeof(text)) < 0 ||
	    (len = authd_ctl_key(text, key, sizeof(key))) == 0) {
		ipc_put_str(&authd_reply, AUTHPROTO_TEXT,
		    "not an address, a "
		    "network authd counts (IPv4 /24, IPv6 /48) or a user");
		ipc_put_u32(&authd_reply, AUTHPROTO_CODE, 2);
	} else if (authd_penalty_clear(key, len)) {
		(void)snprintf(out, sizeof(out), "cleared %s", key);
		log_info("penalty cleared %s=%s by berthctl",
		    key[0] == 'a'	? "addr"
			: key[0] == 'n' ? "net"
					: "user",
		    key + 2);
		ipc_put_str(&authd_reply, AUTHPROTO_TEXT, out);
		ipc_put_u32(&authd_reply, AUTHPROTO_CODE, 0);
	} else {
		(void)snprintf(out, sizeof(out), "no penalty for %s", key);
		ipc_put_str(&authd_reply, AUTHPROTO_TEXT, out);
		ipc_put_u32(&authd_reply, AUTHPROTO_CODE, 1);
	}
	authd_peer_send(p, &authd_reply);
}

/* ctl_counts - the top rows of a count table as LINE fields */
static void
ctl_counts(char kind, struct htab *t, size_t max)
{
	struct ctl_row *rows = xcalloc(CTL_MAX_ROWS + 1, sizeof(*rows));
	struct htab_iter it = HTAB_ITER;
	struct ctl_row row;
	const void *key;
	long long num;
	size_t have = 0, i;

	memset(&row, 0, sizeof(row));
	while (htab_next(t, &it, &key, &row.len, NULL, &num)) {
		row.key = key;
		row.n = (double)num;
		ctl_insert(rows, &have, max, &row);
	}
	for (i = 0; i < have; i++)
		ctl_line("%c\t%.*s\t%.0f", kind, (int)rows[i].len, rows[i].key,
		    rows[i].n);
	free(rows);
}

void
authd_ctl_conns(struct authd_peer *p, const struct ipc_msg *m)
{
	struct htab *addrs = htab_new(), *users = htab_new();
	struct htab_iter it = HTAB_ITER;
	struct authd_hold *h;
	size_t max = ctl_rows(m), n = 0;

	while (authd_hold_next(&it, &h)) {
		htab_add(addrs, h->addr, strlen(h->addr), 1);
		if (h->user[0])
			htab_add(users, h->user, strlen(h->user), 1);
		n++;
	}
	ipc_msg_init(&authd_reply, AUTHPROTO_T_CTL_REPLY);
	ctl_line("t\tconnections\t%zu", n);
	ctl_line("t\tqueued logins\t%zu", authd_sched_queued());
	ctl_line("t\tbackend threads\t%d", authd_pool_threads());
	ctl_counts('a', addrs, max);
	ctl_counts('u', users, max);
	htab_free(&addrs);
	htab_free(&users);
	authd_peer_send(p, &authd_reply);
}

/* ctl_who_line - h as a who LINE: "id user addr age_s role pid" */
static int
ctl_who_line(struct ipc_msg *m, const struct authd_hold *h, long long now)
{
	const struct authd_peer *p = h->holder;
	char line[AUTHPROTO_MAX_USER + AUTHPROTO_MAX_ADDR + 96];

	(void)snprintf(line, sizeof(line), "%llx\t%s\t%s\t%lld\t%s\t%d",
	    (unsigned long long)h->conn_id, h->user[0] ? h->user : "-", h->addr,
	    (now - h->since_ms) / 1000,
	    p == NULL	    ? "-"
		: p->pseudo ? "authd"
			    : p->role,
	    p == NULL || p->pseudo ? 0 : p->pid);
	return ipc_put_str(m, AUTHPROTO_LINE, line);
}

/* the room a reply keeps for its MORE field */
#define CTL_WHO_ROOM (IPC_MAX_MSG - 64)

void
authd_ctl_who(struct authd_peer *p, const struct ipc_msg *m)
{
	struct htab_iter it = HTAB_ITER;
	struct authd_hold *h;
	char user[AUTHPROTO_MAX_USER] = "";
	long long now = authd_now_ms();
	size_t mark;
	const void *v;
	size_t vlen;

	if (ipc_get(m, AUTHPROTO_USER, &v, &vlen) == 0 &&
	    ipc_get_str(m, AUTHPROTO_USER, user, sizeof(user)) < 0) {
		p->dead = 1; /* malformed */
		return;
	}
	/* thousands of sessions take many replies: they wait for
	 * berthctl to read them, as idled's results do */
	p->stream = 1;
	ipc_msg_init(&authd_reply, AUTHPROTO_T_CTL_REPLY);
	while (authd_hold_next(&it, &h)) {
		if (user[0] != '\0' && strcmp(h->user, user) != 0)
			continue;
		mark = authd_reply.len;
		if (ctl_who_line(&authd_reply, h, now) == 0 &&
		    authd_reply.len <= CTL_WHO_ROOM)
			continue;
		authd_reply.len = mark; /* into the next reply */
		ipc_put_u32(&authd_reply, AUTHPROTO_MORE, 1);
		authd_peer_send(p, &authd_reply);
		if (p->dead)
			return;
		ipc_msg_init(&authd_reply, AUTHPROTO_T_CTL_REPLY);
		ctl_who_line(&authd_reply, h, now);
	}
	authd_peer_send(p, &authd_reply);
}

int
authd_ctl_kick_send(struct authd_hold *h)
{
	static struct ipc_msg kick;
	struct authd_peer *p = h->holder;

	h->kicked = 1;
	if (p == NULL || p->dead)
		return -1;
	log_set_session(h->conn_id);
	log_info("kick user=%s addr=%s holder=%s pid=%d", h->user, h->addr,
	    p->pseudo ? "authd" : p->role, p->pid);
	log_set_session(0);
	if (p->pseudo)
		return 0; /* a login in flight: its next holder hears */
	ipc_msg_init(&kick, AUTHPROTO_T_KICK);
	ipc_put_u64(&kick, AUTHPROTO_CONNID, h->conn_id);
	ipc_put_str(&kick, AUTHPROTO_USER, h->user);
	authd_peer_send(p, &kick);
	return 0;
}

void
authd_ctl_kick(struct authd_peer *p, const struct ipc_msg *m)
{
	struct htab_iter it = HTAB_ITER;
	struct authd_hold *h;
	char user[AUTHPROTO_MAX_USER], text[AUTHPROTO_MAX_USER + 64];
	long long now = authd_now_ms();
	unsigned n = 0;

	ipc_msg_init(&authd_reply, AUTHPROTO_T_CTL_REPLY);
	if (ipc_get_str(m, AUTHPROTO_USER, user, sizeof(user)) < 0 ||
	    user[0] == '\0') {
		ipc_put_str(&authd_reply, AUTHPROTO_TEXT, "no user named");
		ipc_put_u32(&authd_reply, AUTHPROTO_CODE, 2);
		authd_peer_send(p, &authd_reply);
		return;
	}
	while (authd_hold_next(&it, &h)) {
		if (strcmp(h->user, user) != 0)
			continue;
		ctl_who_line(&authd_reply, h, now); /* full: not listed */
		authd_ctl_kick_send(h);
		n++;
	}
	log_info("kick user=%s sessions=%u by=berthctl", user, n);
	if (n == 0)
		(void)snprintf(text, sizeof(text), "no sessions of %s", user);
	else
		(void)snprintf(text, sizeof(text), "kicked %u session%s of %s",
		    n, n == 1 ? "" : "s", user);
	ipc_put_str(&authd_reply, AUTHPROTO_TEXT, text);
	ipc_put_u32(&authd_reply, AUTHPROTO_CODE, n ? 0 : 1);
	authd_peer_send(p, &authd_reply);
}

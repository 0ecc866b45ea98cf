/*
 * tlsd_admit - admission of implicit-TLS clients by authd, before any
 * TLS: a refused address costs no handshake.
 *
 * Requests go on this process's authd link (lib/authn) without waiting:
 * ADMIT messages are sent as events and authd answers them in order, so
 * the connections waiting for an answer form a FIFO matched with the
 * replies.  ADMITTED gives the connection its id (held by this process
 * until an imapd takes the session); REFUSED holds the connection for
 * authd's delay (a tarpit, as idled does for imapd's refusals) and
 * closes it; authd logs the refusal with its limit.  When the link
 * fails, or authd takes longer than ADMIT_TIMEOUT_MS, every waiting
 * connection is admitted (fail open, as lib/authc does: without authd no
 * login succeeds anyway).
 */
#include "config.h"

#include <stdio.h>

#include "authlink.h"
#include "authproto.h"
#include "ipc.h"
#include "log.h"
#include "tlsd.h"

#define ADMIT_TIMEOUT_MS 3000
#define ADMIT_TICK_MS 1000

static struct tconn *adm_head, *adm_tail;
static struct ev_io adm_io = { -1, 0, NULL, NULL };
static struct ev_timer adm_tick;
static unsigned adm_gen;
static struct ipc_msg adm_msg;
static int adm_warned;

/* adm_open - admit c without authd */
static void
adm_open(struct tconn *c, const char *why)
{
	if (!adm_warned++)
		log_warn("admission without authd (%s) addr=%s", why, c->addr);
	c->conn_id = authlink_new_id();
	authlink_hold(c->conn_id, c->addr, "");
	tlsd_conn_handshake(c);
}

static struct tconn *
adm_pop(void)
{
	struct tconn *c = adm_head;

	if (c != NULL) {
		adm_head = c->qnext;
		if (adm_head == NULL)
			adm_tail = NULL;
		c->qnext = NULL;
		ev_timer_del(&c->timer);
	}
	return c;
}

/* adm_fail_all - every waiting connection, admitted without authd */
static void
adm_fail_all(const char *why)
{
	struct tconn *c;

	while ((c = adm_pop()) != NULL)
		adm_open(c, why);
}

/* adm_answer - authd's reply about c */
static void
adm_answer(struct tconn *c, const struct ipc_msg *m)
{
	uint64_t id, delay = 0;

	if (m->type == AUTHPROTO_T_ADMITTED &&
	    ipc_get_u64(m, AUTHPROTO_CONNID, &id) == 0) {
		c->conn_id = id;
		authlink_adopt(id, authproto_now_ns(), c->addr, "");
		adm_warned = 0;
		tlsd_conn_handshake(c);
		return;
	}
	if (m->type == AUTHPROTO_T_REFUSED) {
		char limit[64] = "";

		ipc_get_str(m, AUTHPROTO_LIMIT, limit, sizeof(limit));
		if (ipc_get_u64(m, AUTHPROTO_DELAY, &delay) < 0 ||
		    delay > 60000)
			delay = 0;
		log_debug("refused addr=%s limit=%s delay_ms=%llu", c->addr,
		    limit, (unsigned long long)delay);
		tlsd_conn_tarpit(c, (long long)delay);
		return;
	}
	adm_open(c, "unexpected reply");
}

static void adm_watch(void);

/* adm_read - authd's answers, in the order of the requests */
static void
adm_read(struct ev_io *io, unsigned events, void *ctx)
{
	struct tconn *c;
	int r;

	while ((r = authlink_recv(&adm_msg)) > 0) {
		if ((c = adm_pop()) == NULL) {
			log_warn("authd sent an answer nothing asked for");
			continue;
		}
		adm_answer(c, &adm_msg);
	}
	if (r < 0)
		adm_fail_all("link lost");
	adm_watch();
}

/* adm_watch - watch the link's descriptor (a new one after a relink) */
static void
adm_watch(void)
{
	int fd = authlink_fd_now();

	if (adm_io.fd >= 0 &&
	    (fd != adm_io.fd || authlink_generation() != adm_gen))
		ev_io_forget(&adm_io); /* authn closed it */
	if (fd >= 0 && adm_io.fd < 0 &&
	    ev_io_add(&adm_io, fd, EV_READ, adm_read, NULL) == 0)
		adm_gen = authlink_generation();
}

/* adm_timeout - authd is too slow: stop waiting for it */
static void
adm_timeout(struct ev_timer *t, void *ctx)
{
	log_warn("authd did not answer an admission in %d ms; admitting "
		 "without it",
	    ADMIT_TIMEOUT_MS);
	authlink_disconnect();
	adm_fail_all("timeout");
	adm_watch();
}

void
tlsd_admit_ask(struct tconn *c)
{
	c->state = TC_ADMIT;
	ipc_msg_init(&adm_msg, AUTHPROTO_T_ADMIT);
	if (ipc_put_str(&adm_msg, AUTHPROTO_ADDR, c->addr) < 0 ||
	    ipc_put_u32(&adm_msg, AUTHPROTO_PORT, (uint32_t)c->port) < 0 ||
	    ipc_put_u64(&adm_msg, AUTHPROTO_TS, authproto_now_ns()) < 0 ||
	    authlink_event(&adm_msg) < 0) {
		/* the link is down: what waited on it is lost too */
		adm_fail_all("link down");
		adm_watch();
		adm_open(c, "link down");
		return;
	}
	adm_watch();
	c->qnext = NULL;
	if (adm_tail != NULL)
		adm_tail->qnext = c;
	else
		adm_head = c;
	adm_tail = c;
	ev_timer_add(&c->timer, ADMIT_TIMEOUT_MS, adm_timeout, c);
}

static void
adm_tick_cb(struct ev_timer *t, void *ctx)
{
	authlink_tick();
	adm_watch();
	ev_timer_add(&adm_tick, ADMIT_TICK_MS, adm_tick_cb, NULL);
}

void
tlsd_admit_init(void)
{
	ev_timer_add(&adm_tick, ADMIT_TICK_MS, adm_tick_cb, NULL);
}

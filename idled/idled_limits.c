/*
 * idled_limits - what keeps stale sessions from piling up: caps per user
 * and per user + client network that evict the user's *oldest* session
 * (a phone that changed networks pushes out its own dead connections
 * instead of being refused), "* OK Still here" keep-alives and TCP
 * keep-alive so dead peers are found in minutes, the idle timeouts, and
 * the penalty replies of failed logins.  Every eviction and timeout is
 * one log line with user, address and counts.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authclient.h"
#include "cfg.h"
#include "idled.h"
#include "log.h"
#include "net.h"

#define LIMITS_TICK_MS 1000

static struct ev_timer limits_tick_timer;
static long long limits_expire_ms;

/* limits_bye - say why, then close */
static void
limits_bye(struct isess *s, const char *text)
{
	if (idled_sess_write(s, text, strlen(text)) == 0)
		idled_sess_drop(s, NULL);
}

/* limits_sasl_timeout - a parked AUTHENTICATE's client did not send its
 * response in time: a failed login, as imapd counts and logs it; what it
 * began of a response is dropped, and authd's exchange ends */
static void
limits_sasl_timeout(struct isess *s)
{
	s->flags &= ~(uint32_t)SNAP_F_SASLWAIT;
	s->failed_logins++;
	buf_reset(&s->pending);
	s->contd = 0;
	if (s->conn_id != 0)
		authclient_abort_detached(s->conn_id);
	log_info("refused authentication timed out user=- addr=%s "
		 "limit=sasl_response_timeout:%llds",
	    s->addr, cfg_duration_ms("sasl_response_timeout") / 1000);
}

/* limits_penalty - a failed login's delay is over: send its reply */
static void
limits_penalty(struct ev_timer *t, void *ctx)
{
	struct isess *s = ctx;

	(void)t;
	log_set_session(s->conn_id);
	s->replied = 1;
	if (s->flags & SNAP_F_SASLWAIT)
		limits_sasl_timeout(s);
	if (s->reply != NULL &&
	    idled_sess_write(s, s->reply, strlen(s->reply)) < 0)
		return;
	if (s->flags & SNAP_F_CLOSE) {
		idled_sess_drop(s, "penalty-close");
		return;
	}
	s->since_ms = ev_now_ms(); /* the not-logged-in timeout */
	/* the client may have sent its next command meanwhile */
	if (s->pending.len > 0)
		idled_client_input(s);
}

void
idled_limits_rearm(struct isess *s)
{
	s->replied = 0;
	ev_timer_add(&s->timer, s->wake_ms - ev_now_ms(), limits_penalty, s);
}

/*
 * idled_limits_park - s just joined: TCP keep-alive, the penalty timer,
 * and the caps.  Over a cap, the oldest session of that user (or user +
 * network) goes, never the new one.
 */
void
idled_limits_park(struct isess *s)
{
	long long maxu = cfg_int("idled_maxuser"),
		  maxn = cfg_int("idled_maxusernet");
	struct isess *q, *oldest_n = NULL;
	char net[64], qnet[64];
	long long nn = 0;

	net_keepalive(s->fd);
	if (s->kind == SNAP_K_NOTAUTH) {
		ev_timer_add(&s->timer, s->wake_ms - ev_now_ms(),
		    limits_penalty, s);
		return;
	}
	idled_net(s->addr, net, sizeof(net));
	for (q = s->user->head; q != NULL && maxn > 0; q = q->unext) {
		idled_net(q->addr, qnet, sizeof(qnet));
		if (strcmp(qnet, net) == 0 && nn++ == 0)
			oldest_n = q;
	}
	if (maxn > 0 && nn > maxn && oldest_n != s) {
		log_set_session(oldest_n->conn_id); /* the one evicted */
		log_info("evict user=%s addr=%s net=%s parked_user_net=%lld "
			 "limit=idled_maxusernet:%lld",
		    s->user->name, oldest_n->addr, net, nn, maxn);
		limits_bye(oldest_n,
		    "* BYE [LIMIT] Too many idle sessions "
		    "from your network; closing the oldest\r\n");
	} else if (maxu > 0 && (long long)s->user->nsess > maxu &&
	    s->user->head != s) {
		log_set_session(s->user->head->conn_id);
		log_info("evict user=%s addr=%s parked_user=%zu "
			 "limit=idled_maxuser:%lld",
		    s->user->name, s->user->head->addr, s->user->nsess, maxu);
		limits_bye(s->user->head,
		    "* BYE [LIMIT] Too many idle "
		    "sessions; closing the oldest\r\n");
	}
	log_set_session(s->conn_id);
}

/* limits_check - timeouts and keep-alives of one session */
static void
limits_check(struct isess *s, long long now, long long ka, long long ito,
    long long to, long long nto)
{
	static const char ping[] = "* OK Still here\r\n";

	log_set_session(s->conn_id);
	if (s->kind == SNAP_K_IDLE && ito > 0 &&
	    now - s->idle_since_ms >= ito) {
		log_info("timeout user=%s addr=%s mailbox=%s idle_s=%lld "
			 "limit=imapidletimeout",
		    s->user->name, s->addr, s->mailbox ? s->mailbox : "-",
		    (now - s->idle_since_ms) / 1000);
		limits_bye(s, "* BYE Idle for too long\r\n");
	} else if (s->kind == SNAP_K_WAIT && to > 0 &&
	    now - s->idle_since_ms >= to) {
		log_info("timeout user=%s addr=%s wait_s=%lld limit=timeout",
		    s->user->name, s->addr, (now - s->idle_since_ms) / 1000);
		limits_bye(s, "* BYE Autologout; idle for too long\r\n");
	} else if (s->kind == SNAP_K_NOTAUTH && s->replied && nto > 0 &&
	    now - s->since_ms >= nto) {
		log_info("timeout addr=%s limit=idled_notauth_timeout",
		    s->addr);
		limits_bye(s, "* BYE Autologout; idle for too long\r\n");
	} else if (s->kind != SNAP_K_NOTAUTH && ka > 0 &&
	    now - s->ping_ms >= ka &&
	    (s->kind == SNAP_K_IDLE || (s->flags & SNAP_F_NOTIFY))) {
		s->ping_ms = now;
		idled_sess_write(s, ping, sizeof(ping) - 1);
	}
}

/* limits_tick - about once a second */
static void
limits_tick(struct ev_timer *t, void *ctx)
{
	long long now = ev_now_ms(), ka = cfg_duration_ms("imapidlekeepalive"),
		  ito = cfg_duration_ms("imapidletimeout"),
		  to = cfg_duration_ms("timeout"),
		  nto = cfg_duration_ms("idled_notauth_timeout");
	struct isess *s, *next;

	(void)ctx;
	for (s = idled_all_head; s != NULL; s = next) {
		next = s->anext;
		if (!s->waking)
			limits_check(s, now, ka, ito, to, nto);
	}
	idled_authd_tick(); /* remake the link to authd when due */
	if (now - limits_expire_ms >= 60000) {
		limits_expire_ms = now;
		idled_mbox_expire();
	}
	ev_timer_add(t, LIMITS_TICK_MS, limits_tick, NULL);
}

void
idled_limits_init(void)
{
	limits_expire_ms = ev_now_ms();
	ev_timer_add(&limits_tick_timer, LIMITS_TICK_MS, limits_tick, NULL);
}

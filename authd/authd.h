/*
 * authd - the authentication daemon's internal interfaces.
 *
 * authd is one event loop (main.c) over its listening socket, one
 * connection per process that talks to it (a peer: imapd workers, idled,
 * berthctl) and the backend pool's eventfd.  Everything here runs on
 * that loop except authd_pool's threads, which touch only a job's SASL
 * connection and buffers (authd_pool.c says exactly what).
 *
 * Files: authd_peer (connections and dispatch), authd_hold (who holds
 * which client connection; counts), authd_admit (admission limits),
 * authd_login (SASL exchanges), authd_sasl (libsasl2); every index is a
 * lib/util/htab.
 */
#ifndef BERTH_AUTHD_H
#define BERTH_AUTHD_H

#include <sasl/sasl.h>
#include <stddef.h>
#include <stdint.h>

#include "authclient.h"
#include "authproto.h"
#include "ev.h"
#include "htab.h"
#include "ipc.h"
#include "ipnet.h"

struct authd_login;

/* the keys one client address counts under */
struct authd_keys {
	int ip;			 /* parsed as IPv4/IPv6 */
	char addr[IPNET_KEYLEN]; /* the address (/32, /128) */
	char net[IPNET_KEYLEN];	 /* IPv4 /24, IPv6 /64 */
	char wide[IPNET_KEYLEN]; /* IPv4 /16, IPv6 /48 */
	char host[IPNET_KEYLEN]; /* one client: IPv4 /32, IPv6 /64 */
	char pnet[IPNET_KEYLEN]; /* its network: IPv4 /24, IPv6 /48 */
};

/* a process connected to authd */
struct authd_peer {
	int fd;		     /* -1: a parked login (pseudo peer) */
	struct ev_io io;     /* fd on the loop */
	int dead;	     /* close after this round */
	int pseudo;	     /* a LOGIN for a session parked in
			      * idled: replies go there */
	uint64_t async_conn; /* pseudo: the session */
	char async_tag[AUTHPROTO_MAX_TAG]; /* pseudo: the command's tag */
	struct authd_hold *holds;	   /* connections it holds */
	struct ipc_queue outq;		   /* messages its socket had no room
					    * for (idled's RESULTs) */
	struct authd_login *login;	   /* SASL exchange in progress */
	int stream;			   /* a berthctl reading a long answer:
					    * replies wait in outq as idled's */
	int pid;			   /* SO_PEERCRED, for berthctl who */
	char role[16];			   /* its program ("imapd", "idled") */
	struct authd_peer *prev, *next;
};

/* one client connection and who holds it */
struct authd_hold {
	uint64_t conn_id;
	uint64_t ts;	    /* newest HOLD (CLOCK_MONOTONIC ns) */
	long long since_ms; /* first heard of (authd_now_ms) */
	int kicked;	    /* berthctl kick: every new holder
			     * is told to end it */
	char *user;	    /* "" until logged in (not
			     * malloc'ed then): most records of
			     * a storm never log in */
	struct authd_peer *holder;
	struct authd_hold *prev, *next; /* in holder->holds */
	char addr[];			/* as long as it is: one of these
					 * per client connection */
};

/* authd_peer.c */
void authd_peer_accept(int lfd);
/* authd_peer_input - read what the peer sent; may mark it dead */
void authd_peer_input(struct authd_peer *p);
/* authd_peer_reap - close peers marked dead */
void authd_peer_reap(void);
/* authd_peer_send - send m; a peer that cannot take it is marked dead,
 * except idled, for which messages wait (bounded) until it reads */
void authd_peer_send(struct authd_peer *p, const struct ipc_msg *m);
/* the one reply being built (main thread only) */
extern struct ipc_msg authd_reply;

/* authd_hold.c */
void authd_hold_init(void);
void authd_keys_make(const char *addr, struct authd_keys *k);
/* authd_hold_set - p holds conn_id as of ts (newest hold wins); 1 when
 * the connection was kicked and has a new holder, who must be told */
int authd_hold_set(struct authd_peer *p, uint64_t conn_id, uint64_t ts,
    const char *addr, const char *user);
void authd_hold_closed(uint64_t conn_id, uint64_t ts);
/* authd_hold_release - p went away: forget what it held */
void authd_hold_release(struct authd_peer *p);
struct authd_hold *authd_hold_find(uint64_t conn_id);
void authd_hold_set_user(struct authd_hold *h, const char *user);
/* counts of held connections */
long long authd_hold_count_addr(const struct authd_keys *k, int level);
long long authd_hold_count_user(const char *user);
long long authd_hold_count_userhost(const char *user,
    const struct authd_keys *k);
/* authd_hold_tick - expire old tombstones of closed connections */
void authd_hold_tick(long long now_ms);
size_t authd_hold_total(void);
/* authd_hold_walk - every held connection, for berthctl */
int authd_hold_next(struct htab_iter *it, struct authd_hold **h_r);

/* authd_calc.c: the pure arithmetic (unit-tested) */
/* authd_calc_bucket - token bucket of limit per window_ms: 1 and one
 * token taken, or 0 when empty */
int authd_calc_bucket(double *tokens, long long *last_ms, long long now_ms,
    long long limit, long long window_ms);
/* authd_calc_decay - v after dt_ms at a half-life of halflife_ms (0: no
 * memory at all) */
double authd_calc_decay(double v, long long dt_ms, long long halflife_ms);
/* authd_calc_delay - a failure's delay at this failure level: base for
 * the first, doubling with each, at most max_ms */
long long authd_calc_delay(double level, long long base_ms, long long max_ms);
/* below this decayed count a client has "no recent failures" (two
 * half-lives after one failure) */
#define AUTHD_CLEAN_LEVEL 0.25
/* authd_calc_class - priority class 1..3 and the score within it */
int authd_calc_class(int known, double addr_fails, double net_fails,
    double *score_r);
/* authd_calc_box - in the penalty box?  In at threshold, out once the
 * count decays below half of it */
int authd_calc_box(int boxed, double count, long long threshold);

/* authd_admit.c */
void authd_admit_init(void);
/* authd_admit_request - answer an ADMIT from p */
void authd_admit_request(struct authd_peer *p, const struct ipc_msg *m);
/* authd_admit_maxlogins - after a successful login: 0, or -1 with the
 * limit's name and value and a text */
int authd_admit_maxlogins(const char *user, const char *addr, uint64_t conn_id,
    const char **limit_r, long long *max_r, char *text, size_t size);
/* active sessions a user may have beyond idled's parked ones before the
 * automatic maxlogins_* limits refuse */
#define AUTHD_MAXLOGINS_ACTIVE 50
void authd_admit_tick(long long now_ms);

/* authd_queue.c: priority queue of login requests (pure) */
struct authd_qitem {
	int cls;	       /* 1 best .. 3 */
	double score;	       /* within a class: lower first */
	uint64_t seq;	       /* arrival, set by push */
	long long deadline_ms; /* shed if still queued then */
	size_t idx;	       /* heap position */
	int queued;
};
struct authd_queue {
	struct authd_qitem **heap;
	size_t n, size;
	uint64_t seq;
};
/* authd_queue_before - does a run before b? */
int authd_queue_before(const struct authd_qitem *a,
    const struct authd_qitem *b);
void authd_queue_push(struct authd_queue *q, struct authd_qitem *it);
struct authd_qitem *authd_queue_pop(struct authd_queue *q);
/* authd_queue_top - the item pop would return, left queued */
struct authd_qitem *authd_queue_top(struct authd_queue *q);
void authd_queue_remove(struct authd_queue *q, struct authd_qitem *it);
/* authd_queue_worst - the item that would run last, or NULL */
struct authd_qitem *authd_queue_worst(struct authd_queue *q);
/* authd_queue_expired - an item whose deadline has passed, or NULL */
struct authd_qitem *authd_queue_expired(struct authd_queue *q,
    long long now_ms);
size_t authd_queue_len(const struct authd_queue *q);
void authd_queue_free(struct authd_queue *q);

/* one libsasl2 call waiting for or running on a backend thread */
enum authd_job_state {
	AUTHD_J_NEW,
	AUTHD_J_QUEUED,
	AUTHD_J_RUNNING,
	AUTHD_J_DONE,
};
struct authd_job {
	struct authd_qitem q;	 /* first: queue items are jobs */
	struct authd_peer *peer; /* who waits; NULL: abandoned */
	sasl_conn_t *sasl;	 /* the login's, the thread's while
				  * running */
	int own_sasl;		 /* abandoned while running: ours to
				  * dispose */
	int start;		 /* sasl_server_start, else _step */
	char mech[AUTHPROTO_MAX_MECH];
	char *in; /* the client's response (a copy) */
	size_t inlen;
	int has_in;
	int rc;	   /* set by the thread */
	char *out; /* set by the thread (a copy) */
	unsigned outlen;
	long long queued_ms, started_ms;
	enum authd_job_state state;
	struct authd_job *next;	 /* todo/done lists (pool_mu) */
	struct authd_job *rnext; /* running list (main thread) */
};

/* authd_pool.c: the backend threads */
void authd_pool_init(void);
int authd_pool_fd(void); /* eventfd: jobs finished */
int authd_pool_idle(void);
/* authd_pool_run - hand j to an idle thread; -1 if none is idle */
int authd_pool_run(struct authd_job *j, long long now_ms);
/* authd_pool_grow - a thread is stuck: add one if allowed */
void authd_pool_grow(void);
/* authd_pool_collect - finished jobs, as a list on ->next */
struct authd_job *authd_pool_collect(void);
struct authd_job *authd_pool_running(void); /* list on ->rnext */
int authd_pool_threads(void);

/* authd_sched.c: queue -> pool, shedding, deadlines */
/* authd_sched_submit - run or queue j (its q.cls and q.score set) */
void authd_sched_submit(struct authd_job *j);
/* authd_sched_cancel - nobody waits for j any more */
void authd_sched_cancel(struct authd_job *j);
void authd_sched_reap(void); /* the pool's eventfd fired */
void authd_sched_tick(long long now_ms);
int authd_sched_busy(void);
size_t authd_sched_queued(void);

/* authd_login.c */
void authd_login_start(struct authd_peer *p, const struct ipc_msg *m);
void authd_login_step(struct authd_peer *p, const struct ipc_msg *m);
/* authd_login_abort - the client cancelled or the worker went away */
void authd_login_abort(struct authd_peer *p);
/* authd_login_done - j's libsasl2 call returned; j->peer waits */
void authd_login_done(struct authd_job *j);
/* authd_login_shed - answer j's worker NO [UNAVAILABLE] now; a job not
 * running is freed */
void authd_login_shed(struct authd_job *j, const char *why);
void authd_job_free(struct authd_job *j);

/* authd_login_detach - DETACH from p: its exchange waits for the client
 * under the connection's id (authd_detach), answered DETACHED or NO */
void authd_login_detach(struct authd_peer *p, const struct ipc_msg *m);
/* authd_login_forget - end the exchange detached under conn_id, if any
 * (why: "closed", "cancelled") */
void authd_login_forget(uint64_t conn_id, const char *why);
/* authd_login_tick - expire detached exchanges */
void authd_login_tick(long long now_ms);

/* authd_detach.c: exchanges waiting for a parked client's response */
typedef void authd_detach_free_fn(void *obj, const char *why);
void authd_detach_init(authd_detach_free_fn *free_fn);
/* authd_detach_put - keep obj under conn_id (a detached exchange of one
 * before is dropped, "replaced"); -1 with the limit's name when over
 * max_total or max_addr from addr (<= 0: no bound), obj not taken */
int authd_detach_put(uint64_t conn_id, const char *addr, void *obj,
    long long now_ms, long long max_total, long long max_addr,
    const char **limit_r);
/* authd_detach_take - conn_id's exchange, no longer in the table, or
 * NULL */
void *authd_detach_take(uint64_t conn_id);
/* authd_detach_drop - free conn_id's exchange (why: for the callback);
 * 1 if there was one */
int authd_detach_drop(uint64_t conn_id, const char *why);
/* authd_detach_expire - drop those detached timeout_ms or longer ago;
 * how many */
size_t authd_detach_expire(long long now_ms, long long timeout_ms);
size_t authd_detach_count(void);
long long authd_detach_count_addr(const char *addr);
/* authd_ctl.c: berthctl's queries */
void authd_ctl_penalties(struct authd_peer *p, const struct ipc_msg *m);
void authd_ctl_clear(struct authd_peer *p, const struct ipc_msg *m);
void authd_ctl_conns(struct authd_peer *p, const struct ipc_msg *m);
/* authd_ctl_who - every held connection (of a user) */
void authd_ctl_who(struct authd_peer *p, const struct ipc_msg *m);
/* authd_ctl_kick - end every connection of a user */
void authd_ctl_kick(struct authd_peer *p, const struct ipc_msg *m);
/* authd_ctl_kick_send - tell h's holder to end it; 0 sent, -1 none */
int authd_ctl_kick_send(struct authd_hold *h);
/* authd_ctl_key - the penalty key berthctl's text names: an address or
 * client ("a:"), a network ("n:") or else a user ("u:"); its length */
size_t authd_ctl_key(const char *text, char *key, size_t size);

/* authd_sasl.c */
void authd_sasl_init(void);
int authd_sasl_new(sasl_conn_t **conn_r, int secure, const char *addr,
    unsigned port);
void authd_sasl_dispose(sasl_conn_t **conn);
int authd_sasl_is_plain(const char *mech);
int authd_sasl_plaintext_ok(int secure);
/* authd_sasl_code - a libsasl2 result as an authclient_result */
enum authclient_result authd_sasl_code(int r, const char **text_r);
const char *authd_sasl_user(sasl_conn_t *conn);
/* authd_sasl_authid - the canonical authcid libsasl2 got from the
 * client, or NULL (set once the mechanism has read it, failure or not) */
const char *authd_sasl_authid(sasl_conn_t *conn);
/* authd_sasl_admin - is name (len bytes) in imapd.conf's admins? */
int authd_sasl_admin(const char *name, size_t len);
/* authd_sasl_refusal - after a failed exchange: "user=.. authid=..
 * reason=.." when it failed because the authenticated name may not log
 * in as the authzid it asked for (not an admin), else NULL */
const char *authd_sasl_refusal(sasl_conn_t *conn);
int authd_sasl_mechs(int secure, char *out, size_t size);
/* authd_sasl_claimed - the user the client's first response (nresp 0)
 * names, canonical (lib/uname): PLAIN's authcid, LOGIN's first response,
 * SCRAM's n=; for logs, priority and the penalty counters.  -1 with
 * *why_r when that name or the authzid beside it is refused (user left
 * ""); 0 otherwise, user "" when no name could be read */
int authd_sasl_claimed(const char *mech, int nresp, const char *in, size_t len,
    char *user, size_t size, const char **why_r);

/* failure counters at one failed login (decayed, this one included) */
struct authd_level {
	double addr, net, user;
	int boxed; /* this failure boxed addr or net */
};

/* a stored counter (authd_db's value); times are wall-clock ms */
#define AUTHD_REC_VERSION 1
struct authd_rec {
	uint32_t version;
	uint32_t boxed;	 /* in the penalty box */
	double count;	 /* decayed failures as of last_ms */
	int64_t last_ms; /* of count (for "k:" the success) */
	int64_t last_fail_ms;
	uint64_t total; /* failures (successes) counted */
};

/* authd_db.c: persistence of authd_penalty's entries */
int authd_db_open(const char **error_r);
void authd_db_put(const void *key, size_t klen, const struct authd_rec *rec);
void authd_db_del(const void *key, size_t klen);
/* authd_db_load - every stored entry to fn; how many, -1 on error */
int authd_db_load(
    void (*fn)(const void *key, size_t klen, const struct authd_rec *rec));
void authd_db_checkpoint(void);

/* authd_penalty.c */
void authd_penalty_init(void);
/* authd_penalty_fail - count a failed login; its delay in ms, and the
 * counters in *lv */
long long authd_penalty_fail(const char *user, const struct authd_keys *k,
    struct authd_level *lv);
/* authd_penalty_success - user logged in from k: the pair is known */
void authd_penalty_success(const char *user, const struct authd_keys *k);
void authd_penalty_tick(long long now_ms);
/* authd_penalty_next - walk the entries ("a:", "n:", "u:", "k:" keys),
 * counts decayed to now */
int authd_penalty_next(struct htab_iter *it, const char **key_r, size_t *len_r,
    struct authd_rec *now_r);
/* authd_penalty_clear - forget one entry; 1 if it existed */
int authd_penalty_clear(const char *key, size_t len);
/* authd_penalty_refuse - is the client in the penalty box?  1 with the
 * limit's name and a detail for the log */
int authd_penalty_refuse(const struct authd_keys *k, const char **limit_r,
    char *detail, size_t dsize);
/* authd_penalty_class - the priority of a login by user (may be "") from
 * k: 1 known pair, 2 clean client, 3 the rest; *score_r orders class 3 */
int authd_penalty_class(const char *user, const struct authd_keys *k,
    double *score_r);

/* authd_report.c: the event log (one line per event, storm summaries) */
/* authd_report_login - authid: the admin who logged in as user, or
 * NULL */
void authd_report_login(const char *user, const char *addr, const char *mech,
    const char *authid);
void authd_report_failure(const char *user, const char *addr, const char *mech,
    int conn_fails, const struct authd_level *lv, long long delay_ms);
void authd_report_refusal(const char *addr, const char *limit,
    const char *detail);
void authd_report_limit(const char *user, const char *addr, const char *limit,
    long long max, const char *text);
/* authd_report_malformed - a login refused for what the client sent
 * (a user name lib/uname refuses, or malformed SASL data) */
void authd_report_malformed(const char *addr, const char *mech,
    const char *why);
void authd_report_shed(const char *user, const char *addr, const char *why,
    int prio, long long waited_ms);
void authd_report_tick(long long now_ms);

/* time */
long long authd_now_ms(void);  /* CLOCK_MONOTONIC */
long long authd_wall_ms(void); /* CLOCK_REALTIME, for what is
				* stored and shown */

#endif

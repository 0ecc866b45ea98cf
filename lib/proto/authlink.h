/*
 * authlink - this process's link to authd, and the client connections it
 * holds.
 *
 * A client connection moves between processes (worker -> idled ->
 * another worker).  Whoever has its fd calls authlink_hold(); whoever closes
 * it calls authlink_closed(); a process that handed it on (fd passed and
 * acknowledged) calls authlink_release().  authd counts connections per
 * address, network and user from these events, and when a process dies
 * (its authd connection closes) it forgets what that process held, so
 * counts never leak.  authlink keeps the set this process holds and replays
 * it whenever the link to authd is made again (authd restarted), so
 * counts come back too.
 *
 * None of the event calls blocks: sends are non-blocking, a link that
 * cannot take a message is dropped (authd then releases what we held)
 * and made again, with a replay, at most once a second on a later call
 * or authlink_tick().  They are safe to call from an event loop holding
 * thousands of sessions.  Not thread-safe (one caller per process).
 *
 * authclient (the worker's login client) sends its requests on the same link
 * through authlink_call().
 */
#ifndef BERTH_AUTHLINK_H
#define BERTH_AUTHLINK_H

#include <stdint.h>

struct ipc_msg;

/* authlink_hold - this process now holds conn_id (addr: the client's
 * numeric address; user: "" before login) */
void authlink_hold(uint64_t conn_id, const char *addr, const char *user);
/* authlink_closed - conn_id's client connection is closed */
void authlink_closed(uint64_t conn_id);
/* authlink_release - conn_id was handed to another process (which will
 * hold it); forget it without telling authd */
void authlink_release(uint64_t conn_id);
/* authlink_tick - remake a dropped link (with its replay) when due; for
 * event loops, about once a second */
void authlink_tick(void);
/* authlink_set_role - announce this process to authd as role ("idled": the
 * one RESULTs of parked logins go to) on every link it makes */
void authlink_set_role(const char *role);
/* authlink_fd_now - the link's descriptor, -1 while it is down (it changes
 * when the link is made again) */
int authlink_fd_now(void);
/* authlink_recv - one message authd sent unasked (RESULT), non-blocking: 1
 * with m filled, 0 none now, -1 the link failed (dropped; made again
 * later) */
int authlink_recv(struct ipc_msg *m);
/*
 * Kicks: authd tells the holder of a connection to end it (berthctl
 * kick).  authlink_recv and authlink_call take KICK messages off the link
 * themselves (they never return one) and keep the ids of connections
 * this process holds.  authlink_kick_next - one kicked id (0: none
 * left); authlink_kicked - was conn_id kicked? (taken if so).  A worker
 * polls authlink_fd_now() beside its client and calls authlink_recv when
 * it is readable; an event loop drains authlink_kick_next after
 * authlink_recv.
 */
uint64_t authlink_kick_next(void);
int authlink_kicked(uint64_t conn_id);

/* authlink_held - how many connections this process holds */
unsigned authlink_held(void);

/* authlink_new_id - a random connection id, for connections authd could not
 * number (it was down at admission); never 0 */
uint64_t authlink_new_id(void);

/*
 * authlink_call - send req and wait for one reply into rep.  Waits up to
 * connect_wait_ms for authd to accept the link (it may be restarting),
 * then up to timeout_ms for the answer.  Returns 0, or -1 (the link is
 * dropped, *error_r says why).  Blocks: for workers only.
 */
int authlink_call(const struct ipc_msg *req, struct ipc_msg *rep,
    long long connect_wait_ms, long long timeout_ms, const char **error_r);
/* authlink_event - send an unanswered message on the link if it is up;
 * 0 sent, -1 not (the link is dropped) */
int authlink_event(const struct ipc_msg *m);
/* authlink_generation - changes every time the link is made again: a SASL
 * exchange begun on one generation cannot continue on another */
unsigned authlink_generation(void);
/* authlink_adopt - record a hold that authd made itself (at ADMIT) */
void authlink_adopt(uint64_t conn_id, uint64_t ts, const char *addr,
    const char *user);
/* authlink_disconnect - drop the link (tests; before exec) */
void authlink_disconnect(void);

#endif

/*
 * authn - this process's link to authd, and the client connections it
 * holds.
 *
 * A client connection moves between processes (worker -> idled ->
 * another worker).  Whoever has its fd calls authn_hold(); whoever closes
 * it calls authn_closed(); a process that handed it on (fd passed and
 * acknowledged) calls authn_release().  authd counts connections per
 * address, network and user from these events, and when a process dies
 * (its authd connection closes) it forgets what that process held, so
 * counts never leak.  authn keeps the set this process holds and replays
 * it whenever the link to authd is made again (authd restarted), so
 * counts come back too.
 *
 * None of the event calls blocks: sends are non-blocking, a link that
 * cannot take a message is dropped (authd then releases what we held)
 * and made again, with a replay, at most once a second on a later call
 * or authn_tick().  They are safe to call from an event loop holding
 * thousands of sessions.  Not thread-safe (one caller per process).
 *
 * authc (the worker's login client) sends its requests on the same link
 * through authn_call().
 */
#ifndef BERTH_AUTHN_H
#define BERTH_AUTHN_H

#include <stdint.h>

struct ipc_msg;

/* authn_hold - this process now holds conn_id (addr: the client's
 * numeric address; user: "" before login) */
void authn_hold(uint64_t conn_id, const char *addr, const char *user);
/* authn_closed - conn_id's client connection is closed */
void authn_closed(uint64_t conn_id);
/* authn_release - conn_id was handed to another process (which will
 * hold it); forget it without telling authd */
void authn_release(uint64_t conn_id);
/* authn_tick - remake a dropped link (with its replay) when due; for
 * event loops, about once a second */
void authn_tick(void);
/* authn_set_role - announce this process to authd as role ("idled": the
 * one RESULTs of parked logins go to) on every link it makes */
void authn_set_role(const char *role);
/* authn_fd_now - the link's descriptor, -1 while it is down (it changes
 * when the link is made again) */
int authn_fd_now(void);
/* authn_recv - one message authd sent unasked (RESULT), non-blocking: 1
 * with m filled, 0 none now, -1 the link failed (dropped; made again
 * later) */
int authn_recv(struct ipc_msg *m);
/* authn_held - how many connections this process holds */
unsigned authn_held(void);

/* authn_new_id - a random connection id, for connections authd could not
 * number (it was down at admission); never 0 */
uint64_t authn_new_id(void);

/*
 * authn_call - send req and wait for one reply into rep.  Waits up to
 * connect_wait_ms for authd to accept the link (it may be restarting),
 * then up to timeout_ms for the answer.  Returns 0, or -1 (the link is
 * dropped, *error_r says why).  Blocks: for workers only.
 */
int authn_call(const struct ipc_msg *req, struct ipc_msg *rep,
    long long connect_wait_ms, long long timeout_ms, const char **error_r);
/* authn_event - send an unanswered message on the link if it is up;
 * 0 sent, -1 not (the link is dropped) */
int authn_event(const struct ipc_msg *m);
/* authn_generation - changes every time the link is made again: a SASL
 * exchange begun on one generation cannot continue on another */
unsigned authn_generation(void);
/* authn_adopt - record a hold that authd made itself (at ADMIT) */
void authn_adopt(uint64_t conn_id, uint64_t ts, const char *addr,
    const char *user);
/* authn_disconnect - drop the link (tests; before exec) */
void authn_disconnect(void);

#endif

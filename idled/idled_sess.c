/*
 * idled_sess - parked sessions and their indexes: users, mailboxes,
 * watches, and the list of all sessions oldest first.
 *
 * Owns every struct isess, iuser and imbox.  A session is created from a
 * worker's snapshot and turned back into one when it is handed on; in
 * between, strings shared by many sessions are interned.  Does not decide
 * when to wake or drop a session (idled_change, idled_client and
 * idled_limits do).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authlink.h"
#include "cfg.h"
#include "fd.h"
#include "htab.h"
#include "idled.h"
#include "log.h"
#include "xalloc.h"

struct isess *idled_all_head, *idled_all_tail;
size_t idled_nsess;

static struct htab *idled_users;  /* name -> struct iuser */
static struct htab *idled_mboxes; /* id -> struct imbox */
static struct htab *idled_tarpit; /* address -> tarpitted sessions */
static size_t tarpit_total;
static char **idled_handoffs;
static size_t idled_nhandoffs;

struct iuser *
idled_user_find(const char *name)
{
	if (idled_users == NULL)
		return NULL;
	return htab_get(idled_users, name, strlen(name));
}

static struct iuser *
idled_user_get(const char *name)
{
	struct iuser *u = idled_user_find(name);

	if (u != NULL)
		return u;
	if (idled_users == NULL)
		idled_users = htab_new();
	u = xcalloc(1, sizeof(*u));
	u->name = xstrdup(name);
	htab_put(idled_users, name, strlen(name), u);
	return u;
}

static void
idled_user_put(struct iuser *u)
{
	if (u->nsess > 0)
		return;
	htab_del(idled_users, u->name, strlen(u->name));
	free(u->name);
	free(u);
}

struct imbox *
idled_mbox_get(uint32_t id, int create)
{
	struct imbox *m = NULL;

	if (idled_mboxes != NULL)
		m = htab_get(idled_mboxes, &id, sizeof(id));
	if (m != NULL || !create)
		return m;
	if (idled_mboxes == NULL)
		idled_mboxes = htab_new();
	m = xcalloc(1, sizeof(*m));
	m->id = id;
	m->last_ms = ev_now_ms();
	htab_put(idled_mboxes, &m->id, sizeof(m->id), m);
	return m;
}

/*
 * idled_mbox_expire - forget mailboxes nobody watches and that did not
 * change for a minute.  Their changes were kept so that a session on its
 * way to idled (snapshot taken, not yet parked) still learns of them;
 * that takes milliseconds, not a minute.
 */
void
idled_mbox_expire(void)
{
	struct htab_iter it = HTAB_ITER;
	struct imbox *m;
	void *val;

	while (idled_mboxes != NULL &&
	    htab_next(idled_mboxes, &it, NULL, NULL, &val, NULL)) {
		m = val;
		if (m->nwatch > 0 || ev_now_ms() - m->last_ms < 60000)
			continue;
		htab_del(idled_mboxes, &m->id, sizeof(m->id));
		ev_timer_del(&m->gap);
		free(m);
	}
}

static const char *
idled_handoff_intern(const char *path)
{
	size_t i;

	for (i = 0; i < idled_nhandoffs; i++)
		if (strcmp(idled_handoffs[i], path) == 0)
			return idled_handoffs[i];
	idled_handoffs = xreallocarray(idled_handoffs, idled_nhandoffs + 1,
	    sizeof(*idled_handoffs));
	return idled_handoffs[idled_nhandoffs++] = xstrdup(path);
}

int
idled_tarpit_take(const char *addr)
{
	long long max = cfg_int("idled_tarpit_max"),
		  maxa = cfg_int("idled_tarpit_addr");

	if (max > 0 && (long long)tarpit_total >= max)
		return 0;
	if (idled_tarpit == NULL)
		idled_tarpit = htab_new();
	if (maxa > 0 && htab_num(idled_tarpit, addr, strlen(addr)) >= maxa)
		return 0;
	htab_add(idled_tarpit, addr, strlen(addr), 1);
	tarpit_total++;
	return 1;
}

/* tarpit_put - a tarpitted session of addr is gone */
static void
tarpit_put(const char *addr)
{
	if (idled_tarpit == NULL ||
	    htab_num(idled_tarpit, addr, strlen(addr)) <= 0)
		return;
	htab_add(idled_tarpit, addr, strlen(addr), -1);
	tarpit_total--;
}

void
idled_net(const char *addr, char *out, size_t size)
{
	const char *p;
	int colons = 0;

	(void)snprintf(out, size, "%s", addr);
	if (strchr(out, ':') == NULL) {
		if ((p = strrchr(out, '.')) != NULL)
			out[p - out] = '\0';
		return;
	}
	for (p = out; *p; p++)
		if (*p == ':' && ++colons == 4) {
			out[p - out] = '\0';
			return;
		}
}

/* idled_watch_link - put w on its mailbox's list */
static void
idled_watch_link(struct iwatch *w, uint32_t mboxid)
{
	struct imbox *m = idled_mbox_get(mboxid, 1);

	w->mb = m;
	w->prev = NULL;
	w->next = m->watches;
	if (m->watches)
		m->watches->prev = w;
	m->watches = w;
	m->nwatch++;
	m->last_ms = ev_now_ms();
}

static void
idled_watch_unlink(struct iwatch *w)
{
	struct imbox *m = w->mb;

	if (w->prev)
		w->prev->next = w->next;
	else
		m->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	m->nwatch--;
	m->last_ms = ev_now_ms();
}

/* idled_sess_watches - the snapshot's watches, the selected one first */
static void
idled_sess_watches(struct isess *s, const struct snap *sn)
{
	uint32_t i, j = 1, sel = UINT32_MAX;

	for (i = 0; i < sn->nwatch; i++)
		if (sn->watch[i].events & SNAP_W_SELECTED)
			sel = i;
	s->nwatch = sn->nwatch;
	if (s->nwatch == 0)
		return;
	s->watch = xcalloc(s->nwatch, sizeof(*s->watch));
	for (i = 0; i < sn->nwatch; i++) {
		struct iwatch *w = i == sel
		    ? &s->watch[0]
		    : &s->watch[sel == UINT32_MAX ? i : j++];

		w->s = s;
		w->events = sn->watch[i].events;
		w->modseq = sn->watch[i].modseq;
		idled_watch_link(w, sn->watch[i].mboxid);
	}
}

struct isess *
idled_sess_new(struct snap *sn, int fd, const char *handoff)
{
	size_t al = strnlen(sn->addr, sizeof(sn->addr) - 1);
	struct isess *s = xcalloc(1, sizeof(*s) + al + 1);

	s->fd = fd;
	s->io.fd = -1;
	s->kind = (uint8_t)sn->kind;
	s->flags = sn->flags;
	s->user = idled_user_get(sn->user);
	s->handoff = idled_handoff_intern(handoff);
	memcpy(s->addr, sn->addr, al);
	s->port = sn->port;
	s->tag = xstrdup(sn->tag);
	s->conn_id = sn->conn_id;
	s->failed_logins = sn->failed_logins;
	s->idle_since_ms = sn->idle_since_ms;
	s->since_ms = s->ping_ms = ev_now_ms();
	s->wake_ms = sn->wake_ms;
	if (sn->flags & SNAP_F_SELECTED)
		s->mailbox = xstrdup(sn->mailbox);
	s->mboxid = sn->mboxid;
	s->uidvalidity = sn->uidvalidity;
	s->maxuid = sn->maxuid;
	s->exists = sn->exists;
	s->recent_lo = sn->recent_lo;
	s->recent_hi = sn->recent_hi;
	s->modseq = sn->modseq;
	s->user_events = sn->user_events;
	if (sn->notify_spec.len > 0) {
		s->spec = xmemdup(sn->notify_spec.data, sn->notify_spec.len);
		s->speclen = sn->notify_spec.len;
	}
	if (sn->saved.len + sn->zdict.len > 0) {
		s->opaque = xmalloc(sn->saved.len + sn->zdict.len);
		memcpy(s->opaque, sn->saved.data ? sn->saved.data : "",
		    sn->saved.len);
		memcpy(s->opaque + sn->saved.len,
		    sn->zdict.data ? sn->zdict.data : "", sn->zdict.len);
		s->savedlen = (uint16_t)sn->saved.len;
		s->zdictlen = (uint16_t)sn->zdict.len;
	}
	if (sn->reply.len > 0)
		s->reply = xstrndup(sn->reply.data, sn->reply.len);
	if (sn->mech[0] != '\0')
		s->mech = xstrdup(sn->mech);
	/* the pending bytes move over; the snapshot keeps an empty buf */
	s->pending = sn->pending;
	buf_init(&sn->pending, SNAP_MAX_PENDING);
	buf_set_max(&s->pending, SNAP_MAX_PENDING);
	s->contd = sn->pending_contd <= s->pending.len ? sn->pending_contd : 0;
	idled_sess_watches(s, sn);
	/* on the user's list and the list of all, newest last */
	s->uprev = s->user->tail;
	if (s->user->tail)
		s->user->tail->unext = s;
	else
		s->user->head = s;
	s->user->tail = s;
	s->user->nsess++;
	s->aprev = idled_all_tail;
	if (idled_all_tail)
		idled_all_tail->anext = s;
	else
		idled_all_head = s;
	idled_all_tail = s;
	idled_nsess++;
	return s;
}

void
idled_sess_snap(const struct isess *s, struct snap *sn)
{
	uint32_t i;

	snap_init(sn);
	sn->kind = s->kind;
	sn->flags = s->flags;
	snprintf(sn->user, sizeof(sn->user), "%s",
	    s->authuser ? s->authuser : s->user->name);
	snprintf(sn->mech, sizeof(sn->mech), "%s", s->mech ? s->mech : "");
	snprintf(sn->addr, sizeof(sn->addr), "%s", s->addr);
	sn->port = s->port;
	snprintf(sn->tag, sizeof(sn->tag), "%s", s->tag);
	sn->conn_id = s->conn_id;
	sn->failed_logins = s->failed_logins;
	sn->idle_since_ms = s->idle_since_ms;
	if (s->mailbox)
		snprintf(sn->mailbox, sizeof(sn->mailbox), "%s", s->mailbox);
	sn->mboxid = s->mboxid;
	sn->uidvalidity = s->uidvalidity;
	sn->maxuid = s->maxuid;
	sn->exists = s->exists;
	sn->recent_lo = s->recent_lo;
	sn->recent_hi = s->recent_hi;
	sn->modseq = s->modseq;
	for (i = 0; i < s->nwatch; i++)
		snap_watch_add(sn, s->watch[i].mb->id, s->watch[i].events,
		    s->watch[i].modseq);
	sn->user_events = s->user_events;
	if (s->spec)
		buf_append(&sn->notify_spec, s->spec, s->speclen);
	if (s->opaque) {
		buf_append(&sn->saved, s->opaque, s->savedlen);
		buf_append(&sn->zdict, s->opaque + s->savedlen, s->zdictlen);
	}
	sn->wake_ms = s->wake_ms;
	if (s->reply)
		buf_puts(&sn->reply, s->reply);
	buf_append(&sn->pending, s->pending.data ? s->pending.data : "",
	    s->pending.len);
	sn->pending_contd = s->contd;
}

void
idled_sess_drop(struct isess *s, const char *reason)
{
	uint32_t i;

	log_set_session(s->conn_id);
	if (s->conn_id != 0)
		authlink_closed(s->conn_id);
	if (reason != NULL)
		(s->quiet ? log_debug
			  : log_info)("unpark user=%s addr=%s "
				      "kind=%s mailbox=%s reason=%s parked=%zu",
		    s->user->name[0] ? s->user->name : "-", s->addr,
		    snap_kind_name(s->kind), s->mailbox ? s->mailbox : "-",
		    reason, idled_nsess - 1);
	idled_wake_forget(s);
	if (s->tarpit)
		tarpit_put(s->addr);
	ev_timer_del(&s->timer);
	ev_io_del(&s->io);
	if (s->fd >= 0)
		fd_close(s->fd);
	for (i = 0; i < s->nwatch; i++)
		idled_watch_unlink(&s->watch[i]);
	if (s->uprev)
		s->uprev->unext = s->unext;
	else
		s->user->head = s->unext;
	if (s->unext)
		s->unext->uprev = s->uprev;
	else
		s->user->tail = s->uprev;
	s->user->nsess--;
	idled_user_put(s->user);
	if (s->aprev)
		s->aprev->anext = s->anext;
	else
		idled_all_head = s->anext;
	if (s->anext)
		s->anext->aprev = s->aprev;
	else
		idled_all_tail = s->aprev;
	idled_nsess--;
	free(s->watch);
	free(s->tag);
	free(s->mailbox);
	free(s->spec);
	free(s->opaque);
	free(s->reply);
	free(s->mech);
	free(s->authuser);
	buf_free(&s->pending);
	ev_defer_free(s);
}

void
idled_sess_log_park(const struct isess *s)
{
	/* a refused connection's wait, or a login's wait for authd: authd
	 * logs those events (and summarises them in a storm) */
	log_set_session(s->conn_id);
	(s->quiet ? log_debug : log_info)("park user=%s addr=%s kind=%s "
					  "mailbox=%s parked=%zu",
	    s->user->name[0] ? s->user->name : "-", s->addr,
	    s->tarpit			       ? "tarpit"
		: (s->flags & SNAP_F_AUTHWAIT) ? "login"
					       : snap_kind_name(s->kind),
	    s->mailbox ? s->mailbox : "-", idled_nsess);
}

int
idled_sess_write(struct isess *s, const char *text, size_t len)
{
	static struct buf z = BUF_INIT;
	ssize_t n;

	/* COMPRESS=DEFLATE: the text as a stored block, in one write */
	if (s->flags & SNAP_F_DEFLATE) {
		buf_reset(&z);
		if (snap_deflate_stored(&z, text, len) < 0) {
			idled_sess_drop(s, "output-too-large");
			return -1;
		}
		text = z.data;
		len = z.len;
	}
	do
		n = write(s->fd, text, len);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len)
		return 0;
	/* a parked client that does not read what little we send is gone:
	 * a partial line must not stay in its stream */
	idled_sess_drop(s,
	    n < 0 && errno != EAGAIN ? "client-gone" : "client-not-reading");
	return -1;
}

/*
 * idled_change - change messages from the writers (lib/notify), and what
 * they do to parked sessions.
 *
 * Every mailbox keeps its last few changes (prevmodseq -> modseq, what,
 * counts after).  A session whose selected mailbox moved on is brought up
 * to date along that chain: when every step only added messages (and the
 * session wants plain MessageNew), idled sends "* N EXISTS" itself and
 * advances the session's view — exactly what an unparked session sends
 * for new mail, at no worker's cost.  Anything else (an expunge, a flag
 * change, a step missing from the chain) wakes the session: a worker
 * rebuilds the view from the store and reports it.  A missing step is
 * waited for a moment first, since writers' messages arrive in commit
 * order per writer, not across writers.
 *
 * Changes to other watched mailboxes (NOTIFY) and to the user's mailbox
 * list wake the session too; the worker sends the STATUS or LIST.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd.h"
#include "idled.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "xalloc.h"

#define CHANGE_GAP_MS 50

struct writer {
	struct ev_io io;
};

static struct ev_io change_lio;

static void change_gap(struct ev_timer *t, void *ctx);

/* change_wakeable - may changes wake s (not only its client's input)?
 * Not while it is inside a command it has not finished: untagged data
 * waits for that command, whose worker reports what changed after it
 * (waking it for each change would send it back and forth) */
static int
change_wakeable(const struct isess *s)
{
	return !s->waking &&
	    (s->kind == SNAP_K_IDLE ||
		(s->kind == SNAP_K_WAIT && (s->flags & SNAP_F_NOTIFY) &&
		    s->pending.len == 0));
}

/* change_find - the change of m that starts at modseq, or NULL */
static const struct ichange *
change_find(const struct imbox *m, uint64_t modseq)
{
	unsigned i;

	/* a ring of IMBOX_CHANGES; unused entries have modseq 0 */
	for (i = 0; i < IMBOX_CHANGES; i++)
		if (m->ch[i].prevmodseq == modseq && m->ch[i].modseq > modseq)
			return &m->ch[i];
	return NULL;
}

/*
 * change_selected - bring s's selected mailbox up to date.  The watch's
 * modseq is where the worker last looked; the session's is what the
 * client's view is as of (older when the worker holds changes back, e.g.
 * expunges under NOTIFY selected-delayed).  Steps the watch does not ask
 * for are passed over; new mail is answered here only while nothing is
 * held back.  Returns 0 when done (or nothing to do), 1 when s was woken
 * or dropped, 2 when a step is missing (the caller waits for it).
 */
static int
change_selected(struct isess *s, struct iwatch *w)
{
	const struct ichange *c;
	uint64_t cur = w->modseq;
	uint32_t exists = s->exists, maxuid = s->maxuid, ev;
	int fast = s->modseq == w->modseq, n;
	char line[64];

	while (cur < w->mb->modseq) {
		if ((c = change_find(w->mb, cur)) == NULL)
			return 2;
		ev = c->what & w->events &
		    (NOTIFY_EV_MESSAGE | NOTIFY_EV_MAILBOXNAME);
		if (ev == 0) {
			fast = 0; /* the worker takes it in silently */
		} else if (c->what != NOTIFY_EV_NEW || !fast ||
		    (w->events & SNAP_W_NEWFETCH)) {
			idled_wake(s, "changed");
			return 1;
		} else {
			exists = c->exists;
			if (c->uidnext > 0)
				maxuid = c->uidnext - 1;
		}
		cur = c->modseq;
	}
	if (fast && exists != s->exists) {
		n = snprintf(line, sizeof(line), "* %u EXISTS\r\n", exists);
		if (idled_sess_write(s, line, (size_t)n) < 0)
			return 1;
	}
	if (fast) {
		s->exists = exists;
		s->maxuid = maxuid;
		s->modseq = cur;
	}
	w->modseq = cur;
	return 0;
}

/*
 * change_pending - did a watched mailbox other than the selected one go
 * through a change the watch asks for since the worker last looked?  A
 * step missing from the chain counts as yes (the worker will look).
 */
static int
change_pending(struct iwatch *w)
{
	const struct ichange *c;
	uint64_t cur = w->modseq;

	while (cur < w->mb->modseq) {
		if ((c = change_find(w->mb, cur)) == NULL ||
		    (c->what & w->events) != 0)
			return 1;
		cur = c->modseq;
	}
	w->modseq = cur;
	return 0;
}

/* change_other - c (what) changed a watched mailbox, not the selected */
static int
change_other(struct isess *s, struct iwatch *w, uint32_t what)
{
	if ((what & NOTIFY_W_DELETED) ||
	    (w->events & what & NOTIFY_EV_MAILBOXNAME) || change_pending(w)) {
		idled_wake(s, "changed");
		return 1;
	}
	return 0;
}

/*
 * idled_selected_held - does the worker hold changes of s's selected
 * mailbox back (so that starting an IDLE must go through it)?
 */
int
idled_selected_held(const struct isess *s)
{
	uint32_t i;

	for (i = 0; i < s->nwatch; i++)
		if (s->watch[i].events & SNAP_W_SELECTED)
			return s->watch[i].modseq != s->modseq;
	return 0;
}

int
idled_change_catch_up(struct isess *s)
{
	uint32_t i;
	int r;

	if (!change_wakeable(s))
		return 0;
	for (i = 0; i < s->nwatch; i++) {
		struct iwatch *w = &s->watch[i];

		if (w->events & SNAP_W_SELECTED) {
			r = change_selected(s, w);
			if (r == 1)
				return 1;
			if (r == 2 && !ev_timer_armed(&w->mb->gap))
				ev_timer_add(&w->mb->gap, CHANGE_GAP_MS,
				    change_gap, w->mb);
		} else if (w->mb->modseq > w->modseq &&
		    change_other(s, w, 0) == 1) {
			return 1;
		}
	}
	return 0;
}

/* change_gap - a step of the chain stayed missing: the worker reads the
 * store instead */
static void
change_gap(struct ev_timer *t, void *ctx)
{
	struct imbox *m = ctx;
	struct iwatch *w, *next;

	(void)t;
	for (w = m->watches; w != NULL; w = next) {
		next = w->next;
		if ((w->events & SNAP_W_SELECTED) && change_wakeable(w->s) &&
		    change_selected(w->s, w) == 2)
			idled_wake(w->s, "changed");
	}
}

/* change_record - remember c in its mailbox's ring */
static struct imbox *
change_record(const struct notify_change *c)
{
	struct imbox *m = idled_mbox_get(c->m.mboxid, 1);
	struct ichange *e;

	m->last_ms = ev_now_ms();
	if (c->m.modseq > m->modseq)
		m->modseq = c->m.modseq;
	if (c->m.modseq > c->m.prevmodseq) {
		m->chead = (m->chead + 1) % IMBOX_CHANGES;
		e = &m->ch[m->chead];
		e->prevmodseq = c->m.prevmodseq;
		e->modseq = c->m.modseq;
		e->what = c->m.what;
		e->exists = c->m.exists;
		e->uidnext = c->m.uidnext;
	}
	return m;
}

/* change_mailbox - c changed one mailbox: its watchers catch up */
static void
change_mailbox(const struct notify_change *c)
{
	struct imbox *m = change_record(c);
	struct iwatch *w, *next;
	int r;

	for (w = m->watches; w != NULL; w = next) {
		next = w->next;
		if (!change_wakeable(w->s))
			continue;
		if (!(w->events & SNAP_W_SELECTED)) {
			change_other(w->s, w, c->m.what);
			continue;
		}
		if (c->m.what & NOTIFY_EV_MAILBOXNAME) {
			/* renamed or deleted under the session */
			idled_wake(w->s, "mailbox-renamed");
			continue;
		}
		r = change_selected(w->s, w);
		if (r == 2 && !ev_timer_armed(&m->gap))
			ev_timer_add(&m->gap, CHANGE_GAP_MS, change_gap, m);
	}
}

/* change_user - the user's mailbox list or subscriptions changed */
static void
change_user(const struct notify_change *c)
{
	struct iuser *u = idled_user_find(c->user);
	struct isess *s, *next;
	uint32_t ev =
	    c->m.what & (NOTIFY_EV_MAILBOXNAME | NOTIFY_EV_SUBSCRIPTION);

	if (u == NULL || ev == 0)
		return;
	for (s = u->head; s != NULL; s = next) {
		next = s->unext;
		if (change_wakeable(s) && (s->user_events & ev))
			idled_wake(s, "mailbox-list");
	}
}

/* change_read - messages from one writer, until its queue is empty */
static void
change_read(struct ev_io *io, unsigned events, void *ctx)
{
	struct writer *wr = ctx;
	struct notify_change c;
	char buf[NOTIFY_MAX_MSG + 1];
	ssize_t n;

	for (;;) {
		n = recv(io->fd, buf, sizeof(buf), MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || (size_t)n > NOTIFY_MAX_MSG ||
		    notify_parse(buf, (size_t)n, &c) < 0) {
			if (n > 0)
				log_warn("malformed change message (%zd "
					 "bytes); closing that writer",
				    n);
			break;
		}
		log_debug("change user=%s mailbox=%s id=%u what=%#x "
			  "modseq=%llu->%llu exists=%u",
		    c.user, c.name, c.m.mboxid, c.m.what,
		    (unsigned long long)c.m.prevmodseq,
		    (unsigned long long)c.m.modseq, c.m.exists);
		if (c.m.mboxid != 0)
			change_mailbox(&c);
		change_user(&c);
	}
	(void)events;
	fd_close(io->fd);
	ev_io_del(io);
	ev_defer_free(wr);
}

static void
change_accept(struct ev_io *io, unsigned events, void *ctx)
{
	struct writer *wr;
	int fd;

	(void)events;
	(void)ctx;
	while ((fd = accept4(io->fd, NULL, NULL,
		    SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		wr = xcalloc(1, sizeof(*wr));
		if (ev_io_add(&wr->io, fd, EV_READ, change_read, wr) < 0) {
			fd_close(fd);
			free(wr);
		}
	}
}

void
idled_change_init(void)
{
	struct err err;
	int fd = net_bind_seqpacket(notify_path(), &err);

	if (fd < 0 || listen(fd, 1024) < 0)
		log_fatal("cannot listen on %s: %s", notify_path(),
		    fd < 0 ? err.msg : strerror(errno));
	if (net_set_nonblock(fd, 1) < 0 ||
	    ev_io_add(&change_lio, fd, EV_READ, change_accept, NULL) < 0)
		log_fatal("cannot watch %s: %m", notify_path());
}

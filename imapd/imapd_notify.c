/*
 * imapd_notify - NOTIFY (RFC 5465) at work in a session: what is sent,
 * when, and what a parked session watches.
 *
 * Owns s->notify (struct imap_notify, imapd_notify.h).  A sync reads the
 * mailboxes the spec covers (the user's whole mailbox list when the spec
 * follows it, else one record per named mailbox), compares them with the
 * table of what the client was last told, sends
 *   - LIST for MailboxName (a new id: created; an id under another name:
 *     renamed, with OLDNAME; an id gone: deleted, \NonExistent) and for
 *     SubscriptionChange (with or without \Subscribed),
 *   - STATUS (MESSAGES UIDNEXT UIDVALIDITY, and HIGHESTMODSEQ under
 *     CONDSTORE or FlagChange) for a covered mailbox other than the
 *     selected one whose counts (or, with FlagChange, HIGHESTMODSEQ)
 *     changed,
 * and takes the store's state as the new table.  The selected mailbox is
 * synced through view_sync_as with the events of the selected group:
 * unrequested flag changes are taken silently, expunges are held back
 * under selected-delayed except inside IDLE, and nothing at all is sent
 * without a selected group.  Commands still get RFC 3501's updates
 * (imapd_dispatch's view_sync): NOTIFY only decides what is pushed
 * between commands.
 *
 * A parked session is rebuilt from the snapshot: the encoded table makes
 * the resumed worker send exactly what an unparked one would have, once.
 * Changes the session makes itself (CREATE, DELETE, RENAME, SUBSCRIBE)
 * are absorbed, not reported back (RFC 5465 section 5: SHOULD).
 *
 * Does not parse the command (imapd_notify_spec.c, cmd_notify.c) and
 * does not decide when to park (imapd_session.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "imapd.h"
#include "fetch.h"
#include "imapd_notify.h"
#include "log.h"
#include "notify.h"
#include "snap.h"
#include "xalloc.h"

#define NOTIFY_MSGEV (NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE | NOTIFY_EV_FLAGS)

/* a table being read from the store */
struct table {
	struct notify_mbox *mb;
	size_t n, size;
	size_t nsorted; /* mb[0..nsorted) is sorted by name */
	int over;	/* past NOTIFY_MAX_MBOXES */
};

static struct notify_mbox *
table_add(struct table *t, const char *name)
{
	struct notify_mbox *m;

	if (t->n >= NOTIFY_MAX_MBOXES) {
		t->over = 1;
		return NULL;
	}
	if (t->n == t->size) {
		t->size = t->size ? t->size * 2 : 16;
		t->mb = xreallocarray(t->mb, t->size, sizeof(*t->mb));
	}
	m = &t->mb[t->n++];
	memset(m, 0, sizeof(*m));
	m->name = xstrdup(name);
	return m;
}

static void
table_set(struct notify_mbox *m, const struct store_mbox *mb)
{
	m->id = mb->id;
	m->attrs = mb->attrs;
	m->uidvalidity = mb->uidvalidity;
	m->messages = mb->exists;
	m->uidnext = mb->uidnext;
	m->modseq = mb->highestmodseq;
}

static int
table_cmp(const void *a, const void *b)
{
	return strcmp(((const struct notify_mbox *)a)->name,
	    ((const struct notify_mbox *)b)->name);
}

/* table_find - the entry named name in a sorted table, or NULL */
static struct notify_mbox *
table_find(struct notify_mbox *mb, size_t n, const char *name)
{
	struct notify_mbox key;

	key.name = (char *)name;
	return n ? bsearch(&key, mb, n, sizeof(*mb), table_cmp) : NULL;
}

static int
table_list_cb(const char *name, const struct store_mbox *mb, void *ctx)
{
	struct notify_mbox *m = table_add(ctx, name);

	if (m == NULL)
		return 1;
	table_set(m, mb);
	return 0;
}

static int
table_sub_cb(const char *name, void *ctx)
{
	struct table *t = ctx;
	struct notify_mbox *m;

	if ((m = table_find(t->mb, t->nsorted, name)) != NULL) {
		m->subscribed = 1;
		return 0;
	}
	if ((m = table_add(t, name)) == NULL)
		return 1;
	m->subscribed = 1;
	return 0;
}

/* table_named - the mailboxes a static spec names, one read each */
static int
table_named(struct imap_session *s, const struct imap_notify *n,
    struct table *t, const char **error_r)
{
	struct store_mbox mb;
	size_t i, j;
	int r;

	for (i = 0; i < n->ngroups; i++) {
		const struct notify_group *g = &n->groups[i];

		for (j = 0; j < (g->filter == NOTIFY_F_INBOXES ? 1 : g->nnames);
		     j++) {
			const char *name = g->filter == NOTIFY_F_INBOXES
			    ? "INBOX"
			    : g->names[j];

			if (g->events == 0 || table_find(t->mb, t->n, name))
				continue;
			r = store_mbox_get(s->st, s->user, name, &mb, error_r);
			if (r == STORE_ENOENT)
				continue;
			if (r != 0)
				return -1;
			if (table_add(t, name) == NULL)
				return 0;
			table_set(&t->mb[t->n - 1], &mb);
			xqsort(t->mb, t->n, sizeof(*t->mb), table_cmp);
		}
	}
	return 0;
}

/* table_read - the store's state of what n covers; -1 on a store error
 * (*error_r), t->over when past NOTIFY_MAX_MBOXES */
static int
table_read(struct imap_session *s, const struct imap_notify *n, struct table *t,
    const char **error_r)
{
	memset(t, 0, sizeof(*t));
	if (!n->track_list)
		return table_named(s, n, t, error_r);
	if (store_mbox_list(s->st, s->user, table_list_cb, t, error_r) != 0)
		goto fail;
	if (t->n > 1)
		xqsort(t->mb, t->n, sizeof(*t->mb), table_cmp);
	t->nsorted = t->n;
	if (n->track_subs && !t->over &&
	    store_sub_list(s->st, s->user, table_sub_cb, t, error_r) != 0)
		goto fail;
	if (t->n > 1)
		xqsort(t->mb, t->n, sizeof(*t->mb), table_cmp);
	return 0;
fail:
	notify_spec_mbox_free(t->mb, t->n);
	return -1;
}

/* notify_mbox_events - message events n asks for mailbox m */
static uint32_t
notify_mbox_events(const struct imap_notify *n, const struct notify_mbox *m)
{
	if (m->id == 0 || (m->attrs & STORE_MBOX_NOSELECT))
		return 0;
	return notify_spec_covers(n, m->name, m->subscribed) & NOTIFY_MSGEV;
}

/* notify_is_selected - is id the selected mailbox? */
static int
notify_is_selected(const struct imap_session *s, uint32_t id)
{
	return s->state == IMAP_S_SELECTED && s->view.mboxid == id;
}

static void
notify_send_status(struct imap_session *s, const struct notify_mbox *m,
    uint32_t ev)
{
	struct buf line = BUF_INIT;

	buf_puts(&line, "* STATUS ");
	imap_put_mbox(s, &line, m->name);
	buf_printf(&line, " (MESSAGES %u UIDNEXT %u UIDVALIDITY %u",
	    m->messages, m->uidnext, m->uidvalidity);
	if (s->condstore || (ev & NOTIFY_EV_FLAGS))
		buf_printf(&line, " HIGHESTMODSEQ %llu",
		    (unsigned long long)m->modseq);
	buf_puts(&line, ")\r\n");
	io_put(s, line.data, line.len);
	buf_free(&line);
}

/* notify_has_children - does any mailbox of tab live below name? */
static int
notify_has_children(const struct notify_mbox *tab, size_t n, const char *name)
{
	size_t i, l = strlen(name);

	for (i = 0; i < n; i++)
		if (tab[i].id != 0 && strncmp(tab[i].name, name, l) == 0 &&
		    tab[i].name[l] == '/')
			return 1;
	return 0;
}

/* notify_send_list - "* LIST" for name as tab (the new table) has it;
 * m NULL: it does not exist */
static void
notify_send_list(struct imap_session *s, const char *name,
    const struct notify_mbox *m, const struct notify_mbox *tab, size_t n,
    const char *oldname)
{
	struct buf line = BUF_INIT;

	buf_puts(&line, "* LIST (");
	if (m == NULL || m->id == 0)
		buf_puts(&line, "\\NonExistent");
	else
		buf_printf(&line, "%s%s",
		    m->attrs & STORE_MBOX_NOSELECT ? "\\Noselect " : "",
		    notify_has_children(tab, n, name) ? "\\HasChildren"
						      : "\\HasNoChildren");
	if (s->notify->track_subs && m != NULL && m->subscribed)
		buf_puts(&line, " \\Subscribed");
	buf_puts(&line, ") \"/\" ");
	imap_put_mbox(s, &line, name);
	if (oldname != NULL) {
		buf_puts(&line, " (\"OLDNAME\" (");
		imap_put_mbox(s, &line, oldname);
		buf_puts(&line, "))");
	}
	buf_puts(&line, "\r\n");
	io_put(s, line.data, line.len);
	buf_free(&line);
}

static int
notify_id_cmp(const void *a, const void *b)
{
	uint32_t x = (*(const struct notify_mbox *const *)a)->id,
		 y = (*(const struct notify_mbox *const *)b)->id;

	return x < y ? -1 : x > y;
}

/* notify_by_id - the entries of tab with an id, sorted by id */
static struct notify_mbox **
notify_by_id(struct notify_mbox *tab, size_t n, size_t *nid_r)
{
	struct notify_mbox **v = xcalloc(n + 1, sizeof(*v));
	size_t i;

	*nid_r = 0;
	for (i = 0; i < n; i++)
		if (tab[i].id != 0)
			v[(*nid_r)++] = &tab[i];
	xqsort(v, *nid_r, sizeof(*v), notify_id_cmp);
	return v;
}

static struct notify_mbox *
notify_find_id(struct notify_mbox **v, size_t n, uint32_t id)
{
	struct notify_mbox key, *kp = &key, **r;

	key.id = id;
	r = n ? bsearch(&kp, v, n, sizeof(*v), notify_id_cmp) : NULL;
	return r ? *r : NULL;
}

/* notify_status_due - must the client hear of c (was o) for events ev? */
static int
notify_status_due(const struct notify_mbox *o, const struct notify_mbox *c,
    uint32_t ev)
{
	if (o->uidvalidity != c->uidvalidity)
		return 1;
	if ((ev & (NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE)) &&
	    (o->messages != c->messages || o->uidnext != c->uidnext))
		return 1;
	return (ev & NOTIFY_EV_FLAGS) && o->modseq != c->modseq;
}

/* notify_report_names - MailboxName: deleted, renamed, created, changed */
static void
notify_report_names(struct imap_session *s, struct notify_mbox *old,
    size_t nold, struct notify_mbox *cur, size_t ncur)
{
	struct imap_notify *n = s->notify;
	struct notify_mbox **oid, **cid, *o, *c;
	size_t noid, ncid, i;

	oid = notify_by_id(old, nold, &noid);
	cid = notify_by_id(cur, ncur, &ncid);
	for (i = 0; i < noid; i++) {
		o = oid[i];
		if (notify_find_id(cid, ncid, o->id) != NULL ||
		    !(notify_spec_covers(n, o->name, o->subscribed) &
			NOTIFY_EV_MAILBOXNAME))
			continue;
		/* gone; still subscribed perhaps, or made anew (that LIST
		 * follows) */
		c = table_find(cur, ncur, o->name);
		notify_send_list(s, o->name, c && c->id == 0 ? c : NULL, cur,
		    ncur, NULL);
	}
	for (i = 0; i < ncid; i++) {
		c = cid[i];
		o = notify_find_id(oid, noid, c->id);
		if (o != NULL && strcmp(o->name, c->name) == 0 &&
		    !((o->attrs ^ c->attrs) & STORE_MBOX_NOSELECT))
			continue;
		if (!((notify_spec_covers(n, c->name, c->subscribed) |
			  (o ? notify_spec_covers(n, o->name, o->subscribed)
			     : 0)) &
			NOTIFY_EV_MAILBOXNAME))
			continue;
		notify_send_list(s, c->name, c, cur, ncur,
		    o != NULL && strcmp(o->name, c->name) != 0 ? o->name
							       : NULL);
	}
	free(oid);
	free(cid);
}

/* notify_report_subs - SubscriptionChange: a merge of both tables */
static void
notify_report_subs(struct imap_session *s, struct notify_mbox *old, size_t nold,
    struct notify_mbox *cur, size_t ncur)
{
	struct imap_notify *n = s->notify;
	size_t i = 0, j = 0;
	int d, osub, csub;

	while (i < nold || j < ncur) {
		d = i >= nold	? 1
		    : j >= ncur ? -1
				: strcmp(old[i].name, cur[j].name);
		osub = d <= 0 ? old[i].subscribed : 0;
		csub = d >= 0 ? cur[j].subscribed : 0;
		if (osub != csub &&
		    ((notify_spec_covers(n, d <= 0 ? old[i].name : cur[j].name,
			  osub) |
			 notify_spec_covers(n,
			     d <= 0 ? old[i].name : cur[j].name, csub)) &
			NOTIFY_EV_SUBSCRIPTION))
			notify_send_list(s, d <= 0 ? old[i].name : cur[j].name,
			    d >= 0 ? &cur[j] : NULL, cur, ncur, NULL);
		if (d <= 0)
			i++;
		if (d >= 0)
			j++;
	}
}

/* notify_report_status - STATUS for covered mailboxes that changed */
static void
notify_report_status(struct imap_session *s, struct notify_mbox *old,
    size_t nold, struct notify_mbox *cur, size_t ncur)
{
	struct notify_mbox **oid, *o;
	size_t noid, i;
	uint32_t ev;

	oid = notify_by_id(old, nold, &noid);
	for (i = 0; i < ncur; i++) {
		ev = notify_mbox_events(s->notify, &cur[i]);
		if (ev == 0 || notify_is_selected(s, cur[i].id))
			continue;
		/* a mailbox that was not there: only if it has mail */
		o = notify_find_id(oid, noid, cur[i].id);
		if (o != NULL ? notify_status_due(o, &cur[i], ev)
			      : cur[i].uidnext > 1)
			notify_send_status(s, &cur[i], ev);
	}
	free(oid);
}

/* notify_keep_counts - absorbing: the client was told no counts, so keep
 * the old ones (by id) where there were */
static void
notify_keep_counts(struct notify_mbox *old, size_t nold,
    struct notify_mbox *cur, size_t ncur)
{
	struct notify_mbox **oid, *o;
	size_t noid, i;

	oid = notify_by_id(old, nold, &noid);
	for (i = 0; i < ncur; i++)
		if ((o = notify_find_id(oid, noid, cur[i].id)) != NULL) {
			cur[i].uidvalidity = o->uidvalidity;
			cur[i].messages = o->messages;
			cur[i].uidnext = o->uidnext;
			cur[i].modseq = o->modseq;
		}
	free(oid);
}

/* notify_overflow - the table outgrew its limit: NOTIFY ends (RFC 5465
 * section 5.8) */
static void
notify_overflow(struct imap_session *s)
{
	io_printf(s,
	    "* OK [NOTIFICATIONOVERFLOW] Too many mailboxes to "
	    "watch (limit %d); NOTIFY is off\r\n",
	    NOTIFY_MAX_MBOXES);
	log_info("notify overflow user=%s addr=%s limit=%d", s->user, s->addr,
	    NOTIFY_MAX_MBOXES);
	imapd_notify_free(s);
}

/* notify_refresh - compare the table with the store, report (or, when
 * absorbing, not) and take the store's state */
static void
notify_refresh(struct imap_session *s, int report)
{
	struct imap_notify *n = s->notify;
	struct table t;
	const char *err;

	if (table_read(s, n, &t, &err) < 0) {
		log_error("notify sync user=%s addr=%s: %s", s->user, s->addr,
		    err);
		return;
	}
	if (t.over) {
		notify_spec_mbox_free(t.mb, t.n);
		notify_overflow(s);
		return;
	}
	if (report && (n->list_events & NOTIFY_EV_MAILBOXNAME))
		notify_report_names(s, n->mb, n->nmb, t.mb, t.n);
	if (report && (n->list_events & NOTIFY_EV_SUBSCRIPTION))
		notify_report_subs(s, n->mb, n->nmb, t.mb, t.n);
	if (report)
		notify_report_status(s, n->mb, n->nmb, t.mb, t.n);
	else
		notify_keep_counts(n->mb, n->nmb, t.mb, t.n);
	notify_spec_mbox_free(n->mb, n->nmb);
	n->mb = t.mb;
	n->nmb = t.n;
	n->synced_ms = clock_mono_ms();
}

/* notify_new_fetch - MessageNew's fetch attributes for a new message */
static void
notify_new_fetch(struct imap_session *s, const struct store_msg *m,
    uint32_t msgno, void *ctx)
{
	struct buf out = BUF_INIT;
	struct fetch_msg fm = { msgno, m, 0, s->view.mboxid };
	const char *err;

	(void)ctx;
	fm.recent = s->view.msgs[msgno - 1].recent;
	if (fetch_render(s->notify->fetch, s->st, &fm, 0, s->condstore, &out,
		&err) == 0)
		io_put(s, out.data, out.len);
	else
		log_error("notify fetch user=%s uid=%u: %s", s->user, m->uid,
		    err);
	buf_free(&out);
}

/* notify_sync_selected - the selected mailbox between commands (idle:
 * inside IDLE, where expunges may always go) */
static void
notify_sync_selected(struct imap_session *s, int idle)
{
	struct imap_notify *n = s->notify;
	unsigned what = 0;

	if (n->sel_events & NOTIFY_EV_NEW)
		what = VIEW_SYNC_NEW |
		    (n->sel_events & NOTIFY_EV_FLAGS ? VIEW_SYNC_FLAGS : 0) |
		    (!n->sel_delayed || idle ? VIEW_SYNC_EXPUNGE : 0);
	view_sync_as(s, what, n->fetch ? notify_new_fetch : NULL, NULL);
}

void
imapd_notify_sync(struct imap_session *s, int how)
{
	struct imap_notify *n = s->notify;

	if (n == NULL || s->state == IMAP_S_LOGOUT ||
	    s->state == IMAP_S_NOTAUTH)
		return;
	if (how == IMAPD_SYNC_CMD) {
		if (clock_mono_ms() - n->synced_ms <
		    cfg_duration_ms("idle_poll"))
			return;
	} else if (s->state == IMAP_S_SELECTED) {
		notify_sync_selected(s, how == IMAPD_SYNC_IDLE);
		if (s->state == IMAP_S_LOGOUT)
			return;
	}
	if (n->ngroups > 0)
		notify_refresh(s, 1);
}

int
imapd_notify_set(struct imap_session *s, struct imap_notify *n, int status,
    const char **error_r)
{
	static char err[80];
	struct table t;
	size_t i;
	uint32_t ev;

	if (table_read(s, n, &t, error_r) < 0) {
		notify_spec_free(&n);
		return -1;
	}
	if (t.over) {
		notify_spec_mbox_free(t.mb, t.n);
		notify_spec_free(&n);
		(void)snprintf(err, sizeof(err),
		    "Too many mailboxes to watch "
		    "(limit %d)",
		    NOTIFY_MAX_MBOXES);
		*error_r = err;
		return -2;
	}
	n->mb = t.mb;
	n->nmb = t.n;
	imapd_notify_free(s);
	s->notify = n;
	for (i = 0; status && i < n->nmb; i++) {
		ev = notify_mbox_events(n, &n->mb[i]);
		if (ev != 0 && !notify_is_selected(s, n->mb[i].id))
			notify_send_status(s, &n->mb[i], ev);
	}
	n->synced_ms = clock_mono_ms();
	log_debug("notify user=%s addr=%s groups=%zu mailboxes=%zu", s->user,
	    s->addr, n->ngroups, n->nmb);
	return 0;
}

void
imapd_notify_absorb(struct imap_session *s)
{
	if (s->notify != NULL && s->notify->ngroups > 0)
		notify_refresh(s, 0);
}

/* notify_refuse - the session cannot be parked: say so once */
static int
notify_refuse(struct imap_session *s, const char *why, int limit)
{
	if (!s->notify->park_refused++)
		log_info("not parked user=%s addr=%s reason=%s limit=%d; "
			 "the worker keeps the session",
		    s->user, s->addr, why, limit);
	return -1;
}

/* notify_snap_selected - the selected mailbox's watch */
static int
notify_snap_selected(struct imap_session *s, struct snap *sn)
{
	struct imap_notify *n = s->notify;
	struct imap_view *v = &s->view;
	uint32_t ev;

	if (n == NULL)
		return snap_watch_add(sn, v->mboxid,
		    NOTIFY_EV_MESSAGE | NOTIFY_EV_MAILBOXNAME | SNAP_W_SELECTED,
		    v->smodseq);
	/*
	 * The watch starts where the last sync looked (smodseq); the view
	 * (sn->modseq) may be older when expunges are held back.  idled
	 * answers new mail itself only while the two agree, passes over
	 * what the watch does not ask for, and sends an IDLE it would start
	 * itself to a worker while anything is held.
	 */
	ev = n->sel_events & NOTIFY_MSGEV;
	if (n->sel_delayed && sn->kind != SNAP_K_IDLE)
		ev &= ~(uint32_t)NOTIFY_EV_EXPUNGE;
	return snap_watch_add(sn, v->mboxid,
	    ev | NOTIFY_EV_MAILBOXNAME | SNAP_W_SELECTED |
		(n->fetch ? SNAP_W_NEWFETCH : 0),
	    v->smodseq);
}

/* notify_user_events - what changes to the mailbox list wake s */
static uint32_t
notify_user_events(const struct imap_notify *n)
{
	uint32_t ev = n->list_events;
	size_t i;

	if (n->track_list)
		ev |= NOTIFY_EV_MAILBOXNAME;
	if (n->track_subs)
		ev |= NOTIFY_EV_SUBSCRIPTION;
	for (i = 0; i < n->ngroups; i++)
		if (n->groups[i].filter == NOTIFY_F_MAILBOXES &&
		    n->groups[i].events != 0)
			ev |= NOTIFY_EV_MAILBOXNAME; /* may be created */
	return ev;
}

int
imapd_notify_snap(struct imap_session *s, struct snap *sn)
{
	struct imap_notify *n = s->notify;
	size_t i;
	uint32_t ev;

	if (s->state == IMAP_S_SELECTED && notify_snap_selected(s, sn) < 0)
		return n ? notify_refuse(s, "too-many-watches", SNAP_MAX_WATCH)
			 : -1;
	if (n == NULL)
		return 0;
	sn->flags |= SNAP_F_NOTIFY;
	for (i = 0; i < n->nmb; i++) {
		ev = notify_mbox_events(n, &n->mb[i]);
		if (ev != 0 && !notify_is_selected(s, n->mb[i].id) &&
		    snap_watch_add(sn, n->mb[i].id, ev, n->mb[i].modseq) < 0)
			return notify_refuse(s, "too-many-watches",
			    SNAP_MAX_WATCH);
	}
	sn->user_events = notify_user_events(n);
	n->sel_mboxid = s->state == IMAP_S_SELECTED ? s->view.mboxid : 0;
	n->sel_smodseq = s->state == IMAP_S_SELECTED ? s->view.smodseq : 0;
	if (notify_spec_encode(n, &sn->notify_spec) < 0)
		return notify_refuse(s, "notify-spec-too-large", SNAP_MAX_SPEC);
	return 0;
}

int
imapd_notify_restore(struct imap_session *s, const struct snap *sn)
{
	struct imap_notify *n;
	const char *err;

	if (!(sn->flags & SNAP_F_NOTIFY))
		return 0;
	if (notify_spec_decode(sn->notify_spec.data, sn->notify_spec.len, &n) <
	    0) {
		log_warn("resume with a malformed NOTIFY state user=%s "
			 "addr=%s",
		    s->user, s->addr);
		return -1;
	}
	imapd_notify_free(s);
	s->notify = n;
	if (s->state == IMAP_S_SELECTED && n->sel_mboxid == s->view.mboxid &&
	    view_uncap(s, n->sel_smodseq, &err) != 0) {
		log_error("resume user=%s addr=%s: %s", s->user, s->addr, err);
		return -1;
	}
	return 0;
}

void
imapd_notify_free(struct imap_session *s)
{
	notify_spec_free(&s->notify);
}

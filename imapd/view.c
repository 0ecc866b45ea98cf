/*
 * view - the selected mailbox as the client sees it: message
 * numbers, flags and modseqs last reported.  view_sync compares the view
 * with the store and sends exactly the untagged EXPUNGE, EXISTS, RECENT
 * and FETCH responses that bring the client up to date.
 *
 * Cost: SELECT and a resumed session read the mailbox once, as compact
 * (uid, flags, modseq) records in one bulk cursor pass (view_cache: 24
 * bytes a message, the view keeps 24), or, when this worker kept the
 * records of that mailbox (a big one it selected or resumed before),
 * only what changed since they were read; a sync after a
 * change reads only what changed since the view's modseqs
 * (store_view_delta: records by modseq from a secondary index, the
 * messages above the view's last UID, the expunges since), never the
 * whole mailbox.  Invariants that make that exact: every message in the
 * view has its flags and modseq as of at least v->smodseq, and every
 * message expunged at or before v->modseq has left the view.
 */
#include "config.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "log.h"
#include "search_ctx.h"
#include "snap.h"
#include "view_cache.h"
#include "xalloc.h"

static void
view_push(struct imap_view *v, uint32_t uid, uint32_t flags, uint64_t modseq,
    int recent)
{
	if (v->n == v->size) {
		v->size = v->size ? v->size * 2 : 64;
		v->msgs = xreallocarray(v->msgs, v->size, sizeof(*v->msgs));
	}
	v->msgs[v->n].uid = uid;
	v->msgs[v->n].flags = flags;
	v->msgs[v->n].modseq = modseq;
	v->msgs[v->n].recent = recent != 0;
	v->msgs[v->n].gone = 0;
	v->n++;
}

/* view_kw_has - is the keyword w[0..l) in the list " a b c"? */
static int
view_kw_has(const struct buf *kw, const char *w, size_t l)
{
	const char *p = buf_cstr((struct buf *)kw), *q;

	for (q = p; (q = strchr(q, ' ')) != NULL; q++)
		if (strncasecmp(q + 1, w, l) == 0 &&
		    (q[1 + l] == ' ' || q[1 + l] == '\0'))
			return 1;
	return 0;
}

/* view_kw_add - add the keywords of kws the list lacks; 1 if any */
static int
view_kw_add(struct buf *kw, const char *kws)
{
	const char *p;
	size_t l;
	int any = 0;

	for (p = kws; *p; p += l) {
		while (*p == ' ')
			p++;
		l = strcspn(p, " ");
		if (l > 0 && !view_kw_has(kw, p, l)) {
			buf_putc(kw, ' ');
			buf_append(kw, p, l);
			any = 1;
		}
	}
	return any;
}

/* view_kw_cached - the keywords of vc's records with modseq up to upto
 * into kw (" a b") */
static void
view_kw_cached(struct buf *kw, const struct view_cache *vc, uint64_t upto)
{
	unsigned char *used = view_cache_kw_used(vc, upto);
	size_t i;

	buf_reset(kw);
	for (i = 0; i < vc->nkws; i++)
		if (used[i])
			view_kw_add(kw, vc->kws[i]);
	free(used);
}

void
view_keywords_put(struct imap_session *s)
{
	const char *kw = buf_cstr(&s->view.keywords);

	io_printf(s,
	    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
	    "\\Draft%s)\r\n",
	    kw);
	if (s->view.readonly)
		io_printf(s, "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
	else
		io_printf(s,
		    "* OK [PERMANENTFLAGS (\\Answered \\Flagged "
		    "\\Deleted \\Seen \\Draft%s \\*)] Flags permitted\r\n",
		    kw);
}

void
view_keywords_note(struct imap_session *s, const char *kws)
{
	if (kws != NULL && *kws && view_kw_add(&s->view.keywords, kws))
		view_keywords_put(s);
}

uint32_t
view_recent(struct imap_session *s)
{
	uint32_t n = 0;
	size_t i;

	for (i = 0; i < s->view.n; i++)
		n += s->view.msgs[i].recent;
	return n;
}

/* view_is_recent - is uid \Recent in this session (as it joins)? */
static int
view_is_recent(const struct imap_view *v, uint32_t uid)
{
	return uid > v->recent_lo && uid <= v->recent_hi;
}

/*
 * view_claim - mail nobody has seen as \Recent yet is this session's:
 * take it from the store's mark (one session only) and mark the messages
 * the view has of it; the rest are \Recent when they join.  The claimed
 * range continues the view's when no other session claimed in between;
 * otherwise it replaces it for messages still to join (those in the view
 * keep their mark).  1 if anything was claimed.
 */
static int
view_claim(struct imap_session *s, const struct store_mbox *mb)
{
	struct imap_view *v = &s->view;
	uint32_t old, new;
	const char *err;
	size_t i;

	if (v->readonly || s->rev2 || mb->recentuid + 1 >= mb->uidnext)
		return 0;
	if (store_claim_recent(s->st, v->mboxid, &old, &new, &err) != 0) {
		log_error("recent claim user=%s mailbox=%s: %s", s->user,
		    v->name, err);
		return 0;
	}
	if (new <= old)
		return 0;
	if (old != v->recent_hi)
		v->recent_lo = old;
	v->recent_hi = new;
	for (i = 0; i < v->n; i++)
		if (view_is_recent(v, v->msgs[i].uid))
			v->msgs[i].recent = 1;
	return 1;
}

int
view_open(struct imap_session *s, const char *name, int readonly,
    struct store_mbox *mb_r, uint32_t *nrecent_r, const char **error_r)
{
	struct imap_view *v = &s->view;
	struct view_cache *vc;
	struct store_mbox mb;
	uint32_t oldrecent, newrecent;
	size_t n, i;
	int r;

	view_close(s);
	r = store_mbox_get(s->st, s->user, name, &mb, error_r);
	if (r != 0)
		return r;
	if (mb.attrs & STORE_MBOX_NOSELECT) {
		*error_r = "mailbox cannot be selected";
		return STORE_ENOENT;
	}
	/* SELECT takes what nobody has seen; EXAMINE shows it, but leaves
	 * it to the next SELECT (RFC 3501 6.3.2) */
	if (s->rev2) {
		/* IMAP4rev2 has no \Recent: take none, show none */
		oldrecent = newrecent = 0;
	} else if (readonly) {
		oldrecent = mb.recentuid;
		newrecent = UINT32_MAX;
	} else if (store_claim_recent(s->st, mb.id, &oldrecent, &newrecent,
		       error_r) != 0) {
		return -1;
	}
	if ((vc = view_cache_get(s, mb.id, &mb, &r, error_r)) == NULL)
		return r;
	view_kw_cached(&v->keywords, vc, UINT64_MAX);
	n = vc->n;
	v->mboxid = mb.id;
	v->name = xstrdup(name);
	v->readonly = readonly;
	v->uidvalidity = mb.uidvalidity;
	v->modseq = v->smodseq = mb.highestmodseq;
	v->recent_lo = oldrecent;
	v->recent_hi = newrecent;
	*nrecent_r = 0;
	/* one allocation of the final size */
	v->msgs = xreallocarray(NULL, n ? n : 1, sizeof(*v->msgs));
	v->size = n ? n : 1;
	for (i = 0; i < n; i++) {
		const struct view_cache_rec *m = &vc->recs[i];
		int recent = view_is_recent(v, m->uid);

		view_push(v, m->uid, m->flags, m->modseq, recent);
		*nrecent_r += (uint32_t)recent;
	}
	view_cache_put(&vc);
	*mb_r = mb;
	s->state = IMAP_S_SELECTED;
	return 0;
}

void
view_recent_drop(struct imap_session *s)
{
	size_t i;

	s->view.recent_lo = s->view.recent_hi = 0;
	for (i = 0; i < s->view.n; i++)
		s->view.msgs[i].recent = 0;
}

void
view_close(struct imap_session *s)
{
	free(s->view.msgs);
	free(s->view.name);
	buf_free(&s->view.keywords);
	free(s->view.saved);
	search_ctx_free(s);
	memset(&s->view, 0, sizeof(s->view));
	if (s->state == IMAP_S_SELECTED)
		s->state = IMAP_S_AUTH;
}

void
view_put_uids(struct buf *out, const uint32_t *uids, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && uids[j] == uids[j - 1] + 1; j++)
			;
		buf_printf(out, "%s%u", i ? "," : "", uids[i]);
		if (j - i > 1)
			buf_printf(out, ":%u", uids[j - 1]);
	}
}

/* view_emit_vanished - QRESYNC: one VANISHED for the gone messages */
static void
view_emit_vanished(struct imap_session *s)
{
	struct imap_view *v = &s->view;
	struct buf line = BUF_INIT;
	uint32_t *uids = xcalloc(v->n + 1, sizeof(*uids));
	size_t i, k = 0;

	for (i = 0; i < v->n; i++)
		if (v->msgs[i].gone)
			uids[k++] = v->msgs[i].uid;
	if (k > 0) {
		view_put_uids(&line, uids, k);
		io_printf(s, "* VANISHED %s\r\n", buf_cstr(&line));
	}
	buf_free(&line);
	free(uids);
}

int
view_vanished_earlier(struct imap_session *s, const char *set,
    const char *known, uint64_t modseq)
{
	struct imapp_seqset ss, ks;
	struct buf line = BUF_INIT;
	uint32_t *ex;
	const char *err;
	size_t nex, i, k = 0;
	int r = 0;

	memset(&ss, 0, sizeof(ss));
	memset(&ks, 0, sizeof(ks));
	if ((set != NULL &&
		(imapp_seqset_parse(set, UINT32_MAX, &ss) < 0 || ss.dollar)) ||
	    (known != NULL &&
		(imapp_seqset_parse(known, UINT32_MAX, &ks) < 0 ||
		    ks.dollar))) {
		r = -1;
		goto out;
	}
	if (store_expunged_since(s->st, s->view.mboxid, modseq, &ex, &nex,
		&err) != 0) {
		log_error("vanished user=%s mailbox=%s: %s", s->user,
		    s->view.name, err);
		goto out;
	}
	/* a UID still in the view goes out as VANISHED when it is gone */
	for (i = 0; i < nex; i++)
		if ((set == NULL || imapp_seqset_contains(&ss, ex[i])) &&
		    (known == NULL || imapp_seqset_contains(&ks, ex[i])) &&
		    view_msgno(s, ex[i]) == 0)
			ex[k++] = ex[i];
	if (k > 0) {
		view_put_uids(&line, ex, k);
		io_printf(s, "* VANISHED (EARLIER) %s\r\n", buf_cstr(&line));
	}
	free(ex);
out:
	imapp_seqset_free(&ss);
	imapp_seqset_free(&ks);
	buf_free(&line);
	return r;
}

/* view_emit_expunges - EXPUNGE for every gone message, highest first so
 * that each number is right when the client applies it (QRESYNC: one
 * VANISHED) */
static void
view_emit_expunges(struct imap_session *s)
{
	struct imap_view *v = &s->view;
	size_t i, o;

	/* RFC 5267 4.3.4: REMOVEFROM by the numbers before the EXPUNGE */
	search_ctx_expunge(s);
	if (s->qresync)
		view_emit_vanished(s);
	for (i = v->n; i > 0 && !s->qresync; i--)
		if (v->msgs[i - 1].gone)
			io_printf(s, "* %zu EXPUNGE\r\n", i);
	for (i = o = 0; i < v->n; i++)
		if (!v->msgs[i].gone)
			v->msgs[o++] = v->msgs[i];
	v->n = o;
}

/* view_mark_gone - mark the view's messages among the expunged UIDs
 * ex[0..n) (ascending); 1 if the view holds any gone message.  ex are
 * all expunged since v->modseq, so the view's gone messages are among
 * them. */
static int
view_mark_gone(struct imap_session *s, const uint32_t *ex, size_t n)
{
	struct imap_view *v = &s->view;
	uint32_t no;
	size_t j;
	int any = 0;

	for (j = 0; j < n; j++)
		if ((no = view_msgno(s, ex[j])) != 0) {
			v->msgs[no - 1].gone = 1;
			any = 1;
		}
	return any;
}

/* view_flag_changes - FETCH for messages whose flags changed (or, without
 * report, take the new flags silently); ch[0..n) ascend by UID */
static void
view_flag_changes(struct imap_session *s, const struct store_vmsg *ch, size_t n,
    int report)
{
	struct imap_view *v = &s->view;
	struct buf line = BUF_INIT;
	struct view_msg *vm;
	uint32_t no;
	size_t j;

	for (j = 0; j < n; j++) {
		if ((no = view_msgno(s, ch[j].uid)) == 0)
			continue;
		vm = &v->msgs[no - 1];
		if (ch[j].modseq == vm->modseq || vm->gone)
			continue;
		if (report) {
			view_keywords_note(s, ch[j].keywords);
			buf_reset(&line);
			imap_flags_put(&line, ch[j].flags, ch[j].keywords,
			    vm->recent);
			io_printf(s, "* %u FETCH (UID %u FLAGS %s", no,
			    ch[j].uid, buf_cstr(&line));
			if (s->condstore)
				io_printf(s, " MODSEQ (%llu)",
				    (unsigned long long)ch[j].modseq);
			io_printf(s, ")\r\n");
		}
		vm->flags = ch[j].flags;
		vm->modseq = ch[j].modseq;
	}
	buf_free(&line);
}

/*
 * view_new_limit - while expunges are held back (v->modseq stays where
 * the client last saw them all), a snapshot rebuilds the view as every
 * UID up to the view's last that is present or was expunged after
 * v->modseq (view_rebuild).  A message added after v->modseq and expunged
 * before this session saw it must therefore stay above the view's last
 * UID: new messages are added only below the first such UID.  ex[0..n)
 * are the UIDs expunged since v->modseq, ascending.
 */
static uint32_t
view_new_limit(const struct imap_view *v, const uint32_t *ex, size_t n)
{
	uint32_t last = v->n ? v->msgs[v->n - 1].uid : 0;
	size_t j;

	for (j = 0; j < n; j++)
		if (ex[j] > last)
			return ex[j];
	return UINT32_MAX;
}

#define VIEW_NEW_BATCH 256 /* records read at once for new_fn */

/* view_new_report - new_fn for the view's messages from..v->n, with
 * their full records read a batch at a time */
static void
view_new_report(struct imap_session *s, size_t from, view_new_fn *new_fn,
    void *ctx)
{
	struct imap_view *v = &s->view;
	uint32_t uids[VIEW_NEW_BATCH];
	struct store_msg *recs;
	const char *err;
	size_t i, k, n, got;

	for (i = from; i < v->n; i += n) {
		n = v->n - i < VIEW_NEW_BATCH ? v->n - i : VIEW_NEW_BATCH;
		for (k = 0; k < n; k++)
			uids[k] = v->msgs[i + k].uid;
		if (store_msg_get_uids(s->st, v->mboxid, uids, n, &recs, &got,
			&err) != 0) {
			log_error("view sync user=%s mailbox=%s: %s", s->user,
			    v->name, err);
			return;
		}
		for (k = 0; k < got; k++)
			new_fn(s, &recs[k], view_msgno(s, recs[k].uid), ctx);
		free(recs);
	}
}

/* view_add_new - messages above the view's last UID and below limit:
 * EXISTS, RECENT if the view had nrecent \Recent before, then new_fn for
 * each; 1 if any */
static int
view_add_new(struct imap_session *s, const struct store_vmsg *add, size_t n,
    uint32_t limit, uint32_t nrecent, view_new_fn *new_fn, void *ctx)
{
	struct imap_view *v = &s->view;
	size_t j, before = v->n;

	for (j = 0; j < n && add[j].uid < limit; j++)
		if (v->n == 0 || add[j].uid > v->msgs[v->n - 1].uid) {
			view_push(v, add[j].uid, add[j].flags, add[j].modseq,
			    view_is_recent(v, add[j].uid));
			/* the mailbox's keywords grow with it */
			view_keywords_note(s, add[j].keywords);
		}
	if (v->n == before)
		return 0;
	io_printf(s, "* %zu EXISTS\r\n", v->n);
	if (view_recent(s) != nrecent)
		io_printf(s, "* %u RECENT\r\n", view_recent(s));
	if (new_fn != NULL)
		view_new_report(s, before, new_fn, ctx);
	return 1;
}

void
view_sync(struct imap_session *s, int allow_expunge)
{
	view_sync_as(s,
	    VIEW_SYNC_NEW | VIEW_SYNC_FLAGS |
		(allow_expunge ? VIEW_SYNC_EXPUNGE : 0),
	    NULL, NULL);
}

/* view_sync_run - view_sync_as but for the contexts */
static void
view_sync_run(struct imap_session *s, unsigned what, view_new_fn *new_fn,
    void *ctx)
{
	struct imap_view *v = &s->view;
	struct store_view_delta d;
	struct store_mbox mb;
	const char *err;
	uint32_t nrecent, last;
	int r, anygone, claimed,
	    allow_expunge = (what & VIEW_SYNC_EXPUNGE) != 0;

	r = store_mbox_get(s->st, s->user, v->name, &mb, &err);
	if (r != 0 || mb.id != v->mboxid) {
		/* deleted or renamed under us */
		io_printf(s,
		    "* BYE Selected mailbox was deleted or renamed\r\n");
		s->state = IMAP_S_LOGOUT;
		return;
	}
	if (!(what & VIEW_SYNC_NEW))
		return; /* nothing to report but that */
	/* new mail nobody has seen is this session's \Recent (also mail
	 * idled announced with EXISTS while the session was parked) */
	nrecent = view_recent(s);
	claimed = view_claim(s, &mb);
	if (mb.highestmodseq == v->modseq ||
	    (mb.highestmodseq == v->smodseq && !allow_expunge)) {
		/* nothing new; or only expunges, held back */
		if (mb.highestmodseq == v->modseq && allow_expunge)
			view_emit_expunges(s);
		if (claimed && view_recent(s) != nrecent)
			io_printf(s, "* %u RECENT\r\n", view_recent(s));
		return;
	}
	/* what changed since the view last read, what came above its last
	 * UID, and what went since the client saw every expunge */
	last = v->n ? v->msgs[v->n - 1].uid : 0;
	if (store_view_delta(s->st, v->mboxid, v->smodseq, v->modseq, last, &d,
		&err) != 0) {
		log_error("view sync user=%s mailbox=%s: %s", s->user, v->name,
		    err);
		return;
	}
	/* first what is gone, so that the FETCH numbers below are those
	 * after the EXPUNGEs */
	anygone = view_mark_gone(s, d.expunged, d.nexpunged);
	if (anygone && allow_expunge) {
		view_emit_expunges(s);
		anygone = 0;
	}
	view_flag_changes(s, d.changed, d.nchanged,
	    (what & VIEW_SYNC_FLAGS) != 0);
	if (!view_add_new(s, d.added, d.nadded,
		anygone ? view_new_limit(v, d.expunged, d.nexpunged)
			: UINT32_MAX,
		nrecent, new_fn, ctx) &&
	    claimed && view_recent(s) != nrecent)
		io_printf(s, "* %u RECENT\r\n", view_recent(s));
	/* held expunges: the client's view is as of v->modseq still */
	v->modseq = anygone ? v->modseq : d.mb.highestmodseq;
	v->smodseq = d.mb.highestmodseq;
	store_view_delta_free(&d);
}

void
view_sync_as(struct imap_session *s, unsigned what, view_new_fn *new_fn,
    void *ctx)
{
	view_sync_run(s, what, new_fn, ctx);
	/* RFC 5267 4.3.3: ADDTO once the EXISTS went out */
	if (s->state == IMAP_S_SELECTED && (what & VIEW_SYNC_NEW))
		search_ctx_sync(s);
}

int
view_uncap(struct imap_session *s, uint64_t smodseq, const char **error_r)
{
	struct imap_view *v = &s->view;
	struct store_view_delta d;
	struct view_msg *vm;
	uint32_t no;
	size_t j;
	int r;

	if (smodseq <= v->smodseq)
		return 0;
	/* only the messages above the view's last UID beside the changes:
	 * none of them is read but as a record of the range */
	if ((r = store_view_delta(s->st, v->mboxid, v->smodseq, UINT64_MAX,
		 v->n ? v->msgs[v->n - 1].uid : 0, &d, error_r)) != 0)
		return r;
	for (j = 0; j < d.nchanged; j++) {
		if (d.changed[j].modseq > smodseq ||
		    (no = view_msgno(s, d.changed[j].uid)) == 0)
			continue;
		vm = &v->msgs[no - 1];
		vm->flags = d.changed[j].flags;
		vm->modseq = d.changed[j].modseq;
	}
	store_view_delta_free(&d);
	v->smodseq = smodseq;
	return 0;
}

uint32_t
view_msgno(struct imap_session *s, uint32_t uid)
{
	struct imap_view *v = &s->view;
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v->msgs[mid].uid == uid)
			return (uint32_t)mid + 1;
		if (v->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int
view_uids(struct imap_session *s, const char *set, int uid, uint32_t **uids_r,
    size_t *n_r)
{
	struct imap_view *v = &s->view;
	struct imapp_seqset ss;
	uint32_t star =
	    uid ? (v->n ? v->msgs[v->n - 1].uid : 0) : (uint32_t)v->n;
	size_t i;

	*uids_r = NULL;
	*n_r = 0;
	if (strcmp(set, "$") == 0) {
		/* SEARCHRES: the saved UIDs still in the view */
		for (i = 0; i < v->nsaved; i++)
			if (view_msgno(s, v->saved[i]) != 0) {
				*uids_r = xreallocarray(*uids_r, *n_r + 1,
				    sizeof(**uids_r));
				(*uids_r)[(*n_r)++] = v->saved[i];
			}
		return 0;
	}
	if (imapp_seqset_parse(set, star ? star : (uid ? UINT32_MAX : 0), &ss) <
		0 ||
	    ss.dollar) {
		imapp_seqset_free(&ss);
		return -1;
	}
	if (!uid && v->n == 0) {
		imapp_seqset_free(&ss);
		return 0; /* "1:*" on an empty mailbox */
	}
	if (!uid) {
		/* message numbers must exist (RFC 3501 9: seq-number) */
		for (i = 0; i < ss.n; i++)
			if (ss.ranges[i].hi > v->n || ss.ranges[i].lo == 0) {
				imapp_seqset_free(&ss);
				return -1;
			}
	}
	/* a message expunged but not yet reported is still the client's
	 * (RFC 3501 7.4.1): its number and UID stay valid until then */
	for (i = 0; i < v->n; i++) {
		if (imapp_seqset_contains(&ss,
			uid ? v->msgs[i].uid : (uint32_t)i + 1)) {
			*uids_r =
			    xreallocarray(*uids_r, *n_r + 1, sizeof(**uids_r));
			(*uids_r)[(*n_r)++] = v->msgs[i].uid;
		}
	}
	imapp_seqset_free(&ss);
	return 0;
}

int
view_rebuild(struct imap_session *s, const struct snap *sn,
    const char **error_r)
{
	struct imap_view *v = &s->view;
	const struct view_cache_rec *msgs;
	struct view_cache *vc;
	struct store_mbox mb;
	uint32_t *ex;
	size_t n, nex, i = 0, j = 0;
	int r;

	view_close(s);
	/* the mailbox as the store has it now: this worker's copy brought
	 * up to date from what changed since, or listed */
	if ((vc = view_cache_get(s, sn->mboxid, &mb, &r, error_r)) == NULL)
		return r;
	if (mb.uidvalidity != sn->uidvalidity) {
		view_cache_put(&vc);
		*error_r = "UIDVALIDITY changed";
		return -1;
	}
	if ((r = store_expunged_since(s->st, sn->mboxid, sn->modseq, &ex, &nex,
		 error_r)) != 0) {
		view_cache_put(&vc);
		return r;
	}
	/* the keywords the client was told of: those of messages it knew
	 * as they were; the others it is told of now */
	view_kw_cached(&v->keywords, vc, sn->modseq);
	msgs = vc->recs;
	n = vc->n;
	/* merge present and expunged UIDs the client knew, by UID */
	while (i < n || j < nex) {
		int take_msg = j >= nex || (i < n && msgs[i].uid < ex[j]);

		if (take_msg) {
			if (msgs[i].uid <= sn->maxuid)
				/* changed since: differs, so sync reports
				 * it */
				view_push(v, msgs[i].uid, msgs[i].flags,
				    msgs[i].modseq > sn->modseq
					? sn->modseq
					: msgs[i].modseq,
				    msgs[i].uid > sn->recent_lo &&
					msgs[i].uid <= sn->recent_hi);
			i++;
		} else if (i < n && msgs[i].uid == ex[j]) {
			/* expunged between the two reads: still present for
			 * the client; the sync below reports the EXPUNGE */
			j++;
		} else {
			if (ex[j] <= sn->maxuid)
				view_push(v, ex[j], 0, 0, 0);
			j++;
		}
	}
	log_debug("view rebuilt user=%s mailbox=%s messages=%zu cached=%s "
		  "expunged=%zu",
	    s->user, sn->mailbox, n, vc->hit ? "yes" : "no", nex);
	view_cache_put(&vc);
	free(ex);
	v->mboxid = sn->mboxid;
	v->name = xstrdup(sn->mailbox);
	v->readonly = (sn->flags & SNAP_F_READONLY) != 0;
	v->uidvalidity = sn->uidvalidity;
	v->modseq = v->smodseq = sn->modseq;
	v->recent_lo = sn->recent_lo;
	v->recent_hi = sn->recent_hi;
	s->state = IMAP_S_SELECTED;
	return 0;
}

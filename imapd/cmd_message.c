/*
 * cmd_message - FETCH, STORE, COPY and MOVE (and their UID forms) on the
 * selected mailbox, and the matching that SEARCH, SORT and THREAD share
 * (cmd_search_hits; SEARCH itself: cmd_search.c).
 */
#include "config.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "imapd_cmd.h"
#include "fetch.h"
#include "search.h"
#include "search_fts.h"
#include "log.h"
#include "xalloc.h"

/* cmd_records - the store's records of the selected mailbox: of uids
 * (ascending) only: one cursor range when they are dense (at most twice
 * their number read), else one lookup each; NULL uids: all */
static int
cmd_records(struct imap_session *s, const uint32_t *uids, size_t nuids,
    struct store_msg **msgs, size_t *n, const char **err)
{
	struct store_mbox mb;

	if (uids != NULL && nuids == 0) {
		*msgs = NULL;
		*n = 0;
		return 0;
	}
	if (uids != NULL && uids[nuids - 1] - uids[0] < 2 * nuids)
		return store_msg_range(s->st, s->view.mboxid, uids[0],
		    uids[nuids - 1], 0, msgs, n, err);
	if (uids != NULL)
		return store_msg_get_uids(s->st, s->view.mboxid, uids, nuids,
		    msgs, n, err);
	return store_msg_list(s->st, s->view.mboxid, &mb, msgs, n, err);
}

/* records a FETCH reads at once: its memory stays a batch's whatever
 * the mailbox (about 1 KB a record) */
#define CMD_FETCH_BATCH 256

static struct store_msg *
cmd_find(struct store_msg *msgs, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (msgs[mid].uid == uid)
			return &msgs[mid];
		if (msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* cmd_find_next - cmd_find for UIDs asked in ascending order: the
 * record after the last one found (*k) is tried first, so that a walk
 * of 1:* costs no search a message */
static struct store_msg *
cmd_find_next(struct store_msg *msgs, size_t n, uint32_t uid, size_t *k)
{
	struct store_msg *m;

	if (*k < n && msgs[*k].uid == uid)
		m = &msgs[*k];
	else if ((m = cmd_find(msgs, n, uid)) == NULL)
		return NULL;
	*k = (size_t)(m - msgs) + 1;
	return m;
}

/* cmd_msgno_next - view_msgno for UIDs asked in ascending order: the
 * view's message after the last one found (*k) is tried first */
static uint32_t
cmd_msgno_next(struct imap_session *s, uint32_t uid, size_t *k)
{
	uint32_t no;

	if (*k < s->view.n && s->view.msgs[*k].uid == uid)
		no = (uint32_t)*k + 1;
	else if ((no = view_msgno(s, uid)) == 0)
		return 0;
	*k = no;
	return no;
}

/* cmd_view_note_at - the client now knows the flags of message no (0:
 * not in the view) */
static void
cmd_view_note_at(struct imap_session *s, uint32_t no, const struct store_msg *m)
{
	if (no) {
		s->view.msgs[no - 1].flags = m->flags;
		s->view.msgs[no - 1].modseq = m->modseq;
	}
}

/* cmd_view_note - the client now knows this record's flags */
static void
cmd_view_note(struct imap_session *s, const struct store_msg *m)
{
	cmd_view_note_at(s, view_msgno(s, m->uid), m);
}

static int
cmd_set_arg(struct imap_cmd *cmd, uint32_t **uids, size_t *n)
{
	if (cmd->nargs < 1 || cmd->args[0].type != IMAPP_ATOM ||
	    view_uids(cmd->s, cmd->args[0].str, cmd->uid, uids, n) < 0) {
		imap_bad(cmd, "Invalid sequence set");
		return -1;
	}
	return 0;
}

/* cmd_fetch_batch - FETCH of uids[0..n) (ascending): their records in
 * one read, \Seen set in one transaction, then each response; -1 when
 * the records cannot be read */
static int
cmd_fetch_batch(struct imap_session *s, const struct fetch_req *req,
    const uint32_t *uids, size_t n, int setseen, size_t *missed, size_t *cte)
{
	struct store_msg *msgs = NULL, *m;
	struct fetch_msg fm;
	uint32_t *seen = NULL;
	size_t nm, i, nseen = 0, ks = 0, km = 0, kv = 0;
	int r;
	const char *err;

	if (cmd_records(s, uids, n, &msgs, &nm, &err) != 0) {
		log_error("fetch user=%s mailbox=%s: %s", s->user, s->view.name,
		    err);
		return -1;
	}
	if (setseen) {
		/* \Seen first, in one transaction, then report it */
		seen = xcalloc(n + 1, sizeof(*seen));
		for (i = 0; i < n; i++)
			if ((m = cmd_find(msgs, nm, uids[i])) != NULL &&
			    !(m->flags & STORE_F_SEEN))
				seen[nseen++] = uids[i];
		if (nseen > 0) {
			struct store_msg *res = xcalloc(nseen, sizeof(*res));

			if (store_set_flags(s->st, s->view.mboxid, seen, nseen,
				STORE_FLAGS_ADD, STORE_F_SEEN, NULL, 0, res,
				NULL, NULL, &err) == 0) {
				for (i = 0; i < nseen; i++) {
					m = cmd_find(msgs, nm, seen[i]);
					if (m != NULL && res[i].uid)
						*m = res[i];
				}
			}
			free(res);
		}
	}
	for (i = 0; i < n; i++) {
		struct store_msg gone;
		int forced;

		if ((m = cmd_find_next(msgs, nm, uids[i], &km)) == NULL) {
			/* expunged, and this session not told yet: the
			 * message as it was (RFC 3501 7.4.1) */
			if ((r = store_msg_expunged(s->st, s->view.mboxid,
				 uids[i], &gone, &err)) != 0) {
				log_error("fetch user=%s mailbox=%s uid=%u: %s",
				    s->user, s->view.name, uids[i],
				    r == STORE_ENOENT
					? "expunged, no record kept"
					: err);
				(*missed)++;
				continue;
			}
			m = &gone;
		}
		if (m->modseq <= fetch_changedsince(req))
			continue;
		fm.msgno = cmd_msgno_next(s, uids[i], &kv);
		fm.rec = m;
		fm.recent = s->view.msgs[fm.msgno - 1].recent;
		fm.mboxid = s->view.mboxid;
		/* seen[] is in the (ascending) order of uids[]: a cursor, not
		 * a scan of seen[] for every message (n^2 on 1:*) */
		while (ks < nseen && seen[ks] < uids[i])
			ks++;
		forced = ks < nseen && seen[ks] == uids[i];
		if (forced || fetch_wants_flags(req))
			view_keywords_note(s, m->keywords);
		if ((r = fetch_render(req, s->st, &fm, forced, s->condstore,
			 &s->out, &err)) == FETCH_EUNKNOWNCTE) {
			(*cte)++;
			continue;
		}
		if (r < 0) {
			log_error("fetch user=%s mailbox=%s uid=%u: %s",
			    s->user, s->view.name, uids[i], err);
			(*missed)++;
			continue;
		}
		cmd_view_note_at(s, fm.msgno, m);
		if (s->out.len > 256 * 1024)
			io_flush(s);
	}
	free(seen);
	free(msgs);
	return 0;
}

/* cmd_fetch_changed - CHANGEDSINCE: keep of uids[0..*n) (ascending)
 * those changed or expunged since `since`, read from the store's modseq
 * order: the cost of the change, not of the mailbox */
static int
cmd_fetch_changed(struct imap_session *s, uint64_t since, uint32_t *uids,
    size_t *n)
{
	struct store_view_delta d;
	const char *err;
	size_t i, j = 0, k = 0, o = 0;

	if (store_view_delta(s->st, s->view.mboxid, since, since, UINT32_MAX,
		&d, &err) != 0) {
		log_error("fetch user=%s mailbox=%s: %s", s->user, s->view.name,
		    err);
		return -1;
	}
	/* both lists ascend: a merge */
	for (i = 0; i < *n; i++) {
		while (j < d.nchanged && d.changed[j].uid < uids[i])
			j++;
		while (k < d.nexpunged && d.expunged[k] < uids[i])
			k++;
		if ((j < d.nchanged && d.changed[j].uid == uids[i]) ||
		    (k < d.nexpunged && d.expunged[k] == uids[i]))
			uids[o++] = uids[i];
	}
	*n = o;
	store_view_delta_free(&d);
	return 0;
}

void
cmd_fetch(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct fetch_req *req;
	uint32_t *uids = NULL;
	size_t n, b, nb, missed = 0, cte = 0;
	const char *err;
	int setseen;

	if (cmd_set_arg(cmd, &uids, &n) < 0)
		return;
	if (cmd->nargs < 2) {
		imap_bad(cmd, "FETCH needs attributes");
		goto out;
	}
	if ((req = fetch_parse(cmd->args + 1, cmd->nargs - 1, cmd->uid,
		 &err)) == NULL) {
		imap_bad(cmd, "%s", err);
		goto out;
	}
	if (fetch_vanished(req) && (!cmd->uid || !s->qresync)) {
		imap_bad(cmd, "VANISHED needs UID FETCH and ENABLE QRESYNC");
		fetch_free(&req);
		goto out;
	}
	if (fetch_prange(req) != NULL && !cmd->uid) {
		/* RFC 9394 3.3 extends UID FETCH only */
		imap_bad(cmd, "PARTIAL is a UID FETCH modifier");
		fetch_free(&req);
		goto out;
	}
	if (fetch_wants_modseq(req))
		s->condstore = 1;
	/* RFC 7162 3.2.6: what of the set went away since, first */
	if (fetch_vanished(req))
		view_vanished_earlier(s, cmd->args[0].str, NULL,
		    fetch_changedsince(req));
	fetch_stream(req, s, io_flush);
	if (fetch_changedsince(req) > 0 &&
	    cmd_fetch_changed(s, fetch_changedsince(req), uids, &n) < 0) {
		imap_no(cmd, "[SERVERBUG] Cannot read the mailbox");
		fetch_free(&req);
		goto out;
	}
	if (fetch_prange(req) != NULL) {
		/* RFC 9394 3.3: the positions asked of what is left */
		prange_span(fetch_prange(req), n, &b, &nb);
		if (b > 0)
			memmove(uids, uids + b, (nb - b) * sizeof(*uids));
		n = nb - b;
	}
	setseen = fetch_sets_seen(req) && !s->view.readonly;
	for (b = 0; b < n && !s->dead; b += nb) {
		nb = n - b < CMD_FETCH_BATCH ? n - b : CMD_FETCH_BATCH;
		if (cmd_fetch_batch(s, req, uids + b, nb, setseen, &missed,
			&cte) < 0) {
			imap_no(cmd, "[SERVERBUG] Cannot read the mailbox");
			fetch_free(&req);
			goto out;
		}
	}
	/* RFC 3516 4.3: an encoding berth cannot undo fails the command */
	if (cte > 0)
		imap_no(cmd,
		    "[UNKNOWN-CTE] Cannot decode the part's "
		    "content-transfer-encoding");
	else if (missed > 0 && !cmd->uid)
		imap_no(cmd,
		    "[EXPUNGEISSUED] Some messages could not be "
		    "fetched");
	else
		imap_ok(cmd, "FETCH completed");
	fetch_free(&req);
out:
	free(uids);
}

/* cmd_store_expect - the system flags a client expects after op */
static uint32_t
cmd_store_expect(uint32_t had, enum store_flag_op op, uint32_t flags)
{
	if (op == STORE_FLAGS_ADD)
		return had | flags;
	if (op == STORE_FLAGS_REMOVE)
		return had & ~flags;
	return flags;
}

/* UIDs a STORE changes in one transaction: its memory (about 1 KB a
 * message of results) and its transaction stay a batch's whatever the
 * mailbox; 112 MB and one transaction of every record at 100,000 */
#define CMD_STORE_BATCH 4096

/* cmd_store_batch - the flags of uids[0..n) in one transaction, results
 * into res, the UIDs UNCHANGEDSINCE kept added to *failed */
static int
cmd_store_batch(struct imap_session *s, const uint32_t *uids, size_t n,
    enum store_flag_op op, uint32_t flags, struct buf *kw, uint64_t unchanged,
    struct store_msg *res, uint32_t **failed, size_t *nfailed, const char **err)
{
	uint32_t *f = NULL;
	size_t nf = 0;

	if (store_set_flags(s->st, s->view.mboxid, uids, n, op, flags,
		kw->len ? buf_cstr(kw) : NULL, unchanged, res, &f, &nf,
		err) != 0)
		return -1;
	if (nf > 0) {
		*failed =
		    xreallocarray(*failed, *nfailed + nf, sizeof(**failed));
		memcpy(*failed + *nfailed, f, nf * sizeof(*f));
		*nfailed += nf;
	}
	free(f);
	return 0;
}

/* cmd_store_report - the untagged FETCH of each changed message of
 * res[0..n) the client is to see */
static void
cmd_store_report(struct imap_cmd *cmd, const struct store_msg *res, size_t n,
    enum store_flag_op op, uint32_t flags, int silent, struct buf *lbuf)
{
	struct imap_session *s = cmd->s;
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t no;
		int show;

		if (res[i].uid == 0 || (no = view_msgno(s, res[i].uid)) == 0)
			continue;
		/* .SILENT: no FLAGS, unless others changed the system flags
		 * meanwhile (what the client can work out differs from what
		 * is); the new MODSEQ still goes (RFC 7162 3.2) */
		show = !silent ||
		    cmd_store_expect(s->view.msgs[no - 1].flags, op, flags) !=
			res[i].flags;
		if (show)
			view_keywords_note(s, res[i].keywords);
		if (show ||
		    (s->condstore &&
			s->view.msgs[no - 1].modseq != res[i].modseq)) {
			io_printf(s, "* %u FETCH (", no);
			if (cmd->uid || !show)
				io_printf(s, "UID %u ", res[i].uid);
			if (show) {
				buf_reset(lbuf);
				imap_flags_put(lbuf, res[i].flags,
				    res[i].keywords,
				    s->view.msgs[no - 1].recent);
				io_printf(s, "FLAGS %s%s", buf_cstr(lbuf),
				    s->condstore ? " " : "");
			}
			if (s->condstore)
				io_printf(s, "MODSEQ (%llu)",
				    (unsigned long long)res[i].modseq);
			io_printf(s, ")\r\n");
		}
		cmd_view_note(s, &res[i]);
	}
}

void
cmd_store(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct buf kw = BUF_INIT, line = BUF_INIT;
	struct store_msg *res = NULL;
	enum store_flag_op op;
	uint32_t *uids = NULL, *failed = NULL, flags;
	uint64_t unchanged = 0;
	size_t n, nfailed = 0, i, ai = 1, b, nb;
	const char *item, *err;
	int silent, conditional = 0;

	if (cmd_set_arg(cmd, &uids, &n) < 0)
		return;
	if (s->view.readonly) {
		imap_no(cmd, "[READ-ONLY] Mailbox is read-only");
		goto out;
	}
	if (ai < cmd->nargs && cmd->args[ai].type == IMAPP_LIST) {
		/* (UNCHANGEDSINCE n) */
		const struct imapp_arg *l = &cmd->args[ai];

		if (l->nlist != 2 || l->list[0].type != IMAPP_ATOM ||
		    strcasecmp(l->list[0].str, "UNCHANGEDSINCE") != 0 ||
		    l->list[1].type != IMAPP_ATOM) {
			imap_bad(cmd, "Invalid STORE modifier");
			goto out;
		}
		if (imapp_number(l->list[1].str, l->list[1].len, 0,
			IMAPP_MODSEQ_MAX, &unchanged) < 0) {
			imap_bad(cmd,
			    "UNCHANGEDSINCE needs a mod-sequence "
			    "(0 to 2^63-1)");
			goto out;
		}
		s->condstore = 1;
		conditional = 1;
		ai++;
	}
	if (ai + 2 != cmd->nargs || cmd->args[ai].type != IMAPP_ATOM) {
		imap_bad(cmd, "STORE needs a data item and flags");
		goto out;
	}
	item = cmd->args[ai].str;
	op = item[0] == '+'  ? STORE_FLAGS_ADD
	    : item[0] == '-' ? STORE_FLAGS_REMOVE
			     : STORE_FLAGS_SET;
	if (op != STORE_FLAGS_SET)
		item++;
	silent = strcasecmp(item, "FLAGS.SILENT") == 0;
	if (!silent && strcasecmp(item, "FLAGS") != 0) {
		imap_bad(cmd, "Unknown STORE data item");
		goto out;
	}
	if (imap_flags_parse(&cmd->args[ai + 1], &flags, &kw) < 0) {
		imap_bad(cmd, "Invalid flag list");
		goto out;
	}
	res = xcalloc((n < CMD_STORE_BATCH ? n : CMD_STORE_BATCH) + 1,
	    sizeof(*res));
	if (conditional && unchanged == 0) {
		/* UNCHANGEDSINCE 0 fails for every message (RFC 7162
		 * 3.1.3): nothing is changed */
		failed = n ? xmemdup(uids, n * sizeof(*uids)) : NULL;
		nfailed = n;
		n = 0;
	}
	for (b = 0; b < n; b += nb) {
		nb = n - b < CMD_STORE_BATCH ? n - b : CMD_STORE_BATCH;
		if (cmd_store_batch(s, uids + b, nb, op, flags, &kw, unchanged,
			res, &failed, &nfailed, &err) != 0) {
			imap_no(cmd, "[SERVERBUG] %s", err);
			goto out;
		}
		cmd_store_report(cmd, res, nb, op, flags, silent, &line);
	}
	if (nfailed > 0) {
		buf_reset(&line);
		for (i = 0; i < nfailed; i++)
			buf_printf(&line, "%s%u", i ? "," : "",
			    cmd->uid ? failed[i] : view_msgno(s, failed[i]));
		imap_ok(cmd, "[MODIFIED %s] Conditional STORE failed",
		    buf_cstr(&line));
	} else {
		imap_ok(cmd, "STORE completed");
	}
out:
	free(res);
	free(failed);
	free(uids);
	buf_free(&kw);
	buf_free(&line);
}

/* cmd_uidlist - "1,2,5" of uids (skipping zeros) */
static void
cmd_uidlist(struct buf *b, const uint32_t *uids, const uint32_t *keep, size_t n)
{
	size_t i;
	int sp = 0;

	for (i = 0; i < n; i++)
		if (keep[i])
			buf_printf(b, "%s%u", sp++ ? "," : "", uids[i]);
}

/* cmd_any - is any of uids[0..n) nonzero? */
static int
cmd_any(const uint32_t *uids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (uids[i])
			return 1;
	return 0;
}

void
cmd_copy(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	int move = strcmp(cmd->c->name, "MOVE") == 0 ||
	    (cmd->uid && strcasecmp(cmd->c->args[0].str, "MOVE") == 0);
	const char *dst = imap_astring(cmd, 1), *err;
	struct buf src = BUF_INIT, dstl = BUF_INIT;
	uint32_t *uids = NULL, *newuids, uidvalidity;
	size_t n;
	int r;

	if (cmd_set_arg(cmd, &uids, &n) < 0)
		return;
	if (dst == NULL || cmd->nargs != 2) {
		imap_bad(cmd, "%s needs a sequence set and a mailbox",
		    move ? "MOVE" : "COPY");
		free(uids);
		return;
	}
	if (cmd_mbox_check(cmd, 1) < 0) {
		free(uids);
		return;
	}
	dst = imap_astring(cmd, 1); /* the stored form */
	if (move && s->view.readonly) {
		imap_no(cmd, "[READ-ONLY] Mailbox is read-only");
		free(uids);
		return;
	}
	newuids = xcalloc(n + 1, sizeof(*newuids));
	r = n == 0 ? 0
		   : store_copy(s->st, s->view.mboxid, uids, n, s->user, dst,
			 move, &uidvalidity, newuids, &err);
	if (r == STORE_ENOENT)
		imap_no(cmd, "[TRYCREATE] No such mailbox");
	else if (r == STORE_EQUOTA) {
		log_info("%s refused user=%s addr=%s to=%s count=%zu "
			 "reason=over quota",
		    move ? "move" : "copy", s->user, s->addr, dst, n);
		imap_no(cmd, "[OVERQUOTA] Quota exceeded");
	} else if (r != 0)
		imap_no(cmd, "[CANNOT] %s", err);
	else if (n == 0 || !cmd_any(newuids, n))
		/* nothing left to copy: expunged meanwhile (RFC 2180 4.4) */
		imap_ok(cmd, "%s completed", move ? "MOVE" : "COPY");
	else {
		cmd_uidlist(&src, uids, newuids, n);
		cmd_uidlist(&dstl, newuids, newuids, n);
		log_info("%s user=%s from=%s to=%s count=%zu",
		    move ? "move" : "copy", s->user, s->view.name, dst, n);
		if (move) {
			io_printf(s, "* OK [COPYUID %u %s %s] Moved\r\n",
			    uidvalidity, buf_cstr(&src), buf_cstr(&dstl));
			imap_ok(cmd, "MOVE completed");
		} else {
			imap_ok(cmd, "[COPYUID %u %s %s] COPY completed",
			    uidvalidity, buf_cstr(&src), buf_cstr(&dstl));
		}
	}
	buf_free(&src);
	buf_free(&dstl);
	free(newuids);
	free(uids);
}

/* cmd_search_batch - the records of the view's messages [from, *to_r),
 * at most CMD_FETCH_BATCH of them: one cursor range */
static int
cmd_search_batch(struct imap_session *s, size_t from, size_t *to_r,
    struct store_msg **msgs, size_t *n, const char **err)
{
	struct imap_view *v = &s->view;
	size_t to =
	    v->n - from < CMD_FETCH_BATCH ? v->n : from + CMD_FETCH_BATCH;

	*to_r = to;
	return store_msg_range(s->st, v->mboxid, v->msgs[from].uid,
	    v->msgs[to - 1].uid, 0, msgs, n, err);
}

/*
 * cmd_search_hits - the message numbers prog matches, ascending.  The
 * records are read a batch at a time (CMD_FETCH_BATCH), so a SEARCH
 * holds a batch of them whatever the mailbox: all at once was about
 * 1 KB a message, 110 MB in the worker at 100,000.
 */
int
cmd_search_hits(struct imap_session *s, const struct search_prog *prog,
    uint32_t **msgnos_r, size_t *n_r, uint64_t *highest_r, const char **err)
{
	struct imap_view *v = &s->view;
	struct store_msg *msgs, *m;
	struct search_msg sm;
	size_t nm, i, b, e;

	*msgnos_r = NULL;
	*n_r = 0;
	*highest_r = 0;
	search_fts_prepare(s, prog);
	*msgnos_r = xcalloc(v->n + 1, sizeof(**msgnos_r));
	for (b = 0; b < v->n; b = e) {
		if (cmd_search_batch(s, b, &e, &msgs, &nm, err) != 0) {
			free(*msgnos_r);
			*msgnos_r = NULL;
			*n_r = 0;
			return -1;
		}
		for (i = b; i < e; i++) {
			if (v->msgs[i].gone ||
			    (m = cmd_find(msgs, nm, v->msgs[i].uid)) == NULL)
				continue;
			memset(&sm, 0, sizeof(sm));
			sm.msgno = (uint32_t)i + 1;
			sm.rec = m;
			sm.recent = v->msgs[i].recent;
			sm.maxmsgno = (uint32_t)v->n;
			sm.maxuid = v->n ? v->msgs[v->n - 1].uid : 0;
			sm.st = s->st;
			sm.mboxid = v->mboxid;
			sm.saved = v->saved;
			sm.nsaved = v->nsaved;
			if (search_match(prog, &sm)) {
				(*msgnos_r)[(*n_r)++] = (uint32_t)i + 1;
				if (m->modseq > *highest_r)
					*highest_r = m->modseq;
			}
			search_msg_done(&sm);
		}
		free(msgs);
	}
	return 0;
}

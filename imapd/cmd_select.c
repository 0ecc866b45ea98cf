/*
 * cmd_select - SELECT, EXAMINE, CLOSE, UNSELECT, EXPUNGE, UID EXPUNGE and
 * IDLE (parked in idled; served in the worker only when idled is down).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfg.h"
#include "clock.h"
#include "imapd.h"
#include "imapd_cmd.h"
#include "log.h"
#include "snap.h"
#include "xalloc.h"

/* the (QRESYNC (uidvalidity modseq [known-uids [seq-match]])) select
 * parameter (RFC 7162 3.2.5) */
struct cmd_qresync {
	int on;
	uint64_t uidvalidity, modseq;
	const char *known; /* UID set, NULL: all */
};

/* cmd_select_params - "(CONDSTORE)" / "(QRESYNC (...))"; -1 bad */
static int
cmd_select_params(struct imap_cmd *cmd, const struct imapp_arg *l,
    struct cmd_qresync *q)
{
	const struct imapp_arg *a, *p;
	size_t i;

	for (i = 0; i < l->nlist; i++) {
		a = &l->list[i];
		if (a->type != IMAPP_ATOM)
			return -1;
		if (strcasecmp(a->str, "CONDSTORE") == 0) {
			cmd->s->condstore = 1;
			continue;
		}
		if (strcasecmp(a->str, "QRESYNC") != 0 || q->on ||
		    !cmd->s->qresync || i + 1 >= l->nlist)
			return -1;
		p = &l->list[++i];
		if (p->type != IMAPP_LIST || p->nlist < 2 || p->nlist > 4 ||
		    p->list[0].type != IMAPP_ATOM ||
		    p->list[1].type != IMAPP_ATOM ||
		    imapp_number(p->list[0].str, p->list[0].len, 1,
			IMAPP_NUMBER_MAX, &q->uidvalidity) < 0 ||
		    imapp_number(p->list[1].str, p->list[1].len, 1,
			IMAPP_MODSEQ_MAX, &q->modseq) < 0)
			return -1;
		if (p->nlist >= 3 && p->list[2].type != IMAPP_ATOM)
			return -1;
		/* seq-match only helps a server that forgets expunges */
		if (p->nlist == 4 && p->list[3].type != IMAPP_LIST)
			return -1;
		q->known = p->nlist >= 3 ? p->list[2].str : NULL;
		if (q->known != NULL) {
			struct imapp_seqset ss;
			int bad =
			    imapp_seqset_parse(q->known, UINT32_MAX, &ss) < 0 ||
			    ss.dollar;

			imapp_seqset_free(&ss);
			if (bad)
				return -1;
		}
		q->on = 1;
	}
	return 0;
}

/* cmd_select_resync - QRESYNC: what went away since q->modseq, then
 * the flags of every message changed since */
static void
cmd_select_resync(struct imap_session *s, const struct cmd_qresync *q)
{
	struct imap_view *v = &s->view;
	struct store_msg *msgs;
	struct buf line = BUF_INIT;
	const char *err;
	size_t n, i, j;

	view_vanished_earlier(s, NULL, q->known, q->modseq);
	if (store_msg_changed(s->st, v->mboxid, q->modseq, &msgs, &n, &err) !=
	    0) {
		log_error("qresync user=%s mailbox=%s: %s", s->user, v->name,
		    err);
		return;
	}
	for (i = 0; i < n; i++) {
		uint32_t no = view_msgno(s, msgs[i].uid);

		if (no == 0)
			continue;
		j = no - 1;
		v->msgs[j].flags = msgs[i].flags;
		v->msgs[j].modseq = msgs[i].modseq;
		view_keywords_note(s, msgs[i].keywords);
		buf_reset(&line);
		imap_flags_put(&line, msgs[i].flags, msgs[i].keywords,
		    v->msgs[j].recent);
		io_printf(s, "* %u FETCH (UID %u FLAGS %s MODSEQ (%llu))\r\n",
		    no, msgs[i].uid, buf_cstr(&line),
		    (unsigned long long)msgs[i].modseq);
	}
	free(msgs);
	buf_free(&line);
}

/* cmd_select_list - "* LIST" of the mailbox being selected (IMAP4rev2) */
static void
cmd_select_list(struct imap_session *s, const struct store_mbox *mb,
    const char *name)
{
	struct buf line = BUF_INIT, attrs = BUF_INIT;

	specialuse_put(&attrs, mb->attrs);
	buf_printf(&line, "* LIST (%s) \"/\" ",
	    attrs.len ? attrs.data + 1 : "");
	imap_put_mbox(s, &line, name);
	io_printf(s, "%s\r\n", buf_cstr(&line));
	buf_free(&line);
	buf_free(&attrs);
}

void
cmd_select(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	int readonly = strcmp(cmd->c->name, "EXAMINE") == 0;
	const char *name = imap_astring(cmd, 0), *err;
	struct store_mbox mb;
	struct cmd_qresync q;
	uint32_t nrecent, unseen = 0;
	size_t i;
	int r;

	if (name == NULL ||
	    (cmd->nargs != 1 &&
		!(cmd->nargs == 2 && cmd->args[1].type == IMAPP_LIST))) {
		imap_bad(cmd, "%s needs a mailbox name", cmd->c->name);
		return;
	}
	if (cmd_mbox_check(cmd, 0) < 0)
		return;
	name = imap_astring(cmd, 0); /* the stored form */
	memset(&q, 0, sizeof(q));
	if (cmd->nargs == 2 && cmd_select_params(cmd, &cmd->args[1], &q) < 0) {
		imap_bad(cmd,
		    "Invalid SELECT parameters (QRESYNC needs ENABLE "
		    "QRESYNC first)");
		return;
	}
	if (s->state == IMAP_S_SELECTED)
		io_printf(s, "* OK [CLOSED] Previous mailbox closed\r\n");
	r = view_open(s, name, readonly, &mb, &nrecent, &err);
	if (r != 0) {
		imap_no(cmd, "%s%s", r == STORE_ENOENT ? "[NONEXISTENT] " : "",
		    r == STORE_ENOENT ? "No such mailbox" : err);
		return;
	}
	view_keywords_put(s);
	io_printf(s, "* %zu EXISTS\r\n", s->view.n);
	/* IMAP4rev2 (RFC 9051 6.3.2): no RECENT, no UNSEEN; a LIST of the
	 * mailbox instead */
	if (s->rev2)
		cmd_select_list(s, &mb, name);
	else
		io_printf(s, "* %u RECENT\r\n", nrecent);
	for (i = 0; i < s->view.n && !s->rev2; i++)
		if (!(s->view.msgs[i].flags & STORE_F_SEEN)) {
			unseen = (uint32_t)i + 1;
			break;
		}
	if (unseen)
		io_printf(s, "* OK [UNSEEN %u] First unseen\r\n", unseen);
	io_printf(s, "* OK [MAILBOXID (F%u)] Ok\r\n", mb.id);
	io_printf(s,
	    "* OK [UIDVALIDITY %u] UIDs valid\r\n"
	    "* OK [UIDNEXT %u] Predicted next UID\r\n"
	    "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
	    mb.uidvalidity, mb.uidnext, (unsigned long long)mb.highestmodseq);
	if (q.on && q.uidvalidity == mb.uidvalidity)
		cmd_select_resync(s, &q);
	imap_ok(cmd, "[%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE",
	    cmd->c->name);
}

/* cmd_expunge_deleted - expunge \Deleted messages (of uids if given) */
static int
cmd_expunge_deleted(struct imap_session *s, const uint32_t *only, size_t nonly,
    const char **err)
{
	struct imap_view *v = &s->view;
	uint32_t *uids = xcalloc(v->n + 1, sizeof(*uids));
	struct store_msg *msgs;
	struct store_mbox mb;
	size_t n, i, j, k = 0;
	int r;

	/* flags in the store, not the view: another session may have
	 * changed them since we last reported */
	if ((r = store_msg_list(s->st, v->mboxid, &mb, &msgs, &n, err)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (!(msgs[i].flags & STORE_F_DELETED) ||
		    view_msgno(s, msgs[i].uid) == 0)
			continue;
		if (only != NULL) {
			for (j = 0; j < nonly && only[j] != msgs[i].uid; j++)
				;
			if (j == nonly)
				continue;
		}
		uids[k++] = msgs[i].uid;
	}
	free(msgs);
	r = store_expunge(s->st, v->mboxid, uids, k, err);
	if (r == 0 && k > 0)
		log_info("expunge user=%s mailbox=%s count=%zu", s->user,
		    v->name, k);
out:
	free(uids);
	return r;
}

void
cmd_close(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const char *err;

	if (strcmp(cmd->c->name, "CLOSE") == 0 && !s->view.readonly)
		cmd_expunge_deleted(s, NULL, 0, &err);
	view_close(s);
	imap_ok(cmd, "%s completed", cmd->c->name);
}

void
cmd_expunge(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	uint32_t *uids = NULL;
	size_t n = 0;
	const char *err;

	if (s->view.readonly) {
		imap_no(cmd, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (cmd->uid) {
		if (cmd->nargs != 1 || cmd->args[0].type != IMAPP_ATOM ||
		    view_uids(s, cmd->args[0].str, 1, &uids, &n) < 0) {
			imap_bad(cmd, "UID EXPUNGE needs a UID set");
			return;
		}
	} else if (cmd->nargs != 0) {
		imap_bad(cmd, "EXPUNGE takes no arguments");
		return;
	}
	if (cmd_expunge_deleted(s, cmd->uid ? uids : NULL, n, &err) != 0)
		imap_no(cmd, "[SERVERBUG] Expunge failed: %s", err);
	else
		imap_ok(cmd, "Expunge completed");
	free(uids);
}

/*
 * cmd_search - SEARCH and UID SEARCH (RFC 3501 6.4.4) with ESEARCH
 * (RFC 4731), SEARCHRES (RFC 5182), CONTEXT=SEARCH (RFC 5267 4:
 * PARTIAL, UPDATE, CONTEXT) and PARTIAL (RFC 9394 3.1, 3.2), and
 * CANCELUPDATE.  Matching is
 * cmd_search_hits (cmd_message.c, search.c); the RETURN options and the
 * ESEARCH line search_ret.c; kept contexts search_ctx.c.
 */
#include "config.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "imapd_cmd.h"
#include "log.h"
#include "search.h"
#include "search_ctx.h"
#include "search_ret.h"
#include "xalloc.h"

/* cmd_search_save - SEARCHRES: keep as "$" the UIDs of the result
 * that RETURN asks to keep (search_ret_saved) */
static void
cmd_search_save(struct imap_session *s, const struct search_ret *ret,
    const uint32_t *hits, size_t n)
{
	struct imap_view *v = &s->view;
	uint32_t *uids = xcalloc(n + 1, sizeof(*uids));
	size_t i;

	for (i = 0; i < n; i++)
		uids[i] = v->msgs[hits[i] - 1].uid;
	v->saved = xcalloc(n + 1, sizeof(*v->saved));
	v->nsaved = search_ret_saved(ret, uids, n, v->saved);
	free(uids);
}

/* cmd_search_keep - RETURN (UPDATE): keep a context of the result, or
 * say why not (RFC 5267 4.3.1: an untagged NO [NOUPDATE], the other
 * options still answered); 1 if prog was taken */
static int
cmd_search_keep(struct imap_cmd *cmd, struct search_prog *prog,
    const uint32_t *msgnos, size_t n)
{
	if (!search_ctx_admit(cmd->s, cmd->tag, prog))
		return 0;
	search_ctx_add(cmd->s, cmd->tag, cmd->uid, NULL, prog, msgnos, NULL, n);
	return 1;
}

void
cmd_search(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct search_prog *prog;
	struct search_ret ret;
	struct buf res = BUF_INIT;
	uint32_t *hits = NULL, *nums;
	uint64_t highest = 0;
	const char *err;
	size_t i, nhits = 0;
	int badcs, skip, modseq;

	if ((skip = search_ret_parse(cmd->args, cmd->nargs, ~0u, &ret, &err)) <
	    0) {
		imap_bad(cmd, "SEARCH: %s", err);
		return;
	}
	/* IMAP4rev2: ESEARCH, never SEARCH (RFC 9051 6.4.4) */
	if (ret.opts == 0 && s->rev2)
		ret.opts = SEARCH_RET_ALL;
	if ((ret.opts & SEARCH_RET_UPDATE) && search_ctx_has(s, cmd->tag)) {
		/* RFC 5267 4.3: updates are told by tag */
		imap_bad(cmd, "Tag reuse: a search context has this tag");
		return;
	}
	if (ret.opts & SEARCH_RET_SAVE) {
		/* a SEARCH that fails leaves "$" empty (RFC 5182 2.1) */
		free(s->view.saved);
		s->view.saved = NULL;
		s->view.nsaved = 0;
	}
	prog = search_parse(cmd->args + skip, cmd->nargs - (size_t)skip, &err,
	    &badcs);
	if (prog == NULL) {
		if (badcs)
			imap_no(cmd, "%s", err);
		else
			imap_bad(cmd, "%s", err);
		return;
	}
	if ((modseq = search_uses_modseq(prog)) != 0)
		s->condstore = 1;
	if (cmd_search_hits(s, prog, &hits, &nhits, &highest, &err) != 0) {
		imap_no(cmd, "[SERVERBUG] %s", err);
		search_free(&prog);
		return;
	}
	if (ret.opts & SEARCH_RET_SAVE)
		cmd_search_save(s, &ret, hits, nhits);
	nums = xcalloc(nhits + 1, sizeof(*nums));
	for (i = 0; i < nhits; i++)
		nums[i] = cmd->uid ? s->view.msgs[hits[i] - 1].uid : hits[i];
	if ((ret.opts & ~(unsigned)SEARCH_RET_SAVE) != 0) {
		search_ret_put(&res, cmd->tag, cmd->uid, &ret, nums, nhits);
		if (modseq && nhits > 0)
			buf_printf(&res, " MODSEQ %llu",
			    (unsigned long long)highest);
		io_printf(s, "%s\r\n", buf_cstr(&res));
	} else if (ret.opts == SEARCH_RET_SAVE) {
		; /* SAVE alone: no result (RFC 5182 2.1) */
	} else {
		buf_puts(&res, "* SEARCH");
		for (i = 0; i < nhits; i++)
			buf_printf(&res, " %u", nums[i]);
		if (modseq && nhits > 0)
			buf_printf(&res, " (MODSEQ %llu)",
			    (unsigned long long)highest);
		io_printf(s, "%s\r\n", buf_cstr(&res));
	}
	if ((ret.opts & SEARCH_RET_UPDATE) &&
	    cmd_search_keep(cmd, prog, hits, nhits))
		prog = NULL;
	imap_ok(cmd, "SEARCH completed");
	buf_free(&res);
	free(nums);
	free(hits);
	search_free(&prog);
}

/* cmd_cancelupdate - CANCELUPDATE "tag" ... (RFC 5267 4.3.5): every tag
 * must name a context, else nothing is cancelled */
void
cmd_cancelupdate(struct imap_cmd *cmd)
{
	size_t i;

	if (cmd->nargs == 0) {
		imap_bad(cmd, "CANCELUPDATE needs the tags of contexts");
		return;
	}
	for (i = 0; i < cmd->nargs; i++) {
		if (cmd->args[i].type != IMAPP_STRING &&
		    cmd->args[i].type != IMAPP_LITERAL) {
			imap_bad(cmd, "CANCELUPDATE takes quoted tags");
			return;
		}
		if (!search_ctx_has(cmd->s, cmd->args[i].str)) {
			imap_bad(cmd, "No search context has such a tag");
			return;
		}
	}
	for (i = 0; i < cmd->nargs; i++)
		(void)search_ctx_cancel(cmd->s, cmd->args[i].str);
	imap_ok(cmd, "CANCELUPDATE completed");
}

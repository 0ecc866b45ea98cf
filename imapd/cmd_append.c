/*
 * cmd_append - APPEND mailbox ([flags] [date-time] (literal / CATENATE
 * (...)))+ (several: MULTIAPPEND, RFC 3502; CATENATE, RFC 4469:
 * cmd_append_cat.c).  The tagged OK is sent only after the message is
 * durable (store.h, Durability: a large file fsync'd, the journal's
 * lines flushed through the commit log).  The flush is io_flush's,
 * before it sends the answer: one for a MULTIAPPEND's messages, and one
 * for a pipelining client's APPENDs whose input was at hand (io_defer,
 * group commit within a session).  A MULTIAPPEND that fails part way
 * (a bad URL, a full quota) expunges what it added.  A catenated message
 * is built just before it is stored, so memory holds one at a time.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cfg.h"
#include "cmd_append.h"
#include "date.h"
#include "imapd.h"
#include "imapd_cmd.h"
#include "log.h"
#include "xalloc.h"

#define APPEND_MAX_MSGS 1000 /* messages in one MULTIAPPEND */

/* one message of an APPEND */
struct append_msg {
	struct store_append opt;
	struct buf kw;
	const struct imapp_arg *lit; /* the literal, or */
	const struct imapp_arg *cat; /* the CATENATE list */
};

/* append_literal - the message literal at *i (or "UTF8 (literal8)"):
 * 0, or -1 after a tagged reply */
static int
append_literal(struct imap_cmd *cmd, size_t *ip, struct append_msg *a)
{
	size_t i = *ip;

	/* RFC 6855 4: "UTF8 (literal8)", once UTF-8 is enabled */
	if (i + 1 < cmd->nargs && cmd->args[i].type == IMAPP_ATOM &&
	    strcasecmp(cmd->args[i].str, "UTF8") == 0 && cmd->s->utf8 &&
	    cmd->args[i + 1].type == IMAPP_LIST &&
	    cmd->args[i + 1].nlist == 1 &&
	    cmd->args[i + 1].list[0].type == IMAPP_LITERAL) {
		a->lit = &cmd->args[i + 1].list[0];
		i += 2;
	} else if (i >= cmd->nargs || cmd->args[i].type != IMAPP_LITERAL) {
		imap_bad(cmd, "APPEND message must be a literal");
		return -1;
	} else {
		a->lit = &cmd->args[i++];
	}
	*ip = i;
	if (a->lit->len == 0) {
		imap_no(cmd, "Empty message");
		return -1;
	}
	if ((long long)a->lit->len > cfg_size("maxmessagesize")) {
		imap_no(cmd, "[TOOBIG] Message larger than %lld bytes",
		    cfg_size("maxmessagesize"));
		return -1;
	}
	return 0;
}

/*
 * append_parse - the messages after the mailbox: ([flags] [date-time]
 * literal)+ (MULTIAPPEND, RFC 3502); n_r of them into m (caller-sized
 * cmd->nargs).  -1 after a tagged reply
 */
static int
append_parse(struct imap_cmd *cmd, struct append_msg *m, size_t *n_r)
{
	size_t i = 1, n = 0;

	while (i < cmd->nargs) {
		struct append_msg *a = &m[n];

		if (n == APPEND_MAX_MSGS) {
			imap_no(cmd,
			    "[LIMIT] At most %d messages in one "
			    "APPEND",
			    APPEND_MAX_MSGS);
			return -1;
		}
		memset(a, 0, sizeof(*a));
		n++;
		if (cmd->args[i].type == IMAPP_LIST) {
			if (imap_flags_parse(&cmd->args[i], &a->opt.flags,
				&a->kw) < 0) {
				imap_bad(cmd, "Invalid flag in APPEND");
				goto fail;
			}
			i++;
		}
		if (i < cmd->nargs && cmd->args[i].type == IMAPP_STRING) {
			if (date_parse_imap_datetime(cmd->args[i].str,
				&a->opt.internaldate, &a->opt.tzoff) < 0) {
				imap_bad(cmd, "Invalid date-time in APPEND");
				goto fail;
			}
			i++;
		}
		if (i + 1 < cmd->nargs && cmd->args[i].type == IMAPP_ATOM &&
		    strcasecmp(cmd->args[i].str, "CATENATE") == 0) {
			a->cat = &cmd->args[i + 1];
			i += 2;
			if (append_cat_check(cmd, a->cat) < 0)
				goto fail;
		} else if (append_literal(cmd, &i, a) < 0)
			goto fail;
		a->opt.keywords = a->kw.len ? buf_cstr(&a->kw) : NULL;
	}
	*n_r = n;
	return 0;
fail:
	*n_r = n;
	return -1;
}

/* append_undo - a MULTIAPPEND that failed part way: the messages it
 * added go (RFC 3502: all or none) */
static void
append_undo(struct imap_session *s, const char *name, const uint32_t *uids,
    size_t n)
{
	struct store_mbox mb;
	const char *err;

	if (n == 0)
		return;
	if (store_mbox_get(s->st, s->user, name, &mb, &err) != 0 ||
	    store_expunge(s->st, mb.id, uids, n, &err) != 0)
		log_error("append undo user=%s mailbox=%s: %s", s->user, name,
		    err);
}

/* append_data - the bytes of message a: its literal, or its CATENATE
 * built into cat; -1 after a tagged reply */
static int
append_data(struct imap_cmd *cmd, const struct append_msg *a, struct buf *cat,
    const char **data_r, size_t *len_r)
{
	if (a->cat == NULL) {
		*data_r = a->lit->str;
		*len_r = a->lit->len;
		return 0;
	}
	buf_reset(cat);
	if (append_cat_build(cmd, a->cat, cat) < 0)
		return -1;
	if (cat->len == 0) {
		imap_no(cmd, "Empty message");
		return -1;
	}
	*data_r = cat->data;
	*len_r = cat->len;
	return 0;
}

/* append_failed - the tagged NO for store_append's r */
static void
append_failed(struct imap_cmd *cmd, const char *name, int r, size_t len,
    const char *err)
{
	struct imap_session *s = cmd->s;

	if (r == STORE_ENOENT) {
		imap_no(cmd, "[TRYCREATE] No such mailbox");
	} else if (r == STORE_EQUOTA) {
		log_info("append refused user=%s addr=%s mailbox=%s "
			 "size=%zu reason=over quota",
		    s->user, s->addr, name, len);
		imap_no(cmd, "[OVERQUOTA] Quota exceeded");
	} else {
		log_error("append failed user=%s mailbox=%s: %s", s->user, name,
		    err);
		imap_no(cmd, "[SERVERBUG] Append failed");
	}
}

void
cmd_append(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const char *name = imap_astring(cmd, 0), *err = NULL;
	struct append_msg *m;
	struct buf set = BUF_INIT, cat = BUF_INIT;
	uint32_t uidvalidity = 0, *uids;
	size_t n = 0, i, done = 0, len = 0;
	const char *data = NULL;
	int r = 0;

	if (name == NULL || cmd->nargs < 2) {
		imap_bad(cmd, "APPEND needs a mailbox and a message literal");
		return;
	}
	if (cmd_mbox_check(cmd, 0) < 0)
		return;
	name = imap_astring(cmd, 0); /* the stored form */
	m = xcalloc(cmd->nargs, sizeof(*m));
	uids = xcalloc(cmd->nargs, sizeof(*uids));
	if (append_parse(cmd, m, &n) < 0)
		goto out;
	/* a MULTIAPPEND's messages made durable by one flush, with the
	 * pipelined commands' after it (io_defer) */
	store_defer_flush(s->st);
	for (done = 0; done < n; done++) {
		if (append_data(cmd, &m[done], &cat, &data, &len) < 0)
			break; /* answered */
		r = store_append(s->st, s->user, name, data, len, &m[done].opt,
		    &uidvalidity, &uids[done], &err);
		if (r != 0) {
			append_failed(cmd, name, r, len, err);
			break;
		}
		log_info("append user=%s mailbox=%s uid=%u size=%zu%s", s->user,
		    name, uids[done], len,
		    m[done].cat != NULL ? " catenate=1" : "");
	}
	buf_free(&cat);
	/*
	 * No flush here: the answer waits in s->out, and io_flush makes
	 * what was stored (or undone) durable before it sends anything,
	 * once for this command and the pipelined ones after it (io_defer);
	 * if that flush fails the session ends unanswered.
	 */
	if (done < n) {
		append_undo(s, name, uids, done);
		goto out;
	}
	view_put_uids(&set, uids, n);
	imap_ok(cmd, "[APPENDUID %u %s] APPEND completed", uidvalidity,
	    buf_cstr(&set));
out:
	for (i = 0; i < n; i++)
		buf_free(&m[i].kw);
	free(m);
	free(uids);
	buf_free(&set);
}

/*
 * cmd_append - APPEND mailbox [flags] [date-time] literal.  The tagged OK
 * is sent only after store_append has fsync'd the file and committed.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cfg.h"
#include "date.h"
#include "imapd.h"
#include "imapd_cmd.h"
#include "log.h"

void
cmd_append(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const char *name = imap_astring(cmd, 0), *err;
	struct store_append opt;
	struct buf kw = BUF_INIT;
	const struct imapp_arg *msg;
	uint32_t uidvalidity, uid;
	size_t i = 1;
	int r;

	memset(&opt, 0, sizeof(opt));
	if (name == NULL || cmd->nargs < 2) {
		imap_bad(cmd, "APPEND needs a mailbox and a message literal");
		return;
	}
	if (cmd_mbox_check(cmd, 0) < 0)
		return;
	if (cmd->args[i].type == IMAPP_LIST) {
		if (imap_flags_parse(&cmd->args[i], &opt.flags, &kw) < 0) {
			imap_bad(cmd, "Invalid flag in APPEND");
			goto out;
		}
		i++;
	}
	if (i < cmd->nargs && cmd->args[i].type == IMAPP_STRING) {
		if (date_parse_imap_datetime(cmd->args[i].str, &opt.internaldate,
		    &opt.tzoff) < 0) {
			imap_bad(cmd, "Invalid date-time in APPEND");
			goto out;
		}
		i++;
	}
	if (i + 1 != cmd->nargs || cmd->args[i].type != IMAPP_LITERAL) {
		imap_bad(cmd, "APPEND message must be one literal");
		goto out;
	}
	msg = &cmd->args[i];
	if (msg->len == 0) {
		imap_no(cmd, "Empty message");
		goto out;
	}
	if ((long long)msg->len > cfg_size("maxmessagesize")) {
		imap_no(cmd, "[TOOBIG] Message larger than %lld bytes",
		    cfg_size("maxmessagesize"));
		goto out;
	}
	opt.keywords = kw.len ? buf_cstr(&kw) : NULL;
	r = store_append(s->st, s->user, name, msg->str, msg->len, &opt,
	    &uidvalidity, &uid, &err);
	if (r == STORE_ENOENT) {
		imap_no(cmd, "[TRYCREATE] No such mailbox");
	} else if (r != 0) {
		log_error("append failed user=%s mailbox=%s: %s", s->user,
		    name, err);
		imap_no(cmd, "[SERVERBUG] Append failed");
	} else {
		log_info("append user=%s mailbox=%s uid=%u size=%zu", s->user,
		    name, uid, msg->len);
		imap_ok(cmd, "[APPENDUID %u %u] APPEND completed",
		    uidvalidity, uid);
	}
out:
	buf_free(&kw);
}

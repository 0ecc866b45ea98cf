/*
 * cmd_notify - NOTIFY SET [STATUS] (groups) and NOTIFY NONE (RFC 5465).
 *
 * The arguments are parsed by notify_spec_parse; a malformed command is
 * a tagged BAD saying what was wrong, an unsupported event a tagged
 * NO [BADEVENT (the events berth supports)], a spec past a limit
 * NO [LIMIT], one that would cover too many mailboxes
 * NO [NOTIFICATIONOVERFLOW].  A refused NOTIFY leaves the earlier state
 * alone.  NOTIFY NONE drops the state: the session is back to RFC 3501's
 * behaviour (IDLE still reports the selected mailbox).  A successful
 * NOTIFY SET is also a NOOP: the command loop's sync reports the
 * selected mailbox before the tagged OK.
 */
#include "config.h"

#include "imapd.h"
#include "imapd_cmd.h"
#include "imapd_notify.h"
#include "log.h"

void
cmd_notify(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct imap_notify *n;
	const char *err;
	int status;

	switch (notify_spec_parse_as(cmd->args, cmd->nargs, cmd->s->utf8, &n,
	    &status, &err)) {
	case 0:
		break;
	case NOTIFY_SPEC_BADEVENT:
		imap_no(cmd, "[BADEVENT (" NOTIFY_SUPPORTED_EVENTS ")] %s",
		    err);
		return;
	case NOTIFY_SPEC_LIMIT:
		imap_no(cmd, "[LIMIT] %s", err);
		log_info("refused notify user=%s addr=%s: %s", s->user, s->addr,
		    err);
		return;
	default:
		imap_bad(cmd, "%s", err);
		return;
	}
	if (n == NULL) {
		imapd_notify_free(s);
		imap_ok(cmd, "NOTIFY completed");
		return;
	}
	switch (imapd_notify_set(s, n, status, &err)) {
	case 0:
		break;
	case -2:
		imap_no(cmd, "[NOTIFICATIONOVERFLOW] %s", err);
		log_info("refused notify user=%s addr=%s: %s", s->user, s->addr,
		    err);
		return;
	default:
		imap_no(cmd, "[SERVERBUG] %s", err);
		return;
	}
	imap_ok(cmd, "NOTIFY completed");
}

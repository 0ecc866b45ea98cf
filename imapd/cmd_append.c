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
#include "imapd.h"
#include "imapd_cmd.h"
#include "log.h"

static const char *cmd_months[] = { "Jan", "Feb", "Mar", "Apr", "May",
    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* cmd_append_date - "dd-Mon-yyyy hh:mm:ss +zzzz"; -1 if malformed */
static int
cmd_append_date(const char *s, int64_t *t_r, int32_t *tz_r)
{
	/* RFC 3501 date-time, digit for digit: sscanf alone took signs
	 * ("-1" hours), short fields and spaces; a one-digit day without
	 * its space is taken too, as other servers do */
	static const char shape[] = "Dd-aaa-dddd dd:dd:dd sdddd";
	char mon[4], sign, fixed[sizeof(shape)];
	int d, y, h, mi, se, z, m, n = 0;
	struct tm tm;
	size_t i;

	if (strlen(s) == sizeof(shape) - 2 && s[1] == '-') {
		fixed[0] = ' ';
		memcpy(fixed + 1, s, sizeof(shape) - 1);
		s = fixed;
	}
	if (strlen(s) != sizeof(shape) - 1)
		return -1;
	for (i = 0; i < sizeof(shape) - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		if (shape[i] == 'D' ? !(isdigit(c) || c == ' ') :
		    shape[i] == 'd' ? !isdigit(c) : shape[i] == 'a' ?
		    !isalpha(c) : shape[i] == 's' ? c != '+' && c != '-' :
		    c != (unsigned char)shape[i])
			return -1;
	}
	if (sscanf(s, "%2d-%3s-%4d %2d:%2d:%2d %c%4d%n", &d, mon, &y, &h, &mi,
	    &se, &sign, &z, &n) != 8 || s[n] != '\0' ||
	    (sign != '+' && sign != '-'))
		return -1;
	for (m = 0; m < 12; m++)
		if (strcasecmp(mon, cmd_months[m]) == 0)
			break;
	if (m == 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 ||
	    z % 100 > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*tz_r = (sign == '-' ? -1 : 1) * (z / 100 * 60 + z % 100);
	*t_r = (int64_t)timegm(&tm) - *tz_r * 60;
	return 0;
}

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
		if (cmd_append_date(cmd->args[i].str, &opt.internaldate,
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

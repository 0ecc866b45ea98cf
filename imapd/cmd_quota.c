/*
 * cmd_quota - QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT, SETQUOTA, and
 * STATUS DELETED / DELETED-STORAGE, which RES-MESSAGE and RES-STORAGE
 * require.
 *
 * Each user has one quota root, "" (RFC 9208's examples name it so),
 * over all of the user's mailboxes, with the resources STORAGE (KiB)
 * and MESSAGE.  The store keeps the usage and enforces the limits
 * (store_quota_*); this file only reports them.  A resource without a
 * limit is not listed.  Limits are set with `berthctl quota set`:
 * SETQUOTA is parsed to the letter and refused with [NOPERM] (QUOTASET
 * is not advertised) until imapd.conf's admins names who may use it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "imapd_cmd.h"
#include "log.h"

/* cmd_quota_put - "* QUOTA "" (...)" for the session's user */
static void
cmd_quota_put(struct imap_session *s, const struct store_quota *q)
{
	struct buf line = BUF_INIT;

	if (q->storage_limit != STORE_QUOTA_NONE)
		buf_printf(&line, "STORAGE %llu %llu",
		    (unsigned long long)((q->storage + 1023) / 1024),
		    (unsigned long long)q->storage_limit);
	if (q->message_limit != STORE_QUOTA_NONE)
		buf_printf(&line, "%sMESSAGE %llu %llu", line.len ? " " : "",
		    (unsigned long long)q->messages,
		    (unsigned long long)q->message_limit);
	io_printf(s, "* QUOTA \"\" (%s)\r\n", buf_cstr(&line));
	buf_free(&line);
}

/* cmd_quota_get - the user's quota; -1 after a tagged NO */
static int
cmd_quota_get(struct imap_cmd *cmd, struct store_quota *q)
{
	const char *err;

	if (store_quota_get(cmd->s->st, cmd->s->user, q, &err) == 0)
		return 0;
	log_error("quota user=%s addr=%s: %s", cmd->s->user, cmd->s->addr, err);
	imap_no(cmd, "[SERVERBUG] Cannot read the quota");
	return -1;
}

void
cmd_getquota(struct imap_cmd *cmd)
{
	const char *root = imap_astring(cmd, 0);
	struct store_quota q;

	if (root == NULL || cmd->nargs != 1) {
		imap_bad(cmd, "GETQUOTA needs a quota root");
		return;
	}
	if (root[0] != '\0') {
		imap_no(cmd, "[NONEXISTENT] No such quota root");
		return;
	}
	if (cmd_quota_get(cmd, &q) < 0)
		return;
	cmd_quota_put(cmd->s, &q);
	imap_ok(cmd, "GETQUOTA completed");
}

void
cmd_getquotaroot(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const char *name = imap_astring(cmd, 0), *err;
	struct store_quota q;
	struct store_mbox mb;
	struct buf qn = BUF_INIT;
	int r;

	if (name == NULL || cmd->nargs != 1) {
		imap_bad(cmd, "GETQUOTAROOT needs a mailbox");
		return;
	}
	if (cmd_mbox_check(cmd, 0) < 0)
		return;
	r = store_mbox_get(s->st, s->user, name, &mb, &err);
	if (r == STORE_ENOENT || (r == 0 && (mb.attrs & STORE_MBOX_NOSELECT))) {
		imap_no(cmd, "[NONEXISTENT] No such mailbox");
		return;
	}
	if (r != 0) {
		log_error("getquotaroot user=%s addr=%s mailbox=%s: %s",
		    s->user, s->addr, name, err);
		imap_no(cmd, "[SERVERBUG] Cannot read the mailbox");
		return;
	}
	if (cmd_quota_get(cmd, &q) < 0)
		return;
	imapp_put_astring(&qn, name, strlen(name));
	io_printf(s, "* QUOTAROOT %s \"\"\r\n", buf_cstr(&qn));
	buf_free(&qn);
	cmd_quota_put(s, &q);
	imap_ok(cmd, "GETQUOTAROOT completed");
}

/* cmd_quota_limit - one "resource limit" pair of SETQUOTA's list; 0 */
static int
cmd_quota_limit(const struct imapp_arg *res, const struct imapp_arg *lim)
{
	const char *p;

	if (res->type != IMAPP_ATOM || lim->type != IMAPP_ATOM ||
	    lim->len == 0 || lim->len > 19)
		return -1;
	for (p = lim->str; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	/* RFC 9208: unknown resources are refused, the known ones here */
	if (strcasecmp(res->str, "STORAGE") != 0 &&
	    strcasecmp(res->str, "MESSAGE") != 0)
		return -1;
	return 0;
}

void
cmd_setquota(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imapp_arg *l;
	size_t i;

	if (imap_astring(cmd, 0) == NULL || cmd->nargs != 2 ||
	    cmd->args[1].type != IMAPP_LIST || cmd->args[1].nlist % 2 != 0) {
		imap_bad(cmd,
		    "SETQUOTA needs a quota root and a list of "
		    "resource limits");
		return;
	}
	l = cmd->args[1].list;
	for (i = 0; i < cmd->args[1].nlist; i += 2)
		if (cmd_quota_limit(&l[i], &l[i + 1]) < 0) {
			imap_bad(cmd,
			    "SETQUOTA takes STORAGE and MESSAGE "
			    "with a number each");
			return;
		}
	log_info("setquota refused user=%s addr=%s reason=not an "
		 "administrator (berthctl quota set)",
	    s->user, s->addr);
	imap_no(cmd, "[NOPERM] Quotas are set by the administrator");
}

int
cmd_quota_deleted(struct imap_session *s, const struct store_mbox *mb,
    uint32_t *count_r, uint64_t *size_r, const char **error_r)
{
	struct store_msg *msgs;
	struct store_mbox now;
	size_t n, i;

	*count_r = 0;
	*size_r = 0;
	if (store_msg_list(s->st, mb->id, &now, &msgs, &n, error_r) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (msgs[i].flags & STORE_F_DELETED) {
			(*count_r)++;
			*size_r += msgs[i].size;
		}
	free(msgs);
	return 0;
}

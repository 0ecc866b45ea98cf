/*
 * imapd_cmds - the command table: name, handler, where it is allowed.
 */
#include "config.h"

#include <string.h>
#include <stdio.h>

#include "imapd.h"
#include "imapd_cmd.h"

#define ANY (IMAP_CMD_NOTAUTH | IMAP_CMD_AUTH)
#define AUTH IMAP_CMD_AUTH
#define SEL (IMAP_CMD_AUTH | IMAP_CMD_SELECTED)
#define UID IMAP_CMD_UID

static const struct imap_cmd_def imapd_cmds[] = {
	{ "CAPABILITY", cmd_capability, ANY },
	{ "NOOP", cmd_noop, ANY },
	{ "LOGOUT", cmd_logout, ANY },
	{ "ID", cmd_id, ANY },
	{ "LOGIN", cmd_login, IMAP_CMD_NOTAUTH },
	{ "AUTHENTICATE", cmd_authenticate, IMAP_CMD_NOTAUTH },
	{ "STARTTLS", cmd_starttls, IMAP_CMD_NOTAUTH },
	{ "ENABLE", cmd_enable, AUTH },
	{ "NAMESPACE", cmd_namespace, AUTH },
	{ "SELECT", cmd_select, AUTH },
	{ "EXAMINE", cmd_select, AUTH },
	{ "CREATE", cmd_create, AUTH },
	{ "DELETE", cmd_delete, AUTH },
	{ "RENAME", cmd_rename, AUTH },
	{ "SUBSCRIBE", cmd_subscribe, AUTH },
	{ "UNSUBSCRIBE", cmd_subscribe, AUTH },
	{ "LIST", cmd_list, AUTH },
	{ "LSUB", cmd_list, AUTH },
	{ "STATUS", cmd_status, AUTH },
	{ "APPEND", cmd_append, AUTH },
	{ "IDLE", cmd_idle, AUTH },
	{ "NOTIFY", cmd_notify, AUTH },
	{ "COMPRESS", cmd_compress, AUTH },
	{ "GETQUOTA", cmd_getquota, AUTH },
	{ "GETQUOTAROOT", cmd_getquotaroot, AUTH },
	{ "SETQUOTA", cmd_setquota, AUTH },
	{ "CHECK", cmd_noop, SEL },
	{ "CLOSE", cmd_close, SEL },
	{ "UNSELECT", cmd_close, SEL },
	{ "EXPUNGE", cmd_expunge, SEL | UID },
	{ "SEARCH", cmd_search, SEL | IMAP_CMD_NOEXPUNGE | UID },
	{ "CANCELUPDATE", cmd_cancelupdate, SEL },
	{ "SORT", cmd_sort, SEL | IMAP_CMD_NOEXPUNGE | UID },
	{ "THREAD", cmd_thread, SEL | IMAP_CMD_NOEXPUNGE | UID },
	{ "FETCH", cmd_fetch, SEL | IMAP_CMD_NOEXPUNGE | UID },
	{ "STORE", cmd_store, SEL | IMAP_CMD_NOEXPUNGE | UID },
	{ "COPY", cmd_copy, SEL | UID },
	{ "MOVE", cmd_copy, SEL | UID },
	{ NULL, NULL, 0 },
};

const struct imap_cmd_def *
imapd_cmd_find(const char *name)
{
	const struct imap_cmd_def *d;

	for (d = imapd_cmds; d->name; d++)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

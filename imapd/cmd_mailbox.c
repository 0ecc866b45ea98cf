/*
 * cmd_mailbox - CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST,
 * and STATUS (LIST and LSUB: cmd_list.c).  Hierarchy separator "/", one
 * personal namespace "".
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "imapd_cmd.h"
#include "imapd_notify.h"
#include "log.h"
#include "mboxname.h"
#include "mutf7.h"
#include "wild.h"
#include "xalloc.h"

static void
cmd_mbox_result(struct imap_cmd *cmd, int r, const char *err)
{
	/* NOTIFY: the client knows what it changed itself */
	if (r == 0)
		imapd_notify_absorb(cmd->s);
	if (r == 0)
		imap_ok(cmd, "%s completed", cmd->c->name);
	else if (r == STORE_ENOENT)
		imap_no(cmd, "[NONEXISTENT] %s", err);
	else if (r == STORE_EEXIST)
		imap_no(cmd, "[ALREADYEXISTS] %s", err);
	else if (r == STORE_EINVAL)
		imap_no(cmd, "[CANNOT] %s", err);
	else
		imap_no(cmd, "[SERVERBUG] %s", err);
}

/*
 * cmd_mbox_utf8 - a UTF-8 session's name (argument i) into the stored
 * form, modified UTF-7, in place; the old string is kept until the
 * handler ends (it may hold a pointer to it).  -1 with *err_r
 */
static int
cmd_mbox_utf8(struct imap_cmd *cmd, size_t i, const char **err_r)
{
	struct imapp_arg *a = &cmd->args[i];
	struct buf m = BUF_INIT;

	if (mutf7_from_utf8(a->str, a->len, &m, err_r) < 0) {
		buf_free(&m);
		return -1;
	}
	cmd->spent =
	    xreallocarray(cmd->spent, cmd->nspent + 1, sizeof(*cmd->spent));
	cmd->spent[cmd->nspent++] = a->str;
	a->len = m.len;
	a->str = m.data ? buf_release(&m) : xstrdup("");
	return 0;
}

int
cmd_mbox_check(struct imap_cmd *cmd, size_t i)
{
	const char *err;

	if (i >= cmd->nargs || !imapp_arg_is_astring(&cmd->args[i]))
		return 0; /* the handler's own check answers */
	if ((!cmd->s->utf8 || cmd_mbox_utf8(cmd, i, &err) == 0) &&
	    mboxname_check(cmd->args[i].str, cmd->args[i].len, &err) == 0)
		return 0;
	log_info("refused %s user=%s addr=%s reason=\"%s\"", cmd->c->name,
	    cmd->s->user, cmd->s->addr, err);
	imap_bad(cmd, "%s", err);
	return -1;
}

/* cmd_create_use - "(USE (\\Sent ...))" (RFC 6154 3) into use bits;
 * -1 malformed (BAD), -2 an attribute berth cannot give (NO [USEATTR]) */
static int
cmd_create_use(const struct imapp_arg *a, uint32_t *use_r)
{
	const struct imapp_arg *l;
	size_t i;
	uint32_t bit;

	*use_r = 0;
	if (a->type != IMAPP_LIST || a->nlist != 2 ||
	    a->list[0].type != IMAPP_ATOM ||
	    strcasecmp(a->list[0].str, "USE") != 0 ||
	    a->list[1].type != IMAPP_LIST)
		return -1;
	l = &a->list[1];
	for (i = 0; i < l->nlist; i++) {
		if (l->list[i].type != IMAPP_ATOM || l->list[i].str[0] != '\\')
			return -1;
		if ((bit = specialuse_bit(l->list[i].str)) == 0)
			return -2;
		*use_r |= bit;
	}
	return 0;
}

void
cmd_create(struct imap_cmd *cmd)
{
	const char *name = imap_astring(cmd, 0), *err;
	struct store_mbox mb;
	uint32_t use = 0;
	char *n;
	int r;

	if (name == NULL || (cmd->nargs != 1 && cmd->nargs != 2)) {
		imap_bad(cmd, "CREATE needs a mailbox name");
		return;
	}
	if (cmd_mbox_check(cmd, 0) < 0)
		return;
	name = imap_astring(cmd, 0); /* the stored form */
	if (cmd->nargs == 2 && (r = cmd_create_use(&cmd->args[1], &use)) < 0) {
		if (r == -2)
			imap_no(cmd, "[USEATTR] Special use not supported");
		else
			imap_bad(cmd, "CREATE takes (USE (attributes))");
		return;
	}
	n = xstrdup(name);
	if (*n && n[strlen(n) - 1] == '/')
		n[strlen(n) - 1] = '\0'; /* "foo/" means foo */
	r = store_mbox_create(cmd->s->st, cmd->s->user, n, &err);
	if (r == 0 && use != 0)
		r = store_mbox_set_use(cmd->s->st, cmd->s->user, n, use, &err);
	if (r == 0)
		log_info("create user=%s mailbox=%s", cmd->s->user, n);
	if (r == 0 &&
	    store_mbox_get(cmd->s->st, cmd->s->user, n, &mb, &err) == 0) {
		/* OBJECTID (RFC 8474 4.1) */
		imapd_notify_absorb(cmd->s);
		imap_ok(cmd, "[MAILBOXID (F%u)] CREATE completed", mb.id);
		free(n);
		return;
	}
	free(n);
	cmd_mbox_result(cmd, r, err);
}

void
cmd_delete(struct imap_cmd *cmd)
{
	const char *name = imap_astring(cmd, 0), *err;
	int r;

	if (name == NULL || cmd->nargs != 1) {
		imap_bad(cmd, "DELETE needs a mailbox name");
		return;
	}
	if (cmd_mbox_check(cmd, 0) < 0)
		return;
	name = imap_astring(cmd, 0); /* the stored form */
	if (cmd->s->state == IMAP_S_SELECTED &&
	    strcmp(cmd->s->view.name, name) == 0)
		view_close(cmd->s);
	r = store_mbox_delete(cmd->s->st, cmd->s->user, name, &err);
	if (r == 0)
		log_info("delete user=%s mailbox=%s", cmd->s->user, name);
	cmd_mbox_result(cmd, r, err);
}

void
cmd_rename(struct imap_cmd *cmd)
{
	const char *from = imap_astring(cmd, 0), *to = imap_astring(cmd, 1);
	const char *err;
	int r;

	if (from == NULL || to == NULL || cmd->nargs != 2) {
		imap_bad(cmd, "RENAME needs two mailbox names");
		return;
	}
	if (cmd_mbox_check(cmd, 0) < 0 || cmd_mbox_check(cmd, 1) < 0)
		return;
	from = imap_astring(cmd, 0); /* the stored forms */
	to = imap_astring(cmd, 1);
	r = store_mbox_rename(cmd->s->st, cmd->s->user, from, to, &err);
	if (r == 0)
		log_info("rename user=%s from=%s to=%s", cmd->s->user, from,
		    to);
	cmd_mbox_result(cmd, r, err);
}

void
cmd_subscribe(struct imap_cmd *cmd)
{
	const char *name = imap_astring(cmd, 0), *err;
	int on = strcmp(cmd->c->name, "SUBSCRIBE") == 0;

	if (name == NULL || cmd->nargs != 1) {
		imap_bad(cmd, "%s needs a mailbox name", cmd->c->name);
		return;
	}
	if (cmd_mbox_check(cmd, 0) < 0)
		return;
	name = imap_astring(cmd, 0); /* the stored form */
	if (store_sub_set(cmd->s->st, cmd->s->user, name, on, &err) < 0)
		cmd_mbox_result(cmd, -1, err);
	else
		cmd_mbox_result(cmd, 0, NULL);
}

/* cmd_status_recent - messages no session has seen as \Recent: those
 * above the mailbox's recent mark still there */
static uint32_t
cmd_status_recent(struct imap_session *s, const struct store_mbox *mb)
{
	struct store_msg *msgs;
	struct store_mbox now;
	const char *err;
	uint32_t n = 0;
	size_t nm, i;

	if (mb->uidnext - 1 <= mb->recentuid)
		return 0;
	if (store_msg_list(s->st, mb->id, &now, &msgs, &nm, &err) != 0)
		return 0;
	for (i = 0; i < nm; i++)
		n += msgs[i].uid > mb->recentuid;
	free(msgs);
	return n;
}

/* cmd_status_deleted - messages with \Deleted (RFC 9051 STATUS DELETED) */
static uint32_t
cmd_status_deleted(struct imap_session *s, const struct store_mbox *mb)
{
	struct store_msg *msgs;
	struct store_mbox now;
	const char *err;
	uint32_t n = 0;
	size_t nm, i;

	if (store_msg_list(s->st, mb->id, &now, &msgs, &nm, &err) != 0)
		return 0;
	for (i = 0; i < nm; i++)
		n += (msgs[i].flags & STORE_F_DELETED) != 0;
	free(msgs);
	return n;
}

int
cmd_status_items(struct imap_session *s, const struct store_mbox *mb,
    const struct imapp_arg *items, size_t n, struct buf *line)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *it = items[i].str;

		if (items[i].type != IMAPP_ATOM)
			return -1;
		buf_puts(line, i ? " " : "");
		if (strcasecmp(it, "MESSAGES") == 0)
			buf_printf(line, "MESSAGES %u", mb->exists);
		else if (strcasecmp(it, "RECENT") == 0 && !s->rev2)
			buf_printf(line, "RECENT %u", cmd_status_recent(s, mb));
		else if (strcasecmp(it, "DELETED") == 0)
			buf_printf(line, "DELETED %u",
			    cmd_status_deleted(s, mb));
		else if (strcasecmp(it, "UIDNEXT") == 0)
			buf_printf(line, "UIDNEXT %u", mb->uidnext);
		else if (strcasecmp(it, "UIDVALIDITY") == 0)
			buf_printf(line, "UIDVALIDITY %u", mb->uidvalidity);
		else if (strcasecmp(it, "UNSEEN") == 0)
			buf_printf(line, "UNSEEN %u", mb->unseen);
		else if (strcasecmp(it, "HIGHESTMODSEQ") == 0)
			buf_printf(line, "HIGHESTMODSEQ %llu",
			    (unsigned long long)mb->highestmodseq);
		else if (strcasecmp(it, "SIZE") == 0)
			buf_printf(line, "SIZE %llu",
			    (unsigned long long)mb->size);
		else if (strcasecmp(it, "MAILBOXID") == 0)
			buf_printf(line, "MAILBOXID (F%u)", mb->id);
		else if (strcasecmp(it, "DELETED-STORAGE") == 0) {
			/* RFC 9208 4.1 */
			uint32_t nd;
			uint64_t sd;
			const char *err;

			if (cmd_quota_deleted(s, mb, &nd, &sd, &err) < 0)
				return -1;
			buf_printf(line, "DELETED-STORAGE %llu",
			    (unsigned long long)((sd + 1023) / 1024));
		} else
			return -1;
	}
	return 0;
}

void
cmd_status_put(struct imap_session *s, const char *name, const struct buf *line)
{
	struct buf q = BUF_INIT;

	imap_put_mbox(s, &q, name);
	io_printf(s, "* STATUS %s (%s)\r\n", buf_cstr(&q),
	    buf_cstr((struct buf *)line));
	buf_free(&q);
}

void
cmd_status(struct imap_cmd *cmd)
{
	const char *name = imap_astring(cmd, 0), *err;
	struct store_mbox mb;
	struct buf line = BUF_INIT;
	int r;

	if (name == NULL || cmd->nargs != 2 ||
	    cmd->args[1].type != IMAPP_LIST || cmd->args[1].nlist == 0) {
		imap_bad(cmd, "STATUS needs a mailbox and a list of items");
		return;
	}
	if (cmd_mbox_check(cmd, 0) < 0)
		return;
	name = imap_astring(cmd, 0); /* the stored form */
	r = store_mbox_get(cmd->s->st, cmd->s->user, name, &mb, &err);
	if (r != 0 || (mb.attrs & STORE_MBOX_NOSELECT)) {
		cmd_mbox_result(cmd, r ? r : STORE_ENOENT,
		    r ? err : "mailbox cannot be selected");
		return;
	}
	if (cmd_status_items(cmd->s, &mb, cmd->args[1].list, cmd->args[1].nlist,
		&line) < 0) {
		buf_free(&line);
		imap_bad(cmd, "Unknown STATUS item");
		return;
	}
	cmd_status_put(cmd->s, name, &line);
	buf_free(&line);
	imap_ok(cmd, "STATUS completed");
}

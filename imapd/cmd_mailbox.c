/*
 * cmd_mailbox - CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST,
 * LSUB and STATUS.  Hierarchy separator "/", one personal namespace "".
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

int
cmd_mbox_check(struct imap_cmd *cmd, size_t i)
{
	const char *err;

	if (i >= cmd->nargs || !imapp_arg_is_astring(&cmd->args[i]))
		return 0;	/* the handler's own check answers */
	if (mboxname_check(cmd->args[i].str, cmd->args[i].len, &err) == 0)
		return 0;
	log_info("refused %s user=%s addr=%s reason=\"%s\"", cmd->c->name,
	    cmd->s->user, cmd->s->addr, err);
	imap_bad(cmd, "%s", err);
	return -1;
}

void
cmd_create(struct imap_cmd *cmd)
{
	const char *name = imap_astring(cmd, 0), *err;
	char *n;
	int r;

	if (name == NULL || cmd->nargs != 1) {
		imap_bad(cmd, "CREATE needs a mailbox name");
		return;
	}
	if (cmd_mbox_check(cmd, 0) < 0)
		return;
	n = xstrdup(name);
	if (*n && n[strlen(n) - 1] == '/')
		n[strlen(n) - 1] = '\0';	/* "foo/" means foo */
	r = store_mbox_create(cmd->s->st, cmd->s->user, n, &err);
	if (r == 0)
		log_info("create user=%s mailbox=%s", cmd->s->user, n);
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
	if (store_sub_set(cmd->s->st, cmd->s->user, name, on, &err) < 0)
		cmd_mbox_result(cmd, -1, err);
	else
		cmd_mbox_result(cmd, 0, NULL);
}

/* parents LSUB reported as \Noselect */
struct cmd_lsub_done {
	char **names;
	size_t n;
};

struct cmd_list_ctx {
	struct imap_cmd *cmd;
	struct wild *pattern;
	struct wild *inbox;	/* pattern for INBOX and its children */
	char **names;
	char **sorted;		/* names in strcmp order (not owned) */
	uint32_t *attrs;
	size_t n;
	int lsub;
};

static int
cmd_list_collect(const char *name, const struct store_mbox *mb, void *vctx)
{
	struct cmd_list_ctx *c = vctx;

	c->names = xreallocarray(c->names, c->n + 1, sizeof(*c->names));
	c->attrs = xreallocarray(c->attrs, c->n + 1, sizeof(*c->attrs));
	c->names[c->n] = xstrdup(name);
	c->attrs[c->n] = mb ? mb->attrs : 0;
	c->n++;
	return 0;
}

static int
cmd_lsub_collect(const char *name, void *vctx)
{
	return cmd_list_collect(name, NULL, vctx);
}

static int
cmd_list_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* cmd_list_has_children - any name below name?  The names below it are
 * the contiguous run of sorted names from the first >= "name/" on: a
 * binary search, where a scan of every name for every name cost n^2 for
 * LIST "*" with many mailboxes */
static int
cmd_list_has_children(struct cmd_list_ctx *c, const char *name)
{
	size_t lo = 0, hi = c->n, mid, l = strlen(name);
	char *key = xasprintf("%s/", name);
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(c->sorted[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	r = lo < c->n && strncmp(c->sorted[lo], key, l + 1) == 0;
	free(key);
	return r;
}

/*
 * cmd_list_inbox - pattern with the leading letters that spell the start
 * of "INBOX" (in any case, before any wildcard) upper-cased: INBOX is
 * case-insensitive, so LIST "" inbox* and i% list it (matched against
 * INBOX and its children only)
 */
static char *
cmd_list_inbox(const char *pattern)
{
	char *p = xstrdup(pattern);
	size_t i;

	for (i = 0; i < 5 && p[i] && toupper((unsigned char)p[i]) ==
	    "INBOX"[i]; i++)
		p[i] = "INBOX"[i];
	return p;
}

/* cmd_list_is_inbox - INBOX or a name below it */
static int
cmd_list_is_inbox(const char *name)
{
	return strncmp(name, "INBOX", 5) == 0 && (name[5] == '\0' ||
	    name[5] == '/');
}

/* cmd_list_match - does name match (the INBOX form for INBOX's names)? */
static int
cmd_list_match(struct cmd_list_ctx *c, const char *name, size_t len)
{
	return wild_match(cmd_list_is_inbox(name) ? c->inbox : c->pattern,
	    name, len);
}

/* cmd_list_sorted_has - is name one of the sorted names? */
static int
cmd_list_sorted_has(struct cmd_list_ctx *c, const char *name)
{
	size_t lo = 0, hi = c->n, mid;
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((r = strcmp(c->sorted[mid], name)) == 0)
			return 1;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/*
 * cmd_lsub_parents - LSUB of a subscribed name the pattern does not
 * match: each parent the pattern matches, not subscribed itself and not
 * yet reported, is listed with \Noselect (RFC 3501 6.3.9: LSUB "" foo/%
 * with foo/bar/baz subscribed gives foo/bar)
 */
static void
cmd_lsub_parents(struct cmd_list_ctx *c, const char *name,
    struct cmd_lsub_done *done)
{
	struct imap_session *s = c->cmd->s;
	struct buf line = BUF_INIT;
	const char *sl;
	char *parent;
	size_t i;

	for (sl = strchr(name, '/'); sl != NULL; sl = strchr(sl + 1, '/')) {
		parent = xstrndup(name, (size_t)(sl - name));
		if (cmd_list_match(c, parent, strlen(parent)) &&
		    !cmd_list_sorted_has(c, parent)) {
			for (i = 0; i < done->n &&
			    strcmp(done->names[i], parent) != 0; i++)
				;
			if (i == done->n) {
				done->names = xreallocarray(done->names,
				    done->n + 1, sizeof(*done->names));
				done->names[done->n++] = xstrdup(parent);
				buf_reset(&line);
				buf_puts(&line, "* LSUB (\\Noselect) \"/\" ");
				imapp_put_astring(&line, parent,
				    strlen(parent));
				io_printf(s, "%s\r\n", buf_cstr(&line));
			}
		}
		free(parent);
	}
	buf_free(&line);
}

void
cmd_list(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const char *ref = imap_astring(cmd, 0), *pat = imap_astring(cmd, 1);
	struct cmd_list_ctx c;
	struct cmd_lsub_done done = { NULL, 0 };
	struct buf line = BUF_INIT;
	const char *err, *name;
	char *pattern, *ipattern;
	size_t i;

	if (ref == NULL || pat == NULL || cmd->nargs != 2) {
		imap_bad(cmd, "%s needs a reference and a pattern",
		    cmd->c->name);
		return;
	}
	if (cmd_mbox_check(cmd, 0) < 0 || cmd_mbox_check(cmd, 1) < 0)
		return;
	memset(&c, 0, sizeof(c));
	c.cmd = cmd;
	c.lsub = strcmp(cmd->c->name, "LSUB") == 0;
	if (*pat == '\0' && !c.lsub) {
		io_printf(s, "* LIST (\\Noselect) \"/\" \"\"\r\n");
		imap_ok(cmd, "LIST completed");
		return;
	}
	pattern = xasprintf("%s%s", ref, pat);
	c.pattern = wild_compile(pattern, strlen(pattern), '/');
	ipattern = cmd_list_inbox(pattern);
	c.inbox = wild_compile(ipattern, strlen(ipattern), '/');
	free(ipattern);
	free(pattern);
	if (c.lsub)
		store_sub_list(s->st, s->user, cmd_lsub_collect, &c, &err);
	else
		store_mbox_list(s->st, s->user, cmd_list_collect, &c, &err);
	if (c.n > 0) {
		c.sorted = xmemdup(c.names, c.n * sizeof(*c.names));
		qsort(c.sorted, c.n, sizeof(*c.sorted), cmd_list_cmp);
	}
	for (i = 0; i < c.n; i++) {
		name = c.names[i];
		if (!cmd_list_match(&c, name, strlen(name))) {
			if (c.lsub)
				cmd_lsub_parents(&c, name, &done);
			continue;
		}
		buf_reset(&line);
		if (c.lsub)
			buf_puts(&line, "* LSUB () \"/\" ");
		else
			buf_printf(&line, "* LIST (%s%s) \"/\" ",
			    c.attrs[i] & STORE_MBOX_NOSELECT ? "\\Noselect " :
			    "", cmd_list_has_children(&c, name) ?
			    "\\HasChildren" : "\\HasNoChildren");
		imapp_put_astring(&line, name, strlen(name));
		io_printf(s, "%s\r\n", buf_cstr(&line));
	}
	for (i = 0; i < c.n; i++)
		free(c.names[i]);
	free(c.names);
	free(c.sorted);
	free(c.attrs);
	for (i = 0; i < done.n; i++)
		free(done.names[i]);
	free(done.names);
	wild_free(&c.pattern);
	wild_free(&c.inbox);
	buf_free(&line);
	imap_ok(cmd, "%s completed", cmd->c->name);
}

/* cmd_status_recent - messages no session has seen as \Recent: those
 * above the mailbox's recent mark still there */
static uint32_t
cmd_status_recent(struct imap_cmd *cmd, const struct store_mbox *mb)
{
	struct store_msg *msgs;
	struct store_mbox now;
	const char *err;
	uint32_t n = 0;
	size_t nm, i;

	if (mb->uidnext - 1 <= mb->recentuid)
		return 0;
	if (store_msg_list(cmd->s->st, mb->id, &now, &msgs, &nm, &err) != 0)
		return 0;
	for (i = 0; i < nm; i++)
		n += msgs[i].uid > mb->recentuid;
	free(msgs);
	return n;
}

void
cmd_status(struct imap_cmd *cmd)
{
	const char *name = imap_astring(cmd, 0), *err;
	struct store_mbox mb;
	struct buf line = BUF_INIT;
	const struct imapp_arg *items;
	size_t i;
	int r;

	if (name == NULL || cmd->nargs != 2 ||
	    cmd->args[1].type != IMAPP_LIST || cmd->args[1].nlist == 0) {
		imap_bad(cmd, "STATUS needs a mailbox and a list of items");
		return;
	}
	if (cmd_mbox_check(cmd, 0) < 0)
		return;
	r = store_mbox_get(cmd->s->st, cmd->s->user, name, &mb, &err);
	if (r != 0 || (mb.attrs & STORE_MBOX_NOSELECT)) {
		cmd_mbox_result(cmd, r ? r : STORE_ENOENT, r ? err :
		    "mailbox cannot be selected");
		return;
	}
	items = cmd->args[1].list;
	for (i = 0; i < cmd->args[1].nlist; i++) {
		const char *it = items[i].str;

		if (items[i].type != IMAPP_ATOM)
			goto bad;
		buf_puts(&line, i ? " " : "");
		if (strcasecmp(it, "MESSAGES") == 0)
			buf_printf(&line, "MESSAGES %u", mb.exists);
		else if (strcasecmp(it, "RECENT") == 0)
			buf_printf(&line, "RECENT %u", cmd_status_recent(cmd,
			    &mb));
		else if (strcasecmp(it, "UIDNEXT") == 0)
			buf_printf(&line, "UIDNEXT %u", mb.uidnext);
		else if (strcasecmp(it, "UIDVALIDITY") == 0)
			buf_printf(&line, "UIDVALIDITY %u", mb.uidvalidity);
		else if (strcasecmp(it, "UNSEEN") == 0)
			buf_printf(&line, "UNSEEN %u", mb.unseen);
		else if (strcasecmp(it, "HIGHESTMODSEQ") == 0)
			buf_printf(&line, "HIGHESTMODSEQ %llu",
			    (unsigned long long)mb.highestmodseq);
		else if (strcasecmp(it, "SIZE") == 0)
			buf_printf(&line, "SIZE %llu",
			    (unsigned long long)mb.size);
		else
			goto bad;
	}
	io_printf(cmd->s, "* STATUS ");
	{
		struct buf q = BUF_INIT;

		imapp_put_astring(&q, name, strlen(name));
		io_printf(cmd->s, "%s (%s)\r\n", buf_cstr(&q),
		    buf_cstr(&line));
		buf_free(&q);
	}
	buf_free(&line);
	imap_ok(cmd, "STATUS completed");
	return;
bad:
	buf_free(&line);
	imap_bad(cmd, "Unknown STATUS item");
}

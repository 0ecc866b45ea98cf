/*
 * cmd_list - LIST with LIST-EXTENDED (RFC 5258: selection options
 * SUBSCRIBED, RECURSIVEMATCH, SPECIAL-USE, REMOTE; several patterns;
 * RETURN SUBSCRIBED, CHILDREN, SPECIAL-USE, STATUS of LIST-STATUS, RFC
 * 5819) and LSUB.  INBOX matches in any case; special-use attributes
 * (RFC 6154) are always shown.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "imapd_cmd.h"
#include "list_opts.h"
#include "log.h"
#include "mboxname.h"
#include "mutf7.h"
#include "wild.h"
#include "xalloc.h"

/* one name LIST may report */
struct list_ent {
	char *name;
	uint32_t attrs;	       /* STORE_MBOX_* of the mailbox */
	unsigned exists : 1;   /* a mailbox (or a placeholder parent) */
	unsigned sub : 1;      /* subscribed */
	unsigned childsub : 1; /* a name below it is subscribed */
};

struct list_ctx {
	struct imap_cmd *cmd;
	struct wild **pats, **ipats; /* ipats: the INBOX form of each */
	size_t npat;
	struct list_ent *mboxes; /* every mailbox, by name */
	size_t nmbox;
	char **subs; /* subscriptions, by name */
	size_t nsub;
	unsigned sel, ret;
	const struct imapp_arg *status; /* RETURN STATUS items */
	int lsub;
};

static int
list_collect(const char *name, const struct store_mbox *mb, void *vctx)
{
	struct list_ctx *c = vctx;
	struct list_ent *e;

	c->mboxes = xreallocarray(c->mboxes, c->nmbox + 1, sizeof(*c->mboxes));
	e = &c->mboxes[c->nmbox++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	e->attrs = mb->attrs;
	e->exists = 1;
	return 0;
}

static int
list_collect_sub(const char *name, void *vctx)
{
	struct list_ctx *c = vctx;

	c->subs = xreallocarray(c->subs, c->nsub + 1, sizeof(*c->subs));
	c->subs[c->nsub++] = xstrdup(name);
	return 0;
}

static int
list_ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct list_ent *)a)->name,
	    ((const struct list_ent *)b)->name);
}

static int
list_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list_find - the mailbox named name, NULL if none (binary search) */
static struct list_ent *
list_find(struct list_ctx *c, const char *name)
{
	struct list_ent key;

	key.name = (char *)name;
	return c->nmbox ? bsearch(&key, c->mboxes, c->nmbox, sizeof(*c->mboxes),
			      list_ent_cmp)
			: NULL;
}

/* list_subscribed - is name subscribed? */
static int
list_subscribed(struct list_ctx *c, const char *name)
{
	return c->nsub &&
	    bsearch(&name, c->subs, c->nsub, sizeof(*c->subs), list_str_cmp) !=
	    NULL;
}

/* list_has_below - is a name below name ("name/...") among the sorted
 * names (each a char * at every stride bytes from names, n of them)? */
static int
list_has_below(char *const *names, size_t n, size_t stride, const char *name)
{
	size_t lo = 0, hi = n, mid, l = strlen(name);
	char *key = xasprintf("%s/", name);
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(*(char *const *)((const char *)names + mid * stride),
			key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	r = lo < n &&
	    strncmp(*(char *const *)((const char *)names + lo * stride), key,
		l + 1) == 0;
	free(key);
	return r;
}

/* list_inbox_form - pat with the leading letters that spell the start
 * of "INBOX" (any case, before a wildcard) upper-cased */
static char *
list_inbox_form(const char *pat)
{
	char *p = xstrdup(pat);
	size_t i;

	for (i = 0; i < 5 && p[i] && toupper((unsigned char)p[i]) == "INBOX"[i];
	     i++)
		p[i] = "INBOX"[i];
	return p;
}

static void
list_add_pattern(struct list_ctx *c, const char *ref, const char *pat)
{
	char *full = xasprintf("%s%s", ref, pat), *in = list_inbox_form(full);

	c->pats = xreallocarray(c->pats, c->npat + 1, sizeof(*c->pats));
	c->ipats = xreallocarray(c->ipats, c->npat + 1, sizeof(*c->ipats));
	c->pats[c->npat] = wild_compile(full, strlen(full), '/');
	c->ipats[c->npat++] = wild_compile(in, strlen(in), '/');
	free(full);
	free(in);
}

/* list_add_utf8 - a pattern of a LIST-EXTENDED list: in the stored
 * form (a UTF-8 session's converted) and checked as a single one is;
 * -1 answered */
static int
list_add_utf8(struct list_ctx *c, const char *ref, const struct imapp_arg *p)
{
	struct imap_session *s = c->cmd->s;
	struct buf m = BUF_INIT;
	const char *err = NULL;
	int r;

	r = s->utf8 ? mutf7_from_utf8(p->str, p->len, &m, &err)
		    : buf_append(&m, p->str, p->len);
	if (r == 0 && mboxname_check(buf_cstr(&m), m.len, &err) == 0) {
		list_add_pattern(c, ref, buf_cstr(&m));
		buf_free(&m);
		return 0;
	}
	buf_free(&m);
	log_info("refused LIST user=%s addr=%s reason=\"%s\"", s->user, s->addr,
	    err);
	imap_bad(c->cmd, "%s", err);
	return -1;
}

/* list_match - does name match a pattern (INBOX's names: the INBOX
 * form)? */
static int
list_match(struct list_ctx *c, const char *name)
{
	int inbox = strncmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == '/');
	size_t i;

	for (i = 0; i < c->npat; i++)
		if (wild_match(inbox ? c->ipats[i] : c->pats[i], name,
			strlen(name)))
			return 1;
	return 0;
}

/* list_parse - the arguments (list_opts) with every name checked as
 * a mailbox name and the patterns compiled; -1 after a tagged BAD */
static int
list_parse(struct list_ctx *c)
{
	struct imap_cmd *cmd = c->cmd;
	struct imap_session *s = cmd->s;
	struct list_opts o;
	const char *err;
	size_t k;

	if (list_opts_parse(cmd->args, cmd->nargs, c->lsub, &o, &err) < 0) {
		log_info("refused %s user=%s addr=%s reason=\"%s\"",
		    cmd->c->name, s->user, s->addr, err);
		imap_bad(cmd, "%s", err);
		return -1;
	}
	c->sel = o.sel;
	c->ret = o.ret;
	c->status = o.status;
	if (cmd_mbox_check(cmd, o.ref_i) < 0)
		return -1; /* answered */
	if (!o.pat_list) {
		if (cmd_mbox_check(cmd, o.ref_i + 1) < 0)
			return -1;
		list_add_pattern(c, o.ref->str, o.pats[0].str);
		return 0;
	}
	for (k = 0; k < o.npat; k++)
		if (list_add_utf8(c, o.ref->str, &o.pats[k]) < 0)
			return -1; /* answered */
	return 0;
}

/* list_candidates - the names to consider, by name: every mailbox, or
 * (SUBSCRIBED) every subscription and with RECURSIVEMATCH their
 * parents */
static struct list_ent *
list_candidates(struct list_ctx *c, size_t *n_r)
{
	struct list_ent *v = NULL, *m;
	size_t n = 0, i, o;
	const char *sl;

	if (!(c->sel & LIST_SEL_SUBSCRIBED)) {
		v = xcalloc(c->nmbox + 1, sizeof(*v));
		for (i = 0; i < c->nmbox; i++) {
			v[i] = c->mboxes[i];
			v[i].name = xstrdup(c->mboxes[i].name);
			v[i].sub = list_subscribed(c, v[i].name) != 0;
			v[i].childsub = (c->sel & LIST_SEL_RECURSIVE) &&
			    c->nsub > 0 &&
			    list_has_below(c->subs, c->nsub, sizeof(*c->subs),
				v[i].name);
		}
		*n_r = c->nmbox;
		return v;
	}
	for (i = 0; i < c->nsub; i++) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		memset(&v[n], 0, sizeof(v[n]));
		v[n].name = xstrdup(c->subs[i]);
		v[n++].sub = 1;
		for (sl = strchr(c->subs[i], '/');
		     sl != NULL && (c->sel & LIST_SEL_RECURSIVE);
		     sl = strchr(sl + 1, '/')) {
			v = xreallocarray(v, n + 1, sizeof(*v));
			memset(&v[n], 0, sizeof(v[n]));
			v[n].name =
			    xstrndup(c->subs[i], (size_t)(sl - c->subs[i]));
			v[n++].childsub = 1;
		}
	}
	if (n > 0)
		xqsort(v, n, sizeof(*v), list_ent_cmp);
	for (i = o = 0; i < n; i++) {
		if (o > 0 && strcmp(v[o - 1].name, v[i].name) == 0) {
			v[o - 1].sub |= v[i].sub;
			v[o - 1].childsub |= v[i].childsub;
			free(v[i].name);
			continue;
		}
		v[o++] = v[i];
	}
	for (i = 0; i < o; i++)
		if ((m = list_find(c, v[i].name)) != NULL) {
			v[i].attrs = m->attrs;
			v[i].exists = 1;
		}
	*n_r = o;
	return v;
}

/* list_status - LIST-STATUS: the STATUS of a selectable mailbox */
static void
list_status(struct list_ctx *c, const char *name)
{
	struct imap_session *s = c->cmd->s;
	struct store_mbox mb;
	struct buf line = BUF_INIT;
	const char *err;

	if (store_mbox_get(s->st, s->user, name, &mb, &err) == 0 &&
	    !(mb.attrs & STORE_MBOX_NOSELECT) &&
	    cmd_status_items(s, &mb, c->status->list, c->status->nlist,
		&line) == 0)
		cmd_status_put(s, name, &line);
	buf_free(&line);
}

/* list_put - one LIST line (and its STATUS) */
static void
list_put(struct list_ctx *c, const struct list_ent *e)
{
	struct imap_session *s = c->cmd->s;
	struct buf line = BUF_INIT, attrs = BUF_INIT;

	if (!e->exists)
		buf_puts(&attrs, " \\NonExistent");
	else if (e->attrs & STORE_MBOX_NOSELECT)
		buf_puts(&attrs, " \\Noselect");
	buf_puts(&attrs,
	    c->nmbox > 0 &&
		    list_has_below(&c->mboxes[0].name, c->nmbox,
			sizeof(*c->mboxes), e->name)
		? " \\HasChildren"
		: " \\HasNoChildren");
	if (e->sub &&
	    (c->sel & LIST_SEL_SUBSCRIBED || c->ret & LIST_RET_SUBSCRIBED))
		buf_puts(&attrs, " \\Subscribed");
	specialuse_put(&attrs, e->attrs);
	buf_printf(&line, "* LIST (%s) \"/\" ", buf_cstr(&attrs) + 1);
	imap_put_mbox(s, &line, e->name);
	if (e->childsub && (c->sel & LIST_SEL_RECURSIVE))
		buf_puts(&line, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	io_printf(s, "%s\r\n", buf_cstr(&line));
	if ((c->ret & LIST_RET_STATUS) && e->exists &&
	    !(e->attrs & STORE_MBOX_NOSELECT))
		list_status(c, e->name);
	buf_free(&line);
	buf_free(&attrs);
}

/* list_lsub_put - LSUB of a subscription, or of a parent the pattern
 * matches where the subscription does not (\Noselect, RFC 3501 6.3.9:
 * LSUB "" foo/% with foo/bar/baz subscribed gives foo/bar) */
static void
list_lsub(struct list_ctx *c, struct list_ent *v, size_t n)
{
	struct imap_session *s = c->cmd->s;
	struct buf line = BUF_INIT;
	char *last = NULL, *parent;
	const char *sl;
	size_t i;

	for (i = 0; i < n; i++) {
		if (list_match(c, v[i].name)) {
			buf_reset(&line);
			buf_puts(&line, "* LSUB () \"/\" ");
			imap_put_mbox(c->cmd->s, &line, v[i].name);
			io_printf(s, "%s\r\n", buf_cstr(&line));
			continue;
		}
		for (sl = strchr(v[i].name, '/'); sl != NULL;
		     sl = strchr(sl + 1, '/')) {
			parent = xstrndup(v[i].name, (size_t)(sl - v[i].name));
			/* subscriptions come by name: a parent repeats
			 * right after itself */
			if (list_match(c, parent) &&
			    !list_subscribed(c, parent) &&
			    (last == NULL || strcmp(last, parent) != 0)) {
				buf_reset(&line);
				buf_puts(&line, "* LSUB (\\Noselect) \"/\" ");
				imap_put_mbox(c->cmd->s, &line, parent);
				io_printf(s, "%s\r\n", buf_cstr(&line));
				free(last);
				last = xstrdup(parent);
			}
			free(parent);
		}
	}
	free(last);
	buf_free(&line);
}

static void
list_free(struct list_ctx *c)
{
	size_t i;

	for (i = 0; i < c->npat; i++) {
		wild_free(&c->pats[i]);
		wild_free(&c->ipats[i]);
	}
	free(c->pats);
	free(c->ipats);
	for (i = 0; i < c->nmbox; i++)
		free(c->mboxes[i].name);
	free(c->mboxes);
	for (i = 0; i < c->nsub; i++)
		free(c->subs[i]);
	free(c->subs);
}

void
cmd_list(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct list_ctx c;
	struct list_ent *v;
	const char *err;
	size_t n, i;

	memset(&c, 0, sizeof(c));
	c.cmd = cmd;
	c.lsub = strcmp(cmd->c->name, "LSUB") == 0;
	if (!c.lsub && cmd->nargs == 2 && imap_astring(cmd, 0) != NULL &&
	    imap_astring(cmd, 1) != NULL && *imap_astring(cmd, 1) == '\0') {
		if (cmd_mbox_check(cmd, 0) < 0)
			return;
		io_printf(s, "* LIST (\\Noselect) \"/\" \"\"\r\n");
		imap_ok(cmd, "LIST completed");
		return;
	}
	if (list_parse(&c) < 0) {
		list_free(&c);
		return;
	}
	if (c.status != NULL) {
		/* every STATUS item must be known before anything goes out */
		struct store_mbox none;
		struct buf t = BUF_INIT;
		int bad;

		memset(&none, 0, sizeof(none));
		none.uidnext = 1;
		bad = cmd_status_items(s, &none, c.status->list,
			  c.status->nlist, &t) < 0;
		buf_free(&t);
		if (bad) {
			imap_bad(cmd, "Unknown STATUS item");
			list_free(&c);
			return;
		}
	}
	if (store_mbox_list(s->st, s->user, list_collect, &c, &err) != 0 ||
	    store_sub_list(s->st, s->user, list_collect_sub, &c, &err) != 0) {
		imap_no(cmd, "[SERVERBUG] %s", err);
		list_free(&c);
		return;
	}
	if (c.nsub > 0)
		xqsort(c.subs, c.nsub, sizeof(*c.subs), list_str_cmp);
	if (c.nmbox > 0)
		xqsort(c.mboxes, c.nmbox, sizeof(*c.mboxes), list_ent_cmp);
	if (c.lsub) {
		c.sel = LIST_SEL_SUBSCRIBED;
		v = list_candidates(&c, &n);
		list_lsub(&c, v, n);
	} else {
		v = list_candidates(&c, &n);
		for (i = 0; i < n; i++) {
			if (!list_match(&c, v[i].name))
				continue;
			if ((c.sel & LIST_SEL_SUBSCRIBED) && !v[i].sub &&
			    !v[i].childsub)
				continue;
			if ((c.sel & LIST_SEL_SPECIALUSE) &&
			    !(v[i].attrs & STORE_MBOX_USE_MASK))
				continue;
			list_put(&c, &v[i]);
		}
	}
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	list_free(&c);
	imap_ok(cmd, "%s completed", cmd->c->name);
}

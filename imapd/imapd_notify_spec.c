/*
 * imapd_notify_spec - the NOTIFY spec: parse the command's arguments
 * (RFC 5465 section 8), tell which events cover a mailbox name, and
 * encode a whole struct imap_notify (spec and table) for the snapshot.
 *
 * Pure functions: no store, no I/O, no session.  Everything from the
 * client or from a snapshot is bounded (imapd_notify.h); a decoder never
 * trusts a length.
 *
 * Grammar notes.  Keywords are case-insensitive.  An event name that is
 * not one of RFC 5465's is an event-ext: unsupported (NO [BADEVENT]), not
 * malformed.  AnnotationChange and the metadata events are refused the
 * same way (berth has no ANNOTATE or METADATA).  Mailbox names are taken
 * as given (no wildcards, RFC 5465 section 6.6); INBOX in any case is
 * INBOX.  A group with the events NONE is accepted and covers nothing.
 *
 * Encoding: a version byte, then varints and length-prefixed strings;
 * table names are prefix-compressed against the previous (sorted) name.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch.h"
#include "imapd_notify.h"
#include "mboxname.h"
#include "mutf7.h"
#include "notify.h"
#include "store.h"
#include "xalloc.h"

#define SPEC_VERSION 1

static char spec_err[256];

static const struct {
	const char *name;
	uint32_t bit;
	int supported;
} spec_events[] = {
	{ "MessageNew", NOTIFY_EV_NEW, 1 },
	{ "MessageExpunge", NOTIFY_EV_EXPUNGE, 1 },
	{ "FlagChange", NOTIFY_EV_FLAGS, 1 },
	{ "AnnotationChange", NOTIFY_EV_ANNOTATION, 0 },
	{ "MailboxName", NOTIFY_EV_MAILBOXNAME, 1 },
	{ "SubscriptionChange", NOTIFY_EV_SUBSCRIPTION, 1 },
	{ "MailboxMetadataChange", NOTIFY_EV_MAILBOXMETA, 0 },
	{ "ServerMetadataChange", NOTIFY_EV_SERVERMETA, 0 },
};

#define SPEC_NEVENTS (sizeof(spec_events) / sizeof(spec_events[0]))
#define SPEC_SUPPORTED                                                         \
	(NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE | NOTIFY_EV_FLAGS |                 \
	    NOTIFY_EV_MAILBOXNAME | NOTIFY_EV_SUBSCRIPTION)
#define SPEC_MSGEV (NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE | NOTIFY_EV_FLAGS)

static const char *spec_filters[] = {
	NULL,
	"inboxes",
	"personal",
	"subscribed",
	"subtree",
	"mailboxes",
};

/* the parse of one command */
struct spec_parse {
	struct imap_notify *n;
	int sel_seen;		 /* selected or selected-delayed given */
	const char *unsupported; /* first unsupported event, or NULL */
	size_t nnames, namelen;
	int utf8; /* names in UTF-8 (UTF8=ACCEPT) */
};

static int spec_fail(int r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* spec_fail - record why the command is refused; returns r */
static int
spec_fail(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(spec_err, sizeof(spec_err), fmt, ap);
	va_end(ap);
	return r;
}

/* spec_atom_is - is a the atom word (any case)? */
static int
spec_atom_is(const struct imapp_arg *a, const char *word)
{
	return a->type == IMAPP_ATOM && strcasecmp(a->str, word) == 0;
}

/* spec_fetch_set - parse text "(fetch-att ...)" into n->fetch */
static int
spec_fetch_set(struct imap_notify *n, const char *text)
{
	struct imapp_cmd c;
	const char *err;
	char *wire = xasprintf("x FETCH 1 %s\r\n", text);
	int r = -1;

	if (imapp_parse(wire, strlen(wire), &c, &err) == 0 && c.nargs == 2 &&
	    c.args[1].type == IMAPP_LIST) {
		n->fetch = fetch_parse(&c.args[1], 1, 1, &err);
		if (n->fetch != NULL) {
			n->fetch_text = xstrdup(text);
			r = 0;
		} else {
			spec_fail(NOTIFY_SPEC_BAD, "MessageNew: %s", err);
		}
	} else {
		spec_fail(NOTIFY_SPEC_BAD,
		    "MessageNew: malformed fetch "
		    "attributes");
	}
	imapp_cmd_free(&c);
	free(wire);
	return r;
}

/* spec_parse_fetch - MessageNew's fetch attribute list */
static int
spec_parse_fetch(struct spec_parse *p, const struct imapp_arg *a)
{
	struct buf text = BUF_INIT;
	size_t i;
	int r;

	if (p->n->fetch != NULL)
		return spec_fail(NOTIFY_SPEC_BAD,
		    "MessageNew fetch "
		    "attributes given twice");
	if (a->nlist == 0)
		return spec_fail(NOTIFY_SPEC_BAD,
		    "MessageNew: empty fetch "
		    "attribute list");
	buf_putc(&text, '(');
	for (i = 0; i < a->nlist; i++) {
		if (a->list[i].type != IMAPP_ATOM) {
			buf_free(&text);
			return spec_fail(NOTIFY_SPEC_BAD,
			    "MessageNew: fetch "
			    "attributes must be atoms");
		}
		buf_printf(&text, "%s%s", i ? " " : "", a->list[i].str);
	}
	buf_putc(&text, ')');
	if (text.len > NOTIFY_MAX_FETCH_LEN)
		r = spec_fail(NOTIFY_SPEC_LIMIT,
		    "MessageNew fetch attributes "
		    "too long (limit %d bytes)",
		    NOTIFY_MAX_FETCH_LEN);
	else
		r = spec_fetch_set(p->n, buf_cstr(&text)) < 0 ? NOTIFY_SPEC_BAD
							      : 0;
	buf_free(&text);
	return r;
}

/* spec_event_bit - the NOTIFY_EV_* of an event name, 0 if unknown */
static uint32_t
spec_event_bit(const char *name, int *supported_r)
{
	size_t i;

	for (i = 0; i < SPEC_NEVENTS; i++)
		if (strcasecmp(name, spec_events[i].name) == 0) {
			*supported_r = spec_events[i].supported;
			return spec_events[i].bit;
		}
	*supported_r = 0;
	return 0;
}

/* spec_events_check - RFC 5465 section 5's rules on one event list */
static int
spec_events_check(uint32_t ev, int selected)
{
	uint32_t both = NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE;

	if ((ev & both) != 0 && (ev & both) != both)
		return spec_fail(NOTIFY_SPEC_BAD,
		    "MessageNew and "
		    "MessageExpunge must be given together");
	if ((ev & (NOTIFY_EV_FLAGS | NOTIFY_EV_ANNOTATION)) &&
	    (ev & both) != both)
		return spec_fail(NOTIFY_SPEC_BAD,
		    "FlagChange and "
		    "AnnotationChange need MessageNew and MessageExpunge");
	if (selected && (ev & ~(uint32_t)NOTIFY_EV_MESSAGE))
		return spec_fail(NOTIFY_SPEC_BAD,
		    "selected and "
		    "selected-delayed take message events only");
	return 0;
}

/* spec_parse_events - "(event ...)" or NONE into *ev_r */
static int
spec_parse_events(struct spec_parse *p, const struct imapp_arg *a, int selected,
    uint32_t *ev_r)
{
	const struct imapp_arg *e;
	uint32_t bit;
	size_t i;
	int ok, r;

	*ev_r = 0;
	if (spec_atom_is(a, "NONE"))
		return 0;
	if (a->type != IMAPP_LIST)
		return spec_fail(NOTIFY_SPEC_BAD,
		    "expected a parenthesised "
		    "event list or NONE");
	if (a->nlist == 0)
		return spec_fail(NOTIFY_SPEC_BAD, "empty event list");
	for (i = 0; i < a->nlist; i++) {
		e = &a->list[i];
		if (e->type != IMAPP_ATOM)
			return spec_fail(NOTIFY_SPEC_BAD,
			    "expected an event "
			    "name");
		bit = spec_event_bit(e->str, &ok);
		if (!ok && p->unsupported == NULL)
			p->unsupported = bit ? e->str : "an unknown event";
		*ev_r |= bit;
		if (bit != NOTIFY_EV_NEW || i + 1 >= a->nlist ||
		    a->list[i + 1].type != IMAPP_LIST)
			continue;
		if (!selected)
			return spec_fail(NOTIFY_SPEC_BAD,
			    "MessageNew fetch "
			    "attributes are only for selected and "
			    "selected-delayed");
		if ((r = spec_parse_fetch(p, &a->list[++i])) < 0)
			return r;
	}
	return spec_events_check(*ev_r, selected);
}

/* spec_add_name - one mailbox name of a subtree or mailboxes filter */
static int
spec_add_name(struct spec_parse *p, struct notify_group *g,
    const struct imapp_arg *a)
{
	const char *err = "invalid mailbox name";
	struct buf m = BUF_INIT;
	char *name;

	if (!imapp_arg_is_astring(a))
		return spec_fail(NOTIFY_SPEC_BAD, "expected a mailbox name");
	if (a->len > NOTIFY_MAX_NAME)
		return spec_fail(NOTIFY_SPEC_BAD, "invalid mailbox name");
	/* a UTF-8 session's name in the stored form, modified UTF-7 */
	if ((p->utf8 ? mutf7_from_utf8(a->str, a->len, &m, &err)
		     : buf_append(&m, a->str, a->len)) < 0 ||
	    m.len > NOTIFY_MAX_NAME ||
	    mboxname_check(buf_cstr(&m), m.len, &err) < 0) {
		if (m.len > NOTIFY_MAX_NAME)
			err = "invalid mailbox name";
		buf_free(&m);
		return spec_fail(NOTIFY_SPEC_BAD, "%s", err);
	}
	if (++p->nnames > NOTIFY_MAX_NAMES ||
	    (p->namelen += m.len) > NOTIFY_MAX_NAMES_LEN) {
		buf_free(&m);
		return spec_fail(NOTIFY_SPEC_LIMIT,
		    "too many mailbox names "
		    "(limit %d names, %d bytes)",
		    NOTIFY_MAX_NAMES, NOTIFY_MAX_NAMES_LEN);
	}
	name = xstrdup(buf_cstr(&m));
	buf_free(&m);
	if (strncasecmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == '/'))
		memcpy(name, "INBOX", 5);
	g->names = xreallocarray(g->names, g->nnames + 1, sizeof(*g->names));
	g->names[g->nnames++] = name;
	return 0;
}

/* spec_parse_names - one-or-more-mailbox */
static int
spec_parse_names(struct spec_parse *p, struct notify_group *g,
    const struct imapp_arg *a)
{
	size_t i;
	int r;

	if (a->type != IMAPP_LIST)
		return spec_add_name(p, g, a);
	if (a->nlist == 0)
		return spec_fail(NOTIFY_SPEC_BAD, "empty mailbox list");
	for (i = 0; i < a->nlist; i++)
		if ((r = spec_add_name(p, g, &a->list[i])) < 0)
			return r;
	return 0;
}

static void
spec_group_free(struct notify_group *g)
{
	size_t i;

	for (i = 0; i < g->nnames; i++)
		free(g->names[i]);
	free(g->names);
	g->names = NULL;
	g->nnames = 0;
}

/* spec_parse_selected - (selected events) / (selected-delayed events) */
static int
spec_parse_selected(struct spec_parse *p, const struct imapp_arg *g)
{
	const char *f = g->list[0].str;

	if (g->nlist != 2)
		return spec_fail(NOTIFY_SPEC_BAD, "%s takes one event list", f);
	if (p->sel_seen)
		return spec_fail(NOTIFY_SPEC_BAD,
		    "only one of selected and "
		    "selected-delayed may be given");
	p->sel_seen = 1;
	p->n->sel_delayed = strcasecmp(f, "selected-delayed") == 0;
	return spec_parse_events(p, &g->list[1], 1, &p->n->sel_events);
}

/* spec_parse_group - "(" filter-mailboxes SP events ")" */
static int
spec_parse_group(struct spec_parse *p, const struct imapp_arg *a)
{
	struct notify_group g;
	const char *f;
	int named, r = 0;

	if (a->type != IMAPP_LIST || a->nlist == 0 ||
	    a->list[0].type != IMAPP_ATOM)
		return spec_fail(NOTIFY_SPEC_BAD,
		    "expected an event group: "
		    "(filter events)");
	f = a->list[0].str;
	if (strcasecmp(f, "selected") == 0 ||
	    strcasecmp(f, "selected-delayed") == 0)
		return spec_parse_selected(p, a);
	memset(&g, 0, sizeof(g));
	for (g.filter = NOTIFY_F_INBOXES; g.filter <= NOTIFY_F_MAILBOXES;
	     g.filter++)
		if (strcasecmp(f, spec_filters[g.filter]) == 0)
			break;
	if (g.filter > NOTIFY_F_MAILBOXES)
		return spec_fail(NOTIFY_SPEC_BAD,
		    "unknown mailbox filter "
		    "'%.64s'",
		    f);
	named = g.filter == NOTIFY_F_SUBTREE || g.filter == NOTIFY_F_MAILBOXES;
	if (a->nlist != (named ? 3u : 2u))
		return spec_fail(NOTIFY_SPEC_BAD,
		    named ? "%s takes mailbox "
			    "names and one event list"
			  : "%s takes one event list",
		    spec_filters[g.filter]);
	if (p->n->ngroups >= NOTIFY_MAX_GROUPS)
		return spec_fail(NOTIFY_SPEC_LIMIT,
		    "too many event groups "
		    "(limit %d)",
		    NOTIFY_MAX_GROUPS);
	if (named)
		r = spec_parse_names(p, &g, &a->list[1]);
	if (r == 0)
		r = spec_parse_events(p, &a->list[a->nlist - 1], 0, &g.events);
	if (r < 0) {
		spec_group_free(&g);
		return r;
	}
	p->n->groups = xreallocarray(p->n->groups, p->n->ngroups + 1,
	    sizeof(*p->n->groups));
	p->n->groups[p->n->ngroups++] = g;
	return 0;
}

/* spec_derive - what the groups imply for tracking and waking */
static void
spec_derive(struct imap_notify *n)
{
	size_t i;

	n->list_events = 0;
	n->track_list = n->track_subs = 0;
	for (i = 0; i < n->ngroups; i++) {
		const struct notify_group *g = &n->groups[i];

		n->list_events |= g->events &
		    (NOTIFY_EV_MAILBOXNAME | NOTIFY_EV_SUBSCRIPTION);
		if (g->events == 0)
			continue;
		if (g->filter == NOTIFY_F_PERSONAL ||
		    g->filter == NOTIFY_F_SUBTREE ||
		    g->filter == NOTIFY_F_SUBSCRIBED)
			n->track_list = 1;
		if (g->filter == NOTIFY_F_SUBSCRIBED)
			n->track_subs = 1;
	}
	if (n->list_events)
		n->track_list = 1;
	if (n->list_events & NOTIFY_EV_SUBSCRIPTION)
		n->track_subs = 1;
}

int
notify_spec_parse(const struct imapp_arg *args, size_t nargs,
    struct imap_notify **n_r, int *status_r, const char **error_r)
{
	return notify_spec_parse_as(args, nargs, 0, n_r, status_r, error_r);
}

int
notify_spec_parse_as(const struct imapp_arg *args, size_t nargs, int utf8,
    struct imap_notify **n_r, int *status_r, const char **error_r)
{
	struct spec_parse p;
	size_t i = 1;
	int r = 0;

	*n_r = NULL;
	*status_r = 0;
	*error_r = spec_err;
	if (nargs == 0 ||
	    (!spec_atom_is(&args[0], "SET") && !spec_atom_is(&args[0], "NONE")))
		return spec_fail(NOTIFY_SPEC_BAD, "NOTIFY needs SET or NONE");
	if (spec_atom_is(&args[0], "NONE"))
		return nargs == 1 ? 0
				  : spec_fail(NOTIFY_SPEC_BAD,
					"NOTIFY NONE takes no arguments");
	if (i < nargs && spec_atom_is(&args[i], "STATUS")) {
		*status_r = 1;
		i++;
	}
	if (i == nargs)
		return spec_fail(NOTIFY_SPEC_BAD,
		    "NOTIFY SET needs at least "
		    "one event group");
	memset(&p, 0, sizeof(p));
	p.utf8 = utf8;
	p.n = xcalloc(1, sizeof(*p.n));
	for (; i < nargs && r == 0; i++)
		r = spec_parse_group(&p, &args[i]);
	if (r == 0 && p.unsupported != NULL)
		r = spec_fail(NOTIFY_SPEC_BADEVENT, "%.64s is not supported",
		    p.unsupported);
	if (r != 0) {
		notify_spec_free(&p.n);
		return r;
	}
	spec_derive(p.n);
	*n_r = p.n;
	return 0;
}

/* spec_group_covers - does g's filter take name? */
static int
spec_group_covers(const struct notify_group *g, const char *name,
    int subscribed)
{
	size_t i, l;

	switch (g->filter) {
	case NOTIFY_F_INBOXES:
		return strcmp(name, "INBOX") == 0;
	case NOTIFY_F_PERSONAL:
		return 1;
	case NOTIFY_F_SUBSCRIBED:
		return subscribed;
	case NOTIFY_F_SUBTREE:
		for (i = 0; i < g->nnames; i++) {
			l = strlen(g->names[i]);
			if (l == 0 ||
			    (strncmp(name, g->names[i], l) == 0 &&
				(name[l] == '\0' || name[l] == '/')))
				return 1;
		}
		return 0;
	case NOTIFY_F_MAILBOXES:
		for (i = 0; i < g->nnames; i++)
			if (strcmp(name, g->names[i]) == 0)
				return 1;
		return 0;
	}
	return 0;
}

uint32_t
notify_spec_covers(const struct imap_notify *n, const char *name,
    int subscribed)
{
	uint32_t ev = 0;
	size_t i;

	for (i = 0; i < n->ngroups; i++)
		if (spec_group_covers(&n->groups[i], name, subscribed))
			ev |= n->groups[i].events;
	return ev;
}

/* ---- encoding ---- */

static void
enc_var(struct buf *b, uint64_t v)
{
	while (v >= 0x80) {
		buf_putc(b, (int)(v & 0x7f) | 0x80);
		v >>= 7;
	}
	buf_putc(b, (int)v);
}

static void
enc_str(struct buf *b, const char *s, size_t len)
{
	enc_var(b, len);
	buf_append(b, s, len);
}

/* enc_table - the table, names prefix-compressed */
static void
enc_table(struct buf *b, const struct imap_notify *n)
{
	const char *prev = "";
	size_t i, k;

	enc_var(b, n->nmb);
	for (i = 0; i < n->nmb; i++) {
		const struct notify_mbox *m = &n->mb[i];

		for (k = 0; prev[k] && prev[k] == m->name[k]; k++)
			;
		enc_var(b, k);
		enc_str(b, m->name + k, strlen(m->name + k));
		enc_var(b, m->id);
		enc_var(b, m->attrs);
		enc_var(b, m->subscribed);
		if (m->id != 0) {
			enc_var(b, m->uidvalidity);
			enc_var(b, m->messages);
			enc_var(b, m->uidnext);
			enc_var(b, m->modseq);
		}
		prev = m->name;
	}
}

int
notify_spec_encode(const struct imap_notify *n, struct buf *out)
{
	struct buf b = BUF_INIT;
	size_t i, j;
	int r;

	buf_putc(&b, SPEC_VERSION);
	enc_var(&b, (uint64_t)(n->sel_delayed != 0));
	enc_var(&b, n->sel_events);
	enc_str(&b, n->fetch_text ? n->fetch_text : "",
	    n->fetch_text ? strlen(n->fetch_text) : 0);
	enc_var(&b, n->ngroups);
	for (i = 0; i < n->ngroups; i++) {
		enc_var(&b, (uint64_t)n->groups[i].filter);
		enc_var(&b, n->groups[i].events);
		enc_var(&b, n->groups[i].nnames);
		for (j = 0; j < n->groups[i].nnames; j++)
			enc_str(&b, n->groups[i].names[j],
			    strlen(n->groups[i].names[j]));
	}
	enc_var(&b, n->sel_mboxid);
	enc_var(&b, n->sel_smodseq);
	enc_table(&b, n);
	r = buf_append(out, b.data, b.len);
	buf_free(&b);
	return r;
}

/* ---- decoding ---- */

struct dec {
	const unsigned char *p, *end;
	int bad;
};

/* dec_var - a varint of at most max; sets bad otherwise */
static uint64_t
dec_var(struct dec *d, uint64_t max)
{
	uint64_t v = 0;
	unsigned shift = 0;

	for (;;) {
		if (d->p >= d->end || shift > 63) {
			d->bad = 1;
			return 0;
		}
		v |= (uint64_t)(*d->p & 0x7f) << shift;
		shift += 7;
		if (!(*d->p++ & 0x80))
			break;
	}
	if (v > max)
		d->bad = 1;
	return d->bad ? 0 : v;
}

/* dec_str - a string of at most max bytes after prefix[0..plen) */
static char *
dec_str(struct dec *d, const char *prefix, size_t plen, size_t max)
{
	size_t len = (size_t)dec_var(d, max);
	char *s;

	if (d->bad || (size_t)(d->end - d->p) < len ||
	    memchr(d->p, '\0', len) != NULL) {
		d->bad = 1;
		return NULL;
	}
	s = xmalloc(plen + len + 1);
	memcpy(s, prefix, plen);
	memcpy(s + plen, d->p, len);
	s[plen + len] = '\0';
	d->p += len;
	return s;
}

static int
dec_groups(struct dec *d, struct imap_notify *n)
{
	size_t i, j, names = 0;

	n->ngroups = (size_t)dec_var(d, NOTIFY_MAX_GROUPS);
	if (d->bad)
		return -1;
	n->groups = xcalloc(n->ngroups + 1, sizeof(*n->groups));
	for (i = 0; i < n->ngroups; i++) {
		struct notify_group *g = &n->groups[i];

		g->filter = (enum notify_filter)dec_var(d, NOTIFY_F_MAILBOXES);
		g->events = (uint32_t)dec_var(d, SPEC_SUPPORTED);
		g->nnames = (size_t)dec_var(d, NOTIFY_MAX_NAMES);
		if (d->bad || g->filter < NOTIFY_F_INBOXES ||
		    (names += g->nnames) > NOTIFY_MAX_NAMES) {
			g->nnames = 0;
			return -1;
		}
		g->names = xcalloc(g->nnames + 1, sizeof(*g->names));
		for (j = 0; j < g->nnames; j++)
			if ((g->names[j] = dec_str(d, "", 0,
				 NOTIFY_MAX_NAME)) == NULL) {
				g->nnames = j;
				return -1;
			}
	}
	return 0;
}

static int
dec_table(struct dec *d, struct imap_notify *n)
{
	size_t i, k, nmb = (size_t)dec_var(d, NOTIFY_MAX_MBOXES);
	const char *prev = "";

	if (d->bad)
		return -1;
	n->mb = xcalloc(nmb + 1, sizeof(*n->mb));
	for (i = 0; i < nmb; i++) {
		struct notify_mbox *m = &n->mb[i];

		k = (size_t)dec_var(d, strlen(prev));
		if (d->bad ||
		    (m->name = dec_str(d, prev, k, NOTIFY_MAX_NAME)) == NULL)
			return -1;
		n->nmb = i + 1;
		if (i > 0 && strcmp(prev, m->name) >= 0)
			return -1;
		m->id = (uint32_t)dec_var(d, UINT32_MAX);
		m->attrs = (uint32_t)dec_var(d, UINT32_MAX);
		m->subscribed = dec_var(d, 1) != 0;
		if (m->id != 0) {
			m->uidvalidity = (uint32_t)dec_var(d, UINT32_MAX);
			m->messages = (uint32_t)dec_var(d, UINT32_MAX);
			m->uidnext = (uint32_t)dec_var(d, UINT32_MAX);
			m->modseq = dec_var(d, UINT64_MAX);
		}
		if (d->bad)
			return -1;
		prev = m->name;
	}
	return 0;
}

int
notify_spec_decode(const void *data, size_t len, struct imap_notify **n_r)
{
	struct dec d = { data, (const unsigned char *)data + len, 0 };
	struct imap_notify *n = xcalloc(1, sizeof(*n));
	char *fetch;

	*n_r = NULL;
	if (len < 1 || *d.p++ != SPEC_VERSION)
		goto bad;
	n->sel_delayed = dec_var(&d, 1) != 0;
	n->sel_events = (uint32_t)dec_var(&d, SPEC_MSGEV);
	fetch = dec_str(&d, "", 0, NOTIFY_MAX_FETCH_LEN);
	if (fetch == NULL || (*fetch && spec_fetch_set(n, fetch) < 0)) {
		free(fetch);
		goto bad;
	}
	free(fetch);
	if (dec_groups(&d, n) < 0)
		goto bad;
	n->sel_mboxid = (uint32_t)dec_var(&d, UINT32_MAX);
	n->sel_smodseq = dec_var(&d, UINT64_MAX);
	if (d.bad || dec_table(&d, n) < 0 || d.p != d.end)
		goto bad;
	spec_derive(n);
	*n_r = n;
	return 0;
bad:
	notify_spec_free(&n);
	return -1;
}

void
notify_spec_mbox_free(struct notify_mbox *mb, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(mb[i].name);
	free(mb);
}

void
notify_spec_free(struct imap_notify **np)
{
	struct imap_notify *n = *np;
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->ngroups; i++)
		spec_group_free(&n->groups[i]);
	free(n->groups);
	notify_spec_mbox_free(n->mb, n->nmb);
	fetch_free(&n->fetch);
	free(n->fetch_text);
	free(n);
	*np = NULL;
}

/*
 * list_opts - LIST and LSUB arguments (RFC 5258 3, RFC 5819): which
 * options, which reference and patterns.  It owns no memory and knows
 * nothing of mailboxes: cmd_list.c checks names against the mailbox
 * rules and STATUS items against what STATUS supports.  Invariant of a
 * successful parse: ref and every pattern are astrings, npat >= 1,
 * status is set exactly when LIST_RET_STATUS is, and RECURSIVEMATCH
 * comes with an option it qualifies.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "list_opts.h"

/* one kind of LIST option (selection, return): its atoms and flags and
 * what an error says */
struct list_opts_kind {
	const char *not_atom; /* a member that is not an atom */
	const char *unknown;  /* an atom not in names */
	struct {
		const char *name;
		unsigned flag;
	} names[5];
};

static const struct list_opts_kind list_opts_sels = {
	"LIST selection options are atoms",
	"Unknown LIST selection option",
	{ { "SUBSCRIBED", LIST_SEL_SUBSCRIBED },
	    { "RECURSIVEMATCH", LIST_SEL_RECURSIVE },
	    { "SPECIAL-USE", LIST_SEL_SPECIALUSE },
	    { "REMOTE", LIST_SEL_REMOTE }, { NULL, 0 } },
};

static const struct list_opts_kind list_opts_rets = {
	"LIST return options are atoms",
	"Unknown LIST return option",
	{ { "SUBSCRIBED", LIST_RET_SUBSCRIBED },
	    { "CHILDREN", LIST_RET_CHILDREN },
	    { "SPECIAL-USE", LIST_RET_SPECIALUSE },
	    { "STATUS", LIST_RET_STATUS }, { NULL, 0 } },
};

/* list_opts_flags - the options in list l, of kind k, or'ed into
 * *flags; RETURN's STATUS takes the list of items after it into
 * o->status.  -1 with *error_r: not an atom, unknown, STATUS without
 * its one list */
static int
list_opts_flags(struct list_opts *o, const struct imapp_arg *l,
    const struct list_opts_kind *k, unsigned *flags, const char **error_r)
{
	size_t i, j;

	for (i = 0; i < l->nlist; i++) {
		if (l->list[i].type != IMAPP_ATOM) {
			*error_r = k->not_atom;
			return -1;
		}
		for (j = 0; k->names[j].name != NULL; j++)
			if (strcasecmp(l->list[i].str, k->names[j].name) == 0)
				break;
		if (k->names[j].name == NULL) {
			*error_r = k->unknown;
			return -1;
		}
		*flags |= k->names[j].flag;
		if (k == &list_opts_rets &&
		    k->names[j].flag == LIST_RET_STATUS) {
			if (o->status != NULL || i + 1 >= l->nlist ||
			    l->list[i + 1].type != IMAPP_LIST ||
			    l->list[i + 1].nlist == 0) {
				*error_r = "RETURN STATUS needs one list of "
					   "items";
				return -1;
			}
			o->status = &l->list[++i];
		}
	}
	return 0;
}

/* list_opts_sel - "(SUBSCRIBED RECURSIVEMATCH ...)"; -1 unknown */
static int
list_opts_sel(struct list_opts *o, const struct imapp_arg *l,
    const char **error_r)
{
	if (list_opts_flags(o, l, &list_opts_sels, &o->sel, error_r) < 0)
		return -1;
	/* RECURSIVEMATCH qualifies another option (RFC 5258 3.1) */
	if ((o->sel & LIST_SEL_RECURSIVE) &&
	    !(o->sel & (LIST_SEL_SUBSCRIBED | LIST_SEL_SPECIALUSE))) {
		*error_r = "RECURSIVEMATCH needs SUBSCRIBED or SPECIAL-USE";
		return -1;
	}
	return 0;
}

/* list_opts_pats - the pattern argument p: one astring, or (LIST) a
 * non-empty list of them */
static int
list_opts_pats(struct list_opts *o, const struct imapp_arg *p, int lsub)
{
	size_t k;

	if (imapp_arg_is_astring(p)) {
		o->pats = p;
		o->npat = 1;
		return 0;
	}
	if (lsub || p->type != IMAPP_LIST || p->nlist == 0)
		return -1;
	for (k = 0; k < p->nlist; k++)
		if (!imapp_arg_is_astring(&p->list[k]))
			return -1;
	o->pats = p->list;
	o->npat = p->nlist;
	o->pat_list = 1;
	return 0;
}

int
list_opts_parse(const struct imapp_arg *a, size_t n, int lsub,
    struct list_opts *o, const char **error_r)
{
	size_t i = 0;

	memset(o, 0, sizeof(*o));
	if (!lsub && n > 0 && a[0].type == IMAPP_LIST) {
		if (list_opts_sel(o, &a[0], error_r) < 0)
			return -1;
		i = 1;
	}
	if (i + 2 > n || !imapp_arg_is_astring(&a[i]) ||
	    list_opts_pats(o, &a[i + 1], lsub) < 0)
		goto usage;
	o->ref = &a[i];
	o->ref_i = i;
	i += 2;
	if (i < n && !lsub && a[i].type == IMAPP_ATOM &&
	    strcasecmp(a[i].str, "RETURN") == 0 && i + 1 < n &&
	    a[i + 1].type == IMAPP_LIST) {
		if (list_opts_flags(o, &a[i + 1], &list_opts_rets, &o->ret,
			error_r) < 0)
			return -1;
		i += 2;
	}
	if (i == n)
		return 0;
usage:
	*error_r = lsub ? "LSUB needs reference pattern"
			: "LIST needs [options] reference pattern [RETURN "
			  "(options)]";
	return -1;
}

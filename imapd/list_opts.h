/*
 * list_opts - the arguments of LIST and LSUB: LIST-EXTENDED's selection
 * options (RFC 5258 3.1), the reference, one pattern or a list of them
 * (RFC 5258 3), and the RETURN options (RFC 5258 3.2, LIST-STATUS's
 * STATUS of RFC 5819, RFC 6154's SPECIAL-USE).  Pure: no session, no
 * store, no mailbox-name rules (cmd_list.c checks the names, compiles
 * the patterns and the STATUS items; the fuzzer links this alone).
 */
#ifndef BERTH_IMAPD_LIST_OPTS_H
#define BERTH_IMAPD_LIST_OPTS_H

#include <stddef.h>

#include "imapp.h"

#define LIST_SEL_SUBSCRIBED 0x01
#define LIST_SEL_RECURSIVE 0x02
#define LIST_SEL_SPECIALUSE 0x04
#define LIST_SEL_REMOTE 0x08
#define LIST_RET_SUBSCRIBED 0x01
#define LIST_RET_STATUS 0x02
#define LIST_RET_CHILDREN 0x04
#define LIST_RET_SPECIALUSE 0x08

struct list_opts {
	unsigned sel;			/* LIST_SEL_* */
	unsigned ret;			/* LIST_RET_* */
	const struct imapp_arg *ref;	/* the reference (an astring) */
	const struct imapp_arg *pats;	/* npat astrings */
	size_t npat;			/* at least 1 */
	size_t ref_i;			/* ref's index among the args */
	int pat_list;			/* the patterns came as a list */
	const struct imapp_arg *status; /* RETURN STATUS's non-empty list of
					 * items, NULL without it */
};

/*
 * list_opts_parse - read n arguments a (after the command name) of LIST
 * (lsub 0) or LSUB (lsub 1, which takes neither options nor a list of
 * patterns) into o, which points into a.  Returns 0, or -1 with a
 * constant error string for the tagged BAD: an unknown or misplaced
 * option, RECURSIVEMATCH without SUBSCRIBED or SPECIAL-USE, STATUS
 * without a non-empty list of items, an empty list of patterns, a
 * missing or extra argument.  Never blocks; allocates nothing.
 */
int list_opts_parse(const struct imapp_arg *a, size_t n, int lsub,
    struct list_opts *o, const char **error_r);

#endif

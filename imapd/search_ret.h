/*
 * search_ret - the RETURN options of SEARCH (RFC 4731 ESEARCH, RFC 5182
 * SAVE) and SORT (RFC 5267 ESORT), with RFC 5267's CONTEXT, UPDATE and
 * PARTIAL, and the ESEARCH response that answers them.  Pure: no
 * session, no store (cmd_search.c and cmd_sort.c call it; the fuzzer
 * links it alone).
 */
#ifndef BERTH_IMAPD_SEARCH_RET_H
#define BERTH_IMAPD_SEARCH_RET_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "imapp.h"
#include "prange.h"

#define SEARCH_RET_MIN 0x01
#define SEARCH_RET_MAX 0x02
#define SEARCH_RET_ALL 0x04
#define SEARCH_RET_COUNT 0x08
#define SEARCH_RET_SAVE 0x10	/* SEARCHRES (SEARCH only) */
#define SEARCH_RET_CONTEXT 0x20 /* a hint; taken and ignored */
#define SEARCH_RET_UPDATE 0x40	/* keep the result current */
#define SEARCH_RET_PARTIAL 0x80 /* a range of positions in the result */

struct search_ret {
	unsigned opts;	       /* SEARCH_RET_*; RETURN () and RETURN
				* (UPDATE) alone mean ALL */
	struct prange partial; /* PARTIAL's range */
};

/*
 * search_ret_parse - "RETURN (opts)" at args[0..n): 0 without RETURN
 * (r->opts 0), 2 (the arguments it took), or -1 with *error_r.
 * allowed: the SEARCH_RET_* bits the command takes.  PARTIAL takes a
 * range m:n of positions from the first or -m:-n from the last (RFC
 * 9394 4, which extends RFC 5267 4.4); one PARTIAL or one ALL at most.
 */
int search_ret_parse(const struct imapp_arg *args, size_t n, unsigned allowed,
    struct search_ret *r, const char **error_r);
/*
 * search_ret_put - "* ESEARCH (TAG "tag") [UID] ..." (no CRLF) into line
 * for the result nums[0..n): ascending for SEARCH, in sort order for
 * SORT (MIN and MAX are then the first and the last in that order,
 * PARTIAL and ALL keep the order; PARTIAL echoes the range asked and
 * gives NIL when no entry is in it, RFC 9394 3.1)
 */
void search_ret_put(struct buf *line, const char *tag, int uid,
    const struct search_ret *r, const uint32_t *nums, size_t n);
/*
 * search_ret_saved - SEARCHRES with RETURN r (RFC 5182 2.4 and RFC
 * 9394 3.2): which entries of the result nums[0..n) (ascending) "$"
 * keeps, into keep_r (room for n) in ascending order; returns their
 * count.  ALL or COUNT: all; PARTIAL: those it returns with the MIN
 * and MAX entries asked; MIN or MAX alone: those.
 */
size_t search_ret_saved(const struct search_ret *r, const uint32_t *nums,
    size_t n, uint32_t *keep_r);
/* search_ret_put_set - nums[0..n) as a sequence set in their order:
 * runs ascending by one as "a:b" */
void search_ret_put_set(struct buf *line, const uint32_t *nums, size_t n);

#endif

/*
 * fuzz_imapp - libFuzzer target: the IMAP command reader fed in random
 * chunk sizes, then the tokenizer and the sequence-set parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_feed.h"
#include "imapp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_set - ranges sorted, disjoint, not adjacent; contains agrees
 * with a scan around every range end */
static void
check_set(const struct imapp_seqset *ss)
{
	size_t i, j;
	uint32_t probe[4];
	int k, want;

	for (i = 0; i < ss->n; i++) {
		if (ss->ranges[i].lo > ss->ranges[i].hi ||
		    ss->ranges[i].lo == 0)
			abort();
		if (i > 0 &&
		    (uint64_t)ss->ranges[i - 1].hi + 1 >= ss->ranges[i].lo)
			abort();
		probe[0] = ss->ranges[i].lo - 1;
		probe[1] = ss->ranges[i].lo;
		probe[2] = ss->ranges[i].hi;
		probe[3] = ss->ranges[i].hi + 1;
		for (k = 0; k < 4; k++) {
			want = 0;
			for (j = 0; j < ss->n; j++)
				if (probe[k] >= ss->ranges[j].lo &&
				    probe[k] <= ss->ranges[j].hi)
					want = 1;
			if (imapp_seqset_contains(ss, probe[k]) != want)
				abort();
		}
	}
}

/* check_cmd - a first argument that parses as a set is checked */
static void
check_cmd(const struct imapp_cmd *c)
{
	struct imapp_seqset ss;

	if (c->nargs > 0 && c->args[0].type == IMAPP_ATOM &&
	    imapp_seqset_parse(c->args[0].str, 100, &ss) == 0) {
		check_set(&ss);
		imapp_seqset_free(&ss);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_feed(data, size, 512, 512, check_cmd);
	return 0;
}

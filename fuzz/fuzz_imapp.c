/*
 * fuzz_imapp - libFuzzer target: the IMAP command reader fed in random
 * chunk sizes, then the tokenizer and the sequence-set parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
		if (ss->ranges[i].lo > ss->ranges[i].hi || ss->ranges[i].lo == 0)
			abort();
		if (i > 0 && (uint64_t)ss->ranges[i - 1].hi + 1 >=
		    ss->ranges[i].lo)
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imapp_reader r;
	struct imapp_cmd c;
	struct imapp_seqset ss;
	enum imapp_status st;
	const char *err;
	size_t off = 0, used, step;

	if (size == 0)
		return 0;
	step = (data[0] % 17) + 1;
	imapp_reader_init(&r, 512, 512, 4096);
	while (off < size) {
		size_t n = size - off < step ? size - off : step;

		st = imapp_reader_feed(&r, (const char *)data + off, n, &used);
		off += used ? used : n;
		if (st == IMAPP_COMMAND) {
			if (imapp_parse(r.cmd.data, r.cmd.len, &c, &err) == 0 &&
			    c.nargs > 0 && c.args[0].type == IMAPP_ATOM &&
			    imapp_seqset_parse(c.args[0].str, 100, &ss) == 0) {
				check_set(&ss);
				imapp_seqset_free(&ss);
			}
			imapp_cmd_free(&c);
			imapp_reader_reset(&r);
		} else if (st == IMAPP_ELINE || st == IMAPP_ELITERAL) {
			imapp_reader_reset(&r);
		}
	}
	imapp_reader_free(&r);
	return 0;
}

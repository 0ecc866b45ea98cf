/*
 * fuzz_imapp - libFuzzer target: the IMAP command reader fed in random
 * chunk sizes, then the tokenizer and the sequence-set parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "imapp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
			    imapp_seqset_parse(c.args[0].str, 100, &ss) == 0)
				imapp_seqset_free(&ss);
			imapp_cmd_free(&c);
			imapp_reader_reset(&r);
		} else if (st == IMAPP_ELINE || st == IMAPP_ELITERAL) {
			imapp_reader_reset(&r);
		}
	}
	imapp_reader_free(&r);
	return 0;
}

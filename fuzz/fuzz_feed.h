/*
 * fuzz_feed - the command-reading loop shared by the fuzz targets that
 * read IMAP as imapd does: the input is fed to lib/imap's reader in
 * slices (the first byte picks their size, 1..17, so split lines and
 * literals are covered), and each complete command that tokenizes is
 * handed to the target's check.
 */
#ifndef BERTH_FUZZ_FEED_H
#define BERTH_FUZZ_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "imapp.h"

typedef void fuzz_feed_fn(const struct imapp_cmd *c);

/* fuzz_feed - read data with a reader of the given line and literal
 * limits; call check on every command imapp_parse accepts */
static inline void
fuzz_feed(const uint8_t *data, size_t size, size_t maxline, size_t maxlit,
    fuzz_feed_fn *check)
{
	struct imapp_reader r;
	struct imapp_cmd c;
	enum imapp_status st;
	const char *err;
	size_t off = 0, used, step;

	if (size == 0)
		return;
	step = (data[0] % 17) + 1;
	imapp_reader_init(&r, maxline, maxlit, 8 * maxline);
	while (off < size) {
		size_t n = size - off < step ? size - off : step;

		st = imapp_reader_feed(&r, (const char *)data + off, n, &used);
		off += used ? used : n;
		if (st == IMAPP_COMMAND) {
			if (imapp_parse(r.cmd.data, r.cmd.len, &c, &err) == 0)
				check(&c);
			imapp_cmd_free(&c);
			imapp_reader_reset(&r);
		} else if (st == IMAPP_ELINE || st == IMAPP_ELITERAL) {
			imapp_reader_reset(&r);
		}
	}
	imapp_reader_free(&r);
}

#endif

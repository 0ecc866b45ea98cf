/*
 * fuzz_mime - libFuzzer target: parse a message and render everything
 * IMAP asks of it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct mime_part *root = mime_parse(d, size);
	struct buf b = BUF_INIT;
	unsigned path[3] = { 1, 2, 1 };
	const char *names[] = { "subject", "from" };
	long long t;
	int tz;

	mime_envelope(d + root->hdr_off, root->hdr_len, &b);
	mime_bodystructure(root, d, 1, &b);
	mime_body_text(root, d, &b);
	mime_header_fields(d + root->hdr_off, root->hdr_len, names, 2, 1, &b);
	mime_header_get(d + root->hdr_off, root->hdr_len, "subject", 1, 1,
	    &b);
	mime_find_part(root, path, 3);
	mime_decode_words(d, size, &b);
	mime_parse_date(d, size, &t, &tz);
	buf_free(&b);
	mime_free(&root);
	return 0;
}

/*
 * fuzz_mime - libFuzzer target: parse a message and render everything
 * IMAP asks of it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bodystructure.h"
#include "buf.h"
#include "date.h"
#include "envelope.h"
#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_body - BODY/BODYSTRUCTURE text holds no NUL, and its parentheses
 * outside quoted strings and literals balance (lib/mail/mime_parse.c's
 * invariant; the integration test checks the full grammar) */
static void
check_body(const char *s, size_t len)
{
	size_t i;
	long depth = 0;

	if (memchr(s, '\0', len) != NULL)
		abort();
	for (i = 0; i < len; i++) {
		if (s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\r' || s[i] == '\n' ||
				    (unsigned char)s[i] >= 0x80)
					abort();
				if (s[i] == '\\')
					i++;
			}
			if (i >= len)
				abort();
		} else if (s[i] == '{') {
			char *e;
			unsigned long n = strtoul(s + i + 1, &e, 10);

			if (*e != '}' || (size_t)(e - s) + 3 + n > len)
				abort();
			i = (size_t)(e - s) + 2 + n;
		} else if (s[i] == '(') {
			depth++;
		} else if (s[i] == ')' && --depth < 0) {
			abort();
		}
	}
	if (depth != 0)
		abort();
}

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

	bodystructure_write(root, d, 0, &b);
	check_body(b.data, b.len);
	buf_reset(&b);
	bodystructure_write(root, d, 1, &b);
	check_body(b.data, b.len);
	buf_reset(&b);
	envelope_write(d + root->hdr_off, root->hdr_len, &b);
	check_body(b.data, b.len);
	mime_body_text(root, d, &b);
	mime_text_body(root, d, &b);
	mime_text_header(d + root->hdr_off, root->hdr_len, &b);
	mime_html_text(d, size, &b);
	mime_header_fields(d + root->hdr_off, root->hdr_len, names, 2, 1, &b);
	mime_header_get(d + root->hdr_off, root->hdr_len, "subject", 1, 1, &b);
	mime_find_part(root, path, 3);
	mime_decode_words(d, size, &b);
	date_parse_rfc5322(d, size, &t, &tz);
	buf_free(&b);
	mime_free(&root);
	return 0;
}

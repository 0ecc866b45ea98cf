/*
 * fuzz_search - libFuzzer target: SEARCH keys as imapd reads them (the
 * command tokenized by lib/imapp, the keys compiled by imapd/search.c,
 * RETURN options and CHARSET included) and the compiled program matched
 * against a small message whose address headers go through the address
 * parser.  Invariants: a refused program comes with a reason; matching
 * never crashes, whatever the keys.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz_store.h"
#include "imapp.h"
#include "search.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_msg[] =
    "From: \"Ann Example\" <ann@example.com>, bob@example.org (Bob)\r\n"
    "To: Team: carl@example.net, =?UTF-8?Q?D=C3=A9e?= <dee@x>;\r\n"
    "Subject: =?UTF-8?B?SMOpbGxv?= there\r\n"
    "Date: Mon, 2 Feb 2026 10:00:00 +0100\r\n"
    "Content-Type: text/plain\r\n\r\nbody words\r\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf wire = BUF_INIT;
	struct imapp_cmd c;
	struct search_prog *p;
	struct search_msg m;
	struct store_msg rec;
	const char *err = NULL;
	size_t skip = 0;
	int badcs = 0;

	if (size > 4096)
		return 0;
	fuzz_store_set_msg(fuzz_msg, sizeof(fuzz_msg) - 1);
	buf_puts(&wire, "t SEARCH ");
	buf_append(&wire, data, size);
	buf_puts(&wire, "\r\n");
	if (imapp_parse(wire.data, wire.len, &c, &err) == 0) {
		/* RETURN (...) is taken off as cmd_search does */
		if (c.nargs >= 2 && c.args[0].type == IMAPP_ATOM &&
		    strcasecmp(c.args[0].str, "RETURN") == 0 &&
		    c.args[1].type == IMAPP_LIST)
			skip = 2;
		p = search_parse(c.args + skip, c.nargs - skip, &err, &badcs);
		if (p == NULL && err == NULL)
			abort();
		if (p != NULL) {
			memset(&rec, 0, sizeof(rec));
			rec.uid = 7;
			rec.size = sizeof(fuzz_msg) - 1;
			rec.internaldate = 1770000000;
			rec.savedate = 1770000000;
			rec.modseq = 5;
			strcpy(rec.guid,
			    "0123456789abcdef0123456789abcdef01234567");
			strcpy(rec.keywords, "$Work kw");
			memset(&m, 0, sizeof(m));
			m.msgno = 3;
			m.rec = &rec;
			m.maxmsgno = 9;
			m.maxuid = 20;
			(void)search_match(p, &m);
			(void)search_uses_modseq(p);
			search_msg_done(&m);
			search_free(&p);
		}
	}
	imapp_cmd_free(&c);
	buf_free(&wire);
	return 0;
}

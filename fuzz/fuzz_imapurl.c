/*
 * fuzz_imapurl - libFuzzer target: the IMAP URL parser (lib/imap/imapurl,
 * RFC 5092, as CATENATE takes URLs).  Any input either fails cleanly or
 * parses into NUL-free strings; a parsed URL written out again in the
 * canonical form (every byte that is not an unreserved char escaped)
 * parses to the same fields (round trip).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "imapurl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* put - s escaped: only ALPHA / DIGIT / "-._" stay as they are */
static void
put(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')
			buf_putc(b, (char)c);
		else
			buf_printf(b, "%%%02X", c);
	}
}

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
write_url(struct buf *b, const struct imapurl *u)
{
	if (u->host != NULL) {
		buf_puts(b, "imap://");
		if (u->user != NULL) {
			put(b, u->user);
			buf_putc(b, '@');
		}
		if (u->host[0] == '[')
			buf_puts(b, u->host);
		else
			put(b, u->host);
		if (u->port)
			buf_printf(b, ":%u", u->port);
		buf_putc(b, '/');
	}
	if (u->mailbox != NULL) {
		put(b, u->mailbox);
		if (u->uidvalidity)
			buf_printf(b, ";UIDVALIDITY=%u", u->uidvalidity);
		buf_putc(b, '/');
	}
	buf_printf(b, ";UID=%u", u->uid);
	if (u->section != NULL) {
		buf_puts(b, "/;SECTION=");
		put(b, u->section);
	}
	if (u->partial) {
		buf_printf(b, "/;PARTIAL=%u", u->poff);
		if (u->plen)
			buf_printf(b, ".%u", u->plen);
	}
	if (u->urlauth)
		buf_puts(b, ";URLAUTH=anonymous");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imapurl u, v;
	struct buf b = BUF_INIT;
	const char *err = NULL;

	if (imapurl_parse((const char *)data, size, &u, &err) < 0) {
		if (err == NULL)
			abort();
		return 0;
	}
	if (u.uid == 0 || (u.user != NULL && u.host == NULL) ||
	    (u.host != NULL && u.mailbox == NULL))
		abort();
	write_url(&b, &u);
	if (imapurl_parse(b.data, b.len, &v, &err) < 0) {
		/* only a canonical form past the length limit may fail */
		if (b.len <= IMAPURL_MAX_LEN) {
			(void)fprintf(stderr, "round trip: %s: %s\n",
			    buf_cstr(&b), err);
			abort();
		}
	} else {
		if (!same(u.user, v.user) || !same(u.host, v.host) ||
		    u.port != v.port || !same(u.mailbox, v.mailbox) ||
		    u.uidvalidity != v.uidvalidity || u.uid != v.uid ||
		    !same(u.section, v.section) || u.partial != v.partial ||
		    u.poff != v.poff || u.plen != v.plen ||
		    u.urlauth != v.urlauth) {
			(void)fprintf(stderr, "round trip differs: %s\n",
			    buf_cstr(&b));
			abort();
		}
		imapurl_free(&v);
	}
	imapurl_free(&u);
	buf_free(&b);
	return 0;
}

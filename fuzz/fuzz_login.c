/*
 * fuzz_login - libFuzzer target: the LOGIN and AUTHENTICATE argument
 * paths up to the user name rule.  Commands are read and tokenized as
 * imapd does (lib/imapp); LOGIN's user name, and the names in a PLAIN or
 * LOGIN initial response (base64, split as authd splits it), go through
 * uname_canon; every other astring argument through the mailbox name
 * check.  Invariants: a canonical name is 1..UNAME_MAX bytes without
 * NUL, controls or surrounding blanks, and canonical again unchanged; an
 * accepted mailbox name is printable ASCII.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fuzz_feed.h"
#include "imapp.h"
#include "mboxname.h"
#include "uname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_name - run the user name rule and check what it returns */
static void
check_name(const char *s, size_t len)
{
	char out[UNAME_MAX + 1], again[UNAME_MAX + 1];
	const char *err = NULL;
	int n, m, i;

	n = uname_canon(s, len, out, sizeof(out), &err);
	if (n < 0) {
		if (err == NULL)
			abort();
		return;
	}
	if (n == 0 || n > UNAME_MAX || out[n] != '\0' || out[0] == ' ' ||
	    out[0] == '\t' || out[n - 1] == ' ' || out[n - 1] == '\t')
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 ||
		    (unsigned char)out[i] == 0x7f)
			abort();
	m = uname_canon(out, (size_t)n, again, sizeof(again), &err);
	if (m != n || memcmp(out, again, (size_t)n) != 0)
		abort();
}

/* b64 - strict base64 into out; -1 if malformed */
static int
b64(const char *s, size_t len, struct buf *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned v = 0;
	size_t i;
	int bits = 0;
	const char *p;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len && s[i] != '='; i++) {
		if (s[i] == '\0' || (p = strchr(al, s[i])) == NULL)
			return -1;
		v = (v << 6) | (unsigned)(p - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(out, (int)((v >> bits) & 0xff));
		}
	}
	return 0;
}

/* check_ir - an initial response of PLAIN ("authz\0authc\0pass") or
 * LOGIN (the user name) */
static void
check_ir(const char *mech, const struct imapp_arg *a)
{
	struct buf d = BUF_INIT;
	const char *p, *z1, *z2;

	if (a->type != IMAPP_ATOM || b64(a->str, a->len, &d) < 0 ||
	    d.len == 0) {
		buf_free(&d);
		return;
	}
	p = d.data;
	if (strcasecmp(mech, "LOGIN") == 0) {
		check_name(p, d.len);
	} else if (strcasecmp(mech, "PLAIN") == 0 &&
	    (z1 = memchr(p, '\0', d.len)) != NULL &&
	    (z2 = memchr(z1 + 1, '\0', d.len - (size_t)(z1 + 1 - p))) != NULL) {
		if (z1 > p)
			check_name(p, (size_t)(z1 - p));
		check_name(z1 + 1, (size_t)(z2 - z1 - 1));
	}
	buf_free(&d);
}

static void
check_cmd(const struct imapp_cmd *c)
{
	const char *err;
	size_t i, j;

	if (strcmp(c->name, "LOGIN") == 0 && c->nargs == 2 &&
	    imapp_arg_is_astring(&c->args[0])) {
		check_name(c->args[0].str, c->args[0].len);
		return;
	}
	if (strcmp(c->name, "AUTHENTICATE") == 0 && c->nargs == 2 &&
	    c->args[0].type == IMAPP_ATOM) {
		check_ir(c->args[0].str, &c->args[1]);
		return;
	}
	for (i = 0; i < c->nargs; i++) {
		const struct imapp_arg *a = &c->args[i];

		if (!imapp_arg_is_astring(a) ||
		    mboxname_check(a->str, a->len, &err) < 0)
			continue;
		for (j = 0; j < a->len; j++)
			if ((unsigned char)a->str[j] < 0x20 ||
			    (unsigned char)a->str[j] >= 0x7f)
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_feed(data, size, 1024, 1024, check_cmd);
	return 0;
}

/*
 * fuzz_wild - libFuzzer target: the LIST pattern matcher against a
 * dynamic-programming reference (differential), and the mailbox name
 * check on the same bytes, and their conversion between UTF-8 and
 * modified UTF-7 (a UTF-8 name comes back the same; a name the check
 * accepts converts to UTF-8).
 *
 * Input: byte 0 chooses the split, the pattern is the next
 * data[0] % (size) bytes and the name the rest.  The reference costs
 * len(pattern) x len(name) cells, so it runs only on inputs up to 64K
 * cells; larger ones still exercise the matcher (crashes, the timeout).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mboxname.h"
#include "mutf7.h"
#include "wild.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ref_match - d[i][j]: pat[i..) matches name[j..) */
static int
ref_match(const char *pat, size_t pl, const char *name, size_t nl)
{
	unsigned char *d = calloc((pl + 1) * (nl + 1), 1);
	size_t i, j;
	int r;

#define D(i, j) d[(i) * (nl + 1) + (j)]
	D(pl, nl) = 1;
	for (i = pl; i-- > 0;) {
		for (j = nl + 1; j-- > 0;) {
			if (pat[i] == '*')
				D(i, j) =
				    D(i + 1, j) || (j < nl && D(i, j + 1));
			else if (pat[i] == '%')
				D(i, j) = D(i + 1, j) ||
				    (j < nl && name[j] != '/' && D(i, j + 1));
			else
				D(i, j) = j < nl && name[j] == pat[i] &&
				    D(i + 1, j + 1);
		}
	}
	r = D(0, 0);
#undef D
	free(d);
	return r;
}

/* fuzz_mutf7 - UTF-8 -> modified UTF-7 -> UTF-8 is the identity; an
 * accepted modified UTF-7 name converts to valid UTF-8 */
static void
fuzz_mutf7(const char *name, size_t nl)
{
	struct buf m = BUF_INIT, u = BUF_INIT;
	const char *err;

	if (mutf7_from_utf8(name, nl, &m, &err) == 0) {
		if (mutf7_to_utf8(buf_cstr(&m), &u) < 0 || u.len != nl ||
		    memcmp(u.data ? u.data : "", name, nl) != 0)
			abort();
		buf_reset(&u);
	}
	if (mboxname_check(name, nl, &err) == 0 &&
	    memchr(name, 0, nl) == NULL) {
		buf_reset(&m);
		buf_append(&m, name, nl);
		if (mutf7_to_utf8(buf_cstr(&m), &u) < 0 ||
		    !mutf7_utf8_valid(u.data ? u.data : "", u.len))
			abort();
	}
	buf_free(&m);
	buf_free(&u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *pat, *name, *err;
	size_t pl, nl;
	struct wild *w;
	int m;

	if (size == 0)
		return 0;
	pl = data[0] % size;
	pat = (const char *)data + 1;
	name = pat + pl;
	nl = size - 1 - pl;
	w = wild_compile(pat, pl, '/');
	m = wild_match(w, name, nl);
	if (m != wild_match(w, name, nl)) /* no state left behind */
		abort();
	if ((pl + 1) * (nl + 1) <= 65536 && m != ref_match(pat, pl, name, nl))
		abort();
	wild_free(&w);
	if (w != NULL)
		abort();
	/* an accepted name is printable ASCII only */
	if (mboxname_check(name, nl, &err) == 0) {
		size_t i;

		for (i = 0; i < nl; i++)
			if ((unsigned char)name[i] < 0x20 ||
			    (unsigned char)name[i] >= 0x7f)
				abort();
	}
	fuzz_mutf7(name, nl);
	return 0;
}

/*
 * mutf7 - modified UTF-7 <-> UTF-8 for mailbox names, with iconv.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>

#include "mutf7.h"

/* mutf7_conv - convert in[0..len) with cd (reset first), appended to out;
 * -1 on any error */
static int
mutf7_conv(iconv_t cd, const char *in, size_t len, struct buf *out)
{
	size_t before = out->len, left = len, room;
	char *ip = (char *)(uintptr_t)in, *op;

	if (cd == (iconv_t)-1)
		return -1;
	iconv(cd, NULL, NULL, NULL, NULL);
	for (;;) {
		/* at most 8 bytes out per byte in, either way */
		room = left * 8 + 16;
		if ((op = buf_reserve(out, room)) == NULL)
			goto fail;
		if (iconv(cd, left ? &ip : NULL, &left, &op, &room) ==
			(size_t)-1 &&
		    errno != E2BIG)
			goto fail;
		out->len = (size_t)(op - out->data);
		if (left == 0)
			break;
	}
	/* the shift back to ASCII, if the converter holds one */
	room = 16;
	if ((op = buf_reserve(out, room)) == NULL ||
	    iconv(cd, NULL, NULL, &op, &room) == (size_t)-1)
		goto fail;
	out->len = (size_t)(op - out->data);
	out->data[out->len] = '\0';
	return 0;
fail:
	buf_truncate(out, before);
	return -1;
}

int
mutf7_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, k;
	unsigned long c;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf)
			n = 1, c = p[i] & 0x1f;
		else if (p[i] >= 0xe0 && p[i] <= 0xef)
			n = 2, c = p[i] & 0x0f;
		else if (p[i] >= 0xf0 && p[i] <= 0xf4)
			n = 3, c = p[i] & 0x07;
		else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && c < 0x800) || (n == 3 && c < 0x10000) ||
		    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int
mutf7_from_utf8(const char *in, size_t len, struct buf *out,
    const char **error_r)
{
	static iconv_t cd = (iconv_t)-1;

	if (memchr(in, '\0', len) != NULL || !mutf7_utf8_valid(in, len)) {
		*error_r = "Mailbox name is not valid UTF-8";
		return -1;
	}
	if (cd == (iconv_t)-1)
		cd = iconv_open("UTF-7-IMAP", "UTF-8");
	if (mutf7_conv(cd, in, len, out) < 0) {
		*error_r = "Mailbox name cannot be converted";
		return -1;
	}
	return 0;
}

int
mutf7_to_utf8(const char *in, struct buf *out)
{
	static iconv_t cd = (iconv_t)-1;

	if (cd == (iconv_t)-1)
		cd = iconv_open("UTF-8", "UTF-7-IMAP");
	return mutf7_conv(cd, in, strlen(in), out);
}

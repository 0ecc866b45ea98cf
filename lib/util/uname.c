/*
 * uname - canonical user names: trim, then refuse what no account name
 * should hold.
 *
 * Surrounding spaces and tabs are trimmed rather than refused: libsasl2
 * has always trimmed them before a password check, so "bob " logs in as
 * bob, and a failure must then count against bob too.  Everything else
 * that is odd is refused: NUL (libsasl2's LOGIN mechanism cuts a name at
 * its NUL, so "bob\0junk" would check bob's password), control
 * characters (they forge log lines), invalid or overlong UTF-8 (two
 * spellings of one name) and names past UNAME_MAX.  Inner spaces are
 * kept: some backends have such names.
 *
 * Does not fold case or map realms: that is the backend's business, and
 * the name authd reports after a success is libsasl2's.
 */
#include "config.h"

#include <string.h>

#include "uname.h"

/* uname_utf8 - the length of the valid UTF-8 sequence at p (n bytes
 * left) and its code point, or 0 when it is not one */
static size_t
uname_utf8(const unsigned char *p, size_t n, unsigned long *cp_r)
{
	unsigned long cp, min;
	size_t len, i;

	if (p[0] < 0x80) {
		*cp_r = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2, cp = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3, cp = p[0] & 0x0f, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4, cp = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return len;
}

int
uname_canon(const char *in, size_t len, char *out, size_t size,
    const char **error_r)
{
	const unsigned char *p = (const unsigned char *)in;
	unsigned long cp;
	size_t i, n;

	while (len > 0 && (p[0] == ' ' || p[0] == '\t'))
		p++, len--;
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 0) {
		*error_r = "empty user name";
		return -1;
	}
	if (len > UNAME_MAX || len >= size) {
		*error_r = "user name too long";
		return -1;
	}
	for (i = 0; i < len; i += n) {
		if ((n = uname_utf8(p + i, len - i, &cp)) == 0) {
			*error_r = "user name not valid UTF-8";
			return -1;
		}
		if (cp == 0) {
			*error_r = "NUL in user name";
			return -1;
		}
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			*error_r = "control character in user name";
			return -1;
		}
	}
	memmove(out, p, len);
	out[len] = '\0';
	return (int)len;
}

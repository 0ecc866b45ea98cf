/*
 * mboxname - modified UTF-7 and control-character check of mailbox names.
 *
 * Owns: the syntax of a name as the client sends it.  Does not: decode to
 * UTF-8, canonicalise INBOX, or check hierarchy rules (empty levels, the
 * length limit), which the store does.  Called by imapd for every command
 * that takes a mailbox name or a LIST pattern, once, before the store.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "mboxname.h"

/* mboxname_b64 - value of a modified-BASE64 character, -1 if none */
static int
mboxname_b64(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* mboxname_unit - check one decoded UTF-16 unit; *hi carries a pending
 * high surrogate.  -1 with *error_r */
static int
mboxname_unit(uint32_t u, uint32_t *hi, const char **error_r)
{
	if (*hi != 0) {
		if (u < 0xdc00 || u > 0xdfff)
			goto surrogate;
		*hi = 0;
		return 0;
	}
	if (u >= 0xd800 && u <= 0xdbff) {
		*hi = u;
		return 0;
	}
	if (u >= 0xdc00 && u <= 0xdfff)
		goto surrogate;
	if (u < 0x20 || (u >= 0x7f && u <= 0x9f)) {
		*error_r = "Mailbox name encodes a control character";
		return -1;
	}
	if (u < 0x7f) {
		*error_r = "Mailbox name encodes printable ASCII in modified "
			   "UTF-7";
		return -1;
	}
	return 0;
surrogate:
	*error_r = "Mailbox name has a broken UTF-16 surrogate pair";
	return -1;
}

/* mboxname_shift - the shifted run after the '&' at s[0]; *used_r bytes
 * including '&' and '-' */
static int
mboxname_shift(const char *s, size_t len, size_t *used_r, const char **error_r)
{
	uint32_t acc = 0, hi = 0;
	size_t i, units = 0;
	int bits = 0, v;

	for (i = 1; i < len && s[i] != '-'; i++) {
		if ((v = mboxname_b64((unsigned char)s[i])) < 0) {
			*error_r = "Mailbox name has an invalid character in "
				   "a modified UTF-7 sequence";
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 16) {
			bits -= 16;
			if (mboxname_unit((acc >> bits) & 0xffff, &hi,
				error_r) < 0)
				return -1;
			units++;
		}
	}
	if (i == len) {
		*error_r = "Mailbox name has an unterminated modified UTF-7 "
			   "sequence";
		return -1;
	}
	if (i > 1 &&
	    (units == 0 || bits >= 6 || (acc & ((1U << bits) - 1)) != 0)) {
		*error_r = "Mailbox name has a modified UTF-7 sequence that "
			   "does not decode";
		return -1;
	}
	if (hi != 0) {
		*error_r = "Mailbox name has a broken UTF-16 surrogate pair";
		return -1;
	}
	*used_r = i + 1;
	return 0;
}

int
mboxname_check(const char *name, size_t len, const char **error_r)
{
	size_t i = 0, used;
	unsigned char c;

	while (i < len) {
		c = (unsigned char)name[i];
		if (c == '\0') {
			*error_r = "Mailbox name contains NUL";
			return -1;
		}
		if (c < 0x20 || c == 0x7f) {
			*error_r = "Mailbox name contains a control character";
			return -1;
		}
		if (c >= 0x80) {
			*error_r = "Mailbox name contains 8-bit characters "
				   "(use modified UTF-7)";
			return -1;
		}
		if (c != '&') {
			i++;
			continue;
		}
		if (mboxname_shift(name + i, len - i, &used, error_r) < 0)
			return -1;
		i += used;
	}
	return 0;
}

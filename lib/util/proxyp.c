/*
 * proxyp - parse a PROXY protocol v1 or v2 header (see proxyp.h and
 * HAProxy's proxy-protocol.txt).
 *
 * Pure: no allocation, no I/O, nothing read past the header's end or past
 * len.  A prefix that cannot start a header is refused at once, so a
 * client that speaks IMAP or TLS to a proxy_protocol port is told so
 * without waiting for more bytes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "proxyp.h"

static const unsigned char proxyp_v1_sig[] = "PROXY ";
static const unsigned char proxyp_v2_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00,
	0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

#define PROXYP_V2_LOCAL 0x0
#define PROXYP_V2_PROXY 0x1
#define PROXYP_AF_UNSPEC 0x0
#define PROXYP_AF_INET 0x1
#define PROXYP_AF_INET6 0x2
#define PROXYP_AF_UNIX 0x3
#define PROXYP_STREAM 0x1

static int
proxyp_fail(const char *why, const char **error_r)
{
	*error_r = why;
	return -1;
}

/* proxyp_port - a decimal port 0..65535 without leading zeros; -1 if not */
static int
proxyp_port(const char *s)
{
	long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v > 65535 ? -1 : (int)v;
}

/* proxyp_addr - numeric text of family into out, normalised; -1 if bad */
static int
proxyp_addr(int family, const char *text, char *out)
{
	unsigned char a[16];

	if (inet_pton(family, text, a) != 1 ||
	    inet_ntop(family, a, out, PROXYP_ADDRLEN) == NULL)
		return -1;
	return 0;
}

/* proxyp_v1_fields - "TCP4 src dst sport dport" (line without CRLF) */
static int
proxyp_v1_fields(char *line, struct proxyp_result *r, const char **error_r)
{
	char *f[5], *p = line;
	int i, family;

	for (i = 0; i < 5; i++) {
		f[i] = p;
		p = strchr(p, ' ');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	if (strcmp(f[0], "UNKNOWN") == 0) {
		r->local = 1;
		return 0;
	}
	if (strcmp(f[0], "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(f[0], "TCP6") == 0)
		family = AF_INET6;
	else
		return proxyp_fail("v1: protocol is not TCP4, TCP6 or UNKNOWN",
		    error_r);
	if (i != 4)
		return proxyp_fail("v1: expected 4 fields after the protocol",
		    error_r);
	if (proxyp_addr(family, f[1], r->src) < 0 ||
	    proxyp_addr(family, f[2], r->dst) < 0)
		return proxyp_fail("v1: bad address", error_r);
	if ((r->sport = proxyp_port(f[3])) < 0 ||
	    (r->dport = proxyp_port(f[4])) < 0)
		return proxyp_fail("v1: bad port", error_r);
	r->family = family;
	return 0;
}

/* proxyp_parse_v1 - "PROXY ...\r\n", at most PROXYP_V1_MAX bytes */
static int
proxyp_parse_v1(const unsigned char *b, size_t len, struct proxyp_result *r,
    const char **error_r)
{
	char line[PROXYP_V1_MAX + 1];
	size_t i, n = len < PROXYP_V1_MAX ? len : PROXYP_V1_MAX;

	if (memcmp(b, proxyp_v1_sig, n < 6 ? n : 6) != 0)
		return proxyp_fail("not a PROXY header", error_r);
	for (i = 0; i < n; i++) {
		if (b[i] == '\r' && i + 1 < n && b[i + 1] != '\n')
			return proxyp_fail("v1: CR without LF", error_r);
		if (b[i] == '\n')
			break;
		if (b[i] != '\r' && (b[i] < 0x20 || b[i] > 0x7e))
			return proxyp_fail("v1: bad character", error_r);
	}
	if (i == n)
		return n == PROXYP_V1_MAX
		    ? proxyp_fail("v1: header longer than 107 bytes", error_r)
		    : 0;
	if (i < 7 || b[i - 1] != '\r')
		return proxyp_fail("v1: line does not end in CRLF", error_r);
	memcpy(line, b + 6, i - 7);
	line[i - 7] = '\0';
	r->version = 1;
	if (proxyp_v1_fields(line, r, error_r) < 0)
		return -1;
	return (int)i + 1;
}

/* proxyp_v2_tlvs - the TLVs fill b[0..len) exactly; contents skipped */
static int
proxyp_v2_tlvs(const unsigned char *b, size_t len, const char **error_r)
{
	size_t tlen;

	while (len > 0) {
		if (len < 3)
			return proxyp_fail("v2: truncated TLV", error_r);
		tlen = (size_t)b[1] << 8 | b[2];
		if (3 + tlen > len)
			return proxyp_fail("v2: TLV longer than the header",
			    error_r);
		b += 3 + tlen;
		len -= 3 + tlen;
	}
	return 0;
}

/* proxyp_v2_addrs - the address block of a PROXY command */
static int
proxyp_v2_addrs(const unsigned char *b, int fam, int proto,
    struct proxyp_result *r, const char **error_r)
{
	size_t alen = fam == PROXYP_AF_INET ? 4 : 16;

	if (fam != PROXYP_AF_INET && fam != PROXYP_AF_INET6) {
		r->local = 1; /* UNSPEC, UNIX: the socket's own */
		return 0;
	}
	if (proto != PROXYP_STREAM)
		return proxyp_fail("v2: transport is not a stream", error_r);
	r->family = fam == PROXYP_AF_INET ? AF_INET : AF_INET6;
	if (inet_ntop(r->family, b, r->src, PROXYP_ADDRLEN) == NULL ||
	    inet_ntop(r->family, b + alen, r->dst, PROXYP_ADDRLEN) == NULL)
		return proxyp_fail("v2: bad address", error_r);
	r->sport = b[2 * alen] << 8 | b[2 * alen + 1];
	r->dport = b[2 * alen + 2] << 8 | b[2 * alen + 3];
	return 0;
}

/* proxyp_parse_v2 - the 16-byte fixed part, addresses, TLVs */
static int
proxyp_parse_v2(const unsigned char *b, size_t len, struct proxyp_result *r,
    const char **error_r)
{
	static const size_t alens[] = { 0, 12, 36, 216 };
	size_t blen, alen;
	int cmd, fam;

	if (memcmp(b, proxyp_v2_sig, len < 12 ? len : 12) != 0)
		return proxyp_fail("not a PROXY header (bad v2 signature)",
		    error_r);
	if (len > 12 && (b[12] >> 4) != 2)
		return proxyp_fail("v2: unsupported version", error_r);
	if (len > 12 && (cmd = b[12] & 0xf) != PROXYP_V2_LOCAL &&
	    cmd != PROXYP_V2_PROXY)
		return proxyp_fail("v2: unknown command", error_r);
	if (len > 13 && (b[13] >> 4) > PROXYP_AF_UNIX)
		return proxyp_fail("v2: unknown address family", error_r);
	if (len < PROXYP_V2_HDR)
		return 0;
	blen = (size_t)b[14] << 8 | b[15];
	if (blen > PROXYP_V2_MAX_LEN)
		return proxyp_fail("v2: header longer than 2048 bytes",
		    error_r);
	if (len < PROXYP_V2_HDR + blen)
		return 0;
	cmd = b[12] & 0xf;
	fam = b[13] >> 4;
	alen = alens[fam];
	if (blen < alen)
		return proxyp_fail("v2: address block too short", error_r);
	if (proxyp_v2_tlvs(b + PROXYP_V2_HDR + alen, blen - alen, error_r) < 0)
		return -1;
	r->version = 2;
	if (cmd == PROXYP_V2_LOCAL)
		r->local = 1;
	else if (proxyp_v2_addrs(b + PROXYP_V2_HDR, fam, b[13] & 0xf, r,
		     error_r) < 0)
		return -1;
	return (int)(PROXYP_V2_HDR + blen);
}

int
proxyp_parse(const void *buf, size_t len, struct proxyp_result *r,
    const char **error_r)
{
	const unsigned char *b = buf;

	memset(r, 0, sizeof(*r));
	if (len == 0)
		return 0;
	if (b[0] == proxyp_v1_sig[0])
		return proxyp_parse_v1(b, len, r, error_r);
	if (b[0] == proxyp_v2_sig[0])
		return proxyp_parse_v2(b, len, r, error_r);
	return proxyp_fail("not a PROXY header", error_r);
}

/*
 * ipnet - address parsing, masking and network keys (see ipnet.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipnet.h"

static const unsigned char ipnet_v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0xff, 0xff };

int
ipnet_bits(const struct ipnet *n)
{
	return n->family == AF_INET ? 32 : 128;
}

int
ipnet_parse(const char *text, struct ipnet *n_r)
{
	memset(n_r, 0, sizeof(*n_r));
	if (inet_pton(AF_INET, text, n_r->a) == 1) {
		n_r->family = AF_INET;
		n_r->prefix = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, text, n_r->a) != 1)
		return -1;
	if (memcmp(n_r->a, ipnet_v4mapped, sizeof(ipnet_v4mapped)) == 0) {
		memmove(n_r->a, n_r->a + 12, 4);
		memset(n_r->a + 4, 0, 12);
		n_r->family = AF_INET;
		n_r->prefix = 32;
		return 0;
	}
	n_r->family = AF_INET6;
	n_r->prefix = 128;
	return 0;
}

struct ipnet
ipnet_mask(const struct ipnet *n, int prefix)
{
	struct ipnet m = *n;
	int bits = ipnet_bits(n), i;

	if (prefix < 0)
		prefix = 0;
	if (prefix > m.prefix)
		prefix = m.prefix;
	for (i = prefix; i < bits; i++)
		m.a[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
	m.prefix = prefix;
	return m;
}

void
ipnet_key(const struct ipnet *n, char *out, size_t size)
{
	char text[INET6_ADDRSTRLEN];

	if (inet_ntop(n->family, n->a, text, sizeof(text)) == NULL)
		(void)snprintf(text, sizeof(text), "?");
	if (n->prefix == ipnet_bits(n))
		(void)snprintf(out, size, "%s", text);
	else
		(void)snprintf(out, size, "%s/%d", text, n->prefix);
}

int
ipnet_parse_key(const char *text, struct ipnet *n_r)
{
	char addr[IPNET_KEYLEN], *slash, *end;
	long len;

	if (strlen(text) >= sizeof(addr))
		return -1;
	snprintf(addr, sizeof(addr), "%s", text);
	slash = strchr(addr, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (ipnet_parse(addr, n_r) < 0)
		return -1;
	if (slash == NULL)
		return 0;
	len = strtol(slash, &end, 10);
	if (*slash == '\0' || *end != '\0' || len < 0 || len > ipnet_bits(n_r))
		return -1;
	*n_r = ipnet_mask(n_r, (int)len);
	return 0;
}

int
ipnet_loopback(const char *text)
{
	static const unsigned char one[16] = { [15] = 1 };
	struct ipnet n;

	if (ipnet_parse(text, &n) < 0)
		return 0;
	if (n.family == AF_INET)
		return n.a[0] == 127;
	return memcmp(n.a, one, sizeof(one)) == 0;
}

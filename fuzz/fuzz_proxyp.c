/*
 * fuzz_proxyp - libFuzzer target: the PROXY protocol v1/v2 parser.
 *
 * Checks, beyond memory safety: a header's length is within the input
 * and PROXYP_MAX, and parsing exactly that many bytes gives the same
 * result (nothing after the header is looked at); every shorter prefix
 * of a header asks for more; a refused prefix stays refused when bytes
 * are added; an incomplete input is shorter than PROXYP_MAX; the
 * addresses returned are numeric text that parses back.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxyp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_addrs(const struct proxyp_result *r)
{
	unsigned char a[16];

	if (r->version != 1 && r->version != 2)
		abort();
	if (r->local)
		return;
	if ((r->family != AF_INET && r->family != AF_INET6) ||
	    memchr(r->src, '\0', sizeof(r->src)) == NULL ||
	    memchr(r->dst, '\0', sizeof(r->dst)) == NULL ||
	    inet_pton(r->family, r->src, a) != 1 ||
	    inet_pton(r->family, r->dst, a) != 1 || r->sport < 0 ||
	    r->sport > 65535 || r->dport < 0 || r->dport > 65535)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyp_result r, r2;
	const char *err = NULL;
	size_t i;
	int n, m;

	n = proxyp_parse(data, size, &r, &err);
	if (n < 0 && err == NULL)
		abort();
	if (n == 0 && size >= PROXYP_MAX)
		abort();
	if (size > 0) {
		m = proxyp_parse(data, size - 1, &r2, &err);
		if ((m < 0 && n >= 0) || (m > 0 && m != n))
			abort();
	}
	if (n <= 0)
		return 0;
	if ((size_t)n > size || n > PROXYP_MAX)
		abort();
	check_addrs(&r);
	if (proxyp_parse(data, (size_t)n, &r2, &err) != n ||
	    memcmp(&r, &r2, sizeof(r)) != 0)
		abort();
	for (i = 0; i < (size_t)n; i++)
		if (proxyp_parse(data, i, &r2, &err) != 0)
			abort();
	return 0;
}

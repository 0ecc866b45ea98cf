/*
 * ipnet - client addresses as networks: parse the numeric text a socket
 * gave us, mask it to a prefix, and print the network as a key
 * ("192.0.2.0/24", "2001:db8::/48", or the bare address at full length).
 *
 * Used by authd for per-address and per-network limits and counters.
 * Pure: no allocation, no I/O.  An IPv4-mapped IPv6 address
 * (::ffff:192.0.2.7) is treated as the IPv4 address it maps.
 */
#ifndef BERTH_IPNET_H
#define BERTH_IPNET_H

#include <stddef.h>

#define IPNET_KEYLEN 64 /* longest key, NUL included */

struct ipnet {
	int family;	     /* AF_INET, AF_INET6 */
	int prefix;	     /* bits kept; 32 or 128 for one address */
	unsigned char a[16]; /* network order; IPv4 uses a[0..3] */
};

/* ipnet_parse - numeric address text into n_r (full length); -1 if it is
 * not an IPv4 or IPv6 address */
int ipnet_parse(const char *text, struct ipnet *n_r);
/* ipnet_mask - n narrowed to its first prefix bits (clamped to the
 * family's length; never widened) */
struct ipnet ipnet_mask(const struct ipnet *n, int prefix);
/* ipnet_key - n as text into out: the address, then "/prefix" unless it
 * is a single address */
void ipnet_key(const struct ipnet *n, char *out, size_t size);
/* ipnet_parse_key - the reverse of ipnet_key ("a.b.c.d/len" or an
 * address); -1 on bad text or a prefix longer than the family */
int ipnet_parse_key(const char *text, struct ipnet *n_r);
/* ipnet_bits - 32 or 128 */
int ipnet_bits(const struct ipnet *n);
/* ipnet_loopback - is text an address of this machine's loopback
 * (127.0.0.0/8, its IPv4-mapped form, ::1)?  0 for anything else,
 * unparsable text included */
int ipnet_loopback(const char *text);

#endif

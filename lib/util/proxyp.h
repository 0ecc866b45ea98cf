/*
 * proxyp - HAProxy's PROXY protocol, v1 (text) and v2 (binary): the
 * header a load balancer sends before the client's first byte, naming the
 * real client and server addresses.
 *
 * proxyp_parse is pure and bounded (no allocation, no I/O); it never looks
 * past the header it recognises.  proxyp_read and proxyp_read_wait take a
 * header off a socket without consuming a byte after it (peek, then read
 * exactly the header's length), so what follows stays for the IMAP or TLS
 * layer.  proxyp_accept is the policy a daemon calls at accept: whether
 * the service takes a header (proxy_protocol, per service), whether the
 * peer may send one (proxy_trusted), and the real client address;
 * proxyp_ev_accept is the same on the lib/ev loop (proxyp_ev.c).
 *
 * v2 TLVs are checked for shape and skipped; a LOCAL command (health
 * checks), a v1 UNKNOWN or a v2 address family other than IPv4/IPv6 means
 * "use the socket's own addresses".
 */
#ifndef BERTH_PROXYP_H
#define BERTH_PROXYP_H

#include <stddef.h>

#define PROXYP_V1_MAX 107      /* the longest v1 line, CRLF included */
#define PROXYP_V2_HDR 16       /* signature, version/command, family, len */
#define PROXYP_V2_MAX_LEN 2032 /* the longest v2 address+TLV block taken */
#define PROXYP_MAX (PROXYP_V2_HDR + PROXYP_V2_MAX_LEN)
#define PROXYP_ADDRLEN 46 /* INET6_ADDRSTRLEN */

struct proxyp_result {
	int version; /* 1 or 2 */
	int local;   /* LOCAL/UNKNOWN: keep the socket's addresses */
	int family;  /* AF_INET, AF_INET6; 0 when local */
	char src[PROXYP_ADDRLEN]; /* the real client, numeric */
	char dst[PROXYP_ADDRLEN]; /* the address it connected to */
	int sport;
	int dport;
};

/*
 * proxyp_parse - the header at the start of buf[0..len).  Returns its
 * length (> 0) with *r filled, 0 when buf is a proper prefix of a header
 * that may still be valid (read more), or -1 with *error_r (static text)
 * when it is not a PROXY header or is malformed.
 */
int proxyp_parse(const void *buf, size_t len, struct proxyp_result *r,
    const char **error_r);

/* proxyp_reader - a header being read off a socket, across calls */
struct proxyp_reader {
	size_t len; /* header bytes read so far */
	unsigned char buf[PROXYP_MAX];
};

/*
 * proxyp_read - one non-blocking step on fd: returns 1 with *r filled once
 * the whole header is read, 0 when more must arrive first (wait for fd to
 * be readable), -1 with *error_r on a malformed header, EOF or a read
 * error.  rd starts zeroed.  Never reads a byte past the header.
 */
int proxyp_read(struct proxyp_reader *rd, int fd, struct proxyp_result *r,
    const char **error_r);
/* proxyp_read_wait - proxyp_read until done, waiting up to timeout_ms in
 * all (blocks; for a process serving one client) */
int proxyp_read_wait(int fd, long long timeout_ms, struct proxyp_result *r,
    const char **error_r);

/*
 * proxyp_trusted - is the numeric address addr in the list of networks
 * nets ("10.0.0.0/8 192.0.2.7 2001:db8::/32", blanks or commas between)?
 * 1 yes, 0 no, -1 with *error_r when an entry does not parse.
 */
int proxyp_trusted(const char *addr, const char *nets, const char **error_r);

/*
 * proxyp_accept - the accept-time step of a service: when proxy_protocol
 * is on for service (imapd.conf "<service>_proxy_protocol", else
 * "proxy_protocol"), refuse a peer outside proxy_trusted, read the header
 * within proxy_timeout and put the real client into addr/port_r (left as
 * they are for LOCAL and UNKNOWN).  addr holds the socket peer on entry.
 * Returns 0 (nothing to do, or addr replaced), or -1 with *error_r: the
 * caller logs it once with the socket peer's address and closes.
 * Blocks up to proxy_timeout.
 */
int proxyp_accept(int fd, const char *service, char *addr, size_t size,
    int *port_r, const char **error_r);
/* proxyp_enabled - does service take a PROXY header? */
int proxyp_enabled(const char *service);

/* proxyp_ev_fn - the end of proxyp_ev_accept: err NULL (carry on with
 * addr/port as they now are) or why the connection is refused */
typedef void proxyp_ev_fn(const char *err, void *ctx);
/*
 * proxyp_ev_accept - proxyp_accept on the lib/ev loop (never blocks):
 * fn is called exactly once, at once when the service takes no header or
 * the peer is not trusted, else from the loop once the header is read,
 * malformed, or not complete within proxy_timeout.  addr, port_r and fd
 * must stay valid until then; fd must be non-blocking.  The caller logs
 * a refusal and closes fd.
 */
void proxyp_ev_accept(int fd, const char *service, char *addr, size_t size,
    int *port_r, proxyp_ev_fn *fn, void *ctx);

#endif

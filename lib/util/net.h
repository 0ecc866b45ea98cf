/*
 * net - listener addresses and socket helpers.
 *
 * Listen specs as in master.conf: "143" (all addresses), "host:port",
 * "[v6addr]:port", "/path/to/socket".
 */
#ifndef BERTH_NET_H
#define BERTH_NET_H

#include "err.h"

#include <stddef.h>
#include <sys/socket.h>

struct err;

/*
 * net_bind - create and bind a socket for spec (no listen yet).  Returns
 * the fd, or -1 with err set.  Unix sockets: a stale file is unlinked,
 * mode 0666 after bind.
 */
int net_bind(const char *spec, struct err *err);
/* net_bind_seqpacket - a SOCK_SEQPACKET Unix listener at path (mode 0600),
 * not yet listening; -1 with err set */
int net_bind_seqpacket(const char *path, struct err *err);
/* net_connect_unix - a blocking connection (close-on-exec) to the Unix
 * socket at path of type (SOCK_STREAM, SOCK_SEQPACKET); -1 with err set */
int net_connect_unix(const char *path, int type, struct err *err);
/* net_addr_str - numeric address of sa into out ("unix" for AF_UNIX) */
void net_addr_str(const struct sockaddr *sa, char *out, size_t size,
    int *port_r);
/* net_peer - address and port of the peer of fd; "unknown" on error */
void net_peer(int fd, char *out, size_t size, int *port_r);
int net_set_nonblock(int fd, int on) BERTH_CHECK;
/* net_keepalive - TCP keep-alive on a client, timed by imapd.conf's
 * tcp_keepalive_idle, _intvl and _cnt, so dead peers are found in
 * minutes; harmless on a Unix socket */
void net_keepalive(int fd);

#endif

/*
 * authd - per-connection state of the authentication daemon.
 */
#ifndef BERTH_AUTHD_H
#define BERTH_AUTHD_H

#include <sasl/sasl.h>
#include <stddef.h>

#include "authc.h"

struct authd_conn {
	int fd;
	sasl_conn_t *sasl;
	int secure;
	char addr[64];
	char mech[32];
	char user[AUTHC_MAX_USER];	/* as claimed, for logs */
};

void authd_sasl_init(void);
int authd_sasl_new(struct authd_conn *c, int secure, const char *addr,
    unsigned port);
void authd_sasl_dispose(struct authd_conn *c);
int authd_sasl_is_plain(const char *mech);
enum authc_result authd_sasl_start(struct authd_conn *c, const char *mech,
    const char *in, unsigned inlen, const char **out, unsigned *outlen,
    const char **text_r);
enum authc_result authd_sasl_step(struct authd_conn *c, const char *in,
    unsigned inlen, const char **out, unsigned *outlen,
    const char **text_r);
const char *authd_sasl_user(struct authd_conn *c);
int authd_sasl_mechs(int secure, char *out, size_t size);

#endif

/*
 * imapcaps - the server's CAPABILITY list, as the greeting, CAPABILITY
 * and a login's OK show it.  imapd builds it here, and so does idled for
 * the clients it greets itself (master hands it new connections when no
 * worker is ready), so that a client sees the same list whoever greets
 * it.  Reads imapd.conf (cfg); does no I/O.
 */
#ifndef BERTH_IMAPCAPS_H
#define BERTH_IMAPCAPS_H

#include "buf.h"

struct imapcaps {
	int notauth;	   /* before login: LOGINDISABLED, STARTTLS, AUTH= */
	int deflate;	   /* offer COMPRESS=DEFLATE (after login only) */
	int secure;	   /* TLS, a local socket or a trusted loopback */
	int starttls;	   /* offer STARTTLS (before login only) */
	const char *mechs; /* authd's mechanisms, blank-separated; NULL
			    * when unknown (no AUTH= then) */
};

/* imapcaps_put - the list, without "CAPABILITY", appended to out */
void imapcaps_put(struct buf *out, const struct imapcaps *c);

#endif

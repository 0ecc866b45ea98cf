/*
 * tlsd - shared structures of the TLS front.
 *
 * A connection (struct tconn) is the client's TCP fd, one SSL object and,
 * once the handshake is done, our end of a socketpair whose other end an
 * imapd (or idled, while the session is parked) holds.  Its life:
 *   ADMIT      implicit TLS: authd decides (tlsd_admit) before any TLS
 *   HANDSHAKE  SSL_accept, non-blocking, bounded by tls_handshake_timeout
 *   QUEUED     the handoff socket's backlog was full: retried shortly
 *   RELAY      bytes both ways (tlsd_relay), no buffer of ours
 *   LINGER     the session ended: close_notify sent, the client's last
 *              bytes drained a moment so that closing does not reset
 *   TARPIT     refused by authd: held for authd's delay, then closed
 * Per connection tlsd keeps this struct and the SSL object, whose buffers
 * OpenSSL releases while idle (SSL_MODE_RELEASE_BUFFERS).
 */
#ifndef BERTH_TLSD_H
#define BERTH_TLSD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "ev.h"

enum tconn_state {
	TC_ADMIT,
	TC_HANDSHAKE,
	TC_QUEUED,
	TC_RELAY,
	TC_LINGER,
	TC_TARPIT,
};

/* what each relay direction waits for (tlsd_relay) */
enum tconn_wait {
	TW_NONE,
	TW_TCP_READ,
	TW_TCP_WRITE,
	TW_PLAIN_READ,
	TW_PLAIN_WRITE,
};

struct tconn {
	int fd;	 /* the client's TCP connection */
	int pfd; /* our socketpair end, -1 before RELAY */
	SSL *ssl;
	struct ev_io io, pio;  /* fd, pfd */
	struct ev_timer timer; /* handshake deadline, linger, tarpit */
	uint8_t state;	       /* enum tconn_state */
	uint8_t up_wait;       /* client -> imapd: enum tconn_wait */
	uint8_t down_wait;     /* imapd -> client */
	uint8_t starttls;      /* came from an imapd's STARTTLS */
	uint8_t renego_logged;
	uint16_t wpend; /* bytes of the SSL_write to retry */
	int port;
	uint64_t conn_id;    /* authd's admission id, 0 once handed on */
	uint64_t sid;	     /* the session id of its log lines: the
			      * admission id, kept after the handoff */
	uint32_t failed;     /* failed logins before STARTTLS */
	const char *handoff; /* interned: where the session goes */
	struct tconn *qnext; /* admission or handoff queue */
	char addr[64];
};

/* tlsd_conf.c - imapd.conf values, pure parsing (unit-tested) */
struct tlsd_sni {
	char *name;	  /* lower case; "*.example.org" for a wildcard */
	char *cert, *key; /* key may equal cert (one PEM file) */
	char *ocsp;	  /* its DER OCSP response, or NULL */
};
struct tlsd_sni_tab {
	struct tlsd_sni *e;
	size_t n;
};
/* tlsd_conf_versions - "tls1_2 tls1_3" into the lowest and highest
 * version (TLS1_x_VERSION); -1 with *error_r on an unknown word, an
 * empty list or a gap */
int tlsd_conf_versions(const char *s, int *min_r, int *max_r,
    const char **error_r);
/* tlsd_conf_client_certs - off/optional/require: 0, 1, 2; -1 else */
int tlsd_conf_client_certs(const char *s);
/* tlsd_conf_sni_parse - "name=cert[,key[,ocsp]] ..." into tab
 * (appended); -1 with *error_r naming the bad entry */
int tlsd_conf_sni_parse(const char *s, struct tlsd_sni_tab *tab,
    const char **error_r);
/* tlsd_conf_sni_find - the entry for a server name (exact, then one
 * wildcard label), case-insensitive; -1 if none */
int tlsd_conf_sni_find(const struct tlsd_sni_tab *tab, const char *name);
void tlsd_conf_sni_free(struct tlsd_sni_tab *tab);

/* tlsd_ctx.c - the SSL_CTX set from imapd.conf */
/* tlsd_ctx_load - build the contexts; -1 with *error_r (naming the file
 * at fault) and the running ones kept */
int tlsd_ctx_load(const char **error_r);
/* tlsd_ctx_default - the context new connections start with */
SSL_CTX *tlsd_ctx_default(void);
/* tlsd_ctx_reason - the reason of the first OpenSSL error (static),
 * clearing the error queue; fallback when there is none */
const char *tlsd_ctx_reason(const char *fallback);

/* tlsd_ocsp.c - OCSP stapling */
/* tlsd_ocsp_setup - ctx staples the DER response in path (NULL or "":
 * nothing); -1 with *error_r naming the setting (what: "tls_ocsp_file",
 * or the SNI entry's) and the file when it is unreadable, not a
 * successful response for ctx's certificate (named by certname), or
 * expired */
int tlsd_ocsp_setup(SSL_CTX *ctx, const char *path, const char *what,
    const char *certname, const char **error_r);

/* tlsd_ticket.c - session ticket keys shared by every tlsd process */
/* tlsd_ticket_init - read (or make) the shared secret; -1 *error_r */
int tlsd_ticket_init(const char **error_r);
/* tlsd_ticket_setup - make ctx issue and accept our tickets, or none
 * when tls_session_timeout is 0 */
void tlsd_ticket_setup(SSL_CTX *ctx);

/* tlsd_selfsign.c */
/* tlsd_selfsign - tlsd -g: a self-signed certificate where
 * tls_server_cert names none yet; 0 (fatal on failure) */
int tlsd_selfsign(void);

/* tlsd_conn.c */
/* tlsd_conn_listen - accept implicit-TLS clients on lfd (-1: none; the
 * connection limit is set either way) */
void tlsd_conn_listen(int lfd);
/* tlsd_conn_new - a connection for an accepted fd (consumes fd) */
struct tconn *tlsd_conn_new(int fd, const char *addr, int port);
/* tlsd_conn_handshake - begin (or go on with) the TLS handshake */
void tlsd_conn_handshake(struct tconn *c);
/* tlsd_conn_close - end c, telling authd, with a reason for the log
 * (NULL: a normal end, logged at debug level) */
void tlsd_conn_close(struct tconn *c, const char *why);
/* tlsd_conn_linger - imapd's side ended: close_notify, then close once
 * the client has had a moment */
void tlsd_conn_linger(struct tconn *c);
/* tlsd_conn_tarpit - hold a refused connection delay_ms, then close */
void tlsd_conn_tarpit(struct tconn *c, long long delay_ms);
/* tlsd_conn_count - connections this process holds */
size_t tlsd_conn_count(void);
/* tlsd_conn_room - may this process take one more connection? */
int tlsd_conn_room(void);

/* tlsd_admit.c - asynchronous admission by authd */
void tlsd_admit_init(void);
/* tlsd_admit_ask - ask authd about c; the answer starts its handshake,
 * or tarpits it */
void tlsd_admit_ask(struct tconn *c);

/* tlsd_handoff.c */
/* tlsd_handoff_set_default - where implicit-TLS sessions go */
void tlsd_handoff_set_default(const char *path);
const char *tlsd_handoff_intern(const char *path);
/* tlsd_handoff_send - the handshake is done: give imapd its end */
void tlsd_handoff_send(struct tconn *c);
/* tlsd_handoff_forget - c is closing: out of the queue */
void tlsd_handoff_forget(struct tconn *c);
/* tlsd_starttls_listen - take STARTTLS clients from imapd on sfd */
void tlsd_starttls_listen(int sfd);

/* tlsd_relay.c */
/* tlsd_relay_start - relay between c->ssl and c->pfd */
void tlsd_relay_start(struct tconn *c);
/* tlsd_relay_info - OpenSSL's info callback: logs refused renegotiation */
void tlsd_relay_info(const SSL *ssl, int where, int ret);

#endif

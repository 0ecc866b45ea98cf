/*
 * lmtpd - the LMTP (RFC 2033) delivery worker.  One session at a time per
 * process; all state of a session lives in struct lmtp_session.
 *
 * Files: main.c (the process: master contract, signals, accept loop),
 * lmtpd_io.c (bounded input, command lines, replies), lmtpd_cmd.c (the
 * command table and the protocol state), lmtpd_rcpt.c (addresses to
 * users and folders), lmtpd_data.c (DATA and BDAT into the spool file),
 * lmtpd_deliver.c (into the store, one reply and one log line per
 * recipient).
 */
#ifndef BERTH_LMTPD_H
#define BERTH_LMTPD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"
#include "uname.h"

#define LMTP_MAX_LINE 512    /* RFC 5321 4.5.3.1.4, CRLF included */
#define LMTP_MAX_RCPT 1000   /* per transaction (RFC 5321: >= 100) */
#define LMTP_IN_SIZE 65536   /* input buffer: all a session holds */
#define LMTP_SPOOL_BUF 65536 /* bytes gathered per write(2) */

enum lmtp_state {
	LMTP_S_GREETED, /* no LHLO yet */
	LMTP_S_READY,	/* LHLO done, no transaction */
	LMTP_S_MAIL,	/* MAIL accepted: RCPTs */
	LMTP_S_BDAT,	/* BDAT chunks under way */
};

/* one accepted recipient */
struct lmtp_rcpt {
	char *addr; /* as in RCPT TO, for replies and logs */
	char user[UNAME_MAX + 1];
	char *folder; /* the +detail's mailbox; NULL: INBOX */
};

/* what the filter decided for one recipient (lmtpd_deliver.c) */
struct lmtp_verdict {
	const char *folder; /* NULL: INBOX */
	uint32_t flags;	    /* STORE_F_* */
	const char *refuse; /* non-NULL: refuse with this reply */
};

struct lmtp_session {
	int fd;
	struct store *st;
	char addr[64]; /* peer, "unix" for a Unix socket */
	int port;
	char id[40];	/* session id, in Received: and the logs */
	char helo[256]; /* LHLO argument, sanitised */
	enum lmtp_state state;
	int quit;	      /* QUIT seen or the session must end */
	int dead;	      /* the connection failed */
	long long timeout_ms; /* lmtp_timeout: per read */
	unsigned ntx;	      /* transactions started */

	/* input: in[in_off..in_len) not yet consumed */
	char *in;
	size_t in_off, in_len;
	struct buf out; /* replies not yet written */

	/* the transaction */
	char *from;	     /* reverse-path without <>; "" for <> */
	long long size_decl; /* MAIL SIZE=, 0 if none */
	struct lmtp_rcpt *rcpts;
	size_t nrcpt, rcpt_size;

	/* the message being received */
	int spool_fd; /* -1: none */
	char *spool_path;
	struct buf spool_buf; /* bytes not yet written to spool_fd */
	uint64_t msg_size;    /* bytes received (after unstuffing) */
	int too_big;	      /* over maxmessagesize: discarding */
	int spool_errno;      /* a spool write failed: discarding */
	size_t trace_len;     /* bytes of our Return-Path: and Received: */
};

/* main.c */
/* lmtp_hostname - servername, or this host's name */
const char *lmtp_hostname(void);

/* lmtpd_io.c */
void lmtp_reply(struct lmtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int lmtp_flush(struct lmtp_session *s);
/* lmtp_fill - read more input (flushing replies first); 0, or -1 when
 * the connection ended, failed or timed out (s->dead set; a timeout is
 * answered with 421) */
int lmtp_fill(struct lmtp_session *s);
/* lmtp_read_line - the next command line, CRLF or LF removed, NUL-
 * terminated in the input buffer (valid until the next read).  Returns
 * 0, 1 for a line longer than LMTP_MAX_LINE (read and dropped whole), or
 * -1 when the connection ended. */
int lmtp_read_line(struct lmtp_session *s, char **line_r, size_t *len_r);

/* lmtpd_cmd.c */
void lmtp_serve(struct lmtp_session *s);
void lmtp_tx_reset(struct lmtp_session *s);

/* lmtpd_rcpt.c */
/* lmtp_path_parse - "<...>" at *p (after "FROM:"/"TO:"); the address
 * without brackets (malloc'ed) and *p after the '>'; NULL if malformed */
char *lmtp_path_parse(const char **p);
/* lmtp_rcpt_resolve - the user and folder of addr; 0, or a refusal:
 * -1 (unknown user, *why_r), -2 (store failure, *why_r) */
int lmtp_rcpt_resolve(struct lmtp_session *s, const char *addr,
    struct lmtp_rcpt *r, const char **why_r);

/*
 * lmtp_rcpt_quota - is there room in user's quota for a message of size
 * octets (0: not known yet)?  0; LMTP_QUOTA_FULL (452 4.2.2: over
 * quota, or this message would take it over); LMTP_QUOTA_TOOBIG (552
 * 5.2.2: the message alone is larger than the quota); -2 (store
 * failure, *why_r).  *why_r names the limit.
 */
#define LMTP_QUOTA_FULL 1
#define LMTP_QUOTA_TOOBIG 2
int lmtp_rcpt_quota(struct lmtp_session *s, const char *user, uint64_t size,
    const char **why_r);
/* lmtp_quota_reply - the reply for a lmtp_rcpt_quota refusal res */
void lmtp_quota_reply(struct lmtp_session *s, int res, const char *addr);

/* lmtpd_data.c */
/* lmtp_spool_start - open the spool file and write the trace headers;
 * -1 (logged) when the store cannot take it */
int lmtp_spool_start(struct lmtp_session *s);
void lmtp_spool_drop(struct lmtp_session *s);
/* lmtp_data_read - DATA's dot-stuffed text up to CRLF.CRLF into the
 * spool; -1 when the connection ended first */
int lmtp_data_read(struct lmtp_session *s);
/* lmtp_bdat_read - n bytes of a BDAT chunk into the spool (or dropped
 * when discard); -1 when the connection ended first */
int lmtp_bdat_read(struct lmtp_session *s, uint64_t n, int discard);

/* lmtpd_deliver.c */
/* lmtp_deliver - the message is in; one reply per recipient */
void lmtp_deliver(struct lmtp_session *s);

#endif

/*
 * ctl_deliver - berthctl deliver [-m folder] [-f from] USER < message:
 * local delivery from a pipe (an MTA's mailbox_command, scripts, tests),
 * in the role of Cyrus's deliver and Dovecot's dovecot-lda.
 *
 * Like Cyrus's deliver, it is an LMTP client of lmtpd (the socket named
 * by lmtpsocket): the checks, the trace headers, duplicate suppression,
 * durability and the notice to idled are lmtpd's, and the caller needs
 * no access to the store, only to the socket.  The message is read from
 * standard input as it comes and sent dot-stuffed, with bare LF line
 * ends made CRLF (pipes carry LF; IMAP wants CRLF).  -m folder is sent
 * as USER+folder (INBOX when there is no such folder).
 *
 * Exit codes are sysexits.h's, which MTAs understand: 0 delivered (or a
 * duplicate), 64 usage, 65 too large, 67 unknown user, 69 any other
 * refusal, 75 temporary failure (lmtpd said 4xx or could not be reached).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "ctl.h"
#include "err.h"
#include "fd.h"
#include "net.h"
#include "xalloc.h"

#define CTL_LMTP_TIMEOUT_S 300

struct ctl_lmtp {
	FILE *in; /* replies */
	int fd;
	struct buf out;
	char reply[1024]; /* the last reply's last line */
};

/* ctl_lmtp_send - write out what was gathered; -1 on failure */
static int
ctl_lmtp_send(struct ctl_lmtp *c)
{
	size_t off = 0;
	ssize_t n;

	while (off < c->out.len) {
		n = write(c->fd, c->out.data + off, c->out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	buf_reset(&c->out);
	return 0;
}

/* ctl_lmtp_reply - read one reply; its code, or -1 */
static int
ctl_lmtp_reply(struct ctl_lmtp *c)
{
	if (ctl_lmtp_send(c) < 0)
		return -1;
	do {
		if (fgets(c->reply, sizeof(c->reply), c->in) == NULL ||
		    strlen(c->reply) < 4)
			return -1;
	} while (c->reply[3] == '-');
	c->reply[strcspn(c->reply, "\r\n")] = '\0';
	return atoi(c->reply);
}

/* ctl_lmtp_connect - lmtpd's socket; 0 or -1 */
static int
ctl_lmtp_connect(struct ctl_lmtp *c)
{
	const char *path = cfg_str("lmtpsocket");
	struct err err;
	struct timeval tv = { CTL_LMTP_TIMEOUT_S, 0 };
	char *def = NULL;

	if (path == NULL)
		path = def =
		    xasprintf("%s/socket/lmtp", cfg_str("configdirectory"));
	c->fd = net_connect_unix(path, SOCK_STREAM, &err);
	if (c->fd < 0) {
		(void)fprintf(stderr, "berthctl: deliver: %s\n", err.msg);
		free(def);
		return -1;
	}
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		(void)fprintf(stderr, "berthctl: deliver: %s: %s\n", path,
		    strerror(errno));
		(void)close(c->fd); /* nothing was written on it */
		free(def);
		return -1;
	}
	free(def);
	if ((c->in = fdopen(dup(c->fd), "r")) == NULL)
		return -1;
	buf_init(&c->out, 0);
	return 0;
}

/* ctl_lmtp_body - stdin, dot-stuffed, LF made CRLF, then "." */
static int
ctl_lmtp_body(struct ctl_lmtp *c)
{
	char in[65536];
	int bol = 1, prev = 0;
	ssize_t n, i;

	while ((n = read(0, in, sizeof(in))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (i = 0; i < n; i++) {
			if (bol && in[i] == '.')
				buf_putc(&c->out, '.');
			if (in[i] == '\n' && prev != '\r')
				buf_putc(&c->out, '\r');
			buf_putc(&c->out, in[i]);
			bol = in[i] == '\n';
			prev = (unsigned char)in[i];
		}
		if (c->out.len >= sizeof(in) && ctl_lmtp_send(c) < 0)
			return -1;
	}
	if (!bol)
		buf_puts(&c->out, "\r\n");
	buf_puts(&c->out, ".\r\n");
	return 0;
}

/* ctl_deliver_exit - the sysexits code of an LMTP reply */
static int
ctl_deliver_exit(int code, const char *reply)
{
	if (code >= 200 && code < 300)
		return EX_OK;
	if (code < 0 || (code >= 400 && code < 500))
		return EX_TEMPFAIL;
	if (strncmp(reply + 4, "5.1.1", 5) == 0)
		return EX_NOUSER;
	if (strncmp(reply + 4, "5.3.4", 5) == 0)
		return EX_DATAERR;
	return EX_UNAVAILABLE;
}

int
ctl_deliver(int argc, char **argv)
{
	const char *folder = NULL, *from = "", *step = "connect";
	struct ctl_lmtp c;
	char last[sizeof(c.reply)];
	int ch, code;

	optind = 1;
	while ((ch = getopt(argc, argv, "m:f:")) != -1) {
		if (ch == 'm')
			folder = optarg;
		else if (ch == 'f')
			from = optarg;
		else
			return EX_USAGE;
	}
	if (optind + 1 != argc || strpbrk(argv[optind], "<>\r\n") ||
	    strpbrk(from, "<>\r\n") || (folder && strpbrk(folder, "<>\r\n@"))) {
		(void)fprintf(stderr,
		    "usage: berthctl deliver [-m folder] "
		    "[-f from] USER < message\n");
		return EX_USAGE;
	}
	memset(&c, 0, sizeof(c));
	if (ctl_lmtp_connect(&c) < 0)
		return EX_TEMPFAIL;
	if ((code = ctl_lmtp_reply(&c)) != 220)
		goto done;
	step = "LHLO";
	buf_puts(&c.out, "LHLO localhost\r\n");
	if ((code = ctl_lmtp_reply(&c)) != 250)
		goto done;
	step = "MAIL";
	buf_printf(&c.out, "MAIL FROM:<%s>\r\n", from);
	if ((code = ctl_lmtp_reply(&c)) != 250)
		goto done;
	step = "RCPT";
	buf_printf(&c.out, "RCPT TO:<%s%s%s>\r\n", argv[optind],
	    folder ? "+" : "", folder ? folder : "");
	if ((code = ctl_lmtp_reply(&c)) != 250)
		goto done;
	step = "DATA";
	buf_puts(&c.out, "DATA\r\n");
	if ((code = ctl_lmtp_reply(&c)) != 354)
		goto done;
	step = "message";
	code = ctl_lmtp_body(&c) < 0 ? -1 : ctl_lmtp_reply(&c);
done:
	if (code < 200 || code >= 300)
		(void)fprintf(stderr, "berthctl: deliver: %s: %s\n", step,
		    code < 0 ? "connection lost" : c.reply);
	memcpy(last, c.reply, sizeof(last));
	buf_puts(&c.out, "QUIT\r\n");
	(void)ctl_lmtp_reply(&c);
	if (c.in != NULL)
		fclose(c.in);
	fd_close(c.fd);
	buf_free(&c.out);
	return ctl_deliver_exit(code, last);
}

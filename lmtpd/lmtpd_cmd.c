/*
 * lmtpd_cmd - the LMTP commands (RFC 2033, with RFC 1869 SIZE, 1652
 * 8BITMIME, 2034 ENHANCEDSTATUSCODES, 2920 PIPELINING, 3030 CHUNKING)
 * and the session's state: one table of {name, handler, state needed}.
 *
 * Refuse, never bounce: everything wrong is said in a reply (an unknown
 * recipient at RCPT, an oversized message at MAIL or after the data),
 * and each refusal is logged with its reason.  Command lines are at most
 * LMTP_MAX_LINE bytes; a longer one is read through and refused, and the
 * session goes on.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "lmtpd.h"
#include "log.h"
#include "xalloc.h"

typedef void lmtp_cmd_fn(struct lmtp_session *s, char *arg);

struct lmtp_cmd {
	const char *name;
	lmtp_cmd_fn *fn;
};

void
lmtp_tx_reset(struct lmtp_session *s)
{
	size_t i;

	for (i = 0; i < s->nrcpt; i++) {
		free(s->rcpts[i].addr);
		free(s->rcpts[i].folder);
	}
	s->nrcpt = 0;
	free(s->from);
	s->from = NULL;
	s->size_decl = 0;
	lmtp_spool_drop(s);
	if (s->state > LMTP_S_READY)
		s->state = LMTP_S_READY;
}

/* lmtp_prefix - does line start with word (any case), followed by the
 * end, a space or (for "FROM:"-style words) anything? */
static int
lmtp_prefix(const char *line, const char *word)
{
	size_t n = strlen(word);

	return strncasecmp(line, word, n) == 0;
}

static void
cmd_lhlo(struct lmtp_session *s, char *arg)
{
	size_t i;

	if (arg == NULL || *arg == '\0') {
		lmtp_reply(s, "501 5.5.4 LHLO needs a host name");
		return;
	}
	/* kept for Received:, printable and without spaces */
	for (i = 0; arg[i] && arg[i] != ' ' && i + 1 < sizeof(s->helo); i++)
		s->helo[i] = isgraph((unsigned char)arg[i]) && arg[i] != '(' &&
			arg[i] != ')'
		    ? arg[i]
		    : '_';
	s->helo[i] = '\0';
	lmtp_tx_reset(s);
	s->state = LMTP_S_READY;
	lmtp_reply(s, "250-%s", lmtp_hostname());
	lmtp_reply(s, "250-8BITMIME");
	lmtp_reply(s, "250-ENHANCEDSTATUSCODES");
	lmtp_reply(s, "250-PIPELINING");
	lmtp_reply(s, "250-SIZE %lld", cfg_size("maxmessagesize"));
	lmtp_reply(s, "250 CHUNKING");
}

/* lmtp_mail_params - SIZE= and BODY= of MAIL; 0, or -1 (replied) */
static int
lmtp_mail_params(struct lmtp_session *s, const char *p)
{
	char *end;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (strncasecmp(p, "SIZE=", 5) == 0) {
			errno = 0;
			s->size_decl = strtoll(p + 5, &end, 10);
			if (errno || end == p + 5 || s->size_decl < 0 ||
			    (*end != ' ' && *end != '\0')) {
				lmtp_reply(s, "501 5.5.4 Bad SIZE parameter");
				return -1;
			}
			p = end;
		} else if (strncasecmp(p, "BODY=7BIT", 9) == 0 &&
		    (p[9] == ' ' || p[9] == '\0'))
			p += 9;
		else if (strncasecmp(p, "BODY=8BITMIME", 13) == 0 &&
		    (p[13] == ' ' || p[13] == '\0'))
			p += 13;
		else {
			lmtp_reply(s, "555 5.5.4 Unsupported MAIL parameter");
			return -1;
		}
	}
	return 0;
}

static void
cmd_mail(struct lmtp_session *s, char *arg)
{
	const char *p = arg;
	long long max = cfg_size("maxmessagesize");
	char *from;

	if (s->state != LMTP_S_READY) {
		lmtp_reply(s, "503 5.5.1 %s",
		    s->state == LMTP_S_GREETED ? "Send LHLO first"
					       : "Nested MAIL command");
		return;
	}
	if (p == NULL || !lmtp_prefix(p, "FROM:")) {
		lmtp_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	p += 5;
	while (*p == ' ')
		p++;
	if ((from = lmtp_path_parse(&p)) == NULL) {
		lmtp_reply(s, "501 5.1.7 Bad sender address syntax");
		return;
	}
	s->size_decl = 0;
	if (lmtp_mail_params(s, p) < 0) {
		free(from);
		return;
	}
	if (s->size_decl > max) {
		log_info("refused session=%s from=<%s> size=%lld "
			 "reason=maxmessagesize limit=%lld",
		    s->id, from, s->size_decl, max);
		lmtp_reply(s,
		    "552 5.3.4 Message size exceeds fixed maximum "
		    "message size (%lld)",
		    max);
		free(from);
		return;
	}
	s->from = from;
	s->state = LMTP_S_MAIL;
	s->ntx++;
	lmtp_reply(s, "250 2.1.0 Sender OK");
}

static void
cmd_rcpt(struct lmtp_session *s, char *arg)
{
	const char *p = arg, *why;
	struct lmtp_rcpt r;
	char *addr;
	int res;

	if (s->state != LMTP_S_MAIL) {
		lmtp_reply(s, "503 5.5.1 %s",
		    s->state == LMTP_S_BDAT ? "BDAT in progress"
					    : "Need MAIL before RCPT");
		return;
	}
	if (p == NULL || !lmtp_prefix(p, "TO:")) {
		lmtp_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	p += 3;
	while (*p == ' ')
		p++;
	if ((addr = lmtp_path_parse(&p)) == NULL || addr[0] == '\0') {
		lmtp_reply(s, "501 5.1.3 Bad recipient address syntax");
		free(addr);
		return;
	}
	while (*p == ' ')
		p++;
	if (*p != '\0') {
		lmtp_reply(s, "555 5.5.4 Unsupported RCPT parameter");
		free(addr);
		return;
	}
	if (s->nrcpt >= LMTP_MAX_RCPT) {
		log_info("refused session=%s to=<%s> reason=too many "
			 "recipients limit=%d",
		    s->id, addr, LMTP_MAX_RCPT);
		lmtp_reply(s, "452 4.5.3 Too many recipients");
		free(addr);
		return;
	}
	memset(&r, 0, sizeof(r));
	res = lmtp_rcpt_resolve(s, addr, &r, &why);
	if (res == 0 &&
	    (res = lmtp_rcpt_quota(s, r.user,
		 s->size_decl > 0 ? (uint64_t)s->size_decl : 0, &why)) != 0) {
		log_info("refused session=%s from=<%s> to=<%s> user=%s "
			 "size=%lld reason=%s",
		    s->id, s->from, addr, r.user, s->size_decl, why);
		lmtp_quota_reply(s, res, addr);
		free(addr);
		free(r.folder);
		return;
	}
	if (res != 0) {
		log_info("refused session=%s from=<%s> to=<%s> reason=%s",
		    s->id, s->from, addr, why);
		if (res == -1)
			lmtp_reply(s, "550 5.1.1 <%s>: %s", addr, why);
		else
			lmtp_reply(s,
			    "451 4.3.0 <%s>: temporary failure, "
			    "try again later",
			    addr);
		free(addr);
		free(r.folder);
		return;
	}
	r.addr = addr;
	if (s->nrcpt == s->rcpt_size) {
		s->rcpt_size = s->rcpt_size ? 2 * s->rcpt_size : 8;
		s->rcpts =
		    xreallocarray(s->rcpts, s->rcpt_size, sizeof(*s->rcpts));
	}
	s->rcpts[s->nrcpt++] = r;
	lmtp_reply(s, "250 2.1.5 Recipient OK");
}

static void
cmd_data(struct lmtp_session *s, char *arg)
{
	if (arg != NULL) {
		lmtp_reply(s, "501 5.5.4 DATA takes no argument");
		return;
	}
	if (s->state == LMTP_S_BDAT) {
		lmtp_reply(s, "503 5.5.1 DATA after BDAT");
		return;
	}
	if (s->state != LMTP_S_MAIL || s->nrcpt == 0) {
		lmtp_reply(s, "503 5.5.1 No valid recipients");
		return;
	}
	if (lmtp_spool_start(s) < 0) {
		lmtp_reply(s, "451 4.3.0 Temporary failure, try again later");
		return;
	}
	lmtp_reply(s, "354 Start mail input; end with <CRLF>.<CRLF>");
	if (lmtp_data_read(s) < 0)
		return;
	lmtp_deliver(s);
	lmtp_tx_reset(s);
}

/* lmtp_bdat_args - "n [LAST]"; 0, or -1 when malformed */
static int
lmtp_bdat_args(const char *arg, uint64_t *n_r, int *last_r)
{
	unsigned long long n;
	char *end;

	if (arg == NULL || !isdigit((unsigned char)*arg))
		return -1;
	errno = 0;
	n = strtoull(arg, &end, 10);
	if (errno)
		return -1;
	*last_r = 0;
	if (*end == ' ' && strcasecmp(end + 1, "LAST") == 0)
		*last_r = 1;
	else if (*end != '\0')
		return -1;
	*n_r = n;
	return 0;
}

static void
cmd_bdat(struct lmtp_session *s, char *arg)
{
	uint64_t n;
	int last, ok;

	if (lmtp_bdat_args(arg, &n, &last) < 0) {
		/* the chunk's end is unknown: no way to go on */
		lmtp_reply(s, "501 5.5.4 Syntax: BDAT <size> [LAST]; closing");
		s->quit = 1;
		return;
	}
	ok = (s->state == LMTP_S_MAIL || s->state == LMTP_S_BDAT) &&
	    s->nrcpt > 0;
	if (ok && s->state == LMTP_S_MAIL && lmtp_spool_start(s) < 0) {
		if (lmtp_bdat_read(s, n, 1) < 0)
			return;
		lmtp_reply(s, "451 4.3.0 Temporary failure, try again later");
		lmtp_tx_reset(s);
		return;
	}
	if (lmtp_bdat_read(s, n, !ok) < 0)
		return;
	if (!ok) {
		lmtp_reply(s, "503 5.5.1 %s",
		    s->state < LMTP_S_MAIL ? "Need MAIL first"
					   : "No valid recipients");
		return;
	}
	s->state = LMTP_S_BDAT;
	if (!last) {
		lmtp_reply(s, "250 2.0.0 %llu octets received",
		    (unsigned long long)n);
		return;
	}
	lmtp_deliver(s);
	lmtp_tx_reset(s);
}

static void
cmd_rset(struct lmtp_session *s, char *arg)
{
	(void)arg;
	lmtp_tx_reset(s);
	lmtp_reply(s, "250 2.0.0 OK");
}

static void
cmd_noop(struct lmtp_session *s, char *arg)
{
	(void)arg;
	lmtp_reply(s, "250 2.0.0 OK");
}

static void
cmd_quit(struct lmtp_session *s, char *arg)
{
	(void)arg;
	lmtp_reply(s, "221 2.0.0 %s closing connection", lmtp_hostname());
	s->quit = 1;
}

static void
cmd_vrfy(struct lmtp_session *s, char *arg)
{
	(void)arg;
	lmtp_reply(s,
	    "502 5.5.1 VRFY and EXPN are not offered; "
	    "RCPT tells");
}

static void
cmd_helo(struct lmtp_session *s, char *arg)
{
	(void)arg;
	lmtp_reply(s, "500 5.5.1 This is LMTP: use LHLO");
}

static void
cmd_help(struct lmtp_session *s, char *arg)
{
	(void)arg;
	lmtp_reply(s, "214 2.0.0 LHLO MAIL RCPT DATA BDAT RSET NOOP QUIT");
}

static const struct lmtp_cmd lmtp_cmds[] = {
	{ "LHLO", cmd_lhlo },
	{ "MAIL", cmd_mail },
	{ "RCPT", cmd_rcpt },
	{ "DATA", cmd_data },
	{ "BDAT", cmd_bdat },
	{ "RSET", cmd_rset },
	{ "NOOP", cmd_noop },
	{ "QUIT", cmd_quit },
	{ "VRFY", cmd_vrfy },
	{ "EXPN", cmd_vrfy },
	{ "HELO", cmd_helo },
	{ "EHLO", cmd_helo },
	{ "HELP", cmd_help },
};

/* lmtp_dispatch - one command line */
static void
lmtp_dispatch(struct lmtp_session *s, char *line, size_t len)
{
	char *arg;
	size_t i, n;

	if (strlen(line) != len) {
		lmtp_reply(s, "500 5.5.2 NUL in command line");
		return;
	}
	n = strcspn(line, " ");
	arg = line[n] == ' ' ? line + n + 1 : NULL;
	for (i = 0; i < sizeof(lmtp_cmds) / sizeof(lmtp_cmds[0]); i++)
		if (n == strlen(lmtp_cmds[i].name) &&
		    strncasecmp(line, lmtp_cmds[i].name, n) == 0) {
			lmtp_cmds[i].fn(s, arg);
			return;
		}
	lmtp_reply(s, "500 5.5.2 Command unrecognized");
}

void
lmtp_serve(struct lmtp_session *s)
{
	char *line;
	size_t len;
	int r;

	lmtp_reply(s, "220 %s LMTP berth lmtpd ready", lmtp_hostname());
	while (!s->quit && !s->dead) {
		if ((r = lmtp_read_line(s, &line, &len)) < 0)
			break;
		if (r == 1) {
			log_info("refused session=%s addr=%s reason=line "
				 "too long limit=%d",
			    s->id, s->addr, LMTP_MAX_LINE);
			lmtp_reply(s,
			    "500 5.5.2 Line too long (at most %d "
			    "bytes)",
			    LMTP_MAX_LINE);
			continue;
		}
		lmtp_dispatch(s, line, len);
	}
	lmtp_flush(s);
	lmtp_tx_reset(s);
}

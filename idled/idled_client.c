/*
 * idled_client - input from parked clients.
 *
 * idled answers itself what needs no mailbox: DONE (the IDLE ends; the
 * session then waits for its next command, still parked), the next
 * "<tag> IDLE" (clients restart IDLE every few minutes; changes made in
 * between are reported then), and LOGOUT.  Anything else, and every
 * command of a not-logged-in session once its penalty reply is out, goes
 * to a worker with the bytes read so far.  Bytes a client sends while its
 * session waits for a worker, or serves a penalty, are kept (bounded by
 * SNAP_MAX_PENDING) and travel with it.
 *
 * A session waits here for a *whole command*, not a line: its pending
 * bytes are read with imapd's own reader (lib/imapp) and limits
 * (snap_reader_limits), so a partial line or literal, before or after
 * login, costs no worker.  For a synchronizing literal idled can hold it
 * sends the "+" continuation itself; one too big to hold after login
 * wakes the session, and the worker sends it.  Invariant: every
 * synchronizing literal announced in pending[0..contd) has had its "+"
 * (the snapshot carries contd, so a worker never sends one twice).
 * Before login, what is over the pre-login limits is refused here as
 * imapd would: a line with "* BYE", a synchronizing literal with a
 * tagged BAD before any byte of it is read, a LITERAL+ one with "* BYE".
 *
 * A session under COMPRESS=DEFLATE (SNAP_F_DEFLATE) is woken by any byte
 * its client sends: idled keeps no inflater (the client's 32 KB window
 * would cost more than the rest of the session), so it cannot read
 * them; the worker restores its inflater from the snapshot.
 *
 * A session parked inside AUTHENTICATE (SNAP_F_SASLWAIT) waits for one
 * line, its SASL response, and is handed on with it (or, past what idled
 * holds, with what came so far).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "idled.h"
#include "imapp.h"
#include "log.h"
#include "xalloc.h"

static const char client_cont[] = "+ Ready for literal data\r\n";

/* scratch: a session's pending bytes read from the start on each look
 * (at most SNAP_MAX_PENDING bytes; idled is single-threaded) */
static struct imapp_reader client_rd;
static int client_rd_ready;

/* client_line - length of the first whole line of pending input, or 0 */
static size_t
client_line(const struct isess *s)
{
	const char *nl;

	if (s->pending.len == 0)
		return 0;
	nl = memchr(s->pending.data, '\n', s->pending.len);
	return nl ? (size_t)(nl - s->pending.data) + 1 : 0;
}

/*
 * client_scan - read s's pending bytes as imapd's reader would: the first
 * thing to act on (IMAPP_COMMAND: a whole command; IMAPP_CONTINUE: a
 * synchronizing literal not yet continued, its size in client_rd;
 * IMAPP_ELINE, IMAPP_ELITERAL: over a limit) and where it ends, or
 * IMAPP_MORE
 */
static enum imapp_status
client_scan(const struct isess *s, size_t *end_r)
{
	struct imapp_reader *r = &client_rd;
	enum imapp_status st;
	size_t off = 0, used;

	if (!client_rd_ready) {
		imapp_reader_init(r, 0, 0, 0);
		client_rd_ready = 1;
	}
	imapp_reader_reset(r);
	r->skipping = 0;
	snap_reader_limits(r, s->kind == SNAP_K_NOTAUTH);
	*end_r = 0;
	while (off < s->pending.len) {
		st = imapp_reader_feed(r, s->pending.data + off,
		    s->pending.len - off, &used);
		off += used;
		if (st == IMAPP_MORE)
			break;
		if (st == IMAPP_CONTINUE && off <= s->contd)
			continue; /* already continued */
		*end_r = off;
		return st;
	}
	return IMAPP_MORE;
}

/* client_consume - the first n pending bytes are answered */
static void
client_consume(struct isess *s, size_t n)
{
	buf_consume(&s->pending, n);
	s->contd = s->contd > n ? s->contd - (uint32_t)n : 0;
}

/* client_cmd - is line "<tag> <cmd>" exactly?  copies the tag */
static int
client_cmd(const char *d, size_t len, const char *cmd, char *tag, size_t size)
{
	const char *sp = memchr(d, ' ', len);
	size_t n = sp ? (size_t)(sp - d) : 0, cl = strlen(cmd);

	while (len > 0 && (d[len - 1] == '\n' || d[len - 1] == '\r'))
		len--;
	if (sp == NULL || n == 0 || n >= size || len != n + 1 + cl ||
	    strncasecmp(sp + 1, cmd, cl) != 0 || memchr(d, '+', n) ||
	    memchr(d, '*', n))
		return 0;
	memcpy(tag, d, n);
	tag[n] = '\0';
	return 1;
}

/* client_is_done - is line "DONE"? */
static int
client_is_done(const char *d, size_t len)
{
	return (len == 5 || (len == 6 && d[4] == '\r')) &&
	    strncasecmp(d, "DONE", 4) == 0;
}

/* client_logout - answer LOGOUT as imapd does, and close */
static void
client_logout(struct isess *s, const char *tag)
{
	char reply[200];
	int n;

	n = snprintf(reply, sizeof(reply),
	    "* BYE berth logging out\r\n"
	    "%s OK Completed\r\n",
	    tag);
	if (idled_sess_write(s, reply, (size_t)n) == 0)
		idled_sess_drop(s, "logout");
}

/*
 * client_bye - refuse with text and close; 1.  What the client has
 * already sent (the rest of a refused line or literal) is read and
 * dropped first, up to a bound and without waiting: closing with unread
 * input would reset the connection, which may destroy the BYE before
 * the client reads it.
 */
static int
client_bye(struct isess *s, const char *text)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	if (idled_sess_write(s, text, strlen(text)) < 0)
		return 1;
	while (total < 256 * 1024 && (n = read(s->fd, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	idled_sess_drop(s, "refused");
	return 1;
}

/*
 * client_refuse - before login, pending is over a limit where it ends at
 * end (the announcing line of a literal, or a line): answer as imapd
 * would.  1 when the session was dropped, 0 when it goes on (a refused
 * synchronizing literal: its line is answered and gone).
 */
static int
client_refuse(struct isess *s, enum imapp_status st, size_t end)
{
	struct imapp_reader *r = &client_rd;
	const char *tag = r->tag[0] ? r->tag : "*";
	unsigned long long max = (unsigned long long)r->max_literal;
	char reply[200];
	int n;

	if (st == IMAPP_ELINE) {
		log_info("refused line too long user=- addr=%s "
			 "limit=imap_maxline_preauth:%zu",
		    s->addr, r->max_line);
		n = snprintf(reply, sizeof(reply),
		    "* BYE Command line too "
		    "long before login (limit %zu bytes)\r\n",
		    r->max_line);
		return client_bye(s, reply);
	}
	if (r->literal_invalid) {
		log_info("refused invalid literal size user=- addr=%s",
		    s->addr);
		n = snprintf(reply, sizeof(reply),
		    r->literal_nonsync ? "* BYE Invalid literal size\r\n"
				       : "%s BAD Invalid literal size\r\n",
		    tag);
	} else {
		log_info("refused literal too big user=- addr=%s "
			 "limit=maxliteral_preauth:%llu",
		    s->addr, max);
		if (r->literal_nonsync)
			n = snprintf(reply, sizeof(reply),
			    "* BYE [TOOBIG] "
			    "Literal larger than %llu bytes before login\r\n",
			    max);
		else
			n = snprintf(reply, sizeof(reply),
			    "%s BAD [TOOBIG] "
			    "Literal larger than %llu bytes before login\r\n",
			    tag, max);
	}
	if (r->literal_nonsync)
		return client_bye(s, reply);
	if (idled_sess_write(s, reply, (size_t)n) < 0)
		return 1;
	client_consume(s, end);
	return 0;
}

/*
 * client_whole - the first len pending bytes are a whole command of a
 * session between commands: answer IDLE and LOGOUT, hand the rest on.
 * 1 when the session was handed on or dropped.
 */
static int
client_whole(struct isess *s, size_t len)
{
	const char *d = s->pending.data;
	char tag[64];

	if (client_cmd(d, len, "LOGOUT", tag, sizeof(tag))) {
		client_logout(s, tag);
		return 1;
	}
	if (s->kind == SNAP_K_WAIT && len == s->pending.len &&
	    !idled_selected_held(s) &&
	    client_cmd(d, len, "IDLE", tag, sizeof(tag))) {
		if (idled_sess_write(s, "+ idling\r\n", 10) < 0)
			return 1;
		s->kind = SNAP_K_IDLE;
		free(s->tag);
		s->tag = xstrdup(tag);
		s->idle_since_ms = ev_now_ms();
		client_consume(s, len);
		/* idling again: report what changed in between */
		return idled_change_catch_up(s);
	}
	idled_wake(s, "client-input");
	return 1;
}

/*
 * client_command - a session between commands (logged in, or not once
 * its penalty reply is out) has new input: continue literals it can
 * hold, refuse what is over the pre-login limits, act on a whole
 * command.  1 when the session was handed on or dropped.
 */
static int
client_command(struct isess *s)
{
	enum imapp_status st;
	size_t end;

	for (;;) {
		switch ((st = client_scan(s, &end))) {
		case IMAPP_MORE:
			return 0;
		case IMAPP_COMMAND:
			return client_whole(s, end);
		case IMAPP_CONTINUE:
			/* a literal more than idled holds: a worker reads
			 * it (and sends the continuation) */
			if (client_rd.literal_left > SNAP_MAX_PENDING - end) {
				idled_wake(s, "client-literal");
				return 1;
			}
			if (idled_sess_write(s, client_cont,
				sizeof(client_cont) - 1) < 0)
				return 1;
			s->contd = (uint32_t)end;
			break;
		default:
			/* after login the worker refuses it as usual */
			if (s->kind != SNAP_K_NOTAUTH) {
				idled_wake(s, "client-input");
				return 1;
			}
			if (client_refuse(s, st, end))
				return 1;
			break;
		}
	}
}

/*
 * client_full - s holds SNAP_MAX_PENDING bytes and its client sends more.
 * After login a worker reads on (the command is longer than idled holds);
 * before login a whole command always fits, so this is a client sending
 * past one that waits for its reply: refused.  1 when the session was
 * handed on or dropped, 0 to go on as before (IDLE: dropped for too much
 * input).
 */
static int
client_full(struct isess *s)
{
	/* after login, or a SASL response longer than idled holds */
	if (s->kind == SNAP_K_WAIT || (s->flags & SNAP_F_SASLWAIT)) {
		idled_wake(s, "client-input");
		return 1;
	}
	return 0;
}

int
idled_client_input(struct isess *s)
{
	char reply[200];
	const char *d;
	size_t len;
	int n;

	/* a stalled AUTHENTICATE: its response is one line, not a command */
	if (s->flags & SNAP_F_SASLWAIT) {
		if (client_line(s) == 0)
			return 0;
		idled_wake(s, "client-input");
		return 1;
	}
	if (s->kind == SNAP_K_NOTAUTH && !s->replied)
		return 0; /* kept until the reply */
	/* COMPRESS=DEFLATE: idled holds no inflater; a worker reads it */
	if (s->flags & SNAP_F_DEFLATE) {
		idled_wake(s, "client-input");
		return 1;
	}
	if (s->kind != SNAP_K_IDLE)
		return client_command(s);
	/* inside IDLE only DONE is expected: read by lines */
	while ((len = client_line(s)) > 0) {
		d = s->pending.data;
		if (!client_is_done(d, len)) {
			idled_wake(s, "client-input");
			return 1;
		}
		n = snprintf(reply, sizeof(reply), "%s OK IDLE terminated\r\n",
		    s->tag);
		s->kind = SNAP_K_WAIT;
		s->tag[0] = '\0';
		if (idled_sess_write(s, reply, (size_t)n) < 0)
			return 1;
		client_consume(s, len);
		return client_command(s);
	}
	return 0;
}

void
idled_client_io(struct ev_io *io, unsigned events, void *ctx)
{
	struct isess *s = ctx;
	char buf[2048];
	size_t room;
	ssize_t n;

	(void)io;
	log_set_session(s->conn_id);
	room = SNAP_MAX_PENDING - s->pending.len;
	if (room == 0 && !s->waking && client_full(s))
		return;
	n = read(s->fd, buf,
	    room > 0 && room < sizeof(buf) ? room : sizeof(buf));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		idled_sess_drop(s, "client-closed");
		return;
	}
	if (n > 0 && buf_append(&s->pending, buf, (size_t)n) < 0) {
		log_info("refused user=%s addr=%s reason=too-much-input "
			 "limit=%d",
		    s->user->name[0] ? s->user->name : "-", s->addr,
		    SNAP_MAX_PENDING);
		idled_sess_drop(s, "too-much-input");
		return;
	}
	if (s->waking)
		return; /* it travels with the session */
	if (n > 0 && idled_client_input(s))
		return;
	if (n < 0 && (events & EV_HUP))
		idled_sess_drop(s, "client-closed");
}

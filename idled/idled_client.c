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
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "idled.h"
#include "log.h"
#include "xalloc.h"

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

/* client_cmd - is line "<tag> <cmd>" exactly?  copies the tag */
static int
client_cmd(const char *d, size_t len, const char *cmd, char *tag,
    size_t size)
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

	n = snprintf(reply, sizeof(reply), "* BYE berth logging out\r\n"
	    "%s OK Completed\r\n", tag);
	if (idled_sess_write(s, reply, (size_t)n) == 0)
		idled_sess_drop(s, "logout");
}

int
idled_client_input(struct isess *s)
{
	char reply[200], tag[64];
	const char *d;
	size_t len;
	int n;

	while ((len = client_line(s)) > 0) {
		d = s->pending.data;
		if (s->kind == SNAP_K_NOTAUTH) {
			if (!s->replied)
				return 0;	/* kept until the reply */
			if (client_cmd(d, len, "LOGOUT", tag, sizeof(tag))) {
				client_logout(s, tag);
				return 1;
			}
			idled_wake(s, "client-input");
			return 1;
		}
		if (s->kind == SNAP_K_IDLE && client_is_done(d, len)) {
			n = snprintf(reply, sizeof(reply), "%s OK IDLE "
			    "terminated\r\n", s->tag);
			s->kind = SNAP_K_WAIT;
			s->tag[0] = '\0';
		} else if (s->kind == SNAP_K_WAIT && len == s->pending.len &&
		    !idled_selected_held(s) &&
		    client_cmd(d, len, "IDLE", tag, sizeof(tag))) {
			n = snprintf(reply, sizeof(reply), "+ idling\r\n");
			s->kind = SNAP_K_IDLE;
			free(s->tag);
			s->tag = xstrdup(tag);
			s->idle_since_ms = ev_now_ms();
		} else if (s->kind == SNAP_K_WAIT &&
		    client_cmd(d, len, "LOGOUT", tag, sizeof(tag))) {
			client_logout(s, tag);
			return 1;
		} else {
			idled_wake(s, "client-input");
			return 1;
		}
		if (idled_sess_write(s, reply, (size_t)n) < 0)
			return 1;
		buf_consume(&s->pending, len);
		/* idling again: report what changed in between */
		if (s->kind == SNAP_K_IDLE && idled_change_catch_up(s))
			return 1;
	}
	return 0;
}

void
idled_client_io(struct ev_io *io, unsigned events, void *ctx)
{
	struct isess *s = ctx;
	char buf[2048];
	ssize_t n;

	(void)io;
	n = read(s->fd, buf, sizeof(buf));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		idled_sess_drop(s, "client-closed");
		return;
	}
	if (n > 0 && buf_append(&s->pending, buf, (size_t)n) < 0) {
		log_info("refused user=%s addr=%s reason=too-much-input "
		    "limit=%d", s->user->name[0] ? s->user->name : "-",
		    s->addr, SNAP_MAX_PENDING);
		idled_sess_drop(s, "too-much-input");
		return;
	}
	if (s->waking)
		return;		/* it travels with the session */
	if (n > 0 && idled_client_input(s))
		return;
	if (n < 0 && (events & EV_HUP))
		idled_sess_drop(s, "client-closed");
}

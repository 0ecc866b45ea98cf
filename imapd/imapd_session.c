/*
 * imapd_session - the life of one session: a new client admitted or a
 * parked one resumed, then the command loop (read a command with the
 * reader's limits, tokenize, dispatch through the command table, send
 * pending untagged updates, repeat until LOGOUT, EOF or timeout), and
 * its end.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authclient.h"
#include "authlink.h"
#include "cfg.h"
#include "clock.h"
#include "fd.h"
#include "imapd.h"
#include "ipnet.h"
#include "log.h"
#include "net.h"
#include "proxyp.h"
#include "mutf7.h"
#include "snap.h"
#include "srv.h"

static void
imap_reply(struct imap_cmd *cmd, const char *status, const char *fmt,
    va_list ap)
{
	struct imap_session *s = cmd->s;

	buf_printf(&s->out, "%s %s ", cmd->tag, status);
	buf_vprintf(&s->out, fmt, ap);
	buf_puts(&s->out, "\r\n");
}

void
imap_ok(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_reply(cmd, "OK", fmt, ap);
	va_end(ap);
}

void
imap_no(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_reply(cmd, "NO", fmt, ap);
	va_end(ap);
}

void
imap_bad(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_reply(cmd, "BAD", fmt, ap);
	va_end(ap);
}

const char *
imap_astring(struct imap_cmd *cmd, size_t i)
{
	if (i >= cmd->nargs || !imapp_arg_is_astring(&cmd->args[i]))
		return NULL;
	return cmd->args[i].str;
}

static const struct {
	const char *name;
	uint32_t bit;
} imap_sysflags[] = {
	{ "\\Seen", STORE_F_SEEN },
	{ "\\Answered", STORE_F_ANSWERED },
	{ "\\Flagged", STORE_F_FLAGGED },
	{ "\\Deleted", STORE_F_DELETED },
	{ "\\Draft", STORE_F_DRAFT },
};

int
imap_flags_parse(const struct imapp_arg *a, uint32_t *flags_r, struct buf *kw_r)
{
	const struct imapp_arg *list = a;
	size_t n = 1, i, j;

	*flags_r = 0;
	if (a->type == IMAPP_LIST) {
		list = a->list;
		n = a->nlist;
	}
	for (i = 0; i < n; i++) {
		const char *f = list[i].str;

		if (list[i].type != IMAPP_ATOM)
			return -1;
		if (f[0] == '\\') {
			for (j = 0; j < 5; j++)
				if (strcasecmp(f, imap_sysflags[j].name) == 0)
					break;
			if (j == 5) {
				if (strcasecmp(f, "\\Recent") == 0)
					continue; /* not settable */
				return -1;
			}
			*flags_r |= imap_sysflags[j].bit;
			continue;
		}
		/* flag-keyword = atom: no ']' nor list wildcard */
		if (strpbrk(f, "]%*") != NULL ||
		    kw_r->len + strlen(f) + 2 > STORE_MAX_KEYWORDS_LEN / 2)
			return -1;
		if (kw_r->len)
			buf_putc(kw_r, ' ');
		buf_puts(kw_r, f);
	}
	return 0;
}

void
imap_put_mbox(struct imap_session *s, struct buf *out, const char *name)
{
	struct buf u = BUF_INIT;

	if (s->utf8 && mutf7_to_utf8(name, &u) == 0)
		imapp_put_utf8_astring(out, u.data ? u.data : "", u.len);
	else
		imapp_put_astring(out, name, strlen(name));
	buf_free(&u);
}

void
imap_flags_put(struct buf *out, uint32_t flags, const char *kw, int recent)
{
	size_t j;
	int sp = 0;

	buf_putc(out, '(');
	for (j = 0; j < 5; j++)
		if (flags & imap_sysflags[j].bit) {
			buf_printf(out, "%s%s", sp++ ? " " : "",
			    imap_sysflags[j].name);
		}
	if (recent)
		buf_printf(out, "%s\\Recent", sp++ ? " " : "");
	if (kw && *kw)
		buf_printf(out, "%s%s", sp++ ? " " : "", kw);
	buf_putc(out, ')');
}

/* imapd_last_line - where the last line of out starts (a command's
 * tagged reply: it carries no literal) */
static size_t
imapd_last_line(const struct buf *out)
{
	size_t at = out->len >= 2 ? out->len - 2 : 0;

	while (at > 0 && out->data[at - 1] != '\n')
		at--;
	return at;
}

/* imapd_dispatch - run one parsed command */
static void
imapd_dispatch(struct imap_session *s, struct imapp_cmd *c)
{
	struct imap_cmd cmd = { s, c, c->tag, c->args, c->nargs, 0, NULL, 0 };
	const struct imap_cmd_def *def;
	char name[64];

	snprintf(name, sizeof(name), "%s", c->name);
	if (strcmp(name, "UID") == 0) {
		if (c->nargs < 1 || c->args[0].type != IMAPP_ATOM) {
			imap_bad(&cmd, "UID needs a command");
			return;
		}
		snprintf(name, sizeof(name), "%s", c->args[0].str);
		for (char *p = name; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		cmd.uid = 1;
		cmd.args++;
		cmd.nargs--;
	}
	def = imapd_cmd_find(name);
	if (def == NULL || (cmd.uid && !(def->flags & IMAP_CMD_UID))) {
		imap_bad(&cmd, "Unknown command %s%s", cmd.uid ? "UID " : "",
		    name);
		return;
	}
	if (s->state == IMAP_S_NOTAUTH && !(def->flags & IMAP_CMD_NOTAUTH)) {
		imap_bad(&cmd, "%s not allowed before login", name);
		return;
	}
	if (s->state != IMAP_S_NOTAUTH && !(def->flags & IMAP_CMD_AUTH)) {
		imap_bad(&cmd, "%s not allowed after login", name);
		return;
	}
	if ((def->flags & IMAP_CMD_SELECTED) && s->state != IMAP_S_SELECTED) {
		imap_bad(&cmd, "%s needs a selected mailbox", name);
		return;
	}
	def->fn(&cmd);
	while (cmd.nspent > 0)
		free(cmd.spent[--cmd.nspent]);
	free(cmd.spent);
	if (s->state == IMAP_S_SELECTED || s->notify != NULL) {
		/* the tagged reply (the last line) must come last: hold it
		 * while syncing.  The command's untagged responses stay
		 * before the sync's: their message numbers are those from
		 * before its EXPUNGEs (RFC 3501 7.4.1). */
		struct buf tagged = BUF_INIT;
		size_t at = imapd_last_line(&s->out);

		if (s->out.len > at) {
			buf_append(&tagged, s->out.data + at, s->out.len - at);
			buf_truncate(&s->out, at);
		}
		if (s->state == IMAP_S_SELECTED)
			view_sync(s,
			    !(def->flags & IMAP_CMD_NOEXPUNGE) || cmd.uid);
		imapd_notify_sync(s, IMAPD_SYNC_CMD);
		buf_append(&s->out, buf_cstr(&tagged), tagged.len);
		buf_free(&tagged);
	}
}

/*
 * imapd_refuse - answer a reader error.  Before login a line over the
 * limit ends the session (its rest would have to be read and thrown away
 * by a worker); a LITERAL+ literal that is refused always does (its bytes
 * are on the way).  The BYE goes out before the close: the session ends
 * by state, not by s->dead, which would drop pending output.
 */
static void
imapd_refuse(struct imap_session *s, enum imapp_status st)
{
	const char *tag = s->rd.tag[0] ? s->rd.tag : "*",
		   *user = s->user[0] ? s->user : "-";
	int pre = s->state == IMAP_S_NOTAUTH;
	unsigned long long max = (unsigned long long)s->rd.max_literal;

	if (st == IMAPP_ELINE && pre) {
		io_printf(s,
		    "* BYE Command line too long before login (limit "
		    "%zu bytes)\r\n",
		    s->rd.max_line);
		log_info("refused line too long user=- addr=%s "
			 "limit=imap_maxline_preauth:%zu",
		    s->addr, s->rd.max_line);
		s->state = IMAP_S_LOGOUT;
	} else if (st == IMAPP_ELINE) {
		io_printf(s, "%s BAD Line too long (limit %zu bytes)\r\n", tag,
		    s->rd.max_line);
		log_info("refused line too long user=%s addr=%s "
			 "limit=imap_maxline:%zu",
		    user, s->addr, s->rd.max_line);
	} else if (s->rd.literal_invalid) {
		if (s->rd.literal_nonsync)
			io_printf(s, "* BYE Invalid literal size\r\n");
		else
			io_printf(s, "%s BAD Invalid literal size\r\n", tag);
		log_info("refused invalid literal size user=%s addr=%s", user,
		    s->addr);
	} else if (s->rd.literal_nonsync && s->rd.max_nonsync > 0 &&
	    s->rd.max_nonsync < max) {
		/* LITERAL-: the tagged BAD, then close (its bytes come) */
		io_printf(s,
		    "%s BAD [TOOBIG] Non-synchronizing literal "
		    "larger than %llu bytes\r\n* BYE Too much input\r\n",
		    tag, (unsigned long long)s->rd.max_nonsync);
		log_info("refused literal too big user=%s addr=%s "
			 "limit=literalminus:%llu",
		    user, s->addr, (unsigned long long)s->rd.max_nonsync);
	} else {
		if (s->rd.literal_nonsync)
			io_printf(s,
			    "* BYE [TOOBIG] Literal larger than %llu "
			    "bytes%s\r\n",
			    max, pre ? " before login" : "");
		else
			io_printf(s,
			    "%s %s [TOOBIG] Literal larger than %llu "
			    "bytes%s\r\n",
			    tag, pre ? "BAD" : "NO", max,
			    pre ? " before login" : "");
		log_info("refused literal too big user=%s addr=%s "
			 "limit=%s:%llu",
		    user, s->addr, pre ? "maxliteral_preauth" : "maxliteral",
		    max);
	}
	if (st == IMAPP_ELITERAL && s->rd.literal_nonsync)
		s->state = IMAP_S_LOGOUT;
}

void
imapd_wait_sync(struct imap_session *s)
{
	/* the store reads are covered by the watchdog, waiting is not */
	unsigned armed = alarm(IMAPD_WATCHDOG_S);

	if (s->notify != NULL)
		imapd_notify_sync(s, IMAPD_SYNC_WAIT);
	else if (s->state == IMAP_S_SELECTED)
		view_sync(s, 1);
	if (armed == 0)
		alarm(0);
}

void
imapd_idle_sync(struct imap_session *s)
{
	if (s->notify != NULL)
		imapd_notify_sync(s, IMAPD_SYNC_IDLE);
	else if (s->state == IMAP_S_SELECTED)
		view_sync(s, 1);
}

/*
 * imapd_read_unparked - read on in the worker for a session that cannot
 * be parked.  Inside a command too big for idled to hold (after login: a
 * large APPEND literal, an over-long line being skipped) the wait is
 * bounded by stall_timeout, not timeout, so that a client that stops in
 * the middle of an upload holds the worker minutes, not half an hour;
 * and the command must come at stall_min_rate bytes a second, counted
 * over each stall_timeout, so that a trickle (a byte every minute, each
 * read well within stall_timeout) cannot hold it for as long as it
 * likes either.  A client that sends nothing for a whole window is
 * logged out for stall_timeout, one that sends too little for
 * stall_min_rate.  Parking such a command instead would move its bytes
 * (up to maxliteral) into idled, which holds a few hundred bytes a
 * session by design; the slots of imapd_slot.c bound how many workers
 * these commands hold, and these bounds how long.
 */
static int
imapd_read_unparked(struct imap_session *s)
{
	long long stall = cfg_duration_ms("stall_timeout"), now, left;
	uint64_t got, min;
	char limit[64];

	if ((s->rd.cmd.len == 0 && !s->rd.skipping) || stall <= 0 ||
	    stall >= s->timeout_ms)
		return io_read(s, s->timeout_ms);
	for (;;) {
		now = clock_mono_ms();
		if (s->stall_ms == 0) {
			s->stall_ms = now; /* a window begins */
			s->stall_in = s->in_total;
		}
		if ((left = s->stall_ms + stall - now) > 0) {
			if (io_read(s, left) == 0)
				return 0;
			if (errno != ETIMEDOUT)
				return -1;
		}
		/* the window is over: enough came? */
		got = s->in_total - s->stall_in;
		min = (uint64_t)cfg_size("stall_min_rate") * (uint64_t)stall /
		    1000;
		if (got > 0 && got >= min) {
			s->stall_ms = 0;
			continue;
		}
		if (got == 0)
			snprintf(limit, sizeof(limit), "stall_timeout:%llds",
			    stall / 1000);
		else
			snprintf(limit, sizeof(limit), "stall_min_rate:%lld",
			    (long long)cfg_size("stall_min_rate"));
		io_printf(s, "* BYE Command %s\r\n",
		    got == 0 ? "stalled for too long" : "sent too slowly");
		log_info("autologout %s command user=%s addr=%s read=%zu "
			 "got=%llu window=%llds limit=%s",
		    got == 0 ? "stalled" : "slow", s->user[0] ? s->user : "-",
		    s->addr, s->rd.cmd.len, (unsigned long long)got,
		    stall / 1000, limit);
		s->state = IMAP_S_LOGOUT;
		errno = ECONNABORTED;
		return -1;
	}
}

/*
 * imapd_wait_input - read more of the next command.  A session that
 * waits long enough is parked in idled instead of holding this worker:
 * under NOTIFY after notify_park_delay (idled wakes it when a watched
 * mailbox changes; until then the store is polled every idle_poll so
 * notifications still flow), any other logged-in session after
 * wait_park_delay (idled hands it back at its next command, and the
 * worker that takes it sends what changed meanwhile as this one would
 * have, after that command), and before login after notauth_park_delay
 * (so connections that never log in cost no worker).  Whatever the
 * delay, a session is parked at once while clients queue on the
 * listeners for want of a free worker (park_on_backlog; the worker
 * sleeps in one poll of the client and its listeners meanwhile).  A
 * session idled does not take is offered again after
 * IMAPD_PARK_RETRY_MS, doubling, rather than held for the whole
 * timeout.  -1 ends the session here (EOF, timeout, or parked).
 */
static int
imapd_wait_input(struct imap_session *s)
{
	int notauth = s->state == IMAP_S_NOTAUTH, notify = s->notify != NULL;
	long long delay = cfg_duration_ms(notauth ? "notauth_park_delay"
			  : notify		  ? "notify_park_delay"
						  : "wait_park_delay"),
		  poll_ms = cfg_duration_ms("idle_poll"), waited = 0, step,
		  pdelay, base, retry = 0;
	int between, unfinished, press;

	/*
	 * An unfinished command that idled can hold whole (what came so far
	 * and the rest of the literal being read fit in its pending bytes)
	 * is parked after partial_park_delay: a client that stops inside a
	 * command is a slow link or an attack, and either way need not hold
	 * a worker.  One that idled cannot hold (a large APPEND literal) is
	 * never parked: idled would only hand it straight back.
	 */
	unfinished = s->rd.cmd.len > 0;
	if (unfinished && s->rd.cmd.len + s->rd.literal_left > SNAP_MAX_PENDING)
		return imapd_read_unparked(s);
	if (unfinished) {
		pdelay = cfg_duration_ms("partial_park_delay");
		if (pdelay > 0 && (delay <= 0 || pdelay < delay))
			delay = pdelay;
	}
	if (delay <= 0 && !notify)
		return imapd_read_unparked(s);
	/*
	 * A byte now and then must not keep the worker: before login the
	 * delay runs from when this worker took the session, inside a
	 * command from when the unfinished command began (between commands
	 * after login, from the last input, as an active client's next
	 * command is expected).
	 */
	if (notauth)
		waited = clock_mono_ms() - s->served_ms;
	else if (s->cmd_ms > 0)
		waited = clock_mono_ms() - s->cmd_ms;
	if (waited < 0 || waited > delay)
		waited = delay;
	/*
	 * Between commands, and inside a command the client has not
	 * finished (a partial line or literal travels to idled as the
	 * snapshot's pending bytes, which idled completes), but not while
	 * an over-long line is skipped.  Untagged updates only between
	 * commands.
	 */
	between = s->rd.cmd.len == 0;
	press = cfg_bool("park_on_backlog");
	base = clock_mono_ms() - waited;
	while (s->in.len == 0 && !s->rd.skipping &&
	    s->rd.cmd.len <= SNAP_MAX_PENDING) {
		if (waited >= delay) {
			if (notify && between)
				imapd_wait_sync(s);
			if (s->state == IMAP_S_LOGOUT || io_flush(s) < 0)
				return -1;
			s->idle_since_ms = clock_mono_ms();
			if (imapd_park(s,
				notauth ? SNAP_K_NOTAUTH : SNAP_K_WAIT,
				NULL) == 0)
				return -1;
			/* idled did not take it (down, restarting): offered
			 * again later, not held here for the whole timeout,
			 * nor offered at every client that queues meanwhile */
			retry = retry == 0 ? IMAPD_PARK_RETRY_MS : retry * 2;
			if (retry > IMAPD_PARK_RETRY_MAX_MS)
				retry = IMAPD_PARK_RETRY_MAX_MS;
			delay = waited + retry;
			press = 0;
		}
		step = delay - waited;
		if (notify && poll_ms < step)
			step = poll_ms;
		if (step > s->timeout_ms - waited)
			step = s->timeout_ms - waited;
		if ((press ? io_read_press(s, step) : io_read(s, step)) == 0)
			return 0;
		/* a client queued on the listeners: parked now if it still
		 * waits a moment later (a free worker takes one at once) */
		if (errno == EBUSY && io_read(s, IMAPD_BACKLOG_STEP_MS) == 0)
			return 0;
		if (errno != ETIMEDOUT)
			return -1;
		waited = clock_mono_ms() - base;
		if (waited >= s->timeout_ms) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (press && waited < delay && io_backlog())
			waited = delay;
		if (notify && between)
			imapd_wait_sync(s);
	}
	return imapd_read_unparked(s);
}

/*
 * imapd_upload_slot - the unfinished command is one idled cannot hold (a
 * literal, or a line, over its 8K; or an over-long line being skipped),
 * so its worker reads it (after login only: the pre-login limits keep
 * every command within what idled holds): take a slot for it
 * (imapd_slot.c) or refuse it, a synchronizing literal about to be
 * continued (sync) with a tagged NO (the client sends nothing of it),
 * anything else with BYE (its bytes are on the way).  0: go on reading;
 * -1: refused (the caller resets the reader, and ends the session if
 * s->state says so).
 */
static int
imapd_upload_slot(struct imap_session *s, int sync)
{
	const char *limit = NULL, *sp, *who;
	char tag[64];
	size_t n;
	long long max;

	if (s->state == IMAP_S_NOTAUTH ||
	    (!s->rd.skipping &&
		s->rd.cmd.len + s->rd.literal_left <= SNAP_MAX_PENDING) ||
	    imapd_slot_take(s, &limit) == 0)
		return 0;
	max = cfg_int(limit);
	who = strstr(limit, "user") ? "user" : "address";
	sp = memchr(s->rd.cmd.data, ' ', s->rd.cmd.len);
	n = sp != NULL ? (size_t)(sp - s->rd.cmd.data) : 0;
	if (n >= sizeof(tag))
		n = 0;
	memcpy(tag, s->rd.cmd.data, n);
	tag[n] = '\0';
	if (sync && n > 0)
		io_printf(s,
		    "%s NO [LIMIT] Too many uploads at once for this "
		    "%s (limit %lld); try again when one has finished\r\n",
		    tag, who, max);
	else {
		io_printf(s,
		    "* BYE [LIMIT] Too many unfinished large commands "
		    "at once for this %s (limit %lld)\r\n",
		    who, max);
		s->state = IMAP_S_LOGOUT;
	}
	log_info("refused upload user=%s addr=%s size=%llu read=%zu%s "
		 "limit=%s:%lld",
	    s->user, s->addr, (unsigned long long)s->rd.literal_left,
	    s->rd.cmd.len, s->rd.skipping ? " skipping=1" : "", limit, max);
	return -1;
}

/* imapd_next_command - read until a whole command; -1 ends the session */
static int
imapd_next_command(struct imap_session *s, int *first)
{
	enum imapp_status st;
	size_t used, contd;

	/* the limits of the state the command starts in */
	if (s->rd.cmd.len == 0 && !s->rd.skipping)
		snap_reader_limits(&s->rd, s->state == IMAP_S_NOTAUTH);
	for (;;) {
		if (s->in.len > 0) {
			st = imapp_reader_feed(&s->rd, s->in.data, s->in.len,
			    &used);
			buf_consume(&s->in, used);
			if (st != IMAPP_MORE && st != IMAPP_CONTINUE) {
				s->cmd_ms = s->stall_ms = 0;
				imapd_slot_release(s);
			} else if (s->cmd_ms == 0 && s->rd.cmd.len > 0)
				s->cmd_ms = clock_mono_ms();
			contd = s->in_contd;
			s->in_contd = contd > used ? contd - used : 0;
			if (st == IMAPP_CONTINUE &&
			    imapd_upload_slot(s, 1) < 0) {
				s->cmd_ms = s->stall_ms = 0;
				imapp_reader_reset(&s->rd);
				if (s->state == IMAP_S_LOGOUT) {
					io_linger(s);
					return -1;
				}
				continue;
			}
			if (st == IMAPP_COMMAND)
				return 0;
			if (st == IMAPP_CONTINUE) {
				/* not again for a literal announced in bytes
				 * that came back from idled answered */
				if (used > contd)
					io_printf(s,
					    "+ Ready for literal "
					    "data\r\n");
				continue;
			}
			if (st == IMAPP_ELINE || st == IMAPP_ELITERAL) {
				if (*first && st == IMAPP_ELINE) {
					io_printf(s, "* BYE Not IMAP\r\n");
					io_linger(s);
					return -1;
				}
				imapd_refuse(s, st);
				imapp_reader_reset(&s->rd);
				if (s->state == IMAP_S_LOGOUT)
					io_linger(s);
				if (s->dead || s->state == IMAP_S_LOGOUT)
					return -1;
				continue;
			}
		}
		/* a command idled cannot hold keeps this worker: capped */
		if (imapd_upload_slot(s, 0) < 0) {
			io_linger(s);
			return -1;
		}
		if (imapd_wait_input(s) < 0) {
			if (s->parked)
				return -1;
			if (errno == ETIMEDOUT) {
				io_printf(s,
				    "* BYE Autologout; idle for too "
				    "long\r\n");
				io_flush(s);
				log_info("autologout user=%s addr=%s",
				    s->user[0] ? s->user : "-", s->addr);
			}
			return -1;
		}
	}
}

void
imapd_serve(struct imap_session *s, int greet)
{
	struct imapp_cmd c;
	const char *err;
	int first = greet;

	s->served_ms = clock_mono_ms();
	if (greet) {
		/* the whole list, AUTH= too: clients that take the
		 * greeting's list ask for no other before they log in */
		struct buf caps = BUF_INIT;

		cmd_auth_capabilities(s, &caps);
		io_printf(s, "* OK [CAPABILITY %s] berth ready\r\n",
		    buf_cstr(&caps));
		buf_free(&caps);
	}
	while (s->state != IMAP_S_LOGOUT && !s->dead) {
		if (imapd_next_command(s, &first) < 0)
			break;
		if (imapp_parse_flags(s->rd.cmd.data, s->rd.cmd.len,
			s->utf8 ? IMAPP_PARSE_UTF8 : 0, &c, &err) < 0) {
			if (first) {
				/* not IMAP at all (HTTP, SMTP...): hang up */
				io_printf(s, "* BYE Not an IMAP client\r\n");
				log_info("closed non-IMAP client addr=%s",
				    s->addr);
				imapp_cmd_free(&c);
				break;
			}
			io_printf(s, "%s BAD %s\r\n", c.tag ? c.tag : "*", err);
		} else {
			first = 0;
			/* watchdog: a command stuck inside the store dies
			 * and master recovers the store */
			alarm(IMAPD_WATCHDOG_S);
			imapd_dispatch(s, &c);
			alarm(0);
		}
		first = 0;
		imapp_cmd_free(&c);
		imapp_reader_reset(&s->rd);
		if (store_needs_recovery(s->st)) {
			io_printf(s,
			    "* BYE [UNAVAILABLE] Server restarting; "
			    "reconnect in a moment\r\n");
			io_flush(s);
			log_error("mail store needs recovery; exiting so "
				  "master recovers it user=%s addr=%s",
			    s->user[0] ? s->user : "-", s->addr);
			exit(STORE_EXIT_RECOVER);
		}
		/* pipelined: the answers wait for the next command's and
		 * one flush for them all (io_defer) */
		if (store_flush_pending(s->st))
			s->deferred++;
		if (!io_defer(s))
			io_flush(s);
	}
	io_flush(s);
}

void
imapd_session_init(struct imap_session *s, struct store *st, int fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->st = st;
	s->slot_fd[0] = s->slot_fd[1] = -1;
	/* a stop that came before this session ends it at its first read */
	imapd_client_watch(fd);
	s->timeout_ms = cfg_duration_ms("timeout");
	if (s->timeout_ms < 60000)
		s->timeout_ms = 60000;
	imapp_reader_init(&s->rd, (size_t)cfg_size("imap_maxline"),
	    (uint64_t)cfg_size("maxliteral"),
	    (size_t)cfg_size("maxliteral") +
		4 * (size_t)cfg_size("imap_maxline"));
	buf_init(&s->in, 0);
	buf_init(&s->out, 0);
}

void
imapd_session_end(struct imap_session *s)
{
	static const char bye[] = "* BYE [UNAVAILABLE] Server restarting; "
				  "reconnect in a moment\r\n";

	/* stopped by master (shutdown, store recovery): say why */
	if (imapd_stopping() && s->state != IMAP_S_LOGOUT) {
		struct buf z = BUF_INIT;

		/* compressed: as a stored block after our last flush */
		if (s->z != NULL &&
		    snap_deflate_stored(&z, bye, sizeof(bye) - 1) == 0)
			(void)!write(s->fd, z.data, z.len);
		else if (s->z == NULL)
			(void)!write(s->fd, bye, sizeof(bye) - 1);
		buf_free(&z);
		log_info("stopping session user=%s addr=%s signal=%d",
		    s->user[0] ? s->user : "-", s->addr, imapd_stopping());
	}
	authlink_closed(s->conn_id);
	imapd_slot_release(s);
	log_info("disconnect user=%s addr=%s", s->user[0] ? s->user : "-",
	    s->addr);
}

void
imapd_session_done(struct imap_session *s)
{
	/* parked: idled holds the connection now and tells authd so */
	if (s->parked)
		authlink_release(s->conn_id);
	imapd_client_watch(-1);
	imapd_slot_release(s);
	imapd_notify_free(s);
	view_close(s);
	imapp_reader_free(&s->rd);
	compress_free(s);
	buf_free(&s->in);
	buf_free(&s->out);
	log_set_session(0);
}

/*
 * imapd_session_admit - ask authd whether this client may connect.  A refusal
 * costs no SASL work (authd logs it, with the limit); its BYE is held back
 * for authd's delay in idled (a tarpit: a client that waits for its
 * answer retries once per delay, and waiting costs no worker), or sent at
 * once when idled cannot take it.
 */
static int
imapd_session_admit(struct imap_session *s)
{
	struct authclient_client cl = { s->addr, s->port, "", s->secure, 0, 0 };
	struct authclient_reply rep;
	char bye[320];

	if (authclient_admit(&cl, &s->conn_id, &rep) == 0) {
		log_set_session(s->conn_id); /* our lines name it */
		return 0;
	}
	snprintf(bye, sizeof(bye), "* BYE [UNAVAILABLE] %s\r\n", rep.reason);
	log_debug("refused addr=%s limit=%s delay_ms=%lld", s->addr, rep.limit,
	    rep.delay_ms);
	if (rep.delay_ms > 0 &&
	    imapd_park_penalty(s, rep.delay_ms, bye, 1) == 0)
		return -1;
	io_printf(s, "%s", bye);
	io_flush(s);
	return -1;
}

int
imapd_session_run(struct store *st, int fd)
{
	struct imap_session s;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const char *err;

	imapd_session_init(&s, st, fd);
	net_peer(fd, s.addr, sizeof(s.addr), &s.port);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    ss.ss_family == AF_UNIX)
		s.secure = 1;
	/* behind a load balancer: the real client, before admission */
	if (proxyp_accept(fd, srv_service_name(), s.addr, sizeof(s.addr),
		&s.port, &err) < 0) {
		log_info("refused addr=%s limit=proxy_protocol reason=\"%s\"",
		    s.addr, err);
		imapd_session_done(&s);
		return 0;
	}
	/* plaintext logins from this machine, where configured */
	if (cfg_bool("allowplaintext_loopback") && ipnet_loopback(s.addr))
		s.secure = 1;
	if (imapd_session_admit(&s) < 0) {
		imapd_session_done(&s);
		return 0;
	}
	log_info("connect addr=%s port=%d", s.addr, s.port);
	imapd_serve(&s, 1);
	if (!s.parked)
		imapd_session_end(&s);
	imapd_session_done(&s);
	return s.user[0] != '\0';
}

int
imapd_session_resume(struct store *st, int conn)
{
	struct ipc_msg *tls = NULL;
	struct imap_session s;
	struct snap sn;
	int client;

	client = imapd_park_take(conn, &sn, &tls);
	fd_close(conn);
	if (client == IMAPD_PARK_TLS) {
		snap_free(&sn);
		return imapd_tls_serve(st, tls);
	}
	if (client < 0) {
		snap_free(&sn);
		return 0;
	}
	imapd_session_init(&s, st, client);
	if (imapd_park_restore(&s, &sn) < 0) {
		s.state = IMAP_S_LOGOUT;
	} else {
		authlink_hold(s.conn_id, s.addr, s.user); /* authd counts */
		/* compressed: compress_restore inflated them already */
		if (s.z == NULL) {
			buf_append(&s.in,
			    sn.pending.data ? sn.pending.data : "",
			    sn.pending.len);
			s.in_contd = sn.pending_contd;
		}
		/* a login authd accepted while the session was parked */
		if (sn.kind == SNAP_K_NOTAUTH && (sn.flags & SNAP_F_LOGGEDIN))
			cmd_auth_login_finish(&s, sn.tag, sn.user, sn.mech);
		/* an AUTHENTICATE whose client has sent its response */
		else if (sn.kind == SNAP_K_NOTAUTH &&
		    (sn.flags & SNAP_F_SASLWAIT))
			cmd_auth_resume(&s, sn.tag, sn.mech, sn.wake_ms);
		if (sn.kind == SNAP_K_IDLE)
			cmd_idle_run(&s, sn.tag);
		else if (s.state != IMAP_S_NOTAUTH && s.in.len == 0)
			imapd_wait_sync(&s);
		if (s.state != IMAP_S_LOGOUT && !s.dead)
			imapd_serve(&s, 0);
	}
	io_flush(&s);
	if (!s.parked)
		imapd_session_end(&s);
	imapd_session_done(&s);
	fd_close(client);
	snap_free(&sn);
	return 0;
}

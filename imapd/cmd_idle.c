/*
 * cmd_idle - IDLE (RFC 2177): updates as they happen until DONE; the
 * session waits parked in idled, not in this worker.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfg.h"
#include "clock.h"
#include "imapd.h"
#include "imapd_cmd.h"
#include "snap.h"

#define IDLE_PARK_RETRY_MAX_MS 30000

/*
 * cmd_idle_run - serve an IDLE until DONE: send updates as they happen.
 * With nothing pending, the session is parked in idled and this worker is
 * free.  While idled cannot take it (restarting, down, or refusing) the
 * store is polled every idle_poll and parking is tried again, after
 * idle_poll at first and then at doubling intervals up to
 * IDLE_PARK_RETRY_MAX_MS: an IDLE that began while idled restarted must
 * not keep its worker until it ends, and one idled keeps refusing must
 * not cost a connection to it every round.
 */
void
cmd_idle_run(struct imap_session *s, const char *tag)
{
	long long poll_ms = cfg_duration_ms("idle_poll"), waited = 0;
	long long park_at = 0, retry = poll_ms;
	char *nl;

	for (;;) {
		alarm(IMAPD_WATCHDOG_S); /* covers each sync */
		imapd_idle_sync(s);
		if (s->state == IMAP_S_LOGOUT)
			return;
		nl = s->in.len ? memchr(s->in.data, '\n', s->in.len) : NULL;
		if (nl != NULL) {
			size_t n = (size_t)(nl - s->in.data);
			int done =
			    (n == 4 || (n == 5 && s->in.data[4] == '\r')) &&
			    strncasecmp(s->in.data, "DONE", 4) == 0;

			buf_consume(&s->in, n + 1);
			if (done)
				io_printf(s, "%s OK IDLE terminated\r\n", tag);
			else
				io_printf(s,
				    "%s BAD Expected DONE to end "
				    "IDLE\r\n",
				    tag);
			return;
		}
		if (waited >= park_at && s->state != IMAP_S_NOTAUTH) {
			if (io_flush(s) < 0)
				return;
			if (imapd_park(s, SNAP_K_IDLE, tag) == 0)
				return;
			park_at = waited + retry;
			if ((retry *= 2) > IDLE_PARK_RETRY_MAX_MS)
				retry = IDLE_PARK_RETRY_MAX_MS;
		}
		if (io_read(s, poll_ms) < 0) {
			if (errno != ETIMEDOUT) {
				s->dead = 1;
				return;
			}
			waited += poll_ms;
			/* RFC 2177: end idlers after about 30 minutes */
			if (waited > s->timeout_ms) {
				io_printf(s,
				    "* BYE Autologout; idle for too "
				    "long\r\n");
				s->state = IMAP_S_LOGOUT;
				return;
			}
		}
	}
}

void
cmd_idle(struct imap_cmd *cmd)
{
	if (cmd->nargs != 0) {
		imap_bad(cmd, "IDLE takes no arguments");
		return;
	}
	io_printf(cmd->s, "+ idling\r\n");
	cmd->s->idle_since_ms = clock_mono_ms();
	cmd_idle_run(cmd->s, cmd->tag);
}

/*
 * cmd_starttls - STARTTLS (RFC 3501 6.2.1, RFC 9051): the client's
 * connection goes to tlsd, which runs the handshake and hands the session
 * back, decrypted, to whichever worker is free; the session goes on
 * there, not logged in, and without a greeting.
 *
 * Whatever the client sent after the command is discarded, never read
 * as commands (the STARTTLS command-injection class, CVE-2011-0411 and
 * kin): what this worker has read is dropped here, and what is still in
 * the kernel reaches tlsd as the start of the TLS handshake, where it is
 * not a ClientHello.  Refused under TLS already (BAD) and after login
 * (the command table allows it before login only).
 */
#include "config.h"

#include "imapd.h"
#include "imapd_cmd.h"
#include "log.h"

void
cmd_starttls(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	size_t discarded;
	int c;

	if (cmd->nargs != 0) {
		imap_bad(cmd, "STARTTLS takes no arguments");
		return;
	}
	if (s->tls) {
		imap_bad(cmd, "TLS is already active");
		return;
	}
	if ((c = imapd_tls_connect()) < 0) {
		imap_no(cmd, "[UNAVAILABLE] TLS is not available now");
		return;
	}
	imap_ok(cmd, "Begin TLS negotiation now");
	discarded = s->in.len;
	buf_reset(&s->in);
	s->in_contd = 0;
	if (io_flush(s) < 0 || imapd_tls_pass(s, c) < 0) {
		/* the client expects a handshake now: nothing else to say */
		s->state = IMAP_S_LOGOUT;
		return;
	}
	log_info("starttls user=- addr=%s discarded=%zu", s->addr, discarded);
}

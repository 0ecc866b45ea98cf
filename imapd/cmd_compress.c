/*
 * cmd_compress - COMPRESS DEFLATE (RFC 4978).  The tagged OK goes out
 * uncompressed; from its CRLF on both directions are raw deflate
 * (compress.c).  Once on, it stays on: a second COMPRESS is a NO
 * [COMPRESSIONACTIVE].  A compressed session still parks in idled (see
 * compress.c for how its state travels).
 */
#include "config.h"

#include <strings.h>

#include "imapd.h"
#include "imapd_cmd.h"
#include "log.h"

void
cmd_compress(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;

	if (cmd->nargs != 1 || cmd->args[0].type != IMAPP_ATOM) {
		imap_bad(cmd, "COMPRESS needs a mechanism");
		return;
	}
	if (strcasecmp(cmd->args[0].str, "DEFLATE") != 0) {
		imap_bad(cmd, "Unknown compression mechanism");
		return;
	}
	if (s->z != NULL) {
		imap_no(cmd, "[COMPRESSIONACTIVE] DEFLATE is already active");
		return;
	}
	imap_ok(cmd, "DEFLATE active");
	if (io_flush(s) < 0)
		return;
	compress_start(s);
	log_info("compress user=%s addr=%s mech=DEFLATE", s->user, s->addr);
}

/*
 * imapcaps - the server's CAPABILITY list (imapcaps.h).
 */
#include "config.h"

#include <string.h>

#include "cfg.h"
#include "imapcaps.h"

void
imapcaps_put(struct buf *out, const struct imapcaps *c)
{
	const char *w, *end;
	long long limit;

	buf_puts(out, "IMAP4rev1 IMAP4rev2");
	/* literalminus: non-synchronizing literals up to 4096 bytes only
	 * (RFC 7888 LITERAL-), as Cyrus's option of the name */
	buf_puts(out, cfg_bool("literalminus") ? " LITERAL-" : " LITERAL+");
	buf_puts(out,
	    " SASL-IR ID ENABLE IDLE NAMESPACE "
	    "UIDPLUS UNSELECT CHILDREN MOVE CONDSTORE QRESYNC ESEARCH "
	    "LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE "
	    "STATUS=SIZE WITHIN SAVEDATE OBJECTID SORT SORT=DISPLAY ESORT "
	    "CONTEXT=SEARCH CONTEXT=SORT PARTIAL "
	    "THREAD=ORDEREDSUBJECT THREAD=REFERENCES PREVIEW BINARY "
	    "MULTIAPPEND CATENATE SEARCHRES NOTIFY UTF8=ACCEPT QUOTA "
	    "QUOTA=RES-STORAGE "
	    "QUOTA=RES-MESSAGE");
	if (!c->notauth && c->deflate)
		buf_puts(out, " COMPRESS=DEFLATE");
	/* APPENDLIMIT (RFC 7889): what APPEND takes, its literal too */
	limit = cfg_size("maxmessagesize");
	if (cfg_size("maxliteral") > 0 && cfg_size("maxliteral") < limit)
		limit = cfg_size("maxliteral");
	buf_printf(out, " APPENDLIMIT=%lld", limit);
	if (!c->notauth)
		return;
	if (!c->secure && !cfg_bool("allowplaintext"))
		buf_puts(out, " LOGINDISABLED");
	if (c->starttls)
		buf_puts(out, " STARTTLS");
	if (c->mechs == NULL)
		return;
	for (w = c->mechs; *w != '\0'; w = end) {
		w += strspn(w, " ");
		end = w + strcspn(w, " ");
		if (end > w)
			buf_printf(out, " AUTH=%.*s", (int)(end - w), w);
	}
}

/*
 * cmd_append - APPEND's parts shared between cmd_append.c (the command,
 * MULTIAPPEND) and cmd_append_cat.c (CATENATE, RFC 4469).
 */
#ifndef BERTH_CMD_APPEND_H
#define BERTH_CMD_APPEND_H

#include "buf.h"
#include "imapd.h"

/* TEXT and URL parts of one message */
#define APPEND_CAT_MAX_PARTS 1000

/* append_limit - the largest message APPEND takes (APPENDLIMIT):
 * maxmessagesize, or maxliteral when smaller */
size_t append_limit(void);

/*
 * append_cat_check - the CATENATE list l is (TEXT literal / URL astring /
 * UTF8 (literal8) under UTF8=ACCEPT)+ of at most APPEND_CAT_MAX_PARTS
 * parts: 0, else -1 after a tagged BAD or NO [LIMIT]
 */
int append_cat_check(struct imap_cmd *cmd, const struct imapp_arg *l);

/*
 * append_cat_build - the message of the checked CATENATE list l into out:
 * the text literals and what each URL names, byte for byte, never more
 * than append_limit() bytes (a URL's part is measured before it is
 * read).  0, or -1 after a tagged NO ([BADURL url] for a URL that names
 * nothing this user may read here, [TOOBIG]) with a log line.
 */
int append_cat_build(struct imap_cmd *cmd, const struct imapp_arg *l,
    struct buf *out);

#endif

/*
 * ctl_import - berthctl import USER maildir PATH | import USER mbox FILE
 * [FOLDER]: mail moved in from another server's files, with the UIDs,
 * UIDVALIDITY, flags, keywords and internal dates the source has, so
 * that clients need download nothing again.  ctl_maildir.c and
 * ctl_mbox.c read the formats; this file stores what they find.
 *
 * Messages are stored with CRLF line ends (bare LFs on disk become
 * CRLF, as the old server sent them).  A UID is kept when it is above
 * every UID the mailbox has given; otherwise (the mailbox already held
 * mail) the message gets the next UID and the import says so.  Runs
 * beside a serving master: every message is one APPEND's transaction,
 * announced to idled.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cfg.h"
#include "ctl.h"
#include "ctl_import.h"
#include "err.h"
#include "log.h"
#include "mboxname.h"
#include "notify.h"
#include "store.h"

/* ctl_import_crlf - data with every bare LF made CRLF, into out */
static void
ctl_import_crlf(const char *data, size_t len, struct buf *out)
{
	size_t i, start = 0;

	buf_reset(out);
	for (i = 0; i < len; i++) {
		if (data[i] != '\n' || (i > 0 && data[i - 1] == '\r'))
			continue;
		buf_append(out, data + start, i - start);
		buf_append(out, "\r\n", 2);
		start = i + 1;
	}
	buf_append(out, data + start, len - start);
}

int
ctl_import_folder(struct ctl_import *ci, const char *name, uint32_t uv)
{
	const char *why, *err;
	int r;

	if (mboxname_check(name, strlen(name), &why) < 0) {
		ci->skipped_folders++;
		(void)printf("skipped user=%s folder=\"%s\": %s\n", ci->user,
		    name, why);
		return -1;
	}
	r = store_mbox_create(ci->st, ci->user, name, &err);
	if (r != 0 && r != STORE_EEXIST) {
		ctl_error("import user=%s folder=%s: %s", ci->user, name, err);
		return -1;
	}
	ci->folders++;
	if (uv == 0)
		return 0;
	r = store_mbox_set_uidvalidity(ci->st, ci->user, name, uv, &err);
	if (r == STORE_EEXIST)
		(void)
		    printf("uidvalidity user=%s folder=%s: kept the mailbox's, "
			   "not the source's %u (it has held messages)\n",
			ci->user, name, uv);
	else if (r != 0) {
		ctl_error("import user=%s folder=%s: %s", ci->user, name, err);
		return -1;
	}
	return 0;
}

int
ctl_import_msg(struct ctl_import *ci, const char *name, const char *data,
    size_t len, const struct store_append *opt)
{
	uint32_t uv, uid;
	const char *err;

	ctl_import_crlf(data, len, &ci->scratch);
	if (store_append(ci->st, ci->user, name, ci->scratch.data,
		ci->scratch.len, opt, &uv, &uid, &err) != 0) {
		ctl_error("import user=%s folder=%s: %s", ci->user, name, err);
		return -1;
	}
	ci->messages++;
	ci->bytes += ci->scratch.len;
	if (opt->uid != 0 && uid != opt->uid) {
		ci->renumbered++;
		if (ci->renumbered <= 10)
			(void)
			    printf("renumbered user=%s folder=%s uid=%u now=%u "
				   "(the mailbox had given that UID)\n",
				ci->user, name, opt->uid, uid);
	}
	return 0;
}

/* ctl_import_keyword_ok - an IMAP atom that is not a system flag */
int
ctl_import_keyword_ok(const char *k, size_t n)
{
	size_t i;

	if (n == 0 || n > 100 || k[0] == '\\')
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)k[i] <= ' ' || (unsigned char)k[i] >= 0x7f ||
		    strchr("(){%*\"\\]", k[i]) != NULL)
			return 0;
	return 1;
}

/* ctl_import - import USER maildir PATH | import USER mbox FILE
 * [FOLDER] */
int
ctl_import(int argc, char **argv)
{
	struct ctl_import ci;
	struct err oerr;
	int r;

	if (argc < 4 ||
	    !((strcmp(argv[2], "maildir") == 0 && argc == 4) ||
		(strcmp(argv[2], "mbox") == 0 && argc <= 5)))
		return ctl_usage_error("import",
		    "maildir PATH or mbox FILE "
		    "[FOLDER]");
	memset(&ci, 0, sizeof(ci));
	ci.user = argv[1];
	if (store_open(cfg_str("configdirectory"), ctl_partition(),
		STORE_OPEN_CREATE, &ci.st, &oerr) < 0)
		return ctl_error("import: %s", oerr.msg);
	store_set_event_fn(ci.st, notify_store_event, NULL);
	if (strcmp(argv[2], "maildir") == 0)
		r = ctl_maildir_import(&ci, argv[3]);
	else
		r = ctl_mbox_import(&ci, argv[3],
		    argc == 5 ? argv[4] : "INBOX");
	store_close(&ci.st);
	buf_free(&ci.scratch);
	(void)printf("import user=%s %s=%s folders=%u messages=%llu bytes=%llu "
		     "renumbered=%u skipped=%u%s\n",
	    ci.user, argv[2], argv[3], ci.folders, ci.messages, ci.bytes,
	    ci.renumbered, ci.skipped + ci.skipped_folders,
	    r != 0 ? " (stopped)" : "");
	log_info("import user=%s %s=%s folders=%u messages=%llu renumbered=%u "
		 "skipped=%u by berthctl",
	    ci.user, argv[2], argv[3], ci.folders, ci.messages, ci.renumbered,
	    ci.skipped + ci.skipped_folders);
	return r != 0 || ci.skipped + ci.skipped_folders > 0;
}

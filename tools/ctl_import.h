/*
 * ctl_import - berthctl import: what the format readers (ctl_maildir.c,
 * ctl_mbox.c) share with the command (ctl_import.c).
 */
#ifndef BERTH_CTL_IMPORT_H
#define BERTH_CTL_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct store;
struct store_append;

struct ctl_import {
	struct store *st;
	const char *user;
	struct buf scratch; /* the message with CRLF line ends */
	unsigned folders, renumbered;
	unsigned skipped;	  /* messages not stored (said why) */
	unsigned skipped_folders; /* names the store refuses */
	unsigned long long messages, bytes;
};

/* ctl_import_folder - make user's mailbox name (an existing one is
 * fine) and, uv != 0, give it that UIDVALIDITY if it never held a
 * message; -1 (said on stdout or stderr) when the name is refused or
 * the store fails */
int ctl_import_folder(struct ctl_import *ci, const char *name, uint32_t uv);
/* ctl_import_msg - store data[0..len) in mailbox name with opt (flags,
 * keywords, date, the source's UID); -1 when the store fails */
int ctl_import_msg(struct ctl_import *ci, const char *name, const char *data,
    size_t len, const struct store_append *opt);
/* ctl_import_keyword_ok - is k[0..n) usable as an IMAP keyword? */
int ctl_import_keyword_ok(const char *k, size_t n);

/* ctl_maildir.c: a Maildir or Maildir++ tree; 0 or -1 */
int ctl_maildir_import(struct ctl_import *ci, const char *path);
/* ctl_mbox.c: one mbox file into folder; 0 or -1 */
int ctl_mbox_import(struct ctl_import *ci, const char *file,
    const char *folder);

#endif

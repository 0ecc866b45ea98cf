/*
 * imapd_cmd - command handlers, one family per cmd_<name>.c file.
 */
#ifndef BERTH_IMAPD_CMD_H
#define BERTH_IMAPD_CMD_H

#include "imapd.h"

/* cmd_auth.c */
imap_cmd_fn cmd_capability, cmd_noop, cmd_logout, cmd_id, cmd_login,
    cmd_authenticate, cmd_enable, cmd_namespace;
/* cmd_starttls.c */
imap_cmd_fn cmd_starttls;
/* cmd_mailbox.c (cmd_list: cmd_list.c) */
imap_cmd_fn cmd_create, cmd_delete, cmd_rename, cmd_subscribe, cmd_list,
    cmd_status;
/* cmd_status_items - STATUS items[0..n) of mb into line ("MESSAGES 2
 * UIDNEXT 3"); -1 on an unknown item */
int cmd_status_items(struct imap_session *s, const struct store_mbox *mb,
    const struct imapp_arg *items, size_t n, struct buf *line);
/* cmd_status_put - "* STATUS name (line)" */
void cmd_status_put(struct imap_session *s, const char *name,
    const struct buf *line);
/* cmd_mbox_check - argument i, when an astring, is a valid mailbox name
 * or LIST pattern (lib/mboxname); else a tagged BAD, a log line, -1 */
int cmd_mbox_check(struct imap_cmd *cmd, size_t i);
/* cmd_select.c */
imap_cmd_fn cmd_select, cmd_close, cmd_expunge;
/* cmd_idle.c */
imap_cmd_fn cmd_idle;
/* cmd_append.c */
imap_cmd_fn cmd_append;
/* cmd_message.c */
imap_cmd_fn cmd_fetch, cmd_store, cmd_copy;
/* cmd_search.c */
imap_cmd_fn cmd_search, cmd_cancelupdate;
struct search_prog;
/* cmd_search_hits - the message numbers (ascending, malloc'ed) of the
 * view's messages prog matches, and the highest MODSEQ among them */
int cmd_search_hits(struct imap_session *s, const struct search_prog *prog,
    uint32_t **msgnos_r, size_t *n_r, uint64_t *highest_r, const char **err);
/* cmd_sort.c, cmd_thread.c */
imap_cmd_fn cmd_sort, cmd_thread;
/* cmd_compress.c */
imap_cmd_fn cmd_compress;
/* cmd_quota.c */
imap_cmd_fn cmd_getquota, cmd_getquotaroot, cmd_setquota;
/* cmd_quota_deleted - messages of mb flagged \Deleted and their size
 * (STATUS DELETED, DELETED-STORAGE); -1 with *error_r */
int cmd_quota_deleted(struct imap_session *s, const struct store_mbox *mb,
    uint32_t *count_r, uint64_t *size_r, const char **error_r);
/* cmd_notify.c */
imap_cmd_fn cmd_notify;

#endif

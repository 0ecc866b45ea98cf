/*
 * snap - encode and decode session snapshots as ipc fields.
 */
#include "config.h"

#include <string.h>

#include "ipc.h"
#include "snap.h"

enum snap_tag {
	SNAP_USER = 1, SNAP_MAILBOX, SNAP_ADDR, SNAP_TAG, SNAP_MBOXID,
	SNAP_UIDVALIDITY, SNAP_MAXUID, SNAP_MODSEQ, SNAP_PORT, SNAP_FLAGS,
	SNAP_PENDING,
};

int
snap_put(const struct snap *sn, struct ipc_msg *m)
{
	if (ipc_put_str(m, SNAP_USER, sn->user) < 0 ||
	    ipc_put_str(m, SNAP_MAILBOX, sn->mailbox) < 0 ||
	    ipc_put_str(m, SNAP_ADDR, sn->addr) < 0 ||
	    ipc_put_str(m, SNAP_TAG, sn->tag) < 0 ||
	    ipc_put_u32(m, SNAP_MBOXID, sn->mboxid) < 0 ||
	    ipc_put_u32(m, SNAP_UIDVALIDITY, sn->uidvalidity) < 0 ||
	    ipc_put_u32(m, SNAP_MAXUID, sn->maxuid) < 0 ||
	    ipc_put_u64(m, SNAP_MODSEQ, sn->modseq) < 0 ||
	    ipc_put_u32(m, SNAP_PORT, sn->port) < 0 ||
	    ipc_put_u32(m, SNAP_FLAGS, sn->flags) < 0 ||
	    ipc_put(m, SNAP_PENDING, sn->pending.data ? sn->pending.data :
	    "", sn->pending.len) < 0)
		return -1;
	return 0;
}

int
snap_get(const struct ipc_msg *m, struct snap *sn)
{
	const void *p;
	size_t len;

	memset(sn, 0, sizeof(*sn));
	buf_init(&sn->pending, SNAP_MAX_PENDING);
	if (ipc_get_str(m, SNAP_USER, sn->user, sizeof(sn->user)) < 0 ||
	    ipc_get_str(m, SNAP_MAILBOX, sn->mailbox,
	    sizeof(sn->mailbox)) < 0 ||
	    ipc_get_str(m, SNAP_ADDR, sn->addr, sizeof(sn->addr)) < 0 ||
	    ipc_get_str(m, SNAP_TAG, sn->tag, sizeof(sn->tag)) < 0 ||
	    ipc_get_u32(m, SNAP_MBOXID, &sn->mboxid) < 0 ||
	    ipc_get_u32(m, SNAP_UIDVALIDITY, &sn->uidvalidity) < 0 ||
	    ipc_get_u32(m, SNAP_MAXUID, &sn->maxuid) < 0 ||
	    ipc_get_u64(m, SNAP_MODSEQ, &sn->modseq) < 0 ||
	    ipc_get_u32(m, SNAP_PORT, &sn->port) < 0 ||
	    ipc_get_u32(m, SNAP_FLAGS, &sn->flags) < 0 ||
	    ipc_get(m, SNAP_PENDING, &p, &len) < 0 ||
	    buf_append(&sn->pending, p, len) < 0)
		return -1;
	return 0;
}

void
snap_free(struct snap *sn)
{
	buf_free(&sn->pending);
}

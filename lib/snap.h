/*
 * snap - the session snapshot: what a parked IDLE session is, so that any
 * worker can resume it exactly.
 *
 * The client's message-number view is not stored: it is rebuilt from the
 * store as "the mailbox's UIDs up to maxuid as of modseq" — current
 * records with uid <= maxuid plus records expunged after modseq with
 * uid <= maxuid.  A snapshot is a few hundred bytes whatever the mailbox
 * size.  Travels as ipc fields (version 1) with the client's fd.
 */
#ifndef BERTH_SNAP_H
#define BERTH_SNAP_H

#include <stdint.h>

#include "buf.h"

struct ipc_msg;

#define SNAP_MAX_PENDING 4096	/* client bytes read while parked */

struct snap {
	char user[256];
	char mailbox[1024];
	char addr[64];
	char tag[64];		/* the IDLE command's tag */
	uint32_t mboxid;
	uint32_t uidvalidity;
	uint32_t maxuid;	/* highest UID the client knows */
	uint64_t modseq;	/* the view is as of this HIGHESTMODSEQ */
	uint32_t port;
	uint32_t flags;		/* SNAP_F_* */
	struct buf pending;	/* bytes the client sent after IDLE */
};

#define SNAP_F_CONDSTORE 0x01
#define SNAP_F_READONLY  0x02
#define SNAP_F_SECURE    0x04
#define SNAP_F_DONE      0x08	/* IDLE ended (idled answered DONE) */

/* snap_put - append the snapshot's fields to m; -1 if it does not fit */
int snap_put(const struct snap *sn, struct ipc_msg *m);
/* snap_get - read a snapshot from m; -1 if a required field is missing */
int snap_get(const struct ipc_msg *m, struct snap *sn);
void snap_free(struct snap *sn);

#endif

/*
 * snap - encode and decode session snapshots as ipc fields.  Decoding
 * checks the version and every bound; it never trusts a length.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "imapp.h"
#include "ipc.h"
#include "snap.h"
#include "xalloc.h"

enum snap_tag {
	SNAP_USER = 1, SNAP_MAILBOX, SNAP_ADDR, SNAP_TAG, SNAP_MBOXID,
	SNAP_UIDVALIDITY, SNAP_MAXUID, SNAP_MODSEQ, SNAP_PORT, SNAP_FLAGS,
	SNAP_PENDING, SNAP_VERS, SNAP_KIND, SNAP_CONNID, SNAP_FAILED,
	SNAP_SINCE, SNAP_EXISTS, SNAP_RECENT_LO, SNAP_RECENT_HI, SNAP_WATCH,
	SNAP_USER_EVENTS, SNAP_SPEC, SNAP_WAKE, SNAP_REPLY, SNAP_MECH,
	SNAP_CONTD,
};

void
snap_init(struct snap *sn)
{
	memset(sn, 0, sizeof(*sn));
	buf_init(&sn->notify_spec, SNAP_MAX_SPEC);
	buf_init(&sn->reply, SNAP_MAX_REPLY);
	buf_init(&sn->pending, SNAP_MAX_PENDING);
}

int
snap_watch_add(struct snap *sn, uint32_t mboxid, uint32_t events,
    uint64_t modseq)
{
	uint32_t i;

	for (i = 0; i < sn->nwatch; i++)
		if (sn->watch[i].mboxid == mboxid) {
			sn->watch[i].events |= events;
			if (modseq < sn->watch[i].modseq)
				sn->watch[i].modseq = modseq;
			return 0;
		}
	if (sn->nwatch >= SNAP_MAX_WATCH)
		return -1;
	sn->watch = xreallocarray(sn->watch, sn->nwatch + 1,
	    sizeof(*sn->watch));
	sn->watch[sn->nwatch].mboxid = mboxid;
	sn->watch[sn->nwatch].events = events;
	sn->watch[sn->nwatch++].modseq = modseq;
	return 0;
}

/* snap_put_buf - a buf as one field (empty when never used) */
static int
snap_put_buf(struct ipc_msg *m, uint16_t tag, const struct buf *b)
{
	return ipc_put(m, tag, b->data ? b->data : "", b->len);
}

int
snap_put(const struct snap *sn, struct ipc_msg *m)
{
	if (ipc_put_u32(m, SNAP_VERS, SNAP_VERSION) < 0 ||
	    ipc_put_u32(m, SNAP_KIND, sn->kind) < 0 ||
	    ipc_put_u32(m, SNAP_FLAGS, sn->flags) < 0 ||
	    ipc_put_str(m, SNAP_USER, sn->user) < 0 ||
	    ipc_put_str(m, SNAP_ADDR, sn->addr) < 0 ||
	    ipc_put_u32(m, SNAP_PORT, sn->port) < 0 ||
	    ipc_put_str(m, SNAP_TAG, sn->tag) < 0 ||
	    ipc_put_str(m, SNAP_MECH, sn->mech) < 0 ||
	    ipc_put_u64(m, SNAP_CONNID, sn->conn_id) < 0 ||
	    ipc_put_u32(m, SNAP_FAILED, sn->failed_logins) < 0 ||
	    ipc_put_u64(m, SNAP_SINCE, (uint64_t)sn->idle_since_ms) < 0 ||
	    ipc_put_str(m, SNAP_MAILBOX, sn->mailbox) < 0 ||
	    ipc_put_u32(m, SNAP_MBOXID, sn->mboxid) < 0 ||
	    ipc_put_u32(m, SNAP_UIDVALIDITY, sn->uidvalidity) < 0 ||
	    ipc_put_u32(m, SNAP_MAXUID, sn->maxuid) < 0 ||
	    ipc_put_u32(m, SNAP_EXISTS, sn->exists) < 0 ||
	    ipc_put_u32(m, SNAP_RECENT_LO, sn->recent_lo) < 0 ||
	    ipc_put_u32(m, SNAP_RECENT_HI, sn->recent_hi) < 0 ||
	    ipc_put_u64(m, SNAP_MODSEQ, sn->modseq) < 0 ||
	    ipc_put(m, SNAP_WATCH, sn->watch ? (const void *)sn->watch : "",
	    sn->nwatch * sizeof(*sn->watch)) < 0 ||
	    ipc_put_u32(m, SNAP_USER_EVENTS, sn->user_events) < 0 ||
	    snap_put_buf(m, SNAP_SPEC, &sn->notify_spec) < 0 ||
	    ipc_put_u64(m, SNAP_WAKE, (uint64_t)sn->wake_ms) < 0 ||
	    snap_put_buf(m, SNAP_REPLY, &sn->reply) < 0 ||
	    snap_put_buf(m, SNAP_PENDING, &sn->pending) < 0 ||
	    ipc_put_u32(m, SNAP_CONTD, sn->pending_contd) < 0)
		return -1;
	return 0;
}

/* snap_get_buf - a field into a bounded buf; -1 absent or too long */
static int
snap_get_buf(const struct ipc_msg *m, uint16_t tag, struct buf *b)
{
	const void *p;
	size_t len;

	if (ipc_get(m, tag, &p, &len) < 0)
		return -1;
	return buf_append(b, p, len);
}

/* snap_get_watch - the watch list, every entry whole */
static int
snap_get_watch(const struct ipc_msg *m, struct snap *sn)
{
	const void *p;
	size_t len;

	if (ipc_get(m, SNAP_WATCH, &p, &len) < 0 ||
	    len % sizeof(struct snap_watch) != 0 ||
	    len / sizeof(struct snap_watch) > SNAP_MAX_WATCH)
		return -1;
	sn->nwatch = (uint32_t)(len / sizeof(struct snap_watch));
	if (sn->nwatch > 0) {
		sn->watch = xreallocarray(NULL, sn->nwatch,
		    sizeof(*sn->watch));
		memcpy(sn->watch, p, len);
	}
	return 0;
}

int
snap_get(const struct ipc_msg *m, struct snap *sn)
{
	uint32_t vers = 0;
	uint64_t since, wake;

	snap_init(sn);
	if (ipc_get_u32(m, SNAP_VERS, &vers) < 0 || vers != SNAP_VERSION ||
	    ipc_get_u32(m, SNAP_KIND, &sn->kind) < 0 ||
	    sn->kind < SNAP_K_IDLE || sn->kind > SNAP_K_NOTAUTH ||
	    ipc_get_u32(m, SNAP_FLAGS, &sn->flags) < 0 ||
	    ipc_get_str(m, SNAP_USER, sn->user, sizeof(sn->user)) < 0 ||
	    ipc_get_str(m, SNAP_ADDR, sn->addr, sizeof(sn->addr)) < 0 ||
	    ipc_get_u32(m, SNAP_PORT, &sn->port) < 0 ||
	    ipc_get_str(m, SNAP_TAG, sn->tag, sizeof(sn->tag)) < 0 ||
	    ipc_get_str(m, SNAP_MECH, sn->mech, sizeof(sn->mech)) < 0 ||
	    ipc_get_u64(m, SNAP_CONNID, &sn->conn_id) < 0 ||
	    ipc_get_u32(m, SNAP_FAILED, &sn->failed_logins) < 0 ||
	    ipc_get_u64(m, SNAP_SINCE, &since) < 0 ||
	    ipc_get_str(m, SNAP_MAILBOX, sn->mailbox,
	    sizeof(sn->mailbox)) < 0 ||
	    ipc_get_u32(m, SNAP_MBOXID, &sn->mboxid) < 0 ||
	    ipc_get_u32(m, SNAP_UIDVALIDITY, &sn->uidvalidity) < 0 ||
	    ipc_get_u32(m, SNAP_MAXUID, &sn->maxuid) < 0 ||
	    ipc_get_u32(m, SNAP_EXISTS, &sn->exists) < 0 ||
	    ipc_get_u32(m, SNAP_RECENT_LO, &sn->recent_lo) < 0 ||
	    ipc_get_u32(m, SNAP_RECENT_HI, &sn->recent_hi) < 0 ||
	    ipc_get_u64(m, SNAP_MODSEQ, &sn->modseq) < 0 ||
	    snap_get_watch(m, sn) < 0 ||
	    ipc_get_u32(m, SNAP_USER_EVENTS, &sn->user_events) < 0 ||
	    snap_get_buf(m, SNAP_SPEC, &sn->notify_spec) < 0 ||
	    ipc_get_u64(m, SNAP_WAKE, &wake) < 0 ||
	    snap_get_buf(m, SNAP_REPLY, &sn->reply) < 0 ||
	    snap_get_buf(m, SNAP_PENDING, &sn->pending) < 0)
		return -1;
	sn->idle_since_ms = (int64_t)since;
	sn->wake_ms = (int64_t)wake;
	/* optional: without it no continuation was sent for pending */
	if (ipc_get_u32(m, SNAP_CONTD, &sn->pending_contd) < 0 ||
	    sn->pending_contd > sn->pending.len)
		sn->pending_contd = 0;
	return 0;
}

void
snap_free(struct snap *sn)
{
	free(sn->watch);
	sn->watch = NULL;
	sn->nwatch = 0;
	buf_free(&sn->notify_spec);
	buf_free(&sn->reply);
	buf_free(&sn->pending);
}

const char *
snap_kind_name(uint32_t kind)
{
	switch (kind) {
	case SNAP_K_IDLE:
		return "idle";
	case SNAP_K_WAIT:
		return "wait";
	case SNAP_K_NOTAUTH:
		return "notauth";
	default:
		return "unknown";
	}
}

void
snap_reader_limits(struct imapp_reader *r, int notauth)
{
	size_t line, cmd;
	uint64_t lit;

	if (!notauth) {
		r->max_line = (size_t)cfg_size("imap_maxline");
		r->max_literal = (uint64_t)cfg_size("maxliteral");
		r->max_command = (size_t)r->max_literal + 4 * r->max_line;
		return;
	}
	line = (size_t)cfg_size("imap_maxline_preauth");
	lit = (uint64_t)cfg_size("maxliteral_preauth");
	if (line > SNAP_MAX_PENDING - 2)
		line = SNAP_MAX_PENDING - 2;
	if (lit > SNAP_MAX_PENDING)
		lit = SNAP_MAX_PENDING;
	cmd = line + 2 + (size_t)lit;
	r->max_line = line;
	r->max_literal = lit;
	r->max_command = cmd < SNAP_MAX_PENDING ? cmd : SNAP_MAX_PENDING;
}

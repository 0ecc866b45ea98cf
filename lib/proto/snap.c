/*
 * snap - encode and decode session snapshots as ipc fields.  Decoding
 * checks the version and every bound; it never trusts a length.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "imapp.h"
#include "ipc.h"
#include "snap.h"
#include "xalloc.h"

enum snap_tag {
	SNAP_USER = 1,
	SNAP_MAILBOX,
	SNAP_ADDR,
	SNAP_TAG,
	SNAP_MBOXID,
	SNAP_UIDVALIDITY,
	SNAP_MAXUID,
	SNAP_MODSEQ,
	SNAP_PORT,
	SNAP_FLAGS,
	SNAP_PENDING,
	SNAP_VERS,
	SNAP_KIND,
	SNAP_CONNID,
	SNAP_FAILED,
	SNAP_SINCE,
	SNAP_EXISTS,
	SNAP_RECENT_LO,
	SNAP_RECENT_HI,
	SNAP_WATCH,
	SNAP_USER_EVENTS,
	SNAP_SPEC,
	SNAP_WAKE,
	SNAP_REPLY,
	SNAP_MECH,
	SNAP_CONTD,
	SNAP_SAVED,
	SNAP_ZDICT,
};

void
snap_init(struct snap *sn)
{
	memset(sn, 0, sizeof(*sn));
	buf_init(&sn->notify_spec, SNAP_MAX_SPEC);
	buf_init(&sn->reply, SNAP_MAX_REPLY);
	buf_init(&sn->pending, SNAP_MAX_PENDING);
	buf_init(&sn->saved, SNAP_MAX_SAVED);
	buf_init(&sn->zdict, SNAP_MAX_ZDICT);
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
	sn->watch =
	    xreallocarray(sn->watch, sn->nwatch + 1, sizeof(*sn->watch));
	sn->watch[sn->nwatch].mboxid = mboxid;
	sn->watch[sn->nwatch].events = events;
	sn->watch[sn->nwatch++].modseq = modseq;
	return 0;
}

/* the fixed fields, in message order: each put by snap_put and
 * required by snap_get */
enum snap_ftype { SF_U32, SF_U64, SF_STR, SF_BUF };
static const struct snap_field {
	uint16_t tag;
	enum snap_ftype type;
	size_t off, size; /* size: SF_STR's array */
} snap_fields[] = {
#define SF(tag, type, member)                                                  \
	{                                                                      \
		tag, type, offsetof(struct snap, member),                      \
		    sizeof(((struct snap *)0)->member)                         \
	}
	SF(SNAP_KIND, SF_U32, kind),
	SF(SNAP_FLAGS, SF_U32, flags),
	SF(SNAP_USER, SF_STR, user),
	SF(SNAP_ADDR, SF_STR, addr),
	SF(SNAP_PORT, SF_U32, port),
	SF(SNAP_TAG, SF_STR, tag),
	SF(SNAP_MECH, SF_STR, mech),
	SF(SNAP_CONNID, SF_U64, conn_id),
	SF(SNAP_FAILED, SF_U32, failed_logins),
	SF(SNAP_SINCE, SF_U64, idle_since_ms),
	SF(SNAP_MAILBOX, SF_STR, mailbox),
	SF(SNAP_MBOXID, SF_U32, mboxid),
	SF(SNAP_UIDVALIDITY, SF_U32, uidvalidity),
	SF(SNAP_MAXUID, SF_U32, maxuid),
	SF(SNAP_EXISTS, SF_U32, exists),
	SF(SNAP_RECENT_LO, SF_U32, recent_lo),
	SF(SNAP_RECENT_HI, SF_U32, recent_hi),
	SF(SNAP_MODSEQ, SF_U64, modseq),
	SF(SNAP_USER_EVENTS, SF_U32, user_events),
	SF(SNAP_SPEC, SF_BUF, notify_spec),
	SF(SNAP_WAKE, SF_U64, wake_ms),
	SF(SNAP_REPLY, SF_BUF, reply),
	SF(SNAP_PENDING, SF_BUF, pending),
#undef SF
};

/* snap_put_field - one fixed field of sn */
static int
snap_put_field(struct ipc_msg *m, const struct snap *sn,
    const struct snap_field *f)
{
	const char *p = (const char *)sn + f->off;
	const struct buf *b;
	uint32_t u32;
	uint64_t u64;

	switch (f->type) {
	case SF_U32:
		memcpy(&u32, p, sizeof(u32));
		return ipc_put_u32(m, f->tag, u32);
	case SF_U64:
		memcpy(&u64, p, sizeof(u64));
		return ipc_put_u64(m, f->tag, u64);
	case SF_STR:
		return ipc_put_str(m, f->tag, p);
	case SF_BUF:
		b = (const struct buf *)(const void *)p;
		return ipc_put(m, f->tag, b->data ? b->data : "", b->len);
	}
	return -1;
}

int
snap_put(const struct snap *sn, struct ipc_msg *m)
{
	size_t i;

	if (ipc_put_u32(m, SNAP_VERS, SNAP_VERSION) < 0)
		return -1;
	for (i = 0; i < sizeof(snap_fields) / sizeof(snap_fields[0]); i++)
		if (snap_put_field(m, sn, &snap_fields[i]) < 0)
			return -1;
	if (ipc_put(m, SNAP_WATCH, sn->watch ? (const void *)sn->watch : "",
		sn->nwatch * sizeof(*sn->watch)) < 0 ||
	    ipc_put_u32(m, SNAP_CONTD, sn->pending_contd) < 0)
		return -1;
	if (sn->saved.len > 0 &&
	    ipc_put(m, SNAP_SAVED, sn->saved.data, sn->saved.len) < 0)
		return -1;
	if (sn->zdict.len > 0 &&
	    ipc_put(m, SNAP_ZDICT, sn->zdict.data, sn->zdict.len) < 0)
		return -1;
	return 0;
}

/* snap_get_field - one fixed field into sn; -1 absent, malformed or
 * too long */
static int
snap_get_field(const struct ipc_msg *m, struct snap *sn,
    const struct snap_field *f)
{
	char *p = (char *)sn + f->off;
	const void *data;
	uint32_t u32;
	uint64_t u64;
	size_t len;

	switch (f->type) {
	case SF_U32:
		if (ipc_get_u32(m, f->tag, &u32) < 0)
			return -1;
		memcpy(p, &u32, sizeof(u32));
		return 0;
	case SF_U64:
		if (ipc_get_u64(m, f->tag, &u64) < 0)
			return -1;
		memcpy(p, &u64, sizeof(u64));
		return 0;
	case SF_STR:
		return ipc_get_str(m, f->tag, p, f->size);
	case SF_BUF:
		if (ipc_get(m, f->tag, &data, &len) < 0)
			return -1;
		return buf_append((struct buf *)(void *)p, data, len);
	}
	return -1;
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
		sn->watch = xreallocarray(NULL, sn->nwatch, sizeof(*sn->watch));
		memcpy(sn->watch, p, len);
	}
	return 0;
}

/* snap_get_opt - an optional field into b: absent is empty, past b's
 * maximum is -1 */
static int
snap_get_opt(const struct ipc_msg *m, uint16_t tag, struct buf *b)
{
	const void *data;
	size_t len;

	if (ipc_get(m, tag, &data, &len) < 0)
		return 0;
	return buf_append(b, data, len);
}

int
snap_get(const struct ipc_msg *m, struct snap *sn)
{
	uint32_t vers = 0;
	size_t i;

	snap_init(sn);
	if (ipc_get_u32(m, SNAP_VERS, &vers) < 0 || vers != SNAP_VERSION)
		return -1;
	for (i = 0; i < sizeof(snap_fields) / sizeof(snap_fields[0]); i++)
		if (snap_get_field(m, sn, &snap_fields[i]) < 0)
			return -1;
	if (sn->kind < SNAP_K_IDLE || sn->kind > SNAP_K_NOTAUTH ||
	    snap_get_watch(m, sn) < 0)
		return -1;
	/* optional: without it no continuation was sent for pending */
	if (ipc_get_u32(m, SNAP_CONTD, &sn->pending_contd) < 0 ||
	    sn->pending_contd > sn->pending.len)
		sn->pending_contd = 0;
	return snap_get_opt(m, SNAP_SAVED, &sn->saved) < 0 ||
		snap_get_opt(m, SNAP_ZDICT, &sn->zdict) < 0
	    ? -1
	    : 0;
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
	buf_free(&sn->saved);
	buf_free(&sn->zdict);
}

int
snap_deflate_stored(struct buf *out, const char *data, size_t len)
{
	unsigned char h[5];
	size_t n;

	/* BFINAL 0, BTYPE 00, padded to the byte: 0x00; then LEN and
	 * NLEN, little-endian; at most 65535 bytes a block */
	do {
		n = len > 65535 ? 65535 : len;
		h[0] = 0;
		h[1] = (unsigned char)(n & 0xff);
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)(~n & 0xff);
		h[4] = (unsigned char)((~n >> 8) & 0xff);
		if (buf_append(out, h, sizeof(h)) < 0 ||
		    buf_append(out, data, n) < 0)
			return -1;
		data += n;
		len -= n;
	} while (len > 0);
	return 0;
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

	/* LITERAL- instead of LITERAL+: 4096 bytes (RFC 7888 4) */
	r->max_nonsync = cfg_bool("literalminus") ? 4096 : 0;
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

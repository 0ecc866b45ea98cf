/*
 * fuzz_snap - libFuzzer target: bytes as an ipc message read as a
 * session snapshot (what idled and a resuming worker accept from a peer),
 * and as a change message.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ipc.h"
#include "notify.h"
#include "snap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ipc_msg m;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct notify_change c;
	struct ipc_hdr h;
	struct snap sn;

	/* the framing ipc_recv checks: header, then TLV fields */
	if (size > IPC_MAX_MSG - sizeof(h))
		return 0;
	ipc_msg_init(&m, 200);
	memcpy(m.data + sizeof(h), data, size);
	m.len = sizeof(h) + size;
	h.version = IPC_VERSION;
	h.type = 200;
	h.len = (uint32_t)m.len;
	memcpy(m.data, &h, sizeof(h));
	if (snap_get(&m, &sn) == 0) {
		/* what was accepted must encode again */
		ipc_msg_init(&m, 201);
		snap_put(&sn, &m);
	}
	snap_free(&sn);
	notify_parse(data, size, &c);
	return 0;
}

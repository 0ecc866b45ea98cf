/*
 * notify - "mailbox M reached modseq N" datagrams from every writer to
 * idled, on a Unix datagram socket (<configdirectory>/socket/notify).
 * Sending never blocks and failures are ignored: a missing idled only
 * means nobody is parked.
 */
#ifndef BERTH_NOTIFY_H
#define BERTH_NOTIFY_H

#include <stdint.h>

struct notify_msg {
	uint32_t version;	/* NOTIFY_VERSION */
	uint32_t mboxid;
	uint64_t modseq;
};

#define NOTIFY_VERSION 1

/* notify_path - the socket path (static storage) */
const char *notify_path(void);
/* notify_idled_path - idled's park socket */
const char *notify_idled_path(void);
void notify_send(uint32_t mboxid, uint64_t modseq);

#endif

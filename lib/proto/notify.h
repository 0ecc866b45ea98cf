/*
 * notify - "mailbox M of user U changed" messages from every writer to
 * idled, so that parked sessions learn of changes the moment they commit.
 *
 * Transport: one SOCK_SEQPACKET connection per writer process to idled's
 * <configdirectory>/socket/notify, made at the first send and kept.  A
 * connection (unlike a Unix datagram socket, whose queue holds only
 * net.unix.max_dgram_qlen = 10 messages) queues a socket buffer's worth,
 * and keeps one writer's messages in order.  Sending never blocks for
 * long: when idled is gone the message is dropped (nobody is parked);
 * when its queue is full the writer waits at most NOTIFY_SEND_WAIT_MS and
 * then drops it with a warning.
 *
 * A message is struct notify_msg, then user, name and oldname, each
 * NUL-terminated, in that order (name and oldname may be empty).
 * Receivers check version and length and that the three strings are
 * there; anything else closes that writer's connection.
 */
#ifndef BERTH_NOTIFY_H
#define BERTH_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

/* events, as RFC 5465 names them; also the "what" of a change */
#define NOTIFY_EV_NEW 0x0001	      /* MessageNew */
#define NOTIFY_EV_EXPUNGE 0x0002      /* MessageExpunge */
#define NOTIFY_EV_FLAGS 0x0004	      /* FlagChange */
#define NOTIFY_EV_ANNOTATION 0x0008   /* AnnotationChange */
#define NOTIFY_EV_MAILBOXNAME 0x0010  /* MailboxName */
#define NOTIFY_EV_SUBSCRIPTION 0x0020 /* SubscriptionChange */
#define NOTIFY_EV_MAILBOXMETA 0x0040  /* MailboxMetadataChange */
#define NOTIFY_EV_SERVERMETA 0x0080   /* ServerMetadataChange */
#define NOTIFY_EV_MESSAGE                                                      \
	(NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE | NOTIFY_EV_FLAGS |                 \
	    NOTIFY_EV_ANNOTATION)
/* only in a change's what: the mailbox was deleted (with MAILBOXNAME) */
#define NOTIFY_W_DELETED 0x0100

#define NOTIFY_VERSION 2
#define NOTIFY_MAX_USER 256
#define NOTIFY_MAX_NAME 1024
#define NOTIFY_SEND_WAIT_MS 200

struct notify_msg {
	uint16_t version; /* NOTIFY_VERSION */
	uint16_t what;	  /* NOTIFY_EV_* and NOTIFY_W_* of this change */
	uint32_t mboxid;  /* 0: not about one mailbox (subscriptions) */
	uint32_t uidvalidity;
	uint32_t exists; /* after the change */
	uint32_t uidnext;
	uint32_t unseen;
	uint64_t prevmodseq; /* HIGHESTMODSEQ before the change */
	uint64_t modseq;     /* and after */
};

/* a received message, strings pointing into the receive buffer */
struct notify_change {
	struct notify_msg m;
	const char *user, *name, *oldname;
};

#define NOTIFY_MAX_MSG                                                         \
	(sizeof(struct notify_msg) + NOTIFY_MAX_USER + 2 * NOTIFY_MAX_NAME)

/* notify_path - the socket path (static storage) */
const char *notify_path(void);
/* notify_idled_path - idled's park socket */
const char *notify_idled_path(void);
/* notify_index_path - indexd's socket: it hears MessageNew changes only,
 * sent the same way but never waited for (dropped when its queue is
 * full; its sweep finds what it missed) */
const char *notify_index_path(void);
/* notify_tlsd_path - tlsd's STARTTLS socket: imapd.conf tlsd_socket, or
 * its default under configdirectory */
const char *notify_tlsd_path(void);
/*
 * notify_send - announce a committed change (to idled; a MessageNew to
 * indexd too).  user and name are the mailbox's owner and name; oldname
 * is the name before a rename, or NULL.  May wait up to
 * NOTIFY_SEND_WAIT_MS for idled; never fails the caller.
 */
void notify_send(const struct notify_msg *m, const char *user, const char *name,
    const char *oldname);
/* notify_store_event - a store_event_fn (lib/store) that sends each
 * committed change with notify_send: install it with
 * store_set_event_fn(st, notify_store_event, NULL) */
struct store_event;
void notify_store_event(const struct store_event *ev, void *ctx);
/* notify_parse - check one received message; 0, or -1 when malformed */
int notify_parse(const void *data, size_t len, struct notify_change *c_r);

#endif

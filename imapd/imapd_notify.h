/*
 * imapd_notify - NOTIFY (RFC 5465): the spec a client set, and what the
 * session has told it about each mailbox the spec covers.
 *
 * struct imap_notify hangs off s->notify (NULL: no NOTIFY in effect, the
 * RFC 3501 behaviour; NOTIFY NONE returns there).  It holds
 *   - the spec: events for the selected mailbox (selected or
 *     selected-delayed, MessageNew fetch attributes) and the other event
 *     groups (inboxes, personal, subscribed, subtree, mailboxes);
 *   - a table of mailboxes by name with what the client was last told of
 *     each (or need not be told): id, attributes, subscription, and
 *     UIDVALIDITY, MESSAGES, UIDNEXT and HIGHESTMODSEQ.  With a spec whose
 *     coverage follows the mailbox list (personal, subtree, subscribed) or
 *     that asks for MailboxName / SubscriptionChange, the table is the
 *     user's whole mailbox list (and subscriptions); otherwise only the
 *     mailboxes named in the spec.
 *
 * imapd_notify_spec.c parses the NOTIFY command into a spec and encodes a
 * whole struct imap_notify into the snapshot's notify_spec (and back); it
 * does no I/O.  imapd_notify.c compares the table with the store and
 * sends STATUS and LIST responses, syncs the selected mailbox as the spec
 * says, and fills the snapshot's watches.  cmd_notify.c is the command.
 *
 * Limits (a NOTIFY past them is refused, a table that outgrows them ends
 * NOTIFY with "* OK [NOTIFICATIONOVERFLOW]"): NOTIFY_MAX_GROUPS groups,
 * NOTIFY_MAX_NAMES names of NOTIFY_MAX_NAMES_LEN bytes in all, MessageNew
 * fetch attributes of NOTIFY_MAX_FETCH_LEN bytes, NOTIFY_MAX_MBOXES
 * mailboxes in the table.  A session whose watches pass SNAP_MAX_WATCH or
 * whose encoding passes SNAP_MAX_SPEC bytes is not parked: its worker
 * keeps serving it.
 */
#ifndef BERTH_IMAPD_NOTIFY_H
#define BERTH_IMAPD_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "imapp.h"

#define NOTIFY_MAX_GROUPS 32
#define NOTIFY_MAX_NAMES 256
#define NOTIFY_MAX_NAMES_LEN 4096
#define NOTIFY_MAX_FETCH_LEN 1024
#define NOTIFY_MAX_MBOXES 1000

/* what NOTIFY supports, for [BADEVENT (...)] */
#define NOTIFY_SUPPORTED_EVENTS                                                \
	"MessageNew MessageExpunge FlagChange "                                \
	"MailboxName SubscriptionChange"

enum notify_filter {
	NOTIFY_F_INBOXES = 1,
	NOTIFY_F_PERSONAL,
	NOTIFY_F_SUBSCRIBED,
	NOTIFY_F_SUBTREE,
	NOTIFY_F_MAILBOXES,
};

/* one event group other than selected / selected-delayed */
struct notify_group {
	enum notify_filter filter;
	uint32_t events; /* NOTIFY_EV_* */
	char **names;	 /* SUBTREE, MAILBOXES; INBOX upper-cased */
	size_t nnames;
};

/* a mailbox (or a subscribed name) and what the client knows of it */
struct notify_mbox {
	char *name;
	uint32_t id;	/* 0: a subscription without a mailbox */
	uint32_t attrs; /* STORE_MBOX_* */
	uint32_t uidvalidity;
	uint32_t messages;
	uint32_t uidnext;
	uint64_t modseq; /* HIGHESTMODSEQ considered */
	unsigned subscribed : 1;
};

struct fetch_req;

struct imap_notify {
	/* the selected mailbox */
	uint32_t sel_events;	 /* NOTIFY_EV_* message events; 0: none */
	int sel_delayed;	 /* selected-delayed */
	char *fetch_text;	 /* MessageNew's "(fetch-att ...)", or NULL */
	struct fetch_req *fetch; /* the same, parsed */
	/* the other groups */
	struct notify_group *groups;
	size_t ngroups;
	/* derived from the groups (notify_spec_derive) */
	uint32_t list_events; /* MAILBOXNAME | SUBSCRIPTION asked for */
	int track_list;	      /* the table is the whole mailbox list */
	int track_subs;	      /* and subscriptions are kept */
	/* the table, sorted by name (strcmp) */
	struct notify_mbox *mb;
	size_t nmb;
	/* the selected view's sync point when encoded (see view_uncap) */
	uint32_t sel_mboxid;
	uint64_t sel_smodseq;
	/* this worker only, not encoded */
	long long synced_ms; /* last sync of the other mailboxes */
	int park_refused;    /* a limit kept it from parking (logged) */
};

/* notify_spec_parse results besides 0 */
#define NOTIFY_SPEC_BAD (-1)	  /* malformed: tagged BAD */
#define NOTIFY_SPEC_BADEVENT (-2) /* NO [BADEVENT (...)] */
#define NOTIFY_SPEC_LIMIT (-3)	  /* NO [LIMIT] */

/*
 * notify_spec_parse - the arguments of a NOTIFY command.  0: *n_r is the
 * new spec (malloc'ed, empty table), or NULL for NOTIFY NONE; *status_r
 * says whether SET STATUS was given.  Otherwise one of NOTIFY_SPEC_* with
 * *error_r saying what was wrong (static storage).
 */
int notify_spec_parse(const struct imapp_arg *args, size_t nargs,
    struct imap_notify **n_r, int *status_r, const char **error_r);
/* notify_spec_parse_as - the same for a session that may speak UTF-8
 * (utf8: UTF8=ACCEPT): its names are kept in the stored form */
int notify_spec_parse_as(const struct imapp_arg *args, size_t nargs, int utf8,
    struct imap_notify **n_r, int *status_r, const char **error_r);
/* notify_spec_covers - the events of every group that covers name (a
 * name subscribed or not) */
uint32_t notify_spec_covers(const struct imap_notify *n, const char *name,
    int subscribed);
/* notify_spec_encode - n as bytes appended to out; -1 if out refuses
 * them (its maximum) */
int notify_spec_encode(const struct imap_notify *n, struct buf *out);
/* notify_spec_decode - bytes from notify_spec_encode back into a new
 * *n_r; -1 if malformed or past a limit */
int notify_spec_decode(const void *data, size_t len, struct imap_notify **n_r);
/* notify_spec_mbox_free - free a table */
void notify_spec_mbox_free(struct notify_mbox *mb, size_t n);
void notify_spec_free(struct imap_notify **n);

struct imap_session;
/*
 * imapd_notify_set - install n (consumed) as the session's NOTIFY state,
 * replacing any earlier one; with status, send STATUS for every covered
 * mailbox but the selected one.  Refused, nothing changed: -1 with
 * *error_r on a store error, -2 when it covers more than
 * NOTIFY_MAX_MBOXES mailboxes.
 */
int imapd_notify_set(struct imap_session *s, struct imap_notify *n, int status,
    const char **error_r);
/* imapd_notify_absorb - the session itself changed its mailbox list or
 * subscriptions: take the new state as known, send nothing for it */
void imapd_notify_absorb(struct imap_session *s);

#endif

/*
 * imapd_notify - the NOTIFY (RFC 5465) state of a session and what a
 * parked session watches.
 *
 * XXX(#3): NOTIFY SET/NONE are not parsed yet; a session watches only its
 * selected mailbox, for every message event.
 */
#include "config.h"

#include "imapd.h"
#include "notify.h"
#include "snap.h"

int
imapd_notify_snap(struct imap_session *s, struct snap *sn)
{
	if (s->state == IMAP_S_SELECTED &&
	    snap_watch_add(sn, s->view.mboxid, NOTIFY_EV_MESSAGE |
	    NOTIFY_EV_MAILBOXNAME | SNAP_W_SELECTED, s->view.modseq) < 0)
		return -1;
	return 0;
}

int
imapd_notify_restore(struct imap_session *s, const struct snap *sn)
{
	(void)s;
	(void)sn;
	return 0;
}

void
imapd_notify_sync(struct imap_session *s)
{
	(void)s;
}

void
imapd_notify_free(struct imap_session *s)
{
	s->notify = NULL;
}

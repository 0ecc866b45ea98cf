/*
 * idleproto - the idled wire protocol (ipc messages).
 *
 * PARK (worker -> idled, with the client fd): snapshot fields + HANDOFF
 * (the handoff socket to return the session to); answered by PARKED.
 * RESUME (idled -> worker's handoff socket, with the client fd):
 * snapshot fields.
 * FRONT (master -> idled, with a new client's fd, nothing read from it):
 * HANDOFF and SERVICE (its master.conf name); not answered: idled admits,
 * greets and holds the client (master_front.c, idled_front.c).
 * LIST (berthctl -> idled): answered by LISTING messages of LINE fields,
 * oldest session first; the last one carries END.
 */
#ifndef BERTH_IDLEPROTO_H
#define BERTH_IDLEPROTO_H

enum idleproto_type {
	IDLEPROTO_T_PARK = 200,
	IDLEPROTO_T_PARKED,
	IDLEPROTO_T_RESUME,
	IDLEPROTO_T_LIST,    /* berthctl -> idled: who is parked */
	IDLEPROTO_T_LISTING, /* idled -> berthctl: LINE fields */
	IDLEPROTO_T_FRONT,   /* master -> idled: a new client */
};

enum idleproto_tag {
	IDLEPROTO_HANDOFF = 100, /* snap uses tags below 100 */
	IDLEPROTO_LINE,		 /* "user addr seconds kind mailbox" */
	IDLEPROTO_END,		 /* u32 sessions: the last LISTING message */
	IDLEPROTO_SERVICE,	 /* FRONT: the service's name */
};

#endif

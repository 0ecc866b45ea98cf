/*
 * idlep - the idled wire protocol (ipc messages).
 *
 * PARK (worker -> idled, with the client fd): snapshot fields + HANDOFF
 * (the handoff socket to return the session to); answered by PARKED.
 * RESUME (idled -> worker's handoff socket, with the client fd):
 * snapshot fields.
 * LIST (berthctl -> idled): answered by LISTING messages of LINE fields,
 * oldest session first; the last one carries END.
 */
#ifndef BERTH_IDLEP_H
#define BERTH_IDLEP_H

enum idlep_type {
	IDLEP_T_PARK = 200,
	IDLEP_T_PARKED,
	IDLEP_T_RESUME,
	IDLEP_T_LIST,		/* berthctl -> idled: who is parked */
	IDLEP_T_LISTING,	/* idled -> berthctl: LINE fields */
};

enum idlep_tag {
	IDLEP_HANDOFF = 100,	/* snap uses tags below 100 */
	IDLEP_LINE,		/* "user addr seconds kind mailbox" */
	IDLEP_END,		/* u32 sessions: the last LISTING message */
};

#endif

/*
 * authp - the authd wire protocol (ipc messages), shared by authd and
 * the worker-side client authc.
 *
 * Requests (worker -> authd): START {MECH, RESP?, ADDR, PORT, LADDR,
 * SECURE}, STEP {RESP}, ABORT {}, MECHS {SECURE}.  Replies (authd ->
 * worker): OK {USER}, CONTINUE {CHAL}, NO {CODE, TEXT}, MECHLIST {MECHS}.
 * CODE is an enum authc_result value.
 */
#ifndef BERTH_AUTHP_H
#define BERTH_AUTHP_H

enum authp_type {
	AUTHP_T_START = 1,
	AUTHP_T_STEP,
	AUTHP_T_ABORT,
	AUTHP_T_MECHS,
	AUTHP_T_OK = 100,
	AUTHP_T_CONTINUE,
	AUTHP_T_NO,
	AUTHP_T_MECHLIST,
};

enum authp_tag {
	AUTHP_MECH = 1,
	AUTHP_RESP,
	AUTHP_ADDR,
	AUTHP_PORT,
	AUTHP_LADDR,
	AUTHP_SECURE,
	AUTHP_USER,
	AUTHP_CHAL,
	AUTHP_CODE,
	AUTHP_TEXT,
	AUTHP_MECHS,
};

/* authp_socket_path - imapd.conf authd_socket or its default */
const char *authp_socket_path(void);

#endif

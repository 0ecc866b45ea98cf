/*
 * cfg_keys - every imapd.conf key berth knows, with its type and default.
 *
 * Names follow Cyrus imapd.conf where the meaning is the same.  Keep the
 * table sorted by name; man/imapd.conf.5 documents each entry.
 */
#include "config.h"

#include <stddef.h>

#include "cfg.h"

const struct cfg_key cfg_keys[] = {
	{ "admins", CFG_T_STR, "", 0 },
	{ "allowplaintext", CFG_T_BOOL, "no", 0 },
	{ "authd_socket", CFG_T_STR, NULL, 0 },
	{ "berth_user", CFG_T_STR, "berth", 0 },
	{ "configdirectory", CFG_T_STR, "/var/lib/berth", 0 },
	{ "debug", CFG_T_BOOL, "no", 0 },
	{ "defaultpartition", CFG_T_STR, "default", 0 },
	{ "hashimapspool", CFG_T_BOOL, "yes", 0 },
	{ "idle_poll", CFG_T_DURATION, "1s", 's' },
	{ "idled_maxuser", CFG_T_INT, "100", 0 },
	{ "idled_maxusernet", CFG_T_INT, "40", 0 },
	{ "idled_notauth_timeout", CFG_T_DURATION, "60s", 's' },
	{ "imap_maxline", CFG_T_SIZE, "65536", 0 },
	{ "imapidlekeepalive", CFG_T_DURATION, "5m", 'm' },
	{ "imapidletimeout", CFG_T_DURATION, "30m", 'm' },
	{ "maxliteral", CFG_T_SIZE, "64M", 0 },
	{ "maxmessagesize", CFG_T_SIZE, "64M", 0 },
	{ "notify_park_delay", CFG_T_DURATION, "5s", 's' },
	{ "sasl_mech_list", CFG_T_STR, "PLAIN LOGIN", 0 },
	{ "sasl_pwcheck_method", CFG_T_STR, "auxprop", 0 },
	{ "sasl_auxprop_plugin", CFG_T_STR, "sasldb", 0 },
	{ "sasl_saslauthd_path", CFG_T_STR, NULL, 0 },
	{ "sasl_sasldb_path", CFG_T_STR, "/etc/sasldb2", 0 },
	{ "servername", CFG_T_STR, NULL, 0 },
	{ "syslog_prefix", CFG_T_STR, "berth", 0 },
	{ "tcp_keepalive_cnt", CFG_T_INT, "5", 0 },
	{ "tcp_keepalive_idle", CFG_T_DURATION, "5m", 's' },
	{ "tcp_keepalive_intvl", CFG_T_DURATION, "60s", 's' },
	{ "timeout", CFG_T_DURATION, "30m", 'm' },
	{ NULL, 0, NULL, 0 }
};

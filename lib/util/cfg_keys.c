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
	{ "allowplaintext_loopback", CFG_T_BOOL, "no", 0 },
	{ "authd_backend_reserve", CFG_T_INT, "25", 0 }, /* percent */
	{ "authd_backend_threads", CFG_T_INT, "30", 0 },
	{ "authd_backend_timeout", CFG_T_DURATION, "10s", 's' },
	{ "authd_box_addr", CFG_T_INT, "10", 0 },
	{ "authd_box_net", CFG_T_INT, "50", 0 },
	{ "authd_delay_base", CFG_T_DURATION, "2s", 's' },
	{ "authd_delay_max", CFG_T_DURATION, "15s", 's' },
	{ "authd_known_window", CFG_T_DURATION, "30d", 'd' },
	{ "authd_log_burst", CFG_T_INT, "20", 0 },
	{ "authd_log_interval", CFG_T_DURATION, "10s", 's' },
	{ "authd_maxconns_addr", CFG_T_INT, "2000", 0 },
	{ "authd_maxconns_net", CFG_T_INT, "5000", 0 },
	{ "authd_maxconns_wide", CFG_T_INT, "10000", 0 },
	{ "authd_maxrate_addr", CFG_T_INT, "1200", 0 },
	{ "authd_penalty_halflife", CFG_T_DURATION, "15m", 'm' },
	{ "authd_queue_max", CFG_T_INT, "4096", 0 },
	{ "authd_queue_timeout", CFG_T_DURATION, "5s", 's' },
	{ "authd_rate_window", CFG_T_DURATION, "1m", 's' },
	{ "authd_socket", CFG_T_STR, NULL, 0 },
	{ "berkeley_cachesize", CFG_T_SIZE, "128M", 0 },
	{ "berth_user", CFG_T_STR, "berth", 0 },
	{ "configdirectory", CFG_T_STR, "/var/lib/berth", 0 },
	{ "debug", CFG_T_BOOL, "no", 0 },
	{ "defaultdomain", CFG_T_STR, NULL, 0 },
	{ "defaultpartition", CFG_T_STR, "default", 0 },
	{ "duplicate_window", CFG_T_DURATION, "24h", 'h' },
	{ "duplicatesuppression", CFG_T_BOOL, "yes", 0 },
	{ "hashimapspool", CFG_T_BOOL, "yes", 0 },
	{ "idle_poll", CFG_T_DURATION, "1s", 's' },
	{ "idled_maxuser", CFG_T_INT, "100", 0 },
	{ "idled_maxusernet", CFG_T_INT, "40", 0 },
	{ "idled_notauth_timeout", CFG_T_DURATION, "60s", 's' },
	{ "idled_tarpit_addr", CFG_T_INT, "10", 0 },
	{ "idled_tarpit_max", CFG_T_INT, "5000", 0 },
	{ "imap_maxline", CFG_T_SIZE, "65536", 0 },
	{ "imap_maxline_preauth", CFG_T_SIZE, "4096", 0 },
	{ "imapidlekeepalive", CFG_T_DURATION, "5m", 'm' },
	{ "imapidletimeout", CFG_T_DURATION, "30m", 'm' },
	{ "indexd_sweep", CFG_T_DURATION, "15m", 'm' },
	{ "literalminus", CFG_T_BOOL, "no", 0 },
	{ "lmtp_downcase_rcpt", CFG_T_BOOL, "yes", 0 },
	{ "lmtp_fuzzy_mailbox_match", CFG_T_BOOL, "no", 0 },
	{ "lmtp_timeout", CFG_T_DURATION, "5m", 'm' },
	{ "maxbadlogins", CFG_T_INT, "3", 0 },
	{ "lmtpsocket", CFG_T_STR, NULL, 0 }, /* configdirectory/socket/lmtp */
	{ "login_park", CFG_T_BOOL, "yes", 0 },
	{ "master_pid_file", CFG_T_STR, NULL, 0 }, /* unset: none */
	{ "maxliteral", CFG_T_SIZE, "64M", 0 },
	{ "maxliteral_preauth", CFG_T_SIZE, "4096", 0 },
	{ "maxliteral_workers_addr", CFG_T_INT, "6", 0 },
	{ "maxliteral_workers_user", CFG_T_INT, "3", 0 },
	{ "maxlogins_per_host", CFG_T_INT, NULL, 0 }, /* unset: auto */
	{ "maxlogins_per_user", CFG_T_INT, NULL, 0 },
	{ "maxmessagesize", CFG_T_SIZE, "64M", 0 },
	{ "notauth_park_delay", CFG_T_DURATION, "1s", 's' },
	{ "notify_park_delay", CFG_T_DURATION, "5s", 's' },
	{ "park_on_backlog", CFG_T_BOOL, "yes", 0 },
	{ "partial_park_delay", CFG_T_DURATION, "200ms", 's' },
	{ "proxy_protocol", CFG_T_BOOL, "no", 0 },
	{ "proxy_timeout", CFG_T_DURATION, "5s", 's' },
	{ "proxy_trusted", CFG_T_STR, "", 0 },
	{ "quota_default_messages", CFG_T_INT, "0", 0 },
	{ "quota_default_storage", CFG_T_SIZE, "0", 0 },
	{ "sasl_detached_max", CFG_T_INT, "10000", 0 },
	{ "sasl_detached_max_addr", CFG_T_INT, "100", 0 },
	{ "sasl_mech_list", CFG_T_STR, "PLAIN LOGIN", 0 },
	{ "sasl_pwcheck_method", CFG_T_STR, "auxprop", 0 },
	{ "sasl_response_timeout", CFG_T_DURATION, "30s", 's' },
	{ "sasl_auxprop_plugin", CFG_T_STR, "sasldb", 0 },
	{ "sasl_saslauthd_path", CFG_T_STR, NULL, 0 },
	{ "sasl_sasldb_path", CFG_T_STR, "/etc/sasldb2", 0 },
	{ "search_engine", CFG_T_STR, "fts", 0 }, /* fts | none */
	{ "servername", CFG_T_STR, NULL, 0 },
	{ "specialuse_autocreate", CFG_T_BOOL, "yes", 0 },
	{ "stall_min_rate", CFG_T_SIZE, "1K", 0 }, /* bytes a second */
	{ "stall_timeout", CFG_T_DURATION, "2m", 'm' },
	{ "syslog_facility", CFG_T_STR, "mail", 0 },
	{ "syslog_prefix", CFG_T_STR, "berth", 0 },
	{ "tcp_keepalive_cnt", CFG_T_INT, "5", 0 },
	{ "tcp_keepalive_idle", CFG_T_DURATION, "5m", 's' },
	{ "tcp_keepalive_intvl", CFG_T_DURATION, "60s", 's' },
	{ "timeout", CFG_T_DURATION, "30m", 'm' },
	/* Mozilla "intermediate" (TLS 1.2; TLS 1.3 suites are OpenSSL's) */
	{ "tls_ciphers", CFG_T_STR,
	    "ECDHE-ECDSA-AES128-GCM-SHA256:"
	    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
	    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
	    "ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:"
	    "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305",
	    0 },
	/* TLS 1.3 suites; unset: OpenSSL's */
	{ "tls_ciphersuites", CFG_T_STR, NULL, 0 },
	{ "tls_client_ca_file", CFG_T_STR, NULL, 0 },
	{ "tls_client_certs", CFG_T_STR, "off", 0 },
	{ "tls_handshake_timeout", CFG_T_DURATION, "10s", 's' },
	{ "tls_ocsp_file", CFG_T_STR, NULL, 0 },
	{ "tls_prefer_server_ciphers", CFG_T_BOOL, "no", 0 },
	{ "tls_server_cert", CFG_T_STR, NULL, 0 },
	{ "tls_server_key", CFG_T_STR, NULL, 0 },
	{ "tls_session_timeout", CFG_T_DURATION, "24h", 'm' },
	{ "tls_sni_certs", CFG_T_STR, NULL, 0 },
	{ "tls_versions", CFG_T_STR, "tls1_2 tls1_3", 0 },
	{ "tlsd_socket", CFG_T_STR, NULL, 0 },
	/* messages; 0: a worker keeps no mailbox's records */
	{ "view_cache_min", CFG_T_INT, "2000", 0 },
	{ "virtdomains", CFG_T_STR, "off", 0 },
	{ "wait_park_delay", CFG_T_DURATION, "15s", 's' },
	{ "xlist-archive", CFG_T_STR, "Archive", 0 },
	{ "xlist-drafts", CFG_T_STR, "Drafts", 0 },
	{ "xlist-junk", CFG_T_STR, "Junk", 0 },
	{ "xlist-sent", CFG_T_STR, "Sent", 0 },
	{ "xlist-trash", CFG_T_STR, "Trash", 0 },
	{ NULL, 0, NULL, 0 },
};

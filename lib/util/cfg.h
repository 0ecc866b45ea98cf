/*
 * cfg - imapd.conf: "key: value" lines, Cyrus option names.
 *
 * One process-wide configuration, loaded once at start (and again on
 * reload).  Every known key has a type and a default in cfg_keys.c; an
 * unknown key is a warning naming file, line and key; a value that does not
 * parse as its type is an error naming file, line and key.  Keys of the
 * form "partition-<name>" are accepted for any name, and "<service>_<key>"
 * for any known key (a per-service value, as in Cyrus).
 *
 * Lookups of keys missing from the table are our bug: log_panic.
 */
#ifndef BERTH_CFG_H
#define BERTH_CFG_H

#include <stddef.h>

struct buf;
struct err;

enum cfg_type {
	CFG_T_STR,
	CFG_T_INT,	/* decimal, >= 0 */
	CFG_T_BOOL,	/* yes/no, on/off, true/false, 1/0 */
	CFG_T_DURATION, /* number with optional unit s, m, h, d */
	CFG_T_SIZE,	/* number with optional unit K, M, G (bytes) */
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	const char *def; /* default, as text; NULL: unset */
	char unit;	 /* CFG_T_DURATION: unit of a bare number */
};

extern const struct cfg_key cfg_keys[];

#define CFG_DEFAULT_PATH SYSCONFDIR "/berth/imapd.conf"

/* the longest configdirectory taken (bytes): the paths made under it
 * (sockets, locks, keys; a name of at most 100 bytes) fit the 1024-byte
 * buffers that hold them, so they are never cut */
#define CFG_CONFDIR_MAX 900

/*
 * cfg_load_file - read path and make it the process configuration.
 * Returns 0, or -1 with err ("file:line: key 'k': ...") set; the
 * previous configuration stays in force on error.  Warnings (unknown keys)
 * are appended to *warn_r one per line when warn_r is not NULL, else logged.
 */
int cfg_load_file(const char *path, struct buf *warn_r, struct err *err);
/* cfg_load_text - the same from memory; name is used in messages */
int cfg_load_text(const char *name, const char *text, size_t len,
    struct buf *warn_r, struct err *err);
/* cfg_path - the file last loaded, or NULL */
const char *cfg_path(void);

/* cfg_set - override a key in the loaded config (tests, command line) */
int cfg_set(const char *key, const char *value, struct err *err);

const char *cfg_str(const char *key); /* NULL when unset */
/* cfg_str_any - like cfg_str, but NULL (no panic) for keys not in the
 * table: for pass-through option families such as sasl_* */
const char *cfg_str_any(const char *key);
long long cfg_int(const char *key);
int cfg_bool(const char *key);
long long cfg_duration_ms(const char *key);
long long cfg_size(const char *key);
/*
 * cfg_service_str, cfg_service_bool - key as seen by one service: Cyrus's
 * "<service>_<key>" (the master.conf entry name, e.g. imaps_proxy_protocol)
 * when set, else key.  Such keys are accepted at load for any known key.
 */
const char *cfg_service_str(const char *service, const char *key);
int cfg_service_bool(const char *service, const char *key);
/* cfg_partition_path - the path of partition-<name>, or NULL */
const char *cfg_partition_path(const char *name);

/* cfg_parse_* - value parsers shared with master.conf; -1 on bad input */
int cfg_parse_bool(const char *s, int *out_r);
int cfg_parse_int(const char *s, long long *out_r);
int cfg_parse_duration_ms(const char *s, char unit, long long *out_r);
int cfg_parse_size(const char *s, long long *out_r);

#endif

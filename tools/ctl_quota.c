/*
 * ctl_quota - berthctl quota get USER, quota set USER [storage=S]
 * [messages=N]: a user's usage and limits (RFC 9208 STORAGE, MESSAGE).
 *
 * A limit is a number (storage: KiB, the RFC's unit, or a size with K,
 * M or G), "none" (no limit) or "default" (quota_default_storage and
 * quota_default_messages of imapd.conf).  A resource not named keeps its
 * limit.  The store enforces them (lib/store/store_quota.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "ctl.h"
#include "err.h"
#include "log.h"
#include "store.h"

/* ctl_quota_word - a limit for output */
static const char *
ctl_quota_word(uint64_t v, char *buf, size_t size)
{
	if (v == STORE_QUOTA_NONE)
		return "none";
	(void)snprintf(buf, size, "%llu", (unsigned long long)v);
	return buf;
}

/* ctl_quota_parse - "none", "default", a number (KiB for storage), or
 * for storage a size with a unit; -1 if malformed */
static int
ctl_quota_parse(const char *s, int storage, uint64_t *out)
{
	long long v;
	char *end;

	if (strcmp(s, "none") == 0) {
		*out = STORE_QUOTA_NONE;
		return 0;
	}
	if (strcmp(s, "default") == 0) {
		*out = STORE_QUOTA_DEFAULT;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end == '\0' && v >= 0) {
		*out = (uint64_t)v;
		return 0;
	}
	if (!storage || cfg_parse_size(s, &v) < 0 || v < 0)
		return -1;
	*out = (uint64_t)v / 1024;
	return 0;
}

static int
ctl_quota_get(struct store *st, const char *user)
{
	struct store_quota q;
	const char *err;
	char b1[32], b2[32];

	if (store_quota_get(st, user, &q, &err) != 0)
		return ctl_error("quota get %s: %s", user, err);
	(void)printf("user=%s storage=%llu storage_bytes=%llu storage_limit=%s "
		     "storage_limit_from=%s messages=%llu message_limit=%s "
		     "message_limit_from=%s\n",
	    user, (unsigned long long)((q.storage + 1023) / 1024),
	    (unsigned long long)q.storage,
	    ctl_quota_word(q.storage_limit, b1, sizeof(b1)),
	    q.storage_own ? "user" : "default", (unsigned long long)q.messages,
	    ctl_quota_word(q.message_limit, b2, sizeof(b2)),
	    q.message_own ? "user" : "default");
	return 0;
}

static int
ctl_quota_set(struct store *st, const char *user, int argc, char **argv)
{
	uint64_t storage = STORE_QUOTA_KEEP, messages = STORE_QUOTA_KEEP;
	const char *err;
	int i;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "storage=", 8) == 0 &&
		    ctl_quota_parse(argv[i] + 8, 1, &storage) == 0)
			continue;
		if (strncmp(argv[i], "messages=", 9) == 0 &&
		    ctl_quota_parse(argv[i] + 9, 0, &messages) == 0)
			continue;
		return ctl_usage_error("quota", "bad limit: %s", argv[i]);
	}
	if (store_quota_set(st, user, storage, messages, &err) != 0)
		return ctl_error("quota set %s: %s", user, err);
	log_info("quota set user=%s by berthctl", user);
	return ctl_quota_get(st, user);
}

int
ctl_quota(int argc, char **argv)
{
	struct store *st;
	struct err oerr;
	int r;

	if (!(strcmp(argv[1], "get") == 0 && argc == 3) &&
	    !(strcmp(argv[1], "set") == 0 && argc >= 4 && argc <= 5))
		return ctl_usage_error("quota",
		    "unknown command or wrong "
		    "number of arguments");
	if (argv[2][0] == '\0')
		return ctl_usage_error("quota", "empty user name");
	if (store_open(cfg_str("configdirectory"), ctl_partition(),
		STORE_OPEN_CREATE, &st, &oerr) < 0)
		return ctl_error("%s", oerr.msg);
	store_quota_set_default(st,
	    (uint64_t)cfg_size("quota_default_storage") / 1024,
	    (uint64_t)cfg_int("quota_default_messages"));
	if (strcmp(argv[1], "get") == 0)
		r = ctl_quota_get(st, argv[2]);
	else
		r = ctl_quota_set(st, argv[2], argc - 3, argv + 3);
	store_close(&st);
	return r;
}

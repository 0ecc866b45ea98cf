/*
 * cfg - parse imapd.conf and answer typed lookups.
 *
 * Owns the process-wide key/value table.  Format: one "key: value" per
 * line; blank lines and lines starting with '#' are ignored; leading and
 * trailing blanks of the value are dropped.  Values are checked against
 * their key's type at load, so a lookup never fails.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "fd.h"
#include "log.h"
#include "xalloc.h"

#define CFG_MAX_FILE (1024 * 1024)

struct cfg_ent {
	char *key;
	char *value;
};

struct cfg_set {
	struct cfg_ent *ents;
	size_t n;
	char *path;
};

static struct cfg_set cfg_cur;

static const struct cfg_key *
cfg_key_find(const char *name)
{
	const struct cfg_key *k;

	for (k = cfg_keys; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

int
cfg_parse_bool(const char *s, int *out_r)
{
	static const char *yes[] = { "yes", "on", "true", "1", "t", "y" };
	static const char *no[] = { "no", "off", "false", "0", "f", "n" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out_r = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out_r = 0;
			return 0;
		}
	}
	return -1;
}

int
cfg_parse_int(const char *s, long long *out_r)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out_r = v;
	return 0;
}

/* cfg_parse_scaled - number, then an optional unit from units/mults */
static int
cfg_parse_scaled(const char *s, const char *units, const long long *mults,
    char defunit, long long *out_r)
{
	char *end;
	const char *u;
	long long v, m = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -1;
	if (*end == '\0' && defunit) { /* a bare number: default unit */
		u = strchr(units, defunit);
		if (u != NULL)
			m = mults[u - units];
	} else if (*end) {
		u = strchr(units, *end);
		if (u == NULL || end[1] != '\0')
			return -1;
		m = mults[u - units];
	}
	if (v > (1LL << 62) / m)
		return -1;
	*out_r = v * m;
	return 0;
}

int
cfg_parse_duration_ms(const char *s, char unit, long long *out_r)
{
	static const long long mults[] = { 1000, 60000, 3600000, 86400000 };

	/* "ms" is the one two-letter unit */
	size_t n = strlen(s);
	if (n > 2 && strcmp(s + n - 2, "ms") == 0) {
		char tmp[32];

		if (n - 2 >= sizeof(tmp))
			return -1;
		memcpy(tmp, s, n - 2);
		tmp[n - 2] = '\0';
		return cfg_parse_int(tmp, out_r);
	}
	return cfg_parse_scaled(s, "smhd", mults, unit ? unit : 's', out_r);
}

int
cfg_parse_size(const char *s, long long *out_r)
{
	static const long long mults[] = { 1024, 1024, 1048576, 1048576,
		1073741824, 1073741824 };

	return cfg_parse_scaled(s, "KkMmGg", mults, 0, out_r);
}

static const char *
cfg_type_name(enum cfg_type t)
{
	switch (t) {
	case CFG_T_INT:
		return "a whole number";
	case CFG_T_BOOL:
		return "yes or no";
	case CFG_T_DURATION:
		return "a duration such as 30s, 5m, 2h";
	case CFG_T_SIZE:
		return "a size such as 512K, 64M";
	default:
		return "a string";
	}
}

/* cfg_parse_as - value as a number of type t (a boolean: 0 or 1; unit:
 * that of a bare duration); a string is always 0 */
static int
cfg_parse_as(enum cfg_type t, char unit, const char *value, long long *ll_r)
{
	int b = 0, r;

	*ll_r = 0;
	switch (t) {
	case CFG_T_INT:
		return cfg_parse_int(value, ll_r);
	case CFG_T_BOOL:
		r = cfg_parse_bool(value, &b);
		*ll_r = b;
		return r;
	case CFG_T_DURATION:
		return cfg_parse_duration_ms(value, unit, ll_r);
	case CFG_T_SIZE:
		return cfg_parse_size(value, ll_r);
	default:
		return 0;
	}
}

/* cfg_check_value - does value parse as key's type (and, for
 * configdirectory, is it at most CFG_CONFDIR_MAX bytes)? */
static int
cfg_check_value(const struct cfg_key *k, const char *value)
{
	long long ll;

	if (strcmp(k->name, "configdirectory") == 0 &&
	    strlen(value) > CFG_CONFDIR_MAX)
		return -1;
	return cfg_parse_as(k->type, k->unit, value, &ll);
}

static int
cfg_is_partition_key(const char *key)
{
	return strncmp(key, "partition-", 10) == 0 && key[10] != '\0';
}

/* cfg_key_find_service - key, or "<service>_<key>" as Cyrus allows: the
 * known key after the first '_' that leaves one; NULL if neither */
static const struct cfg_key *
cfg_key_find_service(const char *name)
{
	const struct cfg_key *k;
	const char *u;

	if ((k = cfg_key_find(name)) != NULL)
		return k;
	for (u = strchr(name, '_'); u != NULL; u = strchr(u + 1, '_'))
		if (u > name && (k = cfg_key_find(u + 1)) != NULL)
			return k;
	return NULL;
}

static void
cfg_set_free(struct cfg_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		free(set->ents[i].key);
		free(set->ents[i].value);
	}
	free(set->ents);
	free(set->path);
	memset(set, 0, sizeof(*set));
}

static void
cfg_set_put(struct cfg_set *set, const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		if (strcmp(set->ents[i].key, key) == 0) {
			free(set->ents[i].value);
			set->ents[i].value = xstrdup(value);
			return;
		}
	}
	set->ents = xreallocarray(set->ents, set->n + 1, sizeof(*set->ents));
	set->ents[set->n].key = xstrdup(key);
	set->ents[set->n].value = xstrdup(value);
	set->n++;
}

static void
cfg_warn(struct buf *warn_r, const char *name, int line, const char *key)
{
	if (warn_r != NULL)
		buf_printf(warn_r, "%s:%d: unknown key '%s' ignored\n", name,
		    line, key);
	else
		log_warn("config=%s line=%d key=%s: unknown key ignored", name,
		    line, key);
}

/* cfg_parse_line - one line into set; -1 with err filled */
static int
cfg_parse_line(struct cfg_set *set, const char *name, int lineno, char *line,
    struct buf *warn_r, struct err *err)
{
	const struct cfg_key *k;
	char *colon, *key, *value, *end;

	while (isspace((unsigned char)*line))
		line++;
	if (*line == '\0' || *line == '#')
		return 0;
	colon = strchr(line, ':');
	if (colon == NULL) {
		return err_set(err, "%s:%d: expected 'key: value'", name,
		    lineno);
	}
	*colon = '\0';
	key = line;
	for (end = colon; end > key && isspace((unsigned char)end[-1]); end--)
		end[-1] = '\0';
	value = colon + 1;
	while (isspace((unsigned char)*value))
		value++;
	for (end = value + strlen(value);
	     end > value && isspace((unsigned char)end[-1]); end--)
		end[-1] = '\0';
	if (*key == '\0' || strpbrk(key, " \t") != NULL) {
		return err_set(err, "%s:%d: bad key '%s'", name, lineno, key);
	}
	if (cfg_is_partition_key(key)) {
		if (*value != '/') {
			return err_set(err,
			    "%s:%d: key '%s': "
			    "bad value '%s' (expected an absolute path)",
			    name, lineno, key, value);
		}
	} else if ((k = cfg_key_find_service(key)) == NULL) {
		cfg_warn(warn_r, name, lineno, key);
		return 0;
	} else if (cfg_check_value(k, value) < 0) {
		return err_set(err,
		    "%s:%d: key '%s': bad value '%s' (expected %s)", name,
		    lineno, key, value, cfg_type_name(k->type));
	}
	cfg_set_put(set, key, value);
	return 0;
}

int
cfg_load_text(const char *name, const char *text, size_t len,
    struct buf *warn_r, struct err *err)
{
	struct cfg_set set = { NULL, 0, NULL };
	char *copy = xstrndup(text, len), *line, *next;
	int lineno = 0;

	if (memchr(text, '\0', len) != NULL) {
		err_set(err, "%s: contains a NUL byte", name);
		goto fail;
	}
	for (line = copy; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		line[strcspn(line, "\r")] = '\0';
		if (cfg_parse_line(&set, name, lineno, line, warn_r, err) < 0)
			goto fail;
	}
	free(copy);
	set.path = xstrdup(name);
	cfg_set_free(&cfg_cur);
	cfg_cur = set;
	return 0;
fail:
	free(copy);
	cfg_set_free(&set);
	return -1;
}

int
cfg_load_file(const char *path, struct buf *warn_r, struct err *err)
{
	struct buf text = BUF_INIT;
	char *p;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return err_set(err, "%s: cannot open: %s", path,
		    strerror(errno));
	}
	buf_set_max(&text, CFG_MAX_FILE);
	for (;;) {
		if ((p = buf_reserve(&text, 8192)) == NULL) {
			err_set(err, "%s: larger than %d bytes", path,
			    CFG_MAX_FILE);
			goto fail;
		}
		n = read(fd, p, 8192);
		if (n < 0) {
			err_set(err, "%s: read: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		text.len += (size_t)n;
	}
	fd_close(fd);
	r = cfg_load_text(path, buf_cstr(&text), text.len, warn_r, err);
	buf_free(&text);
	return r;
fail:
	close(fd);
	buf_free(&text);
	return -1;
}

const char *
cfg_path(void)
{
	return cfg_cur.path;
}

int
cfg_set(const char *key, const char *value, struct err *err)
{
	const struct cfg_key *k = cfg_key_find_service(key);

	if (k == NULL && !cfg_is_partition_key(key)) {
		return err_set(err, "unknown key '%s'", key);
	}
	if (k != NULL && cfg_check_value(k, value) < 0) {
		return err_set(err, "key '%s': bad value '%s' (expected %s)",
		    key, value, cfg_type_name(k->type));
	}
	cfg_set_put(&cfg_cur, key, value);
	return 0;
}

static const char *
cfg_lookup(const char *key, const struct cfg_key **k_r)
{
	size_t i;

	*k_r = cfg_key_find(key);
	if (*k_r == NULL)
		log_panic("cfg lookup of unknown key '%s'", key);
	for (i = 0; i < cfg_cur.n; i++)
		if (strcmp(cfg_cur.ents[i].key, key) == 0)
			return cfg_cur.ents[i].value;
	return (*k_r)->def;
}

/* cfg_lookup_service - "<service>_<key>" when set, else key */
static const char *
cfg_lookup_service(const char *service, const char *key,
    const struct cfg_key **k_r)
{
	char name[256];
	size_t i;

	if (service != NULL &&
	    (size_t)snprintf(name, sizeof(name), "%s_%s", service, key) <
		sizeof(name)) {
		for (i = 0; i < cfg_cur.n; i++) {
			if (strcmp(cfg_cur.ents[i].key, name) != 0)
				continue;
			*k_r = cfg_key_find(key);
			return cfg_cur.ents[i].value;
		}
	}
	return cfg_lookup(key, k_r);
}

const char *
cfg_service_str(const char *service, const char *key)
{
	const struct cfg_key *k;

	return cfg_lookup_service(service, key, &k);
}

int
cfg_service_bool(const char *service, const char *key)
{
	const struct cfg_key *k;
	const char *v = cfg_lookup_service(service, key, &k);
	int b = 0;

	if (v != NULL && cfg_parse_bool(v, &b) < 0)
		log_panic("default of '%s' is not a boolean", key);
	return b;
}

const char *
cfg_str(const char *key)
{
	const struct cfg_key *k;

	return cfg_lookup(key, &k);
}

/* cfg_num - key's value as type t; loading checked every value, so a
 * failure here is a default in the table that does not parse */
static long long
cfg_num(const char *key, enum cfg_type t)
{
	const struct cfg_key *k;
	const char *v = cfg_lookup(key, &k);
	long long ll = 0;

	if (v != NULL && cfg_parse_as(t, k->unit, v, &ll) < 0)
		log_panic("default of '%s' is not %s", key, cfg_type_name(t));
	return ll;
}

long long
cfg_int(const char *key)
{
	return cfg_num(key, CFG_T_INT);
}

int
cfg_bool(const char *key)
{
	return cfg_num(key, CFG_T_BOOL) != 0;
}

long long
cfg_duration_ms(const char *key)
{
	return cfg_num(key, CFG_T_DURATION);
}

long long
cfg_size(const char *key)
{
	return cfg_num(key, CFG_T_SIZE);
}

const char *
cfg_partition_path(const char *name)
{
	char key[256];
	size_t i;

	snprintf(key, sizeof(key), "partition-%s", name);
	for (i = 0; i < cfg_cur.n; i++)
		if (strcmp(cfg_cur.ents[i].key, key) == 0)
			return cfg_cur.ents[i].value;
	return NULL;
}

const char *
cfg_str_any(const char *key)
{
	const struct cfg_key *k;

	if (cfg_key_find(key) == NULL)
		return NULL;
	return cfg_lookup(key, &k);
}

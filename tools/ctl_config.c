/*
 * ctl_config - berthctl config: the effective imapd.conf, as doveconf -n
 * prints Dovecot's: the keys whose value is not the default (-a: every
 * key), then what looks wrong (unknown keys, values that do not parse,
 * directories that do not exist).  Exit 1 when anything looks wrong.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "ctl.h"
#include "xalloc.h"

static int
ctl_config_known(const char *key)
{
	const struct cfg_key *k;

	for (k = cfg_keys; k->name != NULL; k++)
		if (strcmp(k->name, key) == 0)
			return 1;
	return 0;
}

/* ctl_config_file_keys - keys of the file that the table does not list
 * (partition-*, sasl_*, per-service keys), as written */
static void
ctl_config_file_keys(const char *path)
{
	char line[4096], *p, *v;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '#' || *p == '\0' || (v = strchr(p, ':')) == NULL)
			continue;
		*v++ = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		if (!ctl_config_known(p))
			(void)printf("%s: %s\n", p, v);
	}
	fclose(f);
}

static int
ctl_config_dir(const char *what, const char *path)
{
	struct stat sb;

	if (path == NULL)
		return 0;
	if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		(void)fprintf(stderr,
		    "berthctl: config: %s %s is not a directory\n", what, path);
		return 1;
	}
	return 0;
}

int
ctl_config(int argc, char **argv)
{
	const struct cfg_key *k;
	const char *v;
	struct err cerr;
	char *path;
	struct buf warn = BUF_INIT;
	int all = argc > 1 && strcmp(argv[1], "-a") == 0, bad = 0;

	if (argc > 1 && !all)
		return ctl_usage_error("config", "unknown option %s", argv[1]);
	path = xstrdup(cfg_path());
	/* again, to collect the warnings srv_init logged */
	if (cfg_load_file(path, &warn, &cerr) < 0) {
		free(path);
		return ctl_error("config: %s", cerr.msg);
	}
	(void)printf("# %s\n", path);
	for (k = cfg_keys; k->name != NULL; k++) {
		v = cfg_str(k->name);
		if (all ||
		    (v != NULL && (k->def == NULL || strcmp(v, k->def) != 0)))
			(void)printf("%s: %s\n", k->name, v ? v : "");
	}
	ctl_config_file_keys(path);
	(void)fflush(stdout); /* checked when the command ends */
	if (warn.len > 0) {
		(void)fprintf(stderr, "berthctl: config: %.*s%s", (int)warn.len,
		    warn.data, warn.data[warn.len - 1] == '\n' ? "" : "\n");
		bad = 1;
	}
	bad |= ctl_config_dir("configdirectory", cfg_str("configdirectory"));
	if (cfg_partition_path(cfg_str("defaultpartition")) == NULL) {
		(void)fprintf(stderr, "berthctl: config: no partition-%s\n",
		    cfg_str("defaultpartition"));
		bad = 1;
	} else {
		bad |= ctl_config_dir("partition-default",
		    cfg_partition_path(cfg_str("defaultpartition")));
	}
	buf_free(&warn);
	free(path);
	return bad;
}

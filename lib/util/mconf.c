/*
 * mconf - parse master.conf into entries.  Knows nothing of processes.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "fd.h"
#include "mconf.h"
#include "xalloc.h"

struct mconf_lex {
	const char *name;
	const char *p, *end;
	int line;
	struct err *err;
};

static const char *mconf_sections[] = { "START", "SERVICES", "EVENTS",
	"DAEMON" };

const char *
mconf_section_name(enum mconf_section s)
{
	return mconf_sections[s];
}

/* mconf_skip - skip blanks, newlines and comments */
static void
mconf_skip(struct mconf_lex *lx)
{
	while (lx->p < lx->end) {
		if (*lx->p == '\n') {
			lx->line++;
			lx->p++;
		} else if (isspace((unsigned char)*lx->p)) {
			lx->p++;
		} else if (*lx->p == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else {
			break;
		}
	}
}

/* mconf_word - a bare word of [A-Za-z0-9_.-]; NULL if none */
static char *
mconf_word(struct mconf_lex *lx)
{
	const char *s = lx->p;

	while (lx->p < lx->end &&
	    (isalnum((unsigned char)*lx->p) || *lx->p == '_' || *lx->p == '-' ||
		*lx->p == '.'))
		lx->p++;
	return lx->p > s ? xstrndup(s, (size_t)(lx->p - s)) : NULL;
}

/* mconf_value - after '=': "quoted" or a bare run up to blank */
static char *
mconf_value(struct mconf_lex *lx)
{
	const char *s;

	if (lx->p < lx->end && *lx->p == '"') {
		s = ++lx->p;
		while (lx->p < lx->end && *lx->p != '"' && *lx->p != '\n')
			lx->p++;
		if (lx->p >= lx->end || *lx->p != '"')
			return NULL;
		return xstrndup(s, (size_t)(lx->p++ - s));
	}
	s = lx->p;
	while (lx->p < lx->end && !isspace((unsigned char)*lx->p) &&
	    *lx->p != '}' && *lx->p != '#')
		lx->p++;
	return xstrndup(s, (size_t)(lx->p - s));
}

static int
mconf_fail(struct mconf_lex *lx, const char *ent, const char *key,
    const char *what)
{
	if (ent && key)
		err_set(lx->err, "%s:%d: entry '%s': key '%s': %s", lx->name,
		    lx->line, ent, key, what);
	else if (ent)
		err_set(lx->err, "%s:%d: entry '%s': %s", lx->name, lx->line,
		    ent, what);
	else
		err_set(lx->err, "%s:%d: %s", lx->name, lx->line, what);
	return -1;
}

/* mconf_int - a count >= 0; -1 ("no limit", as in Cyrus) when allow_neg */
static int
mconf_int(const char *v, int allow_neg, int *out)
{
	long long ll;

	if (allow_neg && strcmp(v, "-1") == 0) {
		*out = -1;
		return 0;
	}
	if (cfg_parse_int(v, &ll) < 0 || ll > 1000000000)
		return -1;
	*out = (int)ll;
	return 0;
}

/* mconf_set - apply key=value to e; -1 with message */
static int
mconf_set(struct mconf_lex *lx, struct mconf_entry *e, const char *key,
    char *val)
{
	int *ip = NULL, b;

	if (strcmp(key, "cmd") == 0) {
		free(e->cmd);
		e->cmd = val;
		return *e->cmd ? 0 : mconf_fail(lx, e->name, key, "empty");
	}
	if (strcmp(key, "listen") == 0) {
		free(e->listen);
		e->listen = val;
		return *e->listen ? 0 : mconf_fail(lx, e->name, key, "empty");
	}
	if (strcmp(key, "handoff") == 0) {
		free(e->handoff);
		e->handoff = val;
		return *e->handoff == '/'
		    ? 0
		    : mconf_fail(lx, e->name, key, "must be an absolute path");
	}
	if (strcmp(key, "proto") == 0) {
		free(val);
		return 0;
	}
	if (strcmp(key, "babysit") == 0) {
		if (cfg_parse_bool(val, &b) < 0) {
			free(val);
			return mconf_fail(lx, e->name, key,
			    "bad value (expected yes or no)");
		}
		e->babysit = b;
		free(val);
		return 0;
	}
	if (strcmp(key, "prefork") == 0)
		ip = &e->prefork;
	else if (strcmp(key, "maxchild") == 0)
		ip = &e->maxchild;
	else if (strcmp(key, "maxforkrate") == 0)
		ip = &e->maxforkrate;
	else if (strcmp(key, "maxfds") == 0)
		ip = &e->maxfds;
	else if (strcmp(key, "maxidle") == 0)
		ip = &e->maxidle;
	else if (strcmp(key, "period") == 0)
		ip = &e->period;
	else if (strcmp(key, "at") == 0)
		ip = &e->at;
	if (ip == NULL) {
		free(val);
		return mconf_fail(lx, e->name, key, "unknown key");
	}
	if (mconf_int(val, ip == &e->maxchild, ip) < 0 ||
	    (ip == &e->at && (*ip / 100 > 23 || *ip % 100 > 59)) ||
	    (ip == &e->maxidle && (*ip < 1 || *ip > MCONF_MAXIDLE_MAX))) {
		err_set(lx->err, "%s:%d: entry '%s': key '%s': bad value '%s'",
		    lx->name, lx->line, e->name, key, val);
		free(val);
		return -1;
	}
	free(val);
	return 0;
}

/* mconf_check - required keys per section */
static int
mconf_check(struct mconf_lex *lx, struct mconf_entry *e)
{
	int line = lx->line, r = 0;

	lx->line = e->line;
	if (e->cmd == NULL)
		r = mconf_fail(lx, e->name, "cmd", "missing");
	else if (e->section == MCONF_SERVICES && e->listen == NULL)
		r = mconf_fail(lx, e->name, "listen", "missing");
	else if (e->section == MCONF_EVENTS && e->period == 0 && e->at < 0)
		r = mconf_fail(lx, e->name, "period", "missing (or 'at')");
	else if (e->maxchild > 0 && e->prefork > e->maxchild)
		r = mconf_fail(lx, e->name, "prefork", "larger than maxchild");
	lx->line = line;
	return r;
}

static void
mconf_entry_free(struct mconf_entry *e)
{
	free(e->name);
	free(e->cmd);
	free(e->listen);
	free(e->handoff);
}

/* mconf_entry - parse one entry's name and key=value pairs */
static int
mconf_entry(struct mconf_lex *lx, struct mconf *mc, enum mconf_section sec)
{
	struct mconf_entry e;
	char *key, *val;
	size_t i;

	memset(&e, 0, sizeof(e));
	e.section = sec;
	e.maxchild = 100;
	e.maxidle = MCONF_MAXIDLE_DEFAULT;
	e.at = -1;
	e.line = lx->line;
	if ((e.name = mconf_word(lx)) == NULL)
		return mconf_fail(lx, NULL, NULL, "expected an entry name");
	for (i = 0; i < mc->n; i++)
		if (strcmp(mc->ents[i].name, e.name) == 0) {
			mconf_fail(lx, e.name, NULL, "duplicate entry name");
			goto fail;
		}
	for (;;) {
		mconf_skip(lx);
		if (lx->p >= lx->end || *lx->p == '}')
			break;
		key = mconf_word(lx);
		if (key == NULL || lx->p >= lx->end || *lx->p != '=') {
			if (key != NULL &&
			    (lx->p >= lx->end ||
				isspace((unsigned char)*lx->p))) {
				/* a new entry starts: rewind over its name */
				lx->p -= strlen(key);
				free(key);
				break;
			}
			mconf_fail(lx, e.name, key, "expected key=value");
			free(key);
			goto fail;
		}
		lx->p++;
		if ((val = mconf_value(lx)) == NULL) {
			mconf_fail(lx, e.name, key, "unterminated quote");
			free(key);
			goto fail;
		}
		if (mconf_set(lx, &e, key, val) < 0) {
			free(key);
			goto fail;
		}
		free(key);
	}
	if (mconf_check(lx, &e) < 0)
		goto fail;
	mc->ents = xreallocarray(mc->ents, mc->n + 1, sizeof(*mc->ents));
	mc->ents[mc->n++] = e;
	return 0;
fail:
	mconf_entry_free(&e);
	return -1;
}

int
mconf_parse(const char *name, const char *text, size_t len, struct mconf *mc,
    struct err *err)
{
	struct mconf_lex lx = { name, text, text + len, 1, err };
	enum mconf_section sec;
	char *word;
	size_t i;

	memset(mc, 0, sizeof(*mc));
	for (;;) {
		mconf_skip(&lx);
		if (lx.p >= lx.end)
			return 0;
		if ((word = mconf_word(&lx)) == NULL) {
			mconf_fail(&lx, NULL, NULL, "expected a section name");
			goto fail;
		}
		for (i = 0; i < 4; i++)
			if (strcasecmp(word, mconf_sections[i]) == 0)
				break;
		if (i == 4) {
			err_set(err, "%s:%d: unknown section '%s'", name,
			    lx.line, word);
			free(word);
			goto fail;
		}
		free(word);
		sec = (enum mconf_section)i;
		mconf_skip(&lx);
		if (lx.p >= lx.end || *lx.p != '{') {
			mconf_fail(&lx, NULL, NULL, "expected '{'");
			goto fail;
		}
		lx.p++;
		for (;;) {
			mconf_skip(&lx);
			if (lx.p >= lx.end) {
				mconf_fail(&lx, NULL, NULL, "missing '}'");
				goto fail;
			}
			if (*lx.p == '}') {
				lx.p++;
				break;
			}
			if (mconf_entry(&lx, mc, sec) < 0)
				goto fail;
		}
	}
fail:
	mconf_free(mc);
	return -1;
}

int
mconf_load(const char *path, struct mconf *mc, struct err *err)
{
	struct buf b = BUF_INIT;
	char chunk[8192];
	ssize_t n;
	int fd, r;

	memset(mc, 0, sizeof(*mc));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return err_set(err, "%s: cannot open: %s", path,
		    strerror(errno));
	while (
	    (n = read(fd, chunk, sizeof(chunk))) > 0 && b.len < MCONF_MAX_FILE)
		buf_append(&b, chunk, (size_t)n);
	fd_close(fd);
	if (n < 0)
		r = err_set(err, "%s: read: %s", path, strerror(errno));
	else if (b.len >= MCONF_MAX_FILE)
		r = err_set(err, "%s: larger than %d bytes", path,
		    MCONF_MAX_FILE);
	else
		r = 0;
	if (r < 0) {
		buf_free(&b);
		return r;
	}
	r = mconf_parse(path, buf_cstr(&b), b.len, mc, err);
	buf_free(&b);
	return r;
}

void
mconf_free(struct mconf *mc)
{
	size_t i;

	for (i = 0; i < mc->n; i++)
		mconf_entry_free(&mc->ents[i]);
	free(mc->ents);
	mc->ents = NULL;
	mc->n = 0;
}

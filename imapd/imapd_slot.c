/*
 * imapd_slot - caps the workers that one user, and one client address,
 * can hold while a literal too large for idled is read (after login: a
 * large APPEND).  Such a session cannot be parked (idled holds at most
 * SNAP_MAX_PENDING bytes of an unfinished command), so a client that
 * sends the start of a big literal and then trickles or stops would keep
 * a worker each; with the caps, one account or one address holds at most
 * maxliteral_workers_user or maxliteral_workers_addr workers, and the rest
 * of its uploads are refused before their literal is read.
 *
 * A slot is an flock(2) on one of N files under
 * <configdirectory>/slots, named after the user or the address
 * (lockslot.c): the kernel counts them across all workers and drops a
 * dead worker's at once, with no daemon to ask.  A file lasts while it
 * is held: the worker unlinks it as it lets go, and master removes those
 * of workers that died holding one when it starts.
 *
 * Does not decide when a slot is needed (imapd_session.c does), and never
 * blocks: a slot is free now or the upload is refused.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cfg.h"
#include "imapd.h"
#include "lockslot.h"
#include "log.h"

#define SLOT_NAME_MAX 96

/* slot_name - a file-name-safe form of what: itself when it is short and
 * plain, else a 64-bit FNV-1a hash of it */
static void
slot_name(const char *what, char *out, size_t size)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i, n = strlen(what);
	int plain = n > 0 && n <= SLOT_NAME_MAX && what[0] != '.';

	for (i = 0; i < n && plain; i++)
		plain = strchr("abcdefghijklmnopqrstuvwxyz"
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:@_+-",
			    what[i]) != NULL;
	if (plain) {
		(void)snprintf(out, size, "%s", what);
		return;
	}
	for (i = 0; i < n; i++) {
		h ^= (unsigned char)what[i];
		h *= 1099511628211ULL;
	}
	(void)snprintf(out, size, "#%016llx", (unsigned long long)h);
}

int
imapd_slot_take(struct imap_session *s, const char **limit_r)
{
	static const char *const keys[2] = { "maxliteral_workers_user",
		"maxliteral_workers_addr" };
	const char *what[2] = { s->user, s->addr };
	char dir[4096], name[SLOT_NAME_MAX + 24];
	long long max;
	int i;

	if (s->slot_fd[0] >= 0 || s->slot_fd[1] >= 0)
		return 0;
	/* fits: configdirectory is at most CFG_CONFDIR_MAX */
	(void)snprintf(dir, sizeof(dir), "%s/slots",
	    cfg_str("configdirectory"));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_warn("cannot make %s: %m; uploads not capped", dir);
		return 0;
	}
	for (i = 0; i < 2; i++) {
		if ((max = cfg_int(keys[i])) <= 0)
			continue; /* no cap */
		if (max > 1000)
			max = 1000;
		name[0] = i == 0 ? 'u' : 'a';
		name[1] = '.';
		slot_name(what[i], name + 2, sizeof(name) - 2);
		s->slot_fd[i] =
		    lockslot_take(dir, name, (int)max, &s->slot_path[i]);
		if (s->slot_fd[i] >= 0)
			continue;
		if (errno != 0) {
			/* the file system, not the client: let it through */
			log_warn("upload slot under %s: %m; not capped", dir);
			continue;
		}
		imapd_slot_release(s);
		*limit_r = keys[i];
		return -1;
	}
	return 0;
}

void
imapd_slot_release(struct imap_session *s)
{
	int i;

	for (i = 0; i < 2; i++)
		lockslot_release(&s->slot_fd[i], &s->slot_path[i]);
}

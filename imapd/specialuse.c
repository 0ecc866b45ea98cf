/*
 * specialuse - special-use mailboxes (RFC 6154): \Archive, \Drafts,
 * \Junk, \Sent and \Trash, kept in the mailbox record's use bits (so
 * they follow a rename), set by CREATE (USE (...)) and, at a user's
 * first login, on the mailboxes the configuration names (Cyrus's
 * xlist-<use> keys; an empty name creates none).
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "imapd.h"
#include "log.h"

static const struct {
	const char *attr, *key;
	uint32_t bit;
} specialuse_tab[] = {
	{ "\\Archive", "xlist-archive", 0x0100 },
	{ "\\Drafts", "xlist-drafts", 0x0200 },
	{ "\\Junk", "xlist-junk", 0x0400 },
	{ "\\Sent", "xlist-sent", 0x0800 },
	{ "\\Trash", "xlist-trash", 0x1000 },
};

#define SPECIALUSE_N (sizeof(specialuse_tab) / sizeof(specialuse_tab[0]))

uint32_t
specialuse_bit(const char *attr)
{
	size_t i;

	for (i = 0; i < SPECIALUSE_N; i++)
		if (strcasecmp(attr, specialuse_tab[i].attr) == 0)
			return specialuse_tab[i].bit;
	return 0;
}

void
specialuse_put(struct buf *out, uint32_t attrs)
{
	size_t i;

	for (i = 0; i < SPECIALUSE_N; i++)
		if (attrs & specialuse_tab[i].bit)
			buf_printf(out, " %s", specialuse_tab[i].attr);
}

void
specialuse_autocreate(struct imap_session *s)
{
	const char *name, *err;
	size_t i;
	int r;

	if (!cfg_bool("specialuse_autocreate"))
		return;
	for (i = 0; i < SPECIALUSE_N; i++) {
		name = cfg_str(specialuse_tab[i].key);
		if (name == NULL || *name == '\0')
			continue;
		r = store_mbox_create(s->st, s->user, name, &err);
		if ((r == 0 || r == STORE_EEXIST) &&
		    store_mbox_set_use(s->st, s->user, name,
			specialuse_tab[i].bit, &err) == 0)
			continue;
		log_warn("autocreate user=%s mailbox=%s use=%s: %s", s->user,
		    name, specialuse_tab[i].attr, err);
	}
}

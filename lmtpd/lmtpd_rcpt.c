/*
 * lmtpd_rcpt - from an address in MAIL or RCPT to a user of the store and
 * a folder.
 *
 * A recipient is known when the store has an INBOX for its user (as in
 * Cyrus: the mailbox list is the user list, and it needs no password
 * backend; berthctl user add creates the INBOX, so does the first login).
 * "user+detail@domain" delivers to the user's mailbox "detail" when it
 * exists and is selectable, else (with lmtp_fuzzy_mailbox_match) to the
 * closest one, else to INBOX.  The user part is lower-cased unless
 * lmtp_downcase_rcpt is off (the detail never is); the domain is dropped
 * (virtdomains: off) or kept as part of the user name (virtdomains:
 * userid, unless it is the defaultdomain), and the result must pass the
 * user-name rule (uname.h).  There are no mailbox ACLs yet: "the user may
 * post there" means the mailbox is the user's own.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "lmtpd.h"
#include "xalloc.h"

#define LMTP_MAX_ADDR 320

char *
lmtp_path_parse(const char **pp)
{
	const char *p = *pp, *start;
	int quoted = 0;

	if (*p != '<')
		return NULL;
	p++;
	/* an obsolete source route "@a,@b:" is dropped (RFC 5321 C) */
	if (*p == '@') {
		const char *colon = strchr(p, ':');

		if (colon == NULL)
			return NULL;
		p = colon + 1;
	}
	for (start = p; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return NULL;
		if (quoted && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && (*p == '>' || *p == '<' || *p == ' '))
			break;
	}
	if (*p != '>' || p - start > LMTP_MAX_ADDR)
		return NULL;
	*pp = p + 1;
	return xstrndup(start, (size_t)(p - start));
}

/* lmtp_unquote - a quoted local part without its quotes and escapes */
static void
lmtp_unquote(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (*s == '"')
			continue;
		if (*s == '\\' && s[1] != '\0')
			s++;
		*w++ = *s;
	}
	*w = '\0';
}

/* lmtp_fuzzy_eq - equal but for case, white space, and '.' for '/' */
static int
lmtp_fuzzy_eq(const char *a, const char *b)
{
	for (;;) {
		while (isspace((unsigned char)*a))
			a++;
		while (isspace((unsigned char)*b))
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (tolower((unsigned char)(*a == '.' ? '/' : *a)) !=
		    tolower((unsigned char)(*b == '.' ? '/' : *b)))
			return 0;
		a++;
		b++;
	}
}

struct lmtp_fuzzy {
	const char *want;
	char *found;
};

static int
lmtp_fuzzy_cb(const char *name, const struct store_mbox *mb, void *ctx)
{
	struct lmtp_fuzzy *f = ctx;

	if ((mb->attrs & STORE_MBOX_NOSELECT) || !lmtp_fuzzy_eq(name, f->want))
		return 0;
	f->found = xstrdup(name);
	return 1;
}

/* lmtp_rcpt_folder - the selectable mailbox detail names, or the closest
 * (fuzzy: then its parents); NULL for INBOX */
static char *
lmtp_rcpt_folder(struct lmtp_session *s, const char *user, const char *detail)
{
	struct store_mbox mb;
	struct lmtp_fuzzy f;
	const char *err;
	char *want, *slash;

	if (strcasecmp(detail, "INBOX") == 0)
		return NULL;
	if (store_mbox_get(s->st, user, detail, &mb, &err) == 0 &&
	    !(mb.attrs & STORE_MBOX_NOSELECT))
		return xstrdup(detail);
	if (!cfg_bool("lmtp_fuzzy_mailbox_match"))
		return NULL;
	want = xstrdup(detail);
	f.found = NULL;
	for (;;) {
		f.want = want;
		if (store_mbox_list(s->st, user, lmtp_fuzzy_cb, &f, &err) < 0 ||
		    f.found != NULL)
			break;
		if ((slash = strrchr(want, '/')) == NULL &&
		    (slash = strrchr(want, '.')) == NULL)
			break;
		*slash = '\0';
	}
	free(want);
	if (f.found != NULL && strcmp(f.found, "INBOX") == 0) {
		free(f.found);
		f.found = NULL;
	}
	return f.found;
}

/* lmtp_rcpt_user - the user name of local@domain; 0, or -1 (*why_r) */
static int
lmtp_rcpt_user(char *local, char *domain, char *user, const char **why_r)
{
	const char *vd = cfg_str("virtdomains"), *dd = cfg_str("defaultdomain");
	char name[2 * LMTP_MAX_ADDR];
	char *p;

	if (cfg_bool("lmtp_downcase_rcpt"))
		for (p = local; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	if (domain != NULL)
		for (p = domain; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	if (domain != NULL && vd != NULL &&
	    (strcasecmp(vd, "userid") == 0 || strcasecmp(vd, "on") == 0) &&
	    (dd == NULL || strcasecmp(domain, dd) != 0))
		snprintf(name, sizeof(name), "%s@%s", local, domain);
	else
		snprintf(name, sizeof(name), "%s", local);
	if (uname_canon(name, strlen(name), user, UNAME_MAX + 1, why_r) < 0)
		return -1;
	return 0;
}

int
lmtp_rcpt_resolve(struct lmtp_session *s, const char *addr, struct lmtp_rcpt *r,
    const char **why_r)
{
	char local[LMTP_MAX_ADDR + 1], *domain, *detail;
	struct store_mbox mb;
	const char *err;
	int res;

	snprintf(local, sizeof(local), "%s", addr);
	if ((domain = strrchr(local, '@')) != NULL)
		*domain++ = '\0';
	lmtp_unquote(local);
	if ((detail = strchr(local, '+')) != NULL)
		*detail++ = '\0';
	if (lmtp_rcpt_user(local, domain, r->user, why_r) < 0)
		return -1;
	res = store_mbox_get(s->st, r->user, "INBOX", &mb, &err);
	if (res == STORE_ENOENT) {
		*why_r = "no such user";
		return -1;
	}
	if (res != 0) {
		*why_r = err;
		return -2;
	}
	if (detail != NULL && *detail != '\0')
		r->folder = lmtp_rcpt_folder(s, r->user, detail);
	return 0;
}

int
lmtp_rcpt_quota(struct lmtp_session *s, const char *user, uint64_t size,
    const char **why_r)
{
	struct store_quota q;
	uint64_t room;

	if (store_quota_get(s->st, user, &q, why_r) != 0)
		return -2;
	if (q.storage_limit != STORE_QUOTA_NONE) {
		room = q.storage_limit * 1024;
		if (size > room) {
			*why_r = "message larger than the storage quota";
			return LMTP_QUOTA_TOOBIG;
		}
		/* full is full, whatever the message's size */
		if (q.storage + (size ? size : 1) > room) {
			*why_r = "over storage quota";
			return LMTP_QUOTA_FULL;
		}
	}
	if (q.message_limit != STORE_QUOTA_NONE &&
	    q.messages + 1 > q.message_limit) {
		*why_r = "over message quota";
		return LMTP_QUOTA_FULL;
	}
	return 0;
}

void
lmtp_quota_reply(struct lmtp_session *s, int res, const char *addr)
{
	if (res == LMTP_QUOTA_TOOBIG)
		lmtp_reply(s,
		    "552 5.2.2 <%s>: message exceeds the "
		    "recipient's quota",
		    addr);
	else if (res == LMTP_QUOTA_FULL)
		lmtp_reply(s, "452 4.2.2 <%s>: mailbox full (over quota)",
		    addr);
	else
		lmtp_reply(s,
		    "451 4.3.0 <%s>: temporary failure, try again "
		    "later",
		    addr);
}

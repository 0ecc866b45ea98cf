/*
 * imapurl - the IMAP URLs of RFC 5092 that name a message or a part of
 * one (imessagepart), as CATENATE (RFC 4469) takes them:
 *
 *   imap://[user[;AUTH=type]@]host[:port]/mailbox[;UIDVALIDITY=n]/;UID=n
 *       [/;SECTION=section][/;PARTIAL=offset[.length]][urlauth]
 *   //host/... (a network path), /mailbox... (an absolute path), and
 *   ;UID=n... (a relative path: the mailbox of the base, here the
 *   selected one)
 *
 * The parser checks the grammar only (keywords in any case, percent
 * escapes undone, numbers in range) and says what the URL names; whether
 * it names something the caller may read is the caller's business.  The
 * mailbox comes out as the URL carries it, UTF-8 (RFC 5092 3.2): the
 * caller converts it to the stored form.  Not here: message lists
 * (";UID" absent), searches ('?'), URLAUTH verification (an URLAUTH part
 * is only recognised and reported).
 */
#ifndef BERTH_IMAPURL_H
#define BERTH_IMAPURL_H

#include <stddef.h>
#include <stdint.h>

#define IMAPURL_MAX_LEN 8192 /* longer URLs are refused */

struct imapurl {
	char *user;	      /* NULL: none given */
	char *host;	      /* NULL: a path without a server */
	unsigned port;	      /* 0: none given */
	char *mailbox;	      /* NULL: the base's (relative ";UID=") */
	uint32_t uidvalidity; /* 0: none given */
	uint32_t uid;	      /* nz-number */
	char *section;	      /* NULL: the whole message */
	int partial;	      /* ;PARTIAL= given */
	uint32_t poff;	      /* its offset */
	uint32_t plen;	      /* its length, 0: to the end */
	int urlauth;	      /* carries ;EXPIRE= or ;URLAUTH= */
};

/*
 * imapurl_parse - s[0..len) into *u (every string malloc'ed, NUL-free,
 * percent escapes undone); 0, or -1 with *error_r a static reason and *u
 * holding nothing to free.  Free with imapurl_free.
 */
int imapurl_parse(const char *s, size_t len, struct imapurl *u,
    const char **error_r);
void imapurl_free(struct imapurl *u);

#endif

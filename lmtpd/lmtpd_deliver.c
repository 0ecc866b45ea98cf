/*
 * lmtpd_deliver - a received message into the store: one reply and one
 * log line per accepted recipient, in RCPT order (RFC 2033 4.2).
 *
 * No 250 before the recipient's copy is durable: the transaction that
 * holds it has committed and the users' journal lines are durable (one
 * flush of the commit log for all of them, shared with concurrent
 * writers; with
 * the message's bytes in an F line when it is small; a large file is
 * fsync'd by store_spool_commit), store_deliver.  All recipients share
 * one file; their records go in as few transactions as the store allows
 * (STORE_DELIVER_BATCH per transaction), each recipient's copy wholly in
 * one: a failed transaction is a 451 4.3.0 for its recipients and
 * stores nothing of theirs.  A message over maxmessagesize is a 552
 * 5.3.4 for each; no bounce is ever made here.
 *
 * lmtp_filter is the one place where a per-user filter (Sieve, later)
 * will choose a recipient's folder and flags, or refuse its copy.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "cfg.h"
#include "lmtpd.h"
#include "log.h"
#include "mime.h"
#include "xalloc.h"

#define LMTP_MAX_MSGID 998

/* lmtp_filter - where r's copy goes, with which flags, or a refusal */
static void
lmtp_filter(struct lmtp_session *s, const struct lmtp_rcpt *r, const char *data,
    size_t len, struct lmtp_verdict *v)
{
	(void)s;
	(void)data;
	(void)len;
	memset(v, 0, sizeof(*v));
	v->folder = r->folder;
}

/* lmtp_hdr_len - bytes of data's header, through the empty line */
static size_t
lmtp_hdr_len(const char *data, size_t len)
{
	const char *p = data, *end = data + len, *nl;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (nl == p || (nl == p + 1 && *p == '\r'))
			return (size_t)(nl + 1 - data);
		p = nl + 1;
	}
	return len;
}

/* lmtp_header - field name's value in data's header, trimmed, into b
 * ("" when absent) */
static void
lmtp_header(const char *data, size_t len, const char *name, struct buf *b)
{
	size_t n;

	buf_reset(b);
	if (mime_header_get(data, lmtp_hdr_len(data, len), name, 0, 0, b) < 0)
		buf_reset(b);
	n = b->len;
	while (n > 0 && isspace((unsigned char)b->data[n - 1]))
		n--;
	buf_truncate(b, n > LMTP_MAX_MSGID ? LMTP_MAX_MSGID : n);
	n = 0;
	while (n < b->len && isspace((unsigned char)b->data[n]))
		n++;
	buf_consume(b, n);
}

/* lmtp_queue_id - "id X" in the sending MTA's Received: (the first one
 * after ours), into b; "" when there is none */
static void
lmtp_queue_id(const char *data, size_t len, struct buf *b)
{
	const char *p, *q;
	char id[64];
	size_t n;

	lmtp_header(data, len, "Received", b);
	for (p = buf_cstr(b); *p != '\0'; p = q) {
		while (isspace((unsigned char)*p))
			p++;
		for (q = p; *q && !isspace((unsigned char)*q); q++)
			;
		if (q - p != 2 || strncasecmp(p, "id", 2) != 0)
			continue;
		while (isspace((unsigned char)*q))
			q++;
		for (p = q; *q && !isspace((unsigned char)*q) && *q != ';'; q++)
			;
		n = (size_t)(q - p);
		if (n == 0 || n >= sizeof(id))
			break;
		memcpy(id, p, n);
		id[n] = '\0';
		buf_reset(b);
		buf_puts(b, id);
		return;
	}
	buf_reset(b);
}

/* lmtp_refuse_all - the same refusal for every recipient */
static void
lmtp_refuse_all(struct lmtp_session *s, const char *reply, const char *reason)
{
	size_t i;

	for (i = 0; i < s->nrcpt; i++) {
		log_info("refused session=%s from=<%s> to=<%s> user=%s "
			 "size=%llu reason=%s",
		    s->id, s->from, s->rcpts[i].addr, s->rcpts[i].user,
		    (unsigned long long)s->msg_size, reason);
		lmtp_reply(s, "%s", reply);
	}
}

/* lmtp_result - reply and log line for recipient i */
static void
lmtp_result(struct lmtp_session *s, size_t i, const struct store_rcpt *rc,
    const char *refuse, size_t len, const char *msgid, const char *qid,
    const char *err)
{
	const struct lmtp_rcpt *r = &s->rcpts[i];
	const char *result;
	int quota = 0;

	if (rc->result == STORE_EQUOTA && refuse == NULL) {
		/* which refusal: the message alone, or the room left */
		quota = lmtp_rcpt_quota(s, r->user, len, &err);
		if (quota == 0)
			quota = LMTP_QUOTA_FULL; /* full a moment ago */
		else if (quota < 0)
			quota = -2;
	}
	if (refuse != NULL)
		result = "refused";
	else if (rc->result == 0)
		result = "stored";
	else if (rc->result == STORE_DUP)
		result = "duplicate";
	else if (rc->result == STORE_ENOENT)
		result = "refused";
	else if (quota > 0)
		result = "overquota";
	else
		result = "tempfail";
	log_info("deliver session=%s queue_id=%s from=<%s> to=<%s> user=%s "
		 "mailbox=%s size=%zu msgid=%s result=%s uid=%u%s%s",
	    s->id, qid[0] ? qid : "-", s->from, r->addr, r->user,
	    rc->mailbox ? rc->mailbox : (r->folder ? r->folder : "INBOX"), len,
	    msgid[0] ? msgid : "-", result, rc->uid,
	    refuse || rc->result < 0 ? " reason=" : "",
	    refuse				 ? refuse
		: rc->result == STORE_ENOENT	 ? "no such mailbox"
		: rc->result == -1 || quota != 0 ? err
						 : "");
	if (refuse != NULL)
		lmtp_reply(s, "550 5.7.1 <%s>: %s", r->addr, refuse);
	else if (rc->result == 0)
		lmtp_reply(s, "250 2.0.0 <%s> delivered id=%s.%u", r->addr,
		    s->id, s->ntx);
	else if (rc->result == STORE_DUP)
		lmtp_reply(s,
		    "250 2.0.0 <%s> already delivered (duplicate "
		    "suppressed)",
		    r->addr);
	else if (rc->result == STORE_ENOENT)
		lmtp_reply(s, "550 5.1.1 <%s>: no such mailbox", r->addr);
	else if (quota != 0)
		lmtp_quota_reply(s, quota, r->addr);
	else
		lmtp_reply(s,
		    "451 4.3.0 <%s>: temporary failure, try again "
		    "later",
		    r->addr);
}

/* lmtp_store - the committed spool file into every recipient's mailbox */
static void
lmtp_store(struct lmtp_session *s, const char *guid, const char *data,
    size_t len)
{
	struct store_delivery d;
	struct store_rcpt *rc = xcalloc(s->nrcpt, sizeof(*rc));
	struct store_append *opts = xcalloc(s->nrcpt, sizeof(*opts));
	struct lmtp_verdict *v = xcalloc(s->nrcpt, sizeof(*v));
	struct store_rcpt *todo = xcalloc(s->nrcpt, sizeof(*todo));
	struct buf msgid = BUF_INIT, qid = BUF_INIT;
	const char *err = "";
	size_t i, n = 0;

	lmtp_header(data, len, "Message-ID", &msgid);
	lmtp_queue_id(data + s->trace_len, len - s->trace_len, &qid);
	for (i = 0; i < s->nrcpt; i++) {
		lmtp_filter(s, &s->rcpts[i], data, len, &v[i]);
		if (v[i].refuse != NULL)
			continue;
		opts[i].flags = v[i].flags;
		todo[n].user = s->rcpts[i].user;
		todo[n].name = v[i].folder;
		todo[n].fallback = 1;
		todo[n].opt = &opts[i];
		n++;
	}
	memset(&d, 0, sizeof(d));
	d.guid = guid;
	d.data = data;
	d.len = len;
	d.msgid = buf_cstr(&msgid);
	d.dup_window = cfg_bool("duplicatesuppression")
	    ? cfg_duration_ms("duplicate_window") / 1000
	    : 0;
	if (n > 0 && store_deliver(s->st, &d, todo, n, &err) < 0)
		log_error("deliver failed session=%s: %s", s->id, err);
	for (i = 0, n = 0; i < s->nrcpt; i++) {
		if (v[i].refuse == NULL)
			rc[i] = todo[n++];
		lmtp_result(s, i, &rc[i], v[i].refuse, len, buf_cstr(&msgid),
		    buf_cstr(&qid), err);
	}
	buf_free(&msgid);
	buf_free(&qid);
	free(todo);
	free(v);
	free(opts);
	free(rc);
}

void
lmtp_deliver(struct lmtp_session *s)
{
	char guid[41], reply[128];
	const char *data, *err;
	size_t len;
	int r;

	if (s->too_big) {
		(void)snprintf(reply, sizeof(reply),
		    "552 5.3.4 Message size exceeds "
		    "fixed maximum message size (%lld)",
		    cfg_size("maxmessagesize"));
		lmtp_refuse_all(s, reply, "maxmessagesize");
		return;
	}
	if (s->spool_fd < 0 || s->spool_errno != 0) {
		log_error("spool write failed session=%s: %s", s->id,
		    strerror(s->spool_errno));
		lmtp_refuse_all(s,
		    "451 4.3.0 Temporary failure, try again "
		    "later",
		    "spool write failed");
		return;
	}
	r = store_spool_commit(s->st, s->spool_fd, s->spool_path, guid, &data,
	    &len, &err);
	s->spool_fd = -1; /* consumed, and its file */
	if (r < 0) {
		log_error("spool failed session=%s: %s", s->id, err);
		lmtp_refuse_all(s,
		    "451 4.3.0 Temporary failure, try again "
		    "later",
		    "spool failed");
		return;
	}
	lmtp_store(s, guid, data, len);
	store_msg_unmap(data, len);
}

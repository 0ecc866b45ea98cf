/*
 * check_notify - unit tests for the NOTIFY spec (imapd_notify_spec.c):
 * the parser on a table of good and bad commands, coverage of mailbox
 * names, and the snapshot encoding (round trip, truncation, garbage).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "imapd_notify.h"
#include "notify.h"
#include "xalloc.h"

/* fetch.c renders flags through the session code; not used here */
void imap_flags_put(struct buf *out, uint32_t flags, const char *kw,
    int recent);

void
imap_flags_put(struct buf *out, uint32_t flags, const char *kw, int recent)
{
	(void)out;
	(void)flags;
	(void)kw;
	(void)recent;
}

/* parse - "t NOTIFY <text>" through the tokenizer and notify_spec_parse */
static int
parse(const char *text, struct imap_notify **n_r, int *status_r,
    const char **err_r)
{
	struct imapp_cmd c;
	const char *err;
	char *wire = xasprintf("t NOTIFY%s%s\r\n", *text ? " " : "", text);
	int r;

	ck_assert_msg(imapp_parse(wire, strlen(wire), &c, &err) == 0,
	    "tokenize '%s': %s", text, err);
	r = notify_spec_parse(c.args, c.nargs, n_r, status_r, err_r);
	imapp_cmd_free(&c);
	free(wire);
	return r;
}

static const struct {
	const char *text;
	int result;
} cases[] = {
	/* good */
	{ "NONE", 0 },
	{ "none", 0 },
	{ "SET (selected (MessageNew MessageExpunge))", 0 },
	{ "SET STATUS (personal (MessageNew MessageExpunge))", 0 },
	{ "set (SELECTED-DELAYED (messagenew messageexpunge flagchange))", 0 },
	{ "SET (selected (MessageNew (UID FLAGS "
	  "BODY.PEEK[HEADER.FIELDS (From Subject)]) MessageExpunge))",
	    0 },
	{ "SET (inboxes (MessageNew MessageExpunge FlagChange))", 0 },
	{ "SET (subscribed (MailboxName SubscriptionChange))", 0 },
	{ "SET (subtree INBOX (MailboxName))", 0 },
	{ "SET (subtree (a \"b c\" {1+}\r\nd) (MessageNew MessageExpunge))",
	    0 },
	{ "SET (mailboxes nosuchbox (MessageNew MessageExpunge))", 0 },
	{ "SET (mailboxes (a b) (MessageNew MessageExpunge)) "
	  "(selected NONE) (personal NONE)",
	    0 },
	{ "SET (personal (MailboxName)) (inboxes (MessageNew "
	  "MessageExpunge))",
	    0 },
	/* malformed: BAD */
	{ "", NOTIFY_SPEC_BAD },
	{ "FOO", NOTIFY_SPEC_BAD },
	{ "NONE (selected NONE)", NOTIFY_SPEC_BAD },
	{ "SET", NOTIFY_SPEC_BAD },
	{ "SET STATUS", NOTIFY_SPEC_BAD },
	{ "SET selected", NOTIFY_SPEC_BAD },
	{ "SET ()", NOTIFY_SPEC_BAD },
	{ "SET (selected)", NOTIFY_SPEC_BAD },
	{ "SET (selected ())", NOTIFY_SPEC_BAD },
	{ "SET (selected (MessageNew))", NOTIFY_SPEC_BAD },
	{ "SET (selected (MessageExpunge))", NOTIFY_SPEC_BAD },
	{ "SET (selected (FlagChange))", NOTIFY_SPEC_BAD },
	{ "SET (selected (MessageNew FlagChange))", NOTIFY_SPEC_BAD },
	{ "SET (personal (FlagChange MessageNew))", NOTIFY_SPEC_BAD },
	{ "SET (selected (MessageNew MessageExpunge MailboxName))",
	    NOTIFY_SPEC_BAD },
	{ "SET (selected NONE) (selected-delayed NONE)", NOTIFY_SPEC_BAD },
	{ "SET (personal (MessageNew (UID) MessageExpunge))", NOTIFY_SPEC_BAD },
	{ "SET (selected (MessageNew () MessageExpunge))", NOTIFY_SPEC_BAD },
	{ "SET (selected (MessageNew (BOGUS) MessageExpunge))",
	    NOTIFY_SPEC_BAD },
	{ "SET (selected (MessageNew (UID) (FLAGS) MessageExpunge))",
	    NOTIFY_SPEC_BAD },
	{ "SET (everything (MessageNew MessageExpunge))", NOTIFY_SPEC_BAD },
	{ "SET (subtree (MessageNew MessageExpunge))", NOTIFY_SPEC_BAD },
	{ "SET (subtree () (MessageNew MessageExpunge))", NOTIFY_SPEC_BAD },
	{ "SET (mailboxes ((a)) (MessageNew MessageExpunge))",
	    NOTIFY_SPEC_BAD },
	{ "SET (personal a (MailboxName))", NOTIFY_SPEC_BAD },
	{ "SET (personal \"MailboxName\")", NOTIFY_SPEC_BAD },
	{ "SET (personal (\"MailboxName\"))", NOTIFY_SPEC_BAD },
	{ "SET (personal (MailboxName) extra)", NOTIFY_SPEC_BAD },
	{ "SET (\"personal\" (MailboxName))", NOTIFY_SPEC_BAD },
	/* unsupported events: NO [BADEVENT] */
	{ "SET (personal (MessageNew MessageExpunge AnnotationChange))",
	    NOTIFY_SPEC_BADEVENT },
	{ "SET (personal (MailboxMetadataChange))", NOTIFY_SPEC_BADEVENT },
	{ "SET (personal (ServerMetadataChange))", NOTIFY_SPEC_BADEVENT },
	{ "SET (personal (SomethingNew))", NOTIFY_SPEC_BADEVENT },
	{ "SET (selected (MessageNew MessageExpunge x-ext))",
	    NOTIFY_SPEC_BADEVENT },
	/* malformed wins over unsupported */
	{ "SET (personal (AnnotationChange))", NOTIFY_SPEC_BAD },
};

START_TEST(test_parse_table)
{
	struct imap_notify *n;
	const char *err = NULL;
	int status, r;

	r = parse(cases[_i].text, &n, &status, &err);
	ck_assert_msg(r == cases[_i].result, "'%s': got %d (%s), want %d",
	    cases[_i].text, r, r ? err : "ok", cases[_i].result);
	if (r != 0) {
		ck_assert_ptr_null(n);
		ck_assert(err != NULL && *err != '\0');
	}
	notify_spec_free(&n);
}
END_TEST

START_TEST(test_parse_fields)
{
	struct imap_notify *n;
	const char *err;
	int status;

	ck_assert_int_eq(parse("NONE", &n, &status, &err), 0);
	ck_assert_ptr_null(n);
	ck_assert_int_eq(parse("SET STATUS (selected-delayed (MessageNew "
			       "(UID ENVELOPE) MessageExpunge FlagChange)) "
			       "(subtree (Inbox/x "
			       "work) (MessageNew MessageExpunge)) (personal "
			       "(MailboxName))",
			     &n, &status, &err),
	    0);
	ck_assert_int_eq(status, 1);
	ck_assert_int_eq(n->sel_delayed, 1);
	ck_assert_uint_eq(n->sel_events,
	    NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE | NOTIFY_EV_FLAGS);
	ck_assert_str_eq(n->fetch_text, "(UID ENVELOPE)");
	ck_assert_ptr_nonnull(n->fetch);
	ck_assert_uint_eq(n->ngroups, 2);
	ck_assert_int_eq(n->groups[0].filter, NOTIFY_F_SUBTREE);
	ck_assert_uint_eq(n->groups[0].nnames, 2);
	ck_assert_str_eq(n->groups[0].names[0], "INBOX/x");
	ck_assert_str_eq(n->groups[0].names[1], "work");
	ck_assert_uint_eq(n->list_events, NOTIFY_EV_MAILBOXNAME);
	ck_assert_int_eq(n->track_list, 1);
	ck_assert_int_eq(n->track_subs, 0);
	notify_spec_free(&n);
	ck_assert_ptr_null(n);
	/* only named mailboxes, message events: no list to keep */
	ck_assert_int_eq(parse("SET (mailboxes a (MessageNew MessageExpunge))",
			     &n, &status, &err),
	    0);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(n->track_list, 0);
	ck_assert_uint_eq(n->sel_events, 0);
	notify_spec_free(&n);
}
END_TEST

START_TEST(test_parse_limits)
{
	struct imap_notify *n;
	struct buf b = BUF_INIT;
	const char *err;
	int status, i;

	buf_puts(&b, "SET");
	for (i = 0; i <= NOTIFY_MAX_GROUPS; i++)
		buf_puts(&b, " (inboxes (MessageNew MessageExpunge))");
	ck_assert_int_eq(parse(buf_cstr(&b), &n, &status, &err),
	    NOTIFY_SPEC_LIMIT);
	ck_assert_ptr_nonnull(strstr(err, "limit"));
	buf_reset(&b);
	buf_puts(&b, "SET (mailboxes (");
	for (i = 0; i <= NOTIFY_MAX_NAMES; i++)
		buf_printf(&b, "%sm%d", i ? " " : "", i);
	buf_puts(&b, ") (MessageNew MessageExpunge))");
	ck_assert_int_eq(parse(buf_cstr(&b), &n, &status, &err),
	    NOTIFY_SPEC_LIMIT);
	buf_free(&b);
}
END_TEST

START_TEST(test_covers)
{
	struct imap_notify *n;
	const char *err;
	int status;

	ck_assert_int_eq(parse("SET (inboxes (MessageNew MessageExpunge)) "
			       "(subtree (a b/c) (MailboxName)) (mailboxes x "
			       "(MessageNew "
			       "MessageExpunge FlagChange)) (subscribed "
			       "(SubscriptionChange))",
			     &n, &status, &err),
	    0);
	ck_assert_uint_eq(notify_spec_covers(n, "INBOX", 0),
	    NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE);
	ck_assert_uint_eq(notify_spec_covers(n, "INBOX/sub", 0), 0);
	ck_assert_uint_eq(notify_spec_covers(n, "a", 0), NOTIFY_EV_MAILBOXNAME);
	ck_assert_uint_eq(notify_spec_covers(n, "a/deep/er", 0),
	    NOTIFY_EV_MAILBOXNAME);
	ck_assert_uint_eq(notify_spec_covers(n, "ab", 0), 0);
	ck_assert_uint_eq(notify_spec_covers(n, "b", 0), 0);
	ck_assert_uint_eq(notify_spec_covers(n, "b/c", 1),
	    NOTIFY_EV_MAILBOXNAME | NOTIFY_EV_SUBSCRIPTION);
	ck_assert_uint_eq(notify_spec_covers(n, "x", 0),
	    NOTIFY_EV_NEW | NOTIFY_EV_EXPUNGE | NOTIFY_EV_FLAGS);
	ck_assert_uint_eq(notify_spec_covers(n, "x/y", 0), 0);
	ck_assert_int_eq(n->track_subs, 1);
	notify_spec_free(&n);
	ck_assert_int_eq(parse("SET (subtree \"\" (MailboxName))", &n, &status,
			     &err),
	    0);
	ck_assert_uint_eq(notify_spec_covers(n, "any/thing", 0),
	    NOTIFY_EV_MAILBOXNAME);
	notify_spec_free(&n);
}
END_TEST

/* sample - a spec with a table */
static struct imap_notify *
sample(void)
{
	static const char *names[] = { "INBOX", "INBOX/a", "INBOX/ab", "work",
		"zz" };
	struct imap_notify *n;
	const char *err;
	int status;
	size_t i;

	ck_assert_int_eq(parse("SET (selected-delayed (MessageNew (UID "
			       "FLAGS) MessageExpunge)) (subtree (INBOX "
			       "\"w&AOk-\") (MessageNew "
			       "MessageExpunge FlagChange)) (subscribed "
			       "(SubscriptionChange))",
			     &n, &status, &err),
	    0);
	n->nmb = 5;
	n->mb = xcalloc(n->nmb, sizeof(*n->mb));
	for (i = 0; i < n->nmb; i++) {
		n->mb[i].name = xstrdup(names[i]);
		n->mb[i].id = i == 4 ? 0 : (uint32_t)(i + 7) * 1000003u;
		n->mb[i].subscribed = i % 2;
		n->mb[i].uidvalidity = 1770000000u + (uint32_t)i;
		n->mb[i].messages = (uint32_t)i * 300;
		n->mb[i].uidnext = (uint32_t)i * 301 + 1;
		n->mb[i].modseq = (1ull << 40) + i;
	}
	n->mb[4].uidvalidity = n->mb[4].messages = n->mb[4].uidnext = 0;
	n->mb[4].modseq = 0;
	n->mb[3].attrs = 1;
	n->sel_mboxid = 42;
	n->sel_smodseq = 9999999;
	return n;
}

START_TEST(test_codec_roundtrip)
{
	struct imap_notify *n = sample(), *d;
	struct buf b = BUF_INIT, b2 = BUF_INIT;
	size_t i;

	ck_assert_int_eq(notify_spec_encode(n, &b), 0);
	ck_assert_int_eq(notify_spec_decode(b.data, b.len, &d), 0);
	ck_assert_int_eq(d->sel_delayed, 1);
	ck_assert_uint_eq(d->sel_events, n->sel_events);
	ck_assert_str_eq(d->fetch_text, "(UID FLAGS)");
	ck_assert_ptr_nonnull(d->fetch);
	ck_assert_uint_eq(d->ngroups, 2);
	ck_assert_str_eq(d->groups[0].names[1], "w&AOk-");
	ck_assert_uint_eq(d->sel_mboxid, 42);
	ck_assert_uint_eq(d->sel_smodseq, 9999999);
	ck_assert_int_eq(d->track_subs, 1);
	ck_assert_uint_eq(d->nmb, n->nmb);
	for (i = 0; i < n->nmb; i++) {
		ck_assert_str_eq(d->mb[i].name, n->mb[i].name);
		ck_assert_uint_eq(d->mb[i].id, n->mb[i].id);
		ck_assert_uint_eq(d->mb[i].attrs, n->mb[i].attrs);
		ck_assert_uint_eq(d->mb[i].subscribed, n->mb[i].subscribed);
		ck_assert_uint_eq(d->mb[i].uidvalidity, n->mb[i].uidvalidity);
		ck_assert_uint_eq(d->mb[i].messages, n->mb[i].messages);
		ck_assert_uint_eq(d->mb[i].uidnext, n->mb[i].uidnext);
		ck_assert(d->mb[i].modseq == n->mb[i].modseq);
	}
	/* the same bytes again */
	ck_assert_int_eq(notify_spec_encode(d, &b2), 0);
	ck_assert_uint_eq(b2.len, b.len);
	ck_assert(memcmp(b.data, b2.data, b.len) == 0);
	/* a bounded buffer refuses it whole */
	buf_reset(&b2);
	buf_set_max(&b2, b.len - 1);
	ck_assert_int_eq(notify_spec_encode(d, &b2), -1);
	ck_assert_uint_eq(b2.len, 0);
	notify_spec_free(&n);
	notify_spec_free(&d);
	buf_free(&b);
	buf_free(&b2);
}
END_TEST

START_TEST(test_codec_truncated)
{
	struct imap_notify *n = sample(), *d;
	struct buf b = BUF_INIT;
	size_t len;

	ck_assert_int_eq(notify_spec_encode(n, &b), 0);
	for (len = 0; len < b.len; len++) {
		ck_assert_msg(notify_spec_decode(b.data, len, &d) == -1,
		    "prefix of %zu bytes accepted", len);
		ck_assert_ptr_null(d);
	}
	/* trailing bytes */
	buf_putc(&b, 0);
	ck_assert_int_eq(notify_spec_decode(b.data, b.len, &d), -1);
	notify_spec_free(&n);
	buf_free(&b);
}
END_TEST

START_TEST(test_codec_garbage)
{
	struct imap_notify *n = sample(), *d;
	struct buf b = BUF_INIT;
	unsigned seed = 1;
	size_t i, k;

	ck_assert_int_eq(notify_spec_encode(n, &b), 0);
	/* every single-byte change decodes or is refused, never crashes */
	for (i = 0; i < b.len; i++)
		for (k = 0; k < 8; k++) {
			char *c = xmemdup(b.data, b.len);

			seed = seed * 1103515245u + 12345u;
			c[i] = (char)(seed >> 16);
			if (notify_spec_decode(c, b.len, &d) == 0)
				notify_spec_free(&d);
			free(c);
		}
	/* a wrong version */
	b.data[0] = 9;
	ck_assert_int_eq(notify_spec_decode(b.data, b.len, &d), -1);
	notify_spec_free(&n);
	buf_free(&b);
}
END_TEST

CHECK_MAIN("notify", CHECK_OPTS(NULL, NULL, 30, 0),
    CHECK_LOOP(test_parse_table, sizeof(cases) / sizeof(cases[0])),
    CHECK_TEST(test_parse_fields), CHECK_TEST(test_parse_limits),
    CHECK_TEST(test_covers), CHECK_TEST(test_codec_roundtrip),
    CHECK_TEST(test_codec_truncated), CHECK_TEST(test_codec_garbage))

/*
 * check_mime - unit tests for the MIME parser: ENVELOPE, BODYSTRUCTURE of
 * nested multiparts, sections, encoded words, malformed headers.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "bodystructure.h"
#include "buf.h"
#include "date.h"
#include "envelope.h"
#include "mime.h"
#include "xalloc.h"

static const char nested[] =
    "From: \"Ann, A.\" <ann@example.com>\r\n"
    "To: undisclosed:;, bob@example.org\r\n"
    "Subject: =?ISO-8859-1?Q?caf=E9?= =?UTF-8?B?w6k=?=\r\n"
    "Date: Tue, 3 Feb 2026 09:30:00 -0500\r\n"
    "Content-Type: multipart/mixed; boundary=\"A\"\r\n"
    "\r\n"
    "--A\r\n"
    "Content-Type: multipart/alternative; boundary=B\r\n"
    "\r\n"
    "--B\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "hi\r\n"
    "--B\r\n"
    "Content-Type: text/html\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<p>h=C3=A9</p>\r\n"
    "--B--\r\n"
    "--A\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "Content-Type: multipart/mixed; boundary=C\r\n"
    "\r\n"
    "--C\r\n"
    "\r\n"
    "inner text\r\n"
    "--C--\r\n"
    "--A--\r\n";

/* copy - the data without a trailing NUL, as mmap gives it */
static char *
copy(const char *s, size_t *len)
{
	*len = strlen(s);
	return xmemdup(s, *len);
}

START_TEST(test_bodystructure_nested)
{
	size_t len;
	char *d = copy(nested, &len);
	struct mime_part *root = mime_parse(d, len);
	struct buf b = BUF_INIT;

	bodystructure_write(root, d, 0, &b);
	ck_assert_str_eq(buf_cstr(&b),
	    "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" "
	    "2 1)"
	    "(\"TEXT\" \"HTML\" NIL NIL NIL \"QUOTED-PRINTABLE\" 14 1) "
	    "\"ALTERNATIVE\")"
	    "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 85 "
	    "(NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) "
	    "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
	    "10 1)"
	    " \"MIXED\") 7) \"MIXED\")");
	buf_reset(&b);
	bodystructure_write(root, d, 1, &b);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b),
	    "\"MIXED\" (\"BOUNDARY\" \"A\") NIL NIL NIL)"));
	buf_free(&b);
	mime_free(&root);
	ck_assert_ptr_null(root);
	free(d);
}
END_TEST

/* bs - BODY (ext 0) or BODYSTRUCTURE of data[0..len) */
static char *
bs(const char *data, size_t len, int ext)
{
	char *d = xmemdup(data, len);
	struct mime_part *root = mime_parse(d, len);
	struct buf b = BUF_INIT;

	bodystructure_write(root, d, ext, &b);
	mime_free(&root);
	free(d);
	return buf_release(&b);
}

/* a multipart that cannot be split is a text/plain leaf with its lines,
 * and its section 1 is its body */
START_TEST(test_unsplit_multipart)
{
	static const char *msgs[] = {
		"Content-Type: multipart/mixed\r\n\r\nno boundary\r\n",
		"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\nx\r\n",
		"Content-Type: multipart/mixed; boundary=z\r\n\r\nnever\r\n",
	};
	static const unsigned one[] = { 1 };
	char *s = bs(msgs[_i], strlen(msgs[_i]), 0);
	struct mime_part *root;

	ck_assert_msg(strncmp(s, "(\"TEXT\" \"PLAIN\" ", 16) == 0, "%s", s);
	ck_assert_msg(s[strlen(s) - 3] == ' ' && s[strlen(s) - 2] == '1' &&
		s[strlen(s) - 1] == ')',
	    "no body-fld-lines: %s", s);
	free(s);
	root = mime_parse(msgs[_i], strlen(msgs[_i]));
	ck_assert_ptr_eq(mime_find_part(root, one, 1), root);
	mime_free(&root);
}
END_TEST

/* nesting past MIME_MAX_DEPTH degrades to a leaf that keeps its lines;
 * message/rfc822 keeps envelope, body and lines at every level */
START_TEST(test_deep_nesting)
{
	struct buf m = BUF_INIT;
	char *s, *p;
	int i, open = 0, maxopen = 0;

	for (i = 0; i < 80; i++)
		buf_printf(&m, "Content-Type: %s\r\n\r\n%s",
		    i % 2 ? "message/rfc822" : "multipart/mixed; boundary=b",
		    i % 2 ? "" : "--b\r\n");
	buf_puts(&m, "leaf\r\n");
	s = bs(m.data, m.len, 1);
	for (p = s; *p; p++) {
		if (*p == '"') {
			for (p++; *p != '"'; p++)
				if (*p == '\\')
					p++;
			continue;
		}
		open += *p == '(' ? 1 : *p == ')' ? -1 : 0;
		ck_assert_int_ge(open, 0);
		if (open > maxopen)
			maxopen = open;
	}
	ck_assert_int_eq(open, 0);
	ck_assert_int_le(maxopen, 3 * MIME_MAX_DEPTH);
	/* the innermost part shown is text/plain, with a line count */
	p = strstr(s, "(\"TEXT\" \"PLAIN\" (\"BOUNDARY\" \"b\")");
	ck_assert_ptr_nonnull(p);
	p = strchr(p, ')');
	ck_assert_ptr_nonnull(p);
	free(s);
	buf_free(&m);
}
END_TEST

/* nothing the message holds reaches the output as a NUL, an 8-bit or a
 * control byte inside a quoted string, and a broken type is text/plain */
START_TEST(test_hostile_fields)
{
	static const char msg[] =
	    "Content-Type: te\x01xt/pl\xff"
	    "ain; a=\"x\0y\"; \x01=\x80\r\n"
	    "Content-ID: <a\0b>\r\n"
	    "Content-Transfer-Encoding: \x01"
	    "bas\xe9"
	    "e64\r\n"
	    "Content-Disposition: at\x02tach; f=\"\\\"\"\r\n"
	    "Subject: s\0t\r\n"
	    "\r\nbody\r\n";
	char *s = bs(msg, sizeof(msg) - 1, 1);
	const char *p;
	int inq = 0;

	ck_assert_msg(strncmp(s, "(\"TEXT\" \"PLAIN\" ", 16) == 0, "%s", s);
	for (p = s; *p; p++) {
		if (*p == '{') /* a literal: its bytes are opaque */
			break;
		if (*p == '"' && p[-1] != '\\')
			inq = !inq;
		else if (inq)
			ck_assert_msg((unsigned char)*p >= 0x20 &&
				(unsigned char)*p < 0x7f,
			    "byte 0x%02x in %s", (unsigned char)*p, s);
	}
	ck_assert_ptr_nonnull(strstr(s, "\"BASE64\""));
	free(s);
}
END_TEST

START_TEST(test_envelope)
{
	size_t len;
	char *d = copy(nested, &len);
	struct mime_part *root = mime_parse(d, len);
	struct buf b = BUF_INIT;

	envelope_write(d + root->hdr_off, root->hdr_len, &b);
	ck_assert_str_eq(buf_cstr(&b),
	    "(\"Tue, 3 Feb 2026 09:30:00 -0500\" "
	    "\"=?ISO-8859-1?Q?caf=E9?= =?UTF-8?B?w6k=?=\" "
	    "((\"Ann, A.\" NIL \"ann\" \"example.com\")) "
	    "((\"Ann, A.\" NIL \"ann\" \"example.com\")) "
	    "((\"Ann, A.\" NIL \"ann\" \"example.com\")) "
	    "((NIL NIL \"undisclosed\" NIL)(NIL NIL NIL NIL)"
	    "(NIL NIL \"bob\" \"example.org\")) NIL NIL NIL NIL)");
	buf_free(&b);
	mime_free(&root);
	free(d);
}
END_TEST

START_TEST(test_sections)
{
	size_t len;
	char *d = copy(nested, &len);
	struct mime_part *root = mime_parse(d, len);
	const struct mime_part *p;
	unsigned path[3];

	path[0] = 1;
	path[1] = 2;
	p = mime_find_part(root, path, 2);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->subtype, "html");
	path[0] = 2;
	path[1] = 1;
	p = mime_find_part(root, path, 2);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq((int)p->body_len, 10);
	ck_assert(memcmp(d + p->body_off, "inner text", 10) == 0);
	path[0] = 3;
	ck_assert_ptr_null(mime_find_part(root, path, 1));
	mime_free(&root);
	free(d);
}
END_TEST

START_TEST(test_encoded_words)
{
	struct buf b = BUF_INIT;
	const char *s = "=?ISO-8859-1?Q?caf=E9?= =?UTF-8?B?w6k=?= and "
			"=?bogus plain";

	mime_decode_words(s, strlen(s), &b);
	ck_assert_str_eq(buf_cstr(&b), "caf\xc3\xa9\xc3\xa9 and =?bogus plain");
	buf_reset(&b);
	s = "=?UTF-8?Q?a_b?=";
	mime_decode_words(s, strlen(s), &b);
	ck_assert_str_eq(buf_cstr(&b), "a b");
	buf_free(&b);
}
END_TEST

static const char *malformed[] = {
	"no colon line\r\nSubject: ok\r\n\r\nbody",
	"Subject: no blank line and no body",
	"Content-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nunclosed",
	"Content-Type: multipart/mixed\r\n\r\nno boundary parameter",
	"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n",
	"",
	"\r\n",
	"Content-Type: message/rfc822\r\n\r\n",
	"From: <<<@@@>>>, \"unterminated\r\nTo: (comment (nested) "
	"<x@y>\r\n\r\n",
};

/* malformed input yields some structure and never crashes */
START_TEST(test_malformed)
{
	size_t len;
	char *d = copy(malformed[_i], &len);
	struct mime_part *root = mime_parse(d, len);
	struct buf b = BUF_INIT;

	bodystructure_write(root, d, 1, &b);
	ck_assert(b.len > 0 && b.data[0] == '(');
	buf_reset(&b);
	envelope_write(d + root->hdr_off, root->hdr_len, &b);
	ck_assert(b.len > 0 && b.data[0] == '(');
	buf_reset(&b);
	mime_body_text(root, d, &b);
	buf_free(&b);
	mime_free(&root);
	free(d);
}
END_TEST

/* the text SEARCH and the full-text index read: decoded, converted,
 * HTML reduced, valid UTF-8, ASCII lower-cased */
static const struct {
	const char *msg, *text;
} texts[] = {
	{ "Subject: x\r\n\r\nHello World\r\n", "hello world\r\n\n" },
	{ "Content-Type: text/plain; charset=iso-8859-2\r\n"
	  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	  "=A9koda =BElut=FD\r\n",
	    "\xc5\xa0koda \xc5\xbelut\xc3\xbd\r\n\n" },
	{ "Content-Type: text/plain; charset=koi8-r\r\n"
	  "Content-Transfer-Encoding: base64\r\n\r\n8NLJ18XU\r\n",
	    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\n" },
	{ "Content-Type: text/html\r\n\r\n<html><head><style>p{x:y}</style>"
	  "<script>var a='<b>';</script></head><body><p>Fish &amp; "
	  "<b>Ch</b>ips&#33; &#x263A;<!-- hidden --></p>done</body></html>",
	    "       fish & chips! \xe2\x98\xba done  \n" },
	{ "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
	  "Content-Type: text/plain\r\n\r\nOne\r\n--b\r\n"
	  "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
	  "\r\nT25l\r\n--b--\r\n",
	    "one\n" },
	{ "Content-Type: text/plain; charset=utf-8\r\n\r\nA\xff"
	  "B\xc3"
	  "\x28\xc3\xa9",
	    "a\xef\xbf\xbd"
	    "b\xef\xbf\xbd(\xc3\xa9\n" },
	{ "Content-Type: text/plain; charset=x-unknown\r\n\r\nAbc", "abc\n" },
};

START_TEST(test_text_body)
{
	size_t len;
	char *d = copy(texts[_i].msg, &len);
	struct mime_part *root = mime_parse(d, len);
	struct buf b = BUF_INIT;

	mime_text_body(root, d, &b);
	ck_assert_str_eq(buf_cstr(&b), texts[_i].text);
	buf_free(&b);
	mime_free(&root);
	free(d);
}
END_TEST

START_TEST(test_text_header)
{
	const char *h = "Subject: =?UTF-8?Q?Caf=C3=A9?=\r\n  Menu\r\n"
			"From: =?iso-8859-2?q?=A9ef?= <A@B>\r\n\r\n";
	struct buf b = BUF_INIT;

	mime_text_header(h, strlen(h), &b);
	ck_assert_str_eq(buf_cstr(&b),
	    "subject: caf\xc3\xa9 menu from: "
	    "\xc5\xa0"
	    "ef <a@b> ");
	buf_free(&b);
}
END_TEST

START_TEST(test_header_fields)
{
	const char *h = "From: a\r\nTo: b\r\n c\r\nSubject: s\r\n\r\n";
	const char *names[] = { "to", "SUBJECT" };
	struct buf b = BUF_INIT;

	mime_header_fields(h, strlen(h), names, 2, 0, &b);
	ck_assert_str_eq(buf_cstr(&b), "To: b\r\n c\r\nSubject: s\r\n\r\n");
	buf_reset(&b);
	mime_header_fields(h, strlen(h), names, 2, 1, &b);
	ck_assert_str_eq(buf_cstr(&b), "From: a\r\n\r\n");
	buf_reset(&b);
	ck_assert_int_eq(mime_header_get(h, strlen(h), "to", 0, 0, &b), 0);
	ck_assert_str_eq(buf_cstr(&b), "b c");
	buf_free(&b);
}
END_TEST

/* thousands of names, prefixes of each other and duplicates: the sorted
 * lookup finds exactly the fields a scan would */
START_TEST(test_header_fields_many)
{
	const char *h = "X-1: a\r\nX-12: b\r\nx-123: c\r\nX-1234: d\r\n"
			"X: e\r\n\r\n";
	char *names[3000];
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < 3000; i++)
		names[i] = xasprintf("%s%zu", i % 2 ? "x-" : "X-",
		    i % 1000 == 123 ? (size_t)12 : 5000 + i);
	names[7] = (free(names[7]), xstrdup("X-123"));
	mime_header_fields(h, strlen(h), (const char *const *)names, 3000, 0,
	    &b);
	ck_assert_str_eq(buf_cstr(&b), "X-12: b\r\nx-123: c\r\n\r\n");
	buf_reset(&b);
	mime_header_fields(h, strlen(h), (const char *const *)names, 3000, 1,
	    &b);
	ck_assert_str_eq(buf_cstr(&b), "X-1: a\r\nX-1234: d\r\nX: e\r\n\r\n");
	buf_reset(&b);
	mime_header_fields(h, strlen(h), NULL, 0, 1, &b);
	ck_assert_uint_eq(b.len, strlen(h));
	for (i = 0; i < 3000; i++)
		free(names[i]);
	buf_free(&b);
}
END_TEST

START_TEST(test_date)
{
	long long t;
	int tz;

	ck_assert_int_eq(date_parse_rfc5322("Tue, 3 Feb 2026 09:30:00 -0500",
			     30, &t, &tz),
	    0);
	ck_assert_int_eq(tz, -300);
	ck_assert_int_eq(t, 1770129000LL);
	ck_assert_int_eq(date_parse_rfc5322("3 Feb 26 14:30 GMT", 18, &t, &tz),
	    0);
	ck_assert_int_eq(date_parse_rfc5322("yesterday", 9, &t, &tz), -1);
}
END_TEST

CHECK_MAIN("mime", NULL, CHECK_TEST(test_bodystructure_nested),
    CHECK_TEST(test_envelope), CHECK_LOOP(test_unsplit_multipart, 3),
    CHECK_TEST(test_deep_nesting), CHECK_TEST(test_hostile_fields),
    CHECK_TEST(test_sections), CHECK_TEST(test_encoded_words),
    CHECK_LOOP(test_malformed, sizeof(malformed) / sizeof(malformed[0])),
    CHECK_TEST(test_header_fields), CHECK_TEST(test_header_fields_many),
    CHECK_TEST(test_date),
    CHECK_LOOP(test_text_body, sizeof(texts) / sizeof(texts[0])),
    CHECK_TEST(test_text_header))

/*
 * mime - RFC 5322 / MIME parsing for IMAP: the part tree of a message,
 * ENVELOPE and BODY/BODYSTRUCTURE text, sections, header lookup and
 * decoding for SEARCH.
 *
 * Works on a message held in memory (usually mmap'ed); parts refer to it by
 * offset and never copy it.  Never fails on malformed input: it yields the
 * best structure it can (a missing boundary ends at the end of the data,
 * a broken header line is skipped).  Nesting is bounded (MIME_MAX_DEPTH);
 * deeper parts are treated as opaque.
 */
#ifndef BERTH_MIME_H
#define BERTH_MIME_H

#include <stddef.h>

struct buf;

#define MIME_MAX_DEPTH 32
#define MIME_MAX_PARTS 10000

struct mime_part {
	size_t hdr_off, hdr_len;	/* header, including the blank line */
	size_t body_off, body_len;
	size_t body_lines;		/* lines in the body */
	char *type, *subtype;		/* lower-case; default text/plain */
	char *params;			/* IMAP body-fld-param text or "NIL" */
	char *id, *description, *encoding;	/* NULL when absent */
	char *disposition;		/* IMAP body-fld-dsp text or "NIL" */
	char *language, *location;	/* IMAP text or NULL */
	char *md5;
	struct mime_part *children;	/* multipart: parts; message/rfc822:
					 * one child, the enclosed message */
	size_t nchildren;
};

/* mime_parse - parse a whole message; free with mime_free */
struct mime_part *mime_parse(const char *data, size_t len);
void mime_free(struct mime_part **root);

/* mime_addr_text - an address list (an unfolded header value) as text,
 * for SEARCH: "Name <a@b>, c@d, Group: e@f;" with display names
 * unquoted, comment names taken as names, encoded words left as they are
 * (appends to out) */
void mime_addr_text(const char *s, size_t len, struct buf *out);
/* mime_envelope - IMAP ENVELOPE "(date subject from ...)" of the header
 * hdr[0..len) */
void mime_envelope(const char *hdr, size_t len, struct buf *out);
/* mime_bodystructure - IMAP BODY (extended = 0) or BODYSTRUCTURE text */
void mime_bodystructure(const struct mime_part *root, const char *data,
    int extended, struct buf *out);

/*
 * mime_find_part - follow a section path ("1.2.3": parts[] = {1,2,3}).
 * Part numbers of a non-multipart are 1 for its body; a message/rfc822
 * part's subparts are those of the enclosed message.  NULL if absent.
 */
const struct mime_part *mime_find_part(const struct mime_part *root,
    const unsigned *parts, size_t nparts);

/*
 * mime_header_fields - append the header lines of hdr[0..len) whose field
 * name is (not = 0) or is not (not = 1) one of names[0..n), then the blank
 * line, as HEADER.FIELDS / HEADER.FIELDS.NOT require.
 */
void mime_header_fields(const char *hdr, size_t len, const char *const *names,
    size_t n, int not, struct buf *out);

/*
 * mime_header_get - the unfolded value of the first (or, with all, every,
 * joined by ", ") header field called name; 0, or -1 if absent.  With
 * decode, RFC 2047 encoded words are decoded to UTF-8.
 */
int mime_header_get(const char *hdr, size_t len, const char *name, int all,
    int decode, struct buf *out);

/* mime_decode_words - RFC 2047 decode s[0..len) into UTF-8 */
void mime_decode_words(const char *s, size_t len, struct buf *out);

/* mime_body_text - the decoded (base64 / quoted-printable) text of every
 * text/ leaf of part, for SEARCH BODY/TEXT; charsets other than UTF-8,
 * US-ASCII and ISO-8859-1 are passed through undecoded */
void mime_body_text(const struct mime_part *part, const char *data,
    struct buf *out);

/* mime_parse_date - RFC 5322 date to time_t (UTC) and zone offset in
 * minutes; -1 if it does not parse */
int mime_parse_date(const char *s, size_t len, long long *t_r, int *tz_r);

#endif

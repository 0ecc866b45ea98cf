/*
 * mime - RFC 5322 / MIME parsing: the part tree of a message, sections,
 * header lookup and decoding (IMAP's ENVELOPE and BODYSTRUCTURE text of
 * it are lib/imap's envelope and bodystructure).
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

/* a parameter of a structured field (Content-Type, Content-Disposition) */
struct mime_param {
	char *name;  /* as written */
	char *value; /* unquoted; NULs dropped */
};

struct mime_part {
	size_t hdr_off, hdr_len; /* header, including the blank line */
	size_t body_off, body_len;
	size_t body_lines;	   /* lines in the body */
	char *type, *subtype;	   /* lower-case; default text/plain */
	struct mime_param *params; /* Content-Type's; the default
				    * text/plain has charset=US-ASCII */
	size_t nparams;
	char *id, *description, *encoding; /* NULL when absent */
	char *disposition;		   /* Content-Disposition's type, NULL
					    * when absent */
	struct mime_param *dparams;	   /* and its parameters */
	size_t ndparams;
	char *language, *location; /* field values or NULL */
	char *md5;
	struct mime_part *children; /* multipart: parts; message/rfc822:
				     * one child, the enclosed message */
	size_t nchildren;
};

/* mime_parse - parse a whole message; free with mime_free */
struct mime_part *mime_parse(const char *data, size_t len);
void mime_free(struct mime_part **root);

/* mime_is_leaf - a part not split into parts: not a multipart or
 * message/rfc822, or one that could not be split (a leaf of itself) */
int mime_is_leaf(const struct mime_part *p);
/* mime_param_get - the value of parameter name (any case), or NULL */
const char *mime_param_get(const struct mime_param *pv, size_t n,
    const char *name);

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

/* mime_part_decode - the body of a leaf part with its
 * Content-Transfer-Encoding undone (7bit, 8bit, binary: as it is;
 * base64; quoted-printable), appended; -1 for another encoding */
int mime_part_decode(const struct mime_part *part, const char *data,
    struct buf *out);
/* mime_part_decodable - does mime_part_decode know part's encoding? */
int mime_part_decodable(const struct mime_part *part);
/* mime_body_text - the decoded (base64 / quoted-printable) text of every
 * text/ leaf of part, for SEARCH BODY/TEXT; charsets other than UTF-8,
 * US-ASCII and ISO-8859-1 are passed through undecoded */
void mime_body_text(const struct mime_part *part, const char *data,
    struct buf *out);

/*
 * The text SEARCH TEXT / BODY match and the full-text index keeps
 * (mime_text.c): valid UTF-8 (charsets converted; NULs and bytes that
 * are not UTF-8 become U+FFFD), ASCII lower-cased, appended to out.
 */
/* mime_text_header - a header block: RFC 2047 words decoded, runs of
 * blanks and line breaks as one space */
void mime_text_header(const char *hdr, size_t len, struct buf *out);
/* mime_text_body - every text/ leaf of part: transfer encoding undone,
 * charset converted, text/html reduced to its text; '\n' after each */
void mime_text_body(const struct mime_part *part, const char *data,
    struct buf *out);
/* mime_html_text - the text of HTML s[0..len), appended as it is
 * otherwise (tags, comments, scripts and styles dropped, character
 * references decoded) */
void mime_html_text(const char *s, size_t len, struct buf *out);

#endif

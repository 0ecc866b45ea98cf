/*
 * imapp - the IMAP protocol reader (commands with literals, bounded) and
 * writer helpers (quoting).
 *
 * Reading happens in two stages.  The reader collects one whole command
 * from the bytes the caller feeds it: lines, and after a line ending in
 * "{N}" / "{N+}" / "~{N}" exactly N raw bytes, until a line that ends
 * without a literal.  It enforces the line limit and the literal limit
 * before reading a literal's bytes.  The result is the command in wire form.
 * The tokenizer then turns that wire form into a tag, a command name and a
 * tree of arguments.  Both are byte-at-a-time safe: feeding one byte per
 * call gives the same result as feeding everything at once.
 *
 * Atoms follow RFC 3501's ABNF: ATOM-CHARs (no CTL, SP, '(', ')', '{',
 * '%', '*', '"', '\\', ']'; '[', '}' and '\'' are ATOM-CHARs) and ']' (an
 * ASTRING-CHAR), except that a '[' that opens a FETCH section runs to its
 * matching ']' with spaces inside parentheses only, so that
 * "BODY.PEEK[HEADER.FIELDS (From To)]<0.100>" is one atom; any other '['
 * is an ordinary character ("foo[bar}").  List wildcards '%' and '*' are
 * allowed in atoms (LIST patterns); commands check their own grammar
 * (a flag keyword is an atom: no ']').
 */
#ifndef BERTH_IMAPP_H
#define BERTH_IMAPP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum imapp_status {
	IMAPP_MORE = 0, /* feed more bytes */
	IMAPP_COMMAND,	/* a whole command is in reader->cmd */
	IMAPP_CONTINUE, /* a synchronizing literal was announced and
			 * accepted: send "+ " continuation, then
			 * feed more */
	IMAPP_ELINE,	/* line longer than the limit; the rest of
			 * the line is being skipped */
	IMAPP_ELITERAL, /* literal larger than the limit, or its
			 * size not a valid number (literal_invalid);
			 * LITERAL+ (literal_nonsync): the caller
			 * must close, its bytes are on the way */
};

struct imapp_reader {
	struct buf cmd;	      /* the command so far, wire form */
	size_t max_line;      /* bytes per line, literals excluded */
	uint64_t max_literal; /* bytes per literal */
	size_t max_command;   /* whole command, literals included */
	uint64_t max_nonsync; /* LITERAL- (RFC 7888): bytes per
			       * non-synchronizing literal, 0: as
			       * max_literal */
	/* state */
	size_t line_start;     /* offset of the current line in cmd */
	uint64_t literal_left; /* raw bytes still to copy */
	int skipping;	       /* discarding an over-long line */
	int literal_nonsync;   /* the refused literal was LITERAL+ */
	int literal_invalid;   /* its size was not a number that fits in
				* 64 bits (a BAD, not a TOOBIG) */
	char tag[64];	       /* tag of a refused command, if known */
};

void imapp_reader_init(struct imapp_reader *r, size_t max_line,
    uint64_t max_literal, size_t max_command);
void imapp_reader_free(struct imapp_reader *r);
/*
 * imapp_reader_feed - consume bytes from data[0..len); *used_r says how
 * many were consumed (stop early when a status other than IMAPP_MORE is
 * returned).  After IMAPP_COMMAND the caller parses reader->cmd and then
 * calls imapp_reader_reset.  After IMAPP_ELINE or IMAPP_ELITERAL the
 * caller answers (tag in reader->tag, possibly "") and calls
 * imapp_reader_reset (for ELINE the reader keeps skipping to the end of
 * the line by itself).
 */
enum imapp_status imapp_reader_feed(struct imapp_reader *r, const char *data,
    size_t len, size_t *used_r);
void imapp_reader_reset(struct imapp_reader *r);

enum imapp_arg_type {
	IMAPP_ATOM,    /* includes NIL, numbers, sequence sets */
	IMAPP_STRING,  /* quoted string */
	IMAPP_LITERAL, /* literal ({N}, {N+}, ~{N}) */
	IMAPP_LIST,    /* parenthesised list */
};

struct imapp_arg {
	enum imapp_arg_type type;
	char *str; /* ATOM/STRING/LITERAL: NUL-terminated
		    * (binary-safe with len) */
	size_t len;
	struct imapp_arg *list; /* LIST: elements */
	size_t nlist;
};

struct imapp_cmd {
	char *tag;
	char *name;		/* upper-cased command name */
	struct imapp_arg *args; /* arguments after the name */
	size_t nargs;
	char err[96]; /* imapp_parse's error, when it fails */
};

#define IMAPP_MAX_DEPTH 32    /* list nesting */
#define IMAPP_MAX_ARGS 100000 /* elements in all lists of a command */

/*
 * imapp_parse - tokenize a command in wire form (from the reader; the
 * final CRLF may be present or not).  Returns 0, or -1 with *error_r a
 * human-readable reason for a tagged BAD (it lives in cmd->err) and
 * cmd->tag set when a tag could be read.  Free with imapp_cmd_free in
 * both cases (after using *error_r).
 */
int imapp_parse(const char *wire, size_t len, struct imapp_cmd *cmd,
    const char **error_r);
/* imapp_parse_flags - the same with IMAPP_PARSE_* flags */
int imapp_parse_flags(const char *wire, size_t len, unsigned flags,
    struct imapp_cmd *cmd, const char **error_r);
/* UTF8=ACCEPT (RFC 6855): a quoted string must be UTF-8 (without it any 8-bit
 * byte passes, as before) */
#define IMAPP_PARSE_UTF8 0x01
void imapp_cmd_free(struct imapp_cmd *cmd);

/* imapp_is_atom_char - may c appear in an atom (RFC 3501 ATOM-CHAR)? */
int imapp_is_atom_char(unsigned char c);
/* imapp_arg_is_astring - ATOM, STRING or LITERAL */
int imapp_arg_is_astring(const struct imapp_arg *a);
/* imapp_arg_is_nil - the atom NIL */
int imapp_arg_is_nil(const struct imapp_arg *a);

/* writers: append to out */
/* imapp_put_string - as a quoted string when possible, else a literal */
void imapp_put_string(struct buf *out, const char *s, size_t len);
/* imapp_put_nstring - NIL when s is NULL */
void imapp_put_nstring(struct buf *out, const char *s, size_t len);
/* imapp_put_text - an nstring of message text, NULs dropped (no IMAP
 * string may carry one, and the FETCH cache is NUL-separated) */
void imapp_put_text(struct buf *out, const char *s, size_t len);
/* imapp_put_astring - as an atom when possible */
void imapp_put_astring(struct buf *out, const char *s, size_t len);
/* imapp_put_utf8_astring - the same for a session that takes UTF-8
 * (RFC 6855): 8-bit bytes may stand in a quoted string */
void imapp_put_utf8_astring(struct buf *out, const char *s, size_t len);
/* imapp_put_literal - always "{len}\r\n" + bytes */
void imapp_put_literal(struct buf *out, const char *s, size_t len);

/* sequence sets */
struct imapp_range {
	uint32_t lo, hi;
};
struct imapp_seqset {
	struct imapp_range *ranges; /* lo <= hi, '*' resolved; sorted,
				     * disjoint and not adjacent */
	size_t n;
	int dollar; /* "$" (SEARCHRES) */
};
/* imapp_seqset_parse - "1:3,5,7:*"; '*' stands for star. -1 on error.
 * contains is a binary search */
int imapp_seqset_parse(const char *s, uint32_t star, struct imapp_seqset *set);
int imapp_seqset_contains(const struct imapp_seqset *set, uint32_t n);
void imapp_seqset_free(struct imapp_seqset *set);

/* numbers of the grammar: number and nz-number (RFC 3501, 32 bits),
 * mod-sequence-value (RFC 7162, 63 bits) */
#define IMAPP_NUMBER_MAX 4294967295ULL
#define IMAPP_MODSEQ_MAX 9223372036854775807ULL
/* imapp_number - s[0..len) is 1*DIGIT with a value in [min, max]: no
 * sign, no space, never wrapped.  0 with *v_r, else -1 */
int imapp_number(const char *s, size_t len, uint64_t min, uint64_t max,
    uint64_t *v_r);

#endif

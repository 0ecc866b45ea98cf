/*
 * fuzz_list - libFuzzer target: LIST and LSUB's argument parser
 * (imapd/list_opts.c: LIST-EXTENDED selection options, reference, one
 * pattern or a list, RETURN options with LIST-STATUS) on the arguments
 * the IMAP tokenizer makes of the input.  An accepted command keeps the
 * parser's invariants, reads back the same from its canonical form,
 * and its patterns go through what cmd_list does with them (modified
 * UTF-7 for a UTF-8 session, the mailbox-name check, the matcher).
 *
 * Input: byte 0 bit 0 chooses LSUB, bit 1 UTF8=ACCEPT; the rest
 * follows "t LIST " (or "t LSUB ").
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "imapp.h"
#include "list_opts.h"
#include "mboxname.h"
#include "mutf7.h"
#include "wild.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = { "INBOX", "INBOX/a", "a", "a/b/c", "Sent",
	"" };

/* put_arg - an argument as the client could have sent it */
static void
put_arg(struct buf *w, const struct imapp_arg *a)
{
	size_t i;

	switch (a->type) {
	case IMAPP_ATOM:
		buf_append(w, a->str, a->len);
		break;
	case IMAPP_STRING:
	case IMAPP_LITERAL:
		imapp_put_string(w, a->str, a->len);
		break;
	case IMAPP_LIST:
		buf_putc(w, '(');
		for (i = 0; i < a->nlist; i++) {
			if (i > 0)
				buf_putc(w, ' ');
			put_arg(w, &a->list[i]);
		}
		buf_putc(w, ')');
		break;
	}
}

/* canonical - the command o was read from, rewritten */
static void
canonical(struct buf *w, const struct list_opts *o, int lsub)
{
	static const struct {
		unsigned bit;
		const char *name;
	} sel[] = { { LIST_SEL_SUBSCRIBED, "SUBSCRIBED" },
		{ LIST_SEL_RECURSIVE, "RECURSIVEMATCH" },
		{ LIST_SEL_SPECIALUSE, "SPECIAL-USE" },
		{ LIST_SEL_REMOTE, "REMOTE" } },
	  ret[] = { { LIST_RET_SUBSCRIBED, "SUBSCRIBED" },
		  { LIST_RET_CHILDREN, "CHILDREN" },
		  { LIST_RET_SPECIALUSE, "SPECIAL-USE" } };
	size_t i;
	const char *sep = "";

	buf_puts(w, lsub ? "t LSUB " : "t LIST ");
	if (!lsub) {
		buf_putc(w, '(');
		for (i = 0; i < sizeof(sel) / sizeof(sel[0]); i++)
			if (o->sel & sel[i].bit) {
				buf_puts(w, sep);
				buf_puts(w, sel[i].name);
				sep = " ";
			}
		buf_puts(w, ") ");
	}
	imapp_put_astring(w, o->ref->str, o->ref->len);
	buf_puts(w, o->pat_list ? " (" : " ");
	for (i = 0; i < o->npat; i++) {
		if (i > 0)
			buf_putc(w, ' ');
		imapp_put_astring(w, o->pats[i].str, o->pats[i].len);
	}
	buf_puts(w, o->pat_list ? ")" : "");
	if (!lsub) {
		buf_puts(w, " RETURN (");
		sep = "";
		for (i = 0; i < sizeof(ret) / sizeof(ret[0]); i++)
			if (o->ret & ret[i].bit) {
				buf_puts(w, sep);
				buf_puts(w, ret[i].name);
				sep = " ";
			}
		if (o->status != NULL) {
			buf_puts(w, sep);
			buf_puts(w, "STATUS ");
			put_arg(w, o->status);
		}
		buf_putc(w, ')');
	}
	buf_puts(w, "\r\n");
}

/* check_invariants - what cmd_list relies on */
static void
check_invariants(const struct imapp_cmd *c, const struct list_opts *o)
{
	size_t i;

	if (o->ref_i >= c->nargs || o->ref != &c->args[o->ref_i] ||
	    !imapp_arg_is_astring(o->ref) || o->npat == 0)
		abort();
	for (i = 0; i < o->npat; i++)
		if (!imapp_arg_is_astring(&o->pats[i]))
			abort();
	if ((o->status != NULL) != ((o->ret & LIST_RET_STATUS) != 0))
		abort();
	if (o->status != NULL &&
	    (o->status->type != IMAPP_LIST || o->status->nlist == 0))
		abort();
	if ((o->sel & LIST_SEL_RECURSIVE) &&
	    !(o->sel & (LIST_SEL_SUBSCRIBED | LIST_SEL_SPECIALUSE)))
		abort();
}

/* check_same - the canonical form reads back as o did */
static void
check_same(const struct list_opts *o, int lsub, int utf8)
{
	struct buf w = BUF_INIT;
	struct imapp_cmd c;
	struct list_opts p;
	const char *err = NULL;
	size_t i;

	canonical(&w, o, lsub);
	if (imapp_parse_flags(w.data, w.len, utf8 ? IMAPP_PARSE_UTF8 : 0, &c,
		&err) == 0) {
		if (list_opts_parse(c.args, c.nargs, lsub, &p, &err) != 0 ||
		    p.sel != o->sel || p.ret != o->ret || p.npat != o->npat ||
		    p.pat_list != o->pat_list || p.ref->len != o->ref->len ||
		    memcmp(p.ref->str, o->ref->str, o->ref->len) != 0 ||
		    (p.status == NULL) != (o->status == NULL) ||
		    (p.status != NULL && p.status->nlist != o->status->nlist))
			abort();
		for (i = 0; i < p.npat; i++)
			if (p.pats[i].len != o->pats[i].len ||
			    memcmp(p.pats[i].str, o->pats[i].str,
				p.pats[i].len) != 0)
				abort();
	}
	imapp_cmd_free(&c);
	buf_free(&w);
}

/* check_patterns - each pattern as cmd_list takes it */
static void
check_patterns(const struct list_opts *o, int utf8)
{
	struct buf m = BUF_INIT, full = BUF_INIT;
	struct wild *w;
	const char *err;
	size_t i, k;
	int r;

	for (i = 0; i < o->npat; i++) {
		buf_reset(&m);
		r = utf8 && o->pat_list
		    ? mutf7_from_utf8(o->pats[i].str, o->pats[i].len, &m, &err)
		    : buf_append(&m, o->pats[i].str, o->pats[i].len);
		if (r != 0 || mboxname_check(buf_cstr(&m), m.len, &err) != 0)
			continue;
		buf_reset(&full);
		buf_append(&full, o->ref->str, o->ref->len);
		buf_append(&full, buf_cstr(&m), m.len);
		w = wild_compile(buf_cstr(&full), full.len, '/');
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			(void)wild_match(w, names[k], strlen(names[k]));
		wild_free(&w);
	}
	buf_free(&m);
	buf_free(&full);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imapp_cmd c;
	struct list_opts o;
	struct buf wire = BUF_INIT;
	const char *err = NULL;
	int lsub, utf8, r;

	if (size < 1)
		return 0;
	lsub = data[0] & 1;
	utf8 = (data[0] >> 1) & 1;
	buf_puts(&wire, lsub ? "t LSUB " : "t LIST ");
	buf_append(&wire, data + 1, size - 1);
	buf_puts(&wire, "\r\n");
	if (imapp_parse_flags(wire.data, wire.len, utf8 ? IMAPP_PARSE_UTF8 : 0,
		&c, &err) == 0) {
		err = NULL;
		r = list_opts_parse(c.args, c.nargs, lsub, &o, &err);
		if (r != 0 && err == NULL)
			abort();
		if (r == 0) {
			check_invariants(&c, &o);
			check_same(&o, lsub, utf8);
			check_patterns(&o, utf8);
		}
	}
	imapp_cmd_free(&c);
	buf_free(&wire);
	return 0;
}

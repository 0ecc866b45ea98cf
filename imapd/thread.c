/*
 * thread - RFC 5256's threading algorithms, ORDEREDSUBJECT and
 * REFERENCES, over sort.h's items (base subject, sent date) and the
 * header blocks a thread_src gives; THREAD itself is cmd_thread.c.  No
 * session, no store (the fuzzer links it alone).
 *
 * REFERENCES is RFC 5256 3 step by step: containers by Message-ID linked
 * by each message's References (or first In-Reply-To id), a duplicate
 * or missing Message-ID making a message of its own, loops never made;
 * dummies pruned; the root set grouped by base subject (a dummy, then a
 * non-reply, wins a subject); every set of siblings in sent-date order,
 * ties by message number.  Message-IDs compare as octet strings.  The
 * work is linear in the messages and their references (bounded per
 * message), but for the loop checks, which walk up a thread.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "htab.h"
#include "mime.h"
#include "sort.h"
#include "xalloc.h"

#define THR_NONE SIZE_MAX
#define THR_MAX_REFS 100 /* references of one message taken: the last */

/* a container (RFC 5256 3 step 1): a message, or a dummy for one only
 * referred to */
struct thr_node {
	struct sort_item *msg;	    /* NULL: dummy */
	size_t parent, child, next; /* first child, next sibling */
};

struct thr {
	struct thr_node *n;
	size_t nn, size;
	struct htab *ids; /* Message-ID -> node index + 1 */
	const struct thread_src *src;
	struct buf out;
};

static size_t
thr_new(struct thr *t, struct sort_item *msg)
{
	if (t->nn == t->size) {
		t->size = t->size ? 2 * t->size : 64;
		t->n = xreallocarray(t->n, t->size, sizeof(*t->n));
	}
	t->n[t->nn].msg = msg;
	t->n[t->nn].parent = t->n[t->nn].child = t->n[t->nn].next = THR_NONE;
	return t->nn++;
}

/* thr_id - the container of id, made as a dummy if none */
static size_t
thr_id(struct thr *t, const char *id, size_t len)
{
	uintptr_t v = (uintptr_t)htab_get(t->ids, id, len);
	size_t i;

	if (v != 0)
		return (size_t)v - 1;
	i = thr_new(t, NULL);
	htab_put(t->ids, id, len, (void *)(uintptr_t)(i + 1));
	return i;
}

/* thr_under - is a c or one of c's descendants, i.e. would making a
 * c's parent close a loop? */
static int
thr_under(const struct thr *t, size_t a, size_t c)
{
	for (; a != THR_NONE; a = t->n[a].parent)
		if (a == c)
			return 1;
	return 0;
}

static void
thr_unlink(struct thr *t, size_t c)
{
	size_t p = t->n[c].parent, *pp;

	if (p == THR_NONE)
		return;
	for (pp = &t->n[p].child; *pp != THR_NONE; pp = &t->n[*pp].next)
		if (*pp == c) {
			*pp = t->n[c].next;
			break;
		}
	t->n[c].parent = t->n[c].next = THR_NONE;
}

static void
thr_link(struct thr *t, size_t p, size_t c)
{
	t->n[c].parent = p;
	t->n[c].next = t->n[p].child;
	t->n[p].child = c;
}

/* thr_ids - the msg-ids "<...>" of a header value, at most max (the
 * last ones); each [off, len) into v */
static size_t
thr_ids(const char *v, size_t len, size_t (*ids)[2], size_t max)
{
	size_t i = 0, j, n = 0;

	while (i < len) {
		if (v[i] != '<') {
			i++;
			continue;
		}
		for (j = i + 1; j < len && v[j] != '>' && v[j] != '<'; j++)
			;
		if (j < len && v[j] == '>' && j > i + 1) {
			if (n == max) {
				memmove(ids, ids + 1, (max - 1) * sizeof(*ids));
				n--;
			}
			ids[n][0] = i;
			ids[n++][1] = j + 1 - i;
		}
		i = j;
	}
	return n;
}

/* thr_message - RFC 5256 3 step 1 for one message */
static void
thr_message(struct thr *t, struct sort_item *it, const char *hdr, size_t hlen)
{
	size_t ids[THR_MAX_REFS][2];
	struct buf v = BUF_INIT;
	size_t m, n, i, r, prev = THR_NONE;
	uintptr_t found;

	/* A: its own container; a duplicate or missing id is unique */
	if (mime_header_get(hdr, hlen, "Message-ID", 0, 0, &v) == 0 &&
	    thr_ids(v.data, v.len, ids, 1) == 1 &&
	    ((found = (uintptr_t)htab_get(t->ids, v.data + ids[0][0],
		  ids[0][1])) == 0 ||
		t->n[found - 1].msg == NULL)) {
		m = thr_id(t, v.data + ids[0][0], ids[0][1]);
		t->n[m].msg = it;
	} else {
		m = thr_new(t, it);
	}
	/* B: References (else the first id of In-Reply-To), linked in
	 * order where no link and no loop is */
	buf_reset(&v);
	n = 0;
	if (mime_header_get(hdr, hlen, "References", 0, 0, &v) == 0)
		n = thr_ids(v.data, v.len, ids, THR_MAX_REFS);
	if (n == 0) {
		buf_reset(&v);
		if (mime_header_get(hdr, hlen, "In-Reply-To", 0, 0, &v) == 0 &&
		    thr_ids(v.data, v.len, ids, THR_MAX_REFS) > 0)
			n = 1;
	}
	for (i = 0; i < n; i++) {
		r = thr_id(t, v.data + ids[i][0], ids[i][1]);
		if (prev != THR_NONE && r != prev &&
		    t->n[r].parent == THR_NONE && !thr_under(t, prev, r))
			thr_link(t, prev, r);
		prev = r;
	}
	/* C: the last reference is the parent (none: a root); a link
	 * that would close a loop is not made */
	if (prev == THR_NONE) {
		thr_unlink(t, m);
	} else if (prev != m && !thr_under(t, prev, m)) {
		thr_unlink(t, m);
		thr_link(t, prev, m);
	}
	buf_free(&v);
}

/* thr_first - the message whose sent date and subject stand for a
 * container: its own, or a dummy's first child's (children sorted
 * first) */
static const struct sort_item *
thr_first(const struct thr *t, size_t i)
{
	while (t->n[i].msg == NULL && t->n[i].child != THR_NONE)
		i = t->n[i].child;
	return t->n[i].msg;
}

static int
thr_cmp(const void *a, const void *b, void *ctx)
{
	const struct thr *t = ctx;
	const struct sort_item *x = thr_first(t, *(const size_t *)a),
			       *y = thr_first(t, *(const size_t *)b);

	if (x == NULL || y == NULL)
		return (x == NULL) - (y == NULL);
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->msgno < y->msgno ? -1 : x->msgno > y->msgno;
}

/* thr_sort - the siblings from first, in date order (recursively when
 * deep); returns the new first */
static size_t
thr_sort(struct thr *t, size_t first, int deep)
{
	size_t *v = NULL, n = 0, i, c;

	for (c = first; c != THR_NONE; c = t->n[c].next) {
		if (deep)
			t->n[c].child = thr_sort(t, t->n[c].child, 1);
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = c;
	}
	if (n == 0)
		return THR_NONE;
	qsort_r(v, n, sizeof(*v), thr_cmp, t);
	for (i = 0; i < n; i++)
		t->n[v[i]].next = i + 1 < n ? v[i + 1] : THR_NONE;
	first = v[0];
	free(v);
	return first;
}

/* thr_prune - RFC 5256 3 step 3 on the siblings from first (root: the
 * root set, whose dummies with several children stay); returns the new
 * first */
static size_t
thr_prune(struct thr *t, size_t first, size_t parent, int root)
{
	size_t c, next, head = THR_NONE, *tail = &head, k;

	for (c = first; c != THR_NONE; c = next) {
		next = t->n[c].next;
		t->n[c].next = THR_NONE;
		t->n[c].child = thr_prune(t, t->n[c].child, c, 0);
		if (t->n[c].msg == NULL && t->n[c].child == THR_NONE)
			continue; /* a dummy without children goes */
		if (t->n[c].msg == NULL &&
		    (!root || t->n[t->n[c].child].next == THR_NONE)) {
			/* its children take its place */
			*tail = t->n[c].child;
			for (k = t->n[c].child; k != THR_NONE;
			     k = t->n[k].next) {
				t->n[k].parent = parent;
				tail = &t->n[k].next;
			}
			continue;
		}
		t->n[c].parent = parent;
		*tail = c;
		tail = &t->n[c].next;
	}
	return head;
}

/* thr_group - RFC 5256 3 step 5: root-set members of one base subject
 * gathered; returns the new first of the root set.  The members and
 * their subjects are taken once, before any is moved: gathering
 * reorders a dummy's children, which would change the subject its
 * first child lends it, and a dummy made here is never a member. */
static size_t
thr_group(struct thr *t, size_t first)
{
	struct htab *subj = htab_new();
	const struct sort_item *it, *ot;
	const struct sort_item **key = NULL;
	size_t *v = NULL, n = 0, i, c, o, d, head, *pp, k, last;
	uintptr_t got;

	for (c = first; c != THR_NONE; c = t->n[c].next) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		key = xreallocarray(key, n + 1, sizeof(*key));
		v[n] = c;
		key[n++] = thr_first(t, c);
	}
	for (i = 0; i < n; i++) {
		c = v[i];
		if ((it = key[i]) == NULL || it->str[0][0] == '\0')
			continue;
		got = (uintptr_t)htab_get(subj, it->str[0], strlen(it->str[0]));
		if (got != 0) {
			/* a dummy beats a message; a non-reply message
			 * beats a reply message */
			o = v[got - 1];
			ot = key[got - 1];
			if (!(t->n[c].msg == NULL && t->n[o].msg != NULL) &&
			    !(t->n[o].msg != NULL && ot->reply && !it->reply))
				continue;
		}
		htab_put(subj, it->str[0], strlen(it->str[0]),
		    (void *)(uintptr_t)(i + 1));
	}
	/* from here on the table holds container + 1: the winner, or
	 * the dummy made to hold it */
	for (i = 0; i < n; i++) {
		if ((it = key[i]) == NULL || it->str[0][0] == '\0')
			continue;
		got = (uintptr_t)htab_get(subj, it->str[0], strlen(it->str[0]));
		if (got != 0 && got - 1 < n && v[got - 1] != THR_NONE)
			htab_put(subj, it->str[0], strlen(it->str[0]),
			    (void *)(uintptr_t)(v[got - 1] + 1 + n));
	}
	head = first;
	for (i = 0; i < n; i++) {
		c = v[i];
		if ((it = key[i]) == NULL || it->str[0][0] == '\0')
			continue;
		got = (uintptr_t)htab_get(subj, it->str[0], strlen(it->str[0]));
		/* c already gathered under a dummy made for it */
		if (got <= n || (o = (size_t)got - 1 - n) == c ||
		    t->n[c].parent != THR_NONE)
			continue;
		ot = thr_first(t, o);
		/* c leaves the root set */
		for (pp = &head; *pp != c; pp = &t->n[*pp].next)
			;
		*pp = t->n[c].next;
		t->n[c].next = THR_NONE;
		if (t->n[o].msg == NULL && t->n[c].msg == NULL) {
			/* two dummies: c's children join o's */
			for (k = t->n[c].child; k != THR_NONE; k = last) {
				last = t->n[k].next;
				thr_link(t, o, k);
			}
			t->n[c].child = THR_NONE;
		} else if (t->n[o].msg == NULL ||
		    (it->reply && ot != NULL && !ot->reply)) {
			thr_link(t, o, c);
		} else {
			/* a new dummy holds both, where o was */
			d = thr_new(t, NULL);
			for (pp = &head; *pp != o; pp = &t->n[*pp].next)
				;
			*pp = d;
			t->n[d].next = t->n[o].next;
			t->n[o].next = THR_NONE;
			thr_link(t, d, o);
			thr_link(t, d, c);
			htab_put(subj, it->str[0], strlen(it->str[0]),
			    (void *)(uintptr_t)(d + 1 + n));
		}
	}
	htab_free(&subj);
	free(v);
	free(key);
	return head;
}

/* thr_put - one container and what is under it (RFC 5256 4 grammar:
 * a single child continues the run, several are nested lists) */
static void
thr_put(struct thr *t, size_t c)
{
	size_t k;

	for (;;) {
		if (t->n[c].msg != NULL)
			buf_printf(&t->out, "%u",
			    t->src->num(t->src->ctx, t->n[c].msg->msgno));
		k = t->n[c].child;
		if (k == THR_NONE)
			return;
		if (t->n[k].next == THR_NONE) {
			if (t->n[c].msg != NULL)
				buf_putc(&t->out, ' ');
			c = k;
			continue;
		}
		if (t->n[c].msg != NULL)
			buf_putc(&t->out, ' ');
		for (; k != THR_NONE; k = t->n[k].next) {
			buf_putc(&t->out, '(');
			thr_put(t, k);
			buf_putc(&t->out, ')');
		}
		return;
	}
}

/* thread_references - the THREAD REFERENCES response of items[0..n) */
void
thread_references(const struct thread_src *src, struct sort_item *items,
    size_t n, struct buf *res)
{
	struct thr t;
	const char *data;
	size_t i, len, root = THR_NONE, *tail = &root, c;

	memset(&t, 0, sizeof(t));
	t.ids = htab_new();
	t.src = src;
	for (i = 0; i < n; i++) {
		if (src->map(src->ctx, &items[i], &data, &len) != 0) {
			thr_message(&t, &items[i], "", 0);
			continue;
		}
		thr_message(&t, &items[i], data, sort_header_len(data, len));
		src->unmap(src->ctx, data, len);
	}
	/* step 2: the root set */
	for (c = 0; c < t.nn; c++)
		if (t.n[c].parent == THR_NONE) {
			*tail = c;
			tail = &t.n[c].next;
		}
	root = thr_prune(&t, root, THR_NONE, 1);
	root = thr_sort(&t, root, 1);
	root = thr_group(&t, root);
	root = thr_sort(&t, root, 1);
	buf_init(&t.out, 0);
	for (c = root; c != THR_NONE; c = t.n[c].next) {
		buf_putc(&t.out, '(');
		thr_put(&t, c);
		buf_putc(&t.out, ')');
	}
	buf_append(res, t.out.data, t.out.len);
	buf_free(&t.out);
	htab_free(&t.ids);
	free(t.n);
}

/*
 * thread_orderedsubject - by base subject, then sent date; each run of
 * one subject a thread whose first message is the parent of the others;
 * threads in the order of their first message's date
 */
void
thread_orderedsubject(const struct thread_src *src, struct sort_item *items,
    size_t n, struct buf *res)
{
	struct sort_ctx c, byfirst;
	struct sort_item *firsts;
	size_t i, j, nf = 0;

	memset(&c, 0, sizeof(c));
	c.crit[0].key = SK_SUBJECT;
	c.crit[1].key = SK_DATE;
	c.ncrit = 2;
	qsort_r(items, n, sizeof(*items), sort_cmp, &c);
	/* the threads' first messages, each with where its run starts */
	firsts = xcalloc(n + 1, sizeof(*firsts));
	for (i = 0; i < n; i++)
		if (i == 0 ||
		    strcasecmp(items[i].str[0], items[i - 1].str[0]) != 0) {
			firsts[nf] = items[i];
			firsts[nf].arrival = (int64_t)i; /* run start */
			nf++;
		}
	memset(&byfirst, 0, sizeof(byfirst));
	byfirst.crit[0].key = SK_DATE;
	byfirst.ncrit = 1;
	qsort_r(firsts, nf, sizeof(*firsts), sort_cmp, &byfirst);
	for (i = 0; i < nf; i++) {
		size_t at = (size_t)firsts[i].arrival, end = at + 1;

		while (end < n &&
		    strcasecmp(items[end].str[0], items[at].str[0]) == 0)
			end++;
		buf_printf(res, "(%u", src->num(src->ctx, items[at].msgno));
		if (end - at == 2)
			buf_printf(res, " %u",
			    src->num(src->ctx, items[at + 1].msgno));
		for (j = at + 1; end - at > 2 && j < end; j++)
			buf_printf(res, "%s(%u)", j == at + 1 ? " " : "",
			    src->num(src->ctx, items[j].msgno));
		buf_putc(res, ')');
	}
	free(firsts);
}

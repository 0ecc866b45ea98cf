/*
 * store_rebuild - berthctl reconstruct and check: the database rebuilt
 * from, or compared with, the users' journals (store_journal.c) and the
 * message files.
 *
 * Reconstruct writes what a journal says, with the journal's mailbox
 * ids, UIDVALIDITY, UIDs, modseqs, flags, keywords and dates, so clients
 * see the same mailboxes and need download nothing again.  It never
 * deletes a file unless asked to purge, and the records it drops do not
 * put files on the gone list: a file is only ever swept after a client's
 * expunge or delete.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "store_int.h"
#include "xalloc.h"

#define REBUILD_CHUNK 200 /* messages per transaction */

int store_msgs_drop(struct store *st, DB_TXN *txn, uint32_t mboxid);

static void store_report(store_report_fn *fn, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
store_report(store_report_fn *fn, void *ctx, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fn(line, ctx);
}

static int
store_users_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
store_users(struct store *st, char ***users_r, size_t *n_r,
    const char **error_r)
{
	DBC *c;
	DBT k, v;
	size_t ul;
	int r;

	*users_r = NULL;
	*n_r = 0;
	if ((r = st->mboxes->cursor(st->mboxes, NULL, &c, DB_READ_COMMITTED)) !=
	    0)
		return store_dberr(st, error_r, "mailboxes", r);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	for (r = c->get(c, &k, &v, DB_NEXT); r == 0;
	     r = c->get(c, &k, &v, DB_NEXT)) {
		ul = strnlen(k.data, k.size);
		if (*n_r > 0 && strlen((*users_r)[*n_r - 1]) == ul &&
		    memcmp((*users_r)[*n_r - 1], k.data, ul) == 0)
			continue;
		*users_r = xreallocarray(*users_r, *n_r + 1, sizeof(**users_r));
		(*users_r)[(*n_r)++] = xstrndup(k.data, ul);
	}
	c->close(c);
	if (r != DB_NOTFOUND)
		return store_dberr(st, error_r, "mailboxes", r);
	return 0;
}

/* store_users_union - sorted union of a and b (both freed) */
static void
store_users_union(char **a, size_t na, char **b, size_t nb, char ***out_r,
    size_t *n_r)
{
	char **out = xcalloc(na + nb + 1, sizeof(*out));
	size_t n = 0, i;

	for (i = 0; i < na; i++)
		out[n++] = a[i];
	for (i = 0; i < nb; i++)
		out[n++] = b[i];
	free(a);
	free(b);
	xqsort(out, n, sizeof(*out), store_users_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(out[i], out[i - 1]) == 0) {
			free(out[i - 1]);
			out[i - 1] = NULL;
		}
	*n_r = 0;
	for (i = 0; i < n; i++)
		if (out[i] != NULL)
			out[(*n_r)++] = out[i];
	*out_r = out;
}

/* store_jmsgs_of - the first of js's messages in mailbox id, and how
 * many */
static struct store_jmsg *
store_jmsgs_of(const struct store_jstate *js, uint32_t id, size_t *n_r)
{
	size_t lo = 0, hi = js->nmsgs, mid, n;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (js->msgs[mid].mboxid < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (n = 0; lo + n < js->nmsgs && js->msgs[lo + n].mboxid == id; n++)
		;
	*n_r = n;
	return js->msgs + lo;
}

/* ---- reconstruct ---- */

struct store_rb_arg {
	const char *user, *name;
	const struct store_jmbox *jm;
	struct store_jmsg *msgs;
	size_t n;
	struct store_mbox counts;
};

/* store_op_rb_drop - remove mailbox name of user (records only) */
static int
store_op_rb_drop(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_rb_arg *a = varg;
	struct store_mrec rec;
	int r;

	if ((r = store_mrec_get(st, txn, a->user, a->name, &rec, 1)) != 0)
		return r == DB_NOTFOUND ? 0 : r;
	if ((r = store_msgs_drop(st, txn, rec.mb.id)) != 0)
		return r;
	return store_mrec_del(st, txn, a->user, a->name, &rec);
}

/* store_op_rb_subs - user's subscriptions as the journal says */
static int
store_op_rb_subs(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_rb_arg *a = varg;
	const struct store_jstate *js = (const void *)a->jm;
	char kb[2048];
	size_t i;
	DBT k, v;
	int r;

	if ((r = store_sub_walk(st, txn, 0, a->user, 1, NULL, NULL)) != 0)
		return r;
	for (i = 0; i < js->nsubs; i++) {
		store_mkey(&k, kb, sizeof(kb), a->user, js->subs[i]);
		memset(&v, 0, sizeof(v));
		v.data = (void *)"";
		v.size = 1;
		if ((r = st->subs->put(st->subs, txn, &k, &v, 0)) != 0)
			return r;
	}
	return 0;
}

/* store_op_rb_mbox - the mailbox record, its expunges, the counters */
static int
store_op_rb_mbox(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_rb_arg *a = varg;
	struct store_mrec rec;
	struct store_ikey ik;
	uint32_t x;
	size_t i;
	DBT k, v;
	int r;

	memset(&rec, 0, sizeof(rec));
	rec.mb = a->counts;
	rec.mb.id = a->jm->id;
	rec.mb.uidvalidity = a->jm->uidvalidity;
	rec.mb.uidnext = a->jm->uidnext;
	rec.mb.recentuid = a->jm->recentuid;
	rec.mb.highestmodseq = a->jm->hms;
	rec.mb.attrs = a->jm->attrs;
	rec.jseq = a->jm->jseq > 0 ? a->jm->jseq - 1 : 0;
	if ((r = store_mrec_put(st, txn, a->user, a->jm->name, &rec, 0)) != 0)
		return r;
	/* the counters never hand out an id or UIDVALIDITY again */
	if ((r = store_meta_next(st, txn, "mailbox-id", a->jm->id, &x)) != 0 ||
	    (r = store_meta_next(st, txn, "uidvalidity", a->jm->uidvalidity,
		 &x)) != 0)
		return r;
	for (i = 0; i < a->n; i++) {
		uint64_t ms = a->msgs[i].m.modseq;

		if (a->msgs[i].kind != 'X')
			continue;
		store_ikey(&ik, a->jm->id, a->msgs[i].m.uid);
		store_dbt_key(&k, &v, &ik, sizeof(ik));
		v.data = &ms;
		v.size = sizeof(ms);
		if ((r = st->expunged->put(st->expunged, txn, &k, &v, 0)) != 0)
			return r;
	}
	return 0;
}

/* store_op_rb_msgs - a chunk of messages: records, refs, cache */
static int
store_op_rb_msgs(struct store *st, DB_TXN *txn, void *varg)
{
	struct store_rb_arg *a = varg;
	size_t i;
	int r = 0;

	for (i = 0; i < a->n && r == 0; i++)
		if (a->msgs[i].kind == 'I')
			r = store_redo_add(st, txn, a->jm->id, &a->msgs[i].m);
	return r;
}

/* store_rb_files - check the files of a mailbox's messages: a missing
 * one is reported and left out (kind '-'); counts what stays */
static size_t
store_rb_files(struct store *st, const char *user, const struct store_jmbox *jm,
    struct store_jmsg *msgs, size_t n, struct store_mbox *counts,
    store_report_fn *fn, void *ctx)
{
	struct stat sb;
	size_t i, missing = 0;
	char *path;

	memset(counts, 0, sizeof(*counts));
	for (i = 0; i < n; i++) {
		struct store_msg *m = &msgs[i].m;

		if (msgs[i].kind != 'I')
			continue;
		path = store_file_path(st, m->guid);
		if (stat(path, &sb) < 0) {
			store_report(fn, ctx,
			    "missing user=%s mailbox=%s "
			    "uid=%u file=%s: left out",
			    user, jm->name, m->uid, path);
			msgs[i].kind = '-';
			missing++;
		} else {
			if ((uint64_t)sb.st_size != m->size)
				store_report(fn, ctx,
				    "size user=%s mailbox=%s "
				    "uid=%u file=%s journal=%" PRIu64
				    " file=%lld",
				    user, jm->name, m->uid, path, m->size,
				    (long long)sb.st_size);
			counts->exists++;
			counts->size += m->size;
			if (!(m->flags & STORE_F_SEEN))
				counts->unseen++;
		}
		free(path);
	}
	return missing;
}

/* store_rb_user - rebuild user (or only its mailbox) from its journal */
static int
store_rb_user(struct store *st, const char *user, const char *mailbox,
    store_report_fn *fn, void *ctx, const char **error_r)
{
	struct store_jstate js;
	struct store_rb_arg a;
	char **names;
	size_t nnames, i, n, off, problems = 0, msgs = 0, mboxes = 0;
	int r;

	if (store_jnl_read(st, user, &js, error_r) < 0)
		return -1;
	if (js.bad > 0)
		store_report(fn, ctx,
		    "journal user=%s bad_lines=%zu "
		    "(skipped)",
		    user, js.bad);
	memset(&a, 0, sizeof(a));
	a.user = user;
	if ((r = store_user_names(st, NULL, user, &names, &nnames)) != 0) {
		store_jstate_free(&js);
		return store_dberr(st, error_r, "mailboxes", r);
	}
	for (i = 0, r = 0; i < nnames && r == 0; i++) {
		if (mailbox != NULL && strcmp(names[i], mailbox) != 0)
			continue;
		a.name = names[i];
		r = store_run(st, store_op_rb_drop, &a, error_r);
	}
	store_names_free(names, nnames);
	if (r == 0 && mailbox == NULL) {
		a.jm = (const void *)&js;
		r = store_run(st, store_op_rb_subs, &a, error_r);
	}
	for (i = 0; i < js.nmboxes && r == 0; i++) {
		if (mailbox != NULL && strcmp(js.mboxes[i].name, mailbox) != 0)
			continue;
		a.jm = &js.mboxes[i];
		a.msgs = store_jmsgs_of(&js, a.jm->id, &n);
		a.n = n;
		problems += store_rb_files(st, user, a.jm, a.msgs, n, &a.counts,
		    fn, ctx);
		if ((r = store_run(st, store_op_rb_mbox, &a, error_r)) != 0)
			break;
		mboxes++;
		for (off = 0; off < n && r == 0; off += REBUILD_CHUNK) {
			a.msgs = store_jmsgs_of(&js, a.jm->id, &n) + off;
			a.n = n - off < REBUILD_CHUNK ? n - off : REBUILD_CHUNK;
			r = store_run(st, store_op_rb_msgs, &a, error_r);
		}
		msgs += a.counts.exists;
	}
	/* the usage from the records just written, whatever it said
	 * before; the limits the journal kept */
	if (r == 0 && (r = store_quota_recount(st, user, error_r)) == 0 &&
	    mailbox == NULL && js.has_quota)
		r = store_quota_set(st, user, js.quota_storage,
		    js.quota_messages, error_r);
	if (r == 0)
		store_report(fn, ctx,
		    "reconstructed user=%s mailboxes=%zu "
		    "messages=%zu subscriptions=%zu missing=%zu",
		    user, mboxes, msgs, mailbox == NULL ? js.nsubs : 0,
		    problems);
	store_jstate_free(&js);
	if (r != 0)
		return -1;
	return (int)problems;
}

/* store_rb_orphans - report (with purge: remove) message files nothing
 * refers to */
static int
store_rb_orphans(struct store *st, int purge, store_report_fn *fn, void *ctx)
{
	char *sub, *path;
	struct dirent *de;
	struct stat sb;
	DIR *d;
	DBT k, v;
	uint32_t n;
	int i, found = 0;

	for (i = 0; i < 256; i++) {
		sub = xasprintf("%s/%02x", st->partdir, i);
		if ((d = opendir(sub)) == NULL) {
			free(sub);
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (strlen(de->d_name) != 40)
				continue;
			store_dbt_key(&k, &v, de->d_name, 40);
			v.data = &n;
			v.ulen = sizeof(n);
			v.flags = DB_DBT_USERMEM;
			if (st->refs->get(st->refs, NULL, &k, &v,
				DB_READ_COMMITTED) == 0)
				continue;
			path = xasprintf("%s/%s", sub, de->d_name);
			found++;
			if (stat(path, &sb) < 0)
				sb.st_size = 0;
			if (purge && unlink(path) == 0)
				store_report(fn, ctx,
				    "orphan file=%s size=%lld "
				    "purged",
				    path, (long long)sb.st_size);
			else
				store_report(fn, ctx,
				    "orphan file=%s size=%lld "
				    "(in no mailbox; kept, --purge removes)",
				    path, (long long)sb.st_size);
			free(path);
		}
		closedir(d);
		free(sub);
	}
	return found;
}

int
store_reconstruct(struct store *st, const char *user, const char *mailbox,
    int flags, store_report_fn *fn, void *ctx, const char **error_r)
{
	char **ju, **du, **users;
	size_t nju, ndu, n, i;
	int r = 0, problems = 0, orphans;

	if (user != NULL) {
		char *m = mailbox ? xstrdup(mailbox) : NULL;

		if (m != NULL && strncasecmp(m, "INBOX", 5) == 0 &&
		    (m[5] == '\0' || m[5] == '/'))
			memcpy(m, "INBOX", 5);
		st->jquiet = 1;
		st->nogone = 1;
		r = store_rb_user(st, user, m, fn, ctx, error_r);
		st->jquiet = st->nogone = 0;
		free(m);
		return r;
	}
	if (store_jnl_users(st, &ju, &nju) < 0)
		return store_fail(st, error_r, "journal directory: %s",
		    strerror(errno));
	if (store_users(st, &du, &ndu, error_r) < 0) {
		store_names_free(ju, nju);
		return -1;
	}
	store_users_union(ju, nju, du, ndu, &users, &n);
	/* journals not known complete beside a database known complete
	 * (mail older than the journals): the database's records are
	 * added to every journal first */
	if ((r = store_meta_marked(st, "complete", error_r)) > 0 &&
	    (r = store_jboot_marked(st, error_r)) == 0)
		r = store_jboot_all(st, fn, ctx, error_r);
	for (i = 0; i < n && r >= 0; i++) {
		char *path = store_jnl_path(st, users[i]);

		/* a user the database knows and no journal does: its
		 * journal is written from the database, then replayed */
		if (access(path, F_OK) != 0)
			r = store_jboot_user(st, users[i], fn, ctx, error_r);
		free(path);
		if (r < 0)
			break;
		st->jquiet = 1;
		st->nogone = 1;
		if ((r = store_rb_user(st, users[i], NULL, fn, ctx, error_r)) >
		    0)
			problems += r;
		st->jquiet = st->nogone = 0;
	}
	st->jquiet = st->nogone = 0;
	store_names_free(users, n);
	if (r < 0)
		return -1;
	if (store_jboot_mark(st, error_r) < 0 ||
	    store_mark_complete(st, error_r) < 0)
		return -1;
	orphans = store_rb_orphans(st, flags & STORE_REBUILD_PURGE, fn, ctx);
	store_report(fn, ctx,
	    "reconstruct done users=%zu missing=%d "
	    "orphans=%d",
	    n, problems, orphans);
	return problems;
}

/* ---- check ---- */

static const struct store_jmbox *
store_jmbox_byname(const struct store_jstate *js, const char *name)
{
	size_t i;

	for (i = 0; i < js->nmboxes; i++)
		if (strcmp(js->mboxes[i].name, name) == 0)
			return &js->mboxes[i];
	return NULL;
}

struct store_ck_subs {
	const struct store_jstate *js;
	char **seen;
	size_t n;
};

static int
store_ck_sub(const char *name, void *ctx)
{
	struct store_ck_subs *c = ctx;

	c->seen = xreallocarray(c->seen, c->n + 1, sizeof(*c->seen));
	c->seen[c->n++] = xstrdup(name);
	return 0;
}

/* store_ck_msgs - DB messages of mailbox name against the journal's */
static int
store_ck_msgs(struct store *st, const char *user, const char *name,
    const struct store_mbox *mb, const struct store_jstate *js,
    store_report_fn *fn, void *ctx)
{
	struct store_msg *dm = NULL;
	struct store_jmsg *jm;
	struct store_mbox cur;
	struct stat sb;
	const char *err;
	size_t nd = 0, nj, i = 0, j = 0;
	char *path;
	int diffs = 0;

	if (store_msg_list(st, mb->id, &cur, &dm, &nd, &err) < 0) {
		store_report(fn, ctx, "differ user=%s mailbox=%s: %s", user,
		    name, err);
		return 1;
	}
	jm = store_jmsgs_of(js, mb->id, &nj);
	while (i < nd || j < nj) {
		if (j < nj && jm[j].kind != 'I') {
			j++;
			continue;
		}
		if (j >= nj || (i < nd && dm[i].uid < jm[j].m.uid)) {
			store_report(fn, ctx,
			    "differ user=%s mailbox=%s "
			    "uid=%u: in the database, not in the journal",
			    user, name, dm[i].uid);
			diffs++;
			i++;
			continue;
		}
		if (i >= nd || jm[j].m.uid < dm[i].uid) {
			store_report(fn, ctx,
			    "differ user=%s mailbox=%s "
			    "uid=%u: in the journal, not in the database",
			    user, name, jm[j].m.uid);
			diffs++;
			j++;
			continue;
		}
		if (dm[i].flags != jm[j].m.flags ||
		    dm[i].modseq != jm[j].m.modseq ||
		    dm[i].internaldate != jm[j].m.internaldate ||
		    dm[i].size != jm[j].m.size ||
		    strcmp(dm[i].guid, jm[j].m.guid) != 0 ||
		    strcmp(dm[i].keywords, jm[j].m.keywords) != 0) {
			store_report(fn, ctx,
			    "differ user=%s mailbox=%s "
			    "uid=%u: database flags=%u modseq=%" PRIu64
			    " keywords=\"%s\" guid=%s, journal flags=%u "
			    "modseq=%" PRIu64 " keywords=\"%s\" guid=%s",
			    user, name, dm[i].uid, dm[i].flags, dm[i].modseq,
			    dm[i].keywords, dm[i].guid, jm[j].m.flags,
			    jm[j].m.modseq, jm[j].m.keywords, jm[j].m.guid);
			diffs++;
		}
		path = store_file_path(st, dm[i].guid);
		if (stat(path, &sb) < 0) {
			store_report(fn, ctx,
			    "differ user=%s mailbox=%s "
			    "uid=%u: file %s missing",
			    user, name, dm[i].uid, path);
			diffs++;
		} else if ((uint64_t)sb.st_size != dm[i].size) {
			store_report(fn, ctx,
			    "differ user=%s mailbox=%s "
			    "uid=%u: file %s has %lld bytes, the record "
			    "%" PRIu64,
			    user, name, dm[i].uid, path, (long long)sb.st_size,
			    dm[i].size);
			diffs++;
		}
		free(path);
		i++;
		j++;
	}
	free(dm);
	return diffs;
}

static int
store_ck_user(struct store *st, const char *user, store_report_fn *fn,
    void *ctx, const char **error_r)
{
	struct store_jstate js;
	struct store_ck_subs cs;
	struct store_mrec rec;
	const struct store_jmbox *jm;
	char **names;
	size_t n, i, j;
	int r, diffs = 0;

	if (store_jnl_read(st, user, &js, error_r) < 0)
		return -1;
	if (js.bad > 0) {
		store_report(fn, ctx,
		    "differ user=%s: %zu journal lines not "
		    "understood",
		    user, js.bad);
		diffs++;
	}
	if ((r = store_user_names(st, NULL, user, &names, &n)) != 0) {
		store_jstate_free(&js);
		return store_dberr(st, error_r, "mailboxes", r);
	}
	for (i = 0; i < n; i++) {
		if (store_mrec_get(st, NULL, user, names[i], &rec, 0) != 0)
			continue;
		if ((jm = store_jmbox_byname(&js, names[i])) == NULL) {
			store_report(fn, ctx,
			    "differ user=%s mailbox=%s: in "
			    "the database, not in the journal",
			    user, names[i]);
			diffs++;
			continue;
		}
		if (jm->id != rec.mb.id ||
		    jm->uidvalidity != rec.mb.uidvalidity ||
		    jm->uidnext != rec.mb.uidnext ||
		    jm->hms != rec.mb.highestmodseq ||
		    jm->attrs != rec.mb.attrs) {
			store_report(fn, ctx,
			    "differ user=%s mailbox=%s: "
			    "database id=%u uidvalidity=%u uidnext=%u "
			    "highestmodseq=%" PRIu64 ", journal id=%u "
			    "uidvalidity=%u uidnext=%u highestmodseq=%" PRIu64,
			    user, names[i], rec.mb.id, rec.mb.uidvalidity,
			    rec.mb.uidnext, rec.mb.highestmodseq, jm->id,
			    jm->uidvalidity, jm->uidnext, jm->hms);
			diffs++;
		}
		diffs +=
		    store_ck_msgs(st, user, names[i], &rec.mb, &js, fn, ctx);
	}
	for (i = 0; i < js.nmboxes; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(names[j], js.mboxes[i].name) == 0)
				break;
		if (j == n) {
			store_report(fn, ctx,
			    "differ user=%s mailbox=%s: in "
			    "the journal, not in the database",
			    user, js.mboxes[i].name);
			diffs++;
		}
	}
	store_names_free(names, n);
	memset(&cs, 0, sizeof(cs));
	if (store_sub_list(st, user, store_ck_sub, &cs, error_r) == 0) {
		xqsort(cs.seen, cs.n, sizeof(*cs.seen), store_users_cmp);
		for (i = 0, j = 0; i < cs.n || j < js.nsubs;) {
			int c = i >= cs.n   ? 1
			    : j >= js.nsubs ? -1
					    : strcmp(cs.seen[i], js.subs[j]);

			if (c != 0) {
				store_report(fn, ctx,
				    "differ user=%s "
				    "subscription=%s: only in the %s",
				    user, c < 0 ? cs.seen[i] : js.subs[j],
				    c < 0 ? "database" : "journal");
				diffs++;
			}
			if (c <= 0)
				i++;
			if (c >= 0)
				j++;
		}
	}
	store_names_free(cs.seen, cs.n);
	r = store_quota_check(st, user, &js, fn, ctx, error_r);
	store_jstate_free(&js);
	return r < 0 ? -1 : diffs + r;
}

int
store_check(struct store *st, const char *user, store_report_fn *fn, void *ctx,
    const char **error_r)
{
	char **ju, **du, **users;
	size_t nju, ndu, n, i;
	int r = 0, diffs = 0;

	if (user != NULL)
		return store_ck_user(st, user, fn, ctx, error_r);
	if (store_jnl_users(st, &ju, &nju) < 0)
		return store_fail(st, error_r, "journal directory: %s",
		    strerror(errno));
	if (store_users(st, &du, &ndu, error_r) < 0) {
		store_names_free(ju, nju);
		return -1;
	}
	store_users_union(ju, nju, du, ndu, &users, &n);
	for (i = 0; i < n && r >= 0; i++)
		if ((r = store_ck_user(st, users[i], fn, ctx, error_r)) > 0)
			diffs += r;
	store_names_free(users, n);
	return r < 0 ? -1 : diffs;
}

int
store_jnl_compact_all(struct store *st, const char **error_r)
{
	char **users;
	size_t n, i;
	int r = 0, done = 0;

	if (store_jnl_users(st, &users, &n) < 0)
		return store_fail(st, error_r, "journal directory: %s",
		    strerror(errno));
	for (i = 0; i < n && r >= 0; i++)
		if ((r = store_jnl_compact(st, users[i], 0, error_r)) > 0)
			done++;
	store_names_free(users, n);
	return r < 0 ? -1 : done;
}

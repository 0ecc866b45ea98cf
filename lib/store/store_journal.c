/*
 * store_journal - the spool's own record of everything the database
 * holds about a user's mail, so that berthctl reconstruct can rebuild
 * the database from the partition alone.
 *
 * One append-only text file per user, <partition>/journal/<user> (bytes
 * outside [A-Za-z0-9._@+-] and a leading '.' written %XX).  The first
 * line is "berth-journal\t1\t<bytes>\t<end>", <bytes> the size of the
 * lines when last compacted, <end> where they end now (20 digits each);
 * zeros follow the lines (written ahead, see store_jnl_put), and a
 * reader stops at the first NUL.  Then one line per record a committed
 * transaction wrote, fields separated by tabs, names and keywords with
 * '%', tab, CR and LF written %XX:
 *   B id jseq uidvalidity uidnext recentuid highestmodseq attrs name
 *   D id                                   mailbox deleted
 *   I id uid modseq flags internaldate tzoff savedate size guid keywords
 *   X id uid modseq                        message expunged
 *   S name / U name                        subscribed / unsubscribed
 * Each line is the whole record as written, so replay needs no history:
 * for a mailbox the B line with the highest jseq wins (bumped at every
 * write of its record, so renames are ordered too), and any D line ends
 * it; for a message X wins over I, and among I the highest modseq (every
 * change stamps a higher one).  Lines of concurrent writers may land in
 * either order without changing the result.
 *
 * Durability: the lines of a transaction are appended in one write()
 * after its commit and fdatasync'd before store_run returns, so every
 * acknowledged command is in the journal; a crash between commit and
 * write loses only what was never acknowledged (and the next write of
 * the same records carries them again).  A torn last line is ignored.
 *
 * Compaction (at checkpoints): under an exclusive flock the journal is
 * replayed and rewritten as its live records (and the expunges of live
 * mailboxes, for QRESYNC), fsync'd and renamed over the old one.
 * Writers flock the file around their append and reopen it when its
 * inode changed under them.
 *
 * Why a text journal per user beside the files, not extended attributes
 * or a header in each message file: message files are shared by content
 * between mailboxes and never rewritten (flags change often; a file's
 * bytes must stay what the client sent), a rename or a flag change on a
 * thousand messages is one line each instead of a thousand file writes,
 * a user's whole state is one file to copy, read or reconstruct from,
 * and an administrator can read it with less(1).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "store_int.h"
#include "xalloc.h"

#define JNL_MAGIC "berth-journal\t1\t"
#define JNL_END_OFF (sizeof(JNL_MAGIC) - 1 + 20 + 1)
#define JNL_HEADER_LEN (JNL_END_OFF + 20 + 1)
#define JNL_GROW (256 * 1024)	/* zeros written ahead at a time */
#define JNL_COMPACT_MIN (64 * 1024)

static int
store_jnl_safe(unsigned char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '@' || c == '+' ||
	    c == '-' || (c == '.' && !first);
}

char *
store_jnl_path(struct store *st, const char *user)
{
	struct buf b = BUF_INIT;
	const unsigned char *p;

	buf_printf(&b, "%s/journal/", st->partdir);
	for (p = (const unsigned char *)user; *p; p++) {
		if (store_jnl_safe(*p, p == (const unsigned char *)user))
			buf_putc(&b, (char)*p);
		else
			buf_printf(&b, "%%%02X", *p);
	}
	return buf_release(&b);
}

/* store_jnl_unpath - the user of a journal file name (malloc'ed) */
static char *
store_jnl_unpath(const char *name)
{
	struct buf b = BUF_INIT;
	unsigned int c;

	for (; *name; name++) {
		if (*name == '%' && sscanf(name + 1, "%2X", &c) == 1) {
			buf_putc(&b, (char)c);
			name += 2;
		} else {
			buf_putc(&b, *name);
		}
	}
	return buf_release(&b);
}

/* store_jnl_esc - s with '%', tab, CR, LF as %XX */
static void
store_jnl_esc(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '%' || *s == '\t' || *s == '\r' || *s == '\n')
			buf_printf(b, "%%%02X", (unsigned char)*s);
		else
			buf_putc(b, *s);
	}
}

static void
store_jnl_unesc(char *s)
{
	char *o = s;
	unsigned int c;

	for (; *s; s++) {
		if (*s == '%' && sscanf(s + 1, "%2X", &c) == 1) {
			*o++ = (char)c;
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

void
store_jnl_reset(struct store *st)
{
	size_t i;

	for (i = 0; i < st->njlines; i++) {
		free(st->jlines[i].user);
		free(st->jlines[i].line);
	}
	st->njlines = 0;
}

static void
store_jnl_add(struct store *st, uint32_t mboxid, const char *user,
    struct buf *line)
{
	struct store_jline *j;

	if (st->jquiet) {
		buf_free(line);
		return;
	}
	if (st->njlines == st->jlines_size) {
		st->jlines_size = st->jlines_size ? st->jlines_size * 2 : 16;
		st->jlines = xreallocarray(st->jlines, st->jlines_size,
		    sizeof(*st->jlines));
	}
	j = &st->jlines[st->njlines++];
	j->mboxid = mboxid;
	j->user = user ? xstrdup(user) : NULL;
	buf_putc(line, '\n');
	j->line = buf_release(line);
}

/* store_jnl_bline - the B line of a mailbox record */
static void
store_jnl_bline(struct buf *b, const char *name, const struct store_mrec *rec)
{
	buf_printf(b, "B\t%u\t%" PRIu64 "\t%u\t%u\t%u\t%" PRIu64 "\t%u\t",
	    rec->mb.id, rec->jseq, rec->mb.uidvalidity, rec->mb.uidnext,
	    rec->mb.recentuid, rec->mb.highestmodseq, rec->mb.attrs);
	store_jnl_esc(b, name);
}

void
store_jnl_mbox(struct store *st, const char *user, const char *name,
    const struct store_mrec *rec)
{
	struct buf b = BUF_INIT;

	store_jnl_bline(&b, name, rec);
	store_jnl_add(st, rec->mb.id, user, &b);
}

void
store_jnl_mbox_gone(struct store *st, const char *user, uint32_t id)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "D\t%u", id);
	store_jnl_add(st, id, user, &b);
}

static void
store_jnl_iline(struct buf *b, uint32_t mboxid, const struct store_msg *m)
{
	buf_printf(b, "I\t%u\t%u\t%" PRIu64 "\t%u\t%" PRId64 "\t%d\t%"
	    PRId64 "\t%" PRIu64 "\t%.40s\t", mboxid, m->uid, m->modseq,
	    m->flags, m->internaldate, (int)m->tzoff, m->savedate, m->size,
	    m->guid);
	store_jnl_esc(b, m->keywords);
}

void
store_jnl_msg(struct store *st, uint32_t mboxid, const struct store_msg *m)
{
	struct buf b = BUF_INIT;

	store_jnl_iline(&b, mboxid, m);
	store_jnl_add(st, mboxid, NULL, &b);
}

void
store_jnl_expunge(struct store *st, uint32_t mboxid, uint32_t uid,
    uint64_t modseq)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "X\t%u\t%u\t%" PRIu64, mboxid, uid, modseq);
	store_jnl_add(st, mboxid, NULL, &b);
}

void
store_jnl_sub(struct store *st, const char *user, const char *name,
    int subscribed)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, subscribed ? "S\t" : "U\t");
	store_jnl_esc(&b, name);
	store_jnl_add(st, 0, user, &b);
}

/* store_jnl_header - the first line, for a file compacted at bytes
 * whose lines end at end */
static void
store_jnl_header(struct buf *b, unsigned long long bytes,
    unsigned long long end)
{
	buf_printf(b, "%s%020llu\t%020llu\n", JNL_MAGIC, bytes, end);
}

/* store_jnl_text_len - where the lines of a journal's bytes end: at the
 * first NUL (the zeros written ahead) */
static size_t
store_jnl_text_len(const char *data, size_t len)
{
	const char *z = memchr(data, '\0', len);

	return z != NULL ? (size_t)(z - data) : len;
}

static int
store_jnl_write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * store_jnl_open_locked - open user's journal for appending under an
 * exclusive flock, creating it (with its header, the directory fsync'd)
 * when missing; the fd is of the file now at path, not one compaction
 * replaced
 */
static int
store_jnl_open_locked(struct store *st, const char *path)
{
	struct stat a, b;
	struct buf h = BUF_INIT;
	char *dir;
	int fd, tries;

	for (tries = 0; tries < 100; tries++) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0 && errno == ENOENT) {
			dir = xasprintf("%s/journal", st->partdir);
			if (mkdir(dir, 0750) == 0)
				store_fsync_dir(st->partdir);
			free(dir);
			fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
		}
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX) < 0 || fstat(fd, &a) < 0) {
			close(fd);
			return -1;
		}
		if (stat(path, &b) == 0 && a.st_ino == b.st_ino) {
			if (a.st_size == 0) {
				/* new: the header, and the name made durable */
				store_jnl_header(&h, 0, JNL_HEADER_LEN);
				if (store_jnl_write_all(fd, h.data,
				    h.len) < 0) {
					buf_free(&h);
					close(fd);
					return -1;
				}
				buf_free(&h);
				dir = xasprintf("%s/journal", st->partdir);
				store_fsync_dir(dir);
				free(dir);
			}
			return fd;
		}
		close(fd);	/* compacted meanwhile: the new file */
	}
	errno = EAGAIN;
	return -1;
}

static int
store_jnl_pwrite_all(int fd, const char *data, size_t len, off_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, data, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/*
 * store_jnl_put - write text at the end of the lines of the journal at
 * fd (locked), and the new end into its header.  The file is kept
 * JNL_GROW of zeros longer than its lines, written and fsync'd ahead, so
 * that an append changes neither the file's size nor its block map and
 * the fdatasync after it flushes data only (one journal commit less per
 * command than an append that grows the file).
 */
static int
store_jnl_put(int fd, const char *text, size_t len)
{
	static const char zeros[4096];
	char h[JNL_HEADER_LEN + 1], num[24];
	unsigned long long end = 0;
	struct stat sb;
	off_t off;

	if (fstat(fd, &sb) < 0)
		return -1;
	if (pread(fd, h, JNL_HEADER_LEN, 0) == (ssize_t)JNL_HEADER_LEN &&
	    memcmp(h, JNL_MAGIC, sizeof(JNL_MAGIC) - 1) == 0 &&
	    h[JNL_END_OFF - 1] == '\t') {
		h[JNL_HEADER_LEN - 1] = '\0';
		end = strtoull(h + JNL_END_OFF, NULL, 10);
	}
	if (end < JNL_HEADER_LEN || end > (unsigned long long)sb.st_size)
		return -1;
	if (end + len > (unsigned long long)sb.st_size) {
		/* zeros ahead, made durable with the size before use */
		for (off = sb.st_size; (unsigned long long)off <
		    end + len + JNL_GROW; off += (off_t)sizeof(zeros))
			if (store_jnl_pwrite_all(fd, zeros, sizeof(zeros),
			    off) < 0)
				return -1;
		if (fsync(fd) < 0)
			return -1;
	}
	if (store_jnl_pwrite_all(fd, text, len, (off_t)end) < 0)
		return -1;
	snprintf(num, sizeof(num), "%020llu", end + len);
	return store_jnl_pwrite_all(fd, num, 20, (off_t)JNL_END_OFF);
}

/* store_jnl_append - append text to user's journal and make it durable */
static int
store_jnl_append(struct store *st, const char *user, const char *text,
    size_t len, const char **error_r)
{
	char *path = store_jnl_path(st, user);
	int fd, r;

	if ((fd = store_jnl_open_locked(st, path)) < 0) {
		r = store_fail(st, error_r, "journal %s: %s", path,
		    strerror(errno));
		free(path);
		return r;
	}
	r = store_jnl_put(fd, text, len);
	flock(fd, LOCK_UN);
	if (r == 0)
		r = fdatasync(fd);
	if (r < 0)
		store_fail(st, error_r, "journal %s: %s", path,
		    strerror(errno));
	close(fd);
	free(path);
	return r;
}

int
store_jnl_flush(struct store *st, const char **error_r)
{
	struct buf text = BUF_INIT;
	const char *user;
	size_t i, j;
	int r = 0;

	/* a message line belongs to the user of its mailbox's line */
	for (i = 0; i < st->njlines; i++) {
		if (st->jlines[i].user != NULL)
			continue;
		for (j = 0; j < st->njlines; j++)
			if (st->jlines[j].user != NULL &&
			    st->jlines[j].mboxid == st->jlines[i].mboxid) {
				st->jlines[i].user =
				    xstrdup(st->jlines[j].user);
				break;
			}
		if (st->jlines[i].user == NULL)
			log_error("journal: no user for mailbox id=%u; line "
			    "dropped: %s", st->jlines[i].mboxid,
			    st->jlines[i].line);
	}
	/* one write per user, in the transaction's order */
	for (i = 0; i < st->njlines && r == 0; i++) {
		if ((user = st->jlines[i].user) == NULL ||
		    st->jlines[i].line == NULL)
			continue;
		buf_reset(&text);
		for (j = i; j < st->njlines; j++) {
			if (st->jlines[j].user == NULL ||
			    st->jlines[j].line == NULL ||
			    strcmp(st->jlines[j].user, user) != 0)
				continue;
			buf_puts(&text, st->jlines[j].line);
			free(st->jlines[j].line);
			st->jlines[j].line = NULL;
		}
		r = store_jnl_append(st, user, text.data, text.len, error_r);
		if (r < 0)
			log_error("journal write failed user=%s: %s "
			    "(committed, not acknowledged)", user, *error_r);
	}
	buf_free(&text);
	store_jnl_reset(st);
	return r;
}

/* ---- replay ---- */

struct store_jraw {
	struct store_jmbox *mboxes;
	size_t nmboxes;
	uint32_t *gone;
	size_t ngone;
	struct store_jmsg *msgs;
	size_t nmsgs;
	char **subs;		/* "S<name>" / "U<name>" in order */
	size_t nsubs;
};

/* store_jnl_fields - split line at tabs into at most max fields */
static size_t
store_jnl_fields(char *line, char **f, size_t max)
{
	size_t n = 0;

	f[n++] = line;
	while (n < max && (line = strchr(line, '\t')) != NULL) {
		*line++ = '\0';
		f[n++] = line;
	}
	return n;
}

static int
store_jnl_parse(struct store_jraw *raw, char *line)
{
	char *f[11];
	size_t n = store_jnl_fields(line, f, 11);

	if (line[0] == '\0' || line[1] != '\0')
		return -1;
	if (line[0] == 'B' && n == 9) {
		struct store_jmbox mb;

		memset(&mb, 0, sizeof(mb));
		if (sscanf(f[1], "%u", &mb.id) != 1 ||
		    sscanf(f[2], "%" SCNu64, &mb.jseq) != 1 ||
		    sscanf(f[3], "%u", &mb.uidvalidity) != 1 ||
		    sscanf(f[4], "%u", &mb.uidnext) != 1 ||
		    sscanf(f[5], "%u", &mb.recentuid) != 1 ||
		    sscanf(f[6], "%" SCNu64, &mb.hms) != 1 ||
		    sscanf(f[7], "%u", &mb.attrs) != 1 || *f[8] == '\0')
			return -1;
		store_jnl_unesc(f[8]);
		mb.name = xstrdup(f[8]);
		raw->mboxes = xreallocarray(raw->mboxes, raw->nmboxes + 1,
		    sizeof(*raw->mboxes));
		raw->mboxes[raw->nmboxes++] = mb;
		return 0;
	}
	if (line[0] == 'D' && n == 2) {
		uint32_t id;

		if (sscanf(f[1], "%u", &id) != 1)
			return -1;
		raw->gone = xreallocarray(raw->gone, raw->ngone + 1,
		    sizeof(*raw->gone));
		raw->gone[raw->ngone++] = id;
		return 0;
	}
	if ((line[0] == 'I' && n == 11) || (line[0] == 'X' && n == 4)) {
		struct store_jmsg jm;
		int tz = 0;

		memset(&jm, 0, sizeof(jm));
		jm.kind = line[0];
		if (sscanf(f[1], "%u", &jm.mboxid) != 1 ||
		    sscanf(f[2], "%u", &jm.m.uid) != 1 ||
		    sscanf(f[3], "%" SCNu64, &jm.m.modseq) != 1)
			return -1;
		if (jm.kind == 'I' && (sscanf(f[4], "%u", &jm.m.flags) != 1 ||
		    sscanf(f[5], "%" SCNd64, &jm.m.internaldate) != 1 ||
		    sscanf(f[6], "%d", &tz) != 1 ||
		    sscanf(f[7], "%" SCNd64, &jm.m.savedate) != 1 ||
		    sscanf(f[8], "%" SCNu64, &jm.m.size) != 1 ||
		    strlen(f[9]) != 40))
			return -1;
		if (jm.kind == 'I') {
			jm.m.tzoff = (int32_t)tz;
			memcpy(jm.m.guid, f[9], 41);
			store_jnl_unesc(f[10]);
			snprintf(jm.m.keywords, sizeof(jm.m.keywords), "%s",
			    f[10]);
		}
		raw->msgs = xreallocarray(raw->msgs, raw->nmsgs + 1,
		    sizeof(*raw->msgs));
		raw->msgs[raw->nmsgs++] = jm;
		return 0;
	}
	if ((line[0] == 'S' || line[0] == 'U') && n == 2) {
		store_jnl_unesc(f[1]);
		raw->subs = xreallocarray(raw->subs, raw->nsubs + 1,
		    sizeof(*raw->subs));
		raw->subs[raw->nsubs++] = xasprintf("%c%s", line[0], f[1]);
		return 0;
	}
	return -1;
}

static int
store_jmbox_cmp(const void *a, const void *b)
{
	const struct store_jmbox *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->jseq != y->jseq)
		return x->jseq < y->jseq ? -1 : 1;
	return 0;
}

static int
store_jmbox_namecmp(const void *a, const void *b)
{
	const struct store_jmbox *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int
store_jmsg_cmp(const void *a, const void *b)
{
	const struct store_jmsg *x = a, *y = b;

	if (x->mboxid != y->mboxid)
		return x->mboxid < y->mboxid ? -1 : 1;
	if (x->m.uid != y->m.uid)
		return x->m.uid < y->m.uid ? -1 : 1;
	/* I before X, then by modseq: the last of a run wins */
	if (x->kind != y->kind)
		return x->kind == 'I' ? -1 : 1;
	if (x->m.modseq != y->m.modseq)
		return x->m.modseq < y->m.modseq ? -1 : 1;
	return 0;
}

static int
store_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* store_jmbox_find - the live mailbox id in js (sorted by id while
 * resolving) */
static struct store_jmbox *
store_jmbox_find(struct store_jmbox *mbs, size_t n, uint32_t id)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (mbs[mid].id == id)
			return &mbs[mid];
		if (mbs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* store_jnl_resolve - the state raw's lines describe */
static void
store_jnl_resolve(struct store_jraw *raw, struct store_jstate *js)
{
	struct store_jmbox *mb;
	size_t i, j, k;

	qsort(raw->mboxes, raw->nmboxes, sizeof(*raw->mboxes),
	    store_jmbox_cmp);
	for (i = 0; i < raw->nmboxes; i++) {
		if (i + 1 < raw->nmboxes &&
		    raw->mboxes[i + 1].id == raw->mboxes[i].id) {
			free(raw->mboxes[i].name);
			continue;
		}
		for (j = 0; j < raw->ngone; j++)
			if (raw->gone[j] == raw->mboxes[i].id)
				raw->mboxes[i].deleted = 1;
		if (raw->mboxes[i].deleted) {
			free(raw->mboxes[i].name);
			continue;
		}
		js->mboxes = xreallocarray(js->mboxes, js->nmboxes + 1,
		    sizeof(*js->mboxes));
		js->mboxes[js->nmboxes++] = raw->mboxes[i];
	}
	qsort(raw->msgs, raw->nmsgs, sizeof(*raw->msgs), store_jmsg_cmp);
	for (i = 0; i < raw->nmsgs; i++) {
		if (i + 1 < raw->nmsgs &&
		    raw->msgs[i + 1].mboxid == raw->msgs[i].mboxid &&
		    raw->msgs[i + 1].m.uid == raw->msgs[i].m.uid)
			continue;
		mb = store_jmbox_find(js->mboxes, js->nmboxes,
		    raw->msgs[i].mboxid);
		if (mb == NULL)
			continue;
		/* whatever a B line missed: counters only move up */
		if (raw->msgs[i].m.modseq > mb->hms)
			mb->hms = raw->msgs[i].m.modseq;
		if (raw->msgs[i].m.uid >= mb->uidnext)
			mb->uidnext = raw->msgs[i].m.uid + 1;
		js->msgs = xreallocarray(js->msgs, js->nmsgs + 1,
		    sizeof(*js->msgs));
		js->msgs[js->nmsgs++] = raw->msgs[i];
	}
	qsort(js->mboxes, js->nmboxes, sizeof(*js->mboxes),
	    store_jmbox_namecmp);
	/* subscriptions: the last line of each name says */
	for (i = 0; i < raw->nsubs; i++) {
		int later = 0;

		for (k = i + 1; k < raw->nsubs && !later; k++)
			later = strcmp(raw->subs[k] + 1,
			    raw->subs[i] + 1) == 0;
		if (!later && raw->subs[i][0] == 'S') {
			js->subs = xreallocarray(js->subs, js->nsubs + 1,
			    sizeof(*js->subs));
			js->subs[js->nsubs++] = xstrdup(raw->subs[i] + 1);
		}
		free(raw->subs[i]);
	}
	qsort(js->subs, js->nsubs, sizeof(*js->subs), store_str_cmp);
	free(raw->mboxes);
	free(raw->gone);
	free(raw->msgs);
	free(raw->subs);
}

/* store_jnl_replay - the state of the journal text data[0..len) */
static void
store_jnl_replay(const char *data, size_t len, struct store_jstate *js)
{
	struct store_jraw raw;
	const char *p = data, *end, *nl;
	char *line;

	memset(&raw, 0, sizeof(raw));
	len = store_jnl_text_len(data, len);
	end = data + len;
	if (len >= JNL_HEADER_LEN && memcmp(data, JNL_MAGIC,
	    sizeof(JNL_MAGIC) - 1) == 0)
		p = data + JNL_HEADER_LEN;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		line = xstrndup(p, (size_t)(nl - p));
		if (store_jnl_parse(&raw, line) < 0)
			js->bad++;
		free(line);
		p = nl + 1;
	}
	/* a line without its newline is a write a crash cut short */
	store_jnl_resolve(&raw, js);
}

void
store_jstate_free(struct store_jstate *js)
{
	size_t i;

	for (i = 0; i < js->nmboxes; i++)
		free(js->mboxes[i].name);
	for (i = 0; i < js->nsubs; i++)
		free(js->subs[i]);
	free(js->mboxes);
	free(js->msgs);
	free(js->subs);
	memset(js, 0, sizeof(*js));
}

/* store_jnl_map - map the file at fd (len 0: nothing mapped) */
static int
store_jnl_map(int fd, const char **data_r, size_t *len_r)
{
	struct stat sb;
	void *p;

	*data_r = NULL;
	*len_r = 0;
	if (fstat(fd, &sb) < 0)
		return -1;
	if (sb.st_size == 0)
		return 0;
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	*data_r = p;
	*len_r = (size_t)sb.st_size;
	return 0;
}

int
store_jnl_read(struct store *st, const char *user, struct store_jstate *js,
    const char **error_r)
{
	char *path = store_jnl_path(st, user);
	const char *data;
	size_t len;
	int fd;

	memset(js, 0, sizeof(*js));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		free(path);
		return 0;
	}
	if (fd < 0 || store_jnl_map(fd, &data, &len) < 0) {
		store_fail(st, error_r, "journal %s: %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		return -1;
	}
	close(fd);
	free(path);
	store_jnl_replay(data, len, js);
	if (len > 0)
		munmap((void *)data, len);
	return 0;
}

int
store_jnl_users(struct store *st, char ***users_r, size_t *n_r)
{
	char *dir = xasprintf("%s/journal", st->partdir);
	struct dirent *de;
	DIR *d;

	*users_r = NULL;
	*n_r = 0;
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return errno == ENOENT ? 0 : -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;	/* ".", "..", ".new-<user>" */
		*users_r = xreallocarray(*users_r, *n_r + 1,
		    sizeof(**users_r));
		(*users_r)[(*n_r)++] = store_jnl_unpath(de->d_name);
	}
	closedir(d);
	free(dir);
	qsort(*users_r, *n_r, sizeof(**users_r), store_str_cmp);
	return 0;
}

/* store_jnl_write_state - js as journal text (the compacted form) */
static void
store_jnl_write_state(const struct store_jstate *js, struct buf *b)
{
	struct store_mrec rec;
	size_t i;

	for (i = 0; i < js->nmboxes; i++) {
		memset(&rec, 0, sizeof(rec));
		rec.mb.id = js->mboxes[i].id;
		rec.jseq = js->mboxes[i].jseq;
		rec.mb.uidvalidity = js->mboxes[i].uidvalidity;
		rec.mb.uidnext = js->mboxes[i].uidnext;
		rec.mb.recentuid = js->mboxes[i].recentuid;
		rec.mb.highestmodseq = js->mboxes[i].hms;
		rec.mb.attrs = js->mboxes[i].attrs;
		store_jnl_bline(b, js->mboxes[i].name, &rec);
		buf_putc(b, '\n');
	}
	for (i = 0; i < js->nmsgs; i++) {
		if (js->msgs[i].kind == 'I')
			store_jnl_iline(b, js->msgs[i].mboxid, &js->msgs[i].m);
		else
			buf_printf(b, "X\t%u\t%u\t%" PRIu64,
			    js->msgs[i].mboxid, js->msgs[i].m.uid,
			    js->msgs[i].m.modseq);
		buf_putc(b, '\n');
	}
	for (i = 0; i < js->nsubs; i++) {
		buf_puts(b, "S\t");
		store_jnl_esc(b, js->subs[i]);
		buf_putc(b, '\n');
	}
}

int
store_jnl_compact(struct store *st, const char *user, int force,
    const char **error_r)
{
	char *path = store_jnl_path(st, user), *tmp = NULL, *dir;
	struct store_jstate js;
	struct buf b = BUF_INIT, body = BUF_INIT;
	unsigned long long last = 0;
	const char *data;
	size_t len;
	int fd, tfd = -1, r = -1;

	memset(&js, 0, sizeof(js));
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		free(path);
		return errno == ENOENT ? 0 : store_fail(st, error_r,
		    "journal: %s", strerror(errno));
	}
	if (flock(fd, LOCK_EX) < 0 || store_jnl_map(fd, &data, &len) < 0) {
		store_fail(st, error_r, "journal %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (len >= JNL_HEADER_LEN && memcmp(data, JNL_MAGIC,
	    sizeof(JNL_MAGIC) - 1) == 0)
		last = strtoull(data + sizeof(JNL_MAGIC) - 1, NULL, 10);
	if (!force && (store_jnl_text_len(data, len) < JNL_COMPACT_MIN ||
	    store_jnl_text_len(data, len) <= 2 * last)) {
		if (len > 0)
			munmap((void *)data, len);
		r = 0;
		goto out;
	}
	store_jnl_replay(data, len, &js);
	if (len > 0)
		munmap((void *)data, len);
	store_jnl_write_state(&js, &body);
	store_jnl_header(&b, (unsigned long long)(JNL_HEADER_LEN + body.len),
	    (unsigned long long)(JNL_HEADER_LEN + body.len));
	buf_append(&b, body.data, body.len);
	tmp = xasprintf("%s/journal/.new-%s", st->partdir,
	    strrchr(path, '/') + 1);
	tfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (tfd < 0 || store_jnl_write_all(tfd, b.data, b.len) < 0 ||
	    fsync(tfd) < 0 || rename(tmp, path) < 0) {
		store_fail(st, error_r, "journal %s: %s", tmp,
		    strerror(errno));
		unlink(tmp);
		goto out;
	}
	dir = xasprintf("%s/journal", st->partdir);
	store_fsync_dir(dir);
	free(dir);
	r = 1;
out:
	if (tfd >= 0)
		close(tfd);
	close(fd);	/* drops the lock: writers reopen the new file */
	store_jstate_free(&js);
	buf_free(&b);
	buf_free(&body);
	free(tmp);
	free(path);
	return r;
}

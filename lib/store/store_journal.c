/*
 * store_journal - the spool's own record of everything the database
 * holds about a user's mail, so that berthctl reconstruct can rebuild
 * the database from the partition alone.
 *
 * One append-only text file per user, <partition>/journal/<user> (bytes
 * outside [A-Za-z0-9._@+-] and a leading '.' written %XX).  The first
 * line is "berth-journal\t3\t<bytes>\t<end>\t<synced>\t<durable>",
 * <bytes> the size of the lines when last compacted, <end> where they
 * end now, <synced> where the lines end that the database and the
 * message files are known to hold durably, <durable> how far the journal
 * itself was last known flushed (20 digits each; version 2
 * lacks <durable>, version 1 <synced> too: none are known synced); zeros follow
 * the lines (written ahead, see store_jnl_put), and a reader stops at the first
 * NUL.  Then one line per record a committed transaction wrote, fields
 * separated by tabs, names and keywords with
 * '%', tab, CR and LF written %XX:
 *   B id jseq uidvalidity uidnext recentuid highestmodseq attrs name
 *   D id                                   mailbox deleted
 *   I id uid modseq flags internaldate tzoff savedate size guid keywords
 *   X id uid modseq                        message expunged
 *   S name / U name                        subscribed / unsubscribed
 *   F id guid bytes                        a small message's bytes
 *                                          (NUL and '%' also %XX)
 *   Q storage messages                     the user's quota limits
 *                                          (store_quota; the last wins)
 * Each line is the whole record as written, so replay needs no history:
 * for a mailbox the B line with the highest jseq wins (bumped at every
 * write of its record, so renames are ordered too), and any D line ends
 * it; for a message X wins over I, and among I the highest modseq (every
 * change stamps a higher one).  Lines of concurrent writers may land in
 * either order without changing the result.
 *
 * Durability: the journal is the write-ahead record.  The lines of a
 * transaction are appended in one write() after its commit and are
 * durable before store_run returns: not by a flush of the journal but
 * through the commit log (store_wal.c), which gets the same lines in one
 * record per journal and one fdatasync for them all, shared with every
 * writer committing at once (group commit); so
 * every acknowledged command is in the journal; a crash between commit
 * and write loses only what was never acknowledged (and the next write
 * of the same records carries them again).  A torn last line is
 * ignored.  Berkeley DB commits without flushing its log and small
 * message files are not fsync'd: the F line carries the bytes, so the
 * log's one fdatasync makes message and records durable (see store_redo.c for
 * the crash argument, and store_jnl_sync_all for how <synced> moves).  The
 * lines past <synced> are what recovery replays; a journal grows by every line
 * written until the next checkpoint compacts it (F lines included: about the
 * size of the small mail delivered in that interval).
 *
 * Compaction (at checkpoints): under an exclusive flock the journal is
 * replayed and rewritten as its live records (and the expunges of live
 * mailboxes, for QRESYNC), without F lines, fsync'd and renamed over the
 * old one; lines not yet <synced> are first made so (syncfs and a log
 * flush) because the new file is wholly <synced>.
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

#define JNL_MAGIC "berth-journal\t"
#define JNL_VER_OFF (sizeof(JNL_MAGIC) - 1) /* '1' or '2', a tab */
#define JNL_BYTES_OFF (JNL_VER_OFF + 2)
#define JNL_END_OFF (JNL_BYTES_OFF + 21)
#define JNL_SYNC_OFF (JNL_END_OFF + 21)
#define JNL_DUR_OFF (JNL_SYNC_OFF + 21)
#define JNL_V1_LEN (JNL_END_OFF + 21)
#define JNL_V2_LEN (JNL_SYNC_OFF + 21)
#define JNL_HEADER_LEN (JNL_DUR_OFF + 21)
#define JNL_VERSION 3
#define JNL_GROW (256 * 1024)	       /* zeros written ahead at a time */
#define JNL_GROW_BIG (2 * 1024 * 1024) /* past JNL_GROW_BIG of lines */
#define JNL_COMPACT_MIN (64 * 1024)

/* a journal's first line */
struct store_jhdr {
	int version;
	size_t len; /* of the line */
	unsigned long long bytes, end, synced, durable;
};

static unsigned long long
store_jnl_num(const char *p)
{
	char num[21];

	memcpy(num, p, 20);
	num[20] = '\0';
	return strtoull(num, NULL, 10);
}

/* store_jnl_hdr - the header of data[0..len), -1 if it has none */
static int
store_jnl_hdr(const char *data, size_t len, struct store_jhdr *h)
{
	memset(h, 0, sizeof(*h));
	if (len < JNL_V1_LEN || memcmp(data, JNL_MAGIC, JNL_VER_OFF) != 0 ||
	    data[JNL_VER_OFF + 1] != '\t' || data[JNL_END_OFF - 1] != '\t')
		return -1;
	if (data[JNL_VER_OFF] == '1' && data[JNL_V1_LEN - 1] == '\n') {
		h->version = 1;
		h->len = JNL_V1_LEN;
	} else if (data[JNL_VER_OFF] == '2' && len >= JNL_V2_LEN &&
	    data[JNL_V2_LEN - 1] == '\n') {
		h->version = 2;
		h->len = JNL_V2_LEN;
	} else if (data[JNL_VER_OFF] == '3' && len >= JNL_HEADER_LEN &&
	    data[JNL_HEADER_LEN - 1] == '\n') {
		h->version = 3;
		h->len = JNL_HEADER_LEN;
		h->durable = store_jnl_num(data + JNL_DUR_OFF);
	} else {
		return -1;
	}
	h->bytes = store_jnl_num(data + JNL_BYTES_OFF);
	h->end = store_jnl_num(data + JNL_END_OFF);
	h->synced =
	    h->version >= 2 ? store_jnl_num(data + JNL_SYNC_OFF) : h->len;
	return 0;
}

static int store_jnl_put_num(int fd, off_t off, unsigned long long v);

/* store_jnl_hdr_fd - the header of the journal open at fd */
static int
store_jnl_hdr_fd(int fd, struct store_jhdr *h)
{
	char b[JNL_HEADER_LEN];
	ssize_t n = pread(fd, b, sizeof(b), 0);

	return store_jnl_hdr(b, n > 0 ? (size_t)n : 0, h);
}

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

/* store_jnl_unesc - %XX undone in place (journal and commit log) */
void
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

/* store_jnl_esc_mem - data[0..len) with NUL, '%', tab, CR, LF as %XX */
static void
store_jnl_esc_mem(struct buf *b, const char *data, size_t len)
{
	const char *p = data, *end = data + len, *run = data;

	for (; p < end; p++) {
		if (*p != '\0' && *p != '%' && *p != '\t' && *p != '\r' &&
		    *p != '\n')
			continue;
		buf_append(b, run, (size_t)(p - run));
		buf_printf(b, "%%%02X", (unsigned char)*p);
		run = p + 1;
	}
	buf_append(b, run, (size_t)(end - run));
}

/* store_jnl_unesc_mem - store_jnl_esc_mem undone in place; the length */
static size_t
store_jnl_unesc_mem(char *s)
{
	char *start = s, *o = s;
	unsigned int c;

	for (; *s; s++) {
		if (*s == '%' && sscanf(s + 1, "%2X", &c) == 1) {
			*o++ = (char)c;
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	return (size_t)(o - start);
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
	buf_printf(b,
	    "I\t%u\t%u\t%" PRIu64 "\t%u\t%" PRId64 "\t%d\t%" PRId64 "\t%" PRIu64
	    "\t%.40s\t",
	    mboxid, m->uid, m->modseq, m->flags, m->internaldate, (int)m->tzoff,
	    m->savedate, m->size, m->guid);
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

void
store_jnl_body(struct store *st, uint32_t mboxid, const char *guid,
    const char *data, size_t len)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "F\t%u\t%.40s\t", mboxid, guid);
	store_jnl_esc_mem(&b, data, len);
	store_jnl_add(st, mboxid, NULL, &b);
}

void
store_jnl_quota(struct store *st, const char *user, uint64_t storage,
    uint64_t messages)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "Q\t%" PRIu64 "\t%" PRIu64, storage, messages);
	store_jnl_add(st, 0, user, &b);
}

/* store_jnl_header - the first line, for a file compacted at bytes
 * whose lines end at end, synced up to synced, flushed (all of it) */
static void
store_jnl_header(struct buf *b, unsigned long long bytes,
    unsigned long long end, unsigned long long synced)
{
	buf_printf(b, "%s%d\t%020llu\t%020llu\t%020llu\t%020llu\n", JNL_MAGIC,
	    JNL_VERSION, bytes, end, synced, end);
}

/* store_jnl_text_len - where the lines of a journal's bytes end: at the
 * first NUL (the zeros written ahead) */
static size_t
store_jnl_text_len(const char *data, size_t len)
{
	const char *z = memchr(data, '\0', len);

	return z != NULL ? (size_t)(z - data) : len;
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
				store_jnl_header(&h, 0, JNL_HEADER_LEN,
				    JNL_HEADER_LEN);
				if (store_file_write_all(fd, h.data, h.len,
					-1) < 0) {
					buf_free(&h);
					close(fd);
					return -1;
				}
				buf_free(&h);
				/* the header durable before any line: a
				 * journal that exists after a crash has
				 * one (store_jnl_restore) */
				if (fsync(fd) < 0) {
					close(fd);
					return -1;
				}
				dir = xasprintf("%s/journal", st->partdir);
				store_fsync_dir(dir);
				free(dir);
			}
			return fd;
		}
		close(fd); /* compacted meanwhile: the new file */
	}
	errno = EAGAIN;
	return -1;
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
store_jnl_put(int fd, const char *text, size_t len, unsigned long long *end_r)
{
	static const char zeros[4096];
	char num[24];
	unsigned long long end, grow;
	struct store_jhdr h;
	struct stat sb;
	off_t off;

	if (fstat(fd, &sb) < 0)
		return -1;
	if (store_jnl_hdr_fd(fd, &h) < 0)
		return -1;
	end = h.end;
	if (end < h.len || end > (unsigned long long)sb.st_size)
		return -1;
	if (end + len > (unsigned long long)sb.st_size) {
		/* zeros ahead, made durable with the size before use; more
		 * at a time once F lines make the journal grow fast */
		grow = end > JNL_GROW_BIG ? JNL_GROW_BIG : JNL_GROW;
		for (off = sb.st_size;
		     (unsigned long long)off < end + len + grow;
		     off += (off_t)sizeof(zeros))
			if (store_file_write_all(fd, zeros, sizeof(zeros),
				off) < 0)
				return -1;
		if (fsync(fd) < 0)
			return -1;
	}
	if (store_file_write_all(fd, text, len, (off_t)end) < 0)
		return -1;
	*end_r = end + len;
	snprintf(num, sizeof(num), "%020llu", end + len);
	return store_file_write_all(fd, num, 20, (off_t)JNL_END_OFF);
}

/*
 * store_jnl_append - append text to user's journal, without a flush:
 * store_jnl_flush makes it durable through the commit log (store_wal.c),
 * told here which file (*ino_r) and where (*off_r) the lines went
 */
static int
store_jnl_append(struct store *st, const char *user, const char *text,
    size_t len, ino_t *ino_r, unsigned long long *off_r, const char **error_r)
{
	char *path = store_jnl_path(st, user);
	unsigned long long end = 0;
	struct stat sb;
	int fd, r;

	if ((fd = store_jnl_open_locked(st, path)) < 0) {
		r = store_fail(st, error_r, "journal %s: %s", path,
		    strerror(errno));
		free(path);
		return r;
	}
	r = fstat(fd, &sb);
	if (r == 0)
		r = store_jnl_put(fd, text, len, &end);
	if (r < 0)
		store_fail(st, error_r, "journal %s: %s", path,
		    strerror(errno));
	*ino_r = sb.st_ino;
	*off_r = end - len;
	close(fd); /* and its lock */
	free(path);
	return r;
}

int
store_jnl_flush(struct store *st, const char **error_r)
{
	struct buf text = BUF_INIT;
	unsigned long long off = 0;
	const char *user;
	size_t i, j;
	ino_t ino = 0;
	int r = 0;

	buf_reset(&st->wal_buf);
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
				  "dropped: %s",
			    st->jlines[i].mboxid, st->jlines[i].line);
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
		r = store_jnl_append(st, user, text.data, text.len, &ino, &off,
		    error_r);
		if (r == 0)
			store_wal_add(st, user, ino, off, text.data, text.len);
		if (r < 0)
			log_error("journal write failed user=%s: %s "
				  "(committed, not acknowledged)",
			    user, *error_r);
	}
	/* one flush for every journal written, shared with whoever
	 * commits at the same time */
	if (r == 0 && (r = store_wal_commit(st, error_r)) < 0)
		log_error("commit log write failed: %s (committed, not "
			  "acknowledged)",
		    *error_r);
	buf_reset(&st->wal_buf);
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
	char **subs; /* "S<name>" / "U<name>" in order */
	size_t nsubs;
	store_jbody_fn *body_fn; /* F lines, when set */
	void *body_ctx;
	int body_err;  /* what body_fn last failed with */
	int has_quota; /* the last Q line */
	uint64_t quota_storage, quota_messages;
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
		if (jm.kind == 'I' &&
		    (sscanf(f[4], "%u", &jm.m.flags) != 1 ||
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
	if (line[0] == 'Q' && n == 3) {
		if (sscanf(f[1], "%" SCNu64, &raw->quota_storage) != 1 ||
		    sscanf(f[2], "%" SCNu64, &raw->quota_messages) != 1)
			return -1;
		raw->has_quota = 1;
		return 0;
	}
	if ((line[0] == 'S' || line[0] == 'U') && n == 2) {
		store_jnl_unesc(f[1]);
		raw->subs = xreallocarray(raw->subs, raw->nsubs + 1,
		    sizeof(*raw->subs));
		raw->subs[raw->nsubs++] = xasprintf("%c%s", line[0], f[1]);
		return 0;
	}
	if (line[0] == 'F' && n == 4) {
		size_t blen;
		int r;

		if (strlen(f[2]) != 40)
			return -1;
		if (raw->body_fn == NULL || raw->body_err != 0)
			return 0;
		/* one at a time, never all in memory: a tail may hold
		 * a checkpoint interval's worth of mail */
		blen = store_jnl_unesc_mem(f[3]);
		if ((r = raw->body_fn(f[2], f[3], blen, raw->body_ctx)) < 0)
			raw->body_err = r;
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

	xqsort(raw->mboxes, raw->nmboxes, sizeof(*raw->mboxes),
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
	xqsort(raw->msgs, raw->nmsgs, sizeof(*raw->msgs), store_jmsg_cmp);
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
		js->msgs =
		    xreallocarray(js->msgs, js->nmsgs + 1, sizeof(*js->msgs));
		js->msgs[js->nmsgs++] = raw->msgs[i];
	}
	xqsort(js->mboxes, js->nmboxes, sizeof(*js->mboxes),
	    store_jmbox_namecmp);
	/* subscriptions: the last line of each name says */
	for (i = 0; i < raw->nsubs; i++) {
		int later = 0;

		for (k = i + 1; k < raw->nsubs && !later; k++)
			later = strcmp(raw->subs[k] + 1, raw->subs[i] + 1) == 0;
		if (!later && raw->subs[i][0] == 'S') {
			js->subs = xreallocarray(js->subs, js->nsubs + 1,
			    sizeof(*js->subs));
			js->subs[js->nsubs++] = xstrdup(raw->subs[i] + 1);
		}
		free(raw->subs[i]);
	}
	xqsort(js->subs, js->nsubs, sizeof(*js->subs), store_str_cmp);
	js->has_quota = raw->has_quota;
	js->quota_storage = raw->quota_storage;
	js->quota_messages = raw->quota_messages;
	free(raw->mboxes);
	free(raw->gone);
	free(raw->msgs);
	free(raw->subs);
}

/* store_jnl_replay - the state of the journal text data[0..len) */
static void
store_jnl_replay(const char *data, size_t len, struct store_jstate *js)
{
	struct store_jhdr h;
	struct store_jraw raw;
	const char *p = data, *end, *nl;
	char *line;

	memset(&raw, 0, sizeof(raw));
	len = store_jnl_text_len(data, len);
	end = data + len;
	if (store_jnl_hdr(data, len, &h) == 0)
		p = data + h.len;
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
			continue; /* ".", "..", ".new-<user>" */
		*users_r = xreallocarray(*users_r, *n_r + 1, sizeof(**users_r));
		(*users_r)[(*n_r)++] = store_jnl_unpath(de->d_name);
	}
	closedir(d);
	free(dir);
	xqsort(*users_r, *n_r, sizeof(**users_r), store_str_cmp);
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
			buf_printf(b, "X\t%u\t%u\t%" PRIu64, js->msgs[i].mboxid,
			    js->msgs[i].m.uid, js->msgs[i].m.modseq);
		buf_putc(b, '\n');
	}
	for (i = 0; i < js->nsubs; i++) {
		buf_puts(b, "S\t");
		store_jnl_esc(b, js->subs[i]);
		buf_putc(b, '\n');
	}
	if (js->has_quota)
		buf_printf(b, "Q\t%" PRIu64 "\t%" PRIu64 "\n",
		    js->quota_storage, js->quota_messages);
}

int
store_jnl_compact(struct store *st, const char *user, int force,
    const char **error_r)
{
	char *path = store_jnl_path(st, user), *tmp = NULL, *dir;
	struct store_jstate js;
	struct store_jhdr h;
	struct buf b = BUF_INIT, body = BUF_INIT;
	unsigned long long last = 0;
	const char *data;
	size_t len, tlen;
	int fd, tfd = -1, r = -1;

	memset(&js, 0, sizeof(js));
	memset(&h, 0, sizeof(h));
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		free(path);
		return errno == ENOENT
		    ? 0
		    : store_fail(st, error_r, "journal: %s", strerror(errno));
	}
	if (flock(fd, LOCK_EX) < 0 || store_jnl_map(fd, &data, &len) < 0) {
		store_fail(st, error_r, "journal %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (store_jnl_hdr(data, len, &h) == 0)
		last = h.bytes;
	tlen = store_jnl_text_len(data, len);
	if (!force && h.version == JNL_VERSION &&
	    (tlen < JNL_COMPACT_MIN || tlen <= 2 * last)) {
		if (len > 0)
			munmap((void *)data, len);
		r = 0;
		goto out;
	}
	/* the new file is wholly synced and has no F lines: what the old
	 * one holds beyond its mark must be durable elsewhere first */
	if ((h.version < 2 || h.synced < tlen) &&
	    store_jnl_durable(st, error_r) < 0) {
		if (len > 0)
			munmap((void *)data, len);
		goto out;
	}
	store_jnl_replay(data, len, &js);
	if (len > 0)
		munmap((void *)data, len);
	store_jnl_write_state(&js, &body);
	store_jnl_header(&b, (unsigned long long)(JNL_HEADER_LEN + body.len),
	    (unsigned long long)(JNL_HEADER_LEN + body.len),
	    (unsigned long long)(JNL_HEADER_LEN + body.len));
	buf_append(&b, body.data, body.len);
	tmp = xasprintf("%s/journal/.new-%s", st->partdir,
	    strrchr(path, '/') + 1);
	tfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (tfd < 0 || store_file_write_all(tfd, b.data, b.len, -1) < 0 ||
	    fsync(tfd) < 0 || rename(tmp, path) < 0) {
		store_fail(st, error_r, "journal %s: %s", tmp, strerror(errno));
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
	close(fd); /* drops the lock: writers reopen the new file */
	store_jstate_free(&js);
	buf_free(&b);
	buf_free(&body);
	free(tmp);
	free(path);
	return r;
}

/* ---- the synced mark, and the lines past it ---- */

int
store_jnl_durable(struct store *st, const char **error_r)
{
	int fd, r;

	fd = open(st->partdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return store_fail(st, error_r, "open %s: %s", st->partdir,
		    strerror(errno));
	r = syncfs(fd);
	close(fd);
	if (r < 0)
		return store_fail(st, error_r, "syncfs %s: %s", st->partdir,
		    strerror(errno));
	if ((r = st->env->log_flush(st->env, NULL)) != 0)
		return store_dberr(st, error_r, "log flush", r);
	return 0;
}

/* store_jnl_put_num - write number v into the header field at off */
static int
store_jnl_put_num(int fd, off_t off, unsigned long long v)
{
	char num[24];

	snprintf(num, sizeof(num), "%020llu", v);
	return store_file_write_all(fd, num, 20, off);
}

/*
 * store_jnl_tail_end - where the whole lines of data[0..len) end, past
 * the header h: a crash may have left the header's end ahead of the
 * lines (its page written, theirs not) or a torn last line; writers
 * append at the header's end, so it must be set back before anyone
 * does, or a reader would stop at the gap and a line be glued to a torn
 * one (store_jnl_line_end: from a known text length)
 */
/* store_jnl_line_end - the same, given that the text (no NUL) runs to
 * tl: back to the end of its last whole line */
static size_t
store_jnl_line_end(const char *data, size_t tl, const struct store_jhdr *h)
{
	while (tl > h->len && data[tl - 1] != '\n')
		tl--;
	return tl;
}

static size_t
store_jnl_tail_end(const char *data, size_t len, const struct store_jhdr *h)
{
	return store_jnl_line_end(data, store_jnl_text_len(data, len), h);
}

/* store_jnl_tail_resolve - the last record of each id and message */
static void
store_jnl_tail_resolve(struct store_jraw *raw, struct store_jtail *t)
{
	struct store_jmbox *mb, gone;
	size_t i;

	xqsort(raw->mboxes, raw->nmboxes, sizeof(*raw->mboxes),
	    store_jmbox_cmp);
	for (i = 0; i < raw->nmboxes; i++) {
		if (i + 1 < raw->nmboxes &&
		    raw->mboxes[i + 1].id == raw->mboxes[i].id) {
			free(raw->mboxes[i].name);
			continue;
		}
		t->mboxes = xreallocarray(t->mboxes, t->nmboxes + 1,
		    sizeof(*t->mboxes));
		t->mboxes[t->nmboxes++] = raw->mboxes[i];
	}
	for (i = 0; i < raw->ngone; i++) {
		mb = store_jmbox_find(t->mboxes, t->nmboxes, raw->gone[i]);
		if (mb != NULL) {
			mb->deleted = 1;
			continue;
		}
		memset(&gone, 0, sizeof(gone));
		gone.id = raw->gone[i];
		gone.deleted = 1;
		gone.name = xstrdup("");
		t->mboxes = xreallocarray(t->mboxes, t->nmboxes + 1,
		    sizeof(*t->mboxes));
		t->mboxes[t->nmboxes++] = gone;
		xqsort(t->mboxes, t->nmboxes, sizeof(*t->mboxes),
		    store_jmbox_cmp);
	}
	xqsort(raw->msgs, raw->nmsgs, sizeof(*raw->msgs), store_jmsg_cmp);
	for (i = 0; i < raw->nmsgs; i++) {
		if (i + 1 < raw->nmsgs &&
		    raw->msgs[i + 1].mboxid == raw->msgs[i].mboxid &&
		    raw->msgs[i + 1].m.uid == raw->msgs[i].m.uid)
			continue;
		t->msgs =
		    xreallocarray(t->msgs, t->nmsgs + 1, sizeof(*t->msgs));
		t->msgs[t->nmsgs++] = raw->msgs[i];
	}
	t->subs = raw->subs;
	t->nsubs = raw->nsubs;
	free(raw->mboxes);
	free(raw->gone);
	free(raw->msgs);
}

int
store_jnl_tail(struct store *st, const char *user, struct store_jtail *t,
    store_jbody_fn *body_fn, void *body_ctx, const char **error_r)
{
	char *path = store_jnl_path(st, user), *line;
	struct store_jraw raw;
	struct store_jhdr h;
	const char *data = NULL, *p, *nl;
	size_t len = 0, tend;
	int fd, r = -1;

	memset(t, 0, sizeof(*t));
	memset(&raw, 0, sizeof(raw));
	raw.body_fn = body_fn;
	raw.body_ctx = body_ctx;
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		free(path);
		return errno == ENOENT
		    ? 0
		    : store_fail(st, error_r, "journal: %s", strerror(errno));
	}
	if (flock(fd, LOCK_EX) < 0 || store_jnl_map(fd, &data, &len) < 0) {
		store_fail(st, error_r, "journal %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (store_jnl_hdr(data, len, &h) < 0) {
		r = 0; /* nothing a writer would append to */
		goto out;
	}
	tend = store_jnl_tail_end(data, len, &h);
	if (store_jnl_text_len(data, len) > tend) {
		/* a torn line: zeros over it, so no later line joins it */
		size_t gap = store_jnl_text_len(data, len) - tend;
		char *z = xcalloc(1, gap);

		r = store_file_write_all(fd, z, gap, (off_t)tend);
		free(z);
		if (r < 0) {
			store_fail(st, error_r, "journal %s: %s", path,
			    strerror(errno));
			goto out;
		}
		r = -1;
	}
	if (h.version == JNL_VERSION && h.durable != tend &&
	    store_jnl_put_num(fd, JNL_DUR_OFF, tend) < 0) {
		store_fail(st, error_r, "journal %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (tend != h.end && store_jnl_put_num(fd, JNL_END_OFF, tend) < 0) {
		store_fail(st, error_r, "journal %s: %s", path,
		    strerror(errno));
		goto out;
	}
	t->end = tend;
	p = data + (h.synced > h.len && h.synced < tend ? h.synced : h.len);
	if (h.synced >= tend)
		p = data + tend;
	while (p < data + tend &&
	    (nl = memchr(p, '\n', (size_t)(data + tend - p))) != NULL) {
		line = xstrndup(p, (size_t)(nl - p));
		if (store_jnl_parse(&raw, line) < 0)
			t->bad++;
		free(line);
		t->lines++;
		p = nl + 1;
	}
	store_jnl_tail_resolve(&raw, t);
	r = raw.body_err != 0 ? -1 : 0;
out:
	if (len > 0)
		munmap((void *)data, len);
	close(fd);
	free(path);
	return r;
}

void
store_jtail_free(struct store_jtail *t)
{
	size_t i;

	for (i = 0; i < t->nmboxes; i++)
		free(t->mboxes[i].name);
	for (i = 0; i < t->nsubs; i++)
		free(t->subs[i]);
	free(t->mboxes);
	free(t->msgs);
	free(t->subs);
	memset(t, 0, sizeof(*t));
}

/* store_jnl_synced_at - user's journal: its header, and the inode */
static int
store_jnl_synced_at(struct store *st, const char *user, struct store_jhdr *h,
    ino_t *ino_r)
{
	char *path = store_jnl_path(st, user);
	struct stat sb;
	int fd, r = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -1;
	/* shared: a writer's line and its end are written under LOCK_EX */
	if (flock(fd, LOCK_SH) == 0 && fstat(fd, &sb) == 0 &&
	    store_jnl_hdr_fd(fd, h) == 0) {
		*ino_r = sb.st_ino;
		r = 0;
	}
	close(fd);
	return r;
}

int
store_jnl_set_synced(struct store *st, const char *user, unsigned long long end,
    ino_t ino, const char **error_r)
{
	char *path = store_jnl_path(st, user);
	struct store_jhdr h;
	struct stat sb;
	int fd, r = 0;

	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		free(path);
		return 0; /* removed: nothing to mark */
	}
	if (flock(fd, LOCK_EX) < 0 || fstat(fd, &sb) < 0 ||
	    store_jnl_hdr_fd(fd, &h) < 0) {
		r = store_fail(st, error_r, "journal %s: %s", path,
		    strerror(errno));
	} else if (sb.st_ino == ino && h.version >= 2 && h.synced < end &&
	    end <= h.end) {
		/* no fdatasync: a mark lost in a crash only costs replay */
		if (store_jnl_put_num(fd, JNL_SYNC_OFF, end) < 0)
			r = store_fail(st, error_r, "journal %s: %s", path,
			    strerror(errno));
	}
	close(fd);
	free(path);
	return r;
}

/*
 * store_jnl_sync_all - move every journal's synced mark to where its
 * lines end now: note the ends, make everything written so far durable
 * (store_jnl_durable: a line is written after its transaction committed
 * and after its message file was written, so both are covered), then
 * write the marks.  A journal compacted meanwhile is left alone (the new
 * file is synced as a whole); version 1 journals are compacted into
 * version 2.  Returns how many marks moved.
 */
int
store_jnl_sync_all(struct store *st, const char **error_r)
{
	struct store_jhdr h;
	unsigned long long *ends, wal_end = 0;
	ino_t *inos;
	char **users;
	size_t n, i;
	int r = 0, moved = 0, any = 0;

	if (store_jnl_users(st, &users, &n) < 0)
		return store_fail(st, error_r, "journal directory: %s",
		    strerror(errno));
	/* the commit log's records up to here describe lines written
	 * before the ends read below, durable after the syncfs */
	if (store_wal_mark(st, &wal_end, error_r) < 0) {
		store_names_free(users, n);
		return -1;
	}
	ends = xcalloc(n + 1, sizeof(*ends));
	inos = xcalloc(n + 1, sizeof(*inos));
	for (i = 0; i < n && r >= 0; i++) {
		if (store_jnl_synced_at(st, users[i], &h, &inos[i]) < 0)
			continue;
		if (h.version != JNL_VERSION)
			r = store_jnl_compact(st, users[i], 1, error_r);
		else if (h.synced < h.end) {
			ends[i] = h.end;
			any = 1;
		}
	}
	if (r >= 0 && any)
		r = store_jnl_durable(st, error_r);
	for (i = 0; i < n && r >= 0; i++) {
		if (ends[i] == 0)
			continue;
		if ((r = store_jnl_set_synced(st, users[i], ends[i], inos[i],
			 error_r)) == 0)
			moved++;
	}
	if (r >= 0)
		r = store_wal_trim(st, wal_end, error_r);
	free(ends);
	free(inos);
	store_names_free(users, n);
	return r < 0 ? -1 : moved;
}

int
store_jnl_restore(struct store *st, const char *user, ino_t ino,
    unsigned long long off, const char *text, size_t len, size_t *known,
    const char **error_r)
{
	char *path = store_jnl_path(st, user), *z = NULL;
	unsigned long long end;
	struct store_jhdr h;
	struct stat sb;
	const char *data = NULL;
	size_t mlen = 0, tend = 0, last = 0;
	int fd, r = -1, intact = 0;

	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		free(path);
		/* made durable before any line: removed since */
		return errno == ENOENT
		    ? 0
		    : store_fail(st, error_r, "journal: %s", strerror(errno));
	}
	if (flock(fd, LOCK_EX) < 0 || fstat(fd, &sb) < 0 ||
	    store_jnl_map(fd, &data, &mlen) < 0) {
		store_fail(st, error_r, "journal %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (sb.st_ino != ino || store_jnl_hdr(data, mlen, &h) < 0) {
		/* compacted after the lines were written: the new file
		 * holds their outcome, durably */
		r = 0;
		goto out;
	}
	/* the text ends at the first NUL: no earlier one in what an
	 * earlier record of this replay saw (lines are only ever written
	 * past it, and a compaction makes another inode) */
	if (*known > mlen)
		*known = 0;
	*known += store_jnl_text_len(data + *known, mlen - *known);
	tend = store_jnl_line_end(data, *known, &h);
	intact = off >= h.len && off + len <= tend &&
	    memcmp(data + off, text, len) == 0;
	/* pieces past the whole lines are writes the crash cut short */
	for (last = mlen; !intact && last > tend && data[last - 1] == '\0';)
		last--;
	munmap((void *)data, mlen);
	mlen = 0;
	if (intact) {
		r = 0;
		goto out;
	}
	/* zeros, then the lines, from tend on: what precedes it stays */
	*known = tend;
	if (last > tend) {
		z = xcalloc(1, last - tend);
		if (store_file_write_all(fd, z, last - tend, (off_t)tend) < 0)
			goto fail;
	}
	if (store_jnl_put_num(fd, JNL_END_OFF, tend) < 0 ||
	    (h.version >= 2 && h.synced > tend &&
		store_jnl_put_num(fd, JNL_SYNC_OFF, tend) < 0) ||
	    store_jnl_put(fd, text, len, &end) < 0 ||
	    (h.version == JNL_VERSION &&
		store_jnl_put_num(fd, JNL_DUR_OFF, end) < 0) ||
	    fdatasync(fd) < 0)
		goto fail;
	r = 1;
	goto out;
fail:
	store_fail(st, error_r, "journal %s: %s", path, strerror(errno));
out:
	if (mlen > 0)
		munmap((void *)data, mlen);
	close(fd);
	free(z);
	free(path);
	return r;
}

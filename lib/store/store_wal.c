/*
 * store_wal - the partition's commit log: one fdatasync makes a whole
 * transaction durable, whatever the number of users' journals it wrote,
 * and concurrent transactions of any users share it (group commit).
 *
 * The users' journals (store_journal.c) are the record of everything
 * the database holds; they are written after each commit but no longer
 * flushed one by one.  What makes a transaction durable before its
 * caller is answered is this log: store_jnl_flush writes each user's
 * lines into that user's journal, then appends to the log one record
 * per journal it wrote, carrying the same lines and where they went,
 * and waits for the log's fdatasync (its own, or a concurrent writer's
 * that covered it).  One delivery to fifty users is one flush, not
 * fifty; eight sessions delivering to eight users at once share theirs.
 *
 * The file is <partition>/journal/.wal (a dot name: no user's journal).
 * Its first line is "berth-wal\t1\t<end>\t<durable>\n" (20 digits each):
 * where the records end, and how far the last fdatasync reached (for
 * group commit among live processes only).  Zeros are kept ahead of the
 * records, written and fsync'd before use, so that an append changes
 * neither the size nor the block map and its fdatasync flushes data
 * only.  A record is a line
 *   W <ino> <off> <len> <sha1> <user>
 * (tab-separated, the user %XX-escaped as in journal names) followed by
 * the len bytes of journal lines written at offset off of the journal
 * whose inode is ino; sha1 is over those bytes, so a record a crash cut
 * short is never taken for one.  Records are appended under an
 * exclusive flock, in one write, before the header's end moves.
 *
 * Recovery (store_wal_replay, alone, before store_redo): each whole
 * record is checked against its journal.  Lines the journal holds
 * (same file, whole lines up to off + len, the same bytes) are left
 * alone; a journal that is another file now was compacted after the
 * lines were written (compaction makes them durable first) and is left
 * alone too.  Otherwise a power cut took the lines, and they are
 * written back at the end of the journal's whole lines (store_jnl_
 * restore), where store_redo reads them like any others.
 *
 * Trimming (store_wal_trim, at every store_jnl_sync_all): records before
 * an end noted before the syncfs of store_jnl_durable describe lines
 * written before it, durable in their journals now; the log is rewritten
 * with the later records only (temp file, fsync, rename, directory
 * fsync, under the writers' lock).  Writers notice the new inode and
 * reopen.  So the log holds what was written since the last checkpoint.
 */
#include "config.h"

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

#define WAL_MAGIC "berth-wal\t1\t"
#define WAL_END_OFF (sizeof(WAL_MAGIC) - 1)
#define WAL_DUR_OFF (WAL_END_OFF + 21)
#define WAL_HEADER_LEN (WAL_DUR_OFF + 21)
/* zeros written ahead at a time: an APPEND's record is about its
 * message's size, and each growth is an fsync under the writers' lock */
#define WAL_GROW (1024 * 1024)
#define WAL_MAX_FIELDS 7

static char *
store_wal_path(struct store *st)
{
	return xasprintf("%s/journal/.wal", st->partdir);
}

/* store_wal_hdr - end and durable of the log at fd; -1 if no header */
static int
store_wal_hdr(int fd, unsigned long long *end_r, unsigned long long *dur_r)
{
	char b[WAL_HEADER_LEN + 1];
	ssize_t n = pread(fd, b, WAL_HEADER_LEN, 0);

	if (n != (ssize_t)WAL_HEADER_LEN ||
	    memcmp(b, WAL_MAGIC, WAL_END_OFF) != 0 ||
	    b[WAL_DUR_OFF - 1] != '\t' || b[WAL_HEADER_LEN - 1] != '\n')
		return -1;
	b[WAL_DUR_OFF - 1] = '\0';
	b[WAL_HEADER_LEN - 1] = '\0';
	*end_r = strtoull(b + WAL_END_OFF, NULL, 10);
	*dur_r = strtoull(b + WAL_DUR_OFF, NULL, 10);
	return *end_r >= WAL_HEADER_LEN ? 0 : -1;
}

static int
store_wal_put_num(int fd, off_t off, unsigned long long v)
{
	char num[24];

	snprintf(num, sizeof(num), "%020llu", v);
	return store_file_write_all(fd, num, 20, off);
}

/* store_wal_grow - zeros from the file's size to at least want + ahead,
 * made durable with the size */
static int
store_wal_grow(int fd, unsigned long long size, unsigned long long want)
{
	static const char zeros[64 * 1024];
	off_t off;

	if (want <= size)
		return 0;
	for (off = (off_t)size; (unsigned long long)off < want + WAL_GROW;
	     off += (off_t)sizeof(zeros))
		if (store_file_write_all(fd, zeros, sizeof(zeros), off) < 0)
			return -1;
	return fsync(fd);
}

/* store_wal_init - a new log's header and zeros at fd (empty file) */
static int
store_wal_init(int fd)
{
	char h[WAL_HEADER_LEN + 1];

	snprintf(h, sizeof(h), "%s%020llu\t%020llu\n", WAL_MAGIC,
	    (unsigned long long)WAL_HEADER_LEN,
	    (unsigned long long)WAL_HEADER_LEN);
	if (store_file_write_all(fd, h, WAL_HEADER_LEN, 0) < 0)
		return -1;
	return store_wal_grow(fd, WAL_HEADER_LEN, WAL_HEADER_LEN);
}

/*
 * store_wal_lock - the log under an exclusive flock: the process's fd,
 * reopened when a trim replaced the file, created when missing (its
 * name made durable)
 */
static int
store_wal_lock(struct store *st)
{
	char *path = store_wal_path(st), *dir;
	struct stat a, b;
	int tries, fd;

	for (tries = 0; tries < 100; tries++) {
		if (st->wal_fd < 0) {
			fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
			if (fd < 0 && errno == ENOENT) {
				dir = xasprintf("%s/journal", st->partdir);
				if (mkdir(dir, 0750) == 0)
					store_fsync_dir(st->partdir);
				free(dir);
				fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC,
				    0640);
			}
			if (fd < 0)
				break;
			st->wal_fd = fd;
		}
		if (flock(st->wal_fd, LOCK_EX) < 0 || fstat(st->wal_fd, &a) < 0)
			break;
		if (stat(path, &b) == 0 && a.st_ino == b.st_ino) {
			if (a.st_size == 0) {
				if (store_wal_init(st->wal_fd) < 0)
					break;
				dir = xasprintf("%s/journal", st->partdir);
				store_fsync_dir(dir);
				free(dir);
			}
			free(path);
			return 0;
		}
		/* trimmed meanwhile: the new file */
		close(st->wal_fd);
		st->wal_fd = -1;
	}
	if (tries == 100)
		errno = EAGAIN;
	if (st->wal_fd >= 0) {
		close(st->wal_fd);
		st->wal_fd = -1;
	}
	free(path);
	return -1;
}

void
store_wal_close(struct store *st)
{
	if (st->wal_fd >= 0)
		close(st->wal_fd);
	st->wal_fd = -1;
	buf_free(&st->wal_buf);
}

/* store_wal_esc - user with bytes outside [!-~] and '%' as %XX */
static void
store_wal_esc(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '%' || (unsigned char)*s <= ' ' ||
		    (unsigned char)*s >= 0x7f)
			buf_printf(b, "%%%02X", (unsigned char)*s);
		else
			buf_putc(b, *s);
	}
}

void
store_wal_add(struct store *st, const char *user, ino_t ino,
    unsigned long long off, const char *text, size_t len)
{
	char sum[41];

	store_sha1_hex(text, len, sum);
	buf_printf(&st->wal_buf, "W\t%llu\t%llu\t%zu\t%s\t",
	    (unsigned long long)ino, off, len, sum);
	store_wal_esc(&st->wal_buf, user);
	buf_putc(&st->wal_buf, '\n');
	buf_append(&st->wal_buf, text, len);
}

/*
 * store_wal_sync - make the log at fd durable up to end: one process at
 * a time flushes, under an OFD lock on the first byte (flock is the
 * writers'); it notes where the records end, calls fdatasync and writes
 * that end into the durable field.  One that gets the lock and finds
 * the field at or past its own end is done: the flush it waited for
 * covered it.
 */
static int
store_wal_sync(struct store *st, int fd, unsigned long long end)
{
	struct flock fl;
	unsigned long long hend, dur, upto = end;
	int r;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = 1;
	while ((r = fcntl(fd, F_OFD_SETLKW, &fl)) < 0 && errno == EINTR)
		;
	if (r < 0) {
		st->wal_syncs++;
		return fdatasync(fd);
	}
	if (store_wal_hdr(fd, &hend, &dur) == 0 && dur >= end) {
		fl.l_type = F_UNLCK;
		fcntl(fd, F_OFD_SETLK, &fl);
		return 0;
	}
	if (flock(fd, LOCK_SH) == 0) {
		if (store_wal_hdr(fd, &hend, &dur) == 0 && hend > upto)
			upto = hend;
		flock(fd, LOCK_UN);
	}
	st->wal_syncs++;
	r = fdatasync(fd);
	if (r == 0)
		(void)store_wal_put_num(fd, WAL_DUR_OFF, upto);
	fl.l_type = F_UNLCK;
	fcntl(fd, F_OFD_SETLK, &fl);
	return r;
}

int
store_wal_commit(struct store *st, const char **error_r)
{
	unsigned long long end = 0, dur;
	struct stat sb;
	int fd, r = -1;

	if (st->wal_buf.len == 0)
		return 0;
	if (store_wal_lock(st) < 0) {
		r = store_fail(st, error_r, "commit log: %s", strerror(errno));
		buf_reset(&st->wal_buf);
		return r;
	}
	fd = st->wal_fd;
	errno = EINVAL; /* a header that is not one */
	if (fstat(fd, &sb) == 0 && store_wal_hdr(fd, &end, &dur) == 0 &&
	    end <= (unsigned long long)sb.st_size &&
	    store_wal_grow(fd, (unsigned long long)sb.st_size,
		end + st->wal_buf.len) == 0 &&
	    store_file_write_all(fd, st->wal_buf.data, st->wal_buf.len,
		(off_t)end) == 0 &&
	    store_wal_put_num(fd, WAL_END_OFF, end + st->wal_buf.len) == 0)
		r = 0;
	end += st->wal_buf.len;
	buf_reset(&st->wal_buf);
	flock(fd, LOCK_UN);
	if (r == 0 && st->wal_defer) {
		/* store_flush makes it durable, with the next ones */
		st->wal_pending = end;
		return 0;
	}
	if (r == 0)
		r = store_wal_sync(st, fd, end);
	if (r < 0)
		return store_fail(st, error_r, "commit log: %s",
		    strerror(errno));
	return 0;
}

void
store_defer_flush(struct store *st)
{
	st->wal_defer = 1;
}

int
store_flush_pending(const struct store *st)
{
	return st != NULL && (st->wal_defer || st->wal_pending != 0);
}

int
store_flush(struct store *st, const char **error_r)
{
	unsigned long long end = st->wal_pending;

	st->wal_defer = 0;
	st->wal_pending = 0;
	if (end == 0)
		return 0;
	/* a trim since only moved records already flushed (its copy is
	 * fsync'd): the file now open covers ours either way */
	if (store_wal_lock(st) < 0)
		return store_fail(st, error_r, "commit log: %s",
		    strerror(errno));
	flock(st->wal_fd, LOCK_UN);
	if (store_wal_sync(st, st->wal_fd, end) < 0)
		return store_fail(st, error_r, "commit log: %s",
		    strerror(errno));
	return 0;
}

int
store_wal_mark(struct store *st, unsigned long long *end_r,
    const char **error_r)
{
	unsigned long long dur;
	int r;

	*end_r = 0;
	if (store_wal_lock(st) < 0)
		return store_fail(st, error_r, "commit log: %s",
		    strerror(errno));
	r = store_wal_hdr(st->wal_fd, end_r, &dur);
	flock(st->wal_fd, LOCK_UN);
	if (r < 0)
		*end_r = 0; /* unreadable: trim nothing */
	return 0;
}

int
store_wal_trim(struct store *st, unsigned long long upto, const char **error_r)
{
	char *path = store_wal_path(st), *tmp, *dir;
	unsigned long long end, dur;
	struct buf b = BUF_INIT;
	int tfd = -1, r = 0;
	ssize_t n;

	if (upto <= WAL_HEADER_LEN) {
		free(path);
		return 0;
	}
	if (store_wal_lock(st) < 0) {
		free(path);
		return store_fail(st, error_r, "commit log: %s",
		    strerror(errno));
	}
	tmp = xasprintf("%s/journal/.wal.new", st->partdir);
	if (store_wal_hdr(st->wal_fd, &end, &dur) < 0 || upto > end)
		goto out; /* not the file the mark was taken of */
	buf_printf(&b, "%s%020llu\t%020llu\n", WAL_MAGIC,
	    WAL_HEADER_LEN + (end - upto), WAL_HEADER_LEN + (end - upto));
	n = pread(st->wal_fd, buf_reserve(&b, (size_t)(end - upto)),
	    (size_t)(end - upto), (off_t)upto);
	if (n != (ssize_t)(end - upto)) {
		r = store_fail(st, error_r, "commit log: short read");
		goto out;
	}
	b.len += (size_t)n;
	tfd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (tfd < 0 || store_file_write_all(tfd, b.data, b.len, 0) < 0 ||
	    store_wal_grow(tfd, b.len, b.len) < 0 || rename(tmp, path) < 0) {
		r = store_fail(st, error_r, "commit log %s: %s", tmp,
		    strerror(errno));
		unlink(tmp);
		goto out;
	}
	dir = xasprintf("%s/journal", st->partdir);
	store_fsync_dir(dir);
	free(dir);
out:
	if (tfd >= 0)
		close(tfd);
	/* unlocks; writers waiting on it find the new file */
	close(st->wal_fd);
	st->wal_fd = -1;
	buf_free(&b);
	free(tmp);
	free(path);
	return r;
}

/* store_wal_record - the record at p (before end): its fields into f
 * (the line copied into *line_r) and the text; the record's length, 0
 * when it is not a whole record */
static size_t
store_wal_record(const char *p, const char *end, char **line_r, char **f,
    const char **text_r, size_t *len_r)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	unsigned long long len;
	char sum[41], *line, *q;
	size_t n = 0;

	if (nl == NULL || nl - p > 4096)
		return 0;
	line = xstrndup(p, (size_t)(nl - p));
	for (q = line, f[n++] = q;
	     n < WAL_MAX_FIELDS && (q = strchr(q, '\t')) != NULL;) {
		*q++ = '\0';
		f[n++] = q;
	}
	if (n != 6 || strcmp(f[0], "W") != 0 ||
	    sscanf(f[3], "%llu", &len) != 1 ||
	    len > (unsigned long long)(end - (nl + 1))) {
		free(line);
		return 0;
	}
	store_sha1_hex(nl + 1, (size_t)len, sum);
	if (strcmp(sum, f[4]) != 0) {
		free(line);
		return 0;
	}
	*line_r = line;
	*text_r = nl + 1;
	*len_r = (size_t)len;
	return (size_t)(nl + 1 - p) + (size_t)len;
}

/* the journals a replay met: how much of each one's text is known (for
 * store_jnl_restore); a replay meets few users, so a list will do */
struct store_wal_jnl {
	char *user;
	ino_t ino;
	size_t known;
};

struct store_wal_seen {
	struct store_wal_jnl *v;
	size_t n;
};

/* store_wal_known - the known length of user's journal, inode ino: the
 * last record's of it, 0 for a journal (or inode) not met before */
static size_t *
store_wal_known(struct store_wal_seen *seen, const char *user, ino_t ino)
{
	struct store_wal_jnl *j;
	size_t i;

	for (i = seen->n; i-- > 0;) {
		j = &seen->v[i];
		if (strcmp(j->user, user) != 0)
			continue;
		if (j->ino != ino) {
			j->ino = ino;
			j->known = 0;
		}
		return &j->known;
	}
	seen->v = xreallocarray(seen->v, seen->n + 1, sizeof(*seen->v));
	j = &seen->v[seen->n++];
	j->user = xstrdup(user);
	j->ino = ino;
	j->known = 0;
	return &j->known;
}

static void
store_wal_seen_free(struct store_wal_seen *seen)
{
	size_t i;

	for (i = 0; i < seen->n; i++)
		free(seen->v[i].user);
	free(seen->v);
	seen->v = NULL;
	seen->n = 0;
}

int
store_wal_replay(struct store *st, const char **error_r)
{
	char *path = store_wal_path(st), *line, *f[WAL_MAX_FIELDS];
	unsigned long long end, dur, ino, off;
	const char *data = NULL, *p, *text;
	size_t mlen = 0, len, rl;
	int fd, r = 0, restored = 0, records = 0, k;
	struct store_wal_seen seen = { NULL, 0 };
	struct stat sb;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return errno == ENOENT ? 0
				       : store_fail(st, error_r,
					     "commit log: %s", strerror(errno));
	if (fstat(fd, &sb) < 0 || store_wal_hdr(fd, &end, &dur) < 0 ||
	    sb.st_size == 0) {
		close(fd);
		return 0; /* no record was ever acknowledged from it */
	}
	if (end > (unsigned long long)sb.st_size)
		end = (unsigned long long)sb.st_size;
	mlen = (size_t)sb.st_size;
	data = mmap(NULL, mlen, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (data == MAP_FAILED)
		return store_fail(st, error_r, "commit log: %s",
		    strerror(errno));
	/* whole records up to the end: an acknowledged one is among them
	 * (its flush came after the end moved past it) */
	for (p = data + WAL_HEADER_LEN; p < data + end && r == 0; p += rl) {
		rl = store_wal_record(p, data + end, &line, f, &text, &len);
		if (rl == 0)
			break;
		records++;
		if (sscanf(f[1], "%llu", &ino) == 1 &&
		    sscanf(f[2], "%llu", &off) == 1) {
			store_jnl_unesc(f[5]);
			k = store_jnl_restore(st, f[5], (ino_t)ino, off, text,
			    len, store_wal_known(&seen, f[5], (ino_t)ino),
			    error_r);
			if (k < 0)
				r = -1;
			else
				restored += k;
		}
		free(line);
	}
	munmap((void *)data, mlen);
	store_wal_seen_free(&seen);
	if (r == 0 && restored > 0)
		log_warn("redo: commit log records=%d restored=%d: journal "
			 "lines a crash took are written back",
		    records, restored);
	return r < 0 ? -1 : restored;
}

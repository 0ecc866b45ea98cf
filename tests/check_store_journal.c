/*
 * check_store_journal - what a user's journal (lib/store/store_journal.c)
 * holds over time: it grows by every line written, the bytes of small
 * messages included, until a checkpoint compacts it to its live records
 * (berthctl.8, THE JOURNAL: the bound the manual states); and the
 * commit log (lib/store/store_wal.c) that makes every journal a
 * transaction wrote durable with one flush, and puts back at recovery
 * the lines a power cut took from them.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "check_tmpstore.h"
#include "err.h"
#include "store.h"
#include "store_int.h"

#define MSGS 300
#define MSG_SIZE 4096

static struct check_tmpstore tmp;
static char jpath[320];
static struct store *st;

static void
setup(void)
{
	check_tmpstore_make(&tmp, "check_journal", &st);
	(void)snprintf(jpath, sizeof(jpath), "%s/journal/u", tmp.part);
}

static void
teardown(void)
{
	check_tmpstore_remove(&tmp, &st);
}

struct jinfo {
	unsigned long long bytes, end; /* the header's fields */
	off_t size;		       /* of the file */
	size_t flines;		       /* F lines */
	size_t lines;
};

/* jinfo_read - the journal of user u as it is on disk */
static void
jinfo_read(struct jinfo *ji)
{
	struct stat sb;
	char *data, *p, *nl;
	FILE *f;
	size_t n;

	memset(ji, 0, sizeof(*ji));
	ck_assert_int_eq(stat(jpath, &sb), 0);
	ji->size = sb.st_size;
	data = malloc((size_t)sb.st_size + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_ptr_nonnull(f = fopen(jpath, "r"));
	n = fread(data, 1, (size_t)sb.st_size, f);
	fclose(f);
	ck_assert_uint_eq(n, (size_t)sb.st_size);
	data[n] = '\0'; /* the lines end at the first NUL anyway */
	ck_assert_int_eq(sscanf(data, "berth-journal\t3\t%llu\t%llu\t",
			     &ji->bytes, &ji->end),
	    2);
	ck_assert_uint_le(ji->end, (unsigned long long)n);
	data[ji->end] = '\0';
	for (p = strchr(data, '\n') + 1; *p != '\0'; p = nl + 1) {
		ck_assert_ptr_nonnull(nl = strchr(p, '\n'));
		ji->lines++;
		if (p[0] == 'F' && p[1] == '\t')
			ji->flines++;
	}
	free(data);
}

/* put - MSGS distinct messages of MSG_SIZE bytes into INBOX */
static void
put(int seed)
{
	struct store_append opt = { 0, NULL, 1700000000, 0, 0 };
	char *msg = malloc(MSG_SIZE);
	uint32_t uv, uid;
	const char *err;
	int i, n;

	ck_assert_ptr_nonnull(msg);
	for (i = 0; i < MSGS; i++) {
		memset(msg, 'x', MSG_SIZE);
		n = snprintf(msg, MSG_SIZE, "Subject: %d.%d\r\n\r\n", seed, i);
		msg[n] = 'y'; /* the NUL snprintf left */
		ck_assert_int_eq(store_append(st, "u", "INBOX", msg, MSG_SIZE,
				     &opt, &uv, &uid, &err),
		    0);
	}
	free(msg);
}

/*
 * test_checkpoint_compacts - MSGS small messages put their bytes in F
 * lines (the journal grows by the mail); a checkpoint leaves the live
 * records only: no F line, one line per message and mailbox, 64 KB or
 * less here, and no more than the 256 KB of zeros ahead past them.  The
 * compacted journal still says what the database holds.
 */
START_TEST(test_checkpoint_compacts)
{
	struct jinfo before, after;
	const char *err;

	put(1);
	jinfo_read(&before);
	ck_assert_uint_eq(before.flines, MSGS);
	ck_assert_uint_ge(before.end, (unsigned long long)MSGS * MSG_SIZE);
	ck_assert_int_ge(store_checkpoint(st, &err), 0);
	jinfo_read(&after);
	ck_assert_uint_eq(after.flines, 0);
	/* the B line, one I line per message */
	ck_assert_uint_eq(after.lines, MSGS + 1);
	ck_assert_uint_le(after.end, 64 * 1024);
	ck_assert_uint_eq(after.bytes, after.end);
	ck_assert_int_le(after.size, (off_t)after.end + 256 * 1024 + 4096);
	ck_assert_int_eq(store_check(st, NULL, check_quiet, NULL, &err), 0);
}
END_TEST

/*
 * test_growth_until_checkpoint - between checkpoints a journal grows by
 * what is written, and the next checkpoint takes it back to its live
 * records again: the size is bounded by the checkpoint period.
 */
START_TEST(test_growth_until_checkpoint)
{
	struct jinfo a, b, c;
	const char *err;

	put(1);
	ck_assert_int_ge(store_checkpoint(st, &err), 0);
	jinfo_read(&a);
	put(2);
	jinfo_read(&b);
	ck_assert_uint_eq(b.flines, MSGS);
	ck_assert_uint_ge(b.end, a.end + (unsigned long long)MSGS * MSG_SIZE);
	ck_assert_int_ge(store_checkpoint(st, &err), 0);
	jinfo_read(&c);
	ck_assert_uint_eq(c.flines, 0);
	ck_assert_uint_eq(c.lines, 2 * MSGS + 1);
	ck_assert_uint_le(c.end, 2 * a.end + 4096);
	ck_assert_int_eq(store_check(st, NULL, check_quiet, NULL, &err), 0);
}
END_TEST

/* file_read - the whole file at path, NUL-terminated; *len_r its size */
static char *
file_read(const char *path, size_t *len_r)
{
	struct stat sb;
	char *data;
	FILE *f;

	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_ptr_nonnull(data = malloc((size_t)sb.st_size + 1));
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_uint_eq(fread(data, 1, (size_t)sb.st_size, f),
	    (size_t)sb.st_size);
	fclose(f);
	data[sb.st_size] = '\0';
	*len_r = (size_t)sb.st_size;
	return data;
}

/* wal_end - the commit log's end field */
static unsigned long long
wal_end(void)
{
	char path[400], *data;
	unsigned long long end = 0;
	size_t len;

	(void)snprintf(path, sizeof(path), "%s/journal/.wal", tmp.part);
	data = file_read(path, &len);
	ck_assert_int_eq(sscanf(data, "berth-wal\t1\t%llu\t", &end), 1);
	free(data);
	return end;
}

#define RCPTS 20

/* deliver - one small message (seed) to users r0..r<n-1>, all stored */
static void
deliver(int seed, size_t n)
{
	struct store_rcpt rc[RCPTS];
	struct store_delivery d;
	char user[RCPTS][8], guid[41], *path, msg[512];
	const char *data, *err;
	size_t len, i;
	int fd, k;

	ck_assert_uint_le(n, RCPTS);
	ck_assert_int_eq(store_spool_open(st, &fd, &path, &err), 0);
	k = snprintf(msg, sizeof(msg),
	    "Subject: delivery %d\r\n\r\nto %zu users\r\n", seed, n);
	ck_assert_int_eq(write(fd, msg, (size_t)k), k);
	ck_assert_int_eq(store_spool_commit(st, fd, path, guid, &data, &len,
			     &err),
	    0);
	free(path);
	memset(rc, 0, sizeof(rc));
	for (i = 0; i < n; i++) {
		(void)snprintf(user[i], sizeof(user[i]), "r%zu", i);
		rc[i].user = user[i];
	}
	memset(&d, 0, sizeof(d));
	d.guid = guid;
	d.data = data;
	d.len = len;
	ck_assert_int_eq(store_deliver(st, &d, rc, n, &err), 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(rc[i].result, 0);
	store_msg_unmap(data, len);
}

static void
rcpt_setup(void)
{
	char user[8];
	const char *err;
	int i;

	setup();
	for (i = 0; i < RCPTS; i++) {
		(void)snprintf(user, sizeof(user), "r%d", i);
		ck_assert_int_eq(store_mbox_create(st, user, "INBOX", &err), 0);
	}
}

/*
 * test_one_flush_per_delivery - a message to RCPTS users writes RCPTS
 * journals and is made durable by one flush of the commit log, not one
 * per journal; the log holds a record of each journal's lines
 */
START_TEST(test_one_flush_per_delivery)
{
	unsigned long before = st->wal_syncs;
	unsigned long long end = wal_end();
	char path[400], *data;
	size_t len;
	int i;

	deliver(1, RCPTS);
	ck_assert_uint_eq(st->wal_syncs - before, 1);
	ck_assert_uint_gt(wal_end(), end);
	for (i = 0; i < RCPTS; i++) {
		(void)snprintf(path, sizeof(path), "%s/journal/r%d", tmp.part,
		    i);
		data = file_read(path, &len);
		ck_assert_ptr_nonnull(strstr(data, "\nI\t"));
		free(data);
	}
	(void)snprintf(path, sizeof(path), "%s/journal/.wal", tmp.part);
	data = file_read(path, &len);
	for (i = 0, len = 0; data[len] != '\0'; len++)
		i += data[len] == '\n' && data[len + 1] == 'W';
	ck_assert_int_ge(i, RCPTS);
	free(data);
}
END_TEST

/*
 * lose_unsynced - what a power cut may take from user's journal: every
 * line past its synced mark (written, never flushed by itself), the
 * header's end set back to the mark
 */
static void
lose_unsynced(const char *user)
{
	char path[400], *data, num[24];
	unsigned long long bytes, end, synced;
	size_t len;
	int fd;

	(void)snprintf(path, sizeof(path), "%s/journal/%s", tmp.part, user);
	data = file_read(path, &len);
	ck_assert_int_eq(sscanf(data, "berth-journal\t3\t%llu\t%llu\t%llu\t",
			     &bytes, &end, &synced),
	    3);
	ck_assert_uint_lt(synced, end);
	memset(data + synced, 0, end - synced);
	(void)snprintf(num, sizeof(num), "%020llu", synced);
	memcpy(data + strlen("berth-journal\t3\t") + 21, num, 20);
	ck_assert_int_ge(fd = open(path, O_WRONLY), 0);
	ck_assert_int_eq(pwrite(fd, data, len, 0), (ssize_t)len);
	close(fd);
	free(data);
}

/* count - lines of user's journal starting with prefix */
static int
count(const char *user, const char *prefix)
{
	char path[400], *data, *p;
	size_t len;
	int n = 0;

	(void)snprintf(path, sizeof(path), "%s/journal/%s", tmp.part, user);
	data = file_read(path, &len);
	for (p = strchr(data, '\n'); p != NULL && p[1] != '\0';
	     p = strchr(p + 1, '\n'))
		n += strncmp(p + 1, prefix, strlen(prefix)) == 0;
	free(data);
	return n;
}

/*
 * test_lost_lines_put_back - the journals' lines written since their
 * synced marks are gone (a power cut: nothing flushed them but the
 * commit log); recovery writes them back from the log's records, and
 * the database and the journals agree again
 */
START_TEST(test_lost_lines_put_back)
{
	struct err oerr;
	const char *err;
	char user[8];
	int i;

	ck_assert_int_ge(store_checkpoint(st, &err), 0);
	deliver(1, RCPTS);
	deliver(2, 3);
	for (i = 0; i < RCPTS; i++) {
		(void)snprintf(user, sizeof(user), "r%d", i);
		ck_assert_int_eq(count(user, "I\t"), i < 3 ? 2 : 1);
		lose_unsynced(user);
		ck_assert_int_eq(count(user, "I\t"), 0);
	}
	ck_assert_int_gt(store_check(st, NULL, check_quiet, NULL, &err), 0);
	store_close(&st);
	ck_assert_int_ge(store_recover(tmp.conf, tmp.part, &oerr), 0);
	ck_assert_int_eq(store_open(tmp.conf, tmp.part, 0, &st, &oerr), 0);
	for (i = 0; i < RCPTS; i++) {
		(void)snprintf(user, sizeof(user), "r%d", i);
		ck_assert_int_eq(count(user, "I\t"), i < 3 ? 2 : 1);
		/* the message's bytes ride in one journal per delivery */
	}
	ck_assert_int_eq(count("r0", "F\t"), 2);
	ck_assert_int_eq(store_check(st, NULL, check_quiet, NULL, &err), 0);
}
END_TEST

/*
 * test_intact_lines_left_alone - recovery after a crash that took
 * nothing (kill -9) writes nothing back, and neither does one after a
 * compaction replaced a journal whose lines the log still describes
 */
START_TEST(test_intact_lines_left_alone)
{
	struct err oerr;
	const char *err;
	char *a, *b;
	size_t alen, blen;

	deliver(1, 3);
	put(1);
	a = file_read(jpath, &alen);
	store_close(&st);
	ck_assert_int_ge(store_recover(tmp.conf, tmp.part, &oerr), 0);
	ck_assert_int_eq(store_open(tmp.conf, tmp.part, 0, &st, &oerr), 0);
	b = file_read(jpath, &blen);
	/* the end and the lines as they were (the synced mark moved) */
	ck_assert_uint_eq(alen, blen);
	ck_assert_int_eq(memcmp(a + 100, b + 100, alen - 100), 0);
	ck_assert_int_eq(memcmp(a, b, 60), 0);
	free(a);
	free(b);
	put(2);
	ck_assert_int_eq(store_jnl_compact(st, "u", 1, &err), 1);
	a = file_read(jpath, &alen);
	store_close(&st);
	ck_assert_int_ge(store_recover(tmp.conf, tmp.part, &oerr), 0);
	ck_assert_int_eq(store_open(tmp.conf, tmp.part, 0, &st, &oerr), 0);
	b = file_read(jpath, &blen);
	ck_assert_uint_eq(alen, blen);
	ck_assert_int_eq(memcmp(a, b, alen), 0);
	free(a);
	free(b);
	ck_assert_int_eq(count("u", "I\t"), 2 * MSGS);
	ck_assert_int_eq(store_check(st, NULL, check_quiet, NULL, &err), 0);
}
END_TEST

/*
 * test_log_trimmed_at_checkpoint - a checkpoint drops the records of
 * lines it made durable: the log holds what was written since
 */
START_TEST(test_log_trimmed_at_checkpoint)
{
	unsigned long long empty;
	const char *err;

	put(1);
	ck_assert_uint_gt(wal_end(), (unsigned long long)MSGS * MSG_SIZE);
	ck_assert_int_ge(store_checkpoint(st, &err), 0);
	empty = wal_end();
	ck_assert_uint_lt(empty, 100);
	deliver(1, 2);
	ck_assert_uint_gt(wal_end(), empty);
	ck_assert_uint_lt(wal_end(), empty + 4096);
	ck_assert_int_ge(store_checkpoint(st, &err), 0);
	ck_assert_uint_eq(wal_end(), empty);
	ck_assert_int_eq(store_check(st, NULL, check_quiet, NULL, &err), 0);
}
END_TEST

/*
 * test_deferred_flush - appends under store_defer_flush are committed
 * and in the journal at once but flushed together, by store_flush: one
 * fdatasync for them all (a MULTIAPPEND's)
 */
START_TEST(test_deferred_flush)
{
	struct store_append opt = { 0, NULL, 1700000000, 0, 0 };
	unsigned long before;
	char msg[64];
	uint32_t uv, uid;
	const char *err;
	int i, n;

	before = st->wal_syncs;
	store_defer_flush(st);
	for (i = 0; i < 20; i++) {
		n = snprintf(msg, sizeof(msg), "Subject: %d\r\n\r\nx\r\n", i);
		ck_assert_int_eq(store_append(st, "u", "INBOX", msg, (size_t)n,
				     &opt, &uv, &uid, &err),
		    0);
	}
	ck_assert_uint_eq(st->wal_syncs, before);
	ck_assert_int_eq(count("u", "I\t"), 20);
	ck_assert_int_eq(store_flush(st, &err), 0);
	ck_assert_uint_eq(st->wal_syncs, before + 1);
	/* the deferral ended: the next append flushes itself */
	ck_assert_int_eq(store_append(st, "u", "INBOX", msg, (size_t)n, &opt,
			     &uv, &uid, &err),
	    0);
	ck_assert_uint_eq(st->wal_syncs, before + 2);
	ck_assert_int_eq(store_flush(st, &err), 0);
	ck_assert_uint_eq(st->wal_syncs, before + 2);
}
END_TEST

CHECK_MAIN("store_journal", CHECK_OPTS(rcpt_setup, teardown, 120, 0),
    CHECK_TEST(test_checkpoint_compacts),
    CHECK_TEST(test_growth_until_checkpoint),
    CHECK_TEST(test_one_flush_per_delivery),
    CHECK_TEST(test_lost_lines_put_back),
    CHECK_TEST(test_intact_lines_left_alone),
    CHECK_TEST(test_log_trimmed_at_checkpoint), CHECK_TEST(test_deferred_flush))

/*
 * check_store_journal - what a user's journal (lib/store/store_journal.c)
 * holds over time: it grows by every line written, the bytes of small
 * messages included, until a checkpoint compacts it to its live records
 * (berthctl.8, THE JOURNAL: the bound the manual states).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "err.h"
#include "store.h"

#define MSGS 300
#define MSG_SIZE 4096

static char dir[256], conf[300], part[300], jpath[320];
static struct store *st;

static void
quiet(const char *line, void *ctx)
{
	(void)line;
	(void)ctx;
}

static void
setup(void)
{
	struct err oerr;
	const char *err;

	snprintf(dir, sizeof(dir), "/tmp/check_journal.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/conf", dir);
	snprintf(part, sizeof(part), "%s/spool", dir);
	snprintf(jpath, sizeof(jpath), "%s/journal/u", part);
	ck_assert_int_ge(store_recover(conf, part, &oerr), 0);
	ck_assert_int_eq(store_open(conf, part, STORE_OPEN_CREATE, &st, &oerr),
	    0);
	ck_assert_int_eq(store_mbox_create(st, "u", "INBOX", &err), 0);
}

static void
teardown(void)
{
	char cmd[300];

	store_close(&st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
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
	ck_assert_int_eq(store_check(st, NULL, quiet, NULL, &err), 0);
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
	ck_assert_int_eq(store_check(st, NULL, quiet, NULL, &err), 0);
}
END_TEST

CHECK_MAIN("store_journal", CHECK_OPTS(setup, teardown, 120, 0),
    CHECK_TEST(test_checkpoint_compacts),
    CHECK_TEST(test_growth_until_checkpoint))

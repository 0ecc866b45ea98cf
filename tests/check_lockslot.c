/*
 * check_lockslot - unit tests for counted flock slots whose files last
 * only while held: the count, the files gone on release, the sweep of
 * free files, and many processes taking and releasing one slot never
 * holding it twice at once (the unlink vs flock race).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_run.h"
#include "fd.h"
#include "lockslot.h"

static char dir[64];

static void
setup(void)
{
	(void)snprintf(dir, sizeof(dir), "/tmp/check_lockslot.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
}

/* files - how many entries dir holds */
static int
files(void)
{
	char cmd[128];
	FILE *p;
	int n = -1;

	(void)snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	ck_assert_int_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

START_TEST(test_take_release)
{
	char *pa, *pb, *pc;
	int a, b, c;

	a = lockslot_take(dir, "u.ann", 2, &pa);
	b = lockslot_take(dir, "u.ann", 2, &pb);
	ck_assert_int_ge(a, 0);
	ck_assert_int_ge(b, 0);
	ck_assert_str_ne(pa, pb);
	/* both held: a third is refused, with errno 0 */
	errno = EINVAL;
	c = lockslot_take(dir, "u.ann", 2, &pc);
	ck_assert_int_eq(c, -1);
	ck_assert_int_eq(errno, 0);
	ck_assert_ptr_null(pc);
	/* another name is counted apart */
	c = lockslot_take(dir, "a.127.0.0.1", 1, &pc);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(files(), 3);
	/* released: its file is gone, and the slot can be taken again */
	lockslot_release(&a, &pa);
	ck_assert_int_eq(a, -1);
	ck_assert_ptr_null(pa);
	ck_assert_int_eq(files(), 2);
	a = lockslot_take(dir, "u.ann", 2, &pa);
	ck_assert_int_ge(a, 0);
	lockslot_release(&a, &pa);
	lockslot_release(&b, &pb);
	lockslot_release(&c, &pc);
	ck_assert_int_eq(files(), 0);
	/* releasing nothing is harmless */
	lockslot_release(&a, &pa);
}
END_TEST

START_TEST(test_sweep)
{
	char path[128], *ph, *px;
	int fd, h, i;

	/* three left by dead holders, one held */
	for (i = 0; i < 3; i++) {
		(void)snprintf(path, sizeof(path), "%s/u.dead%d.0", dir, i);
		ck_assert_int_ge(fd = open(path, O_CREAT | O_RDWR, 0600), 0);
		fd_close(fd);
	}
	h = lockslot_take(dir, "u.live", 1, &ph);
	ck_assert_int_ge(h, 0);
	ck_assert_int_eq(lockslot_sweep(dir), 3);
	ck_assert_int_eq(files(), 1);
	/* the held one still counts */
	ck_assert_int_eq(lockslot_take(dir, "u.live", 1, &px), -1);
	lockslot_release(&h, &ph);
	ck_assert_int_eq(files(), 0);
	ck_assert_int_eq(lockslot_sweep(dir), 0);
	/* no directory yet: -1, ENOENT */
	(void)snprintf(path, sizeof(path), "%s/none", dir);
	ck_assert_int_eq(lockslot_sweep(path), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/*
 * flock, as lockslot.c calls it: when armed, the holder of the slot lets
 * it go and another process takes it again (a new file under the name)
 * in the moment between the caller's open and its flock; the caller's
 * flock then succeeds on the file no longer linked.
 */
static int hook_armed, hook_fd = -1, hook_new = -1;
static char *hook_path, *hook_new_path;

int
flock(int fd, int op)
{
	if (hook_armed) {
		hook_armed = 0;
		lockslot_release(&hook_fd, &hook_path);
		hook_new = lockslot_take(dir, "u.race", 1, &hook_new_path);
		ck_assert_int_ge(hook_new, 0);
	}
	return (int)syscall(SYS_flock, fd, op);
}

START_TEST(test_released_between_open_and_flock)
{
	char *p;
	int fd;

	hook_fd = lockslot_take(dir, "u.race", 1, &hook_path);
	ck_assert_int_ge(hook_fd, 0);
	hook_armed = 1;
	/* it opens the held file; by its flock that file is unlinked and
	 * the slot is held again through a new one: it must not count */
	fd = lockslot_take(dir, "u.race", 1, &p);
	ck_assert_int_eq(hook_armed, 0);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(errno, 0);
	lockslot_release(&hook_new, &hook_new_path);
	/* free now: taken through the new file's name */
	fd = lockslot_take(dir, "u.race", 1, &p);
	ck_assert_int_ge(fd, 0);
	lockslot_release(&fd, &p);
	ck_assert_int_eq(files(), 0);
}
END_TEST

#define RACERS 4
#define ROUNDS 1000

/*
 * Many processes take and release the one slot of a name as fast as they
 * can (the race above, left to the scheduler): each holder counts itself
 * in shared memory and notes any time it was not alone.
 */
START_TEST(test_one_holder_under_race)
{
	struct shared {
		atomic_int holders;
		atomic_int twice;
		atomic_int taken;
	} * sh;
	pid_t pids[RACERS];
	char *p;
	int i, r, fd, st;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(sh, MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	for (i = 0; i < RACERS; i++) {
		ck_assert_int_ge(pids[i] = fork(), 0);
		if (pids[i] > 0)
			continue;
		for (r = 0; r < ROUNDS; r++) {
			if ((fd = lockslot_take(dir, "u.race", 1, &p)) < 0) {
				if (errno != 0)
					_exit(2);
				continue;
			}
			if (atomic_fetch_add(&sh->holders, 1) != 0)
				atomic_fetch_add(&sh->twice, 1);
			atomic_fetch_add(&sh->taken, 1);
			sched_yield();
			atomic_fetch_sub(&sh->holders, 1);
			lockslot_release(&fd, &p);
		}
		_exit(0);
	}
	for (i = 0; i < RACERS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	ck_assert_int_gt(sh->taken, 0);
	ck_assert_int_eq(sh->twice, 0);
	ck_assert_int_eq(files(), 0);
	munmap(sh, sizeof(*sh));
}
END_TEST

CHECK_MAIN("lockslot", CHECK_OPTS(setup, teardown, 60, 0),
    CHECK_TEST(test_take_release), CHECK_TEST(test_sweep),
    CHECK_TEST(test_released_between_open_and_flock),
    CHECK_TEST(test_one_holder_under_race))

/*
 * lockslot - counted slots as flock(2)s on files in one directory, that
 * last only while held.
 *
 * A slot is <dir>/<prefix>.<i> for i below max, held by whoever has an
 * exclusive flock on the file of that name: the kernel counts holders
 * across processes and drops a dead one's lock at once.  The holder
 * unlinks the file when it lets go, so a directory holds only the slots
 * in use (and those of processes that died holding one, until
 * lockslot_sweep or the next holder of that name).
 *
 * Unlinking a name another process may have open is safe because a
 * taker checks, once it has the lock, that the name still leads to the
 * file it locked; if not (its file was unlinked, and perhaps made again,
 * between its open and its flock) it tries again.  A lock therefore only
 * ever counts while its file is the one the name leads to.
 *
 * Never blocks.  Not for NFS (flock there is not the same lock).
 */
#ifndef BERTH_LOCKSLOT_H
#define BERTH_LOCKSLOT_H

/*
 * lockslot_take - hold the first free one of max slots prefix.0 ..
 * prefix.<max-1> in dir (made as needed): its locked fd, and its path in
 * *path_r (the caller's, for lockslot_release).  -1 when all are held
 * (errno 0) or on an error (errno set; nothing held).
 */
int lockslot_take(const char *dir, const char *prefix, int max, char **path_r);

/*
 * lockslot_release - let a held slot go: unlink its file, then close fd
 * (which drops the lock); *fd_r becomes -1 and *path_r is freed and NULL.
 * Nothing when *fd_r is -1.
 */
void lockslot_release(int *fd_r, char **path_r);

/*
 * lockslot_sweep - remove every file of dir that no one holds (left by
 * processes that died holding a slot); those held stay.  How many were
 * removed, -1 when dir cannot be read (errno set; ENOENT: none yet).
 */
int lockslot_sweep(const char *dir);

#endif

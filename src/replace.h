/*
 * The cross-namespace cleanup of umount.cfsoverlay.  Linux 3.18+ detaches
 * whatever other mount namespaces still have mounted on a directory that goes
 * away, by rmdir or by a rename over it.  The mountpoint is replaced by a
 * fresh copy of itself renamed over it, so that a directory is at the path at
 * every instant, even when the helper is killed half-way.
 */
#ifndef CFS_REPLACE_H
#define CFS_REPLACE_H

#include <sys/types.h>

/* Who did the replacement, for -v. */
struct replace_result {
	uid_t as_uid; /* 0: root; else the owner of the parent and the directory */
};

/* Replaces the empty directory name in dfd (an O_PATH fd the caller has
 * checked to be the target's parent) by a new one with the same owner, group,
 * mode, times, security label, POSIX ACLs and user.* xattrs.  Who acts
 * follows from who may write dfd (umount.cfsoverlay(8), SECURITY):
 *   only root (owner 0, no group/other write bit, no ACL granting write):
 *     root does it;
 *   only its owner u != 0, who also owns the directory: done with fsuid and
 *     fsgid set to the directory's owner, so nothing exceeds u's own rights;
 *   anyone else: nothing is done, -EPERM.
 * The directory is kept with -ENOTEMPTY (files under it), -EBUSY (still a
 * mountpoint here), -ESTALE (a name changed under it), -EPERM, or another
 * -errno; then nothing of the attempt is left behind, unless killed. */
int replace_dir(int dfd, const char *name, struct replace_result *ret);

#endif

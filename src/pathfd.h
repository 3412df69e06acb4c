/*
 * Paths resolved once into fds.  The helpers run as root on paths that other
 * users may be able to write near: every path they act on is opened here,
 * refusing symlinks in any component, and used only through the fd afterwards
 * (*at() calls, move_mount to an fd, /proc/self/fd/N for mount(2)/umount2).
 */
#ifndef CFS_PATHFD_H
#define CFS_PATHFD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

/* Path components, one at a time: skips the slashes before the next one,
 * copies it into name, points *ret_start at it in the path and moves *p just
 * past it.  1, or 0 when no component is left, or -ENAMETOOLONG. */
int pathfd_next_component(const char **p, char name[NAME_MAX + 1], const char **ret_start);
/* Whether only slashes are left of p: the component just taken was the last. */
bool pathfd_at_end(const char *p);

/* Opens the absolute path with no symlink in any component (ELOOP when there is
 * one), O_PATH | O_CLOEXEC | extra_flags (e.g. O_DIRECTORY). */
int pathfd_open(const char *path, int extra_flags, int *ret_fd);

/* Opens the parent directory of the absolute path the same way; *ret_name
 * points into path at the last component.  "/" has no parent (-EINVAL). */
int pathfd_open_parent(const char *path, int *ret_dfd, const char **ret_name);

/* 1 when path still resolves (no symlinks) to the inode of fd, 0 when it
 * resolves to another one or not at all, < 0 on other errors. */
int pathfd_still_at(int fd, const char *path);

/* After a mount was made on the directory target_fd: 1 with *ret_fd (O_PATH)
 * when path, resolved again without symlinks, ends at the root of a mount
 * stacked on that directory (of mount id want_mnt_id unless 0), 0 when it
 * leads elsewhere, < 0 on errors.  Before Linux 5.8 (no mount ids) it can only
 * tell that the path no longer ends at the directory that was mounted over. */
int pathfd_mount_on(int target_fd, const char *path, uint64_t want_mnt_id, int *ret_fd);
/* The mount id of fd (statx STATX_MNT_ID), 0 when the kernel cannot say. */
uint64_t pathfd_mnt_id(int fd);

/* Resolves path (absolute, or relative to the cwd) as realpath(3) does, into
 * its canonical name (*ret_path, malloc'd) and an O_PATH fd of what it names,
 * with one rule more: a symlink is followed only in a directory that is root's
 * and not writable by others (-EPERM otherwise, *ret_untrusted naming that
 * symlink when ret_untrusted is not NULL).  A user who owns a directory on
 * the way cannot swap a symlink in to redirect root. */
#define PATHFD_MAX_LINKS 40
int pathfd_resolve(const char *path, char **ret_path, int *ret_fd, char **ret_untrusted);

/* "/proc/self/fd/N": the name mount(2) and umount2() take for an fd. */
#define PATHFD_PROC_MAX 32
void pathfd_proc_path(int fd, char buf[PATHFD_PROC_MAX]);

/* Whether /proc/self/fd exists in this mount namespace: not after -N into a
 * container whose /proc belongs to a pid namespace the helper is not in. */
bool pathfd_proc_available(void);

/* The name of fd for mount(2) and umount2(): /proc/self/fd/N in buf, or where
 * that does not exist, path, the name fd was opened by; the caller then
 * checks afterwards where the mount went (pathfd_mount_on), or path is one
 * only root can change (the temp location). */
const char *pathfd_name(int fd, const char *path, char buf[PATHFD_PROC_MAX]);

/* "/proc/self/fd/N/NAME": name in the directory fd, for calls that take only
 * a path.  umount2() needs it: an fd open on a mount makes that mount busy,
 * one on its parent does not.  -ENAMETOOLONG when name is no single name. */
#define PATHFD_PROC_CHILD_MAX (PATHFD_PROC_MAX + NAME_MAX + 1)
int pathfd_proc_child_path(int dfd, const char *name, char buf[PATHFD_PROC_CHILD_MAX]);

#endif

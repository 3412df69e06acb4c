/* Facts about the mount holding a path, asked of the kernel rather than
 * mountinfo where the kernel can answer. */
#ifndef CFS_MOUNTPOINT_H
#define CFS_MOUNTPOINT_H

#include <stdbool.h>
#include <stddef.h>

/* *ret tells whether path (not followed if a symlink) is a mount's root.
 * path must be canonical: before Linux 5.8, which lacks
 * STATX_ATTR_MOUNT_ROOT, it is looked up in mountinfo. */
int mountpoint_check(const char *path, bool *ret);

/* Whether the mount holding path propagates to peers (is shared), and whether
 * path is that mount's root.  statmount(2) answers from Linux 6.8; before,
 * mountinfo is read.  path must be canonical. */
int mountpoint_propagation(const char *path, bool *ret_shared, bool *ret_is_root);

/* *ret tells whether the O_PATH fd is a mount's root (the top mount where it
 * was opened).  Before Linux 5.8 the canonical path it was opened from is
 * looked up in mountinfo. */
int mountpoint_check_fd(int fd, const char *path, bool *ret);

/* Whether no mount stands at or below dir, the canonical path dir_fd was
 * opened from, in this mount namespace: *ret_none is true when listmount(2)
 * and statmount(2) (Linux 6.8) show none of the mounts on dir_fd's mount at
 * or below dir, false when one is.  Negative when the kernel cannot tell, and
 * -E2BIG when more than max mounts stand on dir_fd's mount: each is one
 * statmount(2), and a caller comparing costs names its budget. */
int mountpoint_none_below(int dir_fd, const char *dir, size_t max, bool *ret_none);

/* The filesystem type and source of the mount the fd is on, from mountinfo,
 * to name what is there in a message. */
int mountpoint_describe(int fd, char **ret_type, char **ret_source);

#endif

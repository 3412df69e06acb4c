/* Is a path the root of a mount, asked of the kernel rather than mountinfo. */
#ifndef CFS_MOUNTPOINT_H
#define CFS_MOUNTPOINT_H

#include <stdbool.h>

/* *ret tells whether path (not followed if a symlink) is a mount's root.
 * path must be canonical: before Linux 5.8, which lacks
 * STATX_ATTR_MOUNT_ROOT, it is looked up in mountinfo. */
int mountpoint_check(const char *path, bool *ret);

#endif

/* Image-file layers: a loop device, a libblkid probe, a detached read-only mount. */
#ifndef CFS_LOOPDEV_H
#define CFS_LOOPDEV_H

#include <stdbool.h>

#include "errors.h"

/* Attaches path read-only (autoclear) to a free loop device, probes its
 * filesystem type and mounts it as a detached read-only mount; the loop device
 * goes away with the last reference to that mount.  ret_fstype may be NULL. */
int loopdev_mount_image(const char *path, bool direct_io, int *ret_mnt_fd, char **ret_fstype,
			struct cfs_error *e);

#endif

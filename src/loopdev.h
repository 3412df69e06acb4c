/* Image-file layers: a libblkid probe, then a detached read-only mount of the
 * file itself (erofs, where the kernel can) or of a loop device. */
#ifndef CFS_LOOPDEV_H
#define CFS_LOOPDEV_H

#include <stdbool.h>

#include "errors.h"

/* Probes the filesystem type of the image at path and mounts it as a detached
 * read-only mount: an erofs image file-backed where the kernel and the
 * filesystem holding it allow, any other through a free loop device attached
 * read-only with autoclear, which goes away with the last reference to that
 * mount.  CFSOVERLAY_FORCE_LOOP=1 in the environment takes a loop device for
 * every image.  ret_fstype may be NULL. */
int loopdev_mount_image(const char *path, bool direct_io, int *ret_mnt_fd, char **ret_fstype,
			struct cfs_error *e);

#endif

/* erofs image layers mounted from the image file itself, with no loop device. */
#ifndef CFS_EROFS_H
#define CFS_EROFS_H

#include "errors.h"

/* Mounts the erofs image open on image_fd as a detached read-only mount,
 * file-backed.  -EOPNOTSUPP, with e untouched, when this kernel or the
 * filesystem holding the image cannot: the caller then takes a loop device. */
int erofs_mount_file(int image_fd, const char *path, int *ret_mnt_fd, struct cfs_error *e);

#endif

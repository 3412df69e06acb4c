/* Mounting the overlay: the new mount API where the kernel has it, mount(2) otherwise. */
#ifndef CFS_OVERLAY_H
#define CFS_OVERLAY_H

#include <stdint.h>

#include "errors.h"
#include "layers.h"
#include "options.h"

struct cfs_overlay_req {
	const char *source;
	const char *target;   /* for messages: the mount goes on target_fd */
	int target_fd;	      /* O_PATH, resolved once without symlinks */
	uint64_t *ret_mnt_id; /* set to the new mount's id where it is known, else 0 */
	const struct cfs_mount_opts *opts;
	const struct cfs_layers *layers;
	const char *upperdir, *workdir; /* decoded from opts (which keep the escapes) */
	int userns_fd;			/* -EBADF: no idmap */
	const char *tmpdir;
};

/* Mounts the overlay on req->target; on failure nothing is left mounted and no
 * temp directory or loop device remains.  ret_strategy: "new" or "legacy". */
int overlay_mount(const struct cfs_overlay_req *req, const char **ret_strategy,
		  struct cfs_error *e);

/* MS_* flags to MOUNT_ATTR_* for fsmount(2) and mount_setattr(2). */
unsigned int overlay_mount_attrs(unsigned long ms_flags);

#endif

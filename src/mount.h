/* mount.cfsoverlay's work from parsed argv to a recorded mount. */
#ifndef CFS_MOUNT_H
#define CFS_MOUNT_H

#include <stdbool.h>

#include "errors.h"

struct cfs_mount_args {
	const char *source;
	const char *target;
	const char *options; /* every -o joined with commas */
	const char *type;    /* -t, or NULL */
	const char *ns;	     /* -N, or NULL */
	bool fake;	     /* -f */
	bool no_utab;	     /* -n */
};

int cfs_mount(const struct cfs_mount_args *a, struct cfs_error *e);

#endif

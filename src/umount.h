/*
 * umount.cfsoverlay's work: unmount, forget the utab entry, then rmdir the
 * mountpoint so copies of the mount in other mount namespaces go too.
 */
#ifndef CFS_UMOUNT_H
#define CFS_UMOUNT_H

#include <stdbool.h>

#include "errors.h"

struct cfs_umount_args {
	const char *target;
	const char *ns; /* -N */
	bool lazy;      /* -l: MNT_DETACH */
	bool force;     /* -f: MNT_FORCE */
	bool no_utab;   /* -n */
};

int cfs_umount(const struct cfs_umount_args *a, struct cfs_error *e);

/* Removes the empty directory path and makes it again with the same owner,
 * mode and security label: Linux 3.18+ detaches every mount on a removed
 * directory in every namespace.  Anything but an empty directory that is no
 * longer a mountpoint is left alone. */
int umount_rmdir_recreate(const char *path);

#endif

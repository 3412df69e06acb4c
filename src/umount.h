/*
 * umount.cfsoverlay's work: unmount, forget the utab entry, then rmdir the
 * mountpoint so copies of the mount in other mount namespaces go too, and
 * reclaim temp directories a killed mount.cfsoverlay left behind.
 */
#ifndef CFS_UMOUNT_H
#define CFS_UMOUNT_H

#include <stdbool.h>

#include "errors.h"

struct cfs_umount_args {
	const char *target;
	const char *ns; /* -N */
	bool lazy;	/* -l: MNT_DETACH */
	bool force;	/* -f: MNT_FORCE */
	bool no_utab;	/* -n */
};

int cfs_umount(const struct cfs_umount_args *a, struct cfs_error *e);

/* Removes the empty directory path (absolute, canonical) and makes it again
 * with the same owner, mode and security label: Linux 3.18+ detaches every
 * mount on a removed directory in every namespace.  Anything but an empty
 * directory that is no longer a mountpoint here is left alone (-EBUSY,
 * -ENOTEMPTY...).  *ret_removed tells whether the rmdir happened, so that a
 * failure to recreate can be told from a directory that was kept. */
int umount_rmdir_recreate(const char *path, bool *ret_removed);

#endif

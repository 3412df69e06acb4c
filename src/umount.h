/*
 * umount.cfsoverlay's work: unmount the overlay at a target resolved once into
 * fds, forget the utab entry, then replace the mountpoint directory by a fresh
 * copy (src/replace.c) so copies of the mount in other mount namespaces go too,
 * and reclaim temp directories a killed mount.cfsoverlay left behind.
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

#endif

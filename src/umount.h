/*
 * umount.cfsoverlay's work: unmount, forget the utab entry, then rmdir the
 * mountpoint so copies of the mount in other mount namespaces go too, and
 * reclaim temp directories a killed mount.cfsoverlay left behind.
 */
#ifndef CFS_UMOUNT_H
#define CFS_UMOUNT_H

#include <stdbool.h>

#include "errors.h"

/* Our utab ATTRS, written at mount time and read back by umount.cfsoverlay. */
#define UMOUNT_ATTR_RMDIR  "cfs.rmdir"	/* "no": keep the mountpoint, copies stay */
#define UMOUNT_ATTR_TMPDIR "cfs.tmpdir" /* a temp base other than the default */

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

/* The utab ATTRS that tell umount.cfsoverlay what the mount asked for:
 * "cfs.rmdir=no" unless rmdir, "cfs.tmpdir=DIR" when tmpdir is not the default
 * base (quoted when it holds a comma; left out when it holds a double quote,
 * which libmount cannot escape).  *ret is NULL when there is nothing to
 * record.  Fails with -ENOMEM only. */
int umount_attrs_format(bool rmdir, const char *tmpdir, char **ret);
/* The reverse: attrs may be NULL (no utab entry).  *ret_tmpdir is NULL when
 * the default base was used. */
int umount_attrs_parse(const char *attrs, bool *ret_rmdir, char **ret_tmpdir);

#endif

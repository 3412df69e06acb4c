/* /run/mount/utab through libmount's update API and lock. */
#ifndef CFS_UTAB_H
#define CFS_UTAB_H

#include <stdbool.h>

#include "errors.h"

#define CFS_HELPER_OPT "helper=cfsoverlay"

/* Records SOURCE on TARGET with helper=cfsoverlay and the user-space options
 * (umount(8) run by root routes on helper=), and our own attributes.  mountflags:
 * MS_BIND for a bind, so that libmount records its root. */
int utab_add(const char *source, const char *target, unsigned long mountflags,
	     const char *user_opts, const char *attrs, struct cfs_error *e);
int utab_remove(const char *target, struct cfs_error *e);
/* The ATTRS of TARGET's entry (NULL when there is none). */
int utab_get_attrs(const char *target, char **ret_attrs);

/* Our ATTRS, written at mount time and read back by umount.cfsoverlay. */
#define UTAB_ATTR_RMDIR	 "cfs.rmdir"  /* "no": keep the mountpoint, copies stay */
#define UTAB_ATTR_TMPDIR "cfs.tmpdir" /* a temp base other than the default */

/* "cfs.rmdir=no" unless rmdir, "cfs.tmpdir=DIR" when tmpdir is not the default
 * base (quoted when it holds a comma; left out when it holds a double quote,
 * which libmount cannot escape).  *ret is NULL when there is nothing to
 * record.  Fails with -ENOMEM only. */
int utab_attrs_format(bool rmdir, const char *tmpdir, char **ret);
/* The reverse: attrs may be NULL (no utab entry).  *ret_tmpdir is NULL when
 * the default base was used. */
int utab_attrs_parse(const char *attrs, bool *ret_rmdir, char **ret_tmpdir);

#endif

/* /run/mount/utab through libmount's update API and lock. */
#ifndef CFS_UTAB_H
#define CFS_UTAB_H

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

#endif

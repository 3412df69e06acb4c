/* Who may run the helper, and what it keeps of root's power. */
#ifndef CFS_PRIVS_H
#define CFS_PRIVS_H

#include "errors.h"

/* Refuses a non-root real uid (a setuid mount(8) acting for a user) and a
 * missing CAP_SYS_ADMIN, before anything else happens. */
int privs_check(struct cfs_error *e);
/* Keeps only what mounting needs, once the user namespace is made. */
int privs_drop(struct cfs_error *e);

#endif

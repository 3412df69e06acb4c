/* -N: work in another mount namespace, as mount -N does. */
#ifndef CFS_MOUNTNS_H
#define CFS_MOUNTNS_H

#include "errors.h"

/* spec is a PID or a path such as /proc/PID/ns/mnt. */
int mountns_enter(const char *spec, struct cfs_error *e);

#endif

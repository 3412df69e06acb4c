/* -N: work in another mount namespace, as mount -N does. */
#ifndef CFS_MOUNTNS_H
#define CFS_MOUNTNS_H

#include "errors.h"

/* Opens a namespace file (cfs.userns=, -N) without blocking (a FIFO answers at
 * once) and checks it is nsfs of type nstype (CLONE_NEWNS, CLONE_NEWUSER).
 * what names the option in the message ("-N", "cfs.userns"). */
int mountns_open_ns(const char *path, int nstype, const char *what, int *ret_fd,
		    struct cfs_error *e);

/* spec is a PID or a path such as /proc/PID/ns/mnt. */
int mountns_enter(const char *spec, struct cfs_error *e);

#endif

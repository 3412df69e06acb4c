/*
 * SIGINT, SIGTERM and SIGHUP during a mount: the handler only records the
 * signal; the mount path checks between steps, undoes what it made and exits 8.
 */
#ifndef CFS_INTERRUPT_H
#define CFS_INTERRUPT_H

#include "errors.h"

int interrupt_install(void);
/* -EINTR with e filled when a signal arrived, else 0. */
int interrupt_check(struct cfs_error *e);

#endif

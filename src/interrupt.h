/*
 * SIGINT, SIGTERM and SIGHUP during a mount: the handler only records the
 * signal; the mount path checks between steps, undoes what it made and exits 8.
 */
#ifndef CFS_INTERRUPT_H
#define CFS_INTERRUPT_H

#include <stdbool.h>

#include "errors.h"

int interrupt_install(void);
/* restart false: a wait that may block for good (another process's lock) is
 * left with EINTR on a signal, so the caller can undo and exit 8; true again
 * right after it.  Nothing happens where interrupt_install() was not called. */
int interrupt_restart(bool restart);
/* -EINTR with e filled when a signal arrived, else 0. */
int interrupt_check(struct cfs_error *e);

#endif

/* bind/rbind without overlay: plain, or idmapped with the new mount API. */
#ifndef CFS_BIND_H
#define CFS_BIND_H

#include "errors.h"

/* Binds source on the directory target_fd (resolved once from target, which
 * names it in messages).  flags: MS_BIND, MS_REC and the per-mount flags. */
int bind_mount(const char *source, const char *target, int target_fd, unsigned long flags,
	       int userns_fd, struct cfs_error *e);
/* The per-mount flags of target that a bind remount must keep (statvfs ST_*
 * mapped one by one to MS_*). */
unsigned long bind_locked_flags(unsigned long st_flags);

#endif

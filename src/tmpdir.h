/*
 * The temp location of the legacy strategy: one mkdtemp directory per helper run,
 * under a root-only base that is a private mount where its parent propagates.
 * A live helper holds an flock on its directory, so a later run can tell a live
 * directory from one a killed helper left behind.
 */
#ifndef CFS_TMPDIR_H
#define CFS_TMPDIR_H

#include <stddef.h>

#include "errors.h"

#define TMPDIR_PREFIX "ovl-"

struct cfs_tmpdir {
	char *path;
	int fd;	     /* O_DIRECTORY, flock'ed for as long as the helper runs */
	int base_fd; /* the checked base, where fd's directory is removed */
	size_t n_made;
};

#define CFS_TMPDIR_INIT                                                                            \
	{                                                                                          \
		.path = NULL, .fd = -EBADF, .base_fd = -EBADF, .n_made = 0                         \
	}

/* Creates or checks the base (0700 root:root, no symlink, every directory above
 * it root's and not writable by others, sticky /tmp included: all checked on
 * fds while walking from /), then a fresh locked directory inside it. */
int tmpdir_create(const char *base, struct cfs_tmpdir *ret, struct cfs_error *e);

/* Attaches the detached mount mnt_fd at <dir>/<n>; ret_path is that path. */
int tmpdir_attach(struct cfs_tmpdir *t, int mnt_fd, char **ret_path, struct cfs_error *e);

/* Unmounts every temp layer (no MNT_DETACH: the layers are read-only, and a busy
 * one is left for the stale cleanup), rmdirs them and the directory.  Returns the
 * number of layers that could not be removed. */
int tmpdir_release(struct cfs_tmpdir *t);

/* Unmounts and removes directories under base that no live helper holds
 * (rmdir only, never recursive).  Returns how many were removed, or a negative
 * errno: -EPERM when base or a directory above it fails tmpdir_create's checks. */
int tmpdir_clean_stale(const char *base);

#endif

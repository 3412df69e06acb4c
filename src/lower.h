/*
 * Lower layers made ready for a strategy: an O_PATH fd, a read-only (idmapped)
 * detached clone, or an image mounted from a loop device.
 */
#ifndef CFS_LOWER_H
#define CFS_LOWER_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"
#include "layers.h"

struct cfs_lower {
	const char *path; /* the user's path, from struct cfs_layers */
	bool data_only;
	bool image;	 /* a regular file: mounted through a loop device */
	bool detached;	 /* fd is a detached mount, not an O_PATH fd */
	int fd;		 /* -EBADF when the path itself is used */
	const char *rel; /* in the shared idmapped tree: the path inside it */
};

/* Idmapped directory layers under one common directory share one idmapped
 * clone of it (tree_fd): one open_tree and one mount_setattr for the lot. */
struct cfs_lowers {
	struct cfs_lower *v;
	size_t n;
	char *tree_dir; /* NULL: no shared tree, tree_fd and host_fd unused */
	int tree_fd;
	int host_fd;	 /* the directory itself, as the host sees it */
	bool tree_whole; /* no mount below tree_dir: the clone misses nothing */
};

struct lower_config {
	int userns_fd;	/* idmap every layer with it, or -EBADF */
	bool want_fds;	/* the new mount API takes every layer by fd */
	bool lazy_dirs; /* plain layers for mount(2): left to the kernel to find */
	bool direct_io; /* loop devices with LO_FLAGS_DIRECT_IO */
};

int lowers_prepare(const struct cfs_layers *layers, const struct lower_config *cfg,
		   struct cfs_lowers *ret, struct cfs_error *e);
void lowers_free(struct cfs_lowers *l);

/* A read-only detached clone of path relative to dirfd (of dirfd itself when
 * path is NULL), idmapped when userns_fd >= 0; what names it in messages. */
int lower_clone(int dirfd, const char *path, const char *what, int userns_fd, int *ret_fd,
		struct cfs_error *e);
/* Makes an existing detached mount read-only and, when userns_fd >= 0, idmapped. */
int lower_setattr(int mnt_fd, const char *what, int userns_fd, struct cfs_error *e);

/* Raises RLIMIT_NOFILE's soft limit so that n layer fds fit. */
int lower_raise_nofile(size_t n);

#endif

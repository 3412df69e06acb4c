#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <unistd.h>

#include "idmap.h"
#include "interrupt.h"
#include "log.h"
#include "loopdev.h"
#include "lower.h"
#include "mountpoint.h"
#include "util.h"

/* stdin/out/err, the fsopen fd, userns, upper, work and some slack. */
#define NOFILE_RESERVE 32

/* open_tree_attr(2), Linux 6.15; glibc 2.36 (Debian 12) does not know it.  The
 * number is the same on every architecture but alpha (the unified table). */
#ifndef SYS_open_tree_attr
#define SYS_open_tree_attr 467
#endif

/* Set once the kernel has shown that it cannot make a clone with its
 * attributes in one call: the rest of the run does it in two. */
static bool open_tree_attr_missing;

static struct mount_attr layer_attr(int userns_fd)
{
	struct mount_attr attr = {
		/* Read-only always: a leaked temp layer is then never a way to
		 * modify image data (containerd #10704). */
		.attr_set = MOUNT_ATTR_RDONLY,
	};

	if (userns_fd >= 0) {
		attr.attr_set |= MOUNT_ATTR_IDMAP;
		attr.userns_fd = (__u64)userns_fd;
	}
	return attr;
}

int lower_setattr(int mnt_fd, const char *what, int userns_fd, struct cfs_error *e)
{
	struct mount_attr attr = layer_attr(userns_fd);

	if (mount_setattr(mnt_fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0)
		return 0;
	switch (errno) {
	case ENOSYS:
		cfs_fail(e, CFS_STAGE_MOUNT, -ENOSYS, "cannot set attributes of layer %s", what);
		cfs_hint(e, "kernel lacks mount_setattr (needs Linux 5.12)");
		return -ENOSYS;
	case EINVAL:
		if (userns_fd >= 0)
			return idmap_fail_einval(userns_fd, what, e);
		break;
	}
	return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot make layer %s read-only%s", what,
			userns_fd >= 0 ? " and idmapped" : "");
}

/* One syscall instead of two, and the clone never exists without being
 * read-only and idmapped.  ENOSYS: a kernel before 6.15 (or a seccomp policy
 * that does not know the call).  EINVAL: a kernel whose open_tree_attr does not
 * take these attributes, or a filesystem that cannot be idmapped; the two
 * steps of the caller's fallback tell them apart, and name the second. */
static int clone_with_attr(int dirfd, const char *path, unsigned int flags, int userns_fd,
			   int *ret_fd)
{
	struct mount_attr attr = layer_attr(userns_fd);
	int fd;

	if (open_tree_attr_missing)
		return -ENOSYS;
	fd = (int)syscall(SYS_open_tree_attr, dirfd, path, flags, &attr, sizeof(attr));
	if (fd < 0 && errno == ENOSYS) {
		verbose("open_tree_attr: %m: layers are cloned with open_tree + mount_setattr");
		open_tree_attr_missing = true;
	}
	if (fd < 0)
		return negerrno();
	*ret_fd = fd;
	return 0;
}

int lower_clone(int dirfd, const char *path, const char *what, int userns_fd, int *ret_fd,
		struct cfs_error *e)
{
	unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (path ? 0 : AT_EMPTY_PATH);
	_cleanup_close_ int fd = -EBADF;
	int r;

	r = clone_with_attr(dirfd, path ? path : "", flags, userns_fd, &fd);
	if (r == 0) {
		*ret_fd = TAKE_FD(fd);
		return 0;
	}
	if (r != -ENOSYS && r != -EINVAL)
		return cfs_fail(e, CFS_STAGE_MOUNT, r, "cannot clone layer %s", what);
	fd = open_tree(dirfd, path ? path : "", flags);
	if (fd < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot clone layer %s", what);
		if (r == -ENOSYS)
			cfs_hint(e, "kernel lacks open_tree (needs Linux 5.2)");
		return r;
	}
	r = lower_setattr(fd, what, userns_fd, e);
	if (r < 0)
		return r;
	if (!open_tree_attr_missing) {
		/* EINVAL, yet the same attributes in two steps work: the kernel's. */
		verbose("open_tree_attr refused what mount_setattr takes: cloning in two steps");
		open_tree_attr_missing = true;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int lower_raise_nofile(size_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return negerrno();
	if (rl.rlim_cur >= n + NOFILE_RESERVE)
		return 0;
	if (rl.rlim_max < n + NOFILE_RESERVE)
		rl.rlim_max = n + NOFILE_RESERVE; /* root may raise the hard limit too */
	rl.rlim_cur = n + NOFILE_RESERVE;
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? negerrno() : 0;
}

void lowers_free(struct cfs_lowers *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].fd >= 0)
			close(l->v[i].fd);
	if (l->tree_dir && l->tree_fd >= 0)
		close(l->tree_fd);
	if (l->tree_dir && l->host_fd >= 0)
		close(l->host_fd);
	free(l->tree_dir);
	l->tree_dir = NULL;
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Cloning and idmapping each layer costs an open_tree, a mount_setattr and,
 * when the detached mount is dropped, an RCU grace period: for 500 layers that
 * is most of the mount's time.  Layers that share a directory (containerd's
 * snapshots/N/fs) are taken from one idmapped clone of it instead.  The clone
 * is made from an fd of the directory, so that the clone and the host view
 * start from the same place. */
static void prepare_tree(const struct cfs_layers *layers, const struct lower_config *cfg,
			 struct cfs_lowers *l)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int host_fd = -EBADF, fd = -EBADF;
	struct cfs_error ignored = { 0 };

	if (cfg->userns_fd < 0 || layers->n < 2 || layers_common_dir(layers, &dir) < 0)
		return;
	/* Any failure here is reported, if it matters, by the per-layer clone. */
	host_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (host_fd < 0)
		return;
	if (lower_clone(host_fd, NULL, dir, cfg->userns_fd, &fd, &ignored) < 0)
		return;
	/* With no mount below the directory, the clone holds all the host has
	 * there: a layer found in it needs no second walk on the host to prove
	 * it is the one its path names.  Proving it costs a statmount(2) per
	 * mount on the directory's mount, so only where that is fewer calls
	 * than one per layer.  The legacy strategy walks each layer on the host
	 * anyway, for the symlinks mount(2) would follow. */
	if (cfg->want_fds && mountpoint_none_below(host_fd, dir, layers->n, &l->tree_whole) < 0)
		l->tree_whole = false;
	l->tree_fd = TAKE_FD(fd);
	l->host_fd = TAKE_FD(host_fd);
	l->tree_dir = TAKE_PTR(dir);
}

/* A layer comes from the shared tree only when the tree holds the very
 * directory its path names.  The clone is not recursive: a mount below the
 * directory is missing from it, and a symlink may lead out of it.
 *
 * Legacy: mount(2) walks TREE/rel itself.  If the host's walk of rel from the
 * directory stays on its mount and beneath it, the walk in the clone is the
 * same walk, so one openat2 on the host says it all.
 * New API: the layer is an fd opened in the clone under the same limits; the
 * host's walk must end on the same inode, unless no mount stands below the
 * directory (tree_whole): then a walk that stays beneath it meets the same
 * dentries in the clone as on the host. */
static int take_from_tree(const struct cfs_lowers *l, struct cfs_lower *lw, bool want_fd)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS,
	};
	size_t n = l->tree_dir ? strlen(l->tree_dir) : 0;
	_cleanup_close_ int fd = -EBADF;
	struct stat tree_st, host_st;
	const char *rel;

	if (!n || strncmp(lw->path, l->tree_dir, n) || lw->path[n] != '/')
		return -EXDEV;
	rel = lw->path + n + 1;
	fd = (int)syscall(SYS_openat2, want_fd ? l->tree_fd : l->host_fd, rel, &how, sizeof(how));
	if (fd < 0)
		return negerrno();
	if (want_fd) {
		if (!l->tree_whole) {
			if (fstat(fd, &tree_st) < 0 || fstatat(l->host_fd, rel, &host_st, 0) < 0)
				return negerrno();
			if (tree_st.st_dev != host_st.st_dev || tree_st.st_ino != host_st.st_ino)
				return -EXDEV;
		}
		lw->fd = TAKE_FD(fd);
	}
	lw->rel = rel;
	return 0;
}

static int prepare_image(struct cfs_lower *lw, const struct lower_config *cfg, struct cfs_error *e)
{
	_cleanup_close_ int mfd = -EBADF;
	_cleanup_free_ char *fstype = NULL, *what = NULL;
	int r;

	lw->image = true;
	r = loopdev_mount_image(lw->path, cfg->direct_io, &mfd, &fstype, e);
	if (r < 0)
		return r;
	if (cfg->userns_fd >= 0) {
		/* Whether it can be idmapped depends on the type: name it. */
		if (asprintf(&what, "%s (%s image)", lw->path, fstype) < 0)
			return cfs_fail(e, CFS_STAGE_SETUP, -ENOMEM, "lowerdir %s", lw->path);
		r = lower_setattr(mfd, what, cfg->userns_fd, e);
		if (r < 0)
			return r;
	}
	lw->fd = TAKE_FD(mfd);
	lw->detached = true;
	return 0;
}

/* 500 layers pay for every syscall here, so the common case goes first: a
 * directory, opened (new API) or taken from the shared tree without a stat.
 * Whatever that does not settle is looked at closely. */
static int prepare_one(const struct cfs_lowers *l, struct cfs_lower *lw,
		       const struct lower_config *cfg, struct cfs_error *e)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	if (cfg->userns_fd >= 0) {
		if (take_from_tree(l, lw, cfg->want_fds) == 0)
			return 0;
	} else if (cfg->want_fds) {
		fd = open(lw->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			lw->fd = TAKE_FD(fd);
			return 0;
		}
		if (errno != ENOTDIR)
			return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "lowerdir %s", lw->path);
	} else if (cfg->lazy_dirs) {
		return 0;
	}

	if (stat(lw->path, &st) < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "lowerdir %s", lw->path);
	if (S_ISREG(st.st_mode))
		return prepare_image(lw, cfg, e);
	if (!S_ISDIR(st.st_mode))
		return cfs_fail(e, CFS_STAGE_MOUNT, 0,
				"lowerdir %s: neither a directory nor a filesystem image",
				lw->path);
	if (cfg->userns_fd < 0) {
		if (!cfg->want_fds)
			return 0; /* mount(2) takes the path */
		/* A directory now, not a moment ago: it was just made or swapped. */
		fd = open(lw->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "lowerdir %s", lw->path);
		lw->fd = TAKE_FD(fd);
		return 0;
	}
	r = lower_clone(AT_FDCWD, lw->path, lw->path, cfg->userns_fd, &lw->fd, e);
	if (r < 0)
		return r;
	lw->detached = true;
	return 0;
}

/* What the shared clone was good for: a layer on a mount below its directory
 * (a tmpfs, say) is missing from it and gets a clone of its own. */
static void report_tree(const struct cfs_lowers *l)
{
	size_t shared = 0, own = 0, images = 0;

	if (!l->tree_dir)
		return;
	for (size_t i = 0; i < l->n; i++) {
		shared += l->v[i].rel != NULL;
		images += l->v[i].image;
		own += l->v[i].detached && !l->v[i].image;
	}
	if (images)
		verbose("%zu of %zu layers from the shared idmapped clone of %s, %zu with a clone "
			"of their own, %zu from an image",
			shared, l->n, l->tree_dir, own, images);
	else
		verbose("%zu of %zu layers from the shared idmapped clone of %s, %zu with a clone "
			"of their own",
			shared, l->n, l->tree_dir, own);
	if (l->tree_whole)
		verbose("no mount below %s: its layers were not looked up again on the host",
			l->tree_dir);
}

int lowers_prepare(const struct cfs_layers *layers, const struct lower_config *cfg,
		   struct cfs_lowers *ret, struct cfs_error *e)
{
	struct cfs_lowers l = { .n = 0, .tree_fd = -EBADF, .host_fd = -EBADF };
	int r;

	r = lower_raise_nofile(layers->n);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, r, "cannot raise RLIMIT_NOFILE for %zu layers",
				layers->n);
	l.v = calloc(layers->n, sizeof(*l.v));
	if (!l.v)
		return cfs_fail(e, CFS_STAGE_SETUP, -ENOMEM, "cannot prepare layers");
	prepare_tree(layers, cfg, &l);
	for (size_t i = 0; i < layers->n; i++) {
		struct cfs_lower *lw = &l.v[l.n++];

		lw->path = layers->v[i].path;
		lw->data_only = layers->v[i].data_only;
		lw->fd = -EBADF;
		r = interrupt_check(e);
		if (r == 0)
			r = prepare_one(&l, lw, cfg, e);
		if (r < 0) {
			lowers_free(&l);
			return r;
		}
		verbose("layer %zu: %s%s%s%s%s", i, lw->path, lw->data_only ? " (data-only)" : "",
			lw->image ? " (image)" : "", cfg->userns_fd >= 0 ? " (idmapped)" : "",
			lw->rel ? " (in the shared clone)" : "");
	}
	report_tree(&l);
	*ret = l;
	return 0;
}

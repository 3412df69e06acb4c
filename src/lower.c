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
#include "util.h"

/* stdin/out/err, the fsopen fd, userns, upper, work and some slack. */
#define NOFILE_RESERVE 32

int lower_setattr(int mnt_fd, const char *what, int userns_fd, struct cfs_error *e)
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

int lower_clone(int dirfd, const char *path, const char *what, int userns_fd, int *ret_fd,
		struct cfs_error *e)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = open_tree(dirfd, path ? path : "",
		       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (path ? 0 : AT_EMPTY_PATH));
	if (fd < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot clone layer %s", what);
		if (r == -ENOSYS)
			cfs_hint(e, "kernel lacks open_tree (needs Linux 5.2)");
		return r;
	}
	r = lower_setattr(fd, what, userns_fd, e);
	if (r < 0)
		return r;
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
	free(l->tree_dir);
	l->tree_dir = NULL;
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

size_t lowers_count_images(const struct cfs_lowers *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += l->v[i].image;
	return n;
}

/* Cloning and idmapping each layer costs an open_tree, a mount_setattr and,
 * when the detached mount is dropped, an RCU grace period: for 500 layers that
 * is most of the mount's time.  Layers that share a directory (containerd's
 * snapshots/N/fs) are opened inside one idmapped clone of it instead.  A layer
 * is taken from the tree only when it is the very inode its path names, so a
 * symlink out of the tree or a mount below the directory (absent from the
 * non-recursive clone) gets a clone of its own. */
static void prepare_tree(const struct cfs_layers *layers, const struct lower_config *cfg,
			 struct cfs_lowers *l)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct cfs_error ignored = { 0 };

	if (cfg->userns_fd < 0 || layers->n < 2 || layers_common_dir(layers, &dir) < 0)
		return;
	fd = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	/* Any failure here is reported, if it matters, by the per-layer clone. */
	if (fd < 0 || lower_setattr(fd, dir, cfg->userns_fd, &ignored) < 0)
		return;
	verbose("layers share one idmapped clone of %s", dir);
	l->tree_fd = TAKE_FD(fd);
	l->tree_dir = TAKE_PTR(dir);
}

static int open_in_tree(const struct cfs_lowers *l, struct cfs_lower *lw, const struct stat *st)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS,
	};
	size_t n = l->tree_dir ? strlen(l->tree_dir) : 0;
	struct stat tst;
	int fd;

	if (!n || strncmp(lw->path, l->tree_dir, n) || lw->path[n] != '/')
		return -EXDEV;
	fd = (int)syscall(SYS_openat2, l->tree_fd, lw->path + n + 1, &how, sizeof(how));
	if (fd < 0)
		return negerrno();
	if (fstat(fd, &tst) < 0 || tst.st_dev != st->st_dev || tst.st_ino != st->st_ino) {
		close(fd);
		return -EXDEV;
	}
	lw->rel = lw->path + n + 1;
	return fd;
}

static int prepare_one(const struct cfs_lowers *l, struct cfs_lower *lw,
		       const struct lower_config *cfg, struct cfs_error *e)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	/* A stat first: most layers need no fd of their own (mount(2) takes the
	 * path, the shared idmapped tree gives the fd), and 500 layers pay for
	 * every syscall here. */
	if (stat(lw->path, &st) < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "lowerdir %s", lw->path);
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int mfd = -EBADF;
		_cleanup_free_ char *fstype = NULL, *what = NULL;

		lw->image = true;
		r = loopdev_mount_image(lw->path, cfg->direct_io, &mfd, &fstype, e);
		if (r < 0)
			return r;
		if (cfg->userns_fd >= 0) {
			/* Whether it can be idmapped depends on the type: name it. */
			if (asprintf(&what, "%s (%s image)", lw->path, fstype) < 0)
				return cfs_fail(e, CFS_STAGE_SETUP, -ENOMEM, "lowerdir %s",
						lw->path);
			r = lower_setattr(mfd, what, cfg->userns_fd, e);
			if (r < 0)
				return r;
		}
		lw->fd = TAKE_FD(mfd);
		lw->detached = true;
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return cfs_fail(e, CFS_STAGE_MOUNT, 0,
				"lowerdir %s: neither a directory nor a filesystem image",
				lw->path);
	if (cfg->userns_fd >= 0) {
		r = open_in_tree(l, lw, &st);
		if (r >= 0) {
			/* Legacy needs only the path: a held fd would keep the
			 * tree busy when its temp mount is taken down. */
			if (cfg->want_fds)
				lw->fd = r;
			else
				close(r);
			return 0;
		}
	} else if (!cfg->want_fds) {
		return 0;
	}
	fd = open(lw->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "lowerdir %s", lw->path);
	if (cfg->userns_fd >= 0) {
		r = lower_clone(fd, NULL, lw->path, cfg->userns_fd, &lw->fd, e);
		if (r < 0)
			return r;
		lw->detached = true;
		return 0;
	}
	if (cfg->want_fds)
		lw->fd = TAKE_FD(fd);
	return 0;
}

int lowers_prepare(const struct cfs_layers *layers, const struct lower_config *cfg,
		   struct cfs_lowers *ret, struct cfs_error *e)
{
	struct cfs_lowers l = { .n = 0, .tree_fd = -EBADF };
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
	*ret = l;
	return 0;
}

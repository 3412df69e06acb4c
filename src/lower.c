#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

static int prepare_one(struct cfs_lower *lw, const struct lower_config *cfg, struct cfs_error *e)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	fd = open(lw->path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "lowerdir %s", lw->path);
	if (fstat(fd, &st) < 0)
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
				return cfs_fail(e, CFS_STAGE_SETUP, -ENOMEM, "lowerdir %s", lw->path);
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
				"lowerdir %s: neither a directory nor a filesystem image", lw->path);
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
	struct cfs_lowers l = { .n = 0 };
	int r;

	r = lower_raise_nofile(layers->n);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, r, "cannot raise RLIMIT_NOFILE for %zu layers", layers->n);
	l.v = calloc(layers->n, sizeof(*l.v));
	if (!l.v)
		return cfs_fail(e, CFS_STAGE_SETUP, -ENOMEM, "cannot prepare layers");
	for (size_t i = 0; i < layers->n; i++) {
		struct cfs_lower *lw = &l.v[l.n++];

		lw->path = layers->v[i].path;
		lw->data_only = layers->v[i].data_only;
		lw->fd = -EBADF;
		r = interrupt_check(e);
		if (r == 0)
			r = prepare_one(lw, cfg, e);
		if (r < 0) {
			lowers_free(&l);
			return r;
		}
		verbose("layer %zu: %s%s%s%s", i, lw->path, lw->data_only ? " (data-only)" : "",
			lw->image ? " (image)" : "", cfg->userns_fd >= 0 ? " (idmapped)" : "");
	}
	*ret = l;
	return 0;
}

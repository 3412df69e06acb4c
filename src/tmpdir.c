#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mountpoint.h"
#include "tmpdir.h"
#include "util.h"

/* Only root may have filled a base we create in or clean. */
static bool base_is_private(const struct stat *st)
{
	return st->st_uid == 0 && (st->st_mode & 07777) == 0700;
}

static int prepare_base(const char *base, struct cfs_error *e)
{
	struct stat st;
	bool shared = false, is_root = false;
	int r;

	if (base[0] != '/')
		return cfs_fail(e, CFS_STAGE_USAGE, 0, "cfs.tmpdir=%s: must be an absolute path",
				base);
	if (mkdir(base, 0700) < 0 && errno != EEXIST)
		return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot create temp location %s",
				base);
	if (lstat(base, &st) < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "temp location %s", base);
	/* An unsafe location is the caller's setup to fix: exit 1, like a permission. */
	if (S_ISLNK(st.st_mode))
		return cfs_fail(e, CFS_STAGE_PERM, 0, "refusing temp location %s: it is a symlink",
				base);
	if (!S_ISDIR(st.st_mode))
		return cfs_fail(e, CFS_STAGE_PERM, 0, "refusing temp location %s: not a directory",
				base);
	if (!base_is_private(&st))
		return cfs_fail(
			e, CFS_STAGE_PERM, 0,
			"refusing temp location %s: must be owned by root with mode 0700 (is %u, %04o)",
			base, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));

	/* mount(2) with MS_PRIVATE on the base only pays when its parent would
	 * propagate our temp mounts into peer namespaces. */
	r = mountpoint_propagation(base, &shared, &is_root);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, r, "cannot find the mount of %s", base);
	if (!shared)
		return 0;
	verbose("temp location %s propagates: making it a private mount", base);
	if (!is_root && mount(base, base, NULL, MS_BIND, NULL) < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot bind temp location %s",
				base);
	if (mount(NULL, base, NULL, MS_PRIVATE, NULL) < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot make %s a private mount",
				base);
	return 0;
}

int tmpdir_create(const char *base, struct cfs_tmpdir *ret, struct cfs_error *e)
{
	int r;

	r = prepare_base(base, e);
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_free_ char *path = NULL;
		_cleanup_close_ int fd = -EBADF;
		struct stat st;

		if (asprintf(&path, "%s/" TMPDIR_PREFIX "XXXXXX", base) < 0)
			return cfs_fail(e, CFS_STAGE_SETUP, -ENOMEM,
					"cannot create a temp directory");
		if (!mkdtemp(path))
			return cfs_fail(e, CFS_STAGE_SETUP, negerrno(),
					"cannot create a temp directory in %s", base);
		/* Until the flock below the directory looks stale: a cleanup in
		 * another helper may take it between mkdtemp and open (ENOENT), or
		 * between open and flock (no links left once we hold the lock).
		 * Either way, make another one. */
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0) {
			r = negerrno();
			(void)rmdir(path);
			return cfs_fail(e, CFS_STAGE_SETUP, r, "cannot open %s", path);
		}
		while (flock(fd, LOCK_EX) < 0)
			if (errno != EINTR)
				return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot lock %s",
						path);
		if (fstat(fd, &st) < 0)
			return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot stat %s", path);
		if (st.st_nlink == 0)
			continue;
		verbose("temp directory %s", path);
		ret->path = TAKE_PTR(path);
		ret->fd = TAKE_FD(fd);
		ret->n_made = 0;
		return 0;
	}
}

int tmpdir_attach(struct cfs_tmpdir *t, int mnt_fd, char **ret_path, struct cfs_error *e)
{
	char name[32];
	char *path;

	snprintf(name, sizeof(name), "%zu", t->n_made);
	if (mkdirat(t->fd, name, 0700) < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot create %s/%s", t->path,
				name);
	t->n_made++;
	if (move_mount(mnt_fd, "", t->fd, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot attach a layer at %s/%s",
				t->path, name);
	if (asprintf(&path, "%s/%s", t->path, name) < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, -ENOMEM, "cannot attach a layer");
	*ret_path = path;
	return 0;
}

/* rmdir only: a directory that still holds anything is a mount we must not touch.
 * A layer is unmounted without MNT_DETACH first: a busy one is in use by someone
 * and detaching it would hide that; the stale cleanup detaches as a second try,
 * its owner being dead. */
static int remove_layer_dir(int dfd, const char *dir, const char *name, bool detach_fallback)
{
	char path[PATH_MAX];
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	/* EINVAL: not a mountpoint (a helper killed before move_mount). */
	if (umount2(path, UMOUNT_NOFOLLOW) < 0 && errno != EINVAL) {
		int r = negerrno();

		if (!detach_fallback || umount2(path, UMOUNT_NOFOLLOW | MNT_DETACH) < 0) {
			verbose("cannot unmount temp layer %s: %s, leaving it for a later run",
				path, strerror(-r));
			return r;
		}
		verbose("temp layer %s was busy (%s): detached it", path, strerror(-r));
	}
	/* EBUSY here: something is mounted on it again; ENOTEMPTY: not ours. */
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0) {
		int r = negerrno();

		verbose("cannot remove %s: %s, leaving it for a later run", path, strerror(-r));
		return r;
	}
	return 0;
}

int tmpdir_release(struct cfs_tmpdir *t)
{
	int left = 0;

	if (t->fd < 0)
		return 0;
	for (size_t i = t->n_made; i-- > 0;) {
		char name[32];

		snprintf(name, sizeof(name), "%zu", i);
		if (remove_layer_dir(t->fd, t->path, name, false) < 0)
			left++;
	}
	/* rmdir before the lock goes: a cleanup that gets the lock afterwards
	 * finds nothing, never a directory of ours that is half removed. */
	if (left == 0 && rmdir(t->path) < 0)
		verbose("cannot remove %s: %m, leaving it for a later run", t->path);
	close(t->fd);
	t->fd = -EBADF;
	free(t->path);
	t->path = NULL;
	t->n_made = 0;
	return left;
}

static DIR *opendir_at(int fd)
{
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	DIR *d;

	if (dup_fd < 0)
		return NULL;
	d = fdopendir(dup_fd);
	if (!d)
		close(dup_fd);
	return d;
}

/* 1: removed, 0: a live helper's (its flock is held), < 0: left in place. */
static int clean_one(int basefd, const char *base, const char *name)
{
	_cleanup_close_ int fd = -EBADF;
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int left = 0, n;

	fd = openat(basefd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return negerrno(); /* ENOENT: its helper or another cleanup removed it */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? 0 : negerrno();
	n = snprintf(dir, sizeof(dir), "%s/%s", base, name);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENAMETOOLONG;
	d = opendir_at(fd);
	if (!d)
		return negerrno();
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_layer_dir(fd, dir, de->d_name, true) < 0)
			left++;
	}
	closedir(d);
	if (left)
		return -EBUSY;
	/* Under our lock: a helper that made this name and has not locked it
	 * yet sees the directory gone and makes another one. */
	if (unlinkat(basefd, name, AT_REMOVEDIR) < 0)
		return negerrno();
	verbose("removed stale temp directory %s", dir);
	return 1;
}

int tmpdir_clean_stale(const char *base)
{
	_cleanup_close_ int basefd = -EBADF;
	struct stat st;
	DIR *d;
	struct dirent *de;
	int removed = 0;

	basefd = open(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (basefd < 0)
		return errno == ENOENT ? 0 : negerrno();
	if (fstat(basefd, &st) < 0)
		return negerrno();
	if (!base_is_private(&st))
		return -EPERM;
	d = opendir_at(basefd);
	if (!d)
		return negerrno();
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, TMPDIR_PREFIX, strlen(TMPDIR_PREFIX)) != 0)
			continue;
		if (clean_one(basefd, base, de->d_name) > 0)
			removed++;
	}
	closedir(d);
	return removed;
}

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
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mountpoint.h"
#include "pathfd.h"
#include "tmpdir.h"
#include "util.h"

/* Only root may have filled a base we create in or clean. */
static bool base_is_private(const struct stat *st)
{
	return st->st_uid == 0 && (st->st_mode & 07777) == 0700;
}

/* A directory above the base that another user could write (sticky or not:
 * /tmp too) would let them rename the base away and plant a tree of theirs. */
static const char *unsafe_parent(const struct stat *st)
{
	if (st->st_uid != 0)
		return "it is not owned by root";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return (st->st_mode & S_ISVTX) ? "it is writable by others (sticky, like /tmp)"
					       : "it is writable by others";
	return NULL;
}

/* Opens base component by component from "/", never following a symlink and
 * checking each directory on its fd: all root's and not writable by others,
 * the base itself root's 0700 (made so when create and it is missing).
 * ret_parent_fd and ret_name (in base) are the base's parent and last name.
 * -ENOENT (no message) when the base is missing and not to be created. */
static int open_base(const char *base, bool create, int *ret_fd, int *ret_parent_fd,
		     const char **ret_name, struct cfs_error *e)
{
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	const char *p = base, *name = NULL;
	struct stat st;
	const char *why;

	if (base[0] != '/')
		return cfs_fail(e, CFS_STAGE_USAGE, 0, "cfs.tmpdir=%s: must be an absolute path",
				base);
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot open /");
	if ((why = unsafe_parent(&st)))
		return cfs_fail(e, CFS_STAGE_PERM, 0, "refusing temp location %s: / is unsafe: %s",
				base, why);
	for (;;) {
		char comp[NAME_MAX + 1];
		bool last;
		int r = pathfd_next_component(&p, comp, &name);

		if (r == -ENAMETOOLONG)
			return cfs_fail(e, CFS_STAGE_USAGE, r, "cfs.tmpdir=%s", base);
		if (r == 0)
			break;
		last = pathfd_at_end(p);
		if (!strcmp(comp, ".") || !strcmp(comp, ".."))
			return cfs_fail(e, CFS_STAGE_USAGE, 0,
					"cfs.tmpdir=%s: must not contain . or .. components", base);
		if (dfd >= 0)
			close(dfd);
		dfd = TAKE_FD(fd);
		fd = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && last && !create)
			return -ENOENT;
		if (fd < 0 && errno == ENOENT && last) {
			if (mkdirat(dfd, comp, 0700) < 0 && errno != EEXIST)
				return cfs_fail(e, CFS_STAGE_SETUP, negerrno(),
						"cannot create temp location %s", base);
			fd = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		/* An unsafe location is the caller's setup to fix: exit 1, like a
		 * permission. */
		if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
			int lnk = errno == ELOOP ||
				  (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				   S_ISLNK(st.st_mode));

			return cfs_fail(e, CFS_STAGE_PERM, 0, "refusing temp location %s: %.*s %s",
					base, (int)(p - base), base,
					lnk ? "is a symlink" : "is not a directory");
		}
		if (fd < 0)
			return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "temp location %s: %.*s",
					base, (int)(p - base), base);
		if (fstat(fd, &st) < 0)
			return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "temp location %s", base);
		if (last && !base_is_private(&st))
			return cfs_fail(
				e, CFS_STAGE_PERM, 0,
				"refusing temp location %s: must be owned by root with mode 0700 (is %u, %04o)",
				base, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		if (!last && (why = unsafe_parent(&st)))
			return cfs_fail(e, CFS_STAGE_PERM, 0,
					"refusing temp location %s: its parent %.*s is unsafe: %s",
					base, (int)(p - base), base, why);
	}
	if (!name)
		return cfs_fail(e, CFS_STAGE_USAGE, 0, "cfs.tmpdir=%s: must not be /", base);
	*ret_fd = TAKE_FD(fd);
	*ret_parent_fd = TAKE_FD(dfd);
	*ret_name = name;
	return 0;
}

/* The checked base as an fd that can be read and written through. */
static int reopen_dir(int parent_fd, const char *name, int *ret_fd)
{
	char comp[NAME_MAX + 1];
	size_t len = strcspn(name, "/");
	int fd;

	memcpy(comp, name, len);
	comp[len] = '\0';
	fd = openat(parent_fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return negerrno();
	*ret_fd = fd;
	return 0;
}

static int same_dir(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static int prepare_base(const char *base, int *ret_fd, struct cfs_error *e)
{
	_cleanup_close_ int fd = -EBADF, parent_fd = -EBADF, top = -EBADF;
	char proc[PATHFD_PROC_MAX];
	const char *name;
	bool shared = false, is_root = false;
	int r;

	r = open_base(base, true, &fd, &parent_fd, &name, e);
	if (r < 0)
		return r;
	/* mount(2) with MS_PRIVATE on the base only pays when its parent would
	 * propagate our temp mounts into peer namespaces.  Every component is
	 * root's and closed to others now, so the path names what fd is. */
	r = mountpoint_propagation(base, &shared, &is_root);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, r, "cannot find the mount of %s", base);
	if (shared) {
		const char *name_of_fd = pathfd_name(fd, base, proc);

		verbose("temp location %s propagates: making it a private mount", base);
		if (!is_root && mount(name_of_fd, name_of_fd, NULL, MS_BIND, NULL) < 0)
			return cfs_fail(e, CFS_STAGE_SETUP, negerrno(),
					"cannot bind temp location %s", base);
	}
	/* Through the parent: after a bind, the name reaches the new mount on top
	 * of fd, where the temp mounts must go to stay private. */
	r = reopen_dir(parent_fd, name, &top);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, r, "cannot open temp location %s", base);
	if (!shared && !same_dir(top, fd))
		return cfs_fail(e, CFS_STAGE_PERM, 0,
				"refusing temp location %s: it was replaced while it was checked",
				base);
	if (shared) {
		if (mount(NULL, pathfd_name(top, base, proc), NULL, MS_PRIVATE, NULL) < 0)
			return cfs_fail(e, CFS_STAGE_SETUP, negerrno(),
					"cannot make %s a private mount", base);
	}
	*ret_fd = TAKE_FD(top);
	return 0;
}

/* mkdtemp(3) in a directory fd: TMPDIR_PREFIX and six random characters. */
static int mkdtemp_at(int dfd, char name[static sizeof(TMPDIR_PREFIX) + 6])
{
	static const char chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	for (int attempt = 0; attempt < 100; attempt++) {
		unsigned char rnd[6];

		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return negerrno();
		memcpy(name, TMPDIR_PREFIX, strlen(TMPDIR_PREFIX));
		for (size_t i = 0; i < sizeof(rnd); i++)
			name[strlen(TMPDIR_PREFIX) + i] = chars[rnd[i] % (sizeof(chars) - 1)];
		name[strlen(TMPDIR_PREFIX) + sizeof(rnd)] = '\0';
		if (mkdirat(dfd, name, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return negerrno();
	}
	return -EEXIST;
}

int tmpdir_create(const char *base, struct cfs_tmpdir *ret, struct cfs_error *e)
{
	_cleanup_close_ int basefd = -EBADF;
	int r;

	r = prepare_base(base, &basefd, e);
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_free_ char *path = NULL;
		_cleanup_close_ int fd = -EBADF;
		char name[sizeof(TMPDIR_PREFIX) + 6];
		struct stat st;

		r = mkdtemp_at(basefd, name);
		if (r < 0)
			return cfs_fail(e, CFS_STAGE_SETUP, r,
					"cannot create a temp directory in %s", base);
		if (asprintf(&path, "%s/%s", base, name) < 0) {
			(void)unlinkat(basefd, name, AT_REMOVEDIR);
			return cfs_fail(e, CFS_STAGE_SETUP, -ENOMEM,
					"cannot create a temp directory");
		}
		/* Until the flock below the directory looks stale: a cleanup in
		 * another helper may take it between mkdirat and open (ENOENT), or
		 * between open and flock (no links left once we hold the lock).
		 * Either way, make another one. */
		fd = openat(basefd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0) {
			r = negerrno();
			(void)unlinkat(basefd, name, AT_REMOVEDIR);
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
		ret->base_fd = TAKE_FD(basefd);
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
	if (left == 0 && unlinkat(t->base_fd, strrchr(t->path, '/') + 1, AT_REMOVEDIR) < 0)
		verbose("cannot remove %s: %m, leaving it for a later run", t->path);
	close(t->fd);
	t->fd = -EBADF;
	close(t->base_fd);
	t->base_fd = -EBADF;
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
	_cleanup_close_ int pathfd = -EBADF, parent_fd = -EBADF, basefd = -EBADF;
	struct cfs_error ignored = { 0 };
	const char *name;
	DIR *d;
	struct dirent *de;
	int removed = 0, r;

	/* The same checks as for a mount: a base below a directory another user
	 * can write is no place to unmount or rmdir in. */
	r = open_base(base, false, &pathfd, &parent_fd, &name, &ignored);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return ignored.stage == CFS_STAGE_PERM ? -EPERM : r;
	r = reopen_dir(parent_fd, name, &basefd);
	if (r < 0)
		return r;
	if (!same_dir(basefd, pathfd))
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

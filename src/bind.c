#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include "bind.h"
#include "idmap.h"
#include "log.h"
#include "lower.h"
#include "overlay.h"
#include "pathfd.h"
#include "util.h"

#define MS_PER_MOUNT                                                                               \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | \
	 MS_STRICTATIME | MS_NOSYMFOLLOW)
#define MS_ATIME_MASK (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)

unsigned long bind_locked_flags(unsigned long st_flags)
{
	/* statvfs reports ST_* bits, which are not all equal to MS_* bits
	 * (ST_RELATIME is 4096, MS_RELATIME 1 << 21): test each flag itself. */
	static const struct {
		unsigned long st, ms;
	} map[] = {
		{ ST_RDONLY, MS_RDONLY },     { ST_NOSUID, MS_NOSUID },
		{ ST_NODEV, MS_NODEV },	      { ST_NOEXEC, MS_NOEXEC },
		{ ST_NOATIME, MS_NOATIME },   { ST_NODIRATIME, MS_NODIRATIME },
		{ ST_RELATIME, MS_RELATIME },
	};
	unsigned long ms = 0;

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (st_flags & map[i].st)
			ms |= map[i].ms;
	return ms;
}

static int bind_idmapped(const char *source, const char *target, int target_fd, unsigned long flags,
			 int userns_fd, struct cfs_error *e)
{
	unsigned int rec = (flags & MS_REC) ? AT_RECURSIVE : 0;
	struct mount_attr attr = {
		.attr_set = overlay_mount_attrs(flags) | MOUNT_ATTR_IDMAP,
		.userns_fd = (__u64)userns_fd,
	};
	_cleanup_close_ int fd = -EBADF;

	fd = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
	if (fd < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot clone %s", source);
	if (mount_setattr(fd, "", AT_EMPTY_PATH | rec, &attr, sizeof(attr)) < 0) {
		if (errno == EINVAL)
			return idmap_fail_einval(userns_fd, source, e);
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot idmap %s", source);
	}
	if (move_mount(fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot attach %s at %s", source,
				target);
	verbose("idmapped bind of %s at %s", source, target);
	return 0;
}

int bind_mount(const char *source, const char *target, int target_fd, unsigned long flags,
	       int userns_fd, struct cfs_error *e)
{
	unsigned long per_mount = flags & MS_PER_MOUNT;
	_cleanup_close_ int top_fd = -EBADF;
	char proc[PATHFD_PROC_MAX], top[PATHFD_PROC_MAX];
	const char *target_name, *top_name;
	unsigned long locked;
	struct statvfs sv;
	int r;

	if (userns_fd >= 0)
		return bind_idmapped(source, target, target_fd, flags, userns_fd, e);
	target_name = pathfd_name(target_fd, target, proc);
	if (mount(source, target_name, NULL, MS_BIND | (flags & MS_REC), NULL) < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot bind %s at %s", source,
				target);
	verbose("bind of %s at %s", source, target);
	if (!per_mount)
		return 0;
	/* The remount must reach the new mount's root, which target_fd (the
	 * directory under it) is not: the path, checked to end there. */
	r = pathfd_mount_on(target_fd, target, 0, &top_fd);
	if (r == 0)
		r = cfs_fail(e, CFS_STAGE_MOUNT, 0,
			     "mount point %s changed during the mount (a directory on the way was "
			     "renamed or replaced): undoing",
			     target);
	else if (r < 0)
		r = cfs_fail(e, CFS_STAGE_MOUNT, r, "cannot find the bind at %s", target);
	if (r < 0)
		goto undo;
	top_name = pathfd_name(top_fd, target, top);
	/* A bind ignores flags: they take a remount, which must keep the flags the
	 * kernel locked on the source or it fails with EPERM. */
	if (fstatvfs(top_fd, &sv) < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot read flags of %s", target);
		goto undo;
	}
	locked = bind_locked_flags(sv.f_flag);
	if (per_mount & MS_ATIME_MASK) /* an asked-for atime mode replaces the source's */
		locked &= ~(unsigned long)MS_ATIME_MASK;
	if (mount(NULL, top_name, NULL, MS_REMOUNT | MS_BIND | per_mount | locked, NULL) < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot apply flags to bind at %s",
			     target);
		goto undo;
	}
	return 0;
undo:
	/* Through the directory's fd: umount2 takes the mount on top of it, the
	 * one just made, wherever the path leads now.  top_fd would keep it busy. */
	if (top_fd >= 0)
		close(TAKE_FD(top_fd));
	(void)umount2(target_name, (flags & MS_REC) ? MNT_DETACH : 0);
	return r;
}

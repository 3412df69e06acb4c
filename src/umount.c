#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "log.h"
#include "mountns.h"
#include "mountpoint.h"
#include "options.h"
#include "pathfd.h"
#include "privs.h"
#include "replace.h"
#include "tmpdir.h"
#include "umount.h"
#include "util.h"
#include "utab.h"

/* The copies go with the mountpoint directory, replaced by a fresh copy of
 * itself.  The unmount has succeeded whatever happens here, so nothing below
 * fails it; the old directory stays wherever the replacement cannot be made. */
static void remove_copies(int dfd, const char *name, const char *target)
{
	_cleanup_free_ char *parent = NULL;
	struct replace_result res = { 0 };
	int r;

	parent = strndup(target, (size_t)(name - target) > 1 ? (size_t)(name - target) - 1 : 1);
	if (!parent) {
		verbose("keeping %s: %s, ignoring", target, strerror(ENOMEM));
		return;
	}
	/* Someone who can rename an ancestor may have moved the tree away while
	 * the mount went: the fd still holds the directory that was unmounted,
	 * but the path no longer names it. */
	r = pathfd_still_at(dfd, parent);
	if (r <= 0) {
		verbose("keeping %s: its parent directory %s was moved or replaced during the "
			"unmount, so copies of the mount in other namespaces stay, ignoring",
			target, parent);
		return;
	}
	r = replace_dir(dfd, name, &res);
	if (r >= 0) {
		if (res.as_uid)
			verbose("replaced %s by a fresh copy (as its owner, uid %u): copies in other "
				"mount namespaces are gone",
				target, (unsigned)res.as_uid);
		else
			verbose("replaced %s by a fresh copy: copies in other mount namespaces are "
				"gone",
				target);
		return;
	}
	switch (r) {
	case -ENOTEMPTY:
	case -EEXIST:
		verbose("keeping %s: it is not empty (files hidden under the mount), so copies of "
			"the mount in other namespaces stay, ignoring",
			target);
		break;
	case -ESTALE:
	case -ELOOP:
	case -ENOTDIR:
		verbose("keeping %s: it changed while it was being looked at, ignoring", target);
		break;
	case -EBUSY:
		verbose("keeping %s: it is still a mountpoint or in use here (stacked mounts?), so "
			"copies of the mount in other namespaces stay, ignoring",
			target);
		break;
	case -EPERM:
		verbose("keeping %s: its parent %s may be written by other users than root or the "
			"directory's owner, so it is not replaced (see SECURITY in "
			"umount.cfsoverlay(8)) and copies of the mount in other namespaces stay, "
			"ignoring",
			target, parent);
		break;
	default:
		verbose("keeping %s: cannot replace it (%s), so copies of the mount in other "
			"namespaces stay, ignoring",
			target, strerror(-r));
	}
}

static void clean_tmpdir(const char *base)
{
	int r = tmpdir_clean_stale(base);

	if (r < 0)
		verbose("cannot clean stale temp directories in %s: %s, ignoring", base,
			strerror(-r));
	else if (r > 0)
		verbose("removed %d stale temp director%s in %s", r, r == 1 ? "y" : "ies", base);
}

/* Unmounting a mount stacked on ours would leave ours mounted under it, its
 * directory busy: the top mount is unmounted when it is an overlay, the
 * mount of the utab line found for it (line: an idmapped bind), or when no
 * line of ours for the target belongs to a mount below it (a bind made with
 * -n), unless -f or -l asks for the top mount anyway.  *ret_ours tells which
 * it is. */
static int check_top(int fd, const char *target, const char *line, const struct cfs_umount_args *a,
		     bool *ret_ours, struct cfs_error *e)
{
	_cleanup_free_ char *type = NULL, *source = NULL;
	struct statfs sfs;
	int r;

	if (fstatfs(fd, &sfs) < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "%s", target);
	*ret_ours =
		sfs.f_type == OVERLAYFS_SUPER_MAGIC || line || utab_has_line_of_ours(target) <= 0;
	if (*ret_ours)
		return 0;
	r = mountpoint_describe(fd, &type, &source);
	if (r < 0)
		verbose("cannot tell what is mounted on %s: %s", target, strerror(-r));
	if (a->lazy || a->force) {
		verbose("%s: the top mount is %s (source %s), not an overlay: unmounting it as -%s "
			"asked, the utab record and the directory stay",
			target, type ? type : "not an overlay", source ? source : "unknown",
			a->lazy ? "l" : "f");
		return 0;
	}
	r = cfs_fail(e, CFS_STAGE_MOUNT, 0, "%s: the top mount is %s (source %s), not an overlay",
		     target, type ? type : "not an overlay", source ? source : "unknown");
	cfs_hint(e, "something was mounted over the overlay: unmount it first with umount(8), "
		    "or use -l or -f to unmount the top mount anyway");
	return r;
}

/* umount2() of the mount at name in dfd.  An fd open on the mount itself would
 * make it busy, one on its parent does not: /proc/self/fd/N/name, the last
 * component not followed.  After -N into a container with a /proc of its own
 * pid namespace, /proc/self does not exist there (ENOENT): then name is taken
 * relative to the working directory, moved to dfd for the call. */
static int umount_at(int dfd, const char *name, int flags)
{
	_cleanup_close_ int cwd = -EBADF;
	char path[PATHFD_PROC_CHILD_MAX];
	int r;

	r = pathfd_proc_child_path(dfd, name, path);
	if (r < 0)
		return r;
	if (umount2(path, flags | UMOUNT_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return negerrno();
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0)
		return negerrno();
	if (fchdir(dfd) < 0)
		return negerrno();
	r = umount2(name, flags | UMOUNT_NOFOLLOW) < 0 ? negerrno() : 0;
	/* Nothing after this uses a relative path. */
	(void)fchdir(cwd);
	return r;
}

int cfs_umount(const struct cfs_umount_args *a, struct cfs_error *e)
{
	_cleanup_free_ char *attrs = NULL, *tmpdir = NULL, *line = NULL;
	_cleanup_close_ int fd = -EBADF, dfd = -EBADF;
	char target[PATH_MAX];
	const char *name;
	bool mounted = false, ours = true, want_rmdir = true;
	struct stat st_fd, st_name;
	int flags = 0, r, utab_r = 0;

	r = privs_check(e);
	if (r < 0)
		return r;
	if (a->ns) {
		r = mountns_enter(a->ns, e);
		if (r < 0)
			return r;
	}
	/* Canonical, as mount(8) records it; then resolved once, with no
	 * symlink anywhere, and only the fds are used after this. */
	if (!realpath(a->target, target))
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "%s", a->target);
	r = pathfd_open(target, 0, &fd);
	if (r >= 0)
		r = pathfd_open_parent(target, &dfd, &name);
	/* The mount is named through its parent, and "/" has none. */
	if (r == -EINVAL)
		return cfs_fail(e, CFS_STAGE_MOUNT, 0,
				"%s: the root directory cannot be unmounted by this helper",
				target);
	if (r == -ELOOP || r == -ENOENT || r == -ENOTDIR)
		return cfs_fail(e, CFS_STAGE_MOUNT, r, "%s changed while it was being looked at",
				target);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, r, "%s", target);
	/* The two opens are one path: name in the parent is the mount's root. */
	if (fstat(fd, &st_fd) < 0 || fstatat(dfd, name, &st_name, AT_SYMLINK_NOFOLLOW) < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "%s", target);
	if (st_fd.st_dev != st_name.st_dev || st_fd.st_ino != st_name.st_ino)
		return cfs_fail(e, CFS_STAGE_MOUNT, 0, "%s changed while it was being looked at",
				target);
	r = mountpoint_check_fd(fd, target, &mounted);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, r, "%s", target);
	if (!mounted)
		return cfs_fail(e, CFS_STAGE_MOUNT, 0, "%s: not mounted", target);
	/* Read before the entry goes: what the mount asked of its umount. */
	r = utab_get_attrs(target, &attrs, &line);
	if (r >= 0)
		r = utab_attrs_parse(attrs, &want_rmdir, &tmpdir);
	if (r < 0)
		verbose("cannot read the utab attributes of %s: %s, using the defaults", target,
			strerror(-r));
	r = check_top(fd, target, line, a, &ours, e);
	if (r < 0)
		return r;

	/* The fd would make the mount busy.  Nobody can rename a mountpoint in
	 * our namespace (EBUSY), so name in the parent still leads to it. */
	(void)close(TAKE_FD(fd));
	if (a->lazy)
		flags |= MNT_DETACH;
	if (a->force)
		flags |= MNT_FORCE;
	r = umount_at(dfd, name, flags);
	if (r < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, r, "cannot unmount %s", target);
		if (r == -EBUSY)
			cfs_hint(
				e,
				"target is busy: a process uses it; see fuser -vm %s, or umount -l",
				target);
		return r;
	}
	verbose("unmounted %s%s%s", target, a->lazy ? " (lazy)" : "", a->force ? " (forced)" : "");
	/* A foreign mount stacked on the overlay went: the overlay under it is
	 * still mounted, with its record, and its directory is still in use. */
	if (!ours)
		return 0;
	/* A utab failure is reported (exit 16) after the cleanup: the mount is
	 * gone whatever utab says.  With -n its own line goes all the same (see
	 * umount.cfsoverlay(8)). */
	utab_r = utab_remove(target, line, a->no_utab, e);

	if (want_rmdir)
		remove_copies(dfd, name, target);
	else
		verbose("keeping %s as cfs.rmdir=no asked: copies in other namespaces stay",
			target);

	if (tmpdir)
		clean_tmpdir(tmpdir);
	if (!tmpdir || strcmp(tmpdir, CFS_DEFAULT_TMPDIR) != 0)
		clean_tmpdir(CFS_DEFAULT_TMPDIR);
	return utab_r;
}

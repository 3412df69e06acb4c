#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "log.h"
#include "mountns.h"
#include "mountpoint.h"
#include "options.h"
#include "privs.h"
#include "tmpdir.h"
#include "umount.h"
#include "util.h"
#include "utab.h"

#define SECURITY_LABEL_XATTR "security.selinux"
/* SELinux contexts are far shorter; a longer label is not ours to copy. */
#define LABEL_MAX 4096

/* What the directory looked like before the rmdir, to make it again. */
struct saved_dir {
	dev_t dev;
	ino_t ino;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	char label[LABEL_MAX];
	size_t label_len; /* 0: no label to restore */
};

static int save_dir(int dfd, const char *name, struct saved_dir *ret)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	ssize_t n;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return negerrno();
	if (fstat(fd, &st) < 0)
		return negerrno();
	ret->dev = st.st_dev;
	ret->ino = st.st_ino;
	ret->uid = st.st_uid;
	ret->gid = st.st_gid;
	ret->mode = st.st_mode & 07777;
	/* A label that cannot be saved is a reason to keep the directory. */
	n = fgetxattr(fd, SECURITY_LABEL_XATTR, ret->label, sizeof(ret->label));
	if (n < 0 && errno != ENODATA && errno != EOPNOTSUPP)
		return negerrno();
	ret->label_len = n > 0 ? (size_t)n : 0;
	return 0;
}

/* mkdirat never follows a symlink planted at name (EEXIST), and the new
 * directory stays root's and 0700 until it is ours for sure: whoever can write
 * the parent and swaps in a directory of his own between mkdirat and openat
 * gets nothing chowned. */
static int recreate_dir(int dfd, const char *name, const struct saved_dir *s)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	if (mkdirat(dfd, name, 0700) < 0)
		return negerrno();
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return negerrno();
	if (fstat(fd, &st) < 0)
		return negerrno();
	if (st.st_uid != geteuid() || !S_ISDIR(st.st_mode))
		return -EPERM;
	/* fchmod after fchown: chown may clear the set-id bits. */
	if (fchown(fd, s->uid, s->gid) < 0 || fchmod(fd, s->mode) < 0)
		return negerrno();
	if (s->label_len > 0 && fsetxattr(fd, SECURITY_LABEL_XATTR, s->label, s->label_len, 0) < 0)
		return negerrno();
	return 0;
}

int umount_rmdir_recreate(const char *path, bool *ret_removed)
{
	_cleanup_free_ char *parent = NULL;
	_cleanup_close_ int dfd = -EBADF;
	struct saved_dir saved;
	const char *name, *slash;
	struct stat st;
	bool mounted = false;
	int r;

	*ret_removed = false;
	slash = strrchr(path, '/');
	if (path[0] != '/' || !slash || !slash[1])
		return -EINVAL; /* "/" or not canonical */
	name = slash + 1;
	parent = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (!parent)
		return -ENOMEM;
	/* From here on, name in the parent's fd: nothing else is looked up again. */
	dfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return negerrno();
	/* The kernel would answer EBUSY too; asking first keeps the label read
	 * below from being the label of whatever is mounted on top. */
	r = mountpoint_check(path, &mounted);
	if (r < 0)
		return r;
	if (mounted)
		return -EBUSY;
	r = save_dir(dfd, name, &saved);
	if (r < 0)
		return r;
	/* Still the directory we looked at: not swapped for another one. */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return negerrno();
	if (st.st_dev != saved.dev || st.st_ino != saved.ino)
		return -ESTALE;
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		return negerrno();
	*ret_removed = true;
	return recreate_dir(dfd, name, &saved);
}

/* The mount's copies elsewhere go with the mountpoint.  The unmount has
 * succeeded whatever happens here, so nothing below fails it. */
static void remove_copies(const char *target)
{
	bool removed = false;
	int r;

	r = umount_rmdir_recreate(target, &removed);
	if (r >= 0) {
		verbose("removed and recreated %s: copies in other mount namespaces are gone",
			target);
		return;
	}
	if (removed) {
		/* The mount is gone, but so is the directory fstab names: say it
		 * even without -v. */
		log_error("%s was removed to detach copies of the mount in other namespaces, but "
			  "making it again failed: %s",
			  target, strerror(-r));
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
		verbose("keeping %s: it changed while it was being looked at, ignoring", target);
		break;
	case -EBUSY:
		verbose("keeping %s: it is still a mountpoint or in use here (stacked mounts?), so "
			"copies of the mount in other namespaces stay, ignoring",
			target);
		break;
	default:
		verbose("keeping %s: cannot remove it (%s), so copies of the mount in other "
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

int cfs_umount(const struct cfs_umount_args *a, struct cfs_error *e)
{
	_cleanup_free_ char *attrs = NULL, *tmpdir = NULL, *line = NULL;
	char target[PATH_MAX];
	bool mounted = false, want_rmdir = true;
	int flags = UMOUNT_NOFOLLOW, r, utab_r = 0;

	r = privs_check(e);
	if (r < 0)
		return r;
	if (a->ns) {
		r = mountns_enter(a->ns, e);
		if (r < 0)
			return r;
	}
	if (!realpath(a->target, target))
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "%s", a->target);
	r = mountpoint_check(target, &mounted);
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

	if (a->lazy)
		flags |= MNT_DETACH;
	if (a->force)
		flags |= MNT_FORCE;
	if (umount2(target, flags) < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot unmount %s", target);
		if (r == -EBUSY)
			cfs_hint(
				e,
				"target is busy: a process uses it; see fuser -vm %s, or umount -l",
				target);
		return r;
	}
	verbose("unmounted %s%s%s", target, a->lazy ? " (lazy)" : "", a->force ? " (forced)" : "");
	/* A utab failure is reported (exit 16) after the cleanup: the mount is
	 * gone whatever utab says.  With -n its own line goes all the same (see
	 * umount.cfsoverlay(8)). */
	utab_r = utab_remove(target, line, a->no_utab, e);

	if (want_rmdir)
		remove_copies(target);
	else
		verbose("keeping %s as cfs.rmdir=no asked: copies in other namespaces stay",
			target);

	if (tmpdir)
		clean_tmpdir(tmpdir);
	if (!tmpdir || strcmp(tmpdir, CFS_DEFAULT_TMPDIR) != 0)
		clean_tmpdir(CFS_DEFAULT_TMPDIR);
	return utab_r;
}

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
#include "options.h"
#include "privs.h"
#include "tmpdir.h"
#include "umount.h"
#include "util.h"
#include "utab.h"

#define SECURITY_LABEL_XATTR "security.selinux"

static int is_mountpoint(const char *path, bool *ret)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 0, &stx) < 0)
		return negerrno();
	if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return -EOPNOTSUPP; /* Linux < 5.8 */
	*ret = !!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	return 0;
}

int umount_rmdir_recreate(const char *path)
{
	char label[256];
	ssize_t label_len;
	struct stat st;
	bool mounted = false;
	int r;

	r = is_mountpoint(path, &mounted);
	if (r < 0)
		return r;
	if (mounted)
		return -EBUSY; /* something else is still mounted here: leave it */
	if (lstat(path, &st) < 0)
		return negerrno();
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	label_len = lgetxattr(path, SECURITY_LABEL_XATTR, label, sizeof(label));
	if (rmdir(path) < 0)
		return negerrno();
	if (mkdir(path, st.st_mode & 07777) < 0)
		return negerrno();
	/* mkdir(2) applies the umask and a new owner: put back what was there. */
	if (lchown(path, st.st_uid, st.st_gid) < 0 || chmod(path, st.st_mode & 07777) < 0)
		return negerrno();
	if (label_len > 0 && lsetxattr(path, SECURITY_LABEL_XATTR, label, (size_t)label_len, 0) < 0)
		return negerrno();
	return 0;
}

static bool rmdir_wanted(const char *target)
{
	_cleanup_free_ char *attrs = NULL;

	if (utab_get_attrs(target, &attrs) < 0 || !attrs)
		return true;
	return !strstr(attrs, "cfs.rmdir=no");
}

int cfs_umount(const struct cfs_umount_args *a, struct cfs_error *e)
{
	char target[PATH_MAX];
	bool mounted = false, want_rmdir;
	int flags = UMOUNT_NOFOLLOW, r;

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
	r = is_mountpoint(target, &mounted);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, r, "%s", target);
	if (!mounted)
		return cfs_fail(e, CFS_STAGE_MOUNT, 0, "%s: not mounted", target);
	want_rmdir = rmdir_wanted(target);

	if (a->lazy)
		flags |= MNT_DETACH;
	if (a->force)
		flags |= MNT_FORCE;
	if (umount2(target, flags) < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot unmount %s", target);
		if (r == -EBUSY)
			cfs_hint(e, "target is busy: a process uses it, or see umount -l");
		return r;
	}
	verbose("unmounted %s", target);
	if (!a->no_utab) {
		r = utab_remove(target, e);
		if (r < 0)
			return r;
	}
	if (want_rmdir) {
		r = umount_rmdir_recreate(target);
		if (r < 0)
			verbose("cannot remove copies of %s from other namespaces: rmdir: %s, ignoring",
				target, strerror(-r));
		else
			verbose("removed and recreated %s: copies in other namespaces are gone", target);
	}
	r = tmpdir_clean_stale(CFS_DEFAULT_TMPDIR);
	if (r < 0)
		verbose("cannot clean %s: %s, ignoring", CFS_DEFAULT_TMPDIR, strerror(-r));
	return 0;
}

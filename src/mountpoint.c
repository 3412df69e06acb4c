#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <libmount/libmount.h>

#include "mountpoint.h"
#include "util.h"

int mountpoint_check(const char *path, bool *ret)
{
	struct libmnt_table *tb;
	struct statx stx;

	/* No mask bits: the attributes come with every statx() and cost no I/O. */
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 0, &stx) < 0)
		return negerrno();
	if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) {
		*ret = !!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
		return 0;
	}
	/* Linux < 5.8: ask mountinfo. */
	tb = mnt_new_table_from_file("/proc/self/mountinfo");
	if (!tb)
		return -ENOENT;
	*ret = mnt_table_find_target(tb, path, MNT_ITER_BACKWARD) != NULL;
	mnt_unref_table(tb);
	return 0;
}

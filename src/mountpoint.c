#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "mountpoint.h"
#include "util.h"

int mountpoint_check(const char *path, bool *ret)
{
	struct statx stx;

	/* No mask bits: the attributes come with every statx() and cost no I/O. */
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 0, &stx) < 0)
		return negerrno();
	if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return -EOPNOTSUPP;
	*ret = !!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	return 0;
}

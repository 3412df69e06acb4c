#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "erofs.h"
#include "log.h"
#include "pathfd.h"
#include "util.h"

/* What this run learnt of the kernel, so that 50 images ask once. */
static bool erofs_missing;     /* fsopen("erofs") failed */
static bool source_fd_refused; /* "source" only as a string (6.18: "Non-string source") */
/* The device of the last image whose filesystem refused: its siblings go
 * straight to a loop device. */
static bool refused_seen;
static dev_t refused_dev;

/* The kernel resolves "source" itself: given /proc/self/fd/N, it opens the
 * file this fd holds, not whatever the path names by now. */
static int config_source(int fs_fd, int image_fd)
{
	char src[PATHFD_PROC_MAX];

	if (!source_fd_refused) {
		if (fsconfig(fs_fd, FSCONFIG_SET_FD, "source", NULL, image_fd) == 0)
			return 0;
		if (errno != EINVAL)
			return negerrno();
		source_fd_refused = true;
		cfs_hint_fs_log(NULL, fs_fd);
	}
	/* No /proc/self here (-N into a container): "not here", a loop device. */
	if (!pathfd_proc_available())
		return -EOPNOTSUPP;
	pathfd_proc_path(image_fd, src);
	return fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", src, 0) < 0 ? negerrno() : 0;
}

/* The errors that mean "not here", answered by a loop device:
 * - ENOTBLK: erofs wants a block device, because the kernel predates
 *   file-backed mounts (Linux 6.12) or lacks CONFIG_EROFS_FS_BACKED_BY_FILE,
 *   or because erofs cannot read through the filesystem holding the file
 *   (tmpfs and overlayfs on 6.18: no read_folio there);
 * - EOPNOTSUPP: the same refusal from the backing filesystem;
 * - EINVAL: kernels that refuse such a backing file with it, and an image
 *   erofs cannot parse; the loop device path then names the damage as before. */
static bool not_supported_here(int r)
{
	return r == -ENOTBLK || r == -EOPNOTSUPP || r == -EINVAL;
}

int erofs_mount_file(int image_fd, const char *path, int *ret_mnt_fd, struct cfs_error *e)
{
	_cleanup_close_ int fs_fd = -EBADF;
	struct stat st;
	int mnt_fd, r;

	if (erofs_missing)
		return -EOPNOTSUPP;
	if (fstat(image_fd, &st) < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "lowerdir %s", path);
	if (refused_seen && st.st_dev == refused_dev)
		return -EOPNOTSUPP;
	fs_fd = fsopen("erofs", FSOPEN_CLOEXEC);
	if (fs_fd < 0) {
		/* No erofs, or no new mount API: the loop path reports it if it matters. */
		verbose("fsopen(erofs): %m: image layers use loop devices");
		erofs_missing = true;
		return -EOPNOTSUPP;
	}
	r = config_source(fs_fd, image_fd);
	if (r == 0 && (fsconfig(fs_fd, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0 ||
		       fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0))
		r = negerrno();
	if (not_supported_here(r)) {
		cfs_hint_fs_log(NULL, fs_fd);
		verbose("image %s: no file-backed erofs mount here (%s): using a loop device", path,
			strerror(-r));
		if (r != -EINVAL) {
			refused_seen = true;
			refused_dev = st.st_dev;
		}
		return -EOPNOTSUPP;
	}
	if (r < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, r, "lowerdir %s: cannot mount erofs image", path);
		cfs_hint_fs_log(e, fs_fd);
		return r;
	}
	mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
	if (mnt_fd < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(),
				"lowerdir %s: cannot mount erofs image", path);
	*ret_mnt_fd = mnt_fd;
	return 0;
}

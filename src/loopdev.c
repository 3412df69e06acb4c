#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>
#include <linux/loop.h>

#include <blkid/blkid.h>

#include "erofs.h"
#include "log.h"
#include "loopdev.h"
#include "util.h"

/* Another process may take the device LOOP_CTL_GET_FREE gave us first. */
#define LOOP_BUSY_RETRIES 32

/* Benchmarks and tests set it to compare with, or to cover, the loop device
 * path for images that could be mounted without one. */
#define FORCE_LOOP_ENV "CFSOVERLAY_FORCE_LOOP"

static int probe_fstype(const char *path, int image_fd, char **ret_type, struct cfs_error *e)
{
	blkid_probe pr = blkid_new_probe();
	const char *type = NULL, *usage = NULL;
	int r;

	if (!pr || blkid_probe_set_device(pr, image_fd, 0, 0) < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "lowerdir %s: cannot probe image",
			     path);
		blkid_free_probe(pr);
		return r;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE);
	r = blkid_do_safeprobe(pr);
	if (r == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 &&
	    blkid_probe_lookup_value(pr, "USAGE", &usage, NULL) == 0 &&
	    !strcmp(usage, "filesystem")) {
		char *t = strdup(type);

		blkid_free_probe(pr);
		if (!t)
			return cfs_fail(e, CFS_STAGE_SETUP, -ENOMEM, "lowerdir %s", path);
		*ret_type = t;
		return 0;
	}
	blkid_free_probe(pr);
	if (r == -2)
		return cfs_fail(e, CFS_STAGE_MOUNT, 0,
				"lowerdir %s: ambiguous image, more than one filesystem signature",
				path);
	return cfs_fail(
		e, CFS_STAGE_MOUNT, 0,
		"lowerdir %s: a regular file but not a filesystem image (no known filesystem found)",
		path);
}

/* Kernels before 5.8 lack LOOP_CONFIGURE: attach, then set the flags. */
static int loop_set_fd_legacy(int loop_fd, const struct loop_config *cfg)
{
	struct loop_info64 info = cfg->info;

	if (ioctl(loop_fd, LOOP_SET_FD, cfg->fd) < 0)
		return negerrno();
	if (ioctl(loop_fd, LOOP_SET_STATUS64, &info) < 0) {
		int r = negerrno();

		(void)ioctl(loop_fd, LOOP_CLR_FD, 0);
		return r;
	}
	if ((cfg->info.lo_flags & LO_FLAGS_DIRECT_IO) &&
	    ioctl(loop_fd, LOOP_SET_DIRECT_IO, 1UL) < 0) {
		int r = negerrno();

		(void)ioctl(loop_fd, LOOP_CLR_FD, 0);
		return r;
	}
	return 0;
}

static int loop_attach(const char *path, int image_fd, bool direct_io, int *ret_loop_fd,
		       char *ret_dev, size_t dev_size, struct cfs_error *e)
{
	_cleanup_close_ int ctl = -EBADF;
	struct loop_config cfg = {
		.fd = (__u32)image_fd,
		.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR |
				 (direct_io ? LO_FLAGS_DIRECT_IO : 0),
	};
	int r = -EBUSY;

	snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", path);
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot open /dev/loop-control");
	for (int attempt = 0; attempt < LOOP_BUSY_RETRIES; attempt++) {
		_cleanup_close_ int loop_fd = -EBADF;
		int nr = ioctl(ctl, LOOP_CTL_GET_FREE);

		if (nr < 0) {
			r = negerrno();
			/* Only exhaustion means "none free"; EIO and the like are a
			 * failing loop driver and must not read as a full system. */
			if (r == -EBUSY || r == -ENOSPC || r == -ENODEV || r == -ENOMEM)
				return cfs_fail(e, CFS_STAGE_SYSTEM, r,
						"no free loop device for %s", path);
			return cfs_fail(e, CFS_STAGE_SETUP, r,
					"cannot get a loop device for %s from /dev/loop-control",
					path);
		}
		snprintf(ret_dev, dev_size, "/dev/loop%d", nr);
		loop_fd = open(ret_dev, O_RDONLY | O_CLOEXEC);
		if (loop_fd < 0)
			return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot open %s", ret_dev);
		r = ioctl(loop_fd, LOOP_CONFIGURE, &cfg) < 0 ? negerrno() : 0;
		if (r == -EINVAL || r == -ENOTTY)
			r = loop_set_fd_legacy(loop_fd, &cfg);
		if (r == -EBUSY)
			continue;
		if (r < 0)
			return cfs_fail(e, CFS_STAGE_SETUP, r, "cannot attach %s to %s", path,
					ret_dev);
		*ret_loop_fd = TAKE_FD(loop_fd);
		return 0;
	}
	return cfs_fail(e, CFS_STAGE_SYSTEM, r, "cannot attach %s to a loop device after %d tries",
			path, LOOP_BUSY_RETRIES);
}

/* The kernel may leave direct I/O off (backing filesystem, block size):
 * say so instead of mounting without it. */
static int check_direct_io(int loop_fd, const char *path, const char *dev, struct cfs_error *e)
{
	struct loop_info64 info;

	if (ioctl(loop_fd, LOOP_GET_STATUS64, &info) < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot read status of %s", dev);
	if (!(info.lo_flags & LO_FLAGS_DIRECT_IO))
		return cfs_fail(
			e, CFS_STAGE_MOUNT, -EOPNOTSUPP,
			"direct-io: %s cannot use direct I/O for %s (backing filesystem or block size)",
			dev, path);
	return 0;
}

static int mount_detached(const char *path, const char *dev, const char *type, int *ret_mnt_fd,
			  struct cfs_error *e)
{
	_cleanup_close_ int fs_fd = -EBADF;
	int mnt_fd, r;

	fs_fd = fsopen(type, FSOPEN_CLOEXEC);
	if (fs_fd < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "lowerdir %s: cannot mount %s",
				path, type);
	if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", dev, 0) < 0 ||
	    fsconfig(fs_fd, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0 ||
	    fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, negerrno(),
			     "lowerdir %s: cannot mount %s image from %s", path, type, dev);
		cfs_hint_fs_log(e, fs_fd);
		/* blkid trusts the superblock; the filesystem reads the rest. */
		if (r == -EINVAL || r == -EIO || r == -EUCLEAN)
			cfs_hint(
				e,
				"the image is damaged or not a complete %s filesystem; dmesg has details",
				type);
		return r;
	}
	mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
	if (mnt_fd < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(),
				"lowerdir %s: cannot mount %s image", path, type);
	*ret_mnt_fd = mnt_fd;
	return 0;
}

static int mount_via_loop(const char *path, int image_fd, const char *type, bool direct_io,
			  int *ret_mnt_fd, struct cfs_error *e)
{
	_cleanup_close_ int loop_fd = -EBADF;
	char dev[32];
	int r;

	r = loop_attach(path, image_fd, direct_io, &loop_fd, dev, sizeof(dev), e);
	if (r < 0)
		return r;
	/* From here, closing loop_fd without a mount releases the device (autoclear). */
	if (direct_io) {
		r = check_direct_io(loop_fd, path, dev, e);
		if (r < 0)
			return r;
	}
	r = mount_detached(path, dev, type, ret_mnt_fd, e);
	if (r < 0)
		return r;
	verbose("image %s: %s, loop device %s%s", path, type, dev,
		direct_io ? " (direct I/O)" : "");
	return 0;
}

static bool force_loop(void)
{
	const char *v = secure_getenv(FORCE_LOOP_ENV);

	return v && *v && strcmp(v, "0");
}

int loopdev_mount_image(const char *path, bool direct_io, int *ret_mnt_fd, char **ret_fstype,
			struct cfs_error *e)
{
	_cleanup_free_ char *type = NULL;
	_cleanup_close_ int image_fd = -EBADF;
	int r;

	/* Opened once: the probe, the file-backed mount and the loop device all
	 * read this file, whatever the path names meanwhile. */
	image_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (image_fd < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "lowerdir %s", path);
	r = probe_fstype(path, image_fd, &type, e);
	if (r < 0)
		return r;
	/* erofs reads a regular file itself (Linux 6.12): no loop device, no
	 * global resource to leak, no udev events.  Others need a block device. */
	r = -EOPNOTSUPP;
	if (!strcmp(type, "erofs") && !force_loop()) {
		r = erofs_mount_file(image_fd, path, ret_mnt_fd, e);
		if (r == 0)
			verbose("image %s: erofs, file-backed%s", path,
				direct_io ? " (direct-io ignored: no loop device)" : "");
	}
	if (r == -EOPNOTSUPP)
		r = mount_via_loop(path, image_fd, type, direct_io, ret_mnt_fd, e);
	if (r < 0)
		return r;
	if (ret_fstype)
		*ret_fstype = TAKE_PTR(type);
	return 0;
}

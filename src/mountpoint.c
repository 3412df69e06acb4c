#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* statmount(2) and listmount(2) arrived in Linux 6.8, after the headers this
 * builds with: the UAPI layout, up to the fields read here. */
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif
#define CFS_NR_STATMOUNT	457
#define CFS_NR_LISTMOUNT	458
#define CFS_STATMOUNT_MNT_BASIC 0x00000002U
#define CFS_STATMOUNT_MNT_POINT 0x00000010U

struct cfs_mnt_id_req {
	uint32_t size;
	uint32_t spare;
	uint64_t mnt_id;
	uint64_t param;
};

struct cfs_statmount {
	uint32_t size;
	uint32_t mnt_opts;
	uint64_t mask;
	uint32_t sb_dev_major;
	uint32_t sb_dev_minor;
	uint64_t sb_magic;
	uint32_t sb_flags;
	uint32_t fs_type;
	uint64_t mnt_id;
	uint64_t mnt_parent_id;
	uint32_t mnt_id_old;
	uint32_t mnt_parent_id_old;
	uint64_t mnt_attr;
	uint64_t mnt_propagation;
	uint64_t mnt_peer_group;
	uint64_t mnt_master;
	uint64_t propagate_from;
	uint32_t mnt_root;
	uint32_t mnt_point;
	uint64_t spare[50]; /* the rest of the fixed part, unread */
	char str[];	    /* the strings the offsets above point into */
};

/* The mountinfo entry of mount mnt_id, read by libmount as mountpoint_check()
 * does (a 500-layer overlay's line is longer than any fixed buffer); *ret_tb
 * owns it: mnt_unref_table() when done. */
static int mountinfo_find(uint64_t mnt_id, struct libmnt_table **ret_tb, struct libmnt_fs **ret_fs)
{
	struct libmnt_table *tb;
	struct libmnt_iter *it;
	struct libmnt_fs *fs = NULL;
	int r = -ENOENT;

	tb = mnt_new_table_from_file("/proc/self/mountinfo");
	if (!tb)
		return -ENOENT;
	it = mnt_new_iter(MNT_ITER_FORWARD);
	if (!it) {
		mnt_unref_table(tb);
		return -ENOMEM;
	}
	while (mnt_table_next_fs(tb, it, &fs) == 0)
		if ((uint64_t)mnt_fs_get_id(fs) == mnt_id) {
			r = 0;
			break;
		}
	mnt_free_iter(it);
	if (r < 0) {
		mnt_unref_table(tb);
		return r;
	}
	*ret_tb = tb;
	*ret_fs = fs;
	return 0;
}

/* Linux < 6.8: the propagation from mountinfo.  The kernel prints every
 * mount's options to make it, which is why this is the fallback only. */
static int propagation_from_mountinfo(const char *path, uint64_t mnt_id, bool *ret_shared,
				      bool *ret_is_root)
{
	struct libmnt_table *tb;
	struct libmnt_fs *fs;
	unsigned long flags = 0;
	int r;

	r = mountinfo_find(mnt_id, &tb, &fs);
	if (r < 0)
		return r;
	r = mnt_fs_get_propagation(fs, &flags);
	if (r == 0) {
		*ret_shared = !!(flags & MS_SHARED);
		*ret_is_root = strcmp(mnt_fs_get_target(fs), path) == 0;
	}
	mnt_unref_table(tb);
	return r;
}

int mountpoint_propagation(const char *path, bool *ret_shared, bool *ret_is_root)
{
	struct cfs_mnt_id_req req = { .size = sizeof(req) };
	struct cfs_statmount sm = { 0 };
	struct statx stx;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID | STATX_MNT_ID_UNIQUE, &stx) <
	    0)
		return negerrno();
	if (!(stx.stx_mask & STATX_MNT_ID_UNIQUE) ||
	    !(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return propagation_from_mountinfo(path, stx.stx_mnt_id, ret_shared, ret_is_root);
	req.mnt_id = stx.stx_mnt_id;
	req.param = CFS_STATMOUNT_MNT_BASIC;
	if (syscall(CFS_NR_STATMOUNT, &req, &sm, sizeof(sm), 0) < 0) {
		/* Filtered out by a seccomp policy, say: mountinfo shows the old ID. */
		if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
			return negerrno();
		return propagation_from_mountinfo(path, stx.stx_mnt_id, ret_shared, ret_is_root);
	}
	*ret_shared = !!(sm.mnt_propagation & MS_SHARED);
	*ret_is_root = !!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	return 0;
}

int mountpoint_check_fd(int fd, const char *path, bool *ret)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, 0, &stx) < 0)
		return negerrno();
	if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) {
		*ret = !!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
		return 0;
	}
	return mountpoint_check(path, ret);
}

int mountpoint_describe(int fd, char **ret_type, char **ret_source)
{
	_cleanup_free_ char *type = NULL, *source = NULL;
	struct libmnt_table *tb;
	struct libmnt_fs *fs;
	struct statx stx;
	const char *t, *src;
	int r;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0)
		return negerrno();
	if (!(stx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	r = mountinfo_find(stx.stx_mnt_id, &tb, &fs);
	if (r < 0)
		return r;
	t = mnt_fs_get_fstype(fs);
	src = mnt_fs_get_source(fs);
	type = strdup(t ? t : "?");
	source = strdup(src ? src : "none");
	mnt_unref_table(tb);
	if (!type || !source)
		return -ENOMEM;
	*ret_type = TAKE_PTR(type);
	*ret_source = TAKE_PTR(source);
	return 0;
}

/* path is dir or below it: "/a/b" is below "/a" and "/", not below "/ab". */
static bool path_at_or_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return true;
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

int mountpoint_none_below(int dir_fd, const char *dir, size_t max, bool *ret_none)
{
	union {
		struct cfs_statmount sm;
		char bytes[sizeof(struct cfs_statmount) + PATH_MAX + 64];
	} buf;
	/* The strings' part of buf: mnt_point is an offset into it. */
	const size_t room = sizeof(buf.bytes) - offsetof(struct cfs_statmount, str);
	struct cfs_mnt_id_req req = { .size = sizeof(req) };
	_cleanup_free_ uint64_t *ids = NULL;
	struct statx stx;
	long n;

	if (statx(dir_fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &stx) < 0)
		return negerrno();
	if (!(stx.stx_mask & STATX_MNT_ID_UNIQUE))
		return -EOPNOTSUPP;
	/* One more than max: a full buffer says "max or more". */
	ids = calloc(max + 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	req.mnt_id = stx.stx_mnt_id;
	n = syscall(CFS_NR_LISTMOUNT, &req, ids, max + 1, 0);
	if (n < 0)
		return negerrno();
	if ((size_t)n > max)
		return -E2BIG;
	for (long i = 0; i < n; i++) {
		struct cfs_mnt_id_req q = { .size = sizeof(q),
					    .mnt_id = ids[i],
					    .param = CFS_STATMOUNT_MNT_POINT };

		if (syscall(CFS_NR_STATMOUNT, &q, &buf, sizeof(buf), 0) < 0) {
			if (errno == ENOENT)
				continue; /* unmounted since: nothing there now */
			return negerrno();
		}
		if (!(buf.sm.mask & CFS_STATMOUNT_MNT_POINT) || buf.sm.mnt_point >= room ||
		    !memchr(buf.sm.str + buf.sm.mnt_point, '\0', room - buf.sm.mnt_point))
			return -EIO;
		if (path_at_or_below(buf.sm.str + buf.sm.mnt_point, dir)) {
			*ret_none = false;
			return 0;
		}
	}
	*ret_none = true;
	return 0;
}

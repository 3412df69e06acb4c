#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "replace.h"
#include "util.h"

#define XATTR_SELINUX	  "security.selinux"
#define XATTR_ACL_ACCESS  "system.posix_acl_access"
#define XATTR_ACL_DEFAULT "system.posix_acl_default"
#define XATTR_USER_PREFIX "user."

/* The stored form of a POSIX ACL (linux/posix_acl_xattr.h): a little-endian
 * version, then 8-byte entries. */
#define ACL_XATTR_VERSION 2
#define ACL_XATTR_HEADER  4
#define ACL_XATTR_ENTRY	  8
#define ACL_TAG_USER_OBJ  0x01
#define ACL_TAG_MASK	  0x10
#define ACL_PERM_WRITE	  0x02
/* 500 entries; a longer ACL is taken as one that grants write. */
#define ACL_XATTR_MAX (ACL_XATTR_HEADER + 500 * ACL_XATTR_ENTRY)

/* An unpredictable name, so that nobody can prepare anything at it. */
#define TEMP_PREFIX   ".cfs-umount-"
#define TEMP_NAME_MAX (sizeof(TEMP_PREFIX) + 16)
#define TEMP_TRIES    8
/* Root's copy is useless to anyone until it is ready.  The owner's copy must
 * be open to its owner, who acts without CAP_DAC_OVERRIDE, and to nobody else. */
#define ROOT_TEMP_MODE	0
#define OWNER_TEMP_MODE 0700

struct saved_xattr {
	char *name;
	void *value;
	size_t len;
};

struct saved_dir {
	struct stat st;
	struct saved_xattr *x;
	size_t n;
	bool has_acl_access, has_acl_default;
};

static void saved_dir_free(struct saved_dir *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->x[i].name);
		free(s->x[i].value);
	}
	free(s->x);
}

/* 1 when an ACL entry other than the owner's (the mask only limits others)
 * grants write, or the ACL cannot be read as one: only then can someone
 * besides the owner write the directory whatever its mode says. */
static int acl_grants_write(int fd)
{
	uint8_t buf[ACL_XATTR_MAX];
	uint32_t version;
	ssize_t n;

	n = fgetxattr(fd, XATTR_ACL_ACCESS, buf, sizeof(buf));
	if (n < 0 && (errno == ENODATA || errno == EOPNOTSUPP))
		return 0;
	if (n < 0 && errno == ERANGE)
		return 1;
	if (n < 0)
		return negerrno();
	if (n < ACL_XATTR_HEADER || (n - ACL_XATTR_HEADER) % ACL_XATTR_ENTRY)
		return 1;
	memcpy(&version, buf, sizeof(version));
	if (le32toh(version) != ACL_XATTR_VERSION)
		return 1;
	for (ssize_t off = ACL_XATTR_HEADER; off < n; off += ACL_XATTR_ENTRY) {
		uint16_t tag, perm;

		memcpy(&tag, buf + off, sizeof(tag));
		memcpy(&perm, buf + off + sizeof(tag), sizeof(perm));
		tag = le16toh(tag);
		perm = le16toh(perm);
		if (tag != ACL_TAG_USER_OBJ && tag != ACL_TAG_MASK && (perm & ACL_PERM_WRITE))
			return 1;
	}
	return 0;
}

/* The replacement rule of umount.cfsoverlay(8), SECURITY: who may write the
 * parent decides who acts, so that a user who can change names in it can
 * never have root act on a directory he swapped in. */
static int pick_actor(int pfd, const struct stat *dir, uid_t *ret_uid)
{
	struct stat p;
	int r;

	if (fstat(pfd, &p) < 0)
		return negerrno();
	if (p.st_mode & (S_IWGRP | S_IWOTH))
		return -EPERM;
	r = acl_grants_write(pfd);
	if (r < 0)
		return r;
	if (r > 0)
		return -EPERM;
	if (p.st_uid != 0 && p.st_uid != dir->st_uid)
		return -EPERM;
	*ret_uid = p.st_uid;
	return 0;
}

static bool copied_xattr(const char *name)
{
	return !strcmp(name, XATTR_SELINUX) || !strcmp(name, XATTR_ACL_ACCESS) ||
	       !strcmp(name, XATTR_ACL_DEFAULT) ||
	       !strncmp(name, XATTR_USER_PREFIX, strlen(XATTR_USER_PREFIX));
}

static int save_xattrs(int fd, struct saved_dir *s)
{
	_cleanup_free_ char *names = NULL;
	size_t count = 0;
	ssize_t len;

	len = flistxattr(fd, NULL, 0);
	if (len < 0 && errno == EOPNOTSUPP)
		return 0;
	if (len <= 0)
		return len < 0 ? negerrno() : 0;
	names = malloc((size_t)len);
	if (!names)
		return -ENOMEM;
	/* ERANGE: one was added in between; the directory is kept. */
	len = flistxattr(fd, names, (size_t)len);
	if (len < 0)
		return negerrno();
	for (char *p = names; p < names + len; p += strlen(p) + 1)
		count += copied_xattr(p);
	if (!count)
		return 0;
	s->x = calloc(count, sizeof(*s->x));
	if (!s->x)
		return -ENOMEM;
	for (char *p = names; p < names + len && s->n < count; p += strlen(p) + 1) {
		struct saved_xattr *x;
		ssize_t vlen;

		if (!copied_xattr(p))
			continue;
		vlen = fgetxattr(fd, p, NULL, 0);
		if (vlen < 0 && errno == ENODATA)
			continue;
		if (vlen < 0)
			return negerrno();
		x = &s->x[s->n++];
		x->name = strdup(p);
		x->value = malloc(vlen > 0 ? (size_t)vlen : 1);
		if (!x->name || !x->value)
			return -ENOMEM;
		vlen = fgetxattr(fd, p, x->value, (size_t)vlen);
		if (vlen < 0)
			return negerrno();
		x->len = (size_t)vlen;
		s->has_acl_access |= !strcmp(p, XATTR_ACL_ACCESS);
		s->has_acl_default |= !strcmp(p, XATTR_ACL_DEFAULT);
	}
	return 0;
}

static int make_temp(int dfd, mode_t mode, char tmp[TEMP_NAME_MAX])
{
	for (int i = 0; i < TEMP_TRIES; i++) {
		uint64_t v;

		if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
			return negerrno();
		snprintf(tmp, TEMP_NAME_MAX, TEMP_PREFIX "%016" PRIx64, v);
		/* mkdirat never follows a symlink planted at the name (EEXIST). */
		if (mkdirat(dfd, tmp, mode) == 0)
			return 0;
		if (errno != EEXIST)
			return negerrno();
	}
	return -EEXIST;
}

/* A default ACL of the parent is inherited by the new directory: the old one
 * may have had none. */
static int drop_xattr(int fd, const char *name)
{
	if (fremovexattr(fd, name) < 0 && errno != ENODATA && errno != EOPNOTSUPP)
		return negerrno();
	return 0;
}

static int fill_and_rename(int dfd, const char *tmp, const char *name, const struct saved_dir *s,
			   uid_t uid, mode_t mode)
{
	_cleanup_close_ int fd = -EBADF;
	const struct timespec times[2] = { s->st.st_atim, s->st.st_mtim };
	struct stat st;
	int r;

	fd = openat(dfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return negerrno();
	if (fstat(fd, &st) < 0)
		return negerrno();
	/* Proof that this is the directory just made, not one swapped in by
	 * whoever can write the parent: ours, and no more open than asked
	 * (umask, a default ACL and a set-group-ID parent only take away or add
	 * S_ISGID). */
	if (st.st_uid != uid || (st.st_mode & 07777 & ~(mode | S_ISGID)))
		return -ESTALE;
	if (fchown(fd, s->st.st_uid, s->st.st_gid) < 0)
		return negerrno();
	for (size_t i = 0; i < s->n; i++)
		if (fsetxattr(fd, s->x[i].name, s->x[i].value, s->x[i].len, 0) < 0)
			return negerrno();
	if (!s->has_acl_access && (r = drop_xattr(fd, XATTR_ACL_ACCESS)) < 0)
		return r;
	if (!s->has_acl_default && (r = drop_xattr(fd, XATTR_ACL_DEFAULT)) < 0)
		return r;
	/* After fchown, which may clear set-ID bits, and after the ACL, whose
	 * mask the mode's group bits then match again. */
	if (fchmod(fd, s->st.st_mode & 07777) < 0)
		return negerrno();
	if (futimens(fd, times) < 0)
		return negerrno();
	/* The rename replaces whatever is at name: the directory looked at. */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return negerrno();
	if (st.st_dev != s->st.st_dev || st.st_ino != s->st.st_ino)
		return -ESTALE;
	/* Over an empty directory that is no mountpoint here, or not at all
	 * (ENOTEMPTY, EBUSY): the kernel checks both at the rename itself. */
	if (renameat(dfd, tmp, dfd, name) < 0)
		return negerrno();
	return 0;
}

static int build_and_swap(int dfd, const char *name, const struct saved_dir *s, uid_t uid,
			  mode_t mode)
{
	char tmp[TEMP_NAME_MAX];
	int r;

	r = make_temp(dfd, mode, tmp);
	if (r < 0)
		return r;
	r = fill_and_rename(dfd, tmp, name, s, uid, mode);
	/* rmdir only: an empty directory, whoever's it is by now. */
	if (r < 0)
		(void)unlinkat(dfd, tmp, AT_REMOVEDIR);
	return r;
}

/* Everything as the owner: a fsuid other than 0 drops the filesystem
 * capabilities (CHOWN, DAC_*, FOWNER, FSETID...) from the effective set and
 * the way back to 0 restores them (capabilities(7)), so the owner's own
 * rights bound whatever a swapped name makes this do. */
static int build_and_swap_as_owner(int dfd, const char *name, const struct saved_dir *s)
{
	uid_t old_uid;
	gid_t old_gid;
	int r = -EPERM;

	old_gid = (gid_t)setfsgid(s->st.st_gid);
	old_uid = (uid_t)setfsuid(s->st.st_uid);
	/* setfsuid() reports no error: an invalid id returns the current one. */
	if ((uid_t)setfsuid((uid_t)-1) == s->st.st_uid &&
	    (gid_t)setfsgid((gid_t)-1) == s->st.st_gid)
		r = build_and_swap(dfd, name, s, s->st.st_uid, OWNER_TEMP_MODE);
	(void)setfsuid(old_uid);
	(void)setfsgid(old_gid);
	return r;
}

int replace_dir(int dfd, const char *name, struct replace_result *ret)
{
	_cleanup_close_ int pfd = -EBADF, oldfd = -EBADF;
	_cleanup_(saved_dir_free) struct saved_dir s = { 0 };
	struct statx stx;
	uid_t uid = 0;
	int r;

	/* xattrs need an fd that is not O_PATH: the same inodes, opened again. */
	pfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return negerrno();
	/* O_DIRECTORY: a FIFO or device swapped in is refused before it opens. */
	oldfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (oldfd < 0)
		return negerrno();
	if (fstat(oldfd, &s.st) < 0)
		return negerrno();
	/* Still a mountpoint here (stacked mounts): the label read would be the
	 * top mount's.  Before Linux 5.8 the rename's EBUSY says it. */
	if (statx(oldfd, "", AT_EMPTY_PATH, 0, &stx) < 0)
		return negerrno();
	if (stx.stx_attributes_mask & stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)
		return -EBUSY;
	r = pick_actor(pfd, &s.st, &uid);
	if (r < 0)
		return r;
	r = save_xattrs(oldfd, &s);
	if (r < 0)
		return r;
	r = uid == 0 ? build_and_swap(dfd, name, &s, 0, ROOT_TEMP_MODE)
		     : build_and_swap_as_owner(dfd, name, &s);
	if (r < 0)
		return r;
	ret->as_uid = uid;
	return 0;
}

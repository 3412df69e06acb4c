#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "pathfd.h"
#include "util.h"

int pathfd_next_component(const char **p, char name[NAME_MAX + 1], const char **ret_start)
{
	const char *s = *p + strspn(*p, "/");
	size_t len = strcspn(s, "/");

	if (!len)
		return 0;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(name, s, len);
	name[len] = '\0';
	if (ret_start)
		*ret_start = s;
	*p = s + len;
	return 1;
}

bool pathfd_at_end(const char *p)
{
	return !p[strspn(p, "/")];
}

/* Kernels or seccomp policies without openat2 (Linux < 5.6, valgrind 3.19):
 * the same rule, one component at a time. */
static int walk_nofollow(const char *path, int flags, int *ret_fd)
{
	_cleanup_close_ int dfd = -EBADF;
	const char *p = path;

	dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return negerrno();
	for (;;) {
		char name[NAME_MAX + 1];
		bool last;
		int fd, r;

		r = pathfd_next_component(&p, name, NULL);
		if (r <= 0) {
			if (r < 0)
				return r;
			break;
		}
		last = pathfd_at_end(p);
		/* A canonical path has no dot components; a ".." could climb out. */
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			return -EINVAL;
		fd = openat(dfd, name,
			    O_PATH | O_NOFOLLOW | O_CLOEXEC | (last ? flags : O_DIRECTORY));
		if (fd < 0)
			return negerrno();
		close(dfd);
		dfd = fd;
		if (last) {
			struct stat st;

			/* O_PATH | O_NOFOLLOW opens a symlink itself. */
			if (fstat(dfd, &st) < 0)
				return negerrno();
			if (S_ISLNK(st.st_mode))
				return -ELOOP;
		}
	}
	*ret_fd = TAKE_FD(dfd);
	return 0;
}

int pathfd_open(const char *path, int extra_flags, int *ret_fd)
{
	struct open_how how = {
		.flags = (unsigned long long)(O_PATH | O_CLOEXEC | extra_flags),
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	if (path[0] != '/')
		return -EINVAL;
	fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		return walk_nofollow(path, extra_flags, ret_fd);
	if (fd < 0)
		return negerrno();
	*ret_fd = fd;
	return 0;
}

int pathfd_open_parent(const char *path, int *ret_dfd, const char **ret_name)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t len;
	int r;

	if (path[0] != '/' || !slash || !slash[1])
		return -EINVAL;
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= sizeof(parent))
		return -ENAMETOOLONG;
	memcpy(parent, path, len);
	parent[len] = '\0';
	r = pathfd_open(parent, O_DIRECTORY, ret_dfd);
	if (r < 0)
		return r;
	*ret_name = slash + 1;
	return 0;
}

int pathfd_still_at(int fd, const char *path)
{
	_cleanup_close_ int now = -EBADF;
	struct stat a, b;
	int r;

	if (fstat(fd, &a) < 0)
		return negerrno();
	r = pathfd_open(path, 0, &now);
	if (r == -ENOENT || r == -ELOOP || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	if (fstat(now, &b) < 0)
		return negerrno();
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void pathfd_proc_path(int fd, char buf[PATHFD_PROC_MAX])
{
	snprintf(buf, PATHFD_PROC_MAX, "/proc/self/fd/%d", fd);
}

bool pathfd_proc_available(void)
{
	static int available = -1;

	/* Asked after -N has entered the namespace, and nothing changes /proc
	 * there during a run. */
	if (available < 0)
		available = access("/proc/self/fd", F_OK) == 0;
	return available;
}

const char *pathfd_name(int fd, const char *path, char buf[PATHFD_PROC_MAX])
{
	if (!pathfd_proc_available())
		return path;
	pathfd_proc_path(fd, buf);
	return buf;
}

static int same_inode(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return negerrno();
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int pathfd_mount_on(int target_fd, const char *path, uint64_t want_mnt_id, int *ret_fd)
{
	_cleanup_close_ int now = -EBADF, up_now = -EBADF, up_target = -EBADF;
	struct statx st, sn;
	int r;

	r = pathfd_open(path, O_DIRECTORY, &now);
	if (r == -ENOENT || r == -ELOOP || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	if (statx(target_fd, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &st) < 0 ||
	    statx(now, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &sn) < 0)
		return negerrno();
	if (sn.stx_mask & st.stx_mask & STATX_MNT_ID) {
		/* The path must end at the root of another mount than the
		 * directory's own (the one made on it), the exact one when known. */
		if (!(sn.stx_attributes & STATX_ATTR_MOUNT_ROOT) || sn.stx_mnt_id == st.stx_mnt_id)
			return 0;
		if (want_mnt_id && sn.stx_mnt_id != want_mnt_id)
			return 0;
	} else if (sn.stx_ino == st.stx_ino && sn.stx_dev_major == st.stx_dev_major &&
		   sn.stx_dev_minor == st.stx_dev_minor) {
		/* Linux < 5.8 has no mount ids: at least the path must not end at
		 * the directory that was mounted over. */
		return 0;
	}
	/* ".." of a mount root climbs to the parent of its mountpoint: that must
	 * be the parent of the directory the mount was made on. */
	up_now = openat(now, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	up_target = openat(target_fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (up_now < 0 || up_target < 0)
		return negerrno();
	r = same_inode(up_now, up_target);
	if (r <= 0)
		return r;
	*ret_fd = TAKE_FD(now);
	return 1;
}

uint64_t pathfd_mnt_id(int fd)
{
	struct statx st;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &st) < 0 || !(st.stx_mask & STATX_MNT_ID))
		return 0;
	return st.stx_mnt_id;
}

/* A symlink may be followed only where no one but root can have planted it. */
static bool dir_is_roots(int dfd)
{
	struct stat st;

	return fstat(dfd, &st) == 0 && st.st_uid == 0 && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

static int append_name(char **canon, const char *name, size_t len)
{
	size_t n = strlen(*canon);
	char *p = realloc(*canon, n + len + 2);

	if (!p)
		return -ENOMEM;
	if (n == 0 || p[n - 1] != '/')
		p[n++] = '/';
	memcpy(p + n, name, len);
	p[n + len] = '\0';
	*canon = p;
	return 0;
}

int pathfd_resolve(const char *path, char **ret_path, int *ret_fd, char **ret_untrusted)
{
	_cleanup_free_ char *canon = NULL, *rest = NULL;
	_cleanup_close_ int dfd = -EBADF;
	const char *p, *start;
	int links = 0, r;

	if (path[0] == '/')
		canon = strdup("/");
	else
		canon = getcwd(NULL, 0);
	rest = strdup(path);
	if (!canon || !rest)
		return -ENOMEM;
	dfd = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return negerrno();
	p = rest;
	for (;;) {
		char name[NAME_MAX + 1], target[PATH_MAX];
		_cleanup_close_ int fd = -EBADF;
		struct stat st;
		size_t len;
		ssize_t n;

		r = pathfd_next_component(&p, name, &start);
		if (r <= 0) {
			if (r < 0)
				return r;
			break;
		}
		len = (size_t)(p - start);
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			char *slash = strrchr(canon, '/');

			fd = openat(dfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				return negerrno();
			close(dfd);
			dfd = TAKE_FD(fd);
			if (slash)
				slash[slash == canon ? 1 : 0] = '\0';
			continue;
		}
		fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return negerrno();
		if (fstat(fd, &st) < 0)
			return negerrno();
		if (!S_ISLNK(st.st_mode)) {
			if (*p && !S_ISDIR(st.st_mode))
				return -ENOTDIR;
			r = append_name(&canon, name, len);
			if (r < 0)
				return r;
			close(dfd);
			dfd = TAKE_FD(fd);
			continue;
		}
		if (++links > PATHFD_MAX_LINKS)
			return -ELOOP;
		if (!dir_is_roots(dfd)) {
			if (ret_untrusted && append_name(&canon, name, len) == 0)
				*ret_untrusted = TAKE_PTR(canon);
			return -EPERM;
		}
		n = readlinkat(fd, "", target, sizeof(target) - 1);
		if (n < 0)
			return negerrno();
		target[n] = '\0';
		if (target[0] == '/') {
			close(dfd);
			dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (dfd < 0)
				return negerrno();
			strcpy(canon, "/");
		}
		{
			char *spliced;

			if (asprintf(&spliced, "%s/%s", target, p) < 0)
				return -ENOMEM;
			free(rest);
			rest = spliced;
			p = rest;
		}
	}
	*ret_path = TAKE_PTR(canon);
	*ret_fd = TAKE_FD(dfd);
	return 0;
}

int pathfd_proc_child_path(int dfd, const char *name, char buf[PATHFD_PROC_CHILD_MAX])
{
	if (!*name || strchr(name, '/') || strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	snprintf(buf, PATHFD_PROC_CHILD_MAX, "/proc/self/fd/%d/%s", dfd, name);
	return 0;
}

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "pathfd.h"
#include "util.h"

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
		size_t len;
		int fd;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		if (len > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;
		while (*p == '/')
			p++;
		/* A canonical path has no dot components; a ".." could climb out. */
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			return -EINVAL;
		fd = openat(dfd, name,
			    O_PATH | O_NOFOLLOW | O_CLOEXEC | (*p ? O_DIRECTORY : flags));
		if (fd < 0)
			return negerrno();
		close(dfd);
		dfd = fd;
		if (!*p) {
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

int pathfd_proc_child_path(int dfd, const char *name, char buf[PATHFD_PROC_CHILD_MAX])
{
	if (!*name || strchr(name, '/') || strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	snprintf(buf, PATHFD_PROC_CHILD_MAX, "/proc/self/fd/%d/%s", dfd, name);
	return 0;
}

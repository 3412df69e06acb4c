#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/nsfs.h>

#include "idmap.h"
#include "mountns.h"
#include "util.h"

/* Strict unsigned 32-bit decimal: no sign, no spaces, no overflow. */
static int parse_u32(const char *s, size_t len, uint32_t *ret)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

static bool ranges_overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
	return (uint64_t)a < (uint64_t)b + blen && (uint64_t)b < (uint64_t)a + alen;
}

static int check_range(const char *name, const struct idmap *m, const struct idmap_range *r,
		       const char *text, struct cfs_error *e)
{
	if (r->count == 0)
		return cfs_fail(e, CFS_STAGE_USAGE, 0, "bad %s \"%s\": size must be greater than 0",
				name, text);
	/* The kernel refuses a range whose last id would be 2^32-1 or past it. */
	if ((uint64_t)r->inside + r->count > UINT32_MAX ||
	    (uint64_t)r->outside + r->count > UINT32_MAX)
		return cfs_fail(e, CFS_STAGE_USAGE, 0, "bad %s \"%s\": range wraps past 4294967294",
				name, text);
	for (size_t i = 0; i < m->n; i++) {
		const struct idmap_range *o = &m->r[i];

		if (ranges_overlap(o->inside, o->count, r->inside, r->count))
			return cfs_fail(e, CFS_STAGE_USAGE, 0,
					"bad %s \"%s\": container ids overlap another range", name,
					text);
		if (ranges_overlap(o->outside, o->count, r->outside, r->count))
			return cfs_fail(e, CFS_STAGE_USAGE, 0,
					"bad %s \"%s\": host ids overlap another range", name,
					text);
	}
	return 0;
}

size_t idmap_text_max(void)
{
	long page = sysconf(_SC_PAGESIZE);

	/* map_write() refuses a write of PAGE_SIZE bytes or more with EINVAL. */
	return (page > 0 ? (size_t)page : 4096) - 1;
}

size_t idmap_text_len(const struct idmap *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++)
		n += (size_t)snprintf(NULL, 0, "%u %u %u\n", m->r[i].inside, m->r[i].outside,
				      m->r[i].count);
	return n;
}

int idmap_parse(const char *name, const char *spec, struct idmap *ret, struct cfs_error *e)
{
	struct idmap m = { .n = 0 };
	const char *p = spec;
	size_t text_len;

	if (!spec || !*spec)
		return cfs_fail(e, CFS_STAGE_USAGE, 0,
				"bad %s: empty value (expected CONTAINER:HOST:SIZE)", name);

	while (*p) {
		struct idmap_range r;
		uint32_t *fields[3] = { &r.inside, &r.outside, &r.count };
		const char *start;
		char text[96];

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		start = p;
		for (int f = 0; f < 3; f++) {
			size_t len = strcspn(p, ": ");
			int k = parse_u32(p, len, fields[f]);

			if (k < 0 || (f < 2 && p[len] != ':')) {
				size_t tl = strcspn(start, " ");
				snprintf(text, sizeof(text), "%.*s", (int)(tl < 80 ? tl : 80),
					 start);
				return cfs_fail(
					e, CFS_STAGE_USAGE, 0,
					"bad %s \"%s\": expected CONTAINER:HOST:SIZE with unsigned numbers",
					name, text);
			}
			p += len;
			if (f < 2)
				p++;
		}
		snprintf(text, sizeof(text), "%u:%u:%u", r.inside, r.outside, r.count);
		if (m.n == IDMAP_MAX_RANGES)
			return cfs_fail(e, CFS_STAGE_USAGE, 0, "bad %s \"%s\": more than %d ranges",
					name, text, IDMAP_MAX_RANGES);
		if (check_range(name, &m, &r, text, e) < 0)
			return -EINVAL;
		m.r[m.n++] = r;
		/* Triplets may be chained with ':' (fuse-overlayfs) or spaced (containerd). */
		if (*p == ':' && p[1] && p[1] != ' ')
			p++;
		else if (*p && *p != ' ')
			return cfs_fail(e, CFS_STAGE_USAGE, 0,
					"bad %s \"%s\": unexpected text after %s", name, spec,
					text);
	}
	if (m.n == 0)
		return cfs_fail(e, CFS_STAGE_USAGE, 0,
				"bad %s: empty value (expected CONTAINER:HOST:SIZE)", name);
	text_len = idmap_text_len(&m);
	if (text_len > idmap_text_max())
		return cfs_fail(
			e, CFS_STAGE_USAGE, 0,
			"bad %s: its %zu ranges make %zu bytes of map text, the kernel takes "
			"at most %zu (one page)",
			name, m.n, text_len, idmap_text_max());
	*ret = m;
	return 0;
}

int idmap_format(const struct idmap *m, char *buf, size_t size)
{
	size_t n = 0;

	/* An empty map is an empty string, not an untouched buffer. */
	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (size_t i = 0; i < m->n; i++) {
		int k = snprintf(buf + n, size - n, "%u %u %u\n", m->r[i].inside, m->r[i].outside,
				 m->r[i].count);
		if (k < 0 || (size_t)k >= size - n)
			return -ENOSPC;
		n += (size_t)k;
	}
	return 0;
}

static int write_map(pid_t pid, const char *file, const struct idmap *m)
{
	/* 340 lines of three 10-digit numbers fit. */
	char path[64], text[IDMAP_MAX_RANGES * 34 + 1];
	_cleanup_close_ int fd = -EBADF;
	size_t len;
	ssize_t w;
	int r;

	r = idmap_format(m, text, sizeof(text));
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return negerrno();
	/* The kernel takes a map in one write(2) only. */
	len = strlen(text);
	w = write(fd, text, len);
	if (w < 0)
		return negerrno();
	return (size_t)w == len ? 0 : -EIO;
}

/* The first line of a small /proc file, newline dropped (empty for an empty
 * file); false when it cannot be opened. */
static bool read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return false;
	if (!fgets(buf, (int)size, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	return true;
}

/* The kernel refuses CLONE_NEWUSER to a process whose root is not the root of
 * its mount namespace (current_chrooted()).  The usual chroot, into a plain
 * directory, shows as a "/" that is not the root of a mount (STATX_ATTR_MOUNT_ROOT,
 * Linux 5.8).  Otherwise PID 1's root stands for the namespace's root, where
 * /proc/1/root can be read: another inode means a chroot, and so does another
 * mount of the same inode when PID 1 shares our mount namespace. */
static bool is_chrooted(void)
{
	struct statx self, init, self_ns, init_ns;
	unsigned int mask = STATX_INO | STATX_MNT_ID;

	if (statx(AT_FDCWD, "/", 0, mask, &self) < 0)
		return false;
	if ((self.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    !(self.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return true;
	if (statx(AT_FDCWD, "/proc/1/root/", 0, mask, &init) < 0)
		return false;
	if (self.stx_dev_major != init.stx_dev_major || self.stx_dev_minor != init.stx_dev_minor ||
	    self.stx_ino != init.stx_ino)
		return true;
	if (!(self.stx_mask & init.stx_mask & STATX_MNT_ID) ||
	    statx(AT_FDCWD, "/proc/self/ns/mnt", 0, STATX_INO, &self_ns) < 0 ||
	    statx(AT_FDCWD, "/proc/1/ns/mnt", 0, STATX_INO, &init_ns) < 0)
		return false;
	return self_ns.stx_ino == init_ns.stx_ino && self.stx_mnt_id != init.stx_mnt_id;
}

/* A seccomp filter (a container runtime's default profile) or a user namespace
 * that does not map every ID (a container's) says we run in a container. */
static const char *container_sign(void)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "re");
	unsigned int inside, outside, count;
	bool filtered = false;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Seccomp:", 8) && atoi(line + 8) == 2)
			filtered = true;
	if (f)
		fclose(f);
	if (filtered)
		return "a seccomp filter";
	/* The initial user namespace maps every ID to itself; a container's maps
	 * fewer, or none at all. */
	if (read_line("/proc/self/uid_map", line, sizeof(line)) &&
	    (sscanf(line, "%u %u %u", &inside, &outside, &count) != 3 || inside != 0 ||
	     outside != 0 || count != UINT32_MAX))
		return "its own user namespace";
	return NULL;
}

/* clone(CLONE_NEWUSER) failed with err: name the cause, each its own way. */
static void hint_userns_failure(int err, struct cfs_error *e)
{
	char max[32];
	const char *sign;

	switch (err) {
	case -EPERM:
		if (is_chrooted()) {
			cfs_hint(
				e,
				"this process runs in a chroot, and the kernel refuses user namespaces "
				"to chrooted processes: run it outside the chroot, or enter the root "
				"with unshare -m and pivot_root instead of chroot");
		} else if ((sign = container_sign())) {
			cfs_hint(e,
				 "this process runs in a container (%s) that does not allow user "
				 "namespaces: allow them in the container's seccomp profile or "
				 "configuration, or mount from the host",
				 sign);
		} else {
			cfs_hint(e,
				 "the kernel or a security module refuses user namespaces to this "
				 "process");
		}
		break;
	case -ENOSPC:
	case -EUSERS:
		(void)read_line("/proc/sys/user/max_user_namespaces", max, sizeof(max));
		if (!strcmp(max, "0"))
			cfs_hint(e, "user namespaces are disabled: user.max_user_namespaces is 0; "
				    "sysctl user.max_user_namespaces=N turns them on");
		else
			cfs_hint(
				e,
				"the limit user.max_user_namespaces (%s) or the nesting limit of 32 "
				"user namespaces is reached",
				max[0] ? max : "unknown");
		break;
	case -EINVAL:
		cfs_hint(e, "the kernel was built without user namespaces (CONFIG_USER_NS)");
		break;
	}
}

int idmap_userns_fd(const struct idmap *uid, const struct idmap *gid, int *ret_fd,
		    struct cfs_error *e)
{
	_cleanup_close_ int fd = -EBADF;
	int hold[2] = { -EBADF, -EBADF };
	char path[64];
	pid_t pid;
	int r, status;

	if (pipe2(hold, O_CLOEXEC) < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot create a pipe");

	/* The child is born in the new user namespace, so there is no handshake: it
	 * only has to stay alive until its namespace is pinned by our fd, and it
	 * leaves when the pipe's write end closes.  Raw clone(2), not fork(): the
	 * child runs only read(2) and _exit(2). */
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		r = cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot create a user namespace");
		hint_userns_failure(r, e);
		close(hold[0]);
		close(hold[1]);
		return r;
	}
	if (pid == 0) {
		char c;

		close(hold[1]);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(hold[0]);

	r = write_map(pid, "uid_map", uid);
	if (r < 0) {
		cfs_fail(e, CFS_STAGE_SETUP, r, "cannot write uid_map of the user namespace");
		goto out;
	}
	r = write_map(pid, "gid_map", gid);
	if (r < 0) {
		cfs_fail(e, CFS_STAGE_SETUP, r, "cannot write gid_map of the user namespace");
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		r = cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot open %s", path);
out:
	/* Closing the write end releases the child; reap it on every path. */
	close(hold[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0)
		*ret_fd = TAKE_FD(fd);
	return r;
}

static bool map_is_empty(const char *file)
{
	char buf[16];
	ssize_t n;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == 0;
}

/* Only a user namespace from cfs.userns can lack maps (ours always has them),
 * and its maps are visible only from inside it: ask a child that joins it.
 * Run on the error path only, so the fork costs nothing on a good mount. */
static int userns_lacks_maps(int userns_fd)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return negerrno();
	if (pid == 0) {
		if (setns(userns_fd, CLONE_NEWUSER) < 0)
			_exit(2);
		_exit(map_is_empty("/proc/self/uid_map") || map_is_empty("/proc/self/gid_map") ? 1
											       : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return negerrno();
	return WIFEXITED(status) && WEXITSTATUS(status) == 1;
}

int idmap_userns_open(const char *path, int *ret_fd, struct cfs_error *e)
{
	_cleanup_close_ int fd = -EBADF, parent = -EBADF;
	int r;

	r = mountns_open_ns(path, CLONE_NEWUSER, "cfs.userns", &fd, e);
	if (r < 0)
		return r;
	/* The initial user namespace has no parent to show us (EPERM), and
	 * mount_setattr() would refuse it with a bare EPERM. */
	parent = ioctl(fd, NS_GET_PARENT);
	if (parent < 0 && errno == EPERM)
		return cfs_fail(e, CFS_STAGE_USAGE, 0,
				"bad cfs.userns: %s is the initial user namespace (or one above "
				"the helper's), which cannot idmap a mount: name the container's",
				path);
	/* Refused up front, before any mount work: mount_setattr() would only
	 * say EINVAL, late. */
	if (userns_lacks_maps(fd) > 0)
		return cfs_fail(e, CFS_STAGE_USAGE, 0,
				"bad cfs.userns: the user namespace %s has no uid or gid map",
				path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int idmap_fail_einval(int userns_fd, const char *what, struct cfs_error *e)
{
	if (userns_lacks_maps(userns_fd) > 0)
		return cfs_fail(
			e, CFS_STAGE_USAGE, 0,
			"cannot idmap %s: the user namespace of cfs.userns has no uid or gid map",
			what);
	return cfs_fail(e, CFS_STAGE_MOUNT, 0,
			"cannot idmap %s: its filesystem does not support idmapped mounts", what);
}

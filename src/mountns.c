#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/nsfs.h>

#include "log.h"
#include "mountns.h"
#include "util.h"

static const char *ns_type_name(int nstype)
{
	switch (nstype) {
	case CLONE_NEWNS: return "mount";
	case CLONE_NEWUSER: return "user";
	case CLONE_NEWPID: return "pid";
	case CLONE_NEWNET: return "network";
	case CLONE_NEWUTS: return "uts";
	case CLONE_NEWIPC: return "ipc";
	case CLONE_NEWCGROUP: return "cgroup";
	case CLONE_NEWTIME: return "time";
	}
	return "unknown";
}

static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFIFO: return "a FIFO";
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	}
	return "not a namespace file";
}

int mountns_open_ns(const char *path, int nstype, const char *what, int *ret_fd,
		    struct cfs_error *e)
{
	_cleanup_close_ int fd = -EBADF;
	struct statfs sfs;
	struct stat st;
	int type;

	/* O_NONBLOCK: a FIFO named here would block open(2) for good (a signal
	 * restarts it); nsfs files do not care. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return cfs_fail(e, CFS_STAGE_USAGE, negerrno(), "bad %s: cannot open %s", what,
				path);
	if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
		return cfs_fail(e, CFS_STAGE_USAGE, negerrno(), "bad %s: cannot inspect %s", what,
				path);
	if (sfs.f_type != NSFS_MAGIC)
		return cfs_fail(e, CFS_STAGE_USAGE, 0, "bad %s: %s is %s, not a %s namespace", what,
				path, file_kind(st.st_mode), ns_type_name(nstype));
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type < 0)
		return cfs_fail(e, CFS_STAGE_USAGE, negerrno(), "bad %s: cannot inspect %s", what,
				path);
	if (type != nstype)
		return cfs_fail(e, CFS_STAGE_USAGE, 0,
				"bad %s: %s is not a %s namespace (it is a %s namespace)", what,
				path, ns_type_name(nstype), ns_type_name(type));
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int mountns_enter(const char *spec, struct cfs_error *e)
{
	_cleanup_close_ int fd = -EBADF;
	char path[64], what[64];
	const char *p = spec;
	char *end;
	long pid;
	int r;

	pid = strtol(spec, &end, 10);
	if (*spec && !*end) {
		if (pid <= 0)
			return cfs_fail(e, CFS_STAGE_USAGE, 0,
					"bad -N %s: not a PID or a namespace path", spec);
		snprintf(path, sizeof(path), "/proc/%ld/ns/mnt", pid);
		p = path;
	}
	snprintf(what, sizeof(what), "-N %s", p == spec ? "" : spec);
	r = mountns_open_ns(p, CLONE_NEWNS, p == spec ? "-N" : what, &fd, e);
	if (r < 0)
		return r;
	if (setns(fd, CLONE_NEWNS) < 0)
		return cfs_fail(e, CFS_STAGE_SETUP, negerrno(), "cannot enter mount namespace %s",
				p);
	verbose("entered mount namespace %s", p);
	return 0;
}

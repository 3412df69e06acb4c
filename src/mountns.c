#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "mountns.h"
#include "util.h"

int mountns_enter(const char *spec, struct cfs_error *e)
{
	_cleanup_close_ int fd = -EBADF;
	char path[64];
	const char *p = spec;
	char *end;
	long pid;

	pid = strtol(spec, &end, 10);
	if (*spec && !*end) {
		if (pid <= 0)
			return cfs_fail(e, CFS_STAGE_USAGE, 0,
					"bad -N %s: not a PID or a namespace path", spec);
		snprintf(path, sizeof(path), "/proc/%ld/ns/mnt", pid);
		p = path;
	}
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cfs_fail(e, CFS_STAGE_USAGE, negerrno(), "bad -N %s: cannot open %s", spec,
				p);
	if (setns(fd, CLONE_NEWNS) < 0) {
		int r = negerrno();

		if (r == -EINVAL)
			return cfs_fail(e, CFS_STAGE_USAGE, 0,
					"bad -N %s: %s is not a mount namespace", spec, p);
		return cfs_fail(e, CFS_STAGE_SETUP, r, "cannot enter mount namespace %s", p);
	}
	verbose("entered mount namespace %s", p);
	return 0;
}

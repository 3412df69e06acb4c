#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>

#include <unistd.h>

#include "errors.h"
#include "log.h"

int cfs_fail(struct cfs_error *e, enum cfs_stage stage, int err, const char *fmt, ...)
{
	va_list ap;

	if (err > 0)
		err = -err;
	if (e && !cfs_failed(e)) {
		e->err = err;
		e->stage = stage;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return err ? err : -EINVAL;
}

void cfs_hint(struct cfs_error *e, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->hint[0])
		return;
	va_start(ap, fmt);
	vsnprintf(e->hint, sizeof(e->hint), fmt, ap);
	va_end(ap);
}

void cfs_hint_fs_log(struct cfs_error *e, int fs_fd)
{
	char buf[1024], last[1024] = "";
	ssize_t n;

	while ((n = read(fs_fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		if (buf[n - 1] == '\n')
			buf[n - 1] = '\0';
		verbose("kernel: %s", buf);
		if (buf[0] == 'e' && buf[1] == ' ')
			snprintf(last, sizeof(last), "%s", buf + 2);
	}
	if (last[0])
		cfs_hint(e, "%s", last);
}

int cfs_failed(const struct cfs_error *e)
{
	return e->msg[0] != '\0';
}

void cfs_error_format(const struct cfs_error *e, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s", e->msg);

	/* "Interrupted system call" would only repeat what msg says. */
	if (n >= 0 && (size_t)n < size && e->err && e->err != -EINTR)
		n += snprintf(buf + n, size - (size_t)n, ": %s", strerror(-e->err));
	if (n >= 0 && (size_t)n < size && e->hint[0])
		snprintf(buf + n, size - (size_t)n, " (%s)", e->hint);
}

enum cfs_exit cfs_exit_code(enum cfs_stage stage, int err)
{
	if (err == -EINTR)
		return CFS_EX_INTERRUPT;
	/* mount(8): out of memory is a system error, whatever step met it (parsing
	 * reports it as an internal failure). */
	if (err == -ENOMEM)
		return CFS_EX_SYSERR;
	switch (stage) {
	case CFS_STAGE_USAGE:
	case CFS_STAGE_PERM: return CFS_EX_USAGE;
	case CFS_STAGE_UTAB: return CFS_EX_UTAB;
	case CFS_STAGE_INTERNAL: return CFS_EX_SOFTWARE;
	case CFS_STAGE_SYSTEM: return CFS_EX_SYSERR;
	case CFS_STAGE_SETUP:
	case CFS_STAGE_MOUNT: break;
	}
	/* Other resource exhaustion in the setup and mount steps is a system error too. */
	switch (err) {
	case -EAGAIN:
	case -EMFILE:
	case -ENFILE:
	case -ENOSPC: return CFS_EX_SYSERR;
	case -EPERM:
	case -EACCES: return stage == CFS_STAGE_SETUP ? CFS_EX_USAGE : CFS_EX_FAIL;
	default: return CFS_EX_FAIL;
	}
}

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <unistd.h>

#include <libmount/libmount.h>

#include "errors.h"
#include "log.h"
#include "util.h"

/* Copies src into dst (size > 0, always terminated) so that the message stays
 * one readable line whatever a user put into a path or an option: control
 * characters are escaped (a newline would split the error over two lines) and
 * a run of more than CFS_ECHO_MAX non-blank bytes (a 5000-byte cfs.tmpdir) is
 * cut there with "...". */
static void sanitize(char *dst, size_t size, const char *src)
{
	size_t n = 0, run = 0;

	for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
		char esc[8];
		size_t len;

		/* ": " after a value ends it as a blank does. */
		if (*p == ' ' || (*p == ':' && p[1] == ' '))
			run = 0;
		else
			run++;
		if (run > CFS_ECHO_MAX) {
			if (run == CFS_ECHO_MAX + 1)
				snprintf(esc, sizeof(esc), "...");
			else
				continue;
		} else if (*p == '\n')
			snprintf(esc, sizeof(esc), "\\n");
		else if (*p == '\t')
			snprintf(esc, sizeof(esc), "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
		else {
			esc[0] = (char)*p;
			esc[1] = '\0';
		}
		len = strlen(esc);
		if (n + len >= size)
			break;
		memcpy(dst + n, esc, len);
		n += len;
	}
	dst[n] = '\0';
}

__attribute__((format(printf, 3, 0))) static void vformat_clean(char *dst, size_t size,
								const char *fmt, va_list ap)
{
	_cleanup_free_ char *raw = NULL;
	va_list copy;

	va_copy(copy, ap);
	if (vasprintf(&raw, fmt, copy) < 0) {
		raw = NULL;
		vsnprintf(dst, size, fmt, ap);
	}
	va_end(copy);
	if (raw)
		sanitize(dst, size, raw);
}

int cfs_fail(struct cfs_error *e, enum cfs_stage stage, int err, const char *fmt, ...)
{
	va_list ap;

	if (err > 0)
		err = -err;
	if (e && !cfs_failed(e)) {
		e->err = err;
		e->stage = stage;
		va_start(ap, fmt);
		vformat_clean(e->msg, sizeof(e->msg), fmt, ap);
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
	vformat_clean(e->hint, sizeof(e->hint), fmt, ap);
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

const char *cfs_strerror(int err)
{
	/* libmount's own codes lie past errno's range: strerror() would say
	 * "Unknown error 5008". */
	switch (-err) {
	case MNT_ERR_NOFSTAB: return "not found in fstab (libmount)";
	case MNT_ERR_NOFSTYPE: return "cannot detect the filesystem type (libmount)";
	case MNT_ERR_NOSOURCE: return "mount source not found (libmount)";
	case MNT_ERR_LOOPDEV: return "loop device setup failed (libmount)";
	case MNT_ERR_MOUNTOPT: return "cannot parse mount options (libmount)";
	case MNT_ERR_APPLYFLAGS: return "cannot apply propagation flags (libmount)";
	case MNT_ERR_AMBIFS: return "ambiguous filesystem type (libmount)";
	case MNT_ERR_LOOPOVERLAP: return "overlapping loop device (libmount)";
	case MNT_ERR_LOCK: return "cannot lock utab (libmount's lock file)";
	case MNT_ERR_NAMESPACE: return "cannot switch namespace (libmount)";
	}
	if (-err >= CFS_MNT_ERR_FIRST && -err <= CFS_MNT_ERR_LAST)
		return "libmount error";
	return strerror(-err);
}

void cfs_error_format(const struct cfs_error *e, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s", e->msg);

	/* "Interrupted system call" would only repeat what msg says. */
	if (n >= 0 && (size_t)n < size && e->err && e->err != -EINTR)
		n += snprintf(buf + n, size - (size_t)n, ": %s", cfs_strerror(e->err));
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

/*
 * Error context and mount(8) exit codes.  Deep code returns -errno and fills a
 * struct cfs_error with what it was doing; the helper's main() prints it once
 * and maps it to an exit code in one place (util-linux's mk_exit_code()).
 */
#ifndef CFS_ERRORS_H
#define CFS_ERRORS_H

/* Exit codes of mount(8) and umount(8). */
enum cfs_exit {
	CFS_EX_OK = 0,
	CFS_EX_USAGE = 1,     /* incorrect invocation or permissions */
	CFS_EX_SYSERR = 2,    /* out of memory, cannot fork, no free loop device */
	CFS_EX_SOFTWARE = 4,  /* internal bug */
	CFS_EX_INTERRUPT = 8, /* user interrupt */
	CFS_EX_UTAB = 16,     /* problems writing or locking utab */
	CFS_EX_FAIL = 32,     /* mount or umount failure */
	CFS_EX_SOMEOK = 64,   /* some mounts succeeded */
};

/* What the helper was doing when it failed: the exit code follows from it. */
enum cfs_stage {
	CFS_STAGE_USAGE,  /* parsing argv and options */
	CFS_STAGE_PERM,	  /* privilege checks */
	CFS_STAGE_SETUP,  /* namespaces, temp location, loop devices */
	CFS_STAGE_SYSTEM, /* a system resource ran out (no free loop device) */
	CFS_STAGE_MOUNT,  /* the mount or umount itself */
	CFS_STAGE_UTAB,	  /* /run/mount/utab */
	CFS_STAGE_INTERNAL,
};

#define CFS_ERROR_MAX 1024
/* A path or option value echoed in a message is cut after this many bytes. */
#define CFS_ECHO_MAX 200
/* libmount's own error codes (MNT_ERR_*), returned negated like errnos. */
#define CFS_MNT_ERR_FIRST 5000
#define CFS_MNT_ERR_LAST  5099

struct cfs_error {
	int err; /* negative errno, or 0 when msg says it all */
	enum cfs_stage stage;
	char msg[CFS_ERROR_MAX];  /* what failed, naming the path or option */
	char hint[CFS_ERROR_MAX]; /* the known cause, or empty */
};

/* Records the first failure only: later ones are consequences of it. Returns err
 * (or -EINVAL when err is 0) so callers can write "return cfs_fail(...)". */
int cfs_fail(struct cfs_error *e, enum cfs_stage stage, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void cfs_hint(struct cfs_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cfs_failed(const struct cfs_error *e);
/* The kernel explains an fsconfig() failure in the fs context's log: keep its
 * last error line ("e overlayfs: ...") as the hint, print all with -v. */
void cfs_hint_fs_log(struct cfs_error *e, int fs_fd);

/* strerror() that also knows libmount's MNT_ERR_* codes; err is negative. */
const char *cfs_strerror(int err);
/* "<msg>: <errno text> (<hint>)" into buf.  cfs_fail() and cfs_hint() have
 * already escaped control characters and cut long values (CFS_ECHO_MAX). */
void cfs_error_format(const struct cfs_error *e, char *buf, size_t size);
enum cfs_exit cfs_exit_code(enum cfs_stage stage, int err);

#endif

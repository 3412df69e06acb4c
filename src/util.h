/* Small resource-cleanup helpers, after systemd's fd-util.h and alloc-util.h. */
#ifndef CFS_UTIL_H
#define CFS_UTIL_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void cfs_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void cfs_freep(void *p)
{
	free(*(void **)p);
}

#define _cleanup_close_ _cleanup_(cfs_closep)
#define _cleanup_free_	_cleanup_(cfs_freep)

/* Hand ownership of an fd or pointer on: the cleanup then sees nothing to free. */
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd_ = (fd);                                                                   \
		(fd) = -EBADF;                                                                     \
		_fd_;                                                                              \
	})
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p_ = (p);                                                           \
		(p) = NULL;                                                                        \
		_p_;                                                                               \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* -errno of the last failed call, never 0 (some paths leave errno unset). */
static inline int negerrno(void)
{
	return errno > 0 ? -errno : -EIO;
}

#endif

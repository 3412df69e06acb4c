/* uidmap=/gidmap= values and the user namespace that carries them. */
#ifndef CFS_IDMAP_H
#define CFS_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

/* Linux 4.15+: a uid_map or gid_map holds at most 340 lines. */
#define IDMAP_MAX_RANGES 340

struct idmap_range {
	uint32_t inside;  /* container id */
	uint32_t outside; /* host id */
	uint32_t count;
};

struct idmap {
	struct idmap_range r[IDMAP_MAX_RANGES];
	size_t n;
};

/* "C:H:S", several separated by spaces (containerd) or chained with colons
 * (fuse-overlayfs).  On failure e quotes the offending text; name is "uidmap"
 * or "gidmap". */
int idmap_parse(const char *name, const char *spec, struct idmap *ret, struct cfs_error *e);

/* Length of the /proc/PID/uid_map text of m, and the most the kernel takes in
 * its one write (a page less one byte); idmap_parse() refuses longer maps. */
size_t idmap_text_len(const struct idmap *m);
size_t idmap_text_max(void);

/* The /proc/PID/uid_map text; -ENOSPC if buf is too small. */
int idmap_format(const struct idmap *m, char *buf, size_t size);

/* A user namespace with exactly these maps, as an O_CLOEXEC fd. */
int idmap_userns_fd(const struct idmap *uid, const struct idmap *gid, int *ret_fd,
		    struct cfs_error *e);

/* Opens an existing user namespace (cfs.userns=PATH) and checks it is one. */
int idmap_userns_open(const char *path, int *ret_fd, struct cfs_error *e);

/* mount_setattr(MOUNT_ATTR_IDMAP) answers EINVAL both for a filesystem that
 * cannot be idmapped and for a user namespace without maps: records which one
 * it was for the layer or path "what", and returns the error. */
int idmap_fail_einval(int userns_fd, const char *what, struct cfs_error *e);

#endif

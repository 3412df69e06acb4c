/*
 * The lowerdir list: overlay's escapes (\: \, \\) and the "::" separator before
 * data-only layers are decoded here, once, and encoded again here whenever paths
 * are rewritten (compaction, temp locations).
 */
#ifndef CFS_LAYERS_H
#define CFS_LAYERS_H

#include <stdbool.h>
#include <stddef.h>

/* fs/overlayfs: OVL_MAX_STACK. */
#define OVL_MAX_LAYERS 500
/* containerd keeps this much of a page free for the other options. */
#define PAGE_SLACK 512

struct cfs_layer {
	char *path; /* decoded */
	bool data_only;
};

struct cfs_layers {
	struct cfs_layer *v;
	size_t n;
};

/* -EINVAL: an empty entry or a data-only layer before a normal one;
 * -E2BIG: more than OVL_MAX_LAYERS layers. */
int layers_parse(const char *lowerdir, struct cfs_layers *ret);
void layers_free(struct cfs_layers *l);
/* One path with overlay's escapes (upperdir=, workdir=): -EINVAL unless it is
 * exactly one non-empty path. */
int layers_decode_path(const char *raw, char **ret_path);

/* Encodes the list for a lowerdir= value.  strip bytes are removed from the front
 * of every path (the common directory and its slash, after compaction). */
int layers_join(const struct cfs_layers *l, size_t strip, char **ret);
/* Appends path to buf with overlay's escapes; returns the bytes written. */
size_t layers_escape(const char *path, char *buf);

/* The directory every layer lives under (containerd's compaction rule): the
 * longest common prefix, backed off to its parent so that "snapshots/1" and
 * "snapshots/12" do not share half a name.  -ENOENT when there is none, or
 * when it would be "/" or ".". */
int layers_common_dir(const struct cfs_layers *l, char **ret_dir);

/* The length limit of mount(2)'s data page, minus containerd's slack. */
size_t layers_data_limit(void);

#endif

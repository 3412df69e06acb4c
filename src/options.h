/*
 * fstab-style option strings: split, classify (mount flags, propagation, helper,
 * user space, overlay data) and collect into struct cfs_mount_opts.
 */
#ifndef CFS_OPTIONS_H
#define CFS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

enum cfs_api {
	CFS_API_AUTO,
	CFS_API_NEW,
	CFS_API_LEGACY,
};

enum cfs_opt_class {
	CFS_OPT_FLAG,
	CFS_OPT_PROPAGATION,
	CFS_OPT_HELPER,
	CFS_OPT_USERSPACE,
	CFS_OPT_DATA,
};

#define CFS_DEFAULT_TMPDIR "/run/cfsoverlay"

struct cfs_mount_opts {
	unsigned long flags;	   /* MS_* after set/clear, later options winning */
	unsigned long propagation; /* one MS_SHARED/SLAVE/PRIVATE/UNBINDABLE (| MS_REC), or 0 */

	char *lowerdir; /* raw, overlay-escaped; NULL when not given */
	char *upperdir;
	char *workdir;
	char **data; /* other overlay options, "key" or "key=value", one per key */
	size_t n_data;

	char *utab_opts; /* user-space options worth recording in utab */
	bool user_mount; /* user, users, owner or group was given */
	bool nofail;	 /* a missing layer, upperdir or workdir is not an error */

	char *uidmap; /* helper options, values unquoted */
	char *gidmap;
	char *userns;
	bool loop;
	bool direct_io;
	enum cfs_api api;
	char *tmpdir;
	bool rmdir; /* umount removes copies in other namespaces (default true) */
};

/* Splits on commas that are neither inside double quotes nor escaped with a
 * backslash.  Tokens keep their quotes and escapes; empty tokens are dropped. */
int opts_split(const char *optstr, char ***ret_tokens, size_t *ret_n);
void opts_strv_free(char **v, size_t n);

enum cfs_opt_class opts_classify(const char *token);

/* Parses the joined -o string.  On failure e names the option at fault. */
int opts_parse(const char *optstr, struct cfs_mount_opts *ret, struct cfs_error *e);
void opts_free(struct cfs_mount_opts *o);

/* The overlay data string for mount(2), without lowerdir (the caller adds it). */
int opts_data_string(const struct cfs_mount_opts *o, char **ret);

#endif

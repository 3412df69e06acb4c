#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmount/libmount.h>

#include "log.h"
#include "options.h"
#include "util.h"
#include "utab.h"

/* One update: add fs, or remove target's entry when fs is NULL. */
static int utab_update(const char *target, unsigned long mountflags, struct libmnt_fs *fs)
{
	struct libmnt_update *upd = mnt_new_update();
	struct libmnt_lock *lock = NULL;
	int r;

	if (!upd)
		return -ENOMEM;
	/* With MS_BIND libmount records the bind's root within its filesystem:
	 * mountinfo and utab merge only when source, target and root all match. */
	r = mnt_update_set_fs(upd, mountflags, fs ? NULL : target, fs);
	if (r == 1) { /* nothing to record */
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	lock = mnt_new_lock(mnt_update_get_filename(upd), 0);
	if (!lock) {
		r = -ENOMEM;
		goto out;
	}
	r = mnt_update_table(upd, lock);
out:
	mnt_free_lock(lock);
	mnt_free_update(upd);
	return r;
}

int utab_add(const char *source, const char *target, unsigned long mountflags,
	     const char *user_opts, const char *attrs, struct cfs_error *e)
{
	_cleanup_free_ char *opts = NULL;
	struct libmnt_fs *fs = mnt_new_fs();
	int r = -ENOMEM;

	if (!fs)
		goto out;
	if (asprintf(&opts, CFS_HELPER_OPT "%s%s", user_opts ? "," : "",
		     user_opts ? user_opts : "") < 0) {
		opts = NULL;
		goto out;
	}
	if (mnt_fs_set_source(fs, source) || mnt_fs_set_target(fs, target) ||
	    mnt_fs_set_options(fs, opts) || (attrs && mnt_fs_set_attributes(fs, attrs)))
		goto out;
	r = utab_update(target, mountflags, fs);
out:
	mnt_unref_fs(fs);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_UTAB, r, "cannot record %s in utab", target);
	verbose("utab: %s on %s %s", source, target, opts);
	return 0;
}

int utab_remove(const char *target, struct cfs_error *e)
{
	int r = utab_update(target, 0, NULL);

	if (r < 0)
		return cfs_fail(e, CFS_STAGE_UTAB, r, "cannot remove %s from utab", target);
	verbose("utab: removed %s", target);
	return 0;
}

/* Parsing the mount table makes the kernel print the options of every mount:
 * for a 500-layer overlay that is ~45 KB and several ms.  Only a utab line with
 * ATTRS can hold ours, and most mounts record none: look for one first. */
static bool utab_has_attrs(void)
{
	const char *path = getenv("LIBMOUNT_UTAB");
	_cleanup_free_ char *line = NULL;
	size_t size = 0;
	bool found = false;
	FILE *f = fopen(path ? path : "/run/mount/utab", "re");

	if (!f)
		return false;
	while (!found && getline(&line, &size, f) > 0)
		found = strstr(line, " ATTRS=") != NULL;
	fclose(f);
	return found;
}

int utab_get_attrs(const char *target, char **ret_attrs)
{
	struct libmnt_table *tb;
	struct libmnt_fs *fs;
	const char *attrs;
	int r;

	*ret_attrs = NULL;
	if (!utab_has_attrs())
		return 0;
	tb = mnt_new_table();
	if (!tb)
		return -ENOMEM;
	/* utab parses only as a part of the mount table: libmount merges each of
	 * its lines into the mountinfo entry with the same source, target and root
	 * (and honours LIBMOUNT_UTAB).  Parsed on its own, it reads as an fstab. */
	r = mnt_table_parse_mtab(tb, NULL);
	if (r < 0)
		goto out;
	fs = mnt_table_find_target(tb, target, MNT_ITER_BACKWARD);
	attrs = fs ? mnt_fs_get_attributes(fs) : NULL;
	if (attrs && !(*ret_attrs = strdup(attrs)))
		r = -ENOMEM;
out:
	mnt_unref_table(tb);
	return r;
}

int utab_attrs_format(bool rmdir, const char *tmpdir, char **ret)
{
	_cleanup_free_ char *attrs = NULL, *quoted = NULL;
	const char *value = tmpdir;

	if (!rmdir && mnt_optstr_append_option(&attrs, UTAB_ATTR_RMDIR, "no") < 0)
		return -ENOMEM;
	if (tmpdir && strcmp(tmpdir, CFS_DEFAULT_TMPDIR) != 0) {
		/* libmount's optstr rule: commas inside double quotes are not
		 * separators, and a double quote cannot be escaped.  Such a base
		 * is not recorded: the next mount using it still cleans it. */
		if (strchr(tmpdir, '"')) {
			verbose("cfs.tmpdir=%s holds a double quote: not recorded in utab, "
				"so umount.cfsoverlay will not clean it, ignoring",
				tmpdir);
			*ret = TAKE_PTR(attrs);
			return 0;
		}
		if (strchr(tmpdir, ',')) {
			if (asprintf(&quoted, "\"%s\"", tmpdir) < 0)
				return -ENOMEM;
			value = quoted;
		}
		if (mnt_optstr_append_option(&attrs, UTAB_ATTR_TMPDIR, value) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(attrs);
	return 0;
}

int utab_attrs_parse(const char *attrs, bool *ret_rmdir, char **ret_tmpdir)
{
	char *v = NULL, *tmpdir = NULL;
	size_t len = 0;
	bool rmdir = true;
	int r;

	if (attrs) {
		r = mnt_optstr_get_option(attrs, UTAB_ATTR_RMDIR, &v, &len);
		if (r < 0)
			return r;
		if (r == 0 && len == 2 && !strncmp(v, "no", 2))
			rmdir = false;
		r = mnt_optstr_get_option(attrs, UTAB_ATTR_TMPDIR, &v, &len);
		if (r < 0)
			return r;
		if (r == 0 && len >= 2 && v[0] == '"' && v[len - 1] == '"') {
			v++;
			len -= 2;
		}
		if (r == 0 && len > 0 && !(tmpdir = strndup(v, len)))
			return -ENOMEM;
	}
	*ret_rmdir = rmdir;
	*ret_tmpdir = tmpdir;
	return 0;
}

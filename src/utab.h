/* /run/mount/utab through libmount's update API and lock, kept true: a line
 * that no mount in mountinfo matches any more is dropped when its target is
 * mounted or unmounted again. */
#ifndef CFS_UTAB_H
#define CFS_UTAB_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

#define CFS_HELPER_OPT "helper=cfsoverlay"

/* Records SOURCE on TARGET with helper=cfsoverlay and the user-space options
 * (umount(8) run by root routes on helper=), and our own attributes.  mountflags:
 * MS_BIND for a bind, so that libmount records its root.  The lines of TARGET
 * that no other mount matches are dropped first, under the same lock. */
int utab_add(const char *source, const char *target, unsigned long mountflags,
	     const char *user_opts, const char *attrs, struct cfs_error *e);
/* 1 when utab holds a helper=cfsoverlay line for TARGET, whatever mount it
 * belongs to, 0 when none, < 0 when utab cannot be read. */
int utab_has_line_of_ours(const char *target);
/* The ATTRS of the line of the mount on TARGET (NULL when it has none) and the
 * line itself (NULL when there is none), for utab_remove after the unmount. */
int utab_get_attrs(const char *target, char **ret_attrs, char **ret_line);
/* After TARGET's mount (whose line utab_get_attrs returned, or NULL) is gone:
 * drops its line and every other line of TARGET that no mount matches.
 * only_line (-n): drops the mount's own line alone, and only a helper=cfsoverlay
 * one (see umount.cfsoverlay(8), -n). */
int utab_remove(const char *target, const char *line, bool only_line, struct cfs_error *e);

/* Our ATTRS, written at mount time and read back by umount.cfsoverlay. */
#define UTAB_ATTR_RMDIR	 "cfs.rmdir"  /* "no": keep the mountpoint, copies stay */
#define UTAB_ATTR_TMPDIR "cfs.tmpdir" /* a temp base other than the default */

/* "cfs.rmdir=no" unless rmdir, "cfs.tmpdir=DIR" when tmpdir is not the default
 * base (quoted when it holds a comma; left out when it holds a double quote,
 * which libmount cannot escape).  *ret is NULL when there is nothing to
 * record.  Fails with -ENOMEM only. */
int utab_attrs_format(bool rmdir, const char *tmpdir, char **ret);
/* The reverse: attrs may be NULL (no utab entry).  *ret_tmpdir is NULL when
 * the default base was used. */
int utab_attrs_parse(const char *attrs, bool *ret_rmdir, char **ret_tmpdir);

/* One utab line, its fields unescaped; NULL for a field it lacks. */
struct utab_line {
	int id; /* the mount ID, 0 when the line records none */
	char *src, *target, *root, *bindsrc, *attrs, *opts;
};

/* Parses "ID=.. SRC=.. TARGET=.. ROOT=.. BINDSRC=.. ATTRS=.. OPTS=.." (keys in
 * any order, unknown ones skipped, values escaped as \ooo); a line without
 * TARGET= (a comment, a blank) gives target NULL.  -ENOMEM only. */
int utab_line_parse(const char *text, struct utab_line *ret);
/* The reverse, in the order libmount writes (without a newline). */
int utab_line_format(const struct utab_line *l, char **ret);
void utab_line_free(struct utab_line *l);

/* A mount as mountinfo shows it. */
struct utab_mount {
	int id;
	const char *src, *target, *root;
};

/* Pairs lines with mounts, one line per mount, as libmount merges them: a line
 * matches a mount with the same target, source and root (and ID, where the line
 * records one); newer lines (later in the file) are paired first, each with the
 * newest free mount it matches.  The mount whose ID is claimed_id counts as
 * paired already (the new mount, whose line is yet to be written); a line with
 * skip[i] set pairs with nothing (the line of a mount just unmounted; skip may
 * be NULL).  ret_owner[i]: the index of line i's mount, or -1 (stale). */
void utab_match(const struct utab_line *lines, size_t n_lines, const bool *skip,
		const struct utab_mount *mounts, size_t n_mounts, int claimed_id, int *ret_owner);

#endif

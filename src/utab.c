#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmount/libmount.h>

#include "interrupt.h"
#include "log.h"
#include "options.h"
#include "pathfd.h"
#include "util.h"
#include "utab.h"

#define UTAB_DEFAULT "/run/mount/utab"
#define MOUNTINFO    "/proc/self/mountinfo"
/* libmount writes these as \ooo in utab values. */
#define UTAB_ESCAPED " \t\n\\"

static void mnt_unref_fsp(struct libmnt_fs **p)
{
	mnt_unref_fs(*p);
}

static void mnt_free_updatep(struct libmnt_update **p)
{
	mnt_free_update(*p);
}

static void fclosep(FILE **p)
{
	if (*p)
		fclose(*p);
}

#define _cleanup_fs_	 _cleanup_(mnt_unref_fsp)
#define _cleanup_update_ _cleanup_(mnt_free_updatep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* --- one line ------------------------------------------------------------ */

static bool is_octal(char c, char max)
{
	return c >= '0' && c <= max;
}

static int unescape(const char *s, size_t len, char **ret)
{
	char *out = malloc(len + 1), *o = out;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 3 < len && is_octal(s[i + 1], '3') &&
		    is_octal(s[i + 2], '7') && is_octal(s[i + 3], '7')) {
			*o++ = (char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 |
				      (s[i + 3] - '0'));
			i += 3;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	*ret = out;
	return 0;
}

static const struct {
	const char *key;
	size_t offset;
} utab_fields[] = {
	{ "SRC=", offsetof(struct utab_line, src) },
	{ "TARGET=", offsetof(struct utab_line, target) },
	{ "ROOT=", offsetof(struct utab_line, root) },
	{ "BINDSRC=", offsetof(struct utab_line, bindsrc) },
	{ "ATTRS=", offsetof(struct utab_line, attrs) },
	{ "OPTS=", offsetof(struct utab_line, opts) },
};

static char **field(struct utab_line *l, size_t i)
{
	return (char **)((char *)l + utab_fields[i].offset);
}

void utab_line_free(struct utab_line *l)
{
	for (size_t i = 0; i < ARRAY_SIZE(utab_fields); i++) {
		free(*field(l, i));
		*field(l, i) = NULL;
	}
	l->id = 0;
}

int utab_line_parse(const char *text, struct utab_line *ret)
{
	struct utab_line l = { 0 };
	const char *p = text + strspn(text, " \t");

	if (*p == '#')
		p += strlen(p);
	while (*p) {
		size_t len = strcspn(p, " \t\n");
		bool known = false;

		for (size_t i = 0; !known && i < ARRAY_SIZE(utab_fields); i++) {
			size_t klen = strlen(utab_fields[i].key);
			char **f = field(&l, i);

			if (len < klen || strncmp(p, utab_fields[i].key, klen))
				continue;
			known = true;
			free(*f);
			*f = NULL;
			if (unescape(p + klen, len - klen, f) < 0) {
				utab_line_free(&l);
				return -ENOMEM;
			}
		}
		if (!known && len > 3 && !strncmp(p, "ID=", 3))
			l.id = atoi(p + 3);
		p += len;
		p += strspn(p, " \t\n");
	}
	*ret = l;
	return 0;
}

static void escape_to(FILE *f, const char *s)
{
	for (; *s; s++)
		if (strchr(UTAB_ESCAPED, *s))
			fprintf(f, "\\%03o", (unsigned char)*s);
		else
			fputc(*s, f);
}

int utab_line_format(const struct utab_line *l, char **ret)
{
	char *text = NULL;
	size_t size = 0;
	bool first = true;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		return -ENOMEM;
	if (l->id > 0) {
		fprintf(f, "ID=%d", l->id);
		first = false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(utab_fields); i++) {
		const char *v = *field((struct utab_line *)l, i);

		if (!v)
			continue;
		fprintf(f, "%s%s", first ? "" : " ", utab_fields[i].key);
		escape_to(f, v);
		first = false;
	}
	if (fclose(f) != 0 || !text) {
		free(text);
		return -ENOMEM;
	}
	*ret = text;
	return 0;
}

/* --- lines and mounts ---------------------------------------------------- */

/* A field the line lacks matches anything: a line is only dropped on proof. */
static bool field_matches(const char *line_value, const char *mount_value)
{
	return !line_value || (mount_value && !strcmp(line_value, mount_value));
}

static bool line_matches(const struct utab_line *l, const struct utab_mount *m)
{
	return l->target && m->target && !strcmp(l->target, m->target) &&
	       (l->id <= 0 || l->id == m->id) && field_matches(l->src, m->src) &&
	       field_matches(l->root, m->root);
}

static bool mount_taken(const int *owner, size_t n_lines, size_t j, int claimed_id,
			const struct utab_mount *m)
{
	if (claimed_id > 0 && m->id == claimed_id)
		return true;
	for (size_t k = 0; k < n_lines; k++)
		if (owner[k] == (int)j)
			return true;
	return false;
}

void utab_match(const struct utab_line *lines, size_t n_lines, const bool *last,
		const struct utab_mount *mounts, size_t n_mounts, int claimed_id, int *ret_owner)
{
	for (size_t i = 0; i < n_lines; i++)
		ret_owner[i] = -1;
	/* Lines that record an ID first: they name their mount, where a line
	 * without one may as well be the leftover of an earlier mount. */
	for (int pass = 0; pass < 3; pass++)
		for (size_t i = n_lines; i-- > 0;) {
			int want = last && last[i] ? 2 : lines[i].id > 0 ? 0 : 1;

			if (want != pass)
				continue;
			for (size_t j = n_mounts; j-- > 0 && ret_owner[i] < 0;)
				if (line_matches(&lines[i], &mounts[j]) &&
				    !mount_taken(ret_owner, n_lines, j, claimed_id, &mounts[j]))
					ret_owner[i] = (int)j;
		}
}

/* The file as read: each line's text (for an exact copy) and its fields. */
struct utab_file {
	char **text;
	struct utab_line *v;
	size_t n;
};

static void utab_file_free(struct utab_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->text[i]);
		utab_line_free(&f->v[i]);
	}
	free(f->text);
	free(f->v);
	*f = (struct utab_file){ 0 };
}

static int utab_file_push(struct utab_file *u, size_t *cap, const char *text)
{
	if (u->n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 16;
		char **t = realloc(u->text, ncap * sizeof(*t));
		struct utab_line *v;

		if (!t)
			return -ENOMEM;
		u->text = t;
		v = realloc(u->v, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		u->v = v;
		*cap = ncap;
	}
	if (utab_line_parse(text, &u->v[u->n]) < 0)
		return -ENOMEM;
	u->text[u->n] = strdup(text);
	if (!u->text[u->n]) {
		utab_line_free(&u->v[u->n]);
		return -ENOMEM;
	}
	u->n++;
	return 0;
}

/* A missing file reads as empty. */
static int utab_file_read(const char *path, struct utab_file *ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_free_ char *buf = NULL;
	struct utab_file u = { 0 };
	size_t size = 0, cap = 0;
	ssize_t len;
	int r = 0;

	if (!f) {
		*ret = u;
		return errno == ENOENT ? 0 : negerrno();
	}
	while (r == 0 && (len = getline(&buf, &size, f)) > 0) {
		if (buf[len - 1] == '\n')
			buf[len - 1] = '\0';
		r = utab_file_push(&u, &cap, buf);
	}
	if (r == 0 && ferror(f))
		r = -EIO;
	if (r < 0) {
		utab_file_free(&u);
		return r;
	}
	*ret = u;
	return 0;
}

static bool on_target(const struct utab_line *l, const char *target)
{
	return l->target && !strcmp(l->target, target);
}

/* The mounts on target in mountinfo, oldest first (the table owns the strings). */
struct utab_mounts {
	struct libmnt_table *tb;
	struct utab_mount *v;
	size_t n;
};

static void utab_mounts_free(struct utab_mounts *m)
{
	mnt_unref_table(m->tb);
	free(m->v);
	*m = (struct utab_mounts){ 0 };
}

static void mnt_free_iterp(struct libmnt_iter **p)
{
	mnt_free_iter(*p);
}

/* Parsing mountinfo makes the kernel print every mount's options: ~45 KB for
 * a 500-layer overlay.  Callers come here only when utab names the target. */
static int utab_mounts_load(const char *target, struct utab_mounts *ret)
{
	_cleanup_(utab_mounts_free) struct utab_mounts m = { .tb = mnt_new_table() };
	_cleanup_(mnt_free_iterp) struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
	struct libmnt_fs *fs;
	int r;

	if (!m.tb || !it)
		return -ENOMEM;
	r = mnt_table_parse_file(m.tb, MOUNTINFO);
	if (r < 0)
		return r;
	m.v = calloc((size_t)mnt_table_get_nents(m.tb) + 1, sizeof(*m.v));
	if (!m.v)
		return -ENOMEM;
	while (mnt_table_next_fs(m.tb, it, &fs) == 0) {
		const char *t = mnt_fs_get_target(fs);

		if (!t || strcmp(t, target))
			continue;
		m.v[m.n++] = (struct utab_mount){
			.id = mnt_fs_get_id(fs),
			.src = mnt_fs_get_source(fs),
			.target = t,
			.root = mnt_fs_get_root(fs),
		};
	}
	*ret = m;
	m = (struct utab_mounts){ 0 };
	return 0;
}

/* The ID of the mount on top of target, as mountinfo shows it; 0 if unknown.
 * Resolved without symlinks: a user who can rename near target must not make
 * it name another mount's line. */
static int top_mount_id(const char *target)
{
	_cleanup_close_ int fd = -EBADF;
	struct statx stx;

	if (pathfd_open(target, 0, &fd) < 0 ||
	    statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	return (int)stx.stx_mnt_id;
}

static bool is_ours(const struct utab_line *l)
{
	char *v = NULL;
	size_t len = 0;

	return l->opts && mnt_optstr_get_option(l->opts, "helper", &v, &len) == 0 &&
	       len == strlen("cfsoverlay") && !strncmp(v, "cfsoverlay", len);
}

/* --- the update ---------------------------------------------------------- */

static const char *utab_path(void)
{
	const char *path = getenv("LIBMOUNT_UTAB");

	return path && *path ? path : UTAB_DEFAULT;
}

struct utab_lock {
	int fd;
	sigset_t saved;
};

static void utab_unlock(struct utab_lock *l)
{
	if (l->fd < 0)
		return;
	close(l->fd);
	l->fd = -EBADF;
	sigprocmask(SIG_SETMASK, &l->saved, NULL);
}

/* libmount's utab lock is a flock of "UTAB.lock" (its "simplelock"), taken by
 * every writer: mount(8), umount(8), other helpers.  Another process may hold
 * it for good, so the wait ends on SIGINT/SIGTERM (-EINTR: the mount is undone,
 * exit 8); once it is held, signals wait, as in libmount, so that ^C leaves no
 * temp file next to utab. */
static int utab_lock(const char *path, struct utab_lock *ret)
{
	_cleanup_free_ char *lockpath = NULL;
	_cleanup_close_ int fd = -EBADF;
	sigset_t all;
	int r = 0;

	if (asprintf(&lockpath, "%s.lock", path) < 0) {
		lockpath = NULL;
		return -ENOMEM;
	}
	fd = open(lockpath, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return negerrno();
	(void)interrupt_restart(false);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR || interrupt_check(NULL) < 0) {
			r = errno == EINTR ? -EINTR : negerrno();
			break;
		}
	}
	(void)interrupt_restart(true);
	if (r < 0)
		return r;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &ret->saved);
	ret->fd = TAKE_FD(fd);
	return 0;
}

/* Replaces utab as libmount does, by a rename: readers never see half a file. */
static int utab_write(const char *path, const struct utab_file *u, const bool *drop,
		      const char *add)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	int fd, r = 0;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return negerrno();
	f = fdopen(fd, "w");
	if (!f) {
		r = negerrno();
		close(fd);
	} else if (fchmod(fd, 0644) < 0) {
		r = negerrno();
	}
	for (size_t i = 0; r == 0 && i < u->n; i++)
		if (!drop[i] && fprintf(f, "%s\n", u->text[i]) < 0)
			r = negerrno();
	if (r == 0 && add && fprintf(f, "%s\n", add) < 0)
		r = negerrno();
	if (r == 0 && fflush(f) != 0)
		r = negerrno();
	if (r == 0 && rename(tmp, path) < 0)
		r = negerrno();
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

/* What one update does to the lines of target. */
struct utab_change {
	const char *target;
	int claimed_id;	  /* add: the new mount, whose line is add */
	const char *add;  /* the line to append */
	const char *gone; /* remove: the line of the mount just unmounted */
	bool only_gone;	  /* -n: drop that line alone, and only if it is ours */
};

static void closedirp(DIR **p)
{
	if (*p)
		closedir(*p);
}

/* A writer killed between its temp file and the rename leaves UTAB.XXXXXX
 * behind (libmount's name, and ours).  Every writer holds the lock while its
 * temp file exists, so under the lock any such file is a leftover. */
static void utab_remove_leftovers(const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	_cleanup_free_ char *dir = slash == path ? strdup("/")
				   : slash	 ? strndup(path, (size_t)(slash - path))
						 : strdup(".");
	_cleanup_(closedirp) DIR *d = dir ? opendir(dir) : NULL;
	size_t blen = strlen(base);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		struct stat st;

		if (strncmp(de->d_name, base, blen) || de->d_name[blen] != '.' ||
		    strlen(de->d_name + blen + 1) != strlen("XXXXXX"))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			verbose("utab: removed %s/%s, left by a writer killed before its rename",
				dir, de->d_name);
	}
}

static int utab_rewrite_locked(const char *path, const struct utab_change *c)
{
	_cleanup_(utab_file_free) struct utab_file u = { 0 };
	_cleanup_(utab_mounts_free) struct utab_mounts m = { 0 };
	_cleanup_free_ bool *drop = NULL, *last = NULL;
	_cleanup_free_ int *owner = NULL;
	size_t gone = SIZE_MAX, n_target = 0, n_drop = 0;
	int r;

	r = utab_file_read(path, &u);
	if (r < 0)
		return r;
	drop = calloc(u.n + 1, sizeof(*drop));
	last = calloc(u.n + 1, sizeof(*last));
	owner = calloc(u.n + 1, sizeof(*owner));
	if (!drop || !last || !owner)
		return -ENOMEM;
	for (size_t i = 0; i < u.n; i++) {
		if (!on_target(&u.v[i], c->target))
			continue;
		n_target++;
		if (c->gone && !strcmp(u.text[i], c->gone))
			gone = i;
	}
	if (c->only_gone && (gone == SIZE_MAX || !is_ours(&u.v[gone])))
		return 0;
	for (size_t i = 0; i < u.n; i++)
		owner[i] = -1;
	/* A line with an ID is the line of the mount just unmounted, whose ID
	 * the unmount freed: mountinfo, long on a busy node, is read only for
	 * the other lines of target, or for a line without an ID. */
	if (gone != SIZE_MAX && u.v[gone].id > 0 ? !c->only_gone && n_target > 1 : n_target > 0) {
		r = utab_mounts_load(c->target, &m);
		if (r < 0)
			return r;
		/* The unmounted mount's line keeps a mount only if one with the
		 * same source and root is left for it after all the others. */
		if (gone != SIZE_MAX)
			last[gone] = true;
		utab_match(u.v, u.n, last, m.v, m.n, c->claimed_id, owner);
	}
	for (size_t i = 0; n_target > 0 && i < u.n; i++) {
		if (!on_target(&u.v[i], c->target) || owner[i] >= 0 || (c->only_gone && i != gone))
			continue;
		drop[i] = true;
		n_drop++;
		if (i == gone)
			verbose("utab: removed the line of %s%s", c->target,
				c->only_gone ? " despite -n: its mount is gone" : "");
		else
			verbose("utab: dropped a stale line of %s (no mount matches it): %s",
				c->target, u.text[i]);
	}
	if (n_drop == 0 && !c->add)
		return 0;
	utab_remove_leftovers(path);
	return utab_write(path, &u, drop, c->add);
}

/* Rewrites utab under its lock; the error says which step failed: the lock
 * (its own message names the lock file) or the rewrite. */
static int utab_rewrite(const char *path, const struct utab_change *c, const char *what,
			struct cfs_error *e)
{
	_cleanup_(utab_unlock) struct utab_lock lock = { .fd = -EBADF };
	int r = utab_lock(path, &lock);

	if (r == -EINTR)
		return interrupt_check(e);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_UTAB, r, "cannot lock utab (%s.lock) to %s", path,
				what);
	r = utab_rewrite_locked(path, c);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_UTAB, r, "cannot %s", what);
	return 0;
}

/* Our line as libmount makes it: mnt_update_set_fs() keeps the user-space
 * options and, for a bind, finds the source's device and root.  We add the
 * mount ID (libmount 2.38 reads it and ignores it; later ones match on it),
 * so that a leftover line with the same source and root is told apart.
 * 1: nothing to record. */
static int utab_make_line(struct libmnt_update *upd, const char *source, const char *target,
			  unsigned long mountflags, const char *user_opts, const char *attrs,
			  int id, char **ret)
{
	_cleanup_fs_ struct libmnt_fs *fs = mnt_new_fs();
	_cleanup_free_ char *opts = NULL;
	struct libmnt_fs *ufs;
	struct utab_line l;
	int r;

	if (!fs)
		return -ENOMEM;
	if (asprintf(&opts, CFS_HELPER_OPT "%s%s", user_opts ? "," : "",
		     user_opts ? user_opts : "") < 0) {
		opts = NULL;
		return -ENOMEM;
	}
	if (mnt_fs_set_source(fs, source) || mnt_fs_set_target(fs, target) ||
	    mnt_fs_set_options(fs, opts) || (attrs && mnt_fs_set_attributes(fs, attrs)))
		return -ENOMEM;
	/* With MS_BIND libmount records the bind's root within its filesystem:
	 * mountinfo and utab merge only when source, target and root all match. */
	r = mnt_update_set_fs(upd, mountflags, NULL, fs);
	if (r != 0)
		return r;
	ufs = mnt_update_get_fs(upd);
	if (!ufs)
		return 1;
	l = (struct utab_line){
		.id = id,
		.src = (char *)mnt_fs_get_source(ufs),
		.target = (char *)mnt_fs_get_target(ufs),
		.root = (char *)mnt_fs_get_root(ufs),
		.bindsrc = (char *)mnt_fs_get_bindsrc(ufs),
		.attrs = (char *)mnt_fs_get_attributes(ufs),
		.opts = (char *)mnt_fs_get_user_options(ufs),
	};
	return utab_line_format(&l, ret);
}

int utab_add(const char *source, const char *target, unsigned long mountflags,
	     const char *user_opts, const char *attrs, struct cfs_error *e)
{
	_cleanup_update_ struct libmnt_update *upd = mnt_new_update();
	_cleanup_free_ char *line = NULL, *what = NULL;
	struct utab_change c = { .target = target, .claimed_id = top_mount_id(target) };
	int r = -ENOMEM;

	if (upd)
		r = utab_make_line(upd, source, target, mountflags, user_opts, attrs, c.claimed_id,
				   &line);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_UTAB, r, "cannot record %s in utab", target);
	c.add = line;
	if (asprintf(&what, "record %s in utab", target) < 0)
		return cfs_fail(e, CFS_STAGE_UTAB, -ENOMEM, "cannot record %s in utab", target);
	r = utab_rewrite(mnt_update_get_filename(upd), &c, what, e);
	if (r < 0)
		return r;
	verbose("utab: %s", line);
	return 0;
}

int utab_remove(const char *target, const char *line, bool only_line, struct cfs_error *e)
{
	struct utab_change c = { .target = target, .gone = line, .only_gone = only_line };
	_cleanup_free_ char *what = NULL;

	if (only_line && !line)
		return 0;
	if (asprintf(&what, "remove %s from utab", target) < 0)
		return cfs_fail(e, CFS_STAGE_UTAB, -ENOMEM, "cannot remove %s from utab", target);
	return utab_rewrite(utab_path(), &c, what, e);
}

int utab_has_line_of_ours(const char *target)
{
	_cleanup_(utab_file_free) struct utab_file u = { 0 };
	int r = utab_file_read(utab_path(), &u);

	if (r < 0)
		return r;
	for (size_t i = 0; i < u.n; i++)
		if (on_target(&u.v[i], target) && is_ours(&u.v[i]))
			return 1;
	return 0;
}

int utab_get_attrs(const char *target, char **ret_attrs, char **ret_line)
{
	_cleanup_(utab_file_free) struct utab_file u = { 0 };
	_cleanup_(utab_mounts_free) struct utab_mounts m = { 0 };
	_cleanup_free_ int *owner = NULL;
	_cleanup_free_ char *attrs = NULL, *line = NULL;
	size_t pick = SIZE_MAX, top;
	bool any_attrs = false;
	int r, id = top_mount_id(target);

	r = utab_file_read(utab_path(), &u);
	if (r < 0)
		return r;
	for (size_t i = 0; i < u.n; i++)
		if (on_target(&u.v[i], target)) {
			any_attrs |= u.v[i].attrs != NULL;
			if (id > 0 && u.v[i].id == id)
				pick = i;
		}
	/* A line with the mount's ID is its line (ours record one), found
	 * without parsing mountinfo, which costs the most with the mount still
	 * there.  Otherwise, when a line of target has ATTRS, the mount's line
	 * is the one paired with it: a stale line with other attributes must
	 * not decide what the umount does.  A line that is neither is left to
	 * utab_remove's look at what is still mounted. */
	if (pick == SIZE_MAX && any_attrs) {
		r = utab_mounts_load(target, &m);
		if (r < 0)
			return r;
		owner = calloc(u.n + 1, sizeof(*owner));
		if (!owner)
			return -ENOMEM;
		utab_match(u.v, u.n, NULL, m.v, m.n, 0, owner);
		for (top = m.n; top-- > 0;)
			if (id <= 0 || m.v[top].id == id)
				break;
		for (size_t i = 0; top != SIZE_MAX && i < u.n; i++)
			if (owner[i] == (int)top)
				pick = i;
	}
	if (pick != SIZE_MAX) {
		if (u.v[pick].attrs && !(attrs = strdup(u.v[pick].attrs)))
			return -ENOMEM;
		if (!(line = strdup(u.text[pick])))
			return -ENOMEM;
	}
	*ret_attrs = TAKE_PTR(attrs);
	*ret_line = TAKE_PTR(line);
	return 0;
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

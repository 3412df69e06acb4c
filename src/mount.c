#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "bind.h"
#include "idmap.h"
#include "interrupt.h"
#include "layers.h"
#include "log.h"
#include "mount.h"
#include "mountpoint.h"
#include "mountns.h"
#include "options.h"
#include "overlay.h"
#include "pathfd.h"
#include "privs.h"
#include "tmpdir.h"
#include "util.h"
#include "utab.h"

#define CFS_TYPE	  "cfsoverlay"
#define UTAB_DEFAULT_PATH "/run/mount/utab"
/* fsconfig(FSCONFIG_SET_STRING) copies at most 256 bytes with the NUL. */
#define FSCONFIG_STRING_MAX 255

struct mount_plan {
	struct cfs_mount_opts opts;
	struct cfs_layers layers;
	char *upperdir, *workdir;    /* decoded */
	struct idmap uidmap, gidmap; /* large: kept off the stack */
	bool idmapped;
};

static void plan_free(struct mount_plan *p)
{
	opts_free(&p->opts);
	layers_free(&p->layers);
	free(p->upperdir);
	free(p->workdir);
	free(p);
}

static int check_type(const char *type, struct cfs_error *e)
{
	size_t n = strlen(CFS_TYPE);

	if (!type || (!strncmp(type, CFS_TYPE, n) && (type[n] == '\0' || type[n] == '.')))
		return 0;
	return cfs_fail(e, CFS_STAGE_USAGE, 0, "unsupported type %s: this helper mounts " CFS_TYPE,
			type);
}

/* Everything that can be checked without touching the system. */
static int plan_options(const struct cfs_mount_args *a, struct mount_plan *p, struct cfs_error *e)
{
	struct cfs_mount_opts *o = &p->opts;
	size_t normal = 0;
	int r;

	r = check_type(a->type, e);
	if (r < 0)
		return r;
	r = opts_parse(a->options, o, e);
	if (r < 0)
		return r;
	if (o->user_mount)
		return cfs_fail(
			e, CFS_STAGE_PERM, 0,
			"options user, users, owner and group are refused: unprivileged mounts are not supported");
	if (!!o->uidmap != !!o->gidmap)
		return cfs_fail(e, CFS_STAGE_USAGE, 0, "%s given without %s: both are needed",
				o->uidmap ? "uidmap" : "gidmap", o->uidmap ? "gidmap" : "uidmap");
	if (o->userns && o->uidmap)
		return cfs_fail(e, CFS_STAGE_USAGE, 0,
				"cfs.userns cannot be combined with uidmap/gidmap");
	if (o->uidmap) {
		r = idmap_parse("uidmap", o->uidmap, &p->uidmap, e);
		if (r < 0)
			return r;
		r = idmap_parse("gidmap", o->gidmap, &p->gidmap, e);
		if (r < 0)
			return r;
	}
	p->idmapped = o->uidmap || o->userns;
	if (!o->tmpdir && !(o->tmpdir = strdup(CFS_DEFAULT_TMPDIR)))
		return cfs_fail(e, CFS_STAGE_INTERNAL, -ENOMEM, "cannot parse options");

	if (o->flags & (MS_REMOUNT | MS_BIND))
		return 0;
	/* fsconfig(2) takes string values of at most 255 bytes; mount(2) more,
	 * but one limit for both strategies keeps a mount from depending on it. */
	if (strlen(a->source) > FSCONFIG_STRING_MAX)
		return cfs_fail(
			e, CFS_STAGE_USAGE, 0,
			"SOURCE %s is %zu bytes long: at most %d are allowed (the new mount "
			"API's limit)",
			a->source, strlen(a->source), FSCONFIG_STRING_MAX);
	if (!o->lowerdir)
		return cfs_fail(e, CFS_STAGE_USAGE, 0, "lowerdir= is required");
	if (!o->lowerdir[0])
		return cfs_fail(e, CFS_STAGE_USAGE, 0, "lowerdir= is empty");
	if (!!o->upperdir != !!o->workdir)
		return cfs_fail(e, CFS_STAGE_USAGE, 0, "%s given without %s: both are needed",
				o->upperdir ? "upperdir" : "workdir",
				o->upperdir ? "workdir" : "upperdir");
	if (o->upperdir) {
		r = layers_decode_path(o->upperdir, &p->upperdir);
		if (r == 0)
			r = layers_decode_path(o->workdir, &p->workdir);
		if (r == -ENOMEM)
			return cfs_fail(e, CFS_STAGE_INTERNAL, r, "cannot parse options");
		if (r < 0)
			return cfs_fail(e, CFS_STAGE_USAGE, 0,
					"bad %s=%s: one directory is expected",
					p->upperdir ? "workdir" : "upperdir",
					p->upperdir ? o->workdir : o->upperdir);
	}
	r = layers_parse(o->lowerdir, &p->layers);
	if (r == -E2BIG)
		return cfs_fail(e, CFS_STAGE_USAGE, 0,
				"lowerdir has more than %d layers, the kernel's limit",
				OVL_MAX_LAYERS);
	if (r == -EINVAL)
		return cfs_fail(
			e, CFS_STAGE_USAGE, 0,
			"bad lowerdir: an empty layer path, or a regular layer after data-only (::) layers");
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_INTERNAL, r, "cannot parse lowerdir");
	for (size_t i = 0; i < p->layers.n; i++)
		normal += !p->layers.v[i].data_only;
	if (!o->upperdir && normal < 2)
		return cfs_fail(
			e, CFS_STAGE_USAGE, 0,
			"a read-only overlay (no upperdir) needs at least two lower layers");
	return 0;
}

/* fstab(5)'s nofail: mount(8) skips an overlay line whose layer, upperdir or
 * workdir does not exist (mount(2) fails with ENOENT) and exits 0.  Checked
 * before any work so that such a line changes nothing.  Returns true to skip. */
static bool nofail_missing(const struct mount_plan *p)
{
	const char *key = NULL, *path = NULL;
	struct stat st;

	if (!p->opts.nofail || (p->opts.flags & (MS_REMOUNT | MS_BIND)))
		return false;
	for (size_t i = 0; i < p->layers.n && !key; i++)
		if (stat(p->layers.v[i].path, &st) < 0 && errno == ENOENT)
			key = "layer", path = p->layers.v[i].path;
	if (!key && p->upperdir && stat(p->upperdir, &st) < 0 && errno == ENOENT)
		key = "upperdir", path = p->upperdir;
	if (!key && p->workdir && stat(p->workdir, &st) < 0 && errno == ENOENT)
		key = "workdir", path = p->workdir;
	if (!key)
		return false;
	verbose("%s %s does not exist: nothing mounted (nofail)", key, path);
	return true;
}

/* utab needs the canonical path: umount(8) matches its entries against
 * mountinfo, and mount(8) canonicalizes, but a runtime may pass "m" or "./m".
 * The name is resolved as realpath(3) would, once, into an fd the mount then
 * goes on; a symlink on the way counts only where root alone could have made
 * it, so a user owning a directory above the target cannot redirect it. */
static int resolve_target(const char *target, char **ret, int *ret_fd, struct cfs_error *e)
{
	_cleanup_free_ char *path = NULL, *untrusted = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	r = pathfd_resolve(target, &path, &fd, &untrusted);
	if (r == -EPERM && untrusted)
		return cfs_fail(e, CFS_STAGE_MOUNT, 0,
				"mount point %s: %s is a symlink in a directory that users other "
				"than root can write: refusing to follow it",
				target, untrusted);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, r, "mount point %s", target);
	if (fstat(fd, &st) < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "mount point %s", target);
	if (!S_ISDIR(st.st_mode))
		return cfs_fail(e, CFS_STAGE_MOUNT, -ENOTDIR, "mount point %s", target);
	*ret = TAKE_PTR(path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int stat_dir(const char *key, const char *path, struct statx *stx, struct cfs_error *e)
{
	if (statx(AT_FDCWD, path, 0, STATX_TYPE | STATX_INO | STATX_MNT_ID, stx) < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "%s %s", key, path);
	if (!S_ISDIR(stx->stx_mode))
		return cfs_fail(e, CFS_STAGE_MOUNT, -ENOTDIR, "%s %s", key, path);
	return 0;
}

/* Overlay refuses these with a bare EINVAL and its reason only in dmesg: say
 * it here, before anything is made. */
static int check_upper_work(const struct mount_plan *p, unsigned long flags, struct cfs_error *e)
{
	struct statx su, sw;
	struct statvfs vfs;
	int r;

	if (!p->upperdir)
		return 0;
	r = stat_dir("upperdir", p->upperdir, &su, e);
	if (r < 0)
		return r;
	r = stat_dir("workdir", p->workdir, &sw, e);
	if (r < 0)
		return r;
	if (su.stx_dev_major == sw.stx_dev_major && su.stx_dev_minor == sw.stx_dev_minor &&
	    su.stx_ino == sw.stx_ino)
		return cfs_fail(e, CFS_STAGE_MOUNT, 0,
				"upperdir and workdir are the same directory %s", p->upperdir);
	/* Overlay renames between the two, so they must share one mount. */
	if ((su.stx_mask & sw.stx_mask & STATX_MNT_ID) && su.stx_mnt_id != sw.stx_mnt_id)
		return cfs_fail(e, CFS_STAGE_MOUNT, 0,
				"workdir %s is not on the same mount as upperdir %s", p->workdir,
				p->upperdir);
	if (!(flags & MS_RDONLY) && statvfs(p->upperdir, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return cfs_fail(e, CFS_STAGE_MOUNT, -EROFS, "upperdir %s", p->upperdir);
	return 0;
}

/* direct-io means something only for image layers, and those are known only
 * once the paths are looked at. */
static int check_direct_io(const struct mount_plan *p, struct cfs_error *e)
{
	struct stat st;

	if (!p->opts.direct_io)
		return 0;
	for (size_t i = 0; i < p->layers.n; i++)
		if (stat(p->layers.v[i].path, &st) == 0 && S_ISREG(st.st_mode))
			return 0;
	return cfs_fail(e, CFS_STAGE_USAGE, 0, "direct-io: no lower layer is an image file");
}

static void print_plan(const struct cfs_mount_args *a, const struct mount_plan *p)
{
	const struct cfs_mount_opts *o = &p->opts;

	verbose("plan: %s %s on %s, flags %#lx, propagation %#lx",
		o->flags & MS_REMOUNT ? "remount"
		: o->flags & MS_BIND  ? "bind"
				      : "overlay",
		a->source, a->target, o->flags, o->propagation);
	for (size_t i = 0; i < p->layers.n; i++)
		verbose("plan: layer %zu %s%s", i, p->layers.v[i].path,
			p->layers.v[i].data_only ? " (data-only)" : "");
	if (o->upperdir)
		verbose("plan: upperdir %s, workdir %s", o->upperdir, o->workdir);
	if (p->idmapped)
		verbose("plan: idmapped %s", o->userns ? o->userns : o->uidmap);
	verbose("plan: api %s, utab %s",
		o->api == CFS_API_LEGACY ? "legacy"
		: o->api == CFS_API_NEW	 ? "new"
					 : "auto",
		a->no_utab ? "no" : "yes");
}

static int do_remount(const struct cfs_mount_args *a, int target_fd, const struct cfs_mount_opts *o,
		      struct cfs_error *e)
{
	_cleanup_free_ char *data = NULL;
	char proc[PATHFD_PROC_MAX];
	bool is_mount = true;
	int r;

	/* mount(2) would answer a bare EINVAL. */
	r = mountpoint_check(a->target, &is_mount);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, r, "cannot remount %s", a->target);
	if (!is_mount)
		return cfs_fail(e, CFS_STAGE_MOUNT, 0, "cannot remount %s: it is not mounted",
				a->target);
	r = opts_data_string(o, &data);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_INTERNAL, r, "cannot build options");
	/* Overlay ignores data on a mount(2) remount; flags are what changes. */
	if (mount(a->source, pathfd_name(target_fd, a->target, proc), NULL, o->flags, data) < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot remount %s", a->target);
	verbose("remounted %s with flags %#lx", a->target, o->flags);
	return 0;
}

static int open_userns(const struct mount_plan *p, int *ret_fd, struct cfs_error *e)
{
	if (p->opts.userns)
		return idmap_userns_open(p->opts.userns, ret_fd, e);
	if (p->opts.uidmap)
		return idmap_userns_fd(&p->uidmap, &p->gidmap, ret_fd, e);
	*ret_fd = -EBADF;
	return 0;
}

/* On the new mount's own root (top_fd), not on a path walked again. */
static int apply_propagation(const char *target, int top_fd, unsigned long propagation,
			     struct cfs_error *e)
{
	char proc[PATHFD_PROC_MAX];

	if (!propagation)
		return 0;
	if (mount(NULL, pathfd_name(top_fd, target, proc), NULL, propagation, NULL) < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot change propagation of %s",
				target);
	verbose("propagation %#lx on %s", propagation, target);
	return 0;
}

/* utab must never record a path that does not hold the overlay: a user owning
 * a directory above the target may have swapped it during the mount. */
static int check_landed(const char *target, int target_fd, uint64_t mnt_id, int *ret_top_fd,
			struct cfs_error *e)
{
	int r = pathfd_mount_on(target_fd, target, mnt_id, ret_top_fd);

	if (r == 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, 0,
				"mount point %s changed during the mount (a directory on the way "
				"was renamed or replaced by a symlink): undoing",
				target);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, r, "cannot check the mount at %s", target);
	return 0;
}

int cfs_mount(const struct cfs_mount_args *args, struct cfs_error *e)
{
	struct mount_plan *p = calloc(1, sizeof(*p));
	struct cfs_mount_args resolved = *args, *a = &resolved;
	_cleanup_free_ char *target = NULL;
	_cleanup_close_ int userns_fd = -EBADF, target_fd = -EBADF, top_fd = -EBADF;
	uint64_t mnt_id = 0;
	const char *strategy = "bind";
	bool mounted = false, recorded = false;
	int r;

	if (!p)
		return cfs_fail(e, CFS_STAGE_SETUP, -ENOMEM, "cannot plan the mount");
	r = interrupt_install();
	if (r < 0) {
		cfs_fail(e, CFS_STAGE_SETUP, r, "cannot install signal handlers");
		goto out;
	}
	r = plan_options(a, p, e);
	if (r < 0)
		goto out;
	r = privs_check(e);
	if (r < 0)
		goto out;
	if (a->ns) {
		r = mountns_enter(a->ns, e);
		if (r < 0)
			goto out;
	}
	if (nofail_missing(p))
		goto out;
	r = resolve_target(args->target, &target, &target_fd, e);
	if (r < 0)
		goto out;
	a->target = target;
	if (!(p->opts.flags & (MS_REMOUNT | MS_BIND))) {
		r = check_upper_work(p, p->opts.flags, e);
		if (r < 0)
			goto out;
	}
	r = check_direct_io(p, e);
	if (r < 0)
		goto out;
	/* A namespace named by the caller is checked before any mount work. */
	if (p->opts.userns) {
		r = open_userns(p, &userns_fd, e);
		if (r < 0)
			goto out;
	}
	print_plan(a, p);
	if (a->fake) {
		verbose("fake mode (-f): nothing mounted");
		goto out;
	}

	if (p->opts.flags & MS_REMOUNT) {
		r = do_remount(a, target_fd, &p->opts, e);
		goto out; /* utab keeps the entry of the original mount */
	}
	/* A helper killed earlier may have left temp layers: reclaim them now. */
	(void)tmpdir_clean_stale(p->opts.tmpdir);
	if (userns_fd < 0) {
		r = open_userns(p, &userns_fd, e);
		if (r < 0)
			goto out;
	}
	r = privs_drop(e);
	if (r < 0)
		goto out;
	r = interrupt_check(e);
	if (r < 0)
		goto out;

	if (p->opts.flags & MS_BIND) {
		r = bind_mount(a->source, a->target, target_fd, p->opts.flags, userns_fd, e);
	} else {
		struct cfs_overlay_req req = {
			.source = a->source,
			.target = a->target,
			.target_fd = target_fd,
			.ret_mnt_id = &mnt_id,
			.opts = &p->opts,
			.layers = &p->layers,
			.userns_fd = userns_fd,
			.upperdir = p->upperdir,
			.workdir = p->workdir,
			.tmpdir = p->opts.tmpdir,
		};
		r = overlay_mount(&req, &strategy, e);
	}
	if (r < 0)
		goto out;
	mounted = true;
	verbose("mounted %s on %s (%s)", a->source, a->target, strategy);

	r = check_landed(a->target, target_fd, mnt_id, &top_fd, e);
	if (r < 0)
		goto out;
	r = apply_propagation(a->target, top_fd, p->opts.propagation, e);
	if (r < 0)
		goto out;
	/* Interrupted before the mount is recorded: undo it, as mount(8) users
	 * pressing ^C expect. */
	r = interrupt_check(e);
	if (r < 0)
		goto out;
	if (!a->no_utab) {
		_cleanup_free_ char *attrs = NULL;

		/* What umount.cfsoverlay must know: cfs.rmdir=no, a cfs.tmpdir
		 * other than the default (to reclaim what killed helpers left). */
		r = utab_attrs_format(p->opts.rmdir, p->opts.tmpdir, &attrs);
		if (r < 0) {
			cfs_fail(e, CFS_STAGE_UTAB, r, "cannot record %s in utab", a->target);
			goto out;
		}
		r = utab_add(a->source, a->target, p->opts.flags & (MS_BIND | MS_REC),
			     p->opts.utab_opts, attrs, e);
		if (r < 0)
			goto out;
		recorded = true;
		/* Signals wait while the lock is held: one that came during the
		 * write undoes the mount, and its line then goes as stale. */
		r = interrupt_check(e);
		if (r < 0)
			goto out;
	}
out:
	if (r < 0 && mounted) {
		char proc[PATHFD_PROC_MAX];

		/* umount2 of the directory's fd takes the mount on top of it: the one
		 * made here, wherever the path leads now.  top_fd would keep it busy. */
		if (top_fd >= 0)
			close(TAKE_FD(top_fd));
		if (umount2(pathfd_name(target_fd, a->target, proc), 0) < 0)
			verbose("cannot undo the mount of %s: %m", a->target);
		else if (recorded) {
			struct cfs_error ignored = { 0 };

			(void)utab_remove(a->target, NULL, false, &ignored);
		}
	}
	plan_free(p);
	return r;
}

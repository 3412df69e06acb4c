#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "interrupt.h"
#include "log.h"
#include "lower.h"
#include "overlay.h"
#include "pathfd.h"
#include "tmpdir.h"
#include "util.h"

/* Flags that belong to the mount(2) call itself, not to the new superblock. */
#define MS_NOT_FOR_OVERLAY (MS_BIND | MS_REC | MS_REMOUNT | MS_MOVE)

unsigned int overlay_mount_attrs(unsigned long f)
{
	unsigned int a = 0;

	if (f & MS_RDONLY)
		a |= MOUNT_ATTR_RDONLY;
	if (f & MS_NOSUID)
		a |= MOUNT_ATTR_NOSUID;
	if (f & MS_NODEV)
		a |= MOUNT_ATTR_NODEV;
	if (f & MS_NOEXEC)
		a |= MOUNT_ATTR_NOEXEC;
	if (f & MS_NODIRATIME)
		a |= MOUNT_ATTR_NODIRATIME;
	if (f & MS_NOSYMFOLLOW)
		a |= MOUNT_ATTR_NOSYMFOLLOW;
	/* As in path_mount(): relatime unless noatime, and strictatime beats both. */
	if (f & MS_STRICTATIME)
		a |= MOUNT_ATTR_STRICTATIME;
	else if (f & MS_NOATIME)
		a |= MOUNT_ATTR_NOATIME;
	return a;
}

/* Overlay reports most refusals with pr_err() only, not in the fs context log,
 * and mount(2) cannot say which option it refused: name the candidates. */
static void kernel_log_hint(const struct cfs_overlay_req *req, int err, struct cfs_error *e)
{
	const struct cfs_mount_opts *o = req->opts;
	char opts[512] = "";
	size_t n = 0;

	for (size_t i = 0; i < o->n_data && n < sizeof(opts); i++)
		n += (size_t)snprintf(opts + n, sizeof(opts) - n, "%s%s", i ? "," : "", o->data[i]);
	switch (err) {
	case -EINVAL:
		cfs_hint(
			e,
			"overlay refused the layers, upperdir, workdir or the options%s%s; dmesg has the kernel's reason",
			opts[0] ? " " : "", opts);
		break;
	case -EBUSY:
		cfs_hint(
			e,
			"upperdir %s or workdir is in use by another overlay mount (see umount.cfsoverlay(8))",
			o->upperdir ? o->upperdir : "");
		break;
	case -ELOOP:
		cfs_hint(
			e,
			"upperdir %s, workdir %s and the lower layers must not lie inside one another",
			o->upperdir ? o->upperdir : "(none)", o->workdir ? o->workdir : "(none)");
		break;
	}
}

static int fsconfig_flag(int fs_fd, const char *key)
{
	return fsconfig(fs_fd, FSCONFIG_SET_FLAG, key, NULL, 0) < 0 ? negerrno() : 0;
}

/* Superblock flags travel as fsconfig flags with the new mount API. */
static int config_sb_flags(int fs_fd, unsigned long f)
{
	static const struct {
		unsigned long ms;
		const char *key;
	} map[] = {
		{ MS_RDONLY, "ro" },	     { MS_SYNCHRONOUS, "sync" }, { MS_DIRSYNC, "dirsync" },
		{ MS_LAZYTIME, "lazytime" }, { MS_MANDLOCK, "mand" },
	};
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		if (!(f & map[i].ms))
			continue;
		r = fsconfig_flag(fs_fd, map[i].key);
		if (r < 0)
			return r;
	}
	return 0;
}

static int config_dir_fd(int fs_fd, const char *key, const char *path, struct cfs_error *e)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "%s %s", key, path);
	if (fsconfig(fs_fd, FSCONFIG_SET_FD, key, NULL, fd) < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "%s %s", key, path);
		cfs_hint_fs_log(e, fs_fd);
		return r;
	}
	return 0;
}

static int config_data(int fs_fd, const struct cfs_mount_opts *o, struct cfs_error *e)
{
	for (size_t i = 0; i < o->n_data; i++) {
		_cleanup_free_ char *key = strdup(o->data[i]);
		char *value;
		int r;

		if (!key)
			return cfs_fail(e, CFS_STAGE_SETUP, -ENOMEM, "cannot configure overlay");
		value = strchr(key, '=');
		if (value)
			*value++ = '\0';
		r = fsconfig(fs_fd, value ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, key, value, 0);
		if (r < 0) {
			r = cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "overlay option %s",
				     o->data[i]);
			cfs_hint_fs_log(e, fs_fd);
			return r;
		}
	}
	return 0;
}

/* Why fsopen() failed: only ENOSYS and ENODEV mean the kernel lacks something;
 * EPERM or EACCES mean a policy (seccomp, an LSM) forbids it, which mount(2)
 * may still get past.  Fills why and returns -EOPNOTSUPP for those; anything
 * else (ENOMEM, EMFILE...) is a failure of its own, in e. */
static int fsopen_failed(int err, struct cfs_error *why, struct cfs_error *e)
{
	switch (err) {
	case -ENOSYS:
		cfs_fail(why, CFS_STAGE_MOUNT, err, "cfs.api=new: cannot open an overlay context");
		cfs_hint(
			why,
			"kernel lacks fsopen, the new mount API: needs Linux 5.2, and 6.15 for overlay layers as fds");
		break;
	case -ENODEV:
		cfs_fail(why, CFS_STAGE_MOUNT, err, "cfs.api=new: cannot open an overlay context");
		cfs_hint(why, "kernel lacks the overlay filesystem");
		break;
	case -EPERM:
	case -EACCES:
		cfs_fail(why, CFS_STAGE_MOUNT, err, "cfs.api=new: cannot open an overlay context");
		cfs_hint(why,
			 "a seccomp or LSM policy forbids fsopen; cfs.api=legacy uses mount(2)");
		break;
	default:
		return cfs_fail(e, CFS_STAGE_SETUP, err, "cannot open an overlay context (fsopen)");
	}
	verbose("fsopen(overlay): %s: the new mount API is not available", strerror(-err));
	return -EOPNOTSUPP;
}

/* The first layer fd refused: which part of "layers as fds" the kernel lacks. */
static int layer_fd_refused(int err, const char *path, struct cfs_error *why)
{
	cfs_fail(why, CFS_STAGE_MOUNT, err, "cfs.api=new: overlay refuses layer %s as an fd", path);
	if (err == -EOPNOTSUPP)
		/* Before 6.5, overlay sits on the legacy fs context wrapper,
		 * which takes string options only. */
		cfs_hint(
			why,
			"kernel lacks overlay on the new mount API: needs Linux 6.5, and 6.15 for layers as fds");
	else
		/* lowerdir+ came in 6.7/6.8 as a string, as an fd in 6.13,
		 * O_PATH fds and detached (idmapped) mounts as layers in 6.15. */
		cfs_hint(why, "kernel lacks overlay layers passed as fds: needs Linux 6.15");
	verbose("kernel refuses layers passed as fds (%s): using mount(2)", strerror(-err));
	return -EOPNOTSUPP;
}

/* Tries the new mount API.  -EOPNOTSUPP with why filled (and e untouched)
 * means the kernel cannot serve this path and the caller may fall back to
 * mount(2); any other failure is in e. */
static int mount_new_api(const struct cfs_overlay_req *req, struct cfs_error *why,
			 struct cfs_error *e)
{
	const struct cfs_mount_opts *o = req->opts;
	struct lower_config cfg = { .userns_fd = req->userns_fd,
				    .want_fds = true,
				    .direct_io = o->direct_io };
	struct cfs_lowers lowers = { 0 };
	_cleanup_close_ int fs_fd = -EBADF;
	_cleanup_close_ int mnt_fd = -EBADF;
	int r;

	fs_fd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs_fd < 0)
		return fsopen_failed(negerrno(), why, e);
	verbose("strategy: new (fsopen, fsconfig lowerdir+ by fd, fsmount, move_mount)");
	r = lowers_prepare(req->layers, &cfg, &lowers, e);
	if (r < 0)
		return r;

	if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", req->source, 0) < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "source %s", req->source);
		goto out;
	}
	for (size_t i = 0; i < lowers.n; i++) {
		const char *key = lowers.v[i].data_only ? "datadir+" : "lowerdir+";

		if (fsconfig(fs_fd, FSCONFIG_SET_FD, key, NULL, lowers.v[i].fd) == 0)
			continue;
		r = negerrno();
		if (i == 0 && (r == -EINVAL || r == -EBADF || r == -EOPNOTSUPP)) {
			cfs_hint_fs_log(NULL, fs_fd);
			r = layer_fd_refused(r, lowers.v[i].path, why);
			goto out;
		}
		cfs_fail(e, CFS_STAGE_MOUNT, r, "lowerdir %s", lowers.v[i].path);
		cfs_hint_fs_log(e, fs_fd);
		goto out;
	}
	if (req->upperdir) {
		r = config_dir_fd(fs_fd, "upperdir", req->upperdir, e);
		if (r < 0)
			goto out;
		r = config_dir_fd(fs_fd, "workdir", req->workdir, e);
		if (r < 0)
			goto out;
	}
	r = config_data(fs_fd, o, e);
	if (r < 0)
		goto out;
	r = config_sb_flags(fs_fd, o->flags);
	if (r < 0) {
		cfs_fail(e, CFS_STAGE_MOUNT, r, "cannot set superblock flags");
		cfs_hint_fs_log(e, fs_fd);
		goto out;
	}
	r = interrupt_check(e);
	if (r < 0)
		goto out;
	/* Every layer fd must stay open until here: a detached mount dissolves with
	 * its last fd and the create then fails with "failed to clone lowerpath". */
	if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot mount overlay on %s",
			     req->target);
		cfs_hint_fs_log(e, fs_fd);
		kernel_log_hint(req, r, e);
		goto out;
	}
	lowers_free(&lowers);
	mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, overlay_mount_attrs(o->flags));
	if (mnt_fd < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot mount overlay on %s",
			     req->target);
		cfs_hint_fs_log(e, fs_fd);
		goto out;
	}
	r = interrupt_check(e);
	if (r < 0)
		goto out;
	/* To the fd resolved before the slow work: the path may lead elsewhere now. */
	if (move_mount(mnt_fd, "", req->target_fd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		r = cfs_fail(e, CFS_STAGE_MOUNT, negerrno(), "cannot attach overlay at %s",
			     req->target);
		goto out;
	}
	*req->ret_mnt_id = pathfd_mnt_id(mnt_fd);
	r = 0;
out:
	lowers_free(&lowers);
	return r;
}

struct chdir_mount {
	const char *dir;
	const char *source, *target, *data;
	unsigned long flags;
	int err;
};

/* A thread with its own cwd (CLONE_FS), so that relative layer paths resolve
 * under the common directory while the process's cwd never changes. */
static void *chdir_mount_thread(void *arg)
{
	struct chdir_mount *m = arg;

	m->err = 0;
	if (unshare(CLONE_FS) < 0) {
		m->err = negerrno();
		return NULL;
	}
	if (chdir(m->dir) < 0 || mount(m->source, m->target, "overlay", m->flags, m->data) < 0)
		m->err = negerrno();
	/* The cwd must leave the temp layers before the thread ends: do_exit()
	 * clears the tid that pthread_join() waits for (mm_release) before it
	 * drops the fs_struct (exit_fs), so the joiner's umount of a temp layer
	 * could still find it busy (EBUSY, seen on 6.1 with 500 layers). */
	if (chdir("/") < 0)
		verbose("leaving %s: %m, ignoring", m->dir);
	return NULL;
}

static int mount2_in(const char *dir, const char *source, const char *target, unsigned long flags,
		     const char *data)
{
	struct chdir_mount m = { dir, source, target, data, flags, 0 };
	pthread_t t;
	int r;

	if (!dir)
		return mount(source, target, "overlay", flags, data) < 0 ? negerrno() : 0;
	r = pthread_create(&t, NULL, chdir_mount_thread, &m);
	if (r)
		return -r;
	pthread_join(t, NULL);
	return m.err;
}

/* "lowerdir=<layers>,<rest>" with the layer paths stripped of "<dir>/". */
static int build_data(const struct cfs_layers *paths, const char *dir, const char *rest, char **ret)
{
	_cleanup_free_ char *lower = NULL;
	int r;

	r = layers_join(paths, dir ? strlen(dir) + 1 : 0, &lower);
	if (r < 0)
		return r;
	if (asprintf(ret, "lowerdir=%s%s%s", lower, *rest ? "," : "", rest) < 0)
		return -ENOMEM;
	return 0;
}

/* Fits the data into one page: as it is, relative to the layers' common
 * directory, or not at all (-E2BIG).  ret_dir is the directory to mount from. */
static int fit_data(const struct cfs_layers *paths, const char *rest, char **ret_data,
		    char **ret_dir)
{
	_cleanup_free_ char *data = NULL, *dir = NULL;
	size_t limit = layers_data_limit();
	int r;

	r = build_data(paths, NULL, rest, &data);
	if (r < 0)
		return r;
	if (strlen(data) < limit)
		goto done;
	free(TAKE_PTR(data));
	r = layers_common_dir(paths, &dir);
	if (r < 0)
		return r == -ENOENT ? -E2BIG : r;
	r = build_data(paths, dir, rest, &data);
	if (r < 0)
		return r;
	if (strlen(data) >= limit)
		return -E2BIG;
	verbose("options past %zu bytes: layers compacted relative to %s", limit, dir);
done:
	*ret_data = TAKE_PTR(data);
	*ret_dir = TAKE_PTR(dir);
	return 0;
}

/* Relative upper and work paths would resolve under the compaction directory. */
static int absolute_rest(const struct cfs_mount_opts *o, char **ret)
{
	struct cfs_mount_opts abs = *o;
	_cleanup_free_ char *up = NULL, *work = NULL, *cwd = NULL, *buf = NULL;

	if ((o->upperdir && o->upperdir[0] != '/') || (o->workdir && o->workdir[0] != '/')) {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return negerrno();
		/* Escaping at most doubles every byte. */
		buf = malloc(2 * strlen(cwd) + 1);
		if (!buf)
			return -ENOMEM;
		buf[layers_escape(cwd, buf)] = '\0';
		if (o->upperdir && o->upperdir[0] != '/' &&
		    asprintf(&up, "%s/%s", buf, o->upperdir) < 0)
			return -ENOMEM;
		if (o->workdir && o->workdir[0] != '/' &&
		    asprintf(&work, "%s/%s", buf, o->workdir) < 0)
			return -ENOMEM;
		if (up)
			abs.upperdir = up;
		if (work)
			abs.workdir = work;
	}
	return opts_data_string(&abs, ret);
}

/* The shared idmapped tree goes under the temp location once, for all the
 * layers inside it. */
static int attach_tree(const struct cfs_overlay_req *req, struct cfs_lowers *lowers,
		       struct cfs_tmpdir *tmp, char **tree_path, struct cfs_error *e)
{
	int r;

	if (*tree_path)
		return 0;
	if (tmp->fd < 0) {
		r = tmpdir_create(req->tmpdir, tmp, e);
		if (r < 0)
			return r;
	}
	r = tmpdir_attach(tmp, lowers->tree_fd, tree_path, e);
	if (r < 0)
		return r;
	/* An open fd would keep the temp mount busy at release. */
	close(lowers->tree_fd);
	lowers->tree_fd = -EBADF;
	return 0;
}

/* One mount(2) attempt.  With lazy, plain layers are not looked at first:
 * *ret_refused says that the kernel refused the mount. */
static int legacy_attempt(const struct cfs_overlay_req *req, bool lazy, bool *ret_refused,
			  struct cfs_error *e)
{
	const struct cfs_mount_opts *o = req->opts;
	struct lower_config cfg = { .userns_fd = req->userns_fd,
				    .want_fds = false,
				    .lazy_dirs = lazy,
				    .direct_io = o->direct_io };
	struct cfs_lowers lowers = { 0 };
	struct cfs_tmpdir tmp = CFS_TMPDIR_INIT;
	struct cfs_layers paths = { 0 };
	_cleanup_free_ char *rest = NULL, *data = NULL, *dir = NULL, *tree_path = NULL;
	char target[PATHFD_PROC_MAX];
	unsigned long flags = o->flags & ~(unsigned long)MS_NOT_FOR_OVERLAY;
	bool bind_all = false;
	int r;

	r = lowers_prepare(req->layers, &cfg, &lowers, e);
	if (r < 0)
		return r;
	r = absolute_rest(o, &rest);
	if (r < 0) {
		cfs_fail(e, CFS_STAGE_SETUP, r, "cannot build overlay options");
		goto out;
	}
	paths.n = lowers.n;
	paths.v = calloc(lowers.n, sizeof(*paths.v));
	if (!paths.v) {
		r = cfs_fail(e, CFS_STAGE_SETUP, -ENOMEM, "cannot build overlay options");
		goto out;
	}
again:
	for (size_t i = 0; i < lowers.n; i++) {
		struct cfs_lower *lw = &lowers.v[i];

		paths.v[i].data_only = lw->data_only;
		if (bind_all && lw->rel) {
			/* A clone taken inside the idmapped tree keeps its idmap. */
			r = lower_clone(AT_FDCWD, paths.v[i].path, lw->path, -EBADF, &lw->fd, e);
			if (r < 0)
				goto out;
			lw->detached = true;
			lw->rel = NULL;
		} else if (bind_all && !lw->detached && lw->path != paths.v[i].path) {
			/* Already under the temp location when lw->path is its entry there. */
			r = lower_clone(AT_FDCWD, lw->path, lw->path, -EBADF, &lw->fd, e);
			if (r < 0)
				goto out;
			lw->detached = true;
		}
		r = interrupt_check(e);
		if (r < 0)
			goto out;
		if (lw->detached) {
			if (tmp.fd < 0) {
				r = tmpdir_create(req->tmpdir, &tmp, e);
				if (r < 0)
					goto out;
			}
			free(paths.v[i].path);
			paths.v[i].path = NULL;
			r = tmpdir_attach(&tmp, lw->fd, &paths.v[i].path, e);
			if (r < 0)
				goto out;
			close(lw->fd);
			lw->fd = -EBADF;
			lw->detached = false;
			lw->path = paths.v[i].path;
		} else if (lw->rel) {
			r = attach_tree(req, &lowers, &tmp, &tree_path, e);
			if (r < 0)
				goto out;
			if (!paths.v[i].path &&
			    asprintf(&paths.v[i].path, "%s/%s", tree_path, lw->rel) < 0) {
				r = cfs_fail(e, CFS_STAGE_SETUP, -ENOMEM,
					     "cannot build overlay options");
				goto out;
			}
		} else if (!paths.v[i].path && !(paths.v[i].path = strdup(lw->path))) {
			r = cfs_fail(e, CFS_STAGE_SETUP, -ENOMEM, "cannot build overlay options");
			goto out;
		}
	}
	r = fit_data(&paths, rest, &data, &dir);
	if (r == -E2BIG && !bind_all) {
		/* Layers scattered over unrelated trees: give each a short name. */
		verbose("options too long even compacted: binding layers under the temp location");
		bind_all = true;
		goto again;
	}
	if (r < 0) {
		cfs_fail(e, CFS_STAGE_MOUNT, r, "cannot fit overlay options into one page");
		goto out;
	}
	r = interrupt_check(e);
	if (r < 0)
		goto out;
	r = mount2_in(dir, req->source, pathfd_name(req->target_fd, req->target, target), flags,
		      data);
	if (r < 0) {
		*ret_refused = true;
		cfs_fail(e, CFS_STAGE_MOUNT, r, "cannot mount overlay on %s", req->target);
		kernel_log_hint(req, r, e);
	}
out:
	/* The overlay holds private clones of its layers: the temp mounts can go. */
	(void)tmpdir_release(&tmp);
	layers_free(&paths);
	lowers_free(&lowers);
	return r;
}

/* Plain layers are directories nearly always, and mount(2) finds them itself:
 * looking at each first would cost a path walk per layer.  Only a refused
 * mount looks closer, in a second attempt that finds image files and names
 * the layer at fault. */
static int mount_legacy(const struct cfs_overlay_req *req, struct cfs_error *e)
{
	bool lazy = req->userns_fd < 0, refused = false;
	int r;

	r = legacy_attempt(req, lazy, &refused, e);
	if (r >= 0 || !lazy || !refused)
		return r;
	verbose("overlay refused the layers as given: looking at each of them");
	memset(e, 0, sizeof(*e));
	return legacy_attempt(req, false, &refused, e);
}

int overlay_mount(const struct cfs_overlay_req *req, const char **ret_strategy, struct cfs_error *e)
{
	int r;

	if (req->opts->api != CFS_API_LEGACY) {
		struct cfs_error why = { 0 };

		r = mount_new_api(req, &why, e);
		if (!cfs_failed(&why)) {
			*ret_strategy = "new";
			return r;
		}
		if (req->opts->api == CFS_API_NEW) {
			*e = why;
			return r;
		}
		/* Only the strategy that ran last may explain a failure. */
		memset(e, 0, sizeof(*e));
	}
	verbose("strategy: legacy (mount(2))");
	*ret_strategy = "legacy";
	return mount_legacy(req, e);
}

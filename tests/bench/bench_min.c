/* bench_min: the floor that mount.cfsoverlay is measured against.
 *
 *   bench_min mount SOURCE TARGET -o OPTIONS
 *   bench_min umount TARGET
 *   bench_min time REPS FILE...
 *   mount.cfsmin SOURCE TARGET -o OPTIONS, umount.cfsmin TARGET (links to it)
 *
 * "mount" issues only the syscalls an overlay mount of that shape needs and
 * nothing else: no option checks, no utab, no error context, no cleanup of
 * earlier runs.  It takes the helper's argv shape so that bench.sh execs both
 * the same way and fork+exec costs the same on each side.  OPTIONS understood:
 * lowerdir=A:B:...  upperdir=U  workdir=W  uidmap=C:H:N  gidmap=C:H:N (one
 * range each)  cfs.api=new|legacy  cfs.tmpdir=DIR (legacy idmapped layers go
 * there; default /run/cfsoverlay, as for the helper).  Paths must hold no ',', ':' or escapes:
 * bench.sh makes them so.  A lower layer is an erofs
 * image when its name ends in ".erofs": mounted file-backed, or through a loop device
 * (LOOP_CONFIGURE, read-only, autoclear) when CFSOVERLAY_FORCE_LOOP=1, the
 * switch the helper reads for the same comparison.
 *
 * "time" runs the command lists in FILE... (one command a line, words split on
 * spaces) REPS times, rotating which file goes first so that drift hits all of
 * them alike, and prints per FILE the median wall time of the whole list and
 * of each line in microseconds, with the peak RSS of each line in KiB:
 *   FILE TOTAL_US LINE1_US/LINE1_KIB LINE2_US/LINE2_KIB ...
 * Timing in C avoids the fork and date(1) noise of a shell loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/loop.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>

/* mount(2) copies at most one page of options. */
#define MOUNT_DATA_MAX 4096
/* The kernel's limit on overlay lower layers. */
#define MAX_LAYERS 500

extern char **environ;

struct min_opts {
	char *lower[MAX_LAYERS];
	size_t n_lower;
	const char *upper, *work, *uidmap, *gidmap, *api, *tmpdir;
};

static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static int parse_opts(char *s, struct min_opts *o)
{
	for (char *opt = strtok(s, ","); opt; opt = strtok(NULL, ",")) {
		char *v = strchr(opt, '=');

		if (!v)
			continue; /* flags such as rw: nothing to do for the floor */
		*v++ = '\0';
		if (!strcmp(opt, "lowerdir")) {
			for (char *l = strsep(&v, ":"); l; l = strsep(&v, ":")) {
				if (o->n_lower == MAX_LAYERS)
					return -E2BIG;
				o->lower[o->n_lower++] = l;
			}
		} else if (!strcmp(opt, "upperdir")) {
			o->upper = v;
		} else if (!strcmp(opt, "workdir")) {
			o->work = v;
		} else if (!strcmp(opt, "uidmap")) {
			o->uidmap = v;
		} else if (!strcmp(opt, "gidmap")) {
			o->gidmap = v;
		} else if (!strcmp(opt, "cfs.api")) {
			o->api = v;
		} else if (!strcmp(opt, "cfs.tmpdir")) {
			o->tmpdir = v;
		}
	}
	return o->n_lower ? 0 : -EINVAL;
}

/* "C:H:N" becomes the "C H N\n" that uid_map takes, in one write(2). */
static int write_map(pid_t pid, const char *file, const char *spec)
{
	char path[64], text[64];
	int fd, n, r = 0;

	n = snprintf(text, sizeof(text), "%s\n", spec);
	for (char *c = text; *c; c++)
		if (*c == ':')
			*c = ' ';
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	if (write(fd, text, (size_t)n) != n)
		r = neg_errno();
	close(fd);
	return r;
}

/* A child born in a new user namespace lives until the pipe closes; its
 * namespace, once mapped, is pinned by the fd we return. */
static int make_userns(const char *uidmap, const char *gidmap, int *ret_fd)
{
	char path[64], c;
	int hold[2], fd = -1, r;
	pid_t pid;

	if (pipe2(hold, O_CLOEXEC) < 0)
		return neg_errno();
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0)
		return neg_errno();
	if (pid == 0) {
		close(hold[1]);
		(void)read(hold[0], &c, 1);
		_exit(0);
	}
	close(hold[0]);
	r = write_map(pid, "uid_map", uidmap);
	if (r == 0)
		r = write_map(pid, "gid_map", gidmap);
	if (r == 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = neg_errno();
	}
	close(hold[1]);
	waitpid(pid, NULL, 0);
	*ret_fd = fd;
	return r;
}

/* One read-only, optionally idmapped, detached copy of a layer. */
static int clone_layer(const char *path, int userns_fd, int *ret_fd)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	int fd;

	fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	if (userns_fd >= 0) {
		attr.attr_set |= MOUNT_ATTR_IDMAP;
		attr.userns_fd = (uint64_t)userns_fd;
	}
	if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		int r = neg_errno();

		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* A loop device for an image, its fd in *ret_fd: LOOP_CTL_GET_FREE can hand
 * the same device to two callers, the loser's LOOP_CONFIGURE fails with EBUSY
 * and asks again. */
static int loop_attach(const char *image, char *dev, size_t size, int *ret_fd)
{
	struct loop_config cfg = { .info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR };
	int ctl, img, loop = -1, r = -EBUSY;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return neg_errno();
	img = open(image, O_RDONLY | O_CLOEXEC);
	if (img < 0) {
		r = neg_errno();
		close(ctl);
		return r;
	}
	cfg.fd = (uint32_t)img;
	for (int tries = 0; r == -EBUSY && tries < 16; tries++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);

		if (n < 0) {
			r = neg_errno();
			break;
		}
		snprintf(dev, size, "/dev/loop%d", n);
		loop = open(dev, O_RDONLY | O_CLOEXEC);
		if (loop < 0) {
			r = neg_errno();
			break;
		}
		r = ioctl(loop, LOOP_CONFIGURE, &cfg) < 0 ? neg_errno() : 0;
		if (r < 0)
			close(loop);
	}
	close(img);
	close(ctl);
	if (r == 0)
		*ret_fd = loop;
	return r;
}

/* A read-only detached erofs mount of an image, file-backed or on a loop
 * device.  The loop fd is held until the mount holds the device: autoclear
 * would free it at its last close. */
static int mount_image(const char *image, bool via_loop, int *ret_fd)
{
	char dev[32];
	int fs_fd, loop = -1, mnt_fd = -1, r = 0;

	if (via_loop && (r = loop_attach(image, dev, sizeof(dev), &loop)) < 0)
		return r;
	fs_fd = fsopen("erofs", FSOPEN_CLOEXEC);
	if (fs_fd < 0)
		r = neg_errno();
	else if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", via_loop ? dev : image, 0) < 0 ||
		 fsconfig(fs_fd, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0 ||
		 fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
		 (mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY)) < 0)
		r = neg_errno();
	if (fs_fd >= 0)
		close(fs_fd);
	if (loop >= 0)
		close(loop);
	*ret_fd = mnt_fd;
	return r;
}

static int set_dir_fd(int fs_fd, const char *key, const char *path)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return neg_errno();
	if (fsconfig(fs_fd, FSCONFIG_SET_FD, key, NULL, fd) < 0)
		r = neg_errno();
	close(fd);
	return r;
}

/* fds[i] is an O_PATH fd or a detached mount of layer i; all must stay open
 * until FSCONFIG_CMD_CREATE. */
static int mount_new(const char *source, const char *target, const struct min_opts *o,
		     const int *fds)
{
	int fs_fd, mnt_fd = -1, r = 0;

	fs_fd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs_fd < 0)
		return neg_errno();
	if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		r = neg_errno();
	for (size_t i = 0; r == 0 && i < o->n_lower; i++)
		if (fsconfig(fs_fd, FSCONFIG_SET_FD, "lowerdir+", NULL, fds[i]) < 0)
			r = neg_errno();
	if (r == 0 && o->upper) {
		r = set_dir_fd(fs_fd, "upperdir", o->upper);
		if (r == 0)
			r = set_dir_fd(fs_fd, "workdir", o->work);
	}
	if (r == 0 && fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		r = neg_errno();
	if (r == 0 && (mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, 0)) < 0)
		r = neg_errno();
	if (r == 0 && move_mount(mnt_fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		r = neg_errno();
	if (mnt_fd >= 0)
		close(mnt_fd);
	close(fs_fd);
	return r;
}

/* Length of the directory part shared by all layers ("/a/b/" of /a/b/1 and
 * /a/b/2), 0 when there is none worth stripping. */
static size_t common_dir_len(const struct min_opts *o)
{
	size_t n = strlen(o->lower[0]);

	for (size_t i = 1; i < o->n_lower; i++) {
		size_t k = 0;

		while (k < n && o->lower[i][k] == o->lower[0][k])
			k++;
		n = k;
	}
	while (n > 0 && o->lower[0][n - 1] != '/')
		n--;
	return n > 1 ? n : 0;
}

/* "lowerdir=" + layers with their first skip bytes cut, then upper and work. */
static int build_data(const struct min_opts *o, char *const *lower, size_t skip, char *buf,
		      size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "lowerdir=");

	for (size_t i = 0; i < o->n_lower && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ":" : "", lower[i] + skip);
	if (o->upper && n < size)
		n += (size_t)snprintf(buf + n, size - n, ",upperdir=%s,workdir=%s", o->upper,
				      o->work);
	return n < size ? 0 : -E2BIG;
}

/* mount(2) with one lowerdir string.  Idmapped layers are attached as
 * TMP/0..N-1 first and named relative to TMP; plain layers that do not fit a
 * page are named relative to their common directory.  This process is ours
 * alone, so a plain chdir() stands in for the helper's CLONE_FS thread. */
static int mount_legacy(const char *source, const char *target, const struct min_opts *o,
			const int *fds, int tree_fd, size_t tree_skip)
{
	static char data[MOUNT_DATA_MAX], base[4096];
	static char names[MAX_LAYERS][8];
	static char *rel[MAX_LAYERS];
	size_t attached = 0, skip = 0;
	int r = 0;

	if (tree_fd >= 0) {
		/* One idmapped clone of the layers' common directory, attached once
		 * as TMP/0; the layers are named inside it. */
		snprintf(base, sizeof(base), "%s/min.XXXXXX",
			 o->tmpdir ? o->tmpdir : "/run/cfsoverlay");
		snprintf(names[0], sizeof(names[0]), "0");
		if (!mkdtemp(base) || chdir(base) < 0 || mkdir(names[0], 0700) < 0)
			return neg_errno();
		attached = 1;
		if (move_mount(tree_fd, "", AT_FDCWD, names[0], MOVE_MOUNT_F_EMPTY_PATH) < 0 ||
		    chdir(names[0]) < 0) {
			r = neg_errno();
			goto out;
		}
		close(tree_fd);
		r = build_data(o, o->lower, tree_skip, data, sizeof(data));
		if (r == 0 && mount(source, target, "overlay", 0, data) < 0)
			r = neg_errno();
		if (chdir(base) < 0 && r == 0)
			r = neg_errno();
		goto out;
	}
	if (fds) {
		snprintf(base, sizeof(base), "%s/min.XXXXXX",
			 o->tmpdir ? o->tmpdir : "/run/cfsoverlay");
		if (!mkdtemp(base) || chdir(base) < 0)
			return neg_errno();
		for (; attached < o->n_lower; attached++) {
			snprintf(names[attached], sizeof(names[attached]), "%zu", attached);
			rel[attached] = names[attached];
			if (mkdir(names[attached], 0700) < 0 ||
			    move_mount(fds[attached], "", AT_FDCWD, names[attached],
				       MOVE_MOUNT_F_EMPTY_PATH) < 0) {
				r = neg_errno();
				attached++;
				goto out;
			}
			/* An open fd on the attached layer would make its umount2 EBUSY. */
			close(fds[attached]);
		}
		r = build_data(o, rel, 0, data, sizeof(data));
	} else {
		r = build_data(o, o->lower, 0, data, sizeof(data));
		if (r == -E2BIG && (skip = common_dir_len(o))) {
			char dir[4096];

			snprintf(dir, sizeof(dir), "%.*s", (int)skip, o->lower[0]);
			if (chdir(dir) < 0)
				return neg_errno();
			r = build_data(o, o->lower, skip, data, sizeof(data));
		}
	}
	if (r == 0 && mount(source, target, "overlay", 0, data) < 0)
		r = neg_errno();
out:
	/* Overlay holds its own clones: the temp layers can go. */
	while (attached-- > 0)
		if ((umount2(names[attached], UMOUNT_NOFOLLOW) < 0 || rmdir(names[attached]) < 0) &&
		    r == 0)
			r = neg_errno(); /* a leak would skew the next runs: fail loudly */
	if ((fds || tree_fd >= 0) && rmdir(base) < 0 && r == 0)
		r = neg_errno();
	return r;
}

static int do_mount(const char *source, const char *target, char *optstr)
{
	static struct min_opts o;
	static int fds[MAX_LAYERS];
	const char *env = getenv("CFSOVERLAY_FORCE_LOOP");
	bool legacy, need_fds, force_loop = env && !strcmp(env, "1");
	int userns_fd = -1, tree_fd = -1, r;
	size_t skip;

	r = parse_opts(optstr, &o);
	if (r < 0)
		return r;
	legacy = o.api && !strcmp(o.api, "legacy");
	if (o.uidmap && o.gidmap) {
		r = make_userns(o.uidmap, o.gidmap, &userns_fd);
		if (r < 0)
			return r;
	}
	/* Idmapped layers under one directory: one idmapped clone of it, the
	 * layers opened inside (what the helper does; the minimum skips the
	 * helper's check that each is the inode its path names). */
	skip = userns_fd >= 0 ? common_dir_len(&o) : 0;
	if (skip) {
		char dir[4096];

		snprintf(dir, sizeof(dir), "%.*s", (int)skip - 1, o.lower[0]);
		r = clone_layer(dir, userns_fd, &tree_fd);
		if (r < 0)
			return r;
		if (legacy)
			return mount_legacy(source, target, &o, NULL, tree_fd, skip);
		for (size_t i = 0; i < o.n_lower; i++) {
			struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
						.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV };

			fds[i] = (int)syscall(SYS_openat2, tree_fd, o.lower[i] + skip, &how,
					      sizeof(how));
			if (fds[i] < 0)
				return neg_errno();
		}
		return mount_new(source, target, &o, fds);
	}
	/* 500 layer fds fit the usual soft RLIMIT_NOFILE of 1024: no setrlimit. */
	need_fds = userns_fd >= 0 || !legacy;
	for (size_t i = 0; need_fds && i < o.n_lower; i++) {
		size_t len = strlen(o.lower[i]);

		/* By name, not by stat: a directory layer pays no extra walk. */
		if (len > 6 && !strcmp(o.lower[i] + len - 6, ".erofs"))
			r = mount_image(o.lower[i], force_loop, &fds[i]);
		else if (userns_fd >= 0)
			r = clone_layer(o.lower[i], userns_fd, &fds[i]);
		else if ((fds[i] = open(o.lower[i], O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			r = neg_errno();
		if (r < 0)
			return r;
	}
	if (legacy)
		return mount_legacy(source, target, &o, need_fds ? fds : NULL, -1, 0);
	return mount_new(source, target, &o, fds);
}

/* ---- time mode ---- */

struct cmd_list {
	const char *file;
	char **argv[16]; /* per line, NULL-terminated */
	size_t n;
	uint64_t *total, *line; /* reps, reps * n samples in ns */
	long rss[16];		/* peak KiB per line */
};

static int load_list(const char *file, struct cmd_list *l)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(file, "re");

	if (!f)
		return neg_errno();
	l->file = file;
	while (getline(&line, &cap, f) > 0 && l->n < 16) {
		size_t words = 0;
		char **argv = calloc(strlen(line) / 2 + 2, sizeof(*argv));

		if (!argv)
			return -ENOMEM;
		for (char *w = strtok(line, " \n"); w; w = strtok(NULL, " \n"))
			argv[words++] = strdup(w);
		if (words)
			l->argv[l->n++] = argv;
		else
			free(argv);
	}
	free(line);
	fclose(f);
	return l->n ? 0 : -EINVAL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs one command, returns its wall time in ns in *ret_ns. */
static int run(char **argv, uint64_t *ret_ns, long *ret_rss)
{
	struct rusage ru;
	uint64_t t0 = now_ns();
	pid_t pid;
	int status, r;

	r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (r)
		return -r;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return neg_errno();
	*ret_ns = now_ns() - t0;
	*ret_rss = ru.ru_maxrss;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -ECHILD;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Median in microseconds of n samples spaced stride apart. */
static double median_us(uint64_t *v, size_t n, size_t stride)
{
	uint64_t tmp[n];

	for (size_t i = 0; i < n; i++)
		tmp[i] = v[i * stride];
	qsort(tmp, n, sizeof(*tmp), cmp_u64);
	return (n % 2 ? (double)tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2.0) / 1000.0;
}

/* rep < 0 is the warm-up: it fills the dentry and page caches, not the table. */
static int run_list(struct cmd_list *l, int rep)
{
	uint64_t sum = 0;

	for (size_t k = 0; k < l->n; k++) {
		uint64_t ns = 0;
		long rss = 0;
		int r = run(l->argv[k], &ns, &rss);

		if (r < 0) {
			fprintf(stderr, "bench_min: %s line %zu (%s) failed: %s\n", l->file, k + 1,
				l->argv[k][0], r == -ECHILD ? "non-zero exit" : strerror(-r));
			return r;
		}
		if (rep < 0)
			continue;
		l->line[(size_t)rep * l->n + k] = ns;
		if (rss > l->rss[k])
			l->rss[k] = rss;
		sum += ns;
	}
	if (rep >= 0)
		l->total[rep] = sum;
	return 0;
}

static int do_time(int reps, int nfiles, char **files)
{
	struct cmd_list *lists = calloc((size_t)nfiles, sizeof(*lists));
	int r;

	if (!lists || reps < 1)
		return -EINVAL;
	for (int i = 0; i < nfiles; i++) {
		r = load_list(files[i], &lists[i]);
		if (r < 0) {
			fprintf(stderr, "bench_min: %s: %s\n", files[i], strerror(-r));
			return r;
		}
		lists[i].total = calloc((size_t)reps, sizeof(uint64_t));
		lists[i].line = calloc((size_t)reps * lists[i].n, sizeof(uint64_t));
		if (!lists[i].total || !lists[i].line)
			return -ENOMEM;
	}
	for (int rep = -1; rep < reps; rep++) {
		/* Rotate the order: each program goes first as often as the others. */
		for (int k = 0; k < nfiles; k++) {
			r = run_list(&lists[(rep + 1 + k) % nfiles], rep);
			if (r < 0)
				return r;
		}
	}
	for (int i = 0; i < nfiles; i++) {
		struct cmd_list *l = &lists[i];

		printf("%s %.1f", l->file, median_us(l->total, (size_t)reps, 1));
		for (size_t k = 0; k < l->n; k++)
			printf(" %.1f/%ld", median_us(l->line + k, (size_t)reps, l->n), l->rss[k]);
		printf("\n");
	}
	return 0;
}

/* As mount.cfsmin / umount.cfsmin it is the floor of the mount(8) helper
 * protocol: mount(8) execs it, it mounts and records helper=cfsmin in utab so
 * that umount(8) execs it back.  The utab line is written by hand, without
 * libmount's lock: bench.sh runs alone in its namespace with a utab of its
 * own, and its paths need no escapes. */
static const char *utab_path(void)
{
	const char *p = getenv("LIBMOUNT_UTAB");

	return p ? p : "/run/mount/utab";
}

static int utab_append(const char *source, const char *target)
{
	FILE *f = fopen(utab_path(), "ae");
	int r = 0;

	if (!f)
		return neg_errno();
	if (fprintf(f, "SRC=%s TARGET=%s ROOT=/ OPTS=helper=cfsmin\n", source, target) < 0)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = neg_errno();
	return r;
}

static int utab_drop(const char *target)
{
	char tmp[4096], key[4096], *line = NULL;
	size_t cap = 0;
	FILE *in, *out;
	int r = 0;

	snprintf(tmp, sizeof(tmp), "%s.cfsmin", utab_path());
	snprintf(key, sizeof(key), " TARGET=%s ", target);
	in = fopen(utab_path(), "re");
	if (!in)
		return neg_errno();
	out = fopen(tmp, "we");
	if (!out) {
		fclose(in);
		return neg_errno();
	}
	while (getline(&line, &cap, in) > 0)
		if (!strstr(line, key) && fputs(line, out) < 0)
			r = -EIO;
	free(line);
	fclose(in);
	if (fclose(out) != 0 && r == 0)
		r = neg_errno();
	if (r == 0 && rename(tmp, utab_path()) < 0)
		r = neg_errno();
	return r;
}

/* mount(8)'s argv: SOURCE TARGET [-o OPTIONS] and flags; umount(8)'s: TARGET
 * and flags. */
static int as_helper(const char *name, int argc, char **argv)
{
	char *opts = NULL;
	int r;

	if (!strcmp(name, "umount.cfsmin") && argc >= 2) {
		if (umount2(argv[1], UMOUNT_NOFOLLOW) < 0)
			return neg_errno();
		return utab_drop(argv[1]);
	}
	if (strcmp(name, "mount.cfsmin") != 0 || argc < 3)
		return -EINVAL;
	for (int i = 3; i + 1 < argc; i++)
		if (!strcmp(argv[i], "-o"))
			opts = argv[i + 1];
	r = do_mount(argv[1], argv[2], opts ? opts : (char[]){ "" });
	return r < 0 ? r : utab_append(argv[1], argv[2]);
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_min mount SOURCE TARGET -o OPTIONS\n"
			"       bench_min umount TARGET\n"
			"       bench_min time REPS FILE...\n");
	return 1;
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int r;

	if (!strcmp(name, "mount.cfsmin") || !strcmp(name, "umount.cfsmin"))
		r = as_helper(name, argc, argv);
	else if (argc == 6 && !strcmp(argv[1], "mount") && !strcmp(argv[4], "-o"))
		r = do_mount(argv[2], argv[3], argv[5]);
	else if (argc == 3 && !strcmp(argv[1], "umount"))
		r = umount2(argv[2], UMOUNT_NOFOLLOW) < 0 ? neg_errno() : 0;
	else if (argc >= 4 && !strcmp(argv[1], "time"))
		r = do_time(atoi(argv[2]), argc - 3, argv + 3);
	else
		return usage();
	if (r < 0) {
		fprintf(stderr, "%s %s: %s\n", name, argc > 1 ? argv[1] : "", strerror(-r));
		return 32;
	}
	return 0;
}

/* Unit tests for src/idmap.c: uidmap=/gidmap= parsing, map text, user namespaces. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/nsfs.h>

#include <criterion/criterion.h>

#include "idmap.h"
#include "util.h"

#define MAX_ROW_RANGES 3

static const struct {
	const char *spec;
	size_t n;
	struct idmap_range r[MAX_ROW_RANGES];
} good_rows[] = {
	{ "0:100000:65536", 1, { { 0, 100000, 65536 } } },
	{ "1000:1000:1", 1, { { 1000, 1000, 1 } } },
	{ "0:1000:1 1:100000:65535", 2, { { 0, 1000, 1 }, { 1, 100000, 65535 } } },
	{ "  0:1000:1   1:100000:65535  ", 2, { { 0, 1000, 1 }, { 1, 100000, 65535 } } },
	{ "0:1:1 1:2:1 2:3:1", 3, { { 0, 1, 1 }, { 1, 2, 1 }, { 2, 3, 1 } } },
	/* fuse-overlayfs chains triplets with colons. */
	{ "0:100000:1:1:200000:65535", 2, { { 0, 100000, 1 }, { 1, 200000, 65535 } } },
	{ "0:10:1:1:20:1:2:30:1", 3, { { 0, 10, 1 }, { 1, 20, 1 }, { 2, 30, 1 } } },
	{ "0:10:1:1:20:1 2:30:1", 3, { { 0, 10, 1 }, { 1, 20, 1 }, { 2, 30, 1 } } },
	/* Adjacent ranges touch without overlapping. */
	{ "0:100:10 10:110:10", 2, { { 0, 100, 10 }, { 10, 110, 10 } } },
	/* The last id may be 2^32-2; 2^32-1 is the kernel's invalid id. */
	{ "4294967294:0:1", 1, { { 4294967294u, 0, 1 } } },
	{ "0:4294967294:1", 1, { { 0, 4294967294u, 1 } } },
	{ "0:0:4294967295", 1, { { 0, 0, 4294967295u } } },
	{ "007:0010:1", 1, { { 7, 10, 1 } } },
};

Test(idmap, parse_good)
{
	for (size_t i = 0; i < ARRAY_SIZE(good_rows); i++) {
		struct idmap m = { .n = 0 };
		struct cfs_error e = { 0 };
		int r = idmap_parse("uidmap", good_rows[i].spec, &m, &e);

		cr_assert_eq(r, 0, "row %zu \"%s\": returned %d: %s", i, good_rows[i].spec, r,
			     e.msg);
		cr_assert(!cfs_failed(&e), "row %zu: error recorded on success: %s", i, e.msg);
		cr_assert_eq(m.n, good_rows[i].n, "row %zu \"%s\": %zu ranges, want %zu", i,
			     good_rows[i].spec, m.n, good_rows[i].n);
		for (size_t j = 0; j < m.n; j++) {
			const struct idmap_range *g = &m.r[j], *w = &good_rows[i].r[j];

			cr_assert(g->inside == w->inside && g->outside == w->outside &&
					  g->count == w->count,
				  "row %zu \"%s\": range %zu is %u:%u:%u, want %u:%u:%u", i,
				  good_rows[i].spec, j, g->inside, g->outside, g->count, w->inside,
				  w->outside, w->count);
		}
	}
}

/* Each rejection names the option and quotes the text at fault. */
static const struct {
	const char *name;
	const char *spec;
	const char *want_in_msg;
} bad_rows[] = {
	/* missing fields */
	{ "uidmap", "0", "\"0\"" },
	{ "uidmap", "0:100000", "\"0:100000\"" },
	{ "uidmap", "0:100000:", "\"0:100000:\"" },
	{ "uidmap", "::", "\"::\"" },
	{ "gidmap", ":1:1", "\":1:1\"" },
	{ "uidmap", "0:1:1 2:3", "\"2:3\"" },
	/* not numbers */
	{ "uidmap", "a:1:1", "\"a:1:1\"" },
	{ "uidmap", "0:x:1", "\"0:x:1\"" },
	{ "uidmap", "0:1:1e3", "\"0:1:1e3\"" },
	{ "uidmap", "0x10:1:1", "\"0x10:1:1\"" },
	{ "uidmap", " 1.5:1:1", "\"1.5:1:1\"" },
	{ "uidmap", "0:1:1,2:3:4", "\"0:1:1,2:3:4\"" },
	{ "uidmap", "4294967296:0:1", "\"4294967296:0:1\"" },
	{ "uidmap", "99999999999:0:1", "\"99999999999:0:1\"" },
	/* negatives, signs */
	{ "uidmap", "-1:0:1", "\"-1:0:1\"" },
	{ "gidmap", "0:-5:1", "\"0:-5:1\"" },
	{ "uidmap", "0:5:-1", "\"0:5:-1\"" },
	{ "uidmap", "+1:0:1", "\"+1:0:1\"" },
	/* SIZE 0 */
	{ "uidmap", "0:1000:0", "\"0:1000:0\"" },
	{ "gidmap", "0:1000:1 1:2000:0", "\"1:2000:0\"" },
	/* wrap past 2^32-1 */
	{ "uidmap", "4294967295:0:1", "\"4294967295:0:1\"" },
	{ "uidmap", "0:4294967295:1", "\"0:4294967295:1\"" },
	{ "uidmap", "1:0:4294967295", "\"1:0:4294967295\"" },
	{ "uidmap", "4294967200:0:100", "\"4294967200:0:100\"" },
	/* overlapping container ranges */
	{ "uidmap", "0:1000:10 5:2000:10", "\"5:2000:10\"" },
	{ "uidmap", "0:1000:10 0:2000:1", "\"0:2000:1\"" },
	{ "uidmap", "5:1000:10 0:2000:6", "\"0:2000:6\"" },
	{ "uidmap", "0:1000:10:9:2000:10", "\"9:2000:10\"" },
	/* overlapping host ranges */
	{ "gidmap", "0:1000:10 20:1005:10", "\"20:1005:10\"" },
	{ "gidmap", "0:1000:10 20:990:11", "\"20:990:11\"" },
	{ "gidmap", "0:1000:1:1:1000:1", "\"1:1000:1\"" },
	/* empty value */
	{ "uidmap", "", "empty" },
	{ "gidmap", "   ", "empty" },
	/* trailing garbage */
	{ "uidmap", "0:1:1x", "\"0:1:1x\"" },
	{ "uidmap", "0:1:1 junk", "\"junk\"" },
	{ "uidmap", "0:1:1:", "\"0:1:1:\"" },
	{ "uidmap", "0:1:1: 1:2:1", "\"0:1:1: 1:2:1\"" },
	{ "uidmap", "0:1:1\t1:2:1", "\"0:1:1\\t1:2:1\"" /* escaped: one line */ },
	{ "uidmap", "0:1:1:1:2", "\"1:2\"" },
};

static void assert_rejected(size_t i, const char *name, const char *spec, const char *want)
{
	struct idmap m = { .n = 12345 };
	struct cfs_error e = { 0 };
	char prefix[32];
	int r = idmap_parse(name, spec, &m, &e);

	cr_assert_eq(r, -EINVAL, "row %zu %s=\"%s\": returned %d, want -EINVAL", i, name, spec, r);
	cr_assert(cfs_failed(&e), "row %zu %s=\"%s\": no message", i, name, spec);
	cr_assert_eq(e.stage, CFS_STAGE_USAGE, "row %zu %s=\"%s\": stage %d", i, name, spec,
		     (int)e.stage);
	snprintf(prefix, sizeof(prefix), "bad %s", name);
	cr_assert(strncmp(e.msg, prefix, strlen(prefix)) == 0,
		  "row %zu %s=\"%s\": message does not start with \"%s\": %s", i, name, spec,
		  prefix, e.msg);
	cr_assert(strstr(e.msg, want) != NULL, "row %zu %s=\"%s\": message lacks '%s': %s", i, name,
		  spec, want, e.msg);
	cr_assert_eq(m.n, 12345, "row %zu %s=\"%s\": ret touched on failure", i, name, spec);
}

Test(idmap, parse_bad)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_rows); i++)
		assert_rejected(i, bad_rows[i].name, bad_rows[i].spec, bad_rows[i].want_in_msg);
}

Test(idmap, parse_null)
{
	struct idmap m = { .n = 0 };
	struct cfs_error e = { 0 };
	int r = idmap_parse("uidmap", NULL, &m, &e);

	cr_assert_eq(r, -EINVAL, "NULL spec returned %d", r);
	cr_assert(strstr(e.msg, "uidmap") != NULL, "message lacks the option name: %s", e.msg);
}

/* "0:1000:1 1:1001:1 ..." with n ranges, spaced or chained with colons: short
 * enough that 340 of them fit the one page of map text. */
static char *many_ranges(size_t n, char sep)
{
	size_t cap = n * 32 + 1, len = 0;
	char *s = malloc(cap);

	cr_assert(s != NULL, "malloc");
	s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%zu:%zu:1",
					i ? (char[]){ sep, 0 } : "", i, 1000 + i);
	return s;
}

Test(idmap, range_count_limit)
{
	static const struct {
		size_t n;
		char sep;
		int want_r;
	} rows[] = {
		{ IDMAP_MAX_RANGES, ' ', 0 },
		{ IDMAP_MAX_RANGES, ':', 0 },
		{ IDMAP_MAX_RANGES + 1, ' ', -EINVAL },
		{ IDMAP_MAX_RANGES + 1, ':', -EINVAL },
	};

	cr_assert_eq(IDMAP_MAX_RANGES, 340, "the kernel's map limit is 340 lines");
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		_cleanup_free_ char *spec = many_ranges(rows[i].n, rows[i].sep);
		struct idmap *m = calloc(1, sizeof(*m));
		struct cfs_error e = { 0 };
		int r;

		cr_assert(m != NULL, "calloc");
		r = idmap_parse("uidmap", spec, m, &e);
		cr_assert_eq(r, rows[i].want_r, "row %zu (%zu ranges, '%c'): returned %d: %s", i,
			     rows[i].n, rows[i].sep, r, e.msg);
		if (r == 0) {
			cr_assert_eq(m->n, rows[i].n, "row %zu: %zu ranges", i, m->n);
		} else {
			/* The first range past the limit is the offending text. */
			cr_assert(strstr(e.msg, "\"340:1340:1\"") != NULL,
				  "row %zu: message does not quote the 341st range: %s", i, e.msg);
			cr_assert(strstr(e.msg, "340") != NULL,
				  "row %zu: message lacks the limit: %s", i, e.msg);
		}
		free(m);
	}
}

/* The kernel takes a map in one write of less than a page: 171 ranges of
 * 10-digit ids pass every other check and would die there with EINVAL. */
Test(idmap, text_length_limit)
{
	static const struct {
		size_t n;
		int want_r;
	} rows[] = {
		{ 1, 0 },
		{ 150, 0 },
		{ 171, -EINVAL },
		{ 340, -EINVAL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char *spec = calloc(rows[i].n, 40);
		struct idmap *m = calloc(1, sizeof(*m));
		struct cfs_error e = { 0 };
		size_t len = 0;
		int r;

		cr_assert(spec && m, "calloc");
		for (size_t k = 0; k < rows[i].n; k++)
			len += (size_t)sprintf(spec + len, "%s%zu:%zu:1", k ? " " : "",
					       1000000000 + k, 3000000000 + k);
		r = idmap_parse("gidmap", spec, m, &e);
		cr_expect_eq(r, rows[i].want_r, "%zu ranges: returned %d: %s", rows[i].n, r, e.msg);
		if (r == 0)
			cr_expect_leq(idmap_text_len(m), idmap_text_max(), "%zu ranges", rows[i].n);
		else
			cr_expect(strstr(e.msg, "gidmap") && strstr(e.msg, "one page"),
				  "%zu ranges: message lacks the map or the limit: %s", rows[i].n,
				  e.msg);
		free(spec);
		free(m);
	}
}

Test(idmap, format_table)
{
	static const struct {
		struct idmap_range r[MAX_ROW_RANGES];
		size_t n;
		const char *want;
	} rows[] = {
		{ { { 0, 0, 0 } }, 0, "" },
		{ { { 0, 100000, 65536 } }, 1, "0 100000 65536\n" },
		{ { { 0, 1000, 1 }, { 1, 100000, 65535 } }, 2, "0 1000 1\n1 100000 65535\n" },
		{ { { 4294967294u, 4294967294u, 1 } }, 1, "4294967294 4294967294 1\n" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct idmap m = { .n = rows[i].n };
		char buf[128];
		int r;

		memcpy(m.r, rows[i].r, sizeof(rows[i].r));
		memset(buf, 'Z', sizeof(buf));
		r = idmap_format(&m, buf, sizeof(buf));
		cr_assert_eq(r, 0, "row %zu: returned %d", i, r);
		cr_assert(memchr(buf, '\0', sizeof(buf)) != NULL, "row %zu: not terminated", i);
		cr_assert_str_eq(buf, rows[i].want, "row %zu: \"%s\", want \"%s\"", i, buf,
				 rows[i].want);
	}
}

Test(idmap, format_too_small)
{
	struct idmap m = { .n = 2 };
	const char *full = "0 1000 1\n1 100000 65535\n";
	char buf[64];

	m.r[0] = (struct idmap_range){ 0, 1000, 1 };
	m.r[1] = (struct idmap_range){ 1, 100000, 65535 };
	for (size_t size = 1; size <= strlen(full); size++) {
		memset(buf, 'Z', sizeof(buf));
		cr_assert_eq(idmap_format(&m, buf, size), -ENOSPC, "size %zu must not fit", size);
		cr_assert_eq(buf[size], 'Z', "size %zu: wrote past the buffer", size);
	}
	cr_assert_eq(idmap_format(&m, buf, strlen(full) + 1), 0, "exact size must fit");
	cr_assert_str_eq(buf, full, "\"%s\"", buf);
}

Test(idmap, format_parse_round_trip)
{
	static const char *specs[] = {
		"0:100000:65536",
		"0:1000:1 1:100000:65535",
		"0:100000:1:1:200000:65535",
	};

	for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
		struct idmap m = { .n = 0 };
		struct cfs_error e = { 0 };
		char text[256], want[256] = "";
		_cleanup_free_ char *dup = strdup(specs[i]);

		cr_assert_eq(idmap_parse("uidmap", specs[i], &m, &e), 0, "row %zu: %s", i, e.msg);
		cr_assert_eq(idmap_format(&m, text, sizeof(text)), 0, "row %zu: format", i);
		/* Expected text: every number, three to a line. */
		{
			size_t k = 0;

			for (char *tok = strtok(dup, ": "); tok; tok = strtok(NULL, ": "), k++) {
				strcat(want, tok);
				strcat(want, k % 3 == 2 ? "\n" : " ");
			}
		}
		cr_assert_str_eq(text, want, "row %zu: \"%s\", want \"%s\"", i, text, want);
	}
}

static size_t count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	size_t n = 0;

	cr_assert(d != NULL, "opendir /proc/self/fd: %s", strerror(errno));
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Reads /proc/self/<file> in the current (child) process and compares it to m. */
static int child_check_map(const char *file, const struct idmap *m)
{
	char path[64];
	FILE *f;
	size_t n = 0;
	unsigned long a, b, c;
	int bad = 0;

	snprintf(path, sizeof(path), "/proc/self/%s", file);
	f = fopen(path, "re");
	if (!f)
		return 1;
	while (fscanf(f, "%lu %lu %lu", &a, &b, &c) == 3) {
		if (n >= m->n || a != m->r[n].inside || b != m->r[n].outside || c != m->r[n].count)
			bad = 1;
		n++;
	}
	fclose(f);
	return bad || n != m->n;
}

Test(idmap, userns_fd_as_root)
{
	struct idmap uid = { .n = 0 }, gid = { .n = 0 };
	struct cfs_error e = { 0 };
	int fd = -EBADF, r, status;
	size_t fds_before;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("idmap_userns_fd writes uid_map/gid_map: needs root (euid %d)",
			     (int)geteuid());

	cr_assert_eq(idmap_parse("uidmap", "0:100000:65536", &uid, &e), 0, "%s", e.msg);
	cr_assert_eq(idmap_parse("gidmap", "0:200000:1000 1000:300000:10", &gid, &e), 0, "%s",
		     e.msg);
	fds_before = count_open_fds();

	r = idmap_userns_fd(&uid, &gid, &fd, &e);
	if (r == -EPERM || r == -ENOSPC || r == -EINVAL)
		cr_skip_test("user namespaces are not available here: %s", e.msg);
	cr_assert_eq(r, 0, "idmap_userns_fd returned %d: %s", r, e.msg);
	cr_assert_geq(fd, 0, "no fd returned");

	/* The helper child has been reaped: there is nothing left to wait for. */
	errno = 0;
	cr_assert_eq(waitpid(-1, &status, WNOHANG), -1, "a child process is left behind");
	cr_assert_eq(errno, ECHILD, "waitpid: %s, want ECHILD", strerror(errno));
	cr_assert_eq(count_open_fds(), fds_before + 1, "fds leaked: %zu before, %zu after",
		     fds_before, count_open_fds());
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "the fd is not O_CLOEXEC");
	cr_assert_eq(ioctl(fd, NS_GET_NSTYPE), CLONE_NEWUSER, "fd is not a user namespace");

	/* Join the namespace in a child and read the maps back. */
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (setns(fd, CLONE_NEWUSER) < 0)
			_exit(10);
		if (child_check_map("uid_map", &uid))
			_exit(11);
		if (child_check_map("gid_map", &gid))
			_exit(12);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid: %s", strerror(errno));
	cr_assert(WIFEXITED(status), "checker child died, status %#x", status);
	cr_assert_eq(WEXITSTATUS(status), 0,
		     "checker child: %d (10 setns failed, 11 uid_map differs, 12 gid_map differs)",
		     WEXITSTATUS(status));
	close(fd);
}

Test(idmap, userns_open_table)
{
	static const struct {
		const char *path;
		int ok;
		const char *want_in_msg;
	} rows[] = {
		{ "/proc/self/ns/user", 0, "initial user namespace" },
		{ "/proc/self/ns/mnt", 0, "not a user namespace" },
		{ "/", 0, "/ is a directory" },
		{ "/proc/self/status", 0, "a regular file" },
		{ "/dev/null", 0, "a character device" },
		{ "/nonexistent/ns/user", 0, "/nonexistent/ns/user" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct cfs_error e = { 0 };
		int fd = -EBADF;
		int r = idmap_userns_open(rows[i].path, &fd, &e);

		if (rows[i].ok) {
			cr_assert_eq(r, 0, "row %zu %s: returned %d: %s", i, rows[i].path, r,
				     e.msg);
			cr_assert_eq(ioctl(fd, NS_GET_NSTYPE), CLONE_NEWUSER,
				     "row %zu: not a userns", i);
			close(fd);
		} else {
			cr_assert_lt(r, 0, "row %zu %s: accepted", i, rows[i].path);
			cr_assert_eq(fd, -EBADF, "row %zu: fd set on failure", i);
			cr_assert_eq(e.stage, CFS_STAGE_USAGE, "row %zu: stage %d", i,
				     (int)e.stage);
			cr_assert(strstr(e.msg, rows[i].want_in_msg) != NULL,
				  "row %zu: message lacks '%s': %s", i, rows[i].want_in_msg, e.msg);
		}
	}
}

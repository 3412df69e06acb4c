/* Unit tests for src/layers.c: lowerdir parsing, escaping, compaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "layers.h"
#include "util.h"

#define MAX_ROW_LAYERS 4
#define CTRD_SNAPSHOTS "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots"

struct want_layer {
	const char *path;
	bool data_only;
};

/* A lowerdir value and the decoded layers, or the error, side by side. */
static const struct {
	const char *lowerdir;
	int want_r;
	struct want_layer want[MAX_ROW_LAYERS];
} parse_rows[] = {
	{ "/a", 0, { { "/a", false } } },
	{ "/a:/b:/c", 0, { { "/a", false }, { "/b", false }, { "/c", false } } },
	{ "rel/a:./b", 0, { { "rel/a", false }, { "./b", false } } },
	{ "/a\\:b:/c", 0, { { "/a:b", false }, { "/c", false } } },
	{ "/a\\,b", 0, { { "/a,b", false } } },
	{ "/a\\\\b", 0, { { "/a\\b", false } } },
	{ "/a\\\\:/b", 0, { { "/a\\", false }, { "/b", false } } },
	{ "/x\\:\\,\\\\y", 0, { { "/x:,\\y", false } } },
	{ "/l::/d", 0, { { "/l", false }, { "/d", true } } },
	{ "/l1:/l2::/d1::/d2",
	  0,
	  { { "/l1", false }, { "/l2", false }, { "/d1", true }, { "/d2", true } } },
	{ "/l\\::/d", 0, { { "/l:", false }, { "/d", false } } },
	{ "/l\\:::/d", 0, { { "/l:", false }, { "/d", true } } },
	{ "/l::/d\\:x", 0, { { "/l", false }, { "/d:x", true } } },

	{ "", -EINVAL, { { NULL, false } } },
	{ ":", -EINVAL, { { NULL, false } } },
	{ ":/a", -EINVAL, { { NULL, false } } },
	{ "/a:", -EINVAL, { { NULL, false } } },
	{ "/a::", -EINVAL, { { NULL, false } } },
	{ "::/a", -EINVAL, { { NULL, false } } },
	{ "/a:::/b", -EINVAL, { { NULL, false } } },
	{ "/a::::/b", -EINVAL, { { NULL, false } } },
	{ "/a:/b::/c:", -EINVAL, { { NULL, false } } },
	/* "::" introduces one data-only layer; a regular layer after it is refused
	 * by overlay ("regular lower layers cannot follow data lower layers"). */
	{ "/a::/d:/b", -EINVAL, { { NULL, false } } },
};

Test(layers, parse_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(parse_rows); i++) {
		struct cfs_layers l = { 0 };
		size_t want_n = 0;
		int r = layers_parse(parse_rows[i].lowerdir, &l);

		cr_assert_eq(r, parse_rows[i].want_r, "row %zu \"%s\": returned %d (%s), want %d",
			     i, parse_rows[i].lowerdir, r, strerror(-r), parse_rows[i].want_r);
		if (r < 0) {
			cr_assert_eq(l.n, 0, "row %zu \"%s\": ret touched on failure", i,
				     parse_rows[i].lowerdir);
			continue;
		}
		while (want_n < MAX_ROW_LAYERS && parse_rows[i].want[want_n].path)
			want_n++;
		cr_assert_eq(l.n, want_n, "row %zu \"%s\": %zu layers, want %zu", i,
			     parse_rows[i].lowerdir, l.n, want_n);
		for (size_t j = 0; j < l.n; j++) {
			cr_assert_str_eq(l.v[j].path, parse_rows[i].want[j].path,
					 "row %zu \"%s\": layer %zu is \"%s\", want \"%s\"", i,
					 parse_rows[i].lowerdir, j, l.v[j].path,
					 parse_rows[i].want[j].path);
			cr_assert_eq(l.v[j].data_only, parse_rows[i].want[j].data_only,
				     "row %zu \"%s\": layer %zu data_only=%d", i,
				     parse_rows[i].lowerdir, j, l.v[j].data_only);
		}
		layers_free(&l);
	}
}

/* Canonically escaped values come back byte for byte from parse + join. */
Test(layers, parse_join_round_trip)
{
	static const char *rows[] = {
		"/a",
		"/a:/b:/c",
		"/a\\:b:/c\\,d:/e\\\\f",
		"/with\\:\\:colons:/x",
		"/l1:/l2::/d1::/d2",
		"/odd\\,name\\\\:/x::/data\\:only",
		"relative/path:/abs",
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct cfs_layers l = { 0 };
		_cleanup_free_ char *s = NULL;
		int r = layers_parse(rows[i], &l);

		cr_assert_eq(r, 0, "row %zu \"%s\": parse returned %d", i, rows[i], r);
		r = layers_join(&l, 0, &s);
		cr_assert_eq(r, 0, "row %zu \"%s\": join returned %d", i, rows[i], r);
		cr_assert_str_eq(s, rows[i], "row %zu: joined \"%s\", want \"%s\"", i, s, rows[i]);
		layers_free(&l);
	}
}

Test(layers, escape_table)
{
	static const struct {
		const char *path;
		const char *want;
	} rows[] = {
		{ "", "" },
		{ "/plain/path", "/plain/path" },
		{ "/a:b", "/a\\:b" },
		{ "/a,b", "/a\\,b" },
		{ "/a\\b", "/a\\\\b" },
		{ ":,\\", "\\:\\,\\\\" },
		{ "/sp ace=\"q\"", "/sp ace=\"q\"" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char buf[64];
		size_t n;

		memset(buf, 'Z', sizeof(buf));
		n = layers_escape(rows[i].path, buf);
		cr_assert_eq(n, strlen(rows[i].want), "row %zu \"%s\": wrote %zu bytes, want %zu",
			     i, rows[i].path, n, strlen(rows[i].want));
		cr_assert(memcmp(buf, rows[i].want, n) == 0,
			  "row %zu \"%s\": got \"%.*s\", want \"%s\"", i, rows[i].path, (int)n, buf,
			  rows[i].want);
		cr_assert_eq(buf[n], 'Z', "row %zu: wrote past the returned length", i);
	}
}

/* "/l/1:/l/2:...:/l/N" */
static char *numbered_lowerdir(const char *prefix, const char *suffix, size_t n)
{
	size_t cap = n * (strlen(prefix) + strlen(suffix) + 16) + 1, len = 0;
	char *s = malloc(cap);

	cr_assert(s != NULL, "malloc");
	s[0] = '\0';
	for (size_t i = 1; i <= n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%s/%zu%s", i > 1 ? ":" : "", prefix,
					i, suffix);
	return s;
}

Test(layers, layer_count_limit)
{
	static const struct {
		size_t n;
		int want_r;
	} rows[] = {
		{ 1, 0 },
		{ 2, 0 },
		{ OVL_MAX_LAYERS - 1, 0 },
		{ OVL_MAX_LAYERS, 0 },
		{ OVL_MAX_LAYERS + 1, -E2BIG },
		{ 2 * OVL_MAX_LAYERS, -E2BIG },
	};

	cr_assert_eq(OVL_MAX_LAYERS, 500, "the kernel's OVL_MAX_STACK is 500");
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		_cleanup_free_ char *s = numbered_lowerdir("/l", "", rows[i].n);
		struct cfs_layers l = { 0 };
		int r = layers_parse(s, &l);

		cr_assert_eq(r, rows[i].want_r, "row %zu: %zu layers returned %d, want %d", i,
			     rows[i].n, r, rows[i].want_r);
		if (r == 0) {
			cr_assert_eq(l.n, rows[i].n, "row %zu: parsed %zu layers", i, l.n);
			cr_assert_str_eq(l.v[l.n - 1].path,
					 strrchr(s, ':') ? strrchr(s, ':') + 1 : s,
					 "row %zu: last layer \"%s\"", i, l.v[l.n - 1].path);
		} else {
			cr_assert_eq(l.n, 0, "row %zu: ret touched on failure", i);
		}
		layers_free(&l);
	}
}

/* containerd's overlay snapshotter: .../snapshots/N/fs for 500 layers. */
Test(layers, containerd_500_layers_compact)
{
	_cleanup_free_ char *s = numbered_lowerdir(CTRD_SNAPSHOTS, "/fs", OVL_MAX_LAYERS);
	_cleanup_free_ char *dir = NULL, *joined = NULL, *full = NULL, *want = NULL;
	struct cfs_layers l = { 0 };
	int r;

	cr_assert_gt(strlen(s), layers_data_limit(), "the uncompacted list must not fit a page");
	r = layers_parse(s, &l);
	cr_assert_eq(r, 0, "parse returned %d", r);
	cr_assert_eq(l.n, OVL_MAX_LAYERS, "parsed %zu layers", l.n);

	r = layers_common_dir(&l, &dir);
	cr_assert_eq(r, 0, "common_dir returned %d", r);
	cr_assert_str_eq(dir, CTRD_SNAPSHOTS, "common dir \"%s\"", dir);

	r = layers_join(&l, strlen(dir) + 1, &joined);
	cr_assert_eq(r, 0, "join returned %d", r);
	want = numbered_lowerdir("", "/fs", OVL_MAX_LAYERS);
	/* numbered_lowerdir("") gives "/1/fs:/2/fs...": drop the leading slashes. */
	{
		size_t k = 0;

		for (size_t j = 0; want[j]; j++)
			if (!(want[j] == '/' && (j == 0 || want[j - 1] == ':')))
				want[k++] = want[j];
		want[k] = '\0';
	}
	cr_assert_str_eq(joined, want, "stripped list starts \"%.40s\"", joined);
	cr_assert(asprintf(&full, "lowerdir=%s", joined) > 0, "asprintf");
	cr_assert_lt(strlen(full), layers_data_limit(),
		     "compacted lowerdir= (%zu bytes) must fit the data limit %zu", strlen(full),
		     layers_data_limit());
	layers_free(&l);
}

static const struct {
	const char *lowerdir;
	int want_r;
	const char *want_dir;
} common_rows[] = {
	{ CTRD_SNAPSHOTS "/1/fs:" CTRD_SNAPSHOTS "/2/fs", 0, CTRD_SNAPSHOTS },
	/* The common prefix ends inside a name: back off to the directory. */
	{ CTRD_SNAPSHOTS "/1/fs:" CTRD_SNAPSHOTS "/12/fs", 0, CTRD_SNAPSHOTS },
	{ CTRD_SNAPSHOTS "/12/fs:" CTRD_SNAPSHOTS "/1/fs", 0, CTRD_SNAPSHOTS },
	{ "/s/1:/s/12", 0, "/s" },
	{ "/s/abc:/s/abd", 0, "/s" },
	/* A single layer: its parent directory. */
	{ CTRD_SNAPSHOTS "/7/fs", 0, CTRD_SNAPSHOTS "/7" },
	{ "/a/b/c", 0, "/a/b" },
	/* The common prefix is a whole layer: still its parent. */
	{ "/a/b:/a/b/c", 0, "/a" },
	{ "/a/b:/a/b", 0, "/a" },
	{ "/s/x\\:1:/s/x\\:2", 0, "/s" },
	{ "/s/l1:/s/l2::/s/d1", 0, "/s" },
	{ "foo/a:foo/b", 0, "foo" },
	/* None, or only "/" or ".": refused. */
	{ "/x/1:/y/2", -ENOENT, NULL },
	{ "/1:/2", -ENOENT, NULL },
	{ "/a", -ENOENT, NULL },
	{ "/", -ENOENT, NULL },
	{ "a/1:b/2", -ENOENT, NULL },
	{ "a:b", -ENOENT, NULL },
	{ "./a:./b", -ENOENT, NULL },
	{ CTRD_SNAPSHOTS "/1/fs:/tmp/other", -ENOENT, NULL },
};

Test(layers, common_dir_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(common_rows); i++) {
		struct cfs_layers l = { 0 };
		char *dir = (char *)"untouched";
		int r = layers_parse(common_rows[i].lowerdir, &l);

		cr_assert_eq(r, 0, "row %zu \"%s\": parse returned %d", i, common_rows[i].lowerdir,
			     r);
		r = layers_common_dir(&l, &dir);
		cr_assert_eq(r, common_rows[i].want_r, "row %zu \"%s\": returned %d, want %d", i,
			     common_rows[i].lowerdir, r, common_rows[i].want_r);
		if (r == 0) {
			cr_assert_str_eq(dir, common_rows[i].want_dir,
					 "row %zu \"%s\": dir \"%s\", want \"%s\"", i,
					 common_rows[i].lowerdir, dir, common_rows[i].want_dir);
			free(dir);
		} else {
			cr_assert_str_eq(dir, "untouched", "row %zu: ret_dir set on failure", i);
		}
		layers_free(&l);
	}
}

Test(layers, common_dir_empty_list)
{
	struct cfs_layers l = { 0 };
	char *dir = NULL;
	int r = layers_common_dir(&l, &dir);

	cr_assert_eq(r, -ENOENT, "no layers returned %d", r);
	cr_assert_null(dir, "ret_dir set on failure");
}

/* After compaction the list is relative to the common directory, with the
 * escapes and the data-only separators of the original. */
Test(layers, join_strip_table)
{
	static const struct {
		const char *lowerdir;
		const char *want;
	} rows[] = {
		{ "/s/1/fs:/s/2/fs", "1/fs:2/fs" },
		{ "/s/1:/s/12", "1:12" },
		{ "/s/l1:/s/l2::/s/d1::/s/d2", "l1:l2::d1::d2" },
		{ "/s/a\\:b:/s/c\\,d:/s/e\\\\f", "a\\:b:c\\,d:e\\\\f" },
		{ "/s/x\\:1:/s/x\\:2", "x\\:1:x\\:2" },
		{ "/a/b/c", "c" },
		{ "/a/b:/a/b/c", "b:b/c" },
		/* Doubled slashes must not leave an absolute path behind. */
		{ "/var/lib/x//1:/var/lib/x//2", "1:2" },
		{ "/a//b:/a/b/c", "b:b/c" },
		{ CTRD_SNAPSHOTS "/1/fs:" CTRD_SNAPSHOTS "/12/fs", "1/fs:12/fs" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		_cleanup_free_ char *dir = NULL, *s = NULL;
		struct cfs_layers l = { 0 };
		int r = layers_parse(rows[i].lowerdir, &l);

		cr_assert_eq(r, 0, "row %zu \"%s\": parse returned %d", i, rows[i].lowerdir, r);
		r = layers_common_dir(&l, &dir);
		cr_assert_eq(r, 0, "row %zu \"%s\": common_dir returned %d", i, rows[i].lowerdir,
			     r);
		r = layers_join(&l, strlen(dir) + 1, &s);
		cr_assert_eq(r, 0, "row %zu \"%s\": join returned %d", i, rows[i].lowerdir, r);
		cr_assert_str_eq(s, rows[i].want,
				 "row %zu \"%s\" (dir %s): joined \"%s\", want \"%s\"", i,
				 rows[i].lowerdir, dir, s, rows[i].want);
		cr_assert_neq(s[0], '/', "row %zu: compacted paths must be relative", i);
		layers_free(&l);
	}
}

Test(layers, data_limit)
{
	long page = sysconf(_SC_PAGESIZE);

	cr_assert_gt(page, 0, "sysconf(_SC_PAGESIZE) failed");
	cr_assert_eq(PAGE_SLACK, 512, "containerd keeps 512 bytes of the page free");
	cr_assert_eq(layers_data_limit(), (size_t)page - PAGE_SLACK,
		     "limit %zu, want page size %ld - %d", layers_data_limit(), page, PAGE_SLACK);
}

/* upperdir= and workdir= values: exactly one path, with overlay's escapes. */
static const struct {
	const char *raw;
	int want_r;
	const char *want;
} decode_rows[] = {
	{ "/u", 0, "/u" },	    { "rel/u", 0, "rel/u" },	 { "/a\\:b", 0, "/a:b" },
	{ "/a\\,b", 0, "/a,b" },    { "/a\\\\b", 0, "/a\\b" },	 { "", -EINVAL, NULL },
	{ "/a:/b", -EINVAL, NULL }, { "/a::/b", -EINVAL, NULL }, { "/a:", -EINVAL, NULL },
};

Test(layers, decode_path_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(decode_rows); i++) {
		char *path = NULL;
		int r = layers_decode_path(decode_rows[i].raw, &path);

		cr_expect_eq(r, decode_rows[i].want_r, "%s: got %d, want %d", decode_rows[i].raw, r,
			     decode_rows[i].want_r);
		if (decode_rows[i].want)
			cr_expect_str_eq(path ? path : "(null)", decode_rows[i].want, "%s",
					 decode_rows[i].raw);
		else
			cr_expect_null(path, "%s: no path on failure", decode_rows[i].raw);
		free(path);
	}
}

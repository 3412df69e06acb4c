/*
 * libFuzzer harness for src/layers.c: the lowerdir parser, overlay's escapes and
 * the compaction of long lowerdir values (common directory + stripped join).
 *
 * Properties checked (abort() on violation):
 * - a failed parse leaves ret untouched;
 * - every layer path is non-empty, the first layer is never data-only and no
 *   regular layer follows a data-only one;
 * - parse(join(parse(x))) == parse(x), and join is a fixpoint from there on;
 * - layers_decode_path(escape(p)) == p for every layer path p;
 * - the common directory is a prefix of every path followed by '/', is never
 *   "/" or ".", and the compacted join decodes to paths that are dir + "/" +
 *   the stripped path.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"

/* A compacted path must stay relative to the common directory, or mount(2)
 * resolves it from "/" instead ("dir//x" once came out as "/x"). */
#ifndef FUZZ_COMPACT_RELATIVE
#define FUZZ_COMPACT_RELATIVE 1
#endif

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static bool layers_equal(const struct cfs_layers *a, const struct cfs_layers *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].path, b->v[i].path) != 0 ||
		    a->v[i].data_only != b->v[i].data_only)
			return false;
	return true;
}

static void check_shape(const struct cfs_layers *l)
{
	bool seen_data_only = false;

	CHECK(l->n >= 1 && l->n <= OVL_MAX_LAYERS);
	CHECK(!l->v[0].data_only);
	for (size_t i = 0; i < l->n; i++) {
		CHECK(l->v[i].path && l->v[i].path[0] != '\0');
		CHECK(!seen_data_only || l->v[i].data_only);
		seen_data_only = l->v[i].data_only;
	}
}

static void check_escape(const char *path)
{
	size_t len = strlen(path);
	/* Exactly the worst case, so that ASan sees any write past it. */
	char *buf = malloc(2 * len + 1);
	char *back = NULL;
	size_t n;

	CHECK(buf);
	n = layers_escape(path, buf);
	CHECK(n >= len && n <= 2 * len);
	buf[n] = '\0';
	CHECK(layers_decode_path(buf, &back) == 0);
	CHECK(strcmp(back, path) == 0);
	free(back);
	free(buf);
}

/* now, relative to the common directory, names what rest (the path after
 * "dir/") named: rest itself, or rest without the extra slashes of "dir//x",
 * or "." for a path that is the directory itself. */
static bool same_under_dir(const char *rest, const char *now)
{
	const char *trimmed = rest + strspn(rest, "/");

	if (strcmp(rest, now) == 0 || strcmp(trimmed, now) == 0)
		return true;
	return *trimmed == '\0' && strcmp(now, ".") == 0;
}

static void check_compaction(const struct cfs_layers *l)
{
	struct cfs_layers c = { 0 };
	char *dir = NULL, *joined = NULL;
	size_t len;
	int r;

	r = layers_common_dir(l, &dir);
	CHECK(r == 0 || r == -ENOENT || r == -ENOMEM);
	if (r < 0)
		return;
	len = strlen(dir);
	CHECK(len > 0);
	CHECK(strcmp(dir, "/") != 0 && strcmp(dir, ".") != 0);
	for (size_t i = 0; i < l->n; i++) {
		CHECK(strncmp(l->v[i].path, dir, len) == 0);
		CHECK(l->v[i].path[len] == '/');
	}

	r = layers_join(l, len + 1, &joined);
	if (r == -ENOMEM)
		goto out;
	CHECK(r == 0);
	CHECK(layers_parse(joined, &c) == 0);
	CHECK(c.n == l->n);
	for (size_t i = 0; i < l->n; i++) {
		const char *orig = l->v[i].path, *now = c.v[i].path;

		CHECK(c.v[i].data_only == l->v[i].data_only);
		if (strlen(orig) > len + 1) {
			/* Stripped: dir + "/" + now names the original path. */
			CHECK(same_under_dir(orig + len + 1, now));
			if (FUZZ_COMPACT_RELATIVE)
				CHECK(now[0] != '/');
		} else {
			/* Exactly "dir/": left as it is (absolute or not). */
			CHECK(strcmp(orig, now) == 0);
		}
	}
out:
	layers_free(&c);
	free(joined);
	free(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfs_layers l = { 0 }, again = { 0 };
	struct cfs_layers untouched = { (struct cfs_layer *)(uintptr_t)0x1, 42 };
	char *input, *joined = NULL, *rejoined = NULL, *one = (char *)(uintptr_t)0x1;
	int r;

	/* The parsers take C strings: an embedded NUL simply ends the input. */
	input = malloc(size + 1);
	if (!input)
		return 0;
	memcpy(input, data, size);
	input[size] = '\0';

	/* upperdir=/workdir= decoding: exactly one non-empty, non-data-only path. */
	r = layers_decode_path(input, &one);
	CHECK(r == 0 || r == -EINVAL || r == -E2BIG || r == -ENOMEM);
	if (r == 0) {
		CHECK(one[0] != '\0');
		free(one);
	} else {
		CHECK(one == (char *)(uintptr_t)0x1);
	}

	r = layers_parse(input, &untouched);
	if (r < 0) {
		CHECK(r == -EINVAL || r == -E2BIG || r == -ENOMEM);
		CHECK(untouched.v == (struct cfs_layer *)(uintptr_t)0x1 && untouched.n == 42);
		goto out;
	}
	l = untouched;
	check_shape(&l);

	r = layers_join(&l, 0, &joined);
	if (r == -ENOMEM)
		goto out;
	CHECK(r == 0);
	r = layers_parse(joined, &again);
	CHECK(r == 0);
	CHECK(layers_equal(&l, &again));
	r = layers_join(&again, 0, &rejoined);
	if (r == -ENOMEM)
		goto out;
	CHECK(r == 0);
	CHECK(strcmp(joined, rejoined) == 0);

	for (size_t i = 0; i < l.n; i++)
		check_escape(l.v[i].path);

	check_compaction(&l);
out:
	free(rejoined);
	free(joined);
	layers_free(&again);
	layers_free(&l);
	free(input);
	return 0;
}

/*
 * libFuzzer harness for src/idmap.c: the uidmap=/gidmap= parser and the
 * /proc/PID/uid_map formatter.
 *
 * Properties checked (abort() on violation):
 * - a failed parse leaves ret untouched and names the problem in e.msg;
 * - a parsed map has 1..IDMAP_MAX_RANGES ranges, none empty, none wrapping past
 *   2^32-1, none overlapping another on either side;
 * - the map written back in the spaced (containerd) and in the chained
 *   (fuse-overlayfs) form parses to the same map;
 * - idmap_format() writes exactly "I O C\n" per range, fails with -ENOSPC one
 *   byte short and never writes past the size it is given.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* "4294967295:4294967295:4294967295" and a separator. */
#define RANGE_TEXT_MAX 34
#define MAP_TEXT_MAX   (IDMAP_MAX_RANGES * RANGE_TEXT_MAX + 1)

static bool overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
	return (uint64_t)a < (uint64_t)b + blen && (uint64_t)b < (uint64_t)a + alen;
}

static bool maps_equal(const struct idmap *a, const struct idmap *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->r[i].inside != b->r[i].inside || a->r[i].outside != b->r[i].outside ||
		    a->r[i].count != b->r[i].count)
			return false;
	return true;
}

static void check_valid(const struct idmap *m)
{
	CHECK(m->n >= 1 && m->n <= IDMAP_MAX_RANGES);
	for (size_t i = 0; i < m->n; i++) {
		const struct idmap_range *r = &m->r[i];

		CHECK(r->count > 0);
		CHECK((uint64_t)r->inside + r->count <= UINT32_MAX);
		CHECK((uint64_t)r->outside + r->count <= UINT32_MAX);
		for (size_t j = 0; j < i; j++) {
			CHECK(!overlap(m->r[j].inside, m->r[j].count, r->inside, r->count));
			CHECK(!overlap(m->r[j].outside, m->r[j].count, r->outside, r->count));
		}
	}
}

/* The map as a uidmap= value, ranges separated by sep (' ' or ':'). */
static void spec_of(const struct idmap *m, char sep, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < m->n; i++) {
		int k = snprintf(buf + n, size - n, "%s%u:%u:%u", i ? (sep == ' ' ? " " : ":") : "",
				 m->r[i].inside, m->r[i].outside, m->r[i].count);

		CHECK(k > 0 && (size_t)k < size - n);
		n += (size_t)k;
	}
}

static void check_reparse(const struct idmap *m, char sep)
{
	static char spec[MAP_TEXT_MAX];
	static struct idmap back;
	struct cfs_error e = { 0 };

	spec_of(m, sep, spec, sizeof(spec));
	memset(&back, 0, sizeof(back));
	CHECK(idmap_parse("uidmap", spec, &back, &e) == 0);
	CHECK(!cfs_failed(&e));
	CHECK(maps_equal(m, &back));
}

static void check_format(const struct idmap *m)
{
	static char want[MAP_TEXT_MAX];
	size_t n = 0, len;
	char *buf;
	char zero = 'Z';

	for (size_t i = 0; i < m->n; i++) {
		int k = snprintf(want + n, sizeof(want) - n, "%u %u %u\n", m->r[i].inside,
				 m->r[i].outside, m->r[i].count);

		CHECK(k > 0 && (size_t)k < sizeof(want) - n);
		n += (size_t)k;
	}
	len = n;

	CHECK(idmap_format(m, &zero, 0) == -ENOSPC);
	CHECK(zero == 'Z');

	/* Exact-size heap buffers: ASan catches a write past either of them. */
	buf = malloc(len + 1);
	CHECK(buf);
	CHECK(idmap_format(m, buf, len + 1) == 0);
	CHECK(strcmp(buf, want) == 0);
	free(buf);

	buf = malloc(len);
	CHECK(buf);
	CHECK(idmap_format(m, buf, len) == -ENOSPC);
	free(buf);

	/* write_map()'s buffer holds the largest map. */
	CHECK(len + 1 <= IDMAP_MAX_RANGES * 34 + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct idmap m, sentinel;
	struct cfs_error e = { 0 };
	char *spec;
	int r;

	/* The parser takes a C string: an embedded NUL simply ends the input. */
	spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';

	memset(&m, 0xA5, sizeof(m));
	memset(&sentinel, 0xA5, sizeof(sentinel));
	r = idmap_parse("gidmap", spec, &m, &e);
	if (r < 0) {
		CHECK(r == -EINVAL);
		CHECK(cfs_failed(&e));
		CHECK(memcmp(&m, &sentinel, sizeof(m)) == 0);
		goto out;
	}
	CHECK(r == 0);
	CHECK(!cfs_failed(&e));
	check_valid(&m);
	check_reparse(&m, ' ');
	check_reparse(&m, ':');
	check_format(&m);
out:
	free(spec);
	return 0;
}

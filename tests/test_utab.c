/* Unit tests for src/utab.c: what a mount records in utab ATTRS for its
 * umount, and reading it back. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "options.h"
#include "utab.h"
#include "util.h"

/* The mount's choices, the ATTRS text, and what umount reads back. */
static const struct {
	bool rmdir;
	const char *tmpdir;
	const char *want_attrs;	 /* NULL: nothing recorded */
	const char *want_tmpdir; /* NULL: the default base */
} rows[] = {
	{ true, NULL, NULL, NULL },
	{ true, CFS_DEFAULT_TMPDIR, NULL, NULL },
	{ false, NULL, "cfs.rmdir=no", NULL },
	{ false, CFS_DEFAULT_TMPDIR, "cfs.rmdir=no", NULL },
	{ true, "/var/tmp/cfs", "cfs.tmpdir=/var/tmp/cfs", "/var/tmp/cfs" },
	{ false, "/var/tmp/cfs", "cfs.rmdir=no,cfs.tmpdir=/var/tmp/cfs", "/var/tmp/cfs" },
	/* a comma is protected by libmount's quotes */
	{ true, "/tmp/a,b", "cfs.tmpdir=\"/tmp/a,b\"", "/tmp/a,b" },
	/* a double quote cannot be: not recorded, the default base is cleaned */
	{ true, "/tmp/a\"b", NULL, NULL },
};

Test(utab, attrs_round_trip_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		_cleanup_free_ char *attrs = NULL, *tmpdir = NULL;
		bool rmdir = !rows[i].rmdir;
		int r = utab_attrs_format(rows[i].rmdir, rows[i].tmpdir, &attrs);

		cr_assert_eq(r, 0, "row %zu: format returned %d", i, r);
		if (rows[i].want_attrs)
			cr_expect_str_eq(attrs ? attrs : "(null)", rows[i].want_attrs, "row %zu",
					 i);
		else
			cr_expect_null(attrs, "row %zu: recorded %s", i, attrs);
		r = utab_attrs_parse(attrs, &rmdir, &tmpdir);
		cr_assert_eq(r, 0, "row %zu: parse returned %d", i, r);
		cr_expect_eq(rmdir, rows[i].rmdir, "row %zu: rmdir read back as %d", i, rmdir);
		if (rows[i].want_tmpdir)
			cr_expect_str_eq(tmpdir ? tmpdir : "(null)", rows[i].want_tmpdir, "row %zu",
					 i);
		else
			cr_expect_null(tmpdir, "row %zu: tmpdir read back as %s", i, tmpdir);
	}
}

/* Attributes of other tools, or none at all, leave the defaults. */
Test(utab, attrs_parse_foreign)
{
	static const char *const foreign[] = { NULL, "", "x-foo=1", "cfs.other=yes,x=y" };

	for (size_t i = 0; i < ARRAY_SIZE(foreign); i++) {
		_cleanup_free_ char *tmpdir = NULL;
		bool rmdir = false;
		int r = utab_attrs_parse(foreign[i], &rmdir, &tmpdir);

		cr_assert_eq(r, 0, "\"%s\": parse returned %d", foreign[i] ? foreign[i] : "NULL",
			     r);
		cr_expect(rmdir, "\"%s\": rmdir should default to yes",
			  foreign[i] ? foreign[i] : "NULL");
		cr_expect_null(tmpdir, "\"%s\": no tmpdir", foreign[i] ? foreign[i] : "NULL");
	}
}

/* utab lines as libmount 2.38 and later write them, and what they hold. */
static const struct {
	const char *text;
	int id;
	const char *src, *target, *root, *attrs, *opts;
} lines[] = {
	{ "SRC=overlay TARGET=/m ROOT=/ OPTS=helper=cfsoverlay", 0, "overlay", "/m", "/", NULL,
	  "helper=cfsoverlay" },
	{ "ID=42 SRC=overlay TARGET=/m ROOT=/ ATTRS=cfs.rmdir=no OPTS=helper=cfsoverlay", 42,
	  "overlay", "/m", "/", "cfs.rmdir=no", "helper=cfsoverlay" },
	/* \ooo escapes: space, tab, newline, backslash */
	{ "SRC=my\\040ovl TARGET=/a\\011b\\012c ROOT=/x\\134y OPTS=x", 0, "my ovl", "/a\tb\nc",
	  "/x\\y", NULL, "x" },
	/* not an escape: kept as it is */
	{ "SRC=a\\9 TARGET=/m\\04", 0, "a\\9", "/m\\04", NULL, NULL, NULL },
	/* unknown keys are skipped, fields may come in any order */
	{ "OPTS=o FOO=bar TARGET=/t SRC=s", 0, "s", "/t", NULL, NULL, "o" },
	/* not a line of a mount */
	{ "", 0, NULL, NULL, NULL, NULL, NULL },
	{ "# SRC=a TARGET=/b", 0, NULL, NULL, NULL, NULL, NULL },
};

static void expect_field(const char *got, const char *want, const char *name, size_t i)
{
	if (want)
		cr_expect_str_eq(got ? got : "(null)", want, "line %zu: %s", i, name);
	else
		cr_expect_null(got, "line %zu: %s is %s", i, name, got);
}

Test(utab, line_parse_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		struct utab_line l;

		cr_assert_eq(utab_line_parse(lines[i].text, &l), 0, "line %zu", i);
		cr_expect_eq(l.id, lines[i].id, "line %zu: id %d", i, l.id);
		expect_field(l.src, lines[i].src, "SRC", i);
		expect_field(l.target, lines[i].target, "TARGET", i);
		expect_field(l.root, lines[i].root, "ROOT", i);
		expect_field(l.attrs, lines[i].attrs, "ATTRS", i);
		expect_field(l.opts, lines[i].opts, "OPTS", i);
		utab_line_free(&l);
	}
}

/* What we write reads back the same, escapes included, in libmount's order. */
Test(utab, line_format_round_trip)
{
	struct utab_line l = {
		.id = 7,
		.src = "my ovl",
		.target = "/a\tb\\c",
		.root = "/",
		.bindsrc = "/s d",
		.attrs = "cfs.tmpdir=\"/x,y\"",
		.opts = "helper=cfsoverlay",
	}, back;
	_cleanup_free_ char *text = NULL;

	cr_assert_eq(utab_line_format(&l, &text), 0);
	cr_expect_str_eq(text, "ID=7 SRC=my\\040ovl TARGET=/a\\011b\\134c ROOT=/ "
			       "BINDSRC=/s\\040d ATTRS=cfs.tmpdir=\"/x,y\" OPTS=helper=cfsoverlay");
	cr_assert_eq(utab_line_parse(text, &back), 0);
	cr_expect_eq(back.id, 7);
	cr_expect_str_eq(back.src, l.src);
	cr_expect_str_eq(back.target, l.target);
	cr_expect_str_eq(back.bindsrc, l.bindsrc);
	cr_expect_str_eq(back.attrs, l.attrs);
	utab_line_free(&back);
}

/* Pairing lines with mounts: each row is a utab (oldest line first), the
 * mounts on the target (oldest first), and the mount each line gets (-1:
 * stale).  "last" marks the line of a mount just unmounted. */
#define MAX_ROWS 4
static const struct {
	const char *name;
	struct {
		int id;
		const char *src, *target, *root;
		bool last;
	} lines[MAX_ROWS];
	size_t n_lines;
	struct utab_mount mounts[MAX_ROWS];
	size_t n_mounts;
	int claimed_id;
	int want[MAX_ROWS];
} match_rows[] = {
	{ "one line, its mount",
	  { { 0, "overlay", "/m", "/", false } },
	  1,
	  { { 10, "overlay", "/m", "/" } },
	  1,
	  0,
	  { 0 } },
	{ "one line, no mount",
	  { { 0, "overlay", "/m", "/", false } },
	  1,
	  { { 0 } },
	  0,
	  0,
	  { -1 } },
	{ "other source",
	  { { 0, "overlay", "/m", "/", false } },
	  1,
	  { { 10, "tmpfs", "/m", "/" } },
	  1,
	  0,
	  { -1 } },
	{ "other root (a bind)",
	  { { 0, "/dev/vda", "/m", "/a", false } },
	  1,
	  { { 10, "/dev/vda", "/m", "/b" } },
	  1,
	  0,
	  { -1 } },
	{ "other target",
	  { { 0, "overlay", "/n", "/", false } },
	  1,
	  { { 10, "overlay", "/m", "/" } },
	  1,
	  0,
	  { -1 } },
	{ "two lines, one mount: the newer keeps it",
	  { { 0, "overlay", "/m", "/", false }, { 0, "overlay", "/m", "/", false } },
	  2,
	  { { 10, "overlay", "/m", "/" } },
	  1,
	  0,
	  { -1, 0 } },
	{ "a line with the mount's ID beats a newer one without",
	  { { 10, "overlay", "/m", "/", false }, { 0, "overlay", "/m", "/", false } },
	  2,
	  { { 10, "overlay", "/m", "/" } },
	  1,
	  0,
	  { 0, -1 } },
	{ "a line with another ID is stale",
	  { { 11, "overlay", "/m", "/", false } },
	  1,
	  { { 10, "overlay", "/m", "/" } },
	  1,
	  0,
	  { -1 } },
	{ "the new mount is claimed: an old line with its reused ID is stale",
	  { { 10, "overlay", "/m", "/", false } },
	  1,
	  { { 10, "overlay", "/m", "/" } },
	  1,
	  10,
	  { -1 } },
	{ "a stack: each line its mount",
	  { { 0, "overlay", "/m", "/", false }, { 0, "overlay", "/m", "/", false } },
	  2,
	  { { 10, "overlay", "/m", "/" }, { 11, "overlay", "/m", "/" } },
	  2,
	  0,
	  { 0, 1 } },
	{ "top of a stack unmounted: its line goes, the older stays",
	  { { 0, "overlay", "/m", "/", false }, { 0, "overlay", "/m", "/", true } },
	  2,
	  { { 10, "overlay", "/m", "/" } },
	  1,
	  0,
	  { 0, -1 } },
	{ "the unmounted mount's line keeps a mount left for it",
	  { { 0, "overlay", "/m", "/", true } },
	  1,
	  { { 10, "overlay", "/m", "/" } },
	  1,
	  0,
	  { 0 } },
	{ "a line without SRC or ROOT matches any",
	  { { 0, NULL, "/m", NULL, false } },
	  1,
	  { { 10, "overlay", "/m", "/" } },
	  1,
	  0,
	  { 0 } },
};

Test(utab, match_table)
{
	for (size_t r = 0; r < ARRAY_SIZE(match_rows); r++) {
		struct utab_line l[MAX_ROWS] = { 0 };
		bool last[MAX_ROWS] = { 0 };
		int owner[MAX_ROWS];

		for (size_t i = 0; i < match_rows[r].n_lines; i++) {
			l[i].id = match_rows[r].lines[i].id;
			l[i].src = (char *)match_rows[r].lines[i].src;
			l[i].target = (char *)match_rows[r].lines[i].target;
			l[i].root = (char *)match_rows[r].lines[i].root;
			last[i] = match_rows[r].lines[i].last;
		}
		utab_match(l, match_rows[r].n_lines, last, match_rows[r].mounts,
			   match_rows[r].n_mounts, match_rows[r].claimed_id, owner);
		for (size_t i = 0; i < match_rows[r].n_lines; i++)
			cr_expect_eq(owner[i], match_rows[r].want[i], "%s: line %zu got %d",
				     match_rows[r].name, i, owner[i]);
	}
}

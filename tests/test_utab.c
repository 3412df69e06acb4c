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

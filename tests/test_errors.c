/* Unit tests for src/errors.c: exit codes, first-failure recording, message format. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "errors.h"
#include "util.h"

static const char *stage_name(enum cfs_stage s)
{
	switch (s) {
	case CFS_STAGE_USAGE: return "usage";
	case CFS_STAGE_PERM: return "perm";
	case CFS_STAGE_SETUP: return "setup";
	case CFS_STAGE_SYSTEM: return "system";
	case CFS_STAGE_MOUNT: return "mount";
	case CFS_STAGE_UTAB: return "utab";
	case CFS_STAGE_INTERNAL: return "internal";
	}
	return "?";
}

/* Every stage against a handful of errnos: interruption and out of memory decide
 * the code whatever the stage; otherwise the stage does, except that resource
 * exhaustion and permission problems in the setup/mount steps have their own. */
static const struct {
	enum cfs_stage stage;
	int err;
	enum cfs_exit want;
} exit_rows[] = {
	{ CFS_STAGE_USAGE, 0, CFS_EX_USAGE },
	{ CFS_STAGE_SYSTEM, -ENODEV, CFS_EX_SYSERR },
	{ CFS_STAGE_SYSTEM, -EBUSY, CFS_EX_SYSERR },
	{ CFS_STAGE_USAGE, -EINVAL, CFS_EX_USAGE },
	{ CFS_STAGE_USAGE, -ENOENT, CFS_EX_USAGE },
	{ CFS_STAGE_USAGE, -E2BIG, CFS_EX_USAGE },
	{ CFS_STAGE_USAGE, -EINTR, CFS_EX_INTERRUPT },
	{ CFS_STAGE_USAGE, -ENOMEM, CFS_EX_SYSERR },

	{ CFS_STAGE_PERM, 0, CFS_EX_USAGE },
	{ CFS_STAGE_PERM, -EPERM, CFS_EX_USAGE },
	{ CFS_STAGE_PERM, -EACCES, CFS_EX_USAGE },
	{ CFS_STAGE_PERM, -EINTR, CFS_EX_INTERRUPT },
	{ CFS_STAGE_PERM, -ENOMEM, CFS_EX_SYSERR },

	{ CFS_STAGE_SETUP, 0, CFS_EX_FAIL },
	{ CFS_STAGE_SETUP, -EINVAL, CFS_EX_FAIL },
	{ CFS_STAGE_SETUP, -ENOENT, CFS_EX_FAIL },
	{ CFS_STAGE_SETUP, -EPERM, CFS_EX_USAGE },
	{ CFS_STAGE_SETUP, -EACCES, CFS_EX_USAGE },
	{ CFS_STAGE_SETUP, -ENOMEM, CFS_EX_SYSERR },
	{ CFS_STAGE_SETUP, -EAGAIN, CFS_EX_SYSERR },
	{ CFS_STAGE_SETUP, -EMFILE, CFS_EX_SYSERR },
	{ CFS_STAGE_SETUP, -ENFILE, CFS_EX_SYSERR },
	{ CFS_STAGE_SETUP, -ENOSPC, CFS_EX_SYSERR },
	{ CFS_STAGE_SETUP, -EINTR, CFS_EX_INTERRUPT },

	{ CFS_STAGE_MOUNT, 0, CFS_EX_FAIL },
	{ CFS_STAGE_MOUNT, -EINVAL, CFS_EX_FAIL },
	{ CFS_STAGE_MOUNT, -EBUSY, CFS_EX_FAIL },
	{ CFS_STAGE_MOUNT, -ENOENT, CFS_EX_FAIL },
	{ CFS_STAGE_MOUNT, -EPERM, CFS_EX_FAIL },
	{ CFS_STAGE_MOUNT, -EACCES, CFS_EX_FAIL },
	{ CFS_STAGE_MOUNT, -ENOMEM, CFS_EX_SYSERR },
	{ CFS_STAGE_MOUNT, -EMFILE, CFS_EX_SYSERR },
	{ CFS_STAGE_MOUNT, -EINTR, CFS_EX_INTERRUPT },

	{ CFS_STAGE_UTAB, 0, CFS_EX_UTAB },
	{ CFS_STAGE_UTAB, -EACCES, CFS_EX_UTAB },
	{ CFS_STAGE_UTAB, -EROFS, CFS_EX_UTAB },
	{ CFS_STAGE_UTAB, -ENOSPC, CFS_EX_UTAB },
	{ CFS_STAGE_UTAB, -EWOULDBLOCK, CFS_EX_UTAB },
	{ CFS_STAGE_UTAB, -EINTR, CFS_EX_INTERRUPT },
	{ CFS_STAGE_UTAB, -ENOMEM, CFS_EX_SYSERR },

	{ CFS_STAGE_INTERNAL, 0, CFS_EX_SOFTWARE },
	{ CFS_STAGE_INTERNAL, -EINVAL, CFS_EX_SOFTWARE },
	{ CFS_STAGE_INTERNAL, -EFAULT, CFS_EX_SOFTWARE },
	{ CFS_STAGE_INTERNAL, -EINTR, CFS_EX_INTERRUPT },
	{ CFS_STAGE_INTERNAL, -ENOMEM, CFS_EX_SYSERR },
};

Test(errors, exit_code_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(exit_rows); i++) {
		enum cfs_exit got = cfs_exit_code(exit_rows[i].stage, exit_rows[i].err);

		cr_expect_eq(got, exit_rows[i].want,
			     "row %zu: stage %s, err %d (%s): got %d, want %d", i,
			     stage_name(exit_rows[i].stage), exit_rows[i].err,
			     strerror(-exit_rows[i].err), (int)got, (int)exit_rows[i].want);
	}
}

Test(errors, exit_codes_are_mount8s)
{
	static const struct {
		enum cfs_exit code;
		int want;
	} rows[] = {
		{ CFS_EX_OK, 0 },	{ CFS_EX_USAGE, 1 },	 { CFS_EX_SYSERR, 2 },
		{ CFS_EX_SOFTWARE, 4 }, { CFS_EX_INTERRUPT, 8 }, { CFS_EX_UTAB, 16 },
		{ CFS_EX_FAIL, 32 },	{ CFS_EX_SOMEOK, 64 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		cr_expect_eq((int)rows[i].code, rows[i].want, "row %zu: exit code %d, want %d", i,
			     (int)rows[i].code, rows[i].want);
}

Test(errors, fail_keeps_first_failure)
{
	struct cfs_error e = { 0 };
	int r;

	cr_assert(!cfs_failed(&e), "a zeroed error must not count as a failure");
	r = cfs_fail(&e, CFS_STAGE_SETUP, -ENOENT, "cannot open %s", "/x");
	cr_assert_eq(r, -ENOENT, "first cfs_fail returned %d", r);
	cr_assert(cfs_failed(&e), "cfs_failed after cfs_fail");

	r = cfs_fail(&e, CFS_STAGE_MOUNT, -EBUSY, "cannot mount %s", "/y");
	cr_assert_eq(r, -EBUSY, "a later cfs_fail still returns its own error, got %d", r);
	cr_assert_str_eq(e.msg, "cannot open /x", "msg was overwritten: \"%s\"", e.msg);
	cr_assert_eq(e.err, -ENOENT, "err was overwritten: %d", e.err);
	cr_assert_eq(e.stage, CFS_STAGE_SETUP, "stage was overwritten: %s", stage_name(e.stage));
}

Test(errors, fail_normalises_err)
{
	static const struct {
		int err;
		int want_ret;
		int want_err;
	} rows[] = {
		{ -EBUSY, -EBUSY, -EBUSY },
		{ EBUSY, -EBUSY, -EBUSY }, /* a positive errno is made negative */
		{ 0, -EINVAL, 0 },	   /* "msg says it all": the caller still gets an error */
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct cfs_error e = { 0 };
		int r = cfs_fail(&e, CFS_STAGE_MOUNT, rows[i].err, "row %zu", i);

		cr_expect_eq(r, rows[i].want_ret, "row %zu: err %d returned %d, want %d", i,
			     rows[i].err, r, rows[i].want_ret);
		cr_expect_eq(e.err, rows[i].want_err, "row %zu: err %d recorded %d, want %d", i,
			     rows[i].err, e.err, rows[i].want_err);
	}
}

Test(errors, fail_without_context)
{
	int r = cfs_fail(NULL, CFS_STAGE_USAGE, -ENOENT, "nobody listens");

	cr_assert_eq(r, -ENOENT, "cfs_fail(NULL, ...) returned %d", r);
	cfs_hint(NULL, "ignored");
}

Test(errors, hint_keeps_first)
{
	struct cfs_error e = { 0 };

	cfs_fail(&e, CFS_STAGE_MOUNT, -EINVAL, "mount /m");
	cfs_hint(&e, "first %d", 1);
	cfs_hint(&e, "second %d", 2);
	cr_assert_str_eq(e.hint, "first 1", "hint: \"%s\"", e.hint);
}

Test(errors, format_table)
{
	static const struct {
		const char *msg;
		int err;
		const char *hint;
	} rows[] = {
		{ "cannot mount /m", -EINVAL, "filesystem of /x does not support idmapped mounts" },
		{ "cannot mount /m", -EBUSY, NULL },
		{ "bad uidmap \"0:1:0\": size must be greater than 0", 0, NULL },
		{ "lowerdir has more than 500 layers", 0, "the kernel's limit" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct cfs_error e = { 0 };
		char want[3 * CFS_ERROR_MAX], got[3 * CFS_ERROR_MAX];
		int n;

		cfs_fail(&e, CFS_STAGE_MOUNT, rows[i].err, "%s", rows[i].msg);
		if (rows[i].hint)
			cfs_hint(&e, "%s", rows[i].hint);
		n = snprintf(want, sizeof(want), "%s", rows[i].msg);
		if (rows[i].err)
			n += snprintf(want + n, sizeof(want) - (size_t)n, ": %s",
				      strerror(-rows[i].err));
		if (rows[i].hint)
			snprintf(want + n, sizeof(want) - (size_t)n, " (%s)", rows[i].hint);

		cfs_error_format(&e, got, sizeof(got));
		cr_expect_str_eq(got, want, "row %zu: got \"%s\", want \"%s\"", i, got, want);
	}
}

Test(errors, format_exact_text)
{
	struct cfs_error e = { 0 };
	char buf[256];

	cfs_fail(&e, CFS_STAGE_MOUNT, -ENOENT, "mount point %s", "/merged");
	cfs_hint(&e, "create it first");
	cfs_error_format(&e, buf, sizeof(buf));
	cr_assert_str_eq(buf, "mount point /merged: No such file or directory (create it first)",
			 "got \"%s\"", buf);
}

Test(errors, format_truncates_safely)
{
	struct cfs_error e = { 0 };
	const char *full = "upperdir /u: Device or resource busy (in use by another overlay)";

	cfs_fail(&e, CFS_STAGE_MOUNT, -EBUSY, "upperdir /u");
	cfs_hint(&e, "in use by another overlay");
	/* Every length from "nothing fits" to "everything fits" gives a terminated prefix
	 * and never writes past the buffer. */
	for (size_t size = 1; size <= strlen(full) + 1; size++) {
		char buf[128];

		memset(buf, 'Z', sizeof(buf));
		cfs_error_format(&e, buf, size);
		cr_assert_eq(buf[size], 'Z', "size %zu: wrote past the buffer", size);
		cr_assert(memchr(buf, '\0', size) != NULL, "size %zu: not terminated", size);
		cr_assert(strncmp(full, buf, strlen(buf)) == 0,
			  "size %zu: \"%s\" is not a prefix of the full message", size, buf);
	}
}

/* libmount's own codes get their own text, not "Unknown error 5008". */
Test(errors, libmount_codes_have_text)
{
	static const int codes[] = { 5000, 5001, 5002, 5003, 5004, 5005,
				     5006, 5007, 5008, 5009, 5042 };

	for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
		struct cfs_error e = { 0 };
		char buf[256];

		cfs_fail(&e, CFS_STAGE_UTAB, -codes[i], "cannot record /m in utab");
		cfs_error_format(&e, buf, sizeof(buf));
		cr_expect(strstr(buf, "Unknown error") == NULL, "%d: \"%s\"", codes[i], buf);
	}
	cr_expect_str_eq(cfs_strerror(-5008), "cannot lock utab (libmount's lock file)");
	cr_expect_str_eq(cfs_strerror(-ENOENT), strerror(ENOENT));
}

/* Whatever a path holds, the error stays one line of sane length. */
Test(errors, message_escaped_and_cut)
{
	static const struct {
		const char *value;
		const char *want;
	} rows[] = {
		{ "/a\nb", "mount point /a\\nb: No such file or directory" },
		{ "/a\tb\x01", "mount point /a\\tb\\x01: No such file or directory" },
		{ "/a b", "mount point /a b: No such file or directory" },
	};
	char longv[5001], want[512];
	struct cfs_error e = { 0 };
	char buf[2048];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct cfs_error r = { 0 };

		cfs_fail(&r, CFS_STAGE_MOUNT, -ENOENT, "mount point %s", rows[i].value);
		cfs_error_format(&r, buf, sizeof(buf));
		cr_expect_str_eq(buf, rows[i].want, "row %zu", i);
	}
	memset(longv, 'd', sizeof(longv) - 1);
	longv[0] = '/';
	longv[sizeof(longv) - 1] = '\0';
	cfs_fail(&e, CFS_STAGE_USAGE, 0, "cfs.tmpdir=%s: must be an absolute path", longv);
	snprintf(
		want, sizeof(want), "%.*s...: must be an absolute path", CFS_ECHO_MAX,
		"cfs.tmpdir=/dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
		"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
		"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	cr_expect_str_eq(e.msg, want);
}

/* Unit tests for src/options.c: splitting, classes, flags, propagation, helper,
 * user-space and overlay data options. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include <criterion/criterion.h>

#include "options.h"
#include "util.h"

#define MAX_ROW_TOKENS 6

static const char *class_name(enum cfs_opt_class c)
{
	switch (c) {
	case CFS_OPT_FLAG: return "flag";
	case CFS_OPT_PROPAGATION: return "propagation";
	case CFS_OPT_HELPER: return "helper";
	case CFS_OPT_USERSPACE: return "userspace";
	case CFS_OPT_DATA: return "data";
	}
	return "?";
}

/* Parses optstr and fails the test (naming the row) when that does not work. */
static void parse_ok(size_t row, const char *optstr, struct cfs_mount_opts *o)
{
	struct cfs_error e = { 0 };
	int r = opts_parse(optstr, o, &e);

	cr_assert_eq(r, 0, "row %zu \"%s\": opts_parse returned %d: %s", row, optstr, r, e.msg);
	cr_assert(!cfs_failed(&e), "row %zu \"%s\": error recorded on success: %s", row, optstr,
		  e.msg);
}

static char *data_string(size_t row, const struct cfs_mount_opts *o)
{
	char *s = NULL;
	int r = opts_data_string(o, &s);

	cr_assert_eq(r, 0, "row %zu: opts_data_string returned %d", row, r);
	cr_assert_not_null(s, "row %zu: no data string", row);
	return s;
}

/* ---- opts_split ---- */

static const struct {
	const char *optstr;
	const char *want[MAX_ROW_TOKENS];
} split_rows[] = {
	{ "ro", { "ro" } },
	{ "ro,rw", { "ro", "rw" } },
	{ "", { NULL } },
	{ ",,,", { NULL } },
	{ ",ro,,nosuid,", { "ro", "nosuid" } },
	/* overlay's escape: "\," is part of the path */
	{ "lowerdir=/a\\,b:/c,ro", { "lowerdir=/a\\,b:/c", "ro" } },
	{ "upperdir=/u\\\\,workdir=/w", { "upperdir=/u\\\\", "workdir=/w" } },
	{ "a=\\\",b", { "a=\\\"", "b" } },
	{ "trailing\\", { "trailing\\" } },
	/* libmount's rule: no split inside double quotes, quotes kept */
	{ "uidmap=\"0:1000:1,1:100000:65535\",ro", { "uidmap=\"0:1000:1,1:100000:65535\"", "ro" } },
	{ "a=\"x,y\"z,b", { "a=\"x,y\"z", "b" } },
	{ "a=\"unterminated,b,c", { "a=\"unterminated,b,c" } },
	/* "::" data-only separators are not split points */
	{ "lowerdir=/l1:/l2::/d1::/d2,upperdir=/u",
	  { "lowerdir=/l1:/l2::/d1::/d2", "upperdir=/u" } },
	{ "rw,lowerdir=/a,x-systemd.automount,nofail,uidmap=0:1:1,index=on",
	  { "rw", "lowerdir=/a", "x-systemd.automount", "nofail", "uidmap=0:1:1", "index=on" } },
};

Test(options, split_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(split_rows); i++) {
		char **tok = NULL;
		size_t n = 99, want_n = 0;
		int r = opts_split(split_rows[i].optstr, &tok, &n);

		cr_assert_eq(r, 0, "row %zu \"%s\": returned %d", i, split_rows[i].optstr, r);
		while (want_n < MAX_ROW_TOKENS && split_rows[i].want[want_n])
			want_n++;
		cr_assert_eq(n, want_n, "row %zu \"%s\": %zu tokens, want %zu", i,
			     split_rows[i].optstr, n, want_n);
		for (size_t j = 0; j < n; j++)
			cr_assert_str_eq(tok[j], split_rows[i].want[j],
					 "row %zu \"%s\": token %zu is \"%s\", want \"%s\"", i,
					 split_rows[i].optstr, j, tok[j], split_rows[i].want[j]);
		opts_strv_free(tok, n);
	}
}

Test(options, split_null)
{
	char **tok = NULL;
	size_t n = 99;

	cr_assert_eq(opts_split(NULL, &tok, &n), 0, "NULL option string");
	cr_assert_eq(n, 0, "NULL gave %zu tokens", n);
	opts_strv_free(tok, n);
}

/* ---- opts_classify ---- */

static const struct {
	const char *token;
	enum cfs_opt_class want;
} classify_rows[] = {
	{ "ro", CFS_OPT_FLAG },
	{ "rw", CFS_OPT_FLAG },
	{ "nosuid", CFS_OPT_FLAG },
	{ "suid", CFS_OPT_FLAG },
	{ "nodev", CFS_OPT_FLAG },
	{ "dev", CFS_OPT_FLAG },
	{ "noexec", CFS_OPT_FLAG },
	{ "exec", CFS_OPT_FLAG },
	{ "sync", CFS_OPT_FLAG },
	{ "async", CFS_OPT_FLAG },
	{ "dirsync", CFS_OPT_FLAG },
	{ "mand", CFS_OPT_FLAG },
	{ "nomand", CFS_OPT_FLAG },
	{ "noatime", CFS_OPT_FLAG },
	{ "atime", CFS_OPT_FLAG },
	{ "nodiratime", CFS_OPT_FLAG },
	{ "diratime", CFS_OPT_FLAG },
	{ "relatime", CFS_OPT_FLAG },
	{ "norelatime", CFS_OPT_FLAG },
	{ "strictatime", CFS_OPT_FLAG },
	{ "nostrictatime", CFS_OPT_FLAG },
	{ "lazytime", CFS_OPT_FLAG },
	{ "nolazytime", CFS_OPT_FLAG },
	{ "nosymfollow", CFS_OPT_FLAG },
	{ "symfollow", CFS_OPT_FLAG },
	{ "remount", CFS_OPT_FLAG },
	{ "bind", CFS_OPT_FLAG },
	{ "rbind", CFS_OPT_FLAG },
	{ "defaults", CFS_OPT_FLAG },

	{ "shared", CFS_OPT_PROPAGATION },
	{ "rshared", CFS_OPT_PROPAGATION },
	{ "slave", CFS_OPT_PROPAGATION },
	{ "rslave", CFS_OPT_PROPAGATION },
	{ "private", CFS_OPT_PROPAGATION },
	{ "rprivate", CFS_OPT_PROPAGATION },
	{ "unbindable", CFS_OPT_PROPAGATION },
	{ "runbindable", CFS_OPT_PROPAGATION },

	{ "uidmap=0:100000:65536", CFS_OPT_HELPER },
	{ "gidmap=0:100000:65536", CFS_OPT_HELPER },
	{ "uidmap=\"0:1:1 1:2:1\"", CFS_OPT_HELPER },
	{ "loop", CFS_OPT_HELPER },
	{ "direct-io", CFS_OPT_HELPER },
	{ "cfs.api=legacy", CFS_OPT_HELPER },
	{ "cfs.tmpdir=/tmp/x", CFS_OPT_HELPER },
	{ "cfs.rmdir=no", CFS_OPT_HELPER },
	{ "cfs.userns=/proc/1/ns/user", CFS_OPT_HELPER },
	{ "cfs.foo", CFS_OPT_HELPER },

	{ "x-systemd.automount", CFS_OPT_USERSPACE },
	{ "x-systemd.device-timeout=5", CFS_OPT_USERSPACE },
	{ "X-mount.mkdir", CFS_OPT_USERSPACE },
	{ "comment=systemd.automount", CFS_OPT_USERSPACE },
	{ "nofail", CFS_OPT_USERSPACE },
	{ "_netdev", CFS_OPT_USERSPACE },
	{ "auto", CFS_OPT_USERSPACE },
	{ "noauto", CFS_OPT_USERSPACE },
	{ "user", CFS_OPT_USERSPACE },
	{ "user=joe", CFS_OPT_USERSPACE },
	{ "nouser", CFS_OPT_USERSPACE },
	{ "users", CFS_OPT_USERSPACE },
	{ "owner", CFS_OPT_USERSPACE },
	{ "group", CFS_OPT_USERSPACE },
	{ "uhelper=udisks2", CFS_OPT_USERSPACE },
	{ "helper=cfsoverlay", CFS_OPT_USERSPACE },

	{ "lowerdir=/a:/b", CFS_OPT_DATA },
	{ "upperdir=/u", CFS_OPT_DATA },
	{ "workdir=/w", CFS_OPT_DATA },
	{ "index=on", CFS_OPT_DATA },
	{ "metacopy=on", CFS_OPT_DATA },
	{ "redirect_dir=follow", CFS_OPT_DATA },
	{ "xino=auto", CFS_OPT_DATA },
	{ "volatile", CFS_OPT_DATA },
	{ "userxattr", CFS_OPT_DATA },
	{ "uuid=null", CFS_OPT_DATA },
	/* near misses of other classes' names */
	{ "rox", CFS_OPT_DATA },
	{ "ro=1", CFS_OPT_DATA },
	{ "comment", CFS_OPT_DATA },
	{ "usersx", CFS_OPT_DATA },
	{ "cfs", CFS_OPT_DATA },
};

Test(options, classify_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(classify_rows); i++) {
		enum cfs_opt_class got = opts_classify(classify_rows[i].token);

		cr_expect_eq(got, classify_rows[i].want, "row %zu \"%s\": %s, want %s", i,
			     classify_rows[i].token, class_name(got),
			     class_name(classify_rows[i].want));
	}
}

/* ---- mount flags ---- */

static const struct {
	const char *optstr;
	unsigned long want;
} flag_rows[] = {
	{ "ro", MS_RDONLY },
	{ "rw", 0 },
	{ "ro,rw", 0 },
	{ "rw,ro", MS_RDONLY },
	{ "nosuid", MS_NOSUID },
	{ "nosuid,suid", 0 },
	{ "nodev", MS_NODEV },
	{ "nodev,dev", 0 },
	{ "noexec", MS_NOEXEC },
	{ "noexec,exec", 0 },
	{ "exec,noexec", MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS },
	{ "sync,async", 0 },
	{ "dirsync", MS_DIRSYNC },
	{ "mand", MS_MANDLOCK },
	{ "mand,nomand", 0 },
	{ "noatime", MS_NOATIME },
	{ "noatime,atime", 0 },
	{ "nodiratime", MS_NODIRATIME },
	{ "nodiratime,diratime", 0 },
	{ "relatime", MS_RELATIME },
	{ "relatime,norelatime", 0 },
	{ "strictatime", MS_STRICTATIME },
	{ "strictatime,nostrictatime", 0 },
	{ "lazytime", MS_LAZYTIME },
	{ "lazytime,nolazytime", 0 },
	{ "nosymfollow", MS_NOSYMFOLLOW },
	{ "nosymfollow,symfollow", 0 },
	{ "remount", MS_REMOUNT },
	{ "remount,ro", MS_REMOUNT | MS_RDONLY },
	{ "bind", MS_BIND },
	{ "rbind", MS_BIND | MS_REC },
	{ "defaults", 0 },
	{ "defaults,ro", MS_RDONLY },
	{ "ro,defaults", MS_RDONLY },
	{ "ro,nosuid,nodev,noexec", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC },
	{ "ro,nosuid,nodev,noexec,rw,dev", MS_NOSUID | MS_NOEXEC },
	{ "noatime,nodiratime,sync,dirsync,lazytime",
	  MS_NOATIME | MS_NODIRATIME | MS_SYNCHRONOUS | MS_DIRSYNC | MS_LAZYTIME },
	/* mount(8) puts rw or ro first; what follows wins */
	{ "rw,lowerdir=/a:/b,ro", MS_RDONLY },
	{ "ro,lowerdir=/a:/b,rw", 0 },
};

Test(options, flags_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(flag_rows); i++) {
		struct cfs_mount_opts o = { 0 };

		parse_ok(i, flag_rows[i].optstr, &o);
		cr_expect_eq(o.flags, flag_rows[i].want, "row %zu \"%s\": flags %#lx, want %#lx", i,
			     flag_rows[i].optstr, o.flags, flag_rows[i].want);
		cr_expect_eq(o.propagation, 0, "row %zu \"%s\": propagation %#lx", i,
			     flag_rows[i].optstr, o.propagation);
		cr_expect_eq(o.n_data, 0, "row %zu \"%s\": a flag went to data (%s)", i,
			     flag_rows[i].optstr, o.n_data ? o.data[0] : "");
		cr_expect_null(o.utab_opts, "row %zu \"%s\": utab_opts \"%s\"", i,
			       flag_rows[i].optstr, o.utab_opts);
		opts_free(&o);
	}
}

/* ---- propagation ---- */

static const struct {
	const char *optstr;
	unsigned long want_prop;
	unsigned long want_flags;
} prop_rows[] = {
	{ "shared", MS_SHARED, 0 },
	{ "rshared", MS_SHARED | MS_REC, 0 },
	{ "slave", MS_SLAVE, 0 },
	{ "rslave", MS_SLAVE | MS_REC, 0 },
	{ "private", MS_PRIVATE, 0 },
	{ "rprivate", MS_PRIVATE | MS_REC, 0 },
	{ "unbindable", MS_UNBINDABLE, 0 },
	{ "runbindable", MS_UNBINDABLE | MS_REC, 0 },
	/* one propagation type per mount(2) call: the last wins, MS_REC included */
	{ "shared,private", MS_PRIVATE, 0 },
	{ "rshared,slave", MS_SLAVE, 0 },
	{ "slave,rshared", MS_SHARED | MS_REC, 0 },
	{ "rprivate,unbindable,rslave", MS_SLAVE | MS_REC, 0 },
	{ "ro,rprivate,nosuid", MS_PRIVATE | MS_REC, MS_RDONLY | MS_NOSUID },
	{ "rbind,rslave", MS_SLAVE | MS_REC, MS_BIND | MS_REC },
	{ "lowerdir=/a:/b,shared,index=off", MS_SHARED, 0 },
};

Test(options, propagation_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(prop_rows); i++) {
		struct cfs_mount_opts o = { 0 };
		_cleanup_free_ char *data = NULL;

		parse_ok(i, prop_rows[i].optstr, &o);
		cr_expect_eq(o.propagation, prop_rows[i].want_prop,
			     "row %zu \"%s\": propagation %#lx, want %#lx", i, prop_rows[i].optstr,
			     o.propagation, prop_rows[i].want_prop);
		cr_expect_eq(o.flags, prop_rows[i].want_flags,
			     "row %zu \"%s\": flags %#lx, want %#lx", i, prop_rows[i].optstr,
			     o.flags, prop_rows[i].want_flags);
		cr_expect_eq(o.flags & (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE), 0,
			     "row %zu \"%s\": propagation mixed into flags %#lx", i,
			     prop_rows[i].optstr, o.flags);
		data = data_string(i, &o);
		cr_expect(strstr(data, "shared") == NULL && strstr(data, "private") == NULL &&
				  strstr(data, "slave") == NULL && strstr(data, "bindable") == NULL,
			  "row %zu \"%s\": propagation in data \"%s\"", i, prop_rows[i].optstr,
			  data);
		cr_expect_null(o.utab_opts, "row %zu \"%s\": utab_opts \"%s\"", i,
			       prop_rows[i].optstr, o.utab_opts);
		opts_free(&o);
	}
}

/* ---- user-space options ---- */

/* libmount's MNT_NOMTAB rule decides what reaches utab; helper= is ours to write. */
static const struct {
	const char *optstr;
	const char *want_utab; /* NULL: nothing recorded */
	bool want_user;
} user_rows[] = {
	{ "x-systemd.automount", "x-systemd.automount", false },
	{ "x-systemd.device-timeout=5", "x-systemd.device-timeout=5", false },
	{ "X-mount.mkdir", NULL, false },
	{ "X-mount.mode=0755", NULL, false },
	{ "comment=systemd.automount", NULL, false },
	{ "nofail", NULL, false },
	{ "_netdev", "_netdev", false },
	{ "auto", NULL, false },
	{ "noauto", NULL, false },
	{ "uhelper=udisks2", "uhelper=udisks2", false },
	{ "helper=somethingelse", NULL, false },
	{ "user", "user", true },
	{ "user=joe", "user=joe", true },
	{ "users", NULL, true },
	{ "owner", NULL, true },
	{ "group", NULL, true },
	{ "nouser", NULL, false },
	{ "nousers", NULL, false },
	{ "noowner", NULL, false },
	{ "nogroup", NULL, false },
	{ "nofail,x-a=1,_netdev,X-b,comment=c,noauto,uhelper=u,x-systemd.requires=/x",
	  "x-a=1,_netdev,uhelper=u,x-systemd.requires=/x", false },
	{ "x-quoted=\"a,b\",nofail", "x-quoted=\"a,b\"", false },
};

Test(options, userspace_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(user_rows); i++) {
		struct cfs_mount_opts o = { 0 };
		_cleanup_free_ char *data = NULL;

		parse_ok(i, user_rows[i].optstr, &o);
		if (user_rows[i].want_utab)
			cr_expect(o.utab_opts && !strcmp(o.utab_opts, user_rows[i].want_utab),
				  "row %zu \"%s\": utab_opts \"%s\", want \"%s\"", i,
				  user_rows[i].optstr, o.utab_opts ? o.utab_opts : "(null)",
				  user_rows[i].want_utab);
		else
			cr_expect_null(o.utab_opts, "row %zu \"%s\": utab_opts \"%s\", want none",
				       i, user_rows[i].optstr, o.utab_opts);
		cr_expect_eq(o.user_mount, user_rows[i].want_user, "row %zu \"%s\": user_mount %d",
			     i, user_rows[i].optstr, o.user_mount);
		cr_expect_eq(o.n_data, 0, "row %zu \"%s\": \"%s\" went to data", i,
			     user_rows[i].optstr, o.n_data ? o.data[0] : "");
		cr_expect_eq(o.flags, 0, "row %zu \"%s\": flags %#lx", i, user_rows[i].optstr,
			     o.flags);
		cr_expect_null(o.lowerdir, "row %zu: lowerdir set", i);
		data = data_string(i, &o);
		cr_expect_str_eq(data, "", "row %zu \"%s\": data \"%s\"", i, user_rows[i].optstr,
				 data);
		opts_free(&o);
	}
}

/* ---- helper options ---- */

static const struct {
	const char *optstr;
	const char *uidmap, *gidmap, *userns, *tmpdir;
	bool loop, direct_io, rmdir;
	enum cfs_api api;
} helper_rows[] = {
	{ "", NULL, NULL, NULL, NULL, false, false, true, CFS_API_AUTO },
	{ "uidmap=0:100000:65536,gidmap=0:100000:65536", "0:100000:65536", "0:100000:65536", NULL,
	  NULL, false, false, true, CFS_API_AUTO },
	/* quoted values are unquoted; the commas and spaces inside survive */
	{ "uidmap=\"0:1000:1 1:100000:65535\",gidmap=\"0:1000:1,1:100000:65535\"",
	  "0:1000:1 1:100000:65535", "0:1000:1,1:100000:65535", NULL, NULL, false, false, true,
	  CFS_API_AUTO },
	{ "uidmap=0:1:1,uidmap=0:2:1", "0:2:1", NULL, NULL, NULL, false, false, true,
	  CFS_API_AUTO },
	{ "loop", NULL, NULL, NULL, NULL, true, false, true, CFS_API_AUTO },
	{ "direct-io", NULL, NULL, NULL, NULL, false, true, true, CFS_API_AUTO },
	{ "loop,direct-io", NULL, NULL, NULL, NULL, true, true, true, CFS_API_AUTO },
	{ "cfs.api=auto", NULL, NULL, NULL, NULL, false, false, true, CFS_API_AUTO },
	{ "cfs.api=new", NULL, NULL, NULL, NULL, false, false, true, CFS_API_NEW },
	{ "cfs.api=legacy", NULL, NULL, NULL, NULL, false, false, true, CFS_API_LEGACY },
	{ "cfs.api=legacy,cfs.api=new", NULL, NULL, NULL, NULL, false, false, true, CFS_API_NEW },
	{ "cfs.tmpdir=/var/tmp/cfs", NULL, NULL, NULL, "/var/tmp/cfs", false, false, true,
	  CFS_API_AUTO },
	{ "cfs.tmpdir=\"/tmp/a,b\"", NULL, NULL, NULL, "/tmp/a,b", false, false, true,
	  CFS_API_AUTO },
	{ "cfs.rmdir=yes", NULL, NULL, NULL, NULL, false, false, true, CFS_API_AUTO },
	{ "cfs.rmdir=no", NULL, NULL, NULL, NULL, false, false, false, CFS_API_AUTO },
	{ "cfs.rmdir=no,cfs.rmdir=yes", NULL, NULL, NULL, NULL, false, false, true, CFS_API_AUTO },
	{ "cfs.rmdir=0", NULL, NULL, NULL, NULL, false, false, false, CFS_API_AUTO },
	{ "cfs.rmdir=off", NULL, NULL, NULL, NULL, false, false, false, CFS_API_AUTO },
	{ "cfs.rmdir=true", NULL, NULL, NULL, NULL, false, false, true, CFS_API_AUTO },
	{ "cfs.userns=/proc/1234/ns/user", NULL, NULL, "/proc/1234/ns/user", NULL, false, false,
	  true, CFS_API_AUTO },
	{ "ro,lowerdir=/a:/b,uidmap=0:1:1,loop,gidmap=0:2:1,cfs.api=legacy,index=off,nofail",
	  "0:1:1", "0:2:1", NULL, NULL, true, false, true, CFS_API_LEGACY },
};

static bool str_eq_null(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

Test(options, helper_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(helper_rows); i++) {
		struct cfs_mount_opts o = { 0 };
		_cleanup_free_ char *data = NULL;

		parse_ok(i, helper_rows[i].optstr, &o);
		cr_expect(str_eq_null(o.uidmap, helper_rows[i].uidmap),
			  "row %zu \"%s\": uidmap \"%s\"", i, helper_rows[i].optstr,
			  o.uidmap ? o.uidmap : "(null)");
		cr_expect(str_eq_null(o.gidmap, helper_rows[i].gidmap),
			  "row %zu \"%s\": gidmap \"%s\"", i, helper_rows[i].optstr,
			  o.gidmap ? o.gidmap : "(null)");
		cr_expect(str_eq_null(o.userns, helper_rows[i].userns),
			  "row %zu \"%s\": userns \"%s\"", i, helper_rows[i].optstr,
			  o.userns ? o.userns : "(null)");
		cr_expect(str_eq_null(o.tmpdir, helper_rows[i].tmpdir),
			  "row %zu \"%s\": tmpdir \"%s\"", i, helper_rows[i].optstr,
			  o.tmpdir ? o.tmpdir : "(null)");
		cr_expect_eq(o.loop, helper_rows[i].loop, "row %zu \"%s\": loop %d", i,
			     helper_rows[i].optstr, o.loop);
		cr_expect_eq(o.direct_io, helper_rows[i].direct_io, "row %zu \"%s\": direct_io %d",
			     i, helper_rows[i].optstr, o.direct_io);
		cr_expect_eq(o.rmdir, helper_rows[i].rmdir, "row %zu \"%s\": rmdir %d", i,
			     helper_rows[i].optstr, o.rmdir);
		cr_expect_eq(o.api, helper_rows[i].api, "row %zu \"%s\": api %d, want %d", i,
			     helper_rows[i].optstr, (int)o.api, (int)helper_rows[i].api);
		/* Helper options never reach the kernel. */
		data = data_string(i, &o);
		cr_expect(strstr(data, "map=") == NULL && strstr(data, "cfs.") == NULL &&
				  strstr(data, "loop") == NULL && strstr(data, "direct-io") == NULL,
			  "row %zu \"%s\": helper option in data \"%s\"", i, helper_rows[i].optstr,
			  data);
		cr_expect(o.utab_opts == NULL || strstr(o.utab_opts, "map=") == NULL,
			  "row %zu \"%s\": helper option in utab \"%s\"", i, helper_rows[i].optstr,
			  o.utab_opts);
		opts_free(&o);
	}
}

static const struct {
	const char *optstr;
	const char *want_in_msg;
} bad_rows[] = {
	{ "cfs.api=fast", "cfs.api=fast" },
	{ "cfs.api=", "cfs.api=" },
	{ "cfs.api=LEGACY", "cfs.api=LEGACY" },
	{ "cfs.rmdir=maybe", "cfs.rmdir=maybe" },
	{ "cfs.rmdir=", "cfs.rmdir=" },
	{ "cfs.foo", "unknown option cfs.foo" },
	{ "cfs.foo=bar", "unknown option cfs.foo=bar" },
	{ "cfs.api", "cfs.api" },
	{ "ro,cfs.tmpdirx=/x,rw", "cfs.tmpdirx=/x" },
	{ "uidmap=", "uidmap=" },
	{ "gidmap=", "gidmap=" },
	{ "cfs.tmpdir=", "cfs.tmpdir=" },
	{ "cfs.userns=", "cfs.userns=" },
	/* the first bad option is the one reported */
	{ "lowerdir=/a,cfs.bad1,cfs.bad2", "cfs.bad1" },
	/* overlay's own parser knows no quotes: refused rather than read two ways */
	{ "lowerdir=\"/a,b\":/c", "lowerdir=\"/a,b\":/c" },
	{ "xino=\"on\"", "double quotes" },
	/* layers come only from lowerdir=, so that every one gets the idmap */
	{ "lowerdir=/a:/b,lowerdir+=/c", "lowerdir+=/c" },
	{ "datadir+=/d,lowerdir=/a:/b", "datadir+=/d" },
	{ "lowerdir+", "lowerdir+" },
	{ "upperdir+=/u", "upperdir+=/u" },
	{ "lowerdir+=/c", "layers come only from lowerdir=" },
};

Test(options, helper_bad_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_rows); i++) {
		struct cfs_mount_opts o = { .flags = 0xdead };
		struct cfs_error e = { 0 };
		int r = opts_parse(bad_rows[i].optstr, &o, &e);

		cr_expect_eq(r, -EINVAL, "row %zu \"%s\": returned %d, want -EINVAL", i,
			     bad_rows[i].optstr, r);
		cr_expect_eq(e.stage, CFS_STAGE_USAGE, "row %zu \"%s\": stage %d", i,
			     bad_rows[i].optstr, (int)e.stage);
		cr_expect(strstr(e.msg, bad_rows[i].want_in_msg) != NULL,
			  "row %zu \"%s\": message lacks \"%s\": %s", i, bad_rows[i].optstr,
			  bad_rows[i].want_in_msg, e.msg);
		cr_expect(strstr(e.msg, "cfs.bad2") == NULL, "row %zu: later failure reported: %s",
			  i, e.msg);
		cr_expect_eq(o.flags, 0xdead, "row %zu \"%s\": ret touched on failure", i,
			     bad_rows[i].optstr);
	}
}

/* ---- overlay data ---- */

static const struct {
	const char *optstr;
	const char *lowerdir, *upperdir, *workdir;
	const char *want_data; /* opts_data_string() */
} data_rows[] = {
	{ "lowerdir=/a:/b", "/a:/b", NULL, NULL, "" },
	{ "lowerdir=/a,upperdir=/u,workdir=/w", "/a", "/u", "/w", "upperdir=/u,workdir=/w" },
	{ "lowerdir=/a:/b,upperdir=/u,workdir=/w,index=on,metacopy=on,redirect_dir=follow,"
	  "xino=auto,volatile,userxattr,uuid=null",
	  "/a:/b", "/u", "/w",
	  "upperdir=/u,workdir=/w,index=on,metacopy=on,redirect_dir=follow,xino=auto,volatile,"
	  "userxattr,uuid=null" },
	/* later key wins, in the later position */
	{ "index=on,index=off", NULL, NULL, NULL, "index=off" },
	{ "index=on,xino=on,index=off", NULL, NULL, NULL, "xino=on,index=off" },
	{ "volatile,volatile", NULL, NULL, NULL, "volatile" },
	{ "redirect_dir=on,metacopy=on,redirect_dir=off,metacopy=off", NULL, NULL, NULL,
	  "redirect_dir=off,metacopy=off" },
	{ "redirect_dir=on,redirect=off", NULL, NULL, NULL, "redirect_dir=on,redirect=off" },
	{ "uuid=on,uuid=auto,uuid=null", NULL, NULL, NULL, "uuid=null" },
	{ "lowerdir=/a,lowerdir=/b:/c", "/b:/c", NULL, NULL, "" },
	{ "upperdir=/u1,workdir=/w1,upperdir=/u2", NULL, "/u2", "/w1", "upperdir=/u2,workdir=/w1" },
	/* escapes and data-only separators reach overlay untouched */
	{ "lowerdir=/a\\,b:/c,upperdir=/u\\,v,workdir=/w", "/a\\,b:/c", "/u\\,v", "/w",
	  "upperdir=/u\\,v,workdir=/w" },
	{ "lowerdir=/a\\:b\\\\:/c", "/a\\:b\\\\:/c", NULL, NULL, "" },
	{ "lowerdir=/l1:/l2::/d1::/d2", "/l1:/l2::/d1::/d2", NULL, NULL, "" },
	/* the other classes never reach data */
	{ "ro,lowerdir=/a:/b,nosuid,x-foo,nofail,rprivate,uidmap=0:1:1,gidmap=0:1:1,cfs.api=new,"
	  "metacopy=on",
	  "/a:/b", NULL, NULL, "metacopy=on" },
};

Test(options, data_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(data_rows); i++) {
		struct cfs_mount_opts o = { 0 };
		_cleanup_free_ char *data = NULL;

		parse_ok(i, data_rows[i].optstr, &o);
		cr_expect(str_eq_null(o.lowerdir, data_rows[i].lowerdir),
			  "row %zu \"%s\": lowerdir \"%s\", want \"%s\"", i, data_rows[i].optstr,
			  o.lowerdir ? o.lowerdir : "(null)",
			  data_rows[i].lowerdir ? data_rows[i].lowerdir : "(null)");
		cr_expect(str_eq_null(o.upperdir, data_rows[i].upperdir),
			  "row %zu \"%s\": upperdir \"%s\"", i, data_rows[i].optstr,
			  o.upperdir ? o.upperdir : "(null)");
		cr_expect(str_eq_null(o.workdir, data_rows[i].workdir),
			  "row %zu \"%s\": workdir \"%s\"", i, data_rows[i].optstr,
			  o.workdir ? o.workdir : "(null)");
		data = data_string(i, &o);
		cr_expect_str_eq(data, data_rows[i].want_data,
				 "row %zu \"%s\": data \"%s\", want \"%s\"", i, data_rows[i].optstr,
				 data, data_rows[i].want_data);
		/* lowerdir is the caller's to add (it may be compacted first). */
		cr_expect(strstr(data, "lowerdir") == NULL, "row %zu: lowerdir in data \"%s\"", i,
			  data);
		for (size_t j = 0; j < o.n_data; j++)
			cr_expect(strncmp(o.data[j], "lowerdir=", 9) &&
					  strncmp(o.data[j], "upperdir=", 9) &&
					  strncmp(o.data[j], "workdir=", 8),
				  "row %zu: layer path kept as data option \"%s\"", i, o.data[j]);
		opts_free(&o);
	}
}

/* All -o values joined with commas: one per option, as runtimes pass them. */
Test(options, joined_runtime_options)
{
	struct cfs_mount_opts o = { 0 };
	_cleanup_free_ char *data = NULL;
	const char *optstr =
		"lowerdir=/var/lib/c/snapshots/2/fs:/var/lib/c/snapshots/1/fs,"
		"upperdir=/var/lib/c/snapshots/3/fs,workdir=/var/lib/c/snapshots/3/work,"
		"index=off,rw,nosuid,nodev,uidmap=0:100000:65536,gidmap=0:100000:65536,"
		"loop,x-containerd.id=abc";

	parse_ok(0, optstr, &o);
	cr_assert_str_eq(o.lowerdir, "/var/lib/c/snapshots/2/fs:/var/lib/c/snapshots/1/fs",
			 "lowerdir \"%s\"", o.lowerdir);
	cr_assert_eq(o.flags, MS_NOSUID | MS_NODEV, "flags %#lx", o.flags);
	cr_assert(o.loop, "loop not seen");
	cr_assert_str_eq(o.uidmap, "0:100000:65536", "uidmap");
	cr_assert_str_eq(o.utab_opts, "x-containerd.id=abc", "utab_opts \"%s\"", o.utab_opts);
	data = data_string(0, &o);
	cr_assert_str_eq(data,
			 "upperdir=/var/lib/c/snapshots/3/fs,workdir=/var/lib/c/snapshots/3/work,"
			 "index=off",
			 "data \"%s\"", data);
	opts_free(&o);
}

Test(options, defaults_of_empty_string)
{
	struct cfs_mount_opts o = { .flags = 0xdead };
	_cleanup_free_ char *data = NULL;

	parse_ok(0, "", &o);
	cr_assert_eq(o.flags, 0, "flags %#lx", o.flags);
	cr_assert_eq(o.propagation, 0, "propagation %#lx", o.propagation);
	cr_assert(o.rmdir, "cfs.rmdir defaults to yes");
	cr_assert_eq(o.api, CFS_API_AUTO, "cfs.api defaults to auto");
	cr_assert(!o.loop && !o.direct_io && !o.user_mount, "booleans default to false");
	cr_assert(!o.lowerdir && !o.upperdir && !o.workdir && !o.uidmap && !o.gidmap && !o.userns &&
			  !o.tmpdir && !o.utab_opts && o.n_data == 0,
		  "strings default to NULL");
	data = data_string(0, &o);
	cr_assert_str_eq(data, "", "data \"%s\"", data);
	opts_free(&o);
	cr_assert_eq(o.n_data, 0, "opts_free leaves the struct empty");
}

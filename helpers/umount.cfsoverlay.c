/* umount.cfsoverlay: argv as umount(8) passes it to helpers, then src/umount.c. */

#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "errors.h"
#include "log.h"
#include "umount.h"

static void usage(FILE *out)
{
	fputs("Usage:\n"
	      " umount.cfsoverlay TARGET [-flnrv] [-N NAMESPACE] [-t TYPE]\n"
	      "\n"
	      "Unmount a cfsoverlay mount, then remove copies of it that other mount\n"
	      "namespaces still hold (the mountpoint directory is replaced by a fresh copy,\n"
	      "unless the mount was made with cfs.rmdir=no).\n"
	      "\n"
	      "Options:\n"
	      " -l, --lazy             detach now, finish when no longer busy (MNT_DETACH)\n"
	      " -f, --force            force the unmount (MNT_FORCE)\n"
	      " -n, --no-mtab          leave the other records of TARGET in /run/mount/utab\n"
	      " -r                     accepted and ignored\n"
	      " -v, --verbose          print each step on stderr\n"
	      " -N, --namespace NS     unmount in another mount namespace (a PID or a path)\n"
	      " -t, --types TYPE       accepted and ignored\n"
	      " -h, --help             print this help\n"
	      " -V, --version          print the version\n"
	      "\n"
	      "See umount.cfsoverlay(8).\n",
	      out);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lazy", no_argument, NULL, 'l' },
		{ "force", no_argument, NULL, 'f' },
		{ "no-mtab", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "namespace", required_argument, NULL, 'N' },
		{ "types", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cfs_umount_args a = { 0 };
	struct cfs_error e = { 0 };
	char msg[2 * CFS_ERROR_MAX + 64];
	bool is_verbose = false;
	int c, r;

	log_init("umount.cfsoverlay", false);
	while ((c = getopt_long(argc, argv, ":flnrvN:t:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': a.lazy = true; break;
		case 'f': a.force = true; break;
		case 'n': a.no_utab = true; break;
		case 'r': break;
		case 'v': is_verbose = true; break;
		case 'N': a.ns = optarg; break;
		case 't': break;
		case 'h': usage(stdout); return CFS_EX_OK;
		case 'V':
			printf("umount.cfsoverlay (%s %s)\n", PACKAGE_NAME, PACKAGE_VERSION);
			return CFS_EX_OK;
		default: return cli_bad_option(c, argv);
		}
	}
	if (argc - optind != 1)
		return cli_bad_operands(argc, argv, 1, "TARGET");
	log_init("umount.cfsoverlay", is_verbose);
	a.target = argv[optind];
	r = cfs_umount(&a, &e);
	if (r >= 0)
		return CFS_EX_OK;
	cfs_error_format(&e, msg, sizeof(msg));
	log_error("%s", msg);
	return (int)cfs_exit_code(e.stage, e.err ? e.err : r);
}

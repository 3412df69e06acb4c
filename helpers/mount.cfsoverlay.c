/* mount.cfsoverlay: argv as mount(8) passes it to helpers, then src/mount.c. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "errors.h"
#include "log.h"
#include "mount.h"

static void usage(FILE *out)
{
	fputs("Usage:\n"
	      " mount.cfsoverlay SOURCE TARGET [-fnsv] [-N NAMESPACE] [-o OPTIONS]... [-t TYPE]\n"
	      "\n"
	      "Mount an overlay filesystem of container image layers: idmapped read-only\n"
	      "layers, any number of layers, image files as layers.\n"
	      "\n"
	      "Options:\n"
	      " -o, --options OPTIONS  mount options; several -o are joined with commas\n"
	      " -f, --fake             check and plan everything, mount nothing\n"
	      " -n, --no-mtab          do not record the mount in /run/mount/utab\n"
	      " -s                     sloppy: accepted and ignored\n"
	      " -v, --verbose          print each step on stderr\n"
	      " -N, --namespace NS     mount in another mount namespace (a PID or a path)\n"
	      " -t, --types TYPE       cfsoverlay or cfsoverlay.SUBTYPE\n"
	      " -h, --help             print this help\n"
	      " -V, --version          print the version\n"
	      "\n"
	      "Helper options (in -o):\n"
	      " uidmap=MAP, gidmap=MAP   idmap the lower layers; MAP is CONTAINER:HOST:SIZE,\n"
	      "                          several ranges chained with colons or spaces\n"
	      " cfs.userns=PATH          idmap the lower layers with an existing user namespace\n"
	      " loop                     accepted and ignored: image-file layers need no option\n"
	      " direct-io                loop devices of image layers use direct I/O\n"
	      " cfs.api=auto|new|legacy  mount strategy (default auto)\n"
	      " cfs.tmpdir=DIR           temp location of the legacy strategy (default /run/cfsoverlay)\n"
	      " cfs.rmdir=yes|no         umount removes copies in other mount namespaces (default yes)\n"
	      "\n"
	      "Mount flags, propagation, user-space and overlay options (lowerdir=,\n"
	      "upperdir=, workdir=...): see mount.cfsoverlay(8).\n",
	      out);
}

static int append_options(char **all, const char *more)
{
	char *n;

	if (!*all)
		n = strdup(more);
	else if (asprintf(&n, "%s,%s", *all, more) < 0)
		n = NULL;
	if (!n)
		return -1;
	free(*all);
	*all = n;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "options", required_argument, NULL, 'o' },
		{ "fake", no_argument, NULL, 'f' },
		{ "no-mtab", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "namespace", required_argument, NULL, 'N' },
		{ "types", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cfs_mount_args a = { 0 };
	struct cfs_error e = { 0 };
	char *options = NULL, msg[2 * CFS_ERROR_MAX + 64];
	bool is_verbose = false;
	int c, r;

	log_init("mount.cfsoverlay", false);
	while ((c = getopt_long(argc, argv, ":o:fnsvN:t:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (append_options(&options, optarg) < 0) {
				log_error("out of memory");
				return CFS_EX_SYSERR;
			}
			break;
		case 'f': a.fake = true; break;
		case 'n': a.no_utab = true; break;
		case 's': break;
		case 'v': is_verbose = true; break;
		case 'N': a.ns = optarg; break;
		case 't': a.type = optarg; break;
		case 'h': usage(stdout); return CFS_EX_OK;
		case 'V':
			printf("mount.cfsoverlay (%s %s)\n", PACKAGE_NAME, PACKAGE_VERSION);
			return CFS_EX_OK;
		default: free(options); return cli_bad_option(c, argv);
		}
	}
	if (argc - optind != 2) {
		free(options);
		return cli_bad_operands(argc, argv, 2, "SOURCE and TARGET");
	}
	log_init("mount.cfsoverlay", is_verbose);
	a.source = argv[optind];
	a.target = argv[optind + 1];
	a.options = options ? options : "";

	r = cfs_mount(&a, &e);
	free(options);
	if (r >= 0)
		return CFS_EX_OK;
	cfs_error_format(&e, msg, sizeof(msg));
	log_error("%s", msg);
	return (int)cfs_exit_code(e.stage, e.err ? e.err : r);
}

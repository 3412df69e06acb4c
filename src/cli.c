#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "errors.h"
#include "log.h"

int cli_bad_option(int c, char *const argv[])
{
	/* getopt leaves the offending word at optind - 1; for a short option in a
	 * cluster ("-fZ") only optopt says which letter it was. */
	const char *word = argv[optind - 1];
	char letter[3] = { '-', (char)optopt, '\0' };
	const char *name = optopt && strncmp(word, "--", 2) ? letter : word;

	if (c == ':')
		log_error("option '%s' needs a value, try '%s --help'", name, log_program());
	else
		log_error("unknown option '%s', try '%s --help'", name, log_program());
	return CFS_EX_USAGE;
}

int cli_bad_operands(int argc, char *const argv[], int want, const char *names)
{
	int have = argc - optind;

	if (have > want)
		log_error("unexpected argument '%s': expected %s, try '%s --help'",
			  argv[optind + want], names, log_program());
	else
		log_error("expected %s, try '%s --help'", names, log_program());
	return CFS_EX_USAGE;
}

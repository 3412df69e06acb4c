/* Command-line mistakes, reported the same way by both helpers. */
#ifndef CFS_CLI_H
#define CFS_CLI_H

/* getopt_long() strings must start with ':' so that a missing value comes back
 * as ':' and getopt prints nothing itself.  Both print one line naming the
 * argument at fault and return the exit code for it. */
int cli_bad_option(int c, char *const argv[]);
int cli_bad_operands(int argc, char *const argv[], int want, const char *names);

#endif

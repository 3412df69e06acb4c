/*
 * The attacker of tests/integration/security_mount.sh: run as an unprivileged
 * user, it swaps two names in a directory it owns as fast as it can, with
 * renameat2(RENAME_EXCHANGE), until it is killed.  One name is the directory
 * on the way to root's mountpoint (or temp location), the other a symlink to
 * a tree of the attacker's own.
 *
 *   race_mount DIR NAME1 NAME2 [once]
 *
 * It writes one line "ready" to stdout once the first swap succeeded, so the
 * test starts mounting only when the race is really on.  With "once" it swaps
 * one time and exits: the test puts the names back with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long swaps = 0;
	int dfd;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: race_mount DIR NAME1 NAME2 [once]\n");
		return 2;
	}
	dfd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		perror(argv[1]);
		return 1;
	}
	for (;;) {
		if (renameat2(dfd, argv[2], dfd, argv[3], RENAME_EXCHANGE) < 0) {
			fprintf(stderr, "race_mount: exchange %s and %s: %m\n", argv[2], argv[3]);
			return 1;
		}
		if (argc == 5)
			return 0;
		if (++swaps == 1) {
			printf("ready\n");
			fflush(stdout);
		}
	}
}

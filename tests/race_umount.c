/*
 * The unprivileged side of tests/integration/races_umount.sh (python3 is not
 * on fresh machines), and an xattr tool for the tests (getfattr/setfattr are
 * not either).
 *
 *   race_umount exchange DIR NAME OTHER   swap DIR/NAME, and every temp name
 *                                         umount.cfsoverlay makes in DIR, with
 *                                         DIR/OTHER, again and again
 *   race_umount symlink DIR A B           swap DIR/A and DIR/B again and
 *                                         again; on SIGTERM, put them back
 *   race_umount setx PATH NAME HEX        set an xattr (value in hex)
 *   race_umount getx PATH NAME            print an xattr in hex, "-" if none
 *
 * The racers print "ready" once they have swapped, so that the test starts
 * the umount against a running attacker without sleeping, and run until
 * SIGTERM.  Exit 0, or 1 with a message.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The temp names of src/replace.c. */
#define TEMP_PREFIX ".cfs-umount-"
#define XATTR_MAX   65536

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int fail(const char *what)
{
	fprintf(stderr, "race_umount: %s: %s\n", what, strerror(errno));
	return 1;
}

static void say_ready(bool *told)
{
	if (*told)
		return;
	*told = true;
	if (write(STDOUT_FILENO, "ready\n", 6) != 6)
		exit(1);
}

static bool swap(int dfd, const char *a, const char *b)
{
	return renameat2(dfd, a, dfd, b, RENAME_EXCHANGE) == 0;
}

static int exchange_loop(const char *dir, const char *name, const char *other)
{
	DIR *d = opendir(dir);
	bool told = false;

	if (!d)
		return fail(dir);
	while (!stop) {
		struct dirent *de;

		(void)swap(dirfd(d), name, other);
		rewinddir(d);
		while ((de = readdir(d)))
			if (!strncmp(de->d_name, TEMP_PREFIX, strlen(TEMP_PREFIX)))
				(void)swap(dirfd(d), de->d_name, other);
		say_ready(&told);
	}
	closedir(d);
	return 0;
}

static int symlink_loop(const char *dir, const char *a, const char *b)
{
	bool told = false, swapped = false;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return fail(dir);
	while (!stop) {
		if (swap(dfd, a, b))
			swapped = !swapped;
		say_ready(&told);
	}
	/* The test checks the tree as it was. */
	if (swapped && !swap(dfd, a, b))
		return fail("swapping back");
	close(dfd);
	return 0;
}

static int set_xattr(const char *path, const char *name, const char *hex)
{
	size_t len = strlen(hex) / 2;
	unsigned char *v = malloc(len + 1);
	int r = 0;

	if (!v)
		return fail("malloc");
	for (size_t i = 0; i < len; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &v[i]) != 1) {
			fprintf(stderr, "race_umount: bad hex %s\n", hex);
			free(v);
			return 1;
		}
	if (lsetxattr(path, name, v, len, 0) < 0)
		r = fail(path);
	free(v);
	return r;
}

static int get_xattr(const char *path, const char *name)
{
	static unsigned char v[XATTR_MAX];
	ssize_t n = lgetxattr(path, name, v, sizeof(v));

	if (n < 0 && errno == ENODATA) {
		puts("-");
		return 0;
	}
	if (n < 0)
		return fail(path);
	for (ssize_t i = 0; i < n; i++)
		printf("%02x", v[i]);
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };

	if (sigaction(SIGTERM, &sa, NULL) < 0)
		return fail("sigaction");
	if (argc == 5 && !strcmp(argv[1], "exchange"))
		return exchange_loop(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "symlink"))
		return symlink_loop(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "setx"))
		return set_xattr(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "getx"))
		return get_xattr(argv[2], argv[3]);
	fprintf(stderr, "usage: race_umount exchange DIR NAME OTHER | symlink DIR A B | "
			"setx PATH NAME HEX | getx PATH NAME\n");
	return 1;
}

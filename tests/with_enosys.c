/* with_enosys NR COMMAND [ARG]...: runs COMMAND with the system call number
 * NR answering ENOSYS, as a kernel without it does, so that the integration
 * tests reach the fallbacks of newer calls (open_tree_attr: 467) on this
 * kernel; strace before 6.15 cannot inject into calls it does not know.  The
 * seccomp filter is inherited across exec and by every child. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

int main(int argc, char **argv)
{
	char *end;
	unsigned long nr = argc > 1 ? strtoul(argv[1], &end, 10) : 0;
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };

	if (argc < 3 || *end || !nr) {
		fprintf(stderr, "usage: with_enosys NR COMMAND [ARG]...\n");
		return 1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("with_enosys: seccomp");
		return 1;
	}
	execvp(argv[2], argv + 2);
	perror("with_enosys: exec");
	return 127;
}

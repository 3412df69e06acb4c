/* without_statmount COMMAND [ARG]...: runs COMMAND with statmount(2)
 * answering ENOSYS, as a kernel before 6.8 does, so that the integration
 * tests reach the mountinfo fallbacks on this kernel.  A seccomp filter is
 * inherited across exec and cannot be undone: COMMAND and its children all
 * see the old kernel. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* The same number on every architecture (the unified syscall table). */
#define NR_STATMOUNT 457

int main(int argc, char **argv)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_STATMOUNT, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };

	if (argc < 2) {
		fprintf(stderr, "usage: without_statmount COMMAND [ARG]...\n");
		return 1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("without_statmount: seccomp");
		return 1;
	}
	execvp(argv[1], argv + 1);
	perror("without_statmount: exec");
	return 127;
}

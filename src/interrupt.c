#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include "interrupt.h"
#include "util.h"

static volatile sig_atomic_t received_signal;
static bool installed;

static void on_signal(int sig)
{
	received_signal = sig;
}

static int install(bool restart)
{
	static const int signals[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = on_signal };

	/* SA_RESTART: a signal must never turn a syscall half-way into an error
	 * path of its own; the checks between steps handle it. */
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
		if (sigaction(signals[i], &sa, NULL) < 0)
			return negerrno();
	return 0;
}

int interrupt_install(void)
{
	int r = install(true);

	installed = r == 0;
	return r;
}

int interrupt_restart(bool restart)
{
	/* Where nothing undoes (umount), a signal keeps its default action. */
	return installed ? install(restart) : 0;
}

int interrupt_check(struct cfs_error *e)
{
	if (!received_signal)
		return 0;
	return cfs_fail(e, CFS_STAGE_MOUNT, -EINTR, "interrupted by %s, undoing",
			strsignal(received_signal));
}

#include <errno.h>
#include <unistd.h>

#include <cap-ng.h>

#include "log.h"
#include "privs.h"

int privs_check(struct cfs_error *e)
{
	if (getuid() != 0)
		return cfs_fail(
			e, CFS_STAGE_PERM, 0,
			"only root can use this helper (real uid %u): unprivileged and fstab \"user\" mounts are refused",
			(unsigned)getuid());
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_get_caps_process() < 0)
		return cfs_fail(e, CFS_STAGE_PERM, -EIO, "cannot read the process's capabilities");
	if (!capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_ADMIN))
		return cfs_fail(e, CFS_STAGE_PERM, 0, "CAP_SYS_ADMIN is needed to mount");
	return 0;
}

int privs_drop(struct cfs_error *e)
{
	/* Mounts, loop devices and utab need SYS_ADMIN; the DAC ones reach layers
	 * and temp directories whatever their modes; CHOWN and FOWNER restore a
	 * mountpoint's owner and mode at umount. */
	capng_clear(CAPNG_SELECT_CAPS);
	if (capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SYS_ADMIN,
			  CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_CHOWN, -1) < 0 ||
	    capng_apply(CAPNG_SELECT_CAPS) < 0)
		return cfs_fail(e, CFS_STAGE_PERM, -EPERM, "cannot drop capabilities");
	verbose("capabilities: kept sys_admin, dac_override, dac_read_search, fowner, chown");
	return 0;
}

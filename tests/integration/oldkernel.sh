#!/bin/bash
# Old kernels, simulated: valgrind 3.19 does not know fsopen/open_tree/
# mount_setattr and answers ENOSYS, which is what a kernel before 5.2 does.
# Under it the helper must fall back to mount(2), say clearly what idmapping
# needs, and stay free of memory errors and leaks (valgrind-clean main paths).
. "$(dirname "$0")/lib.sh"
setup "$@"

command -v valgrind >/dev/null || skip_all "valgrind is not installed"
[ "${CFS_SANITIZERS:-no}" = yes ] && skip_all "sanitizer build: valgrind cannot run AddressSanitizer binaries (the plain build runs this test)"
VG=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99)

mkdir -p u w m tmp
mklayers 200 "$WORK/L"
FULL="lowerdir=$WORK/L/1:$WORK/L/2,upperdir=$WORK/u,workdir=$WORK/w"

run "${VG[@]}" "$MOUNT_HELPER" -v overlay "$WORK/m" -o "$FULL"
grep -q "new mount API is not available" <<<"$last_err" ||
	{ is_mounted m && umount m; skip_all "this valgrind implements the new mount API: no old kernel to simulate"; }
check "auto falls back to mount(2) (exit $last_rc)" [ "$last_rc" -eq 0 ]
check "-v says legacy ran" grep -q "strategy: legacy" <<<"$last_err"
check "merged view complete" bash -c "[ \"\$(cat m/f1 m/f2)\" = \"\$(printf '1\n2')\" ]"
expect_rc "umount.cfsoverlay under valgrind: no errors or leaks" 0 "${VG[@]}" "$UMOUNT_HELPER" "$WORK/m"

# 200 layers: past the page, so compaction runs in its CLONE_FS thread
expect_rc "200 layers compacted, valgrind-clean" 0 "${VG[@]}" "$MOUNT_HELPER" overlay "$WORK/m" \
	-o "lowerdir=$(lowerdir_of 200 "$WORK/L"),upperdir=$WORK/u,workdir=$WORK/w"
check "all 200 layers visible" [ "$(ls m | wc -l)" -eq 200 ]
"$UMOUNT_HELPER" "$WORK/m"

expect_rc "cfs.api=new refused (exit 32)" 32 "${VG[@]}" "$MOUNT_HELPER" overlay "$WORK/m" -o "$FULL,cfs.api=new"
check "message names the kernel version needed" grep -q "needs Linux" <<<"$last_err"
expect_rc "idmap without open_tree refused (exit 32)" 32 "${VG[@]}" "$MOUNT_HELPER" overlay "$WORK/m" \
	-o "$FULL,uidmap=0:100000:65536,gidmap=0:100000:65536,cfs.api=legacy,cfs.tmpdir=$WORK/tmp"
check "message says what the kernel lacks" grep -q "kernel lacks" <<<"$last_err"
check "message names the layer" grep -q "$WORK/L/1" <<<"$last_err"
expect_rc "bad input under valgrind: no errors or leaks" 1 "${VG[@]}" "$MOUNT_HELPER" overlay "$WORK/m" \
	-o "$FULL,uidmap=0:1:0,gidmap=0:1:1"
assert_clean "old kernel" "$WORK/tmp"
done_testing

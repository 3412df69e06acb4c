#!/bin/bash
# The core: mount(8), fstab and direct exec, flags, propagation, utab routing,
# remount, -f/-n/-N, both strategies, and the plain error cases.
. "$(dirname "$0")/lib.sh"
setup "$@"

mkdir -p l1 l2 u w m other
echo one >l1/a
echo two >l2/b
LOWER=$WORK/l1:$WORK/l2
FULL="lowerdir=$LOWER,upperdir=$WORK/u,workdir=$WORK/w"

merged_ok() { [ "$(cat m/a 2>/dev/null)" = one ] && [ "$(cat m/b 2>/dev/null)" = two ]; }
utab_has() { grep -q "TARGET=$WORK/m .*$1" "$LIBMOUNT_UTAB" 2>/dev/null; }
utab_empty() { ! grep -q "TARGET=$WORK/m " "$LIBMOUNT_UTAB" 2>/dev/null; }
reset_upper() { rm -rf u w && mkdir u w; }

# --help / --version
run "$MOUNT_HELPER" --help
check "mount.cfsoverlay --help exits 0" [ "$last_rc" -eq 0 ]
check "--help names uidmap" sh -c "'$MOUNT_HELPER' --help | grep -q uidmap="
check "--version prints the version" sh -c "'$MOUNT_HELPER' --version | grep -q 'cfsoverlay [0-9]'"
expect_rc "unknown flag is a usage error" 1 "$MOUNT_HELPER" overlay m --bogus
expect_rc "missing TARGET is a usage error" 1 "$MOUNT_HELPER" overlay

for api in auto legacy; do
	# 1. the shell: mount -t cfsoverlay
	expect_rc "[$api] mount -t cfsoverlay succeeds" 0 mount -t cfsoverlay overlay "$WORK/m" -o "$FULL,cfs.api=$api"
	check "[$api] merged view shows both layers" merged_ok
	check "[$api] utab records helper=cfsoverlay" utab_has helper=cfsoverlay
	check "[$api] kernel-side source is SOURCE" [ "$(findmnt -rn -o SOURCE --mountpoint "$WORK/m")" = overlay ]
	echo new >m/c
	check "[$api] writes land in upperdir" [ "$(cat u/c)" = new ]
	# plain umount must come back to umount.cfsoverlay (helper= in utab)
	strace -f -qq -e trace=execve -o "$WORK/strace.out" umount "$WORK/m" 2>/dev/null
	check "[$api] plain umount runs umount.cfsoverlay" grep -q 'execve("/sbin/umount.cfsoverlay"' "$WORK/strace.out"
	check "[$api] unmounted" bash -c "! mountpoint -q '$WORK/m'"
	check "[$api] utab entry removed" utab_empty
	reset_upper

	# 2. runtime exec: one -o per option, flags in any order
	expect_rc "[$api] direct exec with one -o per option" 0 \
		"$MOUNT_HELPER" overlay "$WORK/m" -o "lowerdir=$LOWER" -o "upperdir=$WORK/u" -v \
		-o "workdir=$WORK/w" -o nosuid,nodev -o noexec -o "cfs.api=$api"
	check "[$api] -v names the strategy" grep -q "strategy: " <<<"$last_err"
	check "[$api] merged view (direct exec)" merged_ok
	vfs=$(mount_vfs_opts "$WORK/m")
	check "[$api] nosuid,nodev,noexec visible in mountinfo ($vfs)" \
		bash -c "grep -q nosuid <<<'$vfs' && grep -q nodev <<<'$vfs' && grep -q noexec <<<'$vfs'"
	check "[$api] direct exec records utab too" utab_has helper=cfsoverlay
	# remount reaches the helper through mount(8)
	expect_rc "[$api] mount -o remount,ro" 0 mount -t cfsoverlay -o remount,ro overlay "$WORK/m"
	check "[$api] remount made it read-only" bash -c "grep -q '^ro' <<<\"\$(findmnt -rn -o VFS-OPTIONS --mountpoint '$WORK/m')\""
	expect_rc "[$api] umount.cfsoverlay" 0 "$UMOUNT_HELPER" "$WORK/m"
	reset_upper

	# 3. read-only overlay, later options win, data-only layer (where the
	# kernel has them: the read-only overlay is tested either way)
	mkdir -p d && echo data >d/x
	DATA=
	if probe_data_only_layers; then DATA="::$WORK/d$DATAONLY_OPT"; fi
	expect_rc "[$api] read-only overlay of two layers${DATA:+ and a data-only one}, rw,ro later wins" 0 \
		"$MOUNT_HELPER" overlay "$WORK/m" -o "rw,lowerdir=$LOWER$DATA,ro,cfs.api=$api"
	check "[$api] later ro won" bash -c "grep -q '^ro' <<<\"\$(mount_vfs_opts '$WORK/m' 2>/dev/null || findmnt -rn -o VFS-OPTIONS --mountpoint '$WORK/m')\""
	if [ -n "$DATA" ]; then
		check "[$api] data-only layer not visible" [ ! -e m/x ]
	else
		skip "[$api] data-only layer not visible" "$PROBE_REASON"
	fi
	"$UMOUNT_HELPER" "$WORK/m"
done

# 4. fstab: user-space options never reach the kernel
cat >fstab <<EOT
overlay $WORK/m cfsoverlay $FULL,nofail,comment=cfs-test,x-systemd.requires=foo.service,_netdev 0 0
EOT
expect_rc "mount -T fstab DIR" 0 mount -T "$WORK/fstab" "$WORK/m"
check "fstab mount shows the layers" merged_ok
fso=$(mount_fs_opts "$WORK/m")$(mount_vfs_opts "$WORK/m")
check "nofail/comment/x-systemd/_netdev not sent to the kernel" \
	bash -c "! grep -Eq 'nofail|comment|x-systemd|_netdev' <<<'$fso'"
check "utab keeps _netdev, drops comment=" bash -c "grep -q _netdev '$LIBMOUNT_UTAB' && ! grep -q comment= '$LIBMOUNT_UTAB'"
expect_rc "umount DIR (fstab mount)" 0 umount "$WORK/m"
check "fstab mount gone" bash -c "! mountpoint -q '$WORK/m'"
reset_upper

# 5. propagation: applied by the helper on direct exec, in a second call
expect_rc "direct exec with shared" 0 "$MOUNT_HELPER" overlay "$WORK/m" -o "$FULL,shared"
check "mount is shared" [ "$(findmnt -rn -o PROPAGATION --mountpoint "$WORK/m")" = shared ]
check "shared is not overlay data" bash -c "! grep -q shared <<<\"\$(findmnt -rn -o FS-OPTIONS --mountpoint '$WORK/m')\""
"$UMOUNT_HELPER" "$WORK/m"
reset_upper

# 6. -f plans and mounts nothing; -n writes no utab
expect_rc "-f succeeds" 0 "$MOUNT_HELPER" -f overlay "$WORK/m" -o "$FULL"
check "-f mounted nothing" bash -c "! mountpoint -q '$WORK/m'"
expect_rc "-n mounts" 0 "$MOUNT_HELPER" -n overlay "$WORK/m" -o "$FULL"
check "-n wrote no utab line" utab_empty
"$UMOUNT_HELPER" -n "$WORK/m"
reset_upper

# 7. -N mounts in another mount namespace only
# (the holder says through a fifo that it is in its namespace: no timing)
mkfifo ns.ready
unshare -m --propagation private bash -c 'echo >"$1" && exec sleep 300' _ "$WORK/ns.ready" &
nspid=$!
trap 'kill "$nspid" 2>/dev/null; cleanup_work' EXIT
read -r _ <ns.ready
expect_rc "-N PID" 0 "$MOUNT_HELPER" -n -N "$nspid" overlay "$WORK/m" -o "$FULL"
check "mounted inside the namespace" nsenter -t "$nspid" -m mountpoint -q "$WORK/m"
check "not mounted here" bash -c "! mountpoint -q '$WORK/m'"
expect_rc "umount.cfsoverlay -N PID" 0 "$UMOUNT_HELPER" -n -N "$nspid" "$WORK/m"
check "gone inside the namespace" bash -c "! nsenter -t $nspid -m mountpoint -q '$WORK/m'"
kill "$nspid"; wait "$nspid" 2>/dev/null
expect_rc "-N with a bad namespace" 1 "$MOUNT_HELPER" -N /nonexistent overlay "$WORK/m" -o "$FULL"
reset_upper

# 8. paths with , and : survive overlay's escapes
mkdir -p 'odd,dir:1'
echo odd >'odd,dir:1/o'
expect_rc "layer path with , and :" 0 "$MOUNT_HELPER" overlay "$WORK/m" -o 'lowerdir='"$WORK"'/odd\,dir\:1:'"$LOWER"
check "escaped layer visible" [ "$(cat m/o 2>/dev/null)" = odd ]
"$UMOUNT_HELPER" "$WORK/m"

# 9. errors: one clear line, the mount(8) exit code, nothing left
one_line() { [ "$(printf '%s\n' "$last_err" | wc -l)" -eq 1 ] && [[ $last_err == mount.cfsoverlay:* ]]; }
bad() {
	local desc=$1 rc=$2 pattern=$3
	shift 3
	local cmd=("$MOUNT_HELPER")
	# --strace-inject SPEC as the last two arguments: the kernel's answer, simulated
	if [ $# -ge 2 ] && [ "${*: -2:1}" = --strace-inject ]; then
		cmd=(strace -f -qq -o /dev/null -e "inject=${*: -1}" "$MOUNT_HELPER")
		set -- "${@:1:$#-2}"
	fi
	expect_rc "error: $desc (exit $rc)" "$rc" "${cmd[@]}" overlay "$@"
	check "error: $desc: one line naming it" bash -c "$(declare -f one_line); last_err=\$1; one_line && grep -q -- \"\$2\" <<<\"\$1\"" _ "$last_err" "$pattern"
	check "error: $desc: nothing mounted, no utab line" bash -c "! mountpoint -q '$WORK/m' && ! grep -q 'TARGET=$WORK/m ' '$LIBMOUNT_UTAB' 2>/dev/null"
}
bad "missing lowerdir" 1 "lowerdir" "$WORK/m" -o "upperdir=$WORK/u,workdir=$WORK/w"
bad "empty lowerdir" 1 "lowerdir" "$WORK/m" -o "lowerdir=,upperdir=$WORK/u,workdir=$WORK/w"
bad "upperdir without workdir" 1 "workdir" "$WORK/m" -o "lowerdir=$LOWER,upperdir=$WORK/u"
bad "one lower, no upper" 1 "two lower" "$WORK/m" -o "lowerdir=$WORK/l1"
bad "non-existent lower" 32 "$WORK/nope" "$WORK/m" -o "lowerdir=$WORK/nope:$WORK/l1,upperdir=$WORK/u,workdir=$WORK/w"
bad "target missing" 32 "$WORK/missing" "$WORK/missing" -o "$FULL"
bad "target not a directory" 32 "Not a directory" "$WORK/fstab" -o "$FULL"
bad "kernel-rejected option" 32 "index=bogus" "$WORK/m" -o "$FULL,index=bogus"
bad "unknown cfs option" 1 "cfs.bogus" "$WORK/m" -o "$FULL,cfs.bogus=1"
bad "user mounts refused" 1 "user" "$WORK/m" -o "$FULL,user"
bad "wrong type" 1 "type" "$WORK/m" -t ext4 -o "$FULL"
bad "legacy: kernel-rejected option" 32 "overlay" "$WORK/m" -o "$FULL,index=bogus,cfs.api=legacy"

# 10. the new API's fallbacks, on every kernel: strace answers for the kernel
# (fsopen as on a kernel before 5.2, fsconfig's first layer fd as before 6.5),
# and the error of the strategy that fell back never masks the next one's.
if command -v strace >/dev/null; then
	inj() { # inj SYSCALL:error=E:when=N COMMAND...
		local spec=$1
		shift
		strace -f -qq -o /dev/null -e inject="$spec" "$@"
	}
	# Each SYSCALL:error=E[:when=N] that auto answers with mount(2).
	for spec in fsopen:error=ENOSYS fsopen:error=EPERM fsconfig:error=EOPNOTSUPP:when=2; do
		err=${spec#*error=}
		tag="[${spec%%:*} ${err%%:*}]"
		expect_rc "$tag auto falls back to mount(2)" 0 \
			inj "$spec" "$MOUNT_HELPER" -v overlay "$WORK/m" -o "$FULL"
		check "$tag -v says legacy ran" grep -q "strategy: legacy" <<<"$last_err"
		check "$tag merged view" merged_ok
		"$UMOUNT_HELPER" "$WORK/m"
		reset_upper
	done
	bad "[fsopen ENOSYS] cfs.api=new says what the kernel lacks" 32 "kernel lacks fsopen.*needs Linux" \
		"$WORK/m" -o "$FULL,cfs.api=new" --strace-inject fsopen:error=ENOSYS
	bad "[fsopen EPERM] cfs.api=new reports EPERM itself" 32 "Operation not permitted" \
		"$WORK/m" -o "$FULL,cfs.api=new" --strace-inject fsopen:error=EPERM
	bad "[fsopen ENOMEM] reported as itself, no fallback" 2 "fsopen.*Cannot allocate memory" \
		"$WORK/m" -o "$FULL" --strace-inject fsopen:error=ENOMEM
	bad "[fsconfig EOPNOTSUPP] cfs.api=new says what the kernel lacks" 32 "overlay on the new mount API: needs Linux 6.5" \
		"$WORK/m" -o "$FULL,cfs.api=new" --strace-inject fsconfig:error=EOPNOTSUPP:when=2
	bad "[fsconfig EINVAL] cfs.api=new says what the kernel lacks" 32 "layers passed as fds: needs Linux 6.15" \
		"$WORK/m" -o "$FULL,cfs.api=new" --strace-inject fsconfig:error=EINVAL:when=2
	bad "[fsconfig EOPNOTSUPP] legacy's own error is the one reported" 32 "cannot mount overlay on $WORK/m: Invalid argument" \
		"$WORK/m" -o "$FULL,index=bogus" --strace-inject fsconfig:error=EOPNOTSUPP:when=2
	check "[fsconfig EOPNOTSUPP] no stale lowerdir message" bash -c "! grep -q 'Operation not supported' <<<\"\$1\"" _ "$last_err"
else
	skip "new API fallbacks" "strace is not installed (fault injection)"
fi

expect_rc "umount.cfsoverlay of an unmounted dir exits 32" 32 "$UMOUNT_HELPER" "$WORK/m"
check "umount error names the target" grep -q "not mounted" <<<"$last_err"
check "umount of an unmounted dir removed nothing" [ -d "$WORK/m" ]
assert_clean "basic"
done_testing

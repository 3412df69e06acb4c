#!/bin/bash
# umount.cfsoverlay: the cleanup of copies in other mount namespaces (the
# mountpoint replaced by a fresh copy; why it matters: index=on refuses an
# upperdir a leaked copy still holds),
# the mountpoint kept with its owner and mode, the cases where the directory is
# kept, -l/-n/-v, and the stale temp directories of killed helpers reclaimed by
# the next umount, also under 16 parallel mount/umount pairs; who may replace
# the mountpoint (the parent decides), and a mount stacked on the overlay.
# The races and kills of the replacement are in races_umount.sh.
. "$(dirname "$0")/lib.sh"
setup "$@"

IDM="uidmap=0:100000:65536,gidmap=0:100000:65536"
TMPB=$WORK/tmp
mkdir -p l1 l2 u w m "$TMPB"
chmod 0700 "$TMPB"
echo one >l1/a
echo two >l2/b
LOWER=$WORK/l1:$WORK/l2
FULL="lowerdir=$LOWER,upperdir=$WORK/u,workdir=$WORK/w"

SLEEPERS=()
kill_sleepers() {
	local pid
	# unshare -f ignores SIGTERM while it waits for its child, and a pid
	# namespace's init ignores it too: those children get SIGKILL.
	for pid in "${SLEEPERS[@]}"; do
		kill -KILL $(cat "/proc/$pid/task/$pid/children" 2>/dev/null) 2>/dev/null
		kill "$pid" 2>/dev/null
	done
	for pid in "${SLEEPERS[@]}"; do wait "$pid" 2>/dev/null; done
	SLEEPERS=()
}
kill_jobs() {
	local pid
	for pid in $(jobs -p); do kill -KILL "$pid" 2>/dev/null; done
	wait 2>/dev/null
}
trap 'kill_sleepers; kill_jobs; cleanup_work' EXIT

# A second mount namespace, copied from ours with everything mounted now.
new_ns() {
	unshare -m --propagation private sleep 300 &
	NSPID=$!
	SLEEPERS+=("$NSPID")
	# unshare has switched namespaces once its mount namespace differs from ours.
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(readlink "/proc/$NSPID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] && return 0
		sleep 0.02
	done
	return 1
}
in_ns_mounted() { nsenter -t "$1" -m mountpoint -q "$2"; }
reset_upper() { rm -rf u w && mkdir u w; }
inode() { stat -c %i "$1"; }
utab_line() { grep "TARGET=$1 " "$LIBMOUNT_UTAB" 2>/dev/null; }

# --- 1. copies in other namespaces go; index=on can mount the upperdir again ----
expect_rc "mount with index=on" 0 mount -t cfsoverlay overlay "$WORK/m" -o "$FULL,index=on"
new_ns
check "another namespace holds a copy" in_ns_mounted "$NSPID" "$WORK/m"
expect_rc "plain umount(8) runs umount.cfsoverlay" 0 umount "$WORK/m"
check "unmounted here" bash -c "! mountpoint -q '$WORK/m'"
check "the copy in the other namespace is gone" bash -c "! nsenter -t $NSPID -m mountpoint -q '$WORK/m'"
check "the mountpoint exists again" [ -d "$WORK/m" ]
check "the mountpoint exists again in the other namespace" nsenter -t "$NSPID" -m test -d "$WORK/m"
expect_rc "the same upperdir mounts again at once with index=on" 0 \
	mount -t cfsoverlay overlay "$WORK/m" -o "$FULL,index=on"
check "the remount shows the layers" bash -c "[ \"\$(cat '$WORK/m/a' '$WORK/m/b')\" = \"\$(printf 'one\ntwo')\" ]"
expect_rc "and unmounts" 0 umount "$WORK/m"
kill_sleepers
reset_upper

# cfs.rmdir=no: recorded in utab, the copy stays, and index=on refuses the upperdir.
ino=$(inode m) # of the directory, not of the mount's root
expect_rc "mount with cfs.rmdir=no,index=on" 0 mount -t cfsoverlay overlay "$WORK/m" -o "$FULL,index=on,cfs.rmdir=no"
check "utab records cfs.rmdir=no in ATTRS" grep -q "TARGET=$WORK/m .*ATTRS=.*cfs.rmdir=no" "$LIBMOUNT_UTAB"
new_ns
run "$UMOUNT_HELPER" -v "$WORK/m"
check "cfs.rmdir=no: umount exits 0 ($last_rc)" [ "$last_rc" -eq 0 ]
check "cfs.rmdir=no: -v says the directory is kept" grep -q "cfs.rmdir=no" <<<"$last_err"
check "cfs.rmdir=no: same directory" [ "$(inode m)" = "$ino" ]
check "cfs.rmdir=no: the copy in the other namespace stays" in_ns_mounted "$NSPID" "$WORK/m"
expect_rc "cfs.rmdir=no: the upperdir is still in use (exit 32)" 32 \
	"$MOUNT_HELPER" overlay "$WORK/m" -o "$FULL,index=on"
check "the EBUSY error names the cause" grep -q "in use by another overlay mount" <<<"$last_err"
mountpoint -q m && "$UMOUNT_HELPER" "$WORK/m" # only when the case above failed
kill_sleepers
ok=1
for _ in 1 2 3 4 5 6 7 8 9 10; do
	"$MOUNT_HELPER" overlay "$WORK/m" -o "$FULL,index=on" 2>/dev/null && ok=0 && break
	sleep 0.1
done
check "with the other namespace gone the upperdir mounts again" [ "$ok" -eq 0 ]
mountpoint -q m && "$UMOUNT_HELPER" "$WORK/m"
reset_upper

# --- 2. the mountpoint keeps its owner and mode --------------------------------
for mode in 0750 3751; do
	chown 1234:5678 m
	chmod "$mode" m
	"$MOUNT_HELPER" overlay "$WORK/m" -o "$FULL"
	expect_rc "[$mode] umount.cfsoverlay -v" 0 "$UMOUNT_HELPER" -v "$WORK/m"
	check "[$mode] the mountpoint was replaced by a fresh copy" grep -q "replaced $WORK/m by a fresh copy" <<<"$last_err"
	got=$(stat -c '%u:%g %04a' m)
	check "[$mode] owner and mode kept (1234:5678 $mode, got $got)" [ "$got" = "1234:5678 $mode" ]
	reset_upper
done
chown 0:0 m
chmod 0755 m
if command -v getfattr >/dev/null && getfattr -n security.selinux m >/dev/null 2>&1; then
	label=$(getfattr --only-values -n security.selinux m)
	"$MOUNT_HELPER" overlay "$WORK/m" -o "$FULL" && "$UMOUNT_HELPER" "$WORK/m"
	check "security label kept" [ "$(getfattr --only-values -n security.selinux m)" = "$label" ]
	reset_upper
else
	skip "security label kept" "no security.selinux label here (SELinux off or getfattr missing)"
fi

# A symlink in place of the mountpoint is not a directory to recreate: umount
# of a symlink to a mount unmounts the mount and touches no link.
mkdir -p real
ln -s real link
"$MOUNT_HELPER" overlay "$WORK/real" -o "$FULL"
expect_rc "umount.cfsoverlay through a symlink" 0 "$UMOUNT_HELPER" "$WORK/link"
check "the symlink is still a symlink to the directory" bash -c "[ -L '$WORK/link' ] && [ \"\$(readlink '$WORK/link')\" = real ] && [ -d '$WORK/real' ] && ! mountpoint -q '$WORK/real'"
rm -f link
reset_upper

# --- 3. not mounted: exit 32, nothing removed ----------------------------------
touch m/.keep
ino=$(inode m)
expect_rc "umount.cfsoverlay of an unmounted directory exits 32" 32 "$UMOUNT_HELPER" "$WORK/m"
check "the error names the directory" grep -q "$WORK/m: not mounted" <<<"$last_err"
check "one line on stderr" [ "$(printf '%s\n' "$last_err" | wc -l)" -eq 1 ]
check "nothing removed" bash -c "[ \$(stat -c %i '$WORK/m') = $ino ] && [ -e '$WORK/m/.keep' ]"
rm -f m/.keep
rmdir empty 2>/dev/null
mkdir empty
ino=$(inode empty)
expect_rc "umount.cfsoverlay of an unmounted empty directory exits 32" 32 "$UMOUNT_HELPER" "$WORK/empty"
check "the empty directory is the same one" [ "$(inode empty)" = "$ino" ]
expect_rc "umount.cfsoverlay of a missing path exits 32" 32 "$UMOUNT_HELPER" "$WORK/missing"
check "the error names the path" grep -q "$WORK/missing" <<<"$last_err"

# --- 4. the directory is kept, the unmount still succeeds ----------------------
# Files under the mountpoint, hidden while it was mounted.
mkdir -p full
echo hidden >full/hidden
ino=$(inode full)
"$MOUNT_HELPER" overlay "$WORK/full" -o "$FULL"
new_ns
run "$UMOUNT_HELPER" -v "$WORK/full"
check "not empty underneath: exit 0 ($last_rc)" [ "$last_rc" -eq 0 ]
check "not empty underneath: unmounted" bash -c "! mountpoint -q '$WORK/full'"
check "not empty underneath: -v says why the directory is kept" grep -q "keeping $WORK/full: it is not empty" <<<"$last_err"
check "not empty underneath: directory and its file untouched" \
	bash -c "[ \$(stat -c %i '$WORK/full') = $ino ] && [ \"\$(cat '$WORK/full/hidden')\" = hidden ]"
check "not empty underneath: quiet without -v" bash -c "'$MOUNT_HELPER' overlay '$WORK/full' -o '$FULL' && [ -z \"\$('$UMOUNT_HELPER' '$WORK/full' 2>&1)\" ]"
kill_sleepers
reset_upper

# Stacked: something else is still mounted on the directory.
mkdir -p stack
mount -t tmpfs tmpfs stack
"$MOUNT_HELPER" overlay "$WORK/stack" -o "$FULL"
run "$UMOUNT_HELPER" -v "$WORK/stack"
check "stacked mounts: exit 0 ($last_rc)" [ "$last_rc" -eq 0 ]
check "stacked mounts: the overlay is gone, the tmpfs under it stays" \
	[ "$(findmnt -rn -o FSTYPE --mountpoint "$WORK/stack")" = tmpfs ]
check "stacked mounts: -v says why the directory is kept" grep -q "keeping $WORK/stack: it is still a mountpoint" <<<"$last_err"
umount stack
reset_upper

# A bind of the mount elsewhere in this namespace holds it, not the mountpoint.
mkdir -p bindto
"$MOUNT_HELPER" overlay "$WORK/m" -o "$FULL"
mount --bind m bindto
expect_rc "a bind of the mount elsewhere: exit 0" 0 "$UMOUNT_HELPER" "$WORK/m"
check "a bind of the mount elsewhere keeps working" [ "$(cat bindto/a 2>/dev/null)" = one ]
umount bindto
reset_upper

# --- 5. -l, -f, -n, -v ----------------------------------------------------------
"$MOUNT_HELPER" overlay "$WORK/m" -o "$FULL"
exec {BUSYFD}<"$WORK/m/a"
expect_rc "busy without -l: exit 32" 32 "$UMOUNT_HELPER" "$WORK/m"
check "busy: the error says target is busy" grep -q "busy" <<<"$last_err"
check "busy: still mounted, utab line kept" bash -c "mountpoint -q '$WORK/m' && grep -q 'TARGET=$WORK/m ' '$LIBMOUNT_UTAB'"
expect_rc "busy with -f: still refused (overlay has no forced unmount), exit 32" 32 "$UMOUNT_HELPER" -f "$WORK/m"
run "$UMOUNT_HELPER" -l -v "$WORK/m"
check "-l with a file open inside: exit 0 ($last_rc)" [ "$last_rc" -eq 0 ]
check "-l: detached" bash -c "! mountpoint -q '$WORK/m'"
check "-l: the open file still reads" bash -c "read -r x <&$BUSYFD; [ \"\$x\" = one ]"
check "-l: utab entry removed" bash -c "! grep -q 'TARGET=$WORK/m ' '$LIBMOUNT_UTAB'"
check "-l -v: says lazy" grep -q "unmounted $WORK/m (lazy)" <<<"$last_err"
exec {BUSYFD}<&-
reset_upper

"$MOUNT_HELPER" overlay "$WORK/m" -o "$FULL"
before=$(cat "$LIBMOUNT_UTAB")
expect_rc "-n: exit 0" 0 "$UMOUNT_HELPER" -n "$WORK/m"
check "-n: unmounted" bash -c "! mountpoint -q '$WORK/m'"
# -n still drops the line of the mount it removed, and nothing else (see
# umount.cfsoverlay(8) and tests/integration/utab.sh).
check "-n: only the gone mount's line left utab" [ "$(cat "$LIBMOUNT_UTAB")" = "$(grep -v "TARGET=$WORK/m " <<<"$before")" ]
sed -i "\\|TARGET=$WORK/m |d" "$LIBMOUNT_UTAB"
reset_upper

"$MOUNT_HELPER" overlay "$WORK/m" -o "$FULL"
run "$UMOUNT_HELPER" "$WORK/m"
check "without -v: silent on success" [ -z "$last_err" ]
"$MOUNT_HELPER" overlay "$WORK/m" -o "$FULL"
run "$UMOUNT_HELPER" -v "$WORK/m"
check "-v: one line per step, each prefixed" bash -c "grep -q 'unmounted' <<<\"\$1\" && grep -q 'utab: removed' <<<\"\$1\" && grep -q 'replaced .* by a fresh copy' <<<\"\$1\" && ! grep -qv '^umount.cfsoverlay: ' <<<\"\$1\"" _ "$last_err"
reset_upper

# -N: the rmdir happens in that namespace, so copies in ours go as well.
new_ns
expect_rc "-N PID: mount there" 0 "$MOUNT_HELPER" -n -N "$NSPID" overlay "$WORK/m" -o "$FULL"
expect_rc "-N PID: umount there" 0 "$UMOUNT_HELPER" -n -N "$NSPID" "$WORK/m"
check "-N PID: gone there, mountpoint kept there" bash -c "! nsenter -t $NSPID -m mountpoint -q '$WORK/m' && nsenter -t $NSPID -m test -d '$WORK/m'"
kill_sleepers
reset_upper

# -N into a container with its own pid namespace and /proc: /proc/self does
# not exist there for the helper.
unshare -m -p -f --mount-proc --propagation private sleep 300 &
SLEEPERS+=($!)
CPID=
for ((i = 0; i < 100; i++)); do
	CPID=$(pgrep -P "${SLEEPERS[-1]}" -x sleep) && [ "$(readlink "/proc/$CPID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] && break
	CPID=
	sleep 0.02
done
if [ -n "$CPID" ]; then
	# LeakSanitizer reads /proc/PID/task, which the container's /proc lacks.
	NOLSAN="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	expect_rc "-N, own /proc: mount there" 0 env "$NOLSAN" "$MOUNT_HELPER" -n -N "$CPID" overlay "$WORK/m" -o "lowerdir=$LOWER"
	expect_rc "-N, own /proc: umount there" 0 env "$NOLSAN" "$UMOUNT_HELPER" -n -N "$CPID" "$WORK/m"
	check "-N, own /proc: gone there, mountpoint kept there" bash -c "nsenter -t $CPID -m -p mountpoint -q / && ! nsenter -t $CPID -m -p mountpoint -q '$WORK/m' && nsenter -t $CPID -m test -d '$WORK/m'"
	# mount(2), bind and propagation take /proc/self/fd/N names elsewhere:
	# there the path, checked afterwards to lead to the new mount.
	expect_rc "-N, own /proc: legacy mount there, private" 0 env "$NOLSAN" "$MOUNT_HELPER" -n -N "$CPID" overlay "$WORK/m" \
		-o "lowerdir=$LOWER,cfs.api=legacy,private"
	check "-N, own /proc: the legacy mount is there" nsenter -t "$CPID" -m mountpoint -q "$WORK/m"
	expect_rc "-N, own /proc: and unmounts" 0 env "$NOLSAN" "$UMOUNT_HELPER" -n -N "$CPID" "$WORK/m"
	# The namespace's init ignores SIGTERM, and so does unshare -f while it waits.
	kill -KILL "$CPID"
else
	skip "-N, own /proc" "unshare -p --mount-proc did not start"
fi
kill_sleepers

# --- 6. A SIGKILLed legacy mount of 300 idmapped layers: the next umount cleans ---
# Each kill lands at a chosen syscall (strace -e inject), never after a delay.
N=300
mklayers "$N" "$WORK/L"
BIG="lowerdir=$(lowerdir_of "$N" "$WORK/L"),upperdir=$WORK/u,workdir=$WORK/w,$IDM,cfs.api=legacy,cfs.tmpdir=$TMPB"
SMALL="lowerdir=$LOWER,upperdir=$WORK/su,workdir=$WORK/sw,$IDM,cfs.api=legacy,cfs.tmpdir=$TMPB"
mkdir -p sm su sw
base_empty() { [ -z "$(ls -A "$TMPB")" ] || { diag "left in $TMPB: $(ls -A "$TMPB" | tr '\n' ' ')"; return 1; }; }
tmp_mounts() { findmnt -rn -o TARGET | grep -cF "$TMPB/" || true; }
# kill_at SYSCALL WHEN COMMAND...: COMMAND, SIGKILLed on entry to its WHEN-th SYSCALL.
kill_at() {
	local sc=$1 when=$2
	shift 2
	# The group's redirection keeps bash's "Killed" notice out of the log.
	{ strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc:signal=SIGKILL:when=$when" "$@" 2>/dev/null; } 2>/dev/null
}

expect_rc "legacy mount of $N idmapped layers" 0 "$MOUNT_HELPER" overlay "$WORK/m" -o "$BIG"
"$UMOUNT_HELPER" "$WORK/m"
check "temp base empty after a clean mount and umount" base_empty
reset_upper

# The mount whose umount is to clean up: it records its temp base in utab.
expect_rc "a small legacy mount with the same cfs.tmpdir" 0 mount -t cfsoverlay overlay "$WORK/sm" -o "$SMALL"
records=no
utab_line "$WORK/sm" | grep -q "ATTRS=.*cfs.tmpdir=$TMPB" && records=yes
if command -v strace >/dev/null; then
	# On entry to the overlay's mount(2) the idmapped layers are attached
	# under the temp base and nothing is mounted at the target yet.
	kill_at mount 1 "$MOUNT_HELPER" overlay "$WORK/m" -o "$BIG"
	rc=$?
	stale=$(ls -A "$TMPB" | wc -l)
	held=$(tmp_mounts)
	check "legacy mount SIGKILLed on entry to mount(2) (exit $rc)" [ "$rc" -eq 137 ]
	check "its target is not mounted" bash -c "! mountpoint -q '$WORK/m'"
	check "it left a temp directory ($stale) with layers mounted ($held)" [ "$stale" -gt 0 ] && [ "$held" -gt 0 ]
	reset_upper
	if [ "$records" = yes ]; then
		# Killed in turn while it reclaims: the first umount2 unmounts its
		# own target, the second a stale temp layer.
		kill_at umount2 2 "$UMOUNT_HELPER" "$WORK/sm"
		rc=$?
		check "umount.cfsoverlay SIGKILLed on entry to its second umount2 (exit $rc)" [ "$rc" -eq 137 ]
		check "its own mount is gone" bash -c "! mountpoint -q '$WORK/sm'"
		check "the stale temp layer is still there for the next run ($(tmp_mounts))" [ "$(tmp_mounts)" -gt 0 ]
		sed -i "\\|TARGET=$WORK/sm |d" "$LIBMOUNT_UTAB"
		mkdir -p sm
		"$MOUNT_HELPER" overlay "$WORK/sm" -o "$SMALL"
	fi
else
	skip "SIGKILLed legacy mounts" "strace is needed to land the kill at a chosen syscall"
fi
if [ "$records" = yes ]; then
	expect_rc "plain umount of the small mount" 0 umount "$WORK/sm"
	check "that umount emptied the temp base" base_empty
	check "no temp layer left mounted ($(tmp_mounts))" [ "$(tmp_mounts)" -eq 0 ]
else
	"$UMOUNT_HELPER" "$WORK/sm"
	skip "that umount emptied the temp base" "mount.cfsoverlay does not record cfs.tmpdir in utab ATTRS, so umount.cfsoverlay only knows /run/cfsoverlay"
	skip "no temp layer left mounted" "as above"
	# The next mount with that base reclaims it instead.
	"$MOUNT_HELPER" overlay "$WORK/sm" -o "$SMALL" && "$UMOUNT_HELPER" "$WORK/sm"
	check "the next mount emptied the temp base" base_empty
fi
check "the killed helpers' target is not mounted" bash -c "! mountpoint -q '$WORK/m'"

# --- 7. 16 parallel mount/umount pairs, one temp base, stale directories in it --
P=16
ROUNDS=3
N=50
PAR="lowerdir=$(lowerdir_of "$N" "$WORK/L"),$IDM,cfs.api=legacy,cfs.tmpdir=$TMPB"
# Two directories a killed helper could have left: one with a layer still mounted.
mkdir -p "$TMPB/ovl-stale1/0" "$TMPB/ovl-stale2/0" "$TMPB/ovl-stale2/1"
chmod 0700 "$TMPB"/ovl-stale*
mount --bind -o ro "$WORK/l1" "$TMPB/ovl-stale2/0"
pair() {
	local i=$1 r
	for ((r = 0; r < ROUNDS; r++)); do
		"$MOUNT_HELPER" overlay "$WORK/p/$i/m" -o "$PAR,upperdir=$WORK/p/$i/u,workdir=$WORK/p/$i/w" || return 1
		[ "$(cat "$WORK/p/$i/m/f1")" = 1 ] && [ "$(cat "$WORK/p/$i/m/f$N")" = "$N" ] || { echo "round $r: view incomplete" >&2; return 2; }
		"$UMOUNT_HELPER" "$WORK/p/$i/m" || return 3
	done
}
for ((i = 1; i <= P; i++)); do mkdir -p "$WORK/p/$i/m" "$WORK/p/$i/u" "$WORK/p/$i/w"; done
pids=()
for ((i = 1; i <= P; i++)); do
	pair "$i" 2>"$WORK/p/$i/err" &
	pids+=($!)
done
failed=0
for ((i = 1; i <= P; i++)); do
	if ! wait "${pids[i - 1]}"; then
		failed=$((failed + 1))
		diag "pair $i: $(head -c 300 "$WORK/p/$i/err")"
	fi
done
check "$P parallel mount/umount pairs, $ROUNDS rounds each, all succeed ($failed failed)" [ "$failed" -eq 0 ]
left=$(findmnt -rn -o TARGET | grep -cF "$WORK/p/" || true)
check "no parallel mount left ($left)" [ "$left" -eq 0 ]
check "the stale directories were reclaimed, the temp base is empty" base_empty
check "no temp layer left mounted ($(tmp_mounts))" [ "$(tmp_mounts)" -eq 0 ]
check "no utab line left" bash -c "! grep -q 'TARGET=$WORK/p/' '$LIBMOUNT_UTAB'"

# --- 8. who replaces the mountpoint: the parent decides ------------------------
# Root when only root may write the parent; the owner, with its own rights
# (setfsuid), when the owner of the directory alone may; nobody otherwise.
OWN=64124
RO="lowerdir=$LOWER"
mkdir -p pol/own/m
chown "$OWN:$OWN" pol/own pol/own/m
"$MOUNT_HELPER" overlay "$WORK/pol/own/m" -o "$RO"
new_ns
run "$UMOUNT_HELPER" -v "$WORK/pol/own/m"
check "[owner's parent] exit 0 ($last_rc)" [ "$last_rc" -eq 0 ]
check "[owner's parent] replaced by the owner" grep -q "replaced $WORK/pol/own/m by a fresh copy (as its owner, uid $OWN)" <<<"$last_err"
check "[owner's parent] the copy in the other namespace is gone" bash -c "! nsenter -t $NSPID -m mountpoint -q '$WORK/pol/own/m'"
check "[owner's parent] owner and mode kept" [ "$(stat -c '%u:%g %a' pol/own/m)" = "$OWN:$OWN 755" ]
kill_sleepers
# user:64124:rwx in an access ACL, as stored (mask rwx).
ACL=0200000001000700ffffffff020007007cfa000004000500ffffffff10000700ffffffff20000500ffffffff
for case in sticky group-writable foreign-owner acl; do
	d=pol/$case
	mkdir -p "$d/m"
	case $case in
	sticky) chmod 1777 "$d" ;;
	group-writable) chmod 0775 "$d" ;;
	foreign-owner) chown "$OWN:$OWN" "$d" ;; # and m stays root's
	acl)
		if ! "$CFS_BUILDDIR/tests/race_umount" setx "$d" system.posix_acl_access "$ACL" 2>/dev/null; then
			skip "[acl] a parent with an ACL granting write keeps the directory" "no POSIX ACLs on the filesystem of $WORK"
			continue
		fi
		;;
	esac
	ino=$(inode "$d/m")
	"$MOUNT_HELPER" overlay "$WORK/$d/m" -o "$RO"
	new_ns
	run "$UMOUNT_HELPER" -v "$WORK/$d/m"
	check "[$case] exit 0 ($last_rc), unmounted" bash -c "[ $last_rc -eq 0 ] && ! mountpoint -q '$WORK/$d/m'"
	check "[$case] kept, -v says why" grep -q "keeping $WORK/$d/m: its parent $WORK/$d may be written by other users" <<<"$last_err"
	check "[$case] the same directory" [ "$(inode "$d/m")" = "$ino" ]
	check "[$case] the copy in the other namespace stays" in_ns_mounted "$NSPID" "$WORK/$d/m"
	kill_sleepers
done

# --- 9. a mount stacked on the overlay: refused unless -l or -f ----------------
"$MOUNT_HELPER" overlay "$WORK/m" -o "$RO"
mount -t tmpfs -o size=1m cfs-top "$WORK/m"
stack() { findmnt -rn -o TARGET,FSTYPE | grep "^$WORK/m " | cut -d' ' -f2 | tr '\n' ' '; }
utab_before=$(utab_line "$WORK/m")
expect_rc "a tmpfs on top of the overlay: refused, exit 32" 32 "$UMOUNT_HELPER" "$WORK/m"
check "the error names the tmpfs and its source" grep -q "umount.cfsoverlay: $WORK/m: the top mount is tmpfs (source cfs-top), not an overlay" <<<"$last_err"
check "one line on stderr" [ "$(printf '%s\n' "$last_err" | wc -l)" -eq 1 ]
check "both mounts and the utab line stay" bash -c "[ '$(stack)' = 'overlay tmpfs ' ] && [ -n '$utab_before' ] && [ \"\$(grep 'TARGET=$WORK/m ' '$LIBMOUNT_UTAB')\" = '$utab_before' ]"
expect_rc "with -l: exit 0" 0 "$UMOUNT_HELPER" -l "$WORK/m"
check "with -l: the tmpfs went, the overlay and its utab line stay" bash -c "[ '$(stack)' = 'overlay ' ] && [ \"\$(grep 'TARGET=$WORK/m ' '$LIBMOUNT_UTAB')\" = '$utab_before' ]"
expect_rc "then the overlay unmounts" 0 "$UMOUNT_HELPER" "$WORK/m"
check "nothing left at $WORK/m, nor in utab" bash -c "[ -z '$(stack)' ] && ! grep -q 'TARGET=$WORK/m ' '$LIBMOUNT_UTAB'"

assert_clean "umount" "$TMPB"
done_testing

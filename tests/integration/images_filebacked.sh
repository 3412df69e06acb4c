#!/bin/bash
# Image layers without loop devices (issue 16), and idmapped clones in one
# open_tree_attr(2) call.  erofs images mount file-backed where the kernel
# takes it (Linux 6.12 with CONFIG_EROFS_FS_BACKED_BY_FILE): no loop device of
# ours exists while mounted, for both strategies, idmapped or not.  Where the
# kernel or the filesystem holding the image refuses (an image on overlayfs),
# and for other types (squashfs) or CFSOVERLAY_FORCE_LOOP=1, a loop device is
# used and none is left after umount, also when the helper is killed on the
# way.  direct-io is said to be ignored for a file-backed image.  What this kernel can do is asked of it directly first,
# so the expectations follow its answer and the file passes on 6.1 too.
#
# Loop devices are global, not part of the private mount namespace: the exit
# trap detaches any device still backed by one of the test's files.
. "$(dirname "$0")/lib.sh"
setup "$@"

command -v mkfs.erofs >/dev/null || skip_all "mkfs.erofs (erofs-utils) is not installed"
command -v losetup >/dev/null || skip_all "losetup(8) missing (util-linux)"
command -v python3 >/dev/null || skip_all "python3 is needed to ask the kernel what it can do"

IDM="uidmap=0:100000:65536,gidmap=0:100000:65536"
TMPB=$WORK/tmp
mkdir -p "$TMPB" "$WORK/img" "$WORK/u" "$WORK/w" "$WORK/m" "$WORK/src/dir" "$WORK/L/1" "$WORK/L/2"
chmod 0700 "$TMPB"

# Every loop device backed by a file of this test (losetup -a names the file).
ours() { losetup -a 2>/dev/null | grep -F "$WORK/" || true; }
detach_ours() {
	local dev
	for dev in $(ours | cut -d: -f1); do losetup -d "$dev" 2>/dev/null; done
	return 0
}
trap 'detach_ours; cleanup_work' EXIT
# none_of_ours: no loop device of ours, once autoclear has run (settle).
none_of_ours() {
	local left
	left=$(settle ours) && return 0
	diag "loop devices left: $left"
	return 1
}
no_loop_now() { [ -z "$(ours)" ] || { diag "loop devices while mounted: $(ours)"; return 1; }; }
base_empty() { [ -z "$(ls -A "$TMPB")" ] || { diag "left in $TMPB: $(ls -A "$TMPB")"; return 1; }; }
reset_upper() { rm -rf "$WORK/u" "$WORK/w" && mkdir "$WORK/u" "$WORK/w"; }
umount_m() { "$UMOUNT_HELPER" "$WORK/m" >/dev/null 2>&1 || umount -l "$WORK/m" 2>/dev/null; }
said() { grep -qF -- "$1" <<<"$last_err" || { diag "'$1' not in: $last_err"; return 1; }; }
# owners_are UID FILE...: every FILE under the mount has uid and gid UID.
owners_are() {
	local want=$1 f
	shift
	for f in "$@"; do
		[ "$(stat -c '%u:%g' "$WORK/m/$f")" = "$want:$want" ] ||
			{ diag "$f: $(stat -c '%u:%g' "$WORK/m/$f" 2>&1)"; return 1; }
	done
}

# --- the layers -------------------------------------------------------------------
echo dir >"$WORK/src/dir/from-dir"
for i in 1 2; do
	mkdir -p "$WORK/src/e$i"
	echo "e$i" >"$WORK/src/e$i/from-e$i"
	mkfs.erofs --quiet "$WORK/img/e$i.erofs" "$WORK/src/e$i" >/dev/null 2>&1 ||
		skip_all "mkfs.erofs could not build an image"
done
echo 1 >"$WORK/L/1/f1"
echo 2 >"$WORK/L/2/f2"
E1=$WORK/img/e1.erofs E2=$WORK/img/e2.erofs
SQ=
if command -v mksquashfs >/dev/null; then
	mkdir -p "$WORK/src/sq" && echo sq >"$WORK/src/sq/from-sq"
	mksquashfs "$WORK/src/sq" "$WORK/img/s.sqfs" -quiet -noappend -no-progress >/dev/null 2>&1 &&
		SQ=$WORK/img/s.sqfs
fi
# An erofs image on an overlayfs mount: erofs cannot read its file through
# overlayfs (no read_folio there on 6.18), so it takes a loop device.
OVL_IMG=
mkdir -p "$WORK/ovl/l" "$WORK/ovl/u" "$WORK/ovl/w" "$WORK/ovl/m"
cp "$E1" "$WORK/ovl/l/e1.erofs"
mount -t overlay cfs-test-ovl -o "lowerdir=$WORK/ovl/l,upperdir=$WORK/ovl/u,workdir=$WORK/ovl/w" \
	"$WORK/ovl/m" && OVL_IMG=$WORK/ovl/m/e1.erofs

# --- what this kernel can do ---------------------------------------------------------
# fb_kernel FILE: "yes" when erofs mounts FILE file-backed, "no" when it
# refuses as a kernel without it does (ENOTBLK, EINVAL, EOPNOTSUPP), asked
# with fsopen/fsconfig directly, not through the helper.
fb_kernel() {
	python3 - "$1" <<'EOF'
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
SYS_fsopen, SYS_fsconfig = 430, 431        # the same on every architecture
SET_FLAG, SET_STRING, CMD_CREATE = 0, 1, 6
fs = libc.syscall(SYS_fsopen, b"erofs", ctypes.c_uint(1))
if fs < 0:
    print("no"); sys.exit()
r = libc.syscall(SYS_fsconfig, fs, SET_STRING, b"source", sys.argv[1].encode(), 0)
if r == 0:
    r = libc.syscall(SYS_fsconfig, fs, SET_FLAG, b"ro", None, 0)
if r == 0:
    r = libc.syscall(SYS_fsconfig, fs, CMD_CREATE, None, None, 0)
e = ctypes.get_errno()
print("yes" if r == 0 else "no" if e in (errno.ENOTBLK, errno.EINVAL, errno.EOPNOTSUPP) else "unknown")
EOF
}
FB=$(fb_kernel "$E1")
FB_OVL=no
[ -n "$OVL_IMG" ] && FB_OVL=$(fb_kernel "$OVL_IMG")
none_of_ours >/dev/null
diag "this kernel ($(uname -r)) mounts erofs file-backed: $FB; from an overlayfs: $FB_OVL"
NO_FB="kernel $(uname -r) cannot mount erofs file-backed (needs Linux 6.12 with CONFIG_EROFS_FS_BACKED_BY_FILE)"
check "the kernel's answer is known (yes or no)" [ "$FB" = yes -o "$FB" = no ]

# The new strategy needs overlay to take idmapped layers as fds (6.15+).
NEW_WHY=
probe_new_api_layer_fds idmapped || NEW_WHY=$PROBE_REASON

# --- erofs file-backed, both strategies, idmapped or not ------------------------------
for api in new legacy; do
	if [ "$api" = new ] && [ -n "$NEW_WHY" ]; then
		skip "[new] erofs image layers" "$NEW_WHY"
		continue
	fi
	A="cfs.api=$api,cfs.tmpdir=$TMPB"
	for idm in "" "$IDM"; do
		t="[$api${idm:+, idmapped}]"
		expect_rc "$t dir + two erofs images" 0 \
			"$MOUNT_HELPER" -v overlay "$WORK/m" -o "lowerdir=$WORK/src/dir:$E1:$E2,upperdir=$WORK/u,workdir=$WORK/w,$A${idm:+,$idm}"
		if [ "$FB" = yes ]; then
			check "$t -v: $E1 file-backed" said "image $E1: erofs, file-backed"
			check "$t -v: $E2 file-backed" said "image $E2: erofs, file-backed"
			check "$t losetup -a shows no loop device of ours while mounted" no_loop_now
		else
			check "$t -v: $E1 on a loop device (the kernel refused)" said "image $E1: erofs, loop device /dev/loop"
			skip "$t no loop device while mounted" "$NO_FB"
		fi
		check "$t every layer visible" bash -c "[ \"\$(cat '$WORK/m/from-dir' '$WORK/m/from-e1' '$WORK/m/from-e2')\" = \"\$(printf 'dir\ne1\ne2')\" ]"
		if [ -n "$idm" ]; then
			check "$t image files idmapped (0 -> 100000)" owners_are 100000 from-e1 from-e2 from-dir
		else
			check "$t image files as stored (0)" owners_are 0 from-e1 from-e2 from-dir
		fi
		expect_rc "$t umount.cfsoverlay" 0 "$UMOUNT_HELPER" "$WORK/m"
		check "$t no loop device of ours after umount" none_of_ours
		check "$t temp base empty" base_empty
		reset_upper
	done

	# mount(8) and plain umount(8)
	expect_rc "[$api] mount -t cfsoverlay with an erofs image" 0 \
		mount -t cfsoverlay overlay "$WORK/m" -o "lowerdir=$WORK/src/dir:$E1,$A"
	if [ "$FB" = yes ]; then
		check "[$api] mount(8): no loop device of ours while mounted" no_loop_now
	else
		skip "[$api] mount(8): no loop device while mounted" "$NO_FB"
	fi
	expect_rc "[$api] plain umount(8)" 0 umount "$WORK/m"
	check "[$api] plain umount(8): no loop device of ours" none_of_ours

	# direct-io: meaningless without a loop device, and said so
	expect_rc "[$api] direct-io with an erofs image" 0 \
		"$MOUNT_HELPER" -v overlay "$WORK/m" -o "lowerdir=$WORK/src/dir:$E1,direct-io,$A"
	if [ "$FB" = yes ]; then
		check "[$api] direct-io: -v says it is ignored for the file-backed image" \
			said "image $E1: erofs, file-backed (direct-io ignored: no loop device)"
		check "[$api] direct-io: no loop device of ours while mounted" no_loop_now
	else
		skip "[$api] direct-io ignored for a file-backed image" "$NO_FB"
		skip "[$api] direct-io: no loop device while mounted" "$NO_FB"
	fi
	check "[$api] direct-io: image files visible" [ "$(cat "$WORK/m/from-e1" 2>/dev/null)" = e1 ]
	umount_m
	check "[$api] direct-io: no loop device of ours after umount" none_of_ours

	# --- the loop device path ---------------------------------------------------------
	# fallback_case DESC WANT LOWERDIR [ENV...]: the mount works; WANT is
	# "loop" (one loop device of ours while mounted, none after) or "file".
	fallback_case() {
		local desc=$1 want=$2 lower=$3 n
		shift 3
		expect_rc "$desc: mounts" 0 env "$@" "$MOUNT_HELPER" -v overlay "$WORK/m" -o "lowerdir=$lower,$A"
		n=$(ours | wc -l)
		if [ "$want" = loop ]; then
			check "$desc: -v names the loop device" said ", loop device /dev/loop"
			check "$desc: one loop device of ours while mounted ($n)" [ "$n" -eq 1 ]
		else
			check "$desc: -v says file-backed" said "erofs, file-backed"
			check "$desc: no loop device of ours while mounted ($n)" [ "$n" -eq 0 ]
		fi
		umount_m
		check "$desc: no loop device of ours after umount" none_of_ours
		check "$desc: temp base empty" base_empty
	}
	fallback_case "[$api] CFSOVERLAY_FORCE_LOOP=1, erofs" loop "$WORK/src/dir:$E1" CFSOVERLAY_FORCE_LOOP=1
	if [ -n "$OVL_IMG" ] && [ "$FB_OVL" = no ]; then
		fallback_case "[$api] erofs image on overlayfs (refused there)" loop "$WORK/src/dir:$OVL_IMG"
		check "[$api] erofs on overlayfs: -v says why the loop device" said "no file-backed erofs mount here"
	elif [ -n "$OVL_IMG" ] && [ "$FB_OVL" = yes ]; then
		fallback_case "[$api] erofs image on overlayfs (taken there)" file "$WORK/src/dir:$OVL_IMG"
	else
		skip "[$api] erofs image on overlayfs" "overlayfs could not be mounted, or the kernel's answer is unknown"
	fi
	if [ -n "$OVL_IMG" ] && [ "$FB_OVL" = no ] && [ "$FB" = yes ]; then
		# One image refused, the next on another filesystem still file-backed.
		expect_rc "[$api] erofs on overlayfs, then erofs on $(findmnt -n -o FSTYPE -T "$E2")" 0 \
			"$MOUNT_HELPER" -v overlay "$WORK/m" -o "lowerdir=$OVL_IMG:$E2,$A"
		check "[$api] mixed: the overlayfs image on a loop device" said "image $OVL_IMG: erofs, loop device /dev/loop"
		check "[$api] mixed: the other image file-backed" said "image $E2: erofs, file-backed"
		check "[$api] mixed: exactly one loop device of ours while mounted" [ "$(ours | wc -l)" -eq 1 ]
		umount_m
		check "[$api] mixed: no loop device of ours after umount" none_of_ours
	else
		skip "[$api] refused image next to a file-backed one" "needs file-backed erofs here and a refusal on overlayfs"
	fi
	if [ -n "$SQ" ]; then
		fallback_case "[$api] squashfs image" loop "$WORK/src/dir:$SQ"
		check "[$api] squashfs: -v names it" said "image $SQ: squashfs, loop device /dev/loop"
	else
		skip "[$api] squashfs image on a loop device" "mksquashfs (squashfs-tools) is not installed"
	fi
done

# --- open_tree_attr: the idmapped clone in one call -----------------------------------
# Two idmapped layers under one directory share one clone of it: with
# open_tree_attr that is one call, and no open_tree or mount_setattr at all.
# strace before 6.15 prints the call as syscall_0x1d3.
OTA='open_tree_attr(\|syscall_0x1d3('
LL="$WORK/L/1:$WORK/L/2"
for api in new legacy; do
	if [ "$api" = new ] && [ -n "$NEW_WHY" ]; then
		skip "[new] idmapped clones by open_tree_attr" "$NEW_WHY"
		continue
	fi
	A="cfs.api=$api,cfs.tmpdir=$TMPB"
	if ! command -v strace >/dev/null; then
		skip "[$api] idmapped clone made by one open_tree_attr" "strace is not installed"
	else
		strace -f -qq -o "$WORK/trace" \
			"$MOUNT_HELPER" overlay "$WORK/m" -o "lowerdir=$LL,$IDM,$A" 2>"$WORK/err"
		rc=$?
		check "[$api] traced idmapped mount (exit $rc)" [ "$rc" -eq 0 ]
		check "[$api] traced: files idmapped" owners_are 100000 f1 f2
		umount_m
		if grep "$OTA" "$WORK/trace" | grep -q 'ENOSYS'; then
			skip "[$api] idmapped clone made by one open_tree_attr" "kernel $(uname -r) lacks open_tree_attr (needs Linux 6.15)"
		else
			n_ota=$(grep -c "$OTA" "$WORK/trace")
			n_two=$(grep -cE '(^|[^_])(open_tree|mount_setattr)\(' "$WORK/trace")
			check "[$api] one open_tree_attr call ($n_ota), no open_tree or mount_setattr ($n_two)" \
				[ "$n_ota" -eq 1 -a "$n_two" -eq 0 ]
		fi
	fi
	# The fallback: open_tree_attr answering ENOSYS, as before Linux 6.15.
	expect_rc "[$api] open_tree_attr refused (ENOSYS): idmapped mount" 0 \
		"$CFS_BUILDDIR/tests/with_enosys" 467 "$MOUNT_HELPER" -v overlay "$WORK/m" -o "lowerdir=$LL,$IDM,$A"
	check "[$api] open_tree_attr refused: -v says open_tree + mount_setattr" \
		said "open_tree_attr: Function not implemented: layers are cloned with open_tree + mount_setattr"
	check "[$api] open_tree_attr refused: files idmapped" owners_are 100000 f1 f2
	umount_m
	check "[$api] open_tree_attr refused: temp base empty" base_empty
done

# A filesystem that cannot be idmapped (ramfs) still gets its own message,
# with open_tree_attr and without it.
mkdir -p "$WORK/ramfs"
if mount -t ramfs cfs-test-ramfs "$WORK/ramfs"; then
	mkdir -p "$WORK/ramfs/1" "$WORK/ramfs/2"
	for how in open_tree_attr enosys; do
		pre=()
		[ "$how" = enosys ] && pre=("$CFS_BUILDDIR/tests/with_enosys" 467)
		expect_rc "[$how] idmapped ramfs layers refused (exit 32)" 32 \
			"${pre[@]}" "$MOUNT_HELPER" overlay "$WORK/m" -o "lowerdir=$WORK/ramfs/1:$WORK/ramfs/2,$IDM,cfs.tmpdir=$TMPB"
		check "[$how] idmapped ramfs: one line, its filesystem does not support idmapped mounts" \
			bash -c '[ "$(wc -l <<<"$1")" -eq 1 ] && grep -q "^mount.cfsoverlay: cannot idmap $2/ramfs/1: its filesystem does not support idmapped mounts" <<<"$1"' _ "$last_err" "$WORK"
		check "[$how] idmapped ramfs: nothing mounted" bash -c "! mountpoint -q '$WORK/m'"
	done
	umount "$WORK/ramfs"
else
	skip "idmapped ramfs layers refused" "ramfs could not be mounted"
fi

# --- SIGKILL while images are being mounted ----------------------------------------
# Delivered on entry to every ioctl of a mount whose images take loop devices
# (LOOP_CTL_GET_FREE, LOOP_CONFIGURE...), and to every fsmount of one whose
# erofs images are file-backed, counted in a traced reference mount: the
# target is not mounted and no loop device of ours is left.  The helper picks
# its strategy, so this runs on every kernel.
KOPTS="lowerdir=$WORK/src/dir:$E1:$E2,upperdir=$WORK/u,workdir=$WORK/w,cfs.tmpdir=$TMPB"
for mode in loop file; do
	if ! command -v strace >/dev/null; then
		skip "[$mode] SIGKILL during the image mounts" "strace is needed to land signals at chosen syscalls"
		continue
	fi
	if [ "$mode" = file ] && [ "$FB" != yes ]; then
		skip "[$mode] SIGKILL during the image mounts" "$NO_FB"
		continue
	fi
	force=$([ "$mode" = loop ] && echo 1 || echo 0)
	sc=$([ "$mode" = loop ] && echo ioctl || echo fsmount)
	CFSOVERLAY_FORCE_LOOP=$force strace -f -qq -o "$WORK/trace" -e trace="$sc" \
		"$MOUNT_HELPER" overlay "$WORK/m" -o "$KOPTS" 2>"$WORK/err"
	rc=$?
	umount_m
	reset_upper
	count=$(grep -c "$sc(" "$WORK/trace")
	check "[$mode] traced reference mount (exit $rc), $count ${sc}s" [ "$rc" -eq 0 -a "$count" -gt 0 ]
	for ((k = 1; k <= count; k++)); do
		at="[$mode] SIGKILL at $sc #$k"
		{ CFSOVERLAY_FORCE_LOOP=$force strace -f -qq -o /dev/null -e trace="$sc" \
			-e inject="$sc:signal=KILL:when=$k" "$MOUNT_HELPER" overlay "$WORK/m" -o "$KOPTS" 2>/dev/null; } 2>/dev/null
		rc=$?
		check "$at: killed there (exit $rc)" [ "$rc" -eq 137 ]
		check "$at: not mounted" bash -c "! mountpoint -q '$WORK/m'"
		check "$at: no loop device of ours left" none_of_ours
		mountpoint -q "$WORK/m" && umount -l "$WORK/m"
		reset_upper
	done
done

# --- the end --------------------------------------------------------------------------
mountpoint -q "$WORK/ovl/m" && umount "$WORK/ovl/m"
check "no loop device of ours at the end" none_of_ours
assert_clean "images_filebacked" "$TMPB"
done_testing

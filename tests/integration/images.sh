#!/bin/bash
# Image-file layers (issue 5): erofs, squashfs and ext4 images built here,
# stacked with a directory, for both strategies: every layer visible, through
# direct exec (with and without -o loop) and mount(8); idmapped image layers;
# direct-io (the loop device really does direct I/O, or the helper refuses);
# images attached read-only with autoclear, never modified; no loop device
# outlives a mount (umount.cfsoverlay or plain umount(8)) or a failed mount.
#
# Loop devices are global, not part of the private mount namespace: the exit
# trap detaches any device still backed by one of the test's images.
. "$(dirname "$0")/lib.sh"
setup "$@"

[ -e /dev/loop-control ] || skip_all "no /dev/loop-control: this machine has no loop devices"
command -v losetup >/dev/null || skip_all "losetup(8) missing (util-linux)"
# This file covers the loop device path for every image type; erofs images
# mounted file-backed are covered by images_filebacked.sh.
export CFSOVERLAY_FORCE_LOOP=1

IDM="uidmap=0:100000:65536,gidmap=0:100000:65536"
TMPB=$WORK/tmp
mkdir -p "$TMPB" "$WORK/img" "$WORK/u" "$WORK/w" "$WORK/m"
chmod 0700 "$TMPB"

# Every image file of the test, wherever it lies (also inside the tmpfs and
# the squashfs of the direct-io cases, while those are mounted).
all_images() {
	find "$WORK/img" "$WORK/tmpfs" "$WORK/outer" -maxdepth 1 -type f -name '*.img' 2>/dev/null
}
loops_of_images() {
	local img out
	while read -r img; do
		out=$(losetup -j "$img" 2>/dev/null)
		[ -n "$out" ] && echo "$out"
	done < <(all_images)
	return 0
}
detach_all_images() {
	local -a imgs
	mapfile -t imgs < <(all_images)
	detach_loops "${imgs[@]}" "$WORK/outer.sqfs"
}
trap 'detach_all_images; cleanup_work' EXIT

LOOPS_AT_START=$(losetup -a | LC_ALL=C sort)
loops_now() { losetup -a | LC_ALL=C sort; }
# loops_same BEFORE: losetup -a as it was.  Loop devices are global, so other
# tests running at the same time may add or drop theirs: only a change that
# involves this test's files is a failure.
loops_same() {
	local now changed i
	# Autoclear may trail the exit: up to settle()'s 10 s deadline.
	for ((i = 0; i < 200; i++)); do
		now=$(loops_now)
		[ "$now" = "$1" ] && return 0
		sleep 0.05
	done
	changed=$(diff <(printf '%s\n' "$1") <(printf '%s\n' "$now") | grep '^[<>]')
	if grep -qF "$WORK/" <<<"$changed"; then
		diag "losetup -a changed: $changed"
		return 1
	fi
	diag "loop devices of other processes changed meanwhile (ignored): $changed"
	return 0
}
no_image_loops() {
	local left
	left=$(settle loops_of_images) && return 0
	diag "loop devices left: $left"
	return 1
}
loop_of() { losetup -j "$1" -O NAME -n 2>/dev/null; }
# one_loop_ro IMAGE: exactly one loop device, read-only and autoclear.
one_loop_ro() {
	local devs flags
	devs=$(loop_of "$1")
	[ "$(wc -w <<<"$devs")" -eq 1 ] || { diag "$1: loop devices: '$devs'"; return 1; }
	flags=$(losetup -l -n -O RO,AUTOCLEAR -j "$1" | tr -s ' ' | sed 's/^ //; s/ $//')
	[ "$flags" = "1 1" ] || { diag "$1: RO AUTOCLEAR = '$flags'"; return 1; }
	[ "$(cat "/sys/block/${devs#/dev/}/ro")" = 1 ] || { diag "$devs: /sys/block/*/ro is not 1"; return 1; }
}
loop_dio() {
	local dev
	dev=$(loop_of "$1")
	if [ -z "$dev" ] || [ "$(wc -w <<<"$dev")" -ne 1 ]; then
		diag "$1: loop devices: '$dev'"
		return 1
	fi
	[ "$(cat "/sys/block/${dev#/dev/}/loop/dio" 2>/dev/null)" = 1 ] ||
		{ diag "$dev: loop/dio is $(cat "/sys/block/${dev#/dev/}/loop/dio" 2>&1)"; return 1; }
}
base_empty() { [ -z "$(ls -A "$TMPB")" ] || { diag "left in $TMPB: $(ls -A "$TMPB")"; return 1; }; }
not_mounted() { ! mountpoint -q "$WORK/m" && base_empty; }
no_utab() { ! grep -q "TARGET=$WORK/m " "$LIBMOUNT_UTAB" 2>/dev/null; }
nothing_recorded() { not_mounted && no_utab; }
# one_line_with PATTERN...: $last_err is one mount.cfsoverlay: line holding every pattern.
one_line_with() {
	local p
	[ "$(printf '%s\n' "$last_err" | wc -l)" -eq 1 ] && [[ $last_err == mount.cfsoverlay:* ]] ||
		{ diag "stderr: $last_err"; return 1; }
	for p in "$@"; do
		grep -qiF -- "$p" <<<"$last_err" || { diag "'$p' not in: $last_err"; return 1; }
	done
}
reset_upper() { rm -rf "$WORK/u" "$WORK/w" && mkdir "$WORK/u" "$WORK/w"; }
umount_m() { "$UMOUNT_HELPER" "$WORK/m" >/dev/null 2>&1 || umount -l "$WORK/m" 2>/dev/null; }

# --- the layers -----------------------------------------------------------------
# Each source: from-KIND and sub/KIND (its own), top (every layer), img-top
# (images only: the upper-most image wins), owned-KIND (uid/gid 1000), and
# blob-KIND, 1 MiB of random data read back through the loop device.  Image
# names do not say their type, so a message naming the type is the helper's.
declare -A IMG BLOB
KINDS=()
for k in dir erofs squashfs ext4; do
	s=$WORK/src/$k
	mkdir -p "$s/sub"
	echo "$k" >"$s/from-$k"
	echo "$k" >"$s/top"
	echo "$k" >"$s/sub/$k"
	echo "$k" >"$s/owned-$k"
	chown 1000:1000 "$s/owned-$k"
	head -c 1048576 /dev/urandom >"$s/blob-$k"
	BLOB[$k]=$(sha256sum <"$s/blob-$k")
	[ "$k" = dir ] || echo "$k" >"$s/img-top"
done
n=0
build() { # KIND TOOL COMMAND...: build $WORK/img/layerN.img, skip KIND without TOOL
	local k=$1 tool=$2 f
	shift 2
	n=$((n + 1))
	f=$WORK/img/layer$n.img
	if ! command -v "$tool" >/dev/null; then
		skip "build a $k image" "$tool is not installed"
		return
	fi
	if "$@" "$f" >"$WORK/build.log" 2>&1 && [ -s "$f" ]; then
		ok "build a $k image with $tool"
		IMG[$k]=$f
		KINDS+=("$k")
	else
		not_ok "build a $k image with $tool"
		diag "$(cat "$WORK/build.log")"
	fi
}
mk_erofs() { mkfs.erofs --quiet "$1" "$WORK/src/erofs"; }
mk_squashfs() { mksquashfs "$WORK/src/squashfs" "$1" -quiet -noappend -no-progress; }
mk_ext4() { mkfs.ext4 -q -O ^has_journal -d "$WORK/src/ext4" "$1" 8M; }
build erofs mkfs.erofs mk_erofs
build squashfs mksquashfs mk_squashfs
build ext4 mkfs.ext4 mk_ext4

# Bad images: random bytes, zeros, an empty file, an ext4 image cut short.
head -c 65536 /dev/urandom >"$WORK/img/random.img"
head -c 65536 /dev/zero >"$WORK/img/zeros.img"
: >"$WORK/img/empty.img"
[ -n "${IMG[ext4]:-}" ] && head -c 1048576 "${IMG[ext4]}" >"$WORK/img/truncated.img"

declare -A SUM
for k in "${KINDS[@]}"; do SUM[$k]=$(sha256sum <"${IMG[$k]}"); done

MIXED=$WORK/src/dir
for k in "${KINDS[@]}"; do MIXED+=:${IMG[$k]}; done
UW="upperdir=$WORK/u,workdir=$WORK/w"

# view_ok [KIND...]: every layer's files with the right content, in the right order.
view_ok() {
	local k kinds=("$@") m=$WORK/m
	[ ${#kinds[@]} -gt 0 ] || kinds=(dir "${KINDS[@]}")
	for k in "${kinds[@]}"; do
		[ "$(cat "$m/from-$k" 2>/dev/null)" = "$k" ] || { diag "from-$k: $(cat "$m/from-$k" 2>&1)"; return 1; }
		[ "$(cat "$m/sub/$k" 2>/dev/null)" = "$k" ] || { diag "sub/$k missing"; return 1; }
		[ "$(sha256sum <"$m/blob-$k" 2>/dev/null)" = "${BLOB[$k]}" ] || { diag "blob-$k differs"; return 1; }
	done
	[ "$(cat "$m/top")" = "${kinds[0]}" ] || { diag "top is $(cat "$m/top"), not ${kinds[0]}"; return 1; }
	[ ${#kinds[@]} -lt 2 ] || [ "$(cat "$m/img-top")" = "${kinds[1]}" ] ||
		{ diag "img-top is $(cat "$m/img-top"), not ${kinds[1]}"; return 1; }
}
# owners_are OWNED ROOT KIND...: owned-KIND (stored as 1000) has uid/gid OWNED,
# from-KIND (stored as 0) has uid/gid ROOT.
owners_are() {
	local want_owned=$1 want_root=$2 k
	shift 2
	for k in "$@"; do
		[ "$(stat -c '%u:%g' "$WORK/m/owned-$k")" = "$want_owned:$want_owned" ] ||
			{ diag "owned-$k: $(stat -c '%u:%g' "$WORK/m/owned-$k")"; return 1; }
		[ "$(stat -c '%u:%g' "$WORK/m/from-$k")" = "$want_root:$want_root" ] ||
			{ diag "from-$k: $(stat -c '%u:%g' "$WORK/m/from-$k")"; return 1; }
	done
}
images_ro() {
	local k
	for k in "${KINDS[@]}"; do one_loop_ro "${IMG[$k]}" || return 1; done
}
images_gone() {
	local k imgs=()
	for k in "${KINDS[@]}"; do imgs+=("${IMG[$k]}"); done
	no_loops "${imgs[@]}"
}
images_dio() {
	local k
	for k in "${KINDS[@]}"; do loop_dio "${IMG[$k]}" || return 1; done
}

# --- what this kernel allows ------------------------------------------------------
# Can squashfs be idmapped here?  Asked of the kernel directly (open_tree +
# mount_setattr on a squashfs mounted by mount(8)), not through the helper.
SQ_IDMAP=unknown
if [ -n "${IMG[squashfs]:-}" ] && command -v python3 >/dev/null; then
	mkdir -p "$WORK/probe"
	if mount -t squashfs -o loop,ro "${IMG[squashfs]}" "$WORK/probe" 2>/dev/null; then
		unshare --user sleep 60 &
		nspid=$!
		for _ in $(seq 200); do
			[ "$(readlink "/proc/$nspid/ns/user")" != "$(readlink /proc/self/ns/user)" ] && break
			sleep 0.05
		done
		echo "0 100000 65536" >"/proc/$nspid/uid_map"
		echo "0 100000 65536" >"/proc/$nspid/gid_map"
		SQ_IDMAP=$(python3 - "$WORK/probe" "/proc/$nspid/ns/user" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
SYS_open_tree, SYS_mount_setattr = 428, 442   # the same on every architecture
class Attr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]
fd = libc.syscall(SYS_open_tree, ctypes.c_int(-100), sys.argv[1].encode(),
                  ctypes.c_uint(1 | os.O_CLOEXEC))          # OPEN_TREE_CLONE
if fd < 0:
    print("unknown"); sys.exit()
ns = os.open(sys.argv[2], os.O_RDONLY)
a = Attr(0x00100000 | 1, 0, 0, ns)                          # IDMAP | RDONLY
r = libc.syscall(SYS_mount_setattr, ctypes.c_int(fd), b"", ctypes.c_uint(0x1000),
                 ctypes.byref(a), ctypes.c_size_t(ctypes.sizeof(a)))
print("yes" if r == 0 else "no" if ctypes.get_errno() == 22 else "unknown")
EOF
		)
		kill "$nspid" 2>/dev/null
		wait "$nspid" 2>/dev/null
		umount "$WORK/probe"
	fi
	no_loops "${IMG[squashfs]}" >/dev/null
fi
diag "this kernel ($(uname -r)) can idmap squashfs: $SQ_IDMAP"

# Can the loop device do direct I/O on a file?  O_DIRECT must open and read it.
odirect_ok() { dd if="$1" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>/dev/null; }

# A tmpfs (O_DIRECT since 6.6) and a squashfs (never O_DIRECT) holding a copy
# of an image, for direct-io on other backing filesystems.
DIO_IMG='' DIO_KIND=''
for k in erofs ext4 squashfs; do
	[ -n "${IMG[$k]:-}" ] && DIO_IMG=${IMG[$k]} DIO_KIND=$k && break
done
TMPFS_IMG='' OUTER_IMG=''
if [ -n "$DIO_IMG" ]; then
	mkdir -p "$WORK/tmpfs" "$WORK/outer" "$WORK/outer-src"
	mount -t tmpfs -o size=16m cfs-img-test "$WORK/tmpfs" && cp "$DIO_IMG" "$WORK/tmpfs/copy.img" &&
		TMPFS_IMG=$WORK/tmpfs/copy.img
	if command -v mksquashfs >/dev/null; then
		cp "$DIO_IMG" "$WORK/outer-src/copy.img"
		mksquashfs "$WORK/outer-src" "$WORK/outer.sqfs" -quiet -noappend -no-progress >/dev/null 2>&1 &&
			mount -t squashfs -o loop,ro "$WORK/outer.sqfs" "$WORK/outer" && OUTER_IMG=$WORK/outer/copy.img
	fi
fi

# --- both strategies ----------------------------------------------------------------
for api in new legacy; do
	A="cfs.api=$api,cfs.tmpdir=$TMPB"
	# cfs.api=new mounts need overlay layers as fds: where the kernel lacks
	# them, only the cases that fail before the mount run ([legacy] covers
	# the rest, and basic.sh the refusal).
	NO_NEW= NO_NEW_ID=
	if [ "$api" = new ]; then
		probe_new_api_layer_fds || NO_NEW=$PROBE_REASON
		probe_new_api_layer_fds idmapped || NO_NEW_ID=$PROBE_REASON
	fi

	if [ ${#KINDS[@]} -eq 0 ]; then
		skip "[$api] image layers" "no image could be built (mkfs.erofs, mksquashfs, mkfs.ext4 missing)"
	elif [ -n "$NO_NEW" ]; then
		skip "[$api] image layers: mixed stack, mount(8), -o loop, read-only overlay" "$NO_NEW"
	else
		# 1. mixed stack, direct exec
		before=$(loops_now)
		expect_rc "[$api] dir + ${KINDS[*]} images with upper/work" 0 \
			"$MOUNT_HELPER" -v overlay "$WORK/m" -o "lowerdir=$MIXED,$UW,$A"
		for k in "${KINDS[@]}"; do
			check "[$api] -v reports ${IMG[$k]} probed as $k" \
				grep -q "image ${IMG[$k]}: $k, loop device /dev/loop" <<<"$last_err"
		done
		if [ "$api" = legacy ]; then
			# mount(2) is tried with the paths as given first: the image
			# files are found when overlay refuses them.
			check "[$api] -v: images found after overlay refused the paths" \
				grep -q "overlay refused the layers as given" <<<"$last_err"
		fi
		check "[$api] every layer's files visible, right content and order" view_ok
		check "[$api] each image on one loop device, read-only, autoclear" images_ro
		for k in "${KINDS[@]}"; do echo changed >"$WORK/m/from-$k"; done
		check "[$api] writes to image files land in upperdir" \
			bash -c "for k in ${KINDS[*]}; do [ \"\$(cat '$WORK/u/from-'\$k)\" = changed ] || exit 1; done"
		expect_rc "[$api] umount.cfsoverlay" 0 "$UMOUNT_HELPER" "$WORK/m"
		check "[$api] losetup -j empty for every image after umount (autoclear)" images_gone
		check "[$api] losetup -a as before the mount" loops_same "$before"
		check "[$api] temp base empty" base_empty
		reset_upper

		# 2. mount(8), then plain umount(8) via utab helper=cfsoverlay
		expect_rc "[$api] mount -t cfsoverlay with image layers" 0 \
			mount -t cfsoverlay overlay "$WORK/m" -o "lowerdir=$MIXED,$UW,$A"
		check "[$api] mount(8): every layer's files visible" view_ok
		check "[$api] mount(8): images attached read-only" images_ro
		check "[$api] mount(8): utab has helper=cfsoverlay" grep -q "TARGET=$WORK/m .*helper=cfsoverlay" "$LIBMOUNT_UTAB"
		expect_rc "[$api] plain umount(8)" 0 umount "$WORK/m"
		check "[$api] plain umount(8) released the loop devices" images_gone
		check "[$api] plain umount(8): unmounted, utab entry gone" bash -c "! mountpoint -q '$WORK/m' && ! grep -q 'TARGET=$WORK/m ' '$LIBMOUNT_UTAB'"
		reset_upper

		# 3. -o loop on direct exec: accepted, changes nothing
		before=$(loops_now)
		expect_rc "[$api] direct exec with -o loop" 0 \
			"$MOUNT_HELPER" overlay "$WORK/m" -o loop -o "lowerdir=$MIXED,$UW,$A"
		check "[$api] -o loop: every layer's files visible" view_ok
		added=$(LC_ALL=C comm -13 <(printf '%s\n' "$before") <(loops_now) | grep -cF "$WORK/")
		check "[$api] -o loop: one loop device per image, no other ($added)" [ "$added" -eq "${#KINDS[@]}" ]
		check "[$api] -o loop: not sent to the kernel" \
			bash -c "! grep -qw loop <<<\"\$(findmnt -rn -o VFS-OPTIONS,FS-OPTIONS --mountpoint '$WORK/m')\""
		expect_rc "[$api] -o loop: umount.cfsoverlay" 0 "$UMOUNT_HELPER" "$WORK/m"
		check "[$api] -o loop: loop devices released" images_gone
		reset_upper

		# 4. read-only overlay (no upper), not idmapped: owners as stored
		expect_rc "[$api] read-only overlay of dir + images" 0 \
			"$MOUNT_HELPER" overlay "$WORK/m" -o "lowerdir=$MIXED,$A"
		check "[$api] not idmapped: owners as stored in the images (1000, 0)" owners_are 1000 0 "${KINDS[@]}"
		umount_m
		check "[$api] read-only overlay: loop devices released" images_gone
	fi

	# 5. idmapped image layers, one kind at a time
	for k in erofs ext4 squashfs; do
		if [ -z "${IMG[$k]:-}" ]; then
			skip "[$api] idmapped $k layer" "no $k image (tool missing)"
			continue
		fi
		if [ -n "$NO_NEW_ID" ]; then
			skip "[$api] idmapped $k layer" "$NO_NEW_ID"
			continue
		fi
		lower="$WORK/src/dir:${IMG[$k]}"
		before=$(loops_now)
		run "$MOUNT_HELPER" overlay "$WORK/m" -o "lowerdir=$lower,$UW,$IDM,$A"
		if [ "$k" != squashfs ] || [ "$SQ_IDMAP" = yes ] || { [ "$SQ_IDMAP" = unknown ] && [ "$last_rc" -eq 0 ]; }; then
			if [ "$last_rc" -eq 0 ]; then ok "[$api] idmapped $k layer mounts"; else
				not_ok "[$api] idmapped $k layer mounts"
				diag "exit $last_rc: $last_err"
			fi
			check "[$api] idmapped $k: files visible" view_ok dir "$k"
			check "[$api] idmapped $k: uid/gid 0 -> 100000, 1000 -> 101000" owners_are 101000 100000 dir "$k"
			check "[$api] idmapped $k: image attached read-only" one_loop_ro "${IMG[$k]}"
			umount_m
		else
			if [ "$last_rc" -eq 32 ]; then ok "[$api] idmapped squashfs refused (exit 32)"; else
				not_ok "[$api] idmapped squashfs refused (exit 32)"
				diag "exit $last_rc: $last_err"
				mountpoint -q "$WORK/m" && umount_m
			fi
			check "[$api] idmapped squashfs: one line saying squashfs cannot be idmapped" \
				one_line_with "${IMG[$k]}" squashfs idmap
			check "[$api] idmapped squashfs: nothing mounted, no utab line" nothing_recorded
		fi
		check "[$api] idmapped $k: loop device released" no_loops "${IMG[$k]}"
		check "[$api] idmapped $k: losetup -a as before" loops_same "$before"
		check "[$api] idmapped $k: temp base empty" base_empty
		reset_upper
	done

	# 6. direct-io
	# dio_case DESC IMAGE: with direct-io the loop device does direct I/O where
	# the backing file allows O_DIRECT; elsewhere the helper refuses (exit 32,
	# one line naming direct-io and the file) and leaves no loop device.
	dio_case() {
		local desc=$1 img=$2 before
		before=$(loops_now)
		if odirect_ok "$img" && [ -n "$NO_NEW" ]; then
			skip "$desc: O_DIRECT works there, direct-io mounts" "$NO_NEW"
		elif odirect_ok "$img"; then
			expect_rc "$desc: O_DIRECT works there, direct-io mounts" 0 \
				"$MOUNT_HELPER" overlay "$WORK/m" -o "lowerdir=$WORK/src/dir:$img,direct-io,$A"
			check "$desc: /sys/block/loopN/loop/dio is 1 while mounted" loop_dio "$img"
			check "$desc: files read back through the direct-I/O loop device" view_ok dir "$DIO_KIND"
			umount_m
		else
			expect_rc "$desc: no O_DIRECT there, direct-io refused (exit 32)" 32 \
				"$MOUNT_HELPER" overlay "$WORK/m" -o "lowerdir=$WORK/src/dir:$img,direct-io,$A"
			check "$desc: one line naming direct-io and the file" one_line_with direct-io "$img"
			check "$desc: nothing mounted" not_mounted
		fi
		check "$desc: no loop device left" no_loops "$img"
		check "$desc: losetup -a as before" loops_same "$before"
	}
	if [ ${#KINDS[@]} -gt 0 ]; then
		wfs=$(findmnt -n -o FSTYPE -T "$WORK")
		if odirect_ok "${IMG[${KINDS[0]}]}" && [ -n "$NO_NEW" ]; then
			skip "[$api] direct-io, mixed stack on $wfs" "$NO_NEW"
		elif odirect_ok "${IMG[${KINDS[0]}]}"; then
			expect_rc "[$api] direct-io, mixed stack on $wfs" 0 \
				"$MOUNT_HELPER" overlay "$WORK/m" -o "lowerdir=$MIXED,$UW,direct-io,$A"
			check "[$api] direct-io: every layer's files visible" view_ok
			check "[$api] direct-io: every image's loop/dio is 1 while mounted" images_dio
			check "[$api] direct-io: images attached read-only" images_ro
			umount_m
			check "[$api] direct-io: loop devices released" images_gone
			reset_upper
		else
			dio_case "[$api] direct-io on $wfs (work directory)" "${IMG[${KINDS[0]}]}"
		fi
	fi
	if [ -n "$TMPFS_IMG" ]; then
		dio_case "[$api] direct-io, image on tmpfs" "$TMPFS_IMG"
	else
		skip "[$api] direct-io, image on tmpfs" "no image or tmpfs could not be mounted"
	fi
	if [ -n "$OUTER_IMG" ]; then
		dio_case "[$api] direct-io, image inside a squashfs" "$OUTER_IMG"
	else
		skip "[$api] direct-io, image inside a squashfs" "no image or mksquashfs missing"
	fi
	mkdir -p "$WORK/src/dir2" && echo dir2 >"$WORK/src/dir2/from-dir2"
	expect_rc "[$api] direct-io with no image layer: usage error" 1 \
		"$MOUNT_HELPER" overlay "$WORK/m" -o "lowerdir=$WORK/src/dir:$WORK/src/dir2,$UW,direct-io,$A"
	check "[$api] direct-io with no image layer: one line naming direct-io" one_line_with direct-io
	check "[$api] direct-io with no image layer: nothing mounted" not_mounted

	# 7. failures leave no loop device
	# fail_case DESC LOWERDIR PATTERN...: exit 32, one line holding every PATTERN.
	fail_case() {
		local desc=$1 lower=$2 before
		shift 2
		before=$(loops_now)
		expect_rc "$desc (exit 32)" 32 "$MOUNT_HELPER" overlay "$WORK/m" -o "lowerdir=$lower,$UW,$A"
		check "$desc: one line naming it" one_line_with "$@"
		check "$desc: no loop device left" no_image_loops
		check "$desc: losetup -a as before" loops_same "$before"
		check "$desc: nothing mounted, temp base empty" not_mounted
		mountpoint -q "$WORK/m" && umount_m
		reset_upper
	}
	fail_case "[$api] random bytes as an image" "$WORK/src/dir:$WORK/img/random.img" \
		"$WORK/img/random.img" "not a filesystem image"
	fail_case "[$api] zeros as an image" "$WORK/src/dir:$WORK/img/zeros.img" \
		"$WORK/img/zeros.img" "not a filesystem image"
	fail_case "[$api] empty file as an image" "$WORK/src/dir:$WORK/img/empty.img" "$WORK/img/empty.img"
	if [ -e "$WORK/img/truncated.img" ]; then
		fail_case "[$api] truncated ext4 image" "$WORK/src/dir:$WORK/img/truncated.img" \
			"$WORK/img/truncated.img" ext4
	else
		skip "[$api] truncated ext4 image" "mkfs.ext4 missing"
	fi
	if [ ${#KINDS[@]} -gt 0 ]; then
		fail_case "[$api] good images, then a nonexistent layer" "$MIXED:$WORK/nonexistent" \
			"$WORK/nonexistent"
		fail_case "[$api] good images, then a bad image" "$MIXED:$WORK/img/random.img" \
			"$WORK/img/random.img"
		fail_case "[$api] good images, then a non-directory layer" "$MIXED:/dev/null" "/dev/null"
		# the overlay itself fails after every layer is attached
		before=$(loops_now)
		expect_rc "[$api] images attached, then overlay refuses an option" 32 \
			"$MOUNT_HELPER" overlay "$WORK/m" -o "lowerdir=$MIXED,$UW,index=bogus,$A"
		check "[$api] overlay refused: no loop device left" no_image_loops
		check "[$api] overlay refused: losetup -a as before" loops_same "$before"
		check "[$api] overlay refused: nothing mounted" not_mounted
	else
		skip "[$api] failing later layers" "no good image could be built"
	fi
done

# --- the end ----------------------------------------------------------------------
for k in "${KINDS[@]}"; do
	check "the $k image file is unchanged (sha256)" [ "$(sha256sum <"${IMG[$k]}")" = "${SUM[$k]}" ]
done
mountpoint -q "$WORK/outer" && umount "$WORK/outer"
mountpoint -q "$WORK/tmpfs" && umount "$WORK/tmpfs"
mapfile -t every_image < <(all_images)
check "no loop device backed by any image of the test" no_loops "$WORK/outer.sqfs" "${every_image[@]}"
check "losetup -a as before the test" loops_same "$LOOPS_AT_START"
assert_clean "images" "$TMPB"
done_testing

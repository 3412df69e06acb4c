#!/bin/bash
# make bench: how far mount.cfsoverlay is from the floor, from one run.
#
#   bench.sh [BUILDDIR]        the helpers in BUILDDIR, bench_min in
#                              BUILDDIR/tests/bench (or BENCH_MIN=PATH)
#   BENCH_REPS=N bench.sh      fewer repetitions (default 21, odd is best)
#   BENCH_TABLES="1 3" bench.sh  only these tables (default: all)
#
# Not a test: it prints numbers and fails only when a mount fails.  Every
# figure is a median over BENCH_REPS runs in which the programs compared run
# in rotating order (bench_min time), so that drift and caches hit them alike.
# Each run is a mount and an umount, each its own fork+exec, for the helper
# and for bench_min alike; bench_min mount issues only the syscalls that the
# configuration needs (see bench_min.c).
#
# Tables:
#   1. mount+umount per layer count, idmapped or not, per strategy: helper,
#      bench_min, their ratio, and plain mount(2) for the non-idmapped case;
#      peak RSS of mount.cfsoverlay and umount.cfsoverlay.
#   2. mount -t cfsoverlay + umount against mount -t overlay + umount (one
#      layer, through mount(8) and utab), and against bench_min installed as
#      mount.cfsmin/umount.cfsmin: the cost of the helper protocol itself;
#      and the exec of an empty program linked as the helpers are, against
#      libc only: how much of the difference is loading libraries.
#   3. stacks of erofs images: mounted file-backed (no loop device) against
#      the same images through loop devices (CFSOVERLAY_FORCE_LOOP=1, which
#      the helper reads for this comparison), and loop devices with direct-io;
#      bench_min both ways, for what each path costs the kernel alone; the
#      number of loop devices that existed during a file-backed mount.
#
# Like the integration tests it runs in a private mount namespace, with the
# built helpers layered over /usr/sbin so that mount(8) finds them; nothing
# outlives it.  A fresh tmpfs on /run holds utab and the default temp location
# /run/cfsoverlay, as /run is a tmpfs on any systemd machine: on a disk
# filesystem every utab rename would add a writeback that is not ours.  The layers are
# laid out as containerd's overlayfs snapshotter lays them out.

set -eu

BUILD=$(cd "${1:-${CFS_BUILDDIR:-.}}" && pwd)
MOUNT_HELPER=$BUILD/mount.cfsoverlay
UMOUNT_HELPER=$BUILD/umount.cfsoverlay
MIN=${BENCH_MIN:-$BUILD/tests/bench/bench_min}
EXEC_DIR=$BUILD/tests/bench
REPS=${BENCH_REPS:-21}
TABLES=${BENCH_TABLES:-1 2 3}
LAYER_COUNTS="1 10 100 500"
IMAGE_COUNTS="1 10 50"
IDMAP="uidmap=0:100000:65536,gidmap=0:100000:65536"

die() { echo "bench: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (real mounts)"
for f in "$MOUNT_HELPER" "$UMOUNT_HELPER" "$MIN"; do
	[ -x "$f" ] || die "$f is not built (make bench builds bench_min)"
done
if [ -z "${CFS_BENCH_IN_NS:-}" ]; then
	CFS_BENCH_IN_NS=1 BENCH_MIN=$MIN BENCH_TABLES=$TABLES exec unshare -m --propagation private bash "$0" "$BUILD"
fi

WORK=$(mktemp -d /tmp/cfs-bench.XXXXXX)
# Deepest mounts first; rm never crosses into a filesystem still mounted.
cleanup() {
	local m
	cd /
	for _ in 1 2 3; do
		findmnt -rn -o TARGET | grep -F "$WORK" | sort -r | while read -r m; do
			umount -l "$m" 2>/dev/null
		done
	done
	rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mount -t tmpfs -o mode=0755,size=16m tmpfs /run || die "cannot mount a tmpfs on /run"
mkdir -p /run/mount /run/cfsoverlay
chmod 0700 /run/cfsoverlay

mkdir -p "$WORK/.sbin/lower" "$WORK/.sbin/upper" "$WORK/.sbin/work"
cp "$MOUNT_HELPER" "$UMOUNT_HELPER" "$WORK/.sbin/lower/"
# bench_min as a helper of its own type: the floor of any mount(8) helper.
cp "$MIN" "$WORK/.sbin/lower/mount.cfsmin"
cp "$MIN" "$WORK/.sbin/lower/umount.cfsmin"
mount -t overlay overlay -o "lowerdir=$WORK/.sbin/lower:/usr/sbin" /usr/sbin ||
	die "cannot layer the built helpers over /usr/sbin"
cd "$WORK"

SNAP=$WORK/io.containerd.snapshotter.v1.overlayfs/snapshots
UPPER=$SNAP/501/fs
WORKDIR=$SNAP/501/work
M=$WORK/rootfs
mkdir -p "$UPPER" "$WORKDIR" "$M" "$WORK/cmd"
for ((i = 1; i <= 500; i++)); do
	mkdir -p "$SNAP/$i/fs/etc"
	echo "$i" >"$SNAP/$i/fs/etc/layer$i"
done

# lowerdir_of N: the N newest snapshots, top layer first as overlay wants.
lowerdir_of() {
	local n=$1 i s=
	for ((i = n; i >= 1; i--)); do s+="$SNAP/$i/fs:"; done
	echo "${s%:}"
}

# cmds NAME LINE...: a command list for bench_min time, one line a command.
cmds() {
	local name=$1
	shift
	printf '%s\n' "$@" >"$WORK/cmd/$name"
}

# timeit NAME...: runs the lists, alternating; fills T[name] (total us) and
# L1[name], L2[name] ("us/KiB" of each line).
declare -A T L1 L2
timeit() {
	local out file total a b n
	local files=()
	for n in "$@"; do files+=("$WORK/cmd/$n"); done
	out=$("$MIN" time "$REPS" "${files[@]}") || die "a timed command failed"
	while read -r file total a b; do
		file=${file##*/}
		T[$file]=$total
		L1[$file]=$a
		L2[$file]=${b:-}
	done <<<"$out"
}

table() { [[ " $TABLES " == *" $1 "* ]]; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
us_of() { echo "${1%/*}"; }
kib_of() { echo "${1#*/}"; }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
hv=
grep -qw hypervisor /proc/cpuinfo && hv=", virtual machine"
echo "cfsoverlay bench: Linux $(uname -r), $(nproc) CPUs (${cpu:-unknown}$hv), median of $REPS runs each"
echo "layers and work directories on $(findmnt -n -o FSTYPE -T "$WORK"), utab and temp location on tmpfs"
echo "mount+umount wall time in ms (one fork+exec each); ratio = helper / bench_min;"
echo "RSS: peak resident set (wait4 ru_maxrss) of mount.cfsoverlay / umount.cfsoverlay"
if table 1; then
echo
echo "1. mount.cfsoverlay + umount.cfsoverlay, direct exec, upperdir+workdir"
printf '%-6s %-6s %-7s %9s %9s %7s %9s %8s %9s %9s\n' \
	layers idmap api helper min ratio 'mount(2)' 'h/mnt2' 'RSS mount' 'RSS umnt'
for n in $LAYER_COUNTS; do
	for idm in no yes; do
		opts="lowerdir=$(lowerdir_of "$n"),upperdir=$UPPER,workdir=$WORKDIR"
		[ "$idm" = yes ] && opts+=",$IDMAP"
		for api in new legacy; do
			cmds "h-$api" "$MOUNT_HELPER overlay $M -o $opts,cfs.api=$api" "$UMOUNT_HELPER $M"
			cmds "m-$api" "$MIN mount overlay $M -o $opts,cfs.api=$api" "$MIN umount $M"
		done
		timeit h-new m-new h-legacy m-legacy
		for api in new legacy; do
			h=${T[h-$api]} m=${T[m-$api]} plain=- hp=-
			# Without idmap the legacy floor is exactly one mount(2).
			if [ "$idm" = no ]; then
				plain=$(ms "${T[m-legacy]}")
				hp=$(ratio "$h" "${T[m-legacy]}")
			fi
			printf '%-6s %-6s %-7s %9s %9s %7s %9s %8s %8sK %8sK\n' "$n" "$idm" "$api" \
				"$(ms "$h")" "$(ms "$m")" "$(ratio "$h" "$m")" "$plain" "$hp" \
				"$(kib_of "${L1[h-$api]}")" "$(kib_of "${L2[h-$api]}")"
		done
	done
done
fi

if table 2; then
echo
echo "2. through mount(8) and utab, one layer: mount -t cfsoverlay vs mount -t overlay;"
echo "   cfsmin is bench_min as a helper (mount.cfsmin, umount.cfsmin): it mounts and"
echo "   writes its utab line, nothing else, so cfsmin/overlay is what any helper costs"
opts="lowerdir=$SNAP/1/fs,upperdir=$UPPER,workdir=$WORKDIR"
cmds cfs "mount -t cfsoverlay overlay $M -o $opts" "umount $M"
cmds min "mount -t cfsmin overlay $M -o $opts" "umount $M"
cmds ovl "mount -t overlay overlay $M -o $opts" "umount $M"
timeit cfs min ovl
printf '%-22s %9s %9s %9s\n' "" mount umount total
for k in cfs min ovl; do
	case $k in
	cfs) label="mount -t cfsoverlay" ;;
	min) label="mount -t cfsmin" ;;
	ovl) label="mount -t overlay" ;;
	esac
	printf '%-22s %9s %9s %9s\n' "$label" \
		"$(ms "$(us_of "${L1[$k]}")")" "$(ms "$(us_of "${L2[$k]}")")" "$(ms "${T[$k]}")"
done
for k in cfs min; do
	printf '%-22s %9s %9s %9s\n' "ratio $k/overlay" \
		"$(ratio "$(us_of "${L1[$k]}")" "$(us_of "${L1[ovl]}")")" \
		"$(ratio "$(us_of "${L2[$k]}")" "$(us_of "${L2[ovl]}")")" "$(ratio "${T[$k]}" "${T[ovl]}")"
done
printf '%-22s %9s %9s %9s\n' "ratio cfs/cfsmin" \
	"$(ratio "$(us_of "${L1[cfs]}")" "$(us_of "${L1[min]}")")" \
	"$(ratio "$(us_of "${L2[cfs]}")" "$(us_of "${L2[min]}")")" "$(ratio "${T[cfs]}" "${T[min]}")"
# What loading the libraries costs: the same empty program built with libc
# only, with libmount, and with the helpers' libraries (make bench builds them).
if [ -x "$EXEC_DIR/exec_libc" ] && [ -x "$EXEC_DIR/exec_libmount" ] &&
	[ -x "$EXEC_DIR/exec_helper_libs" ]; then
	for k in libc libmount helper_libs; do cmds "x-$k" "$EXEC_DIR/exec_$k"; done
	timeit x-libc x-libmount x-helper_libs
	echo "   exec of an empty program, ms: libc only $(ms "${T[x-libc]}"), with libmount" \
		"$(ms "${T[x-libmount]}"), linked as the helpers $(ms "${T[x-helper_libs]}")"
	lib=$(awk -v a="${T[x-helper_libs]}" -v b="${T[x-libc]}" 'BEGIN { print 2 * (a - b) }')
	echo "   loading the libraries, mount + umount: $(ms "$lib") ms of the" \
		"$(ms "$(awk -v a="${T[cfs]}" -v b="${T[min]}" 'BEGIN { print a - b }')") ms" \
		"that cfsoverlay takes over cfsmin"
fi
fi

if table 3; then
echo
echo "3. erofs image layers, mount+umount as mount ms + umount ms: the helper file-backed"
echo "   (file) and through loop devices (loop: CFSOVERLAY_FORCE_LOOP=1, the switch the"
echo "   helper reads for this comparison), loop devices with direct-io (dio), and bench_min"
echo "   doing the same both ways (min file, min loop: the kernel's own cost of each path);"
echo "   every run goes through env(1) so that all pay the same exec; loops = loop devices"
echo "   of the images while a file-backed mount stood (0: none was created)"
if ! command -v mkfs.erofs >/dev/null; then
	echo "skipped: mkfs.erofs is not installed"
elif [ ! -e /dev/loop-control ]; then
	echo "skipped: no /dev/loop-control"
else
	max=0
	for n in $IMAGE_COUNTS; do [ "$n" -gt "$max" ] && max=$n; done
	mkdir -p "$WORK/img"
	for ((i = 1; i <= max; i++)); do
		mkfs.erofs --quiet "$WORK/img/$i.erofs" "$SNAP/$i/fs" >/dev/null ||
			die "mkfs.erofs failed"
	done
	split() { echo "$(ms "$(us_of "${L1[$1]}")")+$(ms "$(us_of "${L2[$1]}")")"; }
	printf '%-6s %12s %12s %12s %12s %12s %9s %8s %9s %9s %5s\n' images file loop dio \
		'min file' 'min loop' loop/file dio/file 'min l/f' file/min loops
	for n in $IMAGE_COUNTS; do
		s=
		for ((i = n; i >= 1; i--)); do s+="$WORK/img/$i.erofs:"; done
		opts="lowerdir=${s%:},upperdir=$UPPER,workdir=$WORKDIR"
		"$MOUNT_HELPER" overlay "$M" -o "$opts" || die "file-backed mount of $n images failed"
		loops=$(losetup -a | grep -cF "$WORK/img/" || true)
		"$UMOUNT_HELPER" "$M"
		for k in 0 1; do
			name=file min=minfile
			[ $k = 1 ] && name=loop min=minloop
			cmds $name "env CFSOVERLAY_FORCE_LOOP=$k $MOUNT_HELPER overlay $M -o $opts" \
				"env CFSOVERLAY_FORCE_LOOP=$k $UMOUNT_HELPER $M"
			cmds $min "env CFSOVERLAY_FORCE_LOOP=$k $MIN mount overlay $M -o $opts" \
				"env CFSOVERLAY_FORCE_LOOP=$k $MIN umount $M"
		done
		cmds dio "env CFSOVERLAY_FORCE_LOOP=1 $MOUNT_HELPER overlay $M -o $opts,direct-io" \
			"env CFSOVERLAY_FORCE_LOOP=1 $UMOUNT_HELPER $M"
		timeit file loop dio minfile minloop
		printf '%-6s %12s %12s %12s %12s %12s %9s %8s %9s %9s %5s\n' "$n" \
			"$(split file)" "$(split loop)" "$(split dio)" "$(split minfile)" "$(split minloop)" \
			"$(ratio "${T[loop]}" "${T[file]}")" "$(ratio "${T[dio]}" "${T[file]}")" \
			"$(ratio "${T[minloop]}" "${T[minfile]}")" "$(ratio "${T[file]}" "${T[minfile]}")" \
			"$loops"
	done
fi
fi
# A mount left behind by one run would slow down every later one.
left=$(findmnt -rn -o TARGET | grep -F "$WORK" | grep -v "^$WORK/.sbin" || true)
[ -z "$left" ] || die "mounts left behind: $left"

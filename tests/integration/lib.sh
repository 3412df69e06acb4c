# Shared by the integration tests: TAP output, a private mount namespace, a work
# directory that is always cleaned up, and the built helpers in /sbin.
#
# Each test script re-executes itself inside a private mount namespace
# (unshare -m), so every mount it makes dies with it even if it is killed; the
# helpers under test are layered over /usr/sbin there with an overlay mount, so
# mount(8) finds the freshly built ones without installing anything.

set -u

CFS_BUILDDIR=${CFS_BUILDDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CFS_SRCDIR=${CFS_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MOUNT_HELPER=$CFS_BUILDDIR/mount.cfsoverlay
UMOUNT_HELPER=$CFS_BUILDDIR/umount.cfsoverlay

tap_count=0
tap_failed=0

ok() { tap_count=$((tap_count + 1)); echo "ok $tap_count - $*"; }
not_ok() { tap_count=$((tap_count + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_count - $*"; }
skip() { tap_count=$((tap_count + 1)); echo "ok $tap_count - $1 # SKIP $2"; }
diag() { printf '# %s\n' "$*"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# LeakSanitizer cannot work under ptrace: every helper a test traces or injects
# faults into with strace runs without it in the sanitizer build (ASan and
# UBSan stay on).  Exported, so that `bash -c "strace ..."` gets it too.
strace() { ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 command strace "$@"; }
export -f strace

# check DESCRIPTION COMMAND...: one TAP line from a command's exit status.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# expect_rc DESCRIPTION RC COMMAND...: runs COMMAND, stderr kept in $last_err.
last_err=
last_rc=0
run() {
	last_err=$("$@" 2>&1 >/dev/null)
	last_rc=$?
}
expect_rc() {
	local desc=$1 want=$2
	shift 2
	run "$@"
	if [ "$last_rc" -eq "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "expected exit $want, got $last_rc: $last_err"
	fi
}

done_testing() {
	echo "1..$tap_count"
	[ "$tap_failed" -eq 0 ]
}

is_mounted() { mountpoint -q "$1"; }

# Unmounts everything under the work directory, deepest first, then removes it
# without crossing into any filesystem that could not be unmounted.
cleanup_work() {
	local m
	[ -n "${CFS_PUBLIC_BIN:-}" ] && rm -rf "$CFS_PUBLIC_BIN"
	[ -n "${WORK:-}" ] && [ -d "$WORK" ] || return 0
	for _ in 1 2 3; do
		findmnt -rn -o TARGET | grep -F "$WORK" | sort -r | while read -r m; do
			umount -l "$m" 2>/dev/null
		done
	done
	rm -rf --one-file-system "$WORK"
	rmdir "$CFS_TEST_PARENT" 2>/dev/null
	return 0
}

setup() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (real mounts)"
	[ -x "$MOUNT_HELPER" ] || skip_all "$MOUNT_HELPER is not built"
	if [ -z "${CFS_IN_PRIVATE_NS:-}" ]; then
		command -v unshare >/dev/null || skip_all "unshare(1) missing"
		CFS_IN_PRIVATE_NS=1 exec unshare -m --propagation private bash "$0" "$@"
	fi
	# Every directory above a cfs.tmpdir must be root's and closed to others
	# (a sticky /tmp is refused): WORK lives in a root-only 0755 directory,
	# removed by the last test that leaves it (another may just have made it).
	CFS_TEST_PARENT=${CFS_TEST_PARENT:-/var/lib/cfsoverlay-tests}
	WORK=
	for _ in 1 2 3; do
		mkdir -p -m 0755 "$CFS_TEST_PARENT" 2>/dev/null &&
			WORK=$(mktemp -d "$CFS_TEST_PARENT/cfs-test.XXXXXX" 2>/dev/null) && break
	done
	[ -n "$WORK" ] || skip_all "cannot create a work directory in $CFS_TEST_PARENT"
	trap cleanup_work EXIT
	trap 'exit 130' INT TERM
	export LIBMOUNT_UTAB=$WORK/utab
	# Some cases run the helpers as nobody, who cannot reach a build under
	# /root (0700): those get copies in a directory of their own that anyone
	# may enter, removed with WORK.
	if command -v setpriv >/dev/null &&
		! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$MOUNT_HELPER" 2>/dev/null; then
		CFS_PUBLIC_BIN=$(mktemp -d /tmp/cfs-bin.XXXXXX) && chmod 0755 "$CFS_PUBLIC_BIN" &&
			cp "$MOUNT_HELPER" "$UMOUNT_HELPER" "$CFS_PUBLIC_BIN/" || exit 1
		MOUNT_HELPER=$CFS_PUBLIC_BIN/mount.cfsoverlay
		UMOUNT_HELPER=$CFS_PUBLIC_BIN/umount.cfsoverlay
	fi
	# mount(8) finds helpers in /sbin only: add ours on top of it, in this namespace.
	mkdir -p "$WORK/.sbin/lower" "$WORK/.sbin/upper" "$WORK/.sbin/work"
	cp "$MOUNT_HELPER" "$UMOUNT_HELPER" "$WORK/.sbin/lower/"
	mount -t overlay overlay -o "lowerdir=$WORK/.sbin/lower:/usr/sbin" /usr/sbin ||
		skip_all "cannot layer the built helpers over /usr/sbin"
	cd "$WORK" || exit 1
}

# mklayers N DIR: N lower layers DIR/1..N, layer i holding file f<i> = "<i>".
mklayers() {
	local n=$1 dir=$2 i
	for ((i = 1; i <= n; i++)); do
		mkdir -p "$dir/$i"
		echo "$i" >"$dir/$i/f$i"
	done
}

# lowerdir_of N DIR: "DIR/1:DIR/2:..." (top layer first, as overlay wants).
lowerdir_of() {
	local n=$1 dir=$2 i s=
	for ((i = 1; i <= n; i++)); do s+="$dir/$i:"; done
	echo "${s%:}"
}

# mount_opts_field TARGET: the super options of TARGET in mountinfo.
mount_vfs_opts() { findmnt -rn -o VFS-OPTIONS --mountpoint "$1"; }
mount_fs_opts() { findmnt -rn -o FS-OPTIONS --mountpoint "$1"; }

# Nothing of a test may outlive it: no mount under WORK, no temp directory.
assert_clean() {
	local desc=$1 tmpbase=${2:-}
	local left
	left=$(findmnt -rn -o TARGET | grep -F "$WORK" | grep -v "^$WORK/.sbin" || true)
	if [ -n "$left" ]; then
		not_ok "$desc: nothing left mounted"
		diag "still mounted: $left"
		return
	fi
	if [ -n "$tmpbase" ] && [ -d "$tmpbase" ] && [ -n "$(ls -A "$tmpbase")" ]; then
		not_ok "$desc: temp location empty"
		diag "left in $tmpbase: $(ls -A "$tmpbase")"
		return
	fi
	ok "$desc: nothing left behind"
}

# tree_sum DIR: one checksum of names, types, sizes, modes, owners, times,
# symlink targets and contents under DIR: "lower data untouched" in one value.
tree_sum() {
	(cd "$1" && find . -printf '%p %y %s %m %U %G %T@ %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r cat) | md5sum
}

# The PIDs of running helpers under test (of any namespace).
helper_procs() {
	find /proc -mindepth 2 -maxdepth 2 -name exe \
		\( -lname "$MOUNT_HELPER*" -o -lname "$UMOUNT_HELPER*" \) 2>/dev/null | cut -d/ -f3 | tr '\n' ' '
}

# settle COMMAND...: runs COMMAND until it prints nothing, and prints what it
# printed last when it never does.  For what must happen just after a helper
# exits: its child leaves when the parent's pipe closes, and autoclear frees a
# loop device from a kernel work item after its last reference goes.  The
# bound (10 s) is a deadline for that, not a duration under test: an idle
# machine returns at the first look.
settle() {
	local i out
	for ((i = 0; i < 200; i++)); do
		out=$("$@")
		[ -z "$out" ] && return 0
		sleep 0.05
	done
	printf '%s' "$out"
	return 1
}

# loops_of IMAGE...: the loop devices backed by these files.
loops_of() {
	local img
	for img in "$@"; do losetup -j "$img" 2>/dev/null; done
	return 0
}

# no_procs, no_loops IMAGE...: nothing of ours left.
no_procs() {
	local left
	left=$(settle helper_procs) && return 0
	diag "helper processes left: $left"
	return 1
}
no_loops() {
	local left
	left=$(settle loops_of "$@") && return 0
	diag "loop devices left: $left"
	return 1
}

# detach_loops IMAGE...: detaches every loop device backed by these files, for
# traps: a failed case must not leave a device behind (loop devices are global).
detach_loops() {
	local img dev
	for img in "$@"; do
		for dev in $(losetup -j "$img" -O NAME -n 2>/dev/null); do losetup -d "$dev" 2>/dev/null; done
	done
	return 0
}

# mklayers_image N DIR: layers DIR/1..N-1 (see mklayers) and, as layer N, an
# erofs image DIR/image.erofs holding fN, so loop devices are exercised.
# Sets IMAGE (empty without mkfs.erofs: then N directory layers) and LOWER.
mklayers_image() {
	local n=$1 dir=$2
	IMAGE=
	if command -v mkfs.erofs >/dev/null; then
		mkdir -p "$dir/.image-src" && echo image >"$dir/.image-src/f$n"
		mklayers $((n - 1)) "$dir"
		mkfs.erofs --quiet "$dir/image.erofs" "$dir/.image-src" >/dev/null 2>&1 && IMAGE=$dir/image.erofs
	fi
	if [ -n "$IMAGE" ]; then
		LOWER="$(lowerdir_of $((n - 1)) "$dir"):$IMAGE"
	else
		diag "no image layer: mkfs.erofs (erofs-utils) is not installed; loop devices are not exercised"
		mklayers "$n" "$dir"
		LOWER=$(lowerdir_of "$n" "$dir")
	fi
}

# Kernel feature probes.  Each makes small real mounts once per script (the
# answer is cached) and returns 0 when the feature is there, or 1 with the
# reason in $PROBE_REASON, for skip.  Tests skip on these answers, never on
# a version number.  Where the helper itself is what is probed, only its own
# "kernel lacks"/"does not support" answers count as missing: any other
# failure lets the test run, and fail where it can be seen.
declare -A PROBE_RC=() PROBE_WHY=()
PROBE_REASON=
DATAONLY_OPT=
probe_cached() { # probe_cached KEY FUNCTION ARGS...: runs FUNCTION once per KEY
	local key=$1
	shift
	if [ -z "${PROBE_RC[$key]:-}" ]; then
		probe_why=
		"$@"
		PROBE_RC[$key]=$?
		PROBE_WHY[$key]=$probe_why
	fi
	PROBE_REASON=${PROBE_WHY[$key]}
	return "${PROBE_RC[$key]}"
}
# probe_dir: a fresh directory for a probe under WORK (cleaned up with it).
probe_dir() { mktemp -d "$WORK/.probe.XXXXXX"; }
probe_done() { # probe_done DIR: unmounts what a probe left and removes DIR
	local m
	findmnt -rn -o TARGET | grep -F "$1/" | sort -r | while read -r m; do umount "$m"; done
	rm -rf --one-file-system "$1"
}
# The hint in parentheses at the end of a helper's message, or the message.
probe_hint() { sed -n 's/.*(\([^()]*\))$/\1/p; t; p' <<<"$1" | head -1; }

_probe_layer_fds() { # [idmapped]
	local d err rc id=
	d=$(probe_dir) || return 0
	mkdir "$d/a" "$d/b" "$d/m"
	[ "${1:-}" = idmapped ] && id=",uidmap=0:100000:65536,gidmap=0:100000:65536"
	err=$("$MOUNT_HELPER" -n overlay "$d/m" -o "lowerdir=$d/a:$d/b,cfs.api=new$id" 2>&1)
	rc=$?
	probe_done "$d"
	if [ "$rc" -ne 0 ] && grep -q "kernel lacks" <<<"$err"; then
		probe_why="cfs.api=new unavailable: $(probe_hint "$err")"
		return 1
	fi
	return 0
}
# probe_new_api_layer_fds [idmapped]: overlay takes layers (idmapped ones) as
# fds, which the new strategy needs (6.15; detached idmapped mounts too).
probe_new_api_layer_fds() { probe_cached "layer_fds${1:-}" _probe_layer_fds "${1:-}"; }

_probe_data_only() {
	local d
	d=$(probe_dir) || return 0
	mkdir "$d/a" "$d/b" "$d/c" "$d/m"
	if mount -t overlay overlay -o "lowerdir=$d/a:$d/b::$d/c" "$d/m" 2>/dev/null; then
		DATAONLY_OPT=
	elif mount -t overlay overlay -o "lowerdir=$d/a:$d/b::$d/c,metacopy=on" "$d/m" 2>/dev/null; then
		DATAONLY_OPT=,metacopy=on
	else
		probe_why="overlay on this kernel refuses data-only layers (lowerdir=A:B::C), with metacopy=on too"
	fi
	probe_done "$d"
	[ -z "$probe_why" ]
}
# probe_data_only_layers: overlay takes data-only layers (A:B::C); when it
# does only with metacopy=on (a kernel built without metacopy by default, as
# Debian's 6.12), $DATAONLY_OPT is ",metacopy=on" for the tests to append.
probe_data_only_layers() { probe_cached data_only _probe_data_only; }

_probe_idmap_fs() { # TYPE
	local type=$1 d err rc
	d=$(probe_dir) || return 0
	mkdir "$d/src" "$d/fs" "$d/m"
	echo probe >"$d/src/f"
	case $type in
	tmpfs) mount -t tmpfs -o size=1m tmpfs "$d/fs" ;;
	squashfs) mksquashfs "$d/src" "$d/img" -quiet -noappend >/dev/null 2>&1 &&
		mount -o loop,ro "$d/img" "$d/fs" ;;
	erofs) mkfs.erofs --quiet "$d/img" "$d/src" >/dev/null 2>&1 && mount -o loop,ro "$d/img" "$d/fs" ;;
	ext4) truncate -s 8M "$d/img" && mkfs.ext4 -q -d "$d/src" "$d/img" >/dev/null 2>&1 &&
		mount -o loop,ro "$d/img" "$d/fs" ;;
	*) false ;;
	esac 2>/dev/null || {
		# no tool or no loop device: the tests that need them say so themselves
		probe_done "$d"
		return 0
	}
	err=$("$MOUNT_HELPER" -n "$d/fs" "$d/m" -o "bind,uidmap=0:100000:65536,gidmap=0:100000:65536" 2>&1)
	rc=$?
	probe_done "$d"
	if [ "$rc" -ne 0 ] && grep -q "does not support idmapped mounts" <<<"$err"; then
		probe_why="$type cannot be idmapped on this kernel"
		return 1
	fi
	return 0
}
# probe_idmap_fs TYPE: a TYPE filesystem (tmpfs, squashfs, erofs, ext4) can
# be idmapped here (tmpfs from 6.3; squashfs later than 6.1).
probe_idmap_fs() { probe_cached "idmap_$1" _probe_idmap_fs "$1"; }

# listmount(2) (Linux 6.8) on the root mount: ENOSYS before, as on 6.1.
_probe_listmount() {
	python3 - <<'PY' && return 0
import ctypes, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
req = struct.pack("IIQQ", 24, 0, 0xFFFFFFFFFFFFFFFF, 0)  # struct mnt_id_req, LSMT_ROOT
ids = ctypes.create_string_buffer(8 * 16)
sys.exit(0 if libc.syscall(458, req, ids, 16, 0) >= 0 else 1)
PY
	probe_why="the kernel lacks listmount(2) (Linux 6.8)"
	return 1
}
probe_listmount() { probe_cached listmount _probe_listmount; }

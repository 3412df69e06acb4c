#!/bin/bash
# Bad input: malformed invocations of mount.cfsoverlay and umount.cfsoverlay.
# Each must exit 1 (usage, permission) or 32 (mount failure), print exactly one
# line "mount.cfsoverlay: ..." naming the option or path at fault (never a bare
# "Invalid argument"), and leave the system as it was: nothing mounted under
# WORK, nothing in the temp base, no loop device for our image files, no utab
# line, lower layers and temp bases byte-for-byte unchanged, no helper process.
. "$(dirname "$0")/lib.sh"
setup "$@"

LOW=$WORK/lowers   # every lower layer and image file: checksummed around each case
TMPB=$WORK/tmp     # the cfs.tmpdir base of the cases: must stay empty
TBASE=$WORK/tbase  # bad temp bases (symlink, foreign owner, 0755): must stay untouched
FIX=$WORK/fix      # fixture mounts (read-only fs, another fs): not leftovers
mkdir -p "$LOW/l1" "$LOW/l2" "$LOW/img" "$LOW/src" "$TMPB" "$TBASE" "$FIX" u w m
chmod 0700 "$TMPB"
echo one >"$LOW/l1/a"
echo two >"$LOW/l2/b"
mklayers 501 "$LOW/L"
L1=$LOW/l1 L2=$LOW/l2
UW="upperdir=$WORK/u,workdir=$WORK/w"
FULL="lowerdir=$L1:$L2,$UW,cfs.tmpdir=$TMPB"
IDM="uidmap=0:100000:65536,gidmap=0:100000:65536"
LEGACY="cfs.api=legacy,cfs.tmpdir=$TMPB"

# Image files: a real erofs image, squashfs cut short (blkid still sees it), a
# file with no filesystem, an empty file.
for i in $(seq 20); do echo "$i" >"$LOW/src/f$i"; mkdir -p "$LOW/src/d$i"; done
HAVE_EROFS=
command -v mkfs.erofs >/dev/null && mkfs.erofs --quiet "$LOW/img/good.erofs" "$LOW/src" >/dev/null 2>&1 &&
	HAVE_EROFS=1
HAVE_SQUASHFS=
mkdir -p "$WORK/sqsrc"
head -c 300000 /dev/urandom >"$WORK/sqsrc/random" # its tables land past the cut
if command -v mksquashfs >/dev/null &&
	mksquashfs "$WORK/sqsrc" "$WORK/full.sqfs" -quiet -no-progress >/dev/null 2>&1; then
	head -c 4096 "$WORK/full.sqfs" >"$LOW/img/trunc.sqfs"
	rm -rf "$WORK/full.sqfs" "$WORK/sqsrc"
	HAVE_SQUASHFS=1
fi
head -c 1M /dev/urandom >"$LOW/img/notfs.bin"
: >"$LOW/img/empty.img"
mkfifo "$LOW/fifo"
ln -s "$WORK/gone" "$LOW/dangling"

# Fixtures: a read-only filesystem, another filesystem for a workdir.
mkdir -p "$FIX/ro" "$FIX/other"
mount -t tmpfs -o size=1m tmpfs "$FIX/ro" && mkdir "$FIX/ro/u" "$FIX/ro/w" && mount -o remount,ro "$FIX/ro"
mount -t tmpfs -o size=1m tmpfs "$FIX/other" && mkdir "$FIX/other/w"

# Bad temp bases; each refused base holds a stale-looking directory that a
# refusing helper has no business removing.
mkdir -m 0700 "$TBASE/real" "$TBASE/foreign" "$TBASE/open"
ln -s "$TBASE/real" "$TBASE/link"
chown 65534:65534 "$TBASE/foreign"
chmod 0755 "$TBASE/open"
mkdir "$TBASE/foreign/ovl-stale1" "$TBASE/open/ovl-stale2"
echo not-a-dir >"$TBASE/file"

echo not-a-namespace >"$WORK/notns"
echo plain >"$WORK/file"
sleep 0 &
DEADPID=$!
wait "$DEADPID"
printf -v LONGPATH '%*s' 50000 ''
LONGPATH=$WORK/${LONGPATH// /d/} # 100 KB
printf -v LONGNUM '%*s' 100000 ''
LONGNUM=${LONGNUM// /1}
LONGMAP=
i=0
while [ "${#LONGMAP}" -lt 102400 ]; do
	LONGMAP+="$i:$((100000 + i)):1 "
	i=$((i + 1))
done
LONGMAP=${LONGMAP% }

# Leave no loop device behind even when a case fails.
# Leave no namespace holder behind either (issue 13 cases).
NOMAP_PID=
trap '[ -n "$NOMAP_PID" ] && kill "$NOMAP_PID" 2>/dev/null; detach_loops "$LOW"/img/*; cleanup_work' EXIT

# --- what "nothing left" means ----------------------------------------------

loops_of_images() {
	local img out
	for img in "$LOW"/img/*; do
		out=$(losetup -j "$img")
		[ -n "$out" ] && echo "$out"
	done
}
baseline() {
	LOWERS_SUM=$(tree_sum "$LOW")
	TBASE_SUM=$(tree_sum "$TBASE")
	M_STAT=$(stat -c '%i %a %u %g' "$WORK/m")
}
KEEP=          # a mount the current case must leave alone (umount cases)
extra_check=true
leftovers() {
	local m loops p
	m=$(findmnt -rn -o TARGET | grep -F "$WORK" | grep -vF -e "$WORK/.sbin" -e "$FIX" |
		grep -vxF "${KEEP:-/nonexistent}" || true)
	[ -n "$m" ] && echo "still mounted: $m"
	[ -n "$(ls -A "$TMPB")" ] && echo "left in $TMPB: $(ls -A "$TMPB")"
	# Autoclear runs when the last reference goes, which may trail the exit.
	loops=$(settle loops_of_images) || echo "loop devices: $loops"
	grep -v "TARGET=${KEEP:-/nonexistent} " "$LIBMOUNT_UTAB" 2>/dev/null | grep -q . &&
		echo "utab: $(cat "$LIBMOUNT_UTAB")"
	[ "$(tree_sum "$LOW")" = "$LOWERS_SUM" ] || echo "lower layers changed"
	[ "$(tree_sum "$TBASE")" = "$TBASE_SUM" ] || echo "temp bases changed: $(cd "$TBASE" && find . | tr '\n' ' ')"
	[ "$(stat -c '%i %a %u %g' "$WORK/m" 2>/dev/null)" = "$M_STAT" ] || echo "mountpoint $WORK/m changed"
	p=$(helper_procs)
	[ -n "$p" ] && echo "helper processes left: $p"
	"$extra_check"
}
# After a failed case: put things back so that one fault is reported once.
reset_state() {
	local m
	findmnt -rn -o TARGET | grep -F "$WORK" | grep -vF -e "$WORK/.sbin" -e "$FIX" |
		grep -vxF "${KEEP:-/nonexistent}" | sort -r | while read -r m; do umount -l "$m"; done
	find "$TMPB" -mindepth 1 -depth -type d -exec umount -l {} \; 2>/dev/null
	find "$TMPB" -mindepth 1 -delete 2>/dev/null
	detach_loops "$LOW"/img/*
	if [ -n "$KEEP" ]; then
		grep "TARGET=$KEEP " "$LIBMOUNT_UTAB" >"$LIBMOUNT_UTAB.new" 2>/dev/null
		mv "$LIBMOUNT_UTAB.new" "$LIBMOUNT_UTAB"
	else
		: >"$LIBMOUNT_UTAB"
	fi
	[ -d "$WORK/m" ] || mkdir "$WORK/m"
	baseline
}

# Problems with the one error line, or nothing.  PATTERN is a fixed string, or
# an extended regex after "re:".
message_problems() {
	local prog=$1 pat=$2 n
	n=$(printf '%s\n' "$last_err" | wc -l)
	[ "$n" -eq 1 ] || echo "$n lines on stderr"
	[[ $last_err == "$prog: "* ]] || echo "does not start with '$prog: '"
	if [[ $pat == re:* ]]; then
		grep -qE -- "${pat#re:}" <<<"$last_err" || echo "does not name /${pat#re:}/"
	else
		grep -qF -- "$pat" <<<"$last_err" || echo "does not name '${pat:0:80}'"
	fi
	if [[ $last_err == *": Invalid argument" ]]; then echo "bare 'Invalid argument', no hint"; fi
}

n_bad=0
# bad_as NAME DESC RC PATTERN COMMAND...: runs COMMAND, whose error line must
# start with "NAME: "; three TAP lines (exit code, message, nothing left).
bad_as() {
	local name=$1 desc=$2 want=$3 pat=$4 problems
	shift 4
	n_bad=$((n_bad + 1))
	run "$@"
	[ -n "${CFS_TEST_DEBUG:-}" ] && diag "stderr: ${last_err:0:300}"
	if [ "$last_rc" -eq "$want" ]; then
		ok "$name: $desc: exit $want"
	else
		not_ok "$name: $desc: exit $want"
		diag "got exit $last_rc: ${last_err:0:300}"
	fi
	problems=$(message_problems "$name" "$pat")
	if [ -z "$problems" ]; then
		ok "$name: $desc: one line naming ${pat:0:60}"
	else
		not_ok "$name: $desc: one line naming ${pat:0:60}"
		diag "$(tr '\n' ';' <<<"$problems") stderr: ${last_err:0:300}"
	fi
	problems=$(leftovers)
	if [ -z "$problems" ]; then
		ok "$name: $desc: nothing left, nothing changed"
	else
		not_ok "$name: $desc: nothing left, nothing changed"
		diag "$(tr '\n' ';' <<<"$problems")"
		reset_state
	fi
}
# bad DESC RC PATTERN ARGS... / ubad ...: the helper itself with ARGS.
bad() {
	local desc=$1 want=$2 pat=$3
	shift 3
	bad_as mount.cfsoverlay "$desc" "$want" "$pat" "$MOUNT_HELPER" "$@"
}
ubad() {
	local desc=$1 want=$2 pat=$3
	shift 3
	bad_as umount.cfsoverlay "$desc" "$want" "$pat" "$UMOUNT_HELPER" "$@"
}
skip_case() { n_bad=$((n_bad + 1)); skip "$1" "$2"; }

baseline
M=("overlay" "$WORK/m")

# --- argv ---------------------------------------------------------------------
bad "no arguments" 1 "SOURCE"
bad "SOURCE only" 1 "TARGET" overlay
bad "too many arguments" 1 "extra-arg" "${M[@]}" extra-arg -o "$FULL"
bad "unknown long flag" 1 "--bogus" "${M[@]}" --bogus -o "$FULL"
bad "unknown short flag" 1 "re:-Z|'Z'" "${M[@]}" -Z -o "$FULL"
bad "-o without a value" 1 "re:-o|'o'" "${M[@]}" -o
bad "-N without a value" 1 "re:-N|'N'" "${M[@]}" -o "$FULL" -N
bad "-t ext4" 1 "ext4" "${M[@]}" -t ext4 -o "$FULL"
bad "-t cfsoverlayfoo (prefix only)" 1 "cfsoverlayfoo" "${M[@]}" -t cfsoverlayfoo -o "$FULL"
bad "-N nonexistent path" 1 "$WORK/nope-ns" -N "$WORK/nope-ns" "${M[@]}" -o "$FULL"
bad "-N PID that does not exist" 1 "$DEADPID" -N "$DEADPID" "${M[@]}" -o "$FULL"
bad "-N regular file" 1 "$WORK/notns" -N "$WORK/notns" "${M[@]}" -o "$FULL"
bad "-N user namespace, not a mount namespace" 1 "/proc/$$/ns/user" -N "/proc/$$/ns/user" "${M[@]}" -o "$FULL"
bad "-N 0" 1 "-N 0" -N 0 "${M[@]}" -o "$FULL"
bad "-N -5" 1 "-5" -N -5 "${M[@]}" -o "$FULL"

# --- lowerdir, upperdir, workdir, target ---------------------------------------
bad "no options at all" 1 "lowerdir" "${M[@]}"
bad "empty -o" 1 "lowerdir" "${M[@]}" -o ""
bad "missing lowerdir" 1 "lowerdir" "${M[@]}" -o "$UW,cfs.tmpdir=$TMPB"
bad "empty lowerdir" 1 "lowerdir" "${M[@]}" -o "lowerdir=,$UW"
bad "later empty lowerdir= wins" 1 "lowerdir" "${M[@]}" -o "$FULL,lowerdir="
bad "lowerdir with an empty layer (trailing :)" 1 "lowerdir" "${M[@]}" -o "lowerdir=$L1:,$UW"
bad "lowerdir starting with ::" 1 "lowerdir" "${M[@]}" -o "lowerdir=::$L1,$UW"
bad "one lower and no upperdir" 1 "two lower" "${M[@]}" -o "lowerdir=$L1"
bad "upperdir without workdir" 1 "workdir" "${M[@]}" -o "lowerdir=$L1:$L2,upperdir=$WORK/u"
bad "workdir without upperdir" 1 "upperdir" "${M[@]}" -o "lowerdir=$L1:$L2,workdir=$WORK/w"
bad "non-existent lower" 32 "$WORK/nope" "${M[@]}" -o "lowerdir=$WORK/nope:$L1,$UW"
bad "second lower missing, idmapped, new" 32 "$WORK/nope" "${M[@]}" -o "lowerdir=$L1:$WORK/nope,$UW,$IDM,cfs.api=new"
bad "second lower missing, idmapped, legacy" 32 "$WORK/nope" "${M[@]}" -o "lowerdir=$L1:$WORK/nope,$UW,$IDM,$LEGACY"
bad "lower is a dangling symlink" 32 "$LOW/dangling" "${M[@]}" -o "lowerdir=$LOW/dangling:$L1,$UW"
bad "lower is a fifo" 32 "$LOW/fifo" "${M[@]}" -o "lowerdir=$LOW/fifo:$L1,$UW"
# Legacy tries mount(2) with plain layers as given and looks at each only when
# overlay refuses: the message must still name the layer.
bad "non-existent lower (legacy)" 32 "$WORK/nope" "${M[@]}" -o "lowerdir=$L1:$WORK/nope,$UW,$LEGACY"
bad "lower is a fifo (legacy)" 32 "$LOW/fifo" "${M[@]}" -o "lowerdir=$L1:$LOW/fifo,$UW,$LEGACY"
bad "lower is one 100 KB path" 32 "${LONGPATH:0:200}" "${M[@]}" -o "lowerdir=$LONGPATH:$L1,$UW"
bad "501 layers" 1 "500" "${M[@]}" -o "lowerdir=$(lowerdir_of 501 "$LOW/L"),$UW"
bad "non-existent upperdir" 32 "$WORK/nope-u" "${M[@]}" -o "lowerdir=$L1:$L2,upperdir=$WORK/nope-u,workdir=$WORK/w"
bad "non-existent workdir" 32 "$WORK/nope-w" "${M[@]}" -o "lowerdir=$L1:$L2,upperdir=$WORK/u,workdir=$WORK/nope-w"
for api in new legacy; do
	bad "upperdir is a regular file ($api)" 32 "$WORK/file" "${M[@]}" -o "lowerdir=$L1:$L2,upperdir=$WORK/file,workdir=$WORK/w,cfs.api=$api"
	bad "upperdir on a read-only filesystem ($api)" 32 "re:read-only|Read-only" "${M[@]}" -o "lowerdir=$L1:$L2,upperdir=$FIX/ro/u,workdir=$FIX/ro/w,cfs.api=$api"
	bad "workdir on another filesystem than upperdir ($api)" 32 "$FIX/other/w" "${M[@]}" -o "lowerdir=$L1:$L2,upperdir=$WORK/u,workdir=$FIX/other/w,cfs.api=$api"
	bad "upperdir is also a lower layer ($api)" 32 "$WORK/u" "${M[@]}" -o "lowerdir=$WORK/u:$L2,$UW,cfs.api=$api"
done
bad "target missing" 32 "$WORK/missing" overlay "$WORK/missing" -o "$FULL"
bad "target a regular file" 32 "$WORK/file" overlay "$WORK/file" -o "$FULL"
bad "bind of a nonexistent source" 32 "$WORK/nope-src" "$WORK/nope-src" "$WORK/m" -o bind
bad "remount of a target that is not mounted" 32 "$WORK/m" "${M[@]}" -o remount,ro

# --- idmaps -------------------------------------------------------------------
bad "uidmap with letters" 1 "uidmap" "${M[@]}" -o "$FULL,uidmap=a:b:c,gidmap=0:100000:65536"
bad "uidmap negative" 1 "-1:100000:65536" "${M[@]}" -o "$FULL,uidmap=-1:100000:65536,gidmap=0:100000:65536"
bad "gidmap missing a field" 1 "gidmap" "${M[@]}" -o "$FULL,uidmap=0:100000:65536,gidmap=0:100000"
bad "uidmap size 0" 1 "uidmap" "${M[@]}" -o "$FULL,uidmap=0:100000:0,gidmap=0:100000:65536"
bad "uidmap container ids wrap past 2^32-1" 1 "uidmap" "${M[@]}" -o "$FULL,uidmap=4294967295:0:2,gidmap=0:100000:65536"
bad "gidmap host ids wrap past 2^32-1" 1 "gidmap" "${M[@]}" -o "$FULL,uidmap=0:100000:65536,gidmap=0:4294967290:10"
bad "uidmap number past 2^32-1" 1 "uidmap" "${M[@]}" -o "$FULL,uidmap=4294967296:0:1,gidmap=0:100000:65536"
bad "uidmap container ranges overlap" 1 "overlap" "${M[@]}" -o "$FULL,uidmap=\"0:100000:1000 500:200000:10\",gidmap=0:100000:65536"
bad "gidmap host ranges overlap" 1 "overlap" "${M[@]}" -o "$FULL,uidmap=0:100000:65536,gidmap=\"0:100000:1000 2000:100500:10\""
bad "uidmap with a trailing colon" 1 "uidmap" "${M[@]}" -o "$FULL,uidmap=0:100000:65536:,gidmap=0:100000:65536"
bad "uidmap with an unbalanced quote" 1 "uidmap" "${M[@]}" -o "$FULL,uidmap=\"0:100000:65536,gidmap=0:100000:65536"
bad "uidmap of 100 KB (too many ranges)" 1 "uidmap" "${M[@]}" -o "$FULL,uidmap=\"$LONGMAP\",gidmap=0:100000:65536"
bad "uidmap with a 100 KB number" 1 "uidmap" "${M[@]}" -o "$FULL,uidmap=$LONGNUM:0:1,gidmap=0:100000:65536"
bad "uidmap without gidmap" 1 "gidmap" "${M[@]}" -o "$FULL,uidmap=0:100000:65536"
bad "gidmap without uidmap" 1 "uidmap" "${M[@]}" -o "$FULL,gidmap=0:100000:65536"
bad "cfs.userns with uidmap" 1 "cfs.userns" "${M[@]}" -o "$FULL,$IDM,cfs.userns=/proc/$$/ns/user"
bad "cfs.userns a regular file" 1 "$WORK/notns" "${M[@]}" -o "$FULL,cfs.userns=$WORK/notns"
bad "cfs.userns a mount namespace" 1 "/proc/$$/ns/mnt" "${M[@]}" -o "$FULL,cfs.userns=/proc/$$/ns/mnt"
bad "cfs.userns nonexistent" 1 "$WORK/nope-ns" "${M[@]}" -o "$FULL,cfs.userns=$WORK/nope-ns"
bad "idmap of a filesystem without idmapped mounts (sysfs)" 32 "/sys/kernel/mm" "${M[@]}" -o "lowerdir=/sys/kernel/mm:$L1,$UW,$IDM,cfs.tmpdir=$TMPB"

# --- image layers ---------------------------------------------------------------
bad "regular file that is not a filesystem image" 32 "$LOW/img/notfs.bin" "${M[@]}" -o "lowerdir=$LOW/img/notfs.bin:$L1,$UW"
bad "empty file as a layer" 32 "$LOW/img/empty.img" "${M[@]}" -o "lowerdir=$LOW/img/empty.img:$L1,$UW"
bad "direct-io with no image layer" 1 "direct-io" "${M[@]}" -o "$FULL,direct-io"
if [ -n "$HAVE_SQUASHFS" ]; then
	bad "truncated squashfs image" 32 "$LOW/img/trunc.sqfs" "${M[@]}" -o "lowerdir=$LOW/img/trunc.sqfs:$L1,$UW"
else
	skip_case "truncated squashfs image" "mksquashfs is not installed (squashfs-tools)"
fi
if [ -n "$HAVE_EROFS" ]; then
	bad "erofs image, then a missing layer" 32 "$WORK/nope" "${M[@]}" -o "lowerdir=$LOW/img/good.erofs:$WORK/nope,$UW"
	if probe_new_api_layer_fds; then
		bad "erofs image, kernel rejects index=bogus (new)" 32 "index=bogus" "${M[@]}" -o "lowerdir=$LOW/img/good.erofs:$L1,$UW,index=bogus,cfs.api=new"
	else
		skip_case "erofs image, kernel rejects index=bogus (new)" "$PROBE_REASON"
	fi
	bad "erofs image, then a missing layer (legacy)" 32 "$WORK/nope" "${M[@]}" -o "lowerdir=$LOW/img/good.erofs:$WORK/nope,$UW,$LEGACY"
	bad "erofs image, kernel rejects index=bogus (legacy)" 32 "index=bogus" "${M[@]}" -o "lowerdir=$LOW/img/good.erofs:$L1,$UW,index=bogus,$LEGACY"
	bad "erofs image idmapped, kernel rejects index=bogus (legacy)" 32 "index=bogus" "${M[@]}" -o "lowerdir=$LOW/img/good.erofs:$L1,$UW,index=bogus,$IDM,$LEGACY"
else
	for c in "erofs image, then a missing layer" "erofs image, kernel rejects index=bogus (new)" \
		"erofs image, then a missing layer (legacy)" "erofs image, kernel rejects index=bogus (legacy)" \
		"erofs image idmapped, kernel rejects index=bogus (legacy)"; do
		skip_case "$c" "mkfs.erofs is not installed (erofs-utils)"
	done
fi

# --- overlay options the kernel rejects ------------------------------------------
if probe_new_api_layer_fds; then
	bad "index=bogus (new)" 32 "index=bogus" "${M[@]}" -o "$FULL,index=bogus,cfs.api=new"
	bad "redirect_dir=bogus (new)" 32 "redirect_dir" "${M[@]}" -o "$FULL,redirect_dir=bogus,cfs.api=new"
	bad "unknown overlay option (new)" 32 "bogusopt" "${M[@]}" -o "$FULL,bogusopt=1,cfs.api=new"
else
	for c in "index=bogus (new)" "redirect_dir=bogus (new)" "unknown overlay option (new)"; do
		skip_case "$c" "$PROBE_REASON"
	done
fi
bad "index=bogus, idmapped (legacy)" 32 "index=bogus" "${M[@]}" -o "$FULL,index=bogus,$IDM,$LEGACY"
bad "redirect_dir=bogus (legacy)" 32 "redirect_dir" "${M[@]}" -o "$FULL,redirect_dir=bogus,$LEGACY"
bad "unknown overlay option (legacy)" 32 "bogusopt" "${M[@]}" -o "$FULL,bogusopt=1,$LEGACY"

# --- helper options ---------------------------------------------------------------
bad "cfs.api=bogus" 1 "cfs.api=bogus" "${M[@]}" -o "$FULL,cfs.api=bogus"
bad "unknown cfs. option" 1 "cfs.bogus" "${M[@]}" -o "$FULL,cfs.bogus=1"
bad "cfs.tmpdir empty" 1 "cfs.tmpdir" "${M[@]}" -o "$FULL,$IDM,cfs.api=legacy,cfs.tmpdir="
no_rel_dir() { [ ! -e "$WORK/rel-tmp" ] || echo "created $WORK/rel-tmp"; }
extra_check=no_rel_dir
bad "cfs.tmpdir relative" 1 "cfs.tmpdir" "${M[@]}" -o "lowerdir=$L1:$L2,$UW,$IDM,cfs.api=legacy,cfs.tmpdir=rel-tmp"
extra_check=true
real_empty() { [ -z "$(ls -A "$TBASE/real")" ] || echo "used the symlink's target: $(ls -A "$TBASE/real")"; }
extra_check=real_empty
bad "cfs.tmpdir a symlink" 1 "$TBASE/link" "${M[@]}" -o "lowerdir=$L1:$L2,$UW,$IDM,cfs.api=legacy,cfs.tmpdir=$TBASE/link"
extra_check=true
bad "cfs.tmpdir owned by another user" 1 "$TBASE/foreign" "${M[@]}" -o "lowerdir=$L1:$L2,$UW,$IDM,cfs.api=legacy,cfs.tmpdir=$TBASE/foreign"
bad "cfs.tmpdir mode 0755" 1 "$TBASE/open" "${M[@]}" -o "lowerdir=$L1:$L2,$UW,$IDM,cfs.api=legacy,cfs.tmpdir=$TBASE/open"
bad "cfs.tmpdir a regular file" 1 "$TBASE/file" "${M[@]}" -o "lowerdir=$L1:$L2,$UW,$IDM,cfs.api=legacy,cfs.tmpdir=$TBASE/file"
bad "user option refused" 1 "user" "${M[@]}" -o "$FULL,user"
bad "users option refused" 1 "users" "${M[@]}" -o "$FULL,users"
bad "owner option refused" 1 "owner" "${M[@]}" -o "$FULL,owner"

# --- issue 13: what a local user near a mountpoint or the temp location could use --
# Namespace files are opened without blocking: a FIFO is answered at once
# (timeout only guards against a hang; the exit code is what is asserted).
mkfifo "$WORK/nsfifo"
bad_as mount.cfsoverlay "cfs.userns a FIFO" 1 "$WORK/nsfifo is a FIFO" \
	timeout 10 "$MOUNT_HELPER" "${M[@]}" -o "$FULL,cfs.userns=$WORK/nsfifo"
bad_as mount.cfsoverlay "-N a FIFO" 1 "$WORK/nsfifo is a FIFO" \
	timeout 10 "$MOUNT_HELPER" -N "$WORK/nsfifo" "${M[@]}" -o "$FULL"
bad "cfs.userns a directory" 1 "$LOW is a directory" "${M[@]}" -o "$FULL,cfs.userns=$LOW"
bad "-N a directory" 1 "$LOW is a directory" -N "$LOW" "${M[@]}" -o "$FULL"
bad "cfs.userns the initial user namespace" 1 "initial user namespace" "${M[@]}" -o "$FULL,cfs.userns=/proc/self/ns/user"
# A user namespace without maps, held by a child that says when it is in it.
mkfifo "$WORK/nsready" "$WORK/nshold"
unshare -U sh -c 'echo ready; read -r _ <"$0"' "$WORK/nshold" >"$WORK/nsready" &
NOMAP_PID=$!
read -r _ <"$WORK/nsready"
bad "cfs.userns without uid and gid maps" 1 "/proc/$NOMAP_PID/ns/user has no uid or gid map" \
	"${M[@]}" -o "$FULL,cfs.userns=/proc/$NOMAP_PID/ns/user"
echo >"$WORK/nshold"
wait "$NOMAP_PID"
NOMAP_PID=
rm -f "$WORK/nsfifo" "$WORK/nsready" "$WORK/nshold"

# Layers come only from lowerdir=: none may reach overlay around the idmap.
bad "lowerdir+ in the options" 1 "lowerdir+=$L2" "${M[@]}" -o "lowerdir=$L1:$L2,$UW,$IDM,lowerdir+=$L2"
bad "datadir+ in the options" 1 "datadir+=$L2" "${M[@]}" -o "lowerdir=$L1:$L2,$UW,datadir+=$L2"
# Kernel limits found before any work: 255 bytes of fsconfig source, one page of map.
printf -v SRC256 '%*s' 256 ''
SRC256=${SRC256// /s}
bad "SOURCE of 256 bytes" 1 "at most 255" "$SRC256" "$WORK/m" -o "$FULL"
PAGEMAP=
for ((i = 0; i < 171; i++)); do PAGEMAP+="$((1000000000 + i)):$((3000000000 + i)):1 "; done
bad "uidmap of 171 ranges of 10-digit ids (over one page of text)" 1 "one page" \
	"${M[@]}" -o "$FULL,uidmap=\"${PAGEMAP% }\",gidmap=0:100000:65536"
# A message stays one line and short whatever the path or option holds.
bad "mount point with a newline" 32 "$WORK/no\\nsuch" overlay "$WORK/no"$'\n'"such" -o "$FULL"
printf -v LONGTMP '%*s' 5000 ''
LONGTMP=$WORK/${LONGTMP// /t}
bad "cfs.tmpdir of 5000 bytes" 1 "re:cfs\.tmpdir=$WORK/t+\.\.\." "${M[@]}" -o "lowerdir=$L1:$L2,$UW,$IDM,cfs.api=legacy,cfs.tmpdir=$LONGTMP"
check "cfs.tmpdir of 5000 bytes: the message is cut (${#last_err} bytes)" test "${#last_err}" -lt 600
# libmount's own codes have a text: the utab lock file cannot be made.
mkdir "$LIBMOUNT_UTAB.lock"
bad_as mount.cfsoverlay "utab lock cannot be taken" 16 "cannot lock utab" "$MOUNT_HELPER" "${M[@]}" -o "$FULL"
rmdir "$LIBMOUNT_UTAB.lock"
# Only exhaustion is "no free loop device"; EIO is the loop driver failing.
if [ -n "$HAVE_EROFS" ]; then
	# A loop device even where erofs mounts file-backed.
	export CFSOVERLAY_FORCE_LOOP=1
	bad_as mount.cfsoverlay "EIO from LOOP_CTL_GET_FREE" 32 "re:cannot get a loop device .*Input/output error" \
		strace -f -qq -o /dev/null -e trace=ioctl -e inject=ioctl:error=EIO:when=1 \
		"$MOUNT_HELPER" "${M[@]}" -o "lowerdir=$LOW/img/good.erofs:$L1,$UW"
	unset CFSOVERLAY_FORCE_LOOP
else
	skip_case "EIO from LOOP_CTL_GET_FREE" "mkfs.erofs (erofs-utils) is not installed"
fi
# The temp location: every directory above the base is root's and closed.
mkdir -m 1777 "$TBASE/sticky"
mkdir -m 0775 "$TBASE/grpw"
mkdir -m 0755 "$TBASE/users"
chown 65534:65534 "$TBASE/users"
mkdir -m 0700 "$TBASE/sticky/base" "$TBASE/grpw/base" "$TBASE/users/base"
baseline
bad "cfs.tmpdir below a sticky directory" 1 "$TBASE/sticky is unsafe: it is writable by others (sticky" \
	"${M[@]}" -o "lowerdir=$L1:$L2,$UW,$IDM,cfs.api=legacy,cfs.tmpdir=$TBASE/sticky/base"
bad "cfs.tmpdir below a group-writable directory" 1 "$TBASE/grpw is unsafe: it is writable by others" \
	"${M[@]}" -o "lowerdir=$L1:$L2,$UW,$IDM,cfs.api=legacy,cfs.tmpdir=$TBASE/grpw/base"
bad "cfs.tmpdir below a user's directory" 1 "$TBASE/users is unsafe: it is not owned by root" \
	"${M[@]}" -o "lowerdir=$L1:$L2,$UW,$IDM,cfs.api=legacy,cfs.tmpdir=$TBASE/users/base"
# The mount point: no symlink followed where a user could have planted it.
mkdir -m 0755 "$WORK/userdir"
chown 65534:65534 "$WORK/userdir"
ln -s "$WORK/m" "$WORK/userdir/lnk"
bad "mount point through a symlink in a user's directory" 32 "$WORK/userdir/lnk is a symlink in a directory that users other than root can write" \
	overlay "$WORK/userdir/lnk" -o "$FULL"

# --- through mount(8): its wrapper adds nothing to the one line -----------------
bad_as mount.cfsoverlay "mount(8), bad uidmap" 1 "uidmap" \
	mount -t cfsoverlay overlay "$WORK/m" -o "$FULL,uidmap=0:x:1,gidmap=0:100000:65536"
bad_as mount.cfsoverlay "mount(8), non-existent lower" 32 "$WORK/nope" \
	mount -t cfsoverlay overlay "$WORK/m" -o "lowerdir=$WORK/nope:$L1,$UW"

# --- umount.cfsoverlay ------------------------------------------------------------
ubad "no argument" 1 "TARGET"
ubad "two arguments" 1 "$WORK/u" "$WORK/m" "$WORK/u"
ubad "unknown long flag" 1 "--bogus" --bogus "$WORK/m"
ubad "unknown short flag" 1 "re:-Z|'Z'" -Z "$WORK/m"
ubad "-N without a value" 1 "re:-N|'N'" "$WORK/m" -N
ubad "not mounted" 32 "$WORK/m" "$WORK/m"
ubad "regular file, not mounted" 32 "$WORK/file" "$WORK/file"
ubad "nonexistent path" 32 "$WORK/nope" "$WORK/nope"
ubad "-N nonexistent path" 1 "$WORK/nope-ns" -N "$WORK/nope-ns" "$WORK/m"
ubad "-N PID that does not exist" 1 "$DEADPID" -N "$DEADPID" "$WORK/m"
ubad "-N regular file" 1 "$WORK/notns" -N "$WORK/notns" "$WORK/m"

# --- a live mount that bad umount invocations and unprivileged callers must
# leave mounted and intact ------------------------------------------------------
mkdir -p live lu lw
LIVE_OK=
"$MOUNT_HELPER" overlay "$WORK/live" -o "lowerdir=$L1:$L2,upperdir=$WORK/lu,workdir=$WORK/lw" && LIVE_OK=1
KEEP=$WORK/live
live_intact() {
	mountpoint -q "$WORK/live" && [ "$(cat "$WORK/live/a" "$WORK/live/b" 2>/dev/null)" = "$(printf 'one\ntwo')" ] ||
		echo "$WORK/live is no longer mounted with both layers"
	grep -q "TARGET=$WORK/live " "$LIBMOUNT_UTAB" 2>/dev/null || echo "utab line of $WORK/live gone"
}
extra_check=live_intact
if [ -n "$LIVE_OK" ]; then
	ubad "live mount: two arguments" 1 "$WORK/m" "$WORK/live" "$WORK/m"
	ubad "live mount: -N nonexistent path" 1 "$WORK/nope-ns" -N "$WORK/nope-ns" "$WORK/live"
	ubad "live mount: -N PID that does not exist" 1 "$DEADPID" -N "$DEADPID" "$WORK/live"
	ubad "live mount: -N regular file" 1 "$WORK/notns" -N "$WORK/notns" "$WORK/live"
	ubad "live mount: unknown flag" 1 "--bogus" --bogus "$WORK/live"
else
	for c in "two arguments" "-N nonexistent path" "-N PID that does not exist" "-N regular file" "unknown flag"; do
		skip_case "live mount: $c" "could not mount $WORK/live to start from"
	done
fi

# Callers without privilege: a user other than root (also the real uid of a
# setuid mount(8) running an fstab "user" entry), and root without
# CAP_SYS_ADMIN.  Exit 1, one line saying why, nothing done.
IMGL=$L1
[ -n "$HAVE_EROFS" ] && IMGL=$LOW/img/good.erofs
BUSY="lowerdir=$IMGL:$L2,$UW,$IDM,$LEGACY" # would make a user namespace, a loop device, temp mounts
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# real uid 65534, effective uid 0 with full capabilities: what a setuid program leaves
as_setuid() { python3 -c 'import os, sys; os.setresuid(65534, 0, 0); os.execv(sys.argv[1], sys.argv[1:])' "$@"; }
as_capsh() { capsh --drop=cap_sys_admin -- -c 'exec "$0" "$@"' "$@"; }
as_bounded() { setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin "$@"; }
CALLERS=()
if as_nobody test -x "$MOUNT_HELPER" 2>/dev/null; then
	CALLERS+=("nobody (setpriv)|real uid|as_nobody")
else
	skip_case "nobody (setpriv)" "setpriv missing or $MOUNT_HELPER not executable by uid 65534"
fi
if command -v python3 >/dev/null; then
	CALLERS+=("real uid nobody, effective root|real uid|as_setuid")
else
	skip_case "real uid nobody, effective root" "python3 is not installed (needed to call setresuid)"
fi
if command -v capsh >/dev/null; then
	CALLERS+=("root without CAP_SYS_ADMIN (capsh)|CAP_SYS_ADMIN|as_capsh")
else
	skip_case "root without CAP_SYS_ADMIN (capsh)" "capsh is not installed (libcap2-bin)"
fi
CALLERS+=("root without CAP_SYS_ADMIN (setpriv)|CAP_SYS_ADMIN|as_bounded")
for caller in "${CALLERS[@]}"; do
	IFS='|' read -r who why wrap <<<"$caller"
	bad_as mount.cfsoverlay "$who: mount" 1 "$why" "$wrap" "$MOUNT_HELPER" overlay "$WORK/m" -o "$FULL"
	bad_as mount.cfsoverlay "$who: idmapped legacy mount of an image" 1 "$why" "$wrap" "$MOUNT_HELPER" overlay "$WORK/m" -o "$BUSY"
	bad_as mount.cfsoverlay "$who: -N into a namespace" 1 "$why" "$wrap" "$MOUNT_HELPER" -N "/proc/$$/ns/mnt" overlay "$WORK/m" -o "$FULL"
	if [ -n "$LIVE_OK" ]; then
		bad_as umount.cfsoverlay "$who: umount of a live mount" 1 "$why" "$wrap" "$UMOUNT_HELPER" "$WORK/live"
	else
		skip_case "$who: umount of a live mount" "could not mount $WORK/live to start from"
	fi
done
if su nobody -s /bin/sh -c "test -x '$MOUNT_HELPER'" 2>/dev/null; then
	bad_as mount.cfsoverlay "nobody (su): idmapped legacy mount of an image" 1 "real uid" \
		su nobody -s /bin/sh -c "exec '$MOUNT_HELPER' overlay '$WORK/m' -o '$BUSY'"
else
	skip_case "nobody (su)" "su missing or $MOUNT_HELPER not executable by nobody"
fi
extra_check=true
KEEP=
if [ -n "$LIVE_OK" ]; then
	expect_rc "live mount: umount.cfsoverlay still works" 0 "$UMOUNT_HELPER" "$WORK/live"
else
	not_ok "live mount: umount.cfsoverlay still works"
	diag "the mount to start from failed"
fi

umount "$FIX/ro" "$FIX/other"
diag "$n_bad bad inputs tried"
assert_clean "badinput" "$TMPB"
done_testing

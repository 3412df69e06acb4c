#!/bin/bash
# umount.cfsoverlay against a local user who races it (issue 13, items 1, 2
# and 5): real races, with an unprivileged attacker (tests/race_umount run as
# a numeric uid with no user behind it) spinning renames while the helper
# unmounts and replaces the mountpoint.  A win is a root-owned directory
# chowned or chmoded, a directory outside the target replaced (inode changed),
# root acting in the attacker's directory, or the target missing after a
# round.  Then a SIGKILL at every syscall of the cleanup: the mountpoint is
# always there, with its owner and mode.
. "$(dirname "$0")/lib.sh"
setup "$@"

ROUNDS=${CFS_RACE_ROUNDS:-200}
ATT=${CFS_RACE_UID:-64123} # no user has it: nothing to create or remove
RACE=$CFS_BUILDDIR/tests/race_umount
[ -x "$RACE" ] || skip_all "$RACE is not built (make check builds it)"
command -v setpriv >/dev/null || skip_all "setpriv(1) missing"
command -v strace >/dev/null || skip_all "strace(1) missing"
getent passwd "$ATT" >/dev/null && skip_all "uid $ATT belongs to a user here: set CFS_RACE_UID to a free one"

mkdir -p l1 l2
echo one >l1/a
echo two >l2/b
OPTS="lowerdir=$WORK/l1:$WORK/l2"
# The attacker reaches its area through the root 0700 work directory; the
# trap of lib.sh removes the work directory with the area.
chmod 0711 "$WORK"
ARENA=$WORK/arena
mkdir -m 0755 "$ARENA"
cp "$RACE" "$ARENA/race"
chmod 0755 "$ARENA/race"
READY=$ARENA/ready

ATTACKER_PID=
stop_attacker() {
	[ -n "$ATTACKER_PID" ] || return 0
	kill -TERM "$ATTACKER_PID" 2>/dev/null
	wait "$ATTACKER_PID" 2>/dev/null
	ATTACKER_PID=
}
# Each round's umount starts once the attacker has swapped at least once:
# the attacker says so through a FIFO, no sleep.
start_attacker() {
	rm -f "$READY"
	mkfifo "$READY"
	setpriv --reuid="$ATT" --regid="$ATT" --clear-groups "$ARENA/race" "$@" >"$READY" &
	ATTACKER_PID=$!
	read -r _ <"$READY"
}
unmount_under() {
	local m
	findmnt -rn -o TARGET | grep -F "$1/" | sort -r | while read -r m; do
		"$UMOUNT_HELPER" "$m" 2>/dev/null || umount -l "$m"
	done
}
# umount_raced AREA TARGET MODE X Y: mounts TARGET, then unmounts it while the
# attacker swaps X and Y in AREA its way (MODE); an umount that fails or
# leaves a mount in AREA counts as refused.  Fails when the mount itself did.
umount_raced() {
	local area=$1 target=$2 rc
	if ! "$MOUNT_HELPER" overlay "$target" -o "$OPTS"; then
		win "the mount itself failed, the round proves nothing"
		return 1
	fi
	start_attacker "$3" "$area" "$4" "$5"
	"$UMOUNT_HELPER" "$target" 2>/dev/null
	rc=$?
	stop_attacker
	if [ "$rc" -ne 0 ] || findmnt -rn -o TARGET | grep -qF "$area/"; then
		refused=$((refused + 1))
		unmount_under "$area"
	fi
	return 0
}
trap 'stop_attacker; cleanup_work' EXIT
owner_mode() { stat -c '%u:%g %a' "$1"; }
lowers_before="$(owner_mode l1) $(owner_mode l2) $(stat -c %i l1 l2 | tr '\n' ' ')"

# How many rounds replaced the mountpoint depends on how the race went: it is
# printed, not checked (section 3 checks the replacement without an attacker).

# --- 1. the attacker owns the parent and the mountpoint ------------------------
# It swaps the mountpoint, and every temp name the helper makes next to it,
# with R, a root 0700 directory holding a root 0600 file.  The helper acts as
# the owner there, so nothing of root's can be chowned, chmoded or replaced.
P=$ARENA/p
wins=0 refused=0 replaced=0 kept=0
win() {
	wins=$((wins + 1))
	diag "round $r: WIN: $*"
}
for ((r = 1; r <= ROUNDS; r++)); do
	rm -rf --one-file-system "$P"
	mkdir -m 0755 "$P" "$P/m" && chown "$ATT:$ATT" "$P" "$P/m" && chmod 0750 "$P/m"
	mkdir -m 0700 "$P/R" && echo secret >"$P/R/secret" && chmod 0600 "$P/R/secret"
	rino=$(stat -c %i "$P/R")
	mino=$(stat -c %i "$P/m")
	umount_raced "$P" "$P/m" exchange m R || continue
	where=$(find "$P" -xdev -inum "$rino")
	if [ -z "$where" ]; then
		win "root's directory R was replaced"
	else
		[ "$(owner_mode "$where")" = "0:0 700" ] || win "R is now $(owner_mode "$where")"
		[ "$(owner_mode "$where/secret")" = "0:0 600" ] && [ "$(cat "$where/secret")" = secret ] ||
			win "R/secret is now $(owner_mode "$where/secret")"
	fi
	[ -d "$P/m" ] && [ ! -L "$P/m" ] || win "the target is missing"
	made=$(find "$P" -xdev -user 0 -type d ! -inum "$rino")
	[ -z "$made" ] || win "root made a directory in the attacker's one: $made"
	if [ -n "$(find "$P" -xdev -maxdepth 1 -inum "$mino")" ]; then
		kept=$((kept + 1))
	else
		replaced=$((replaced + 1))
	fi
done
unmount_under "$P"
diag "owner's parent: $ROUNDS rounds, $wins wins, $replaced mountpoints replaced, $kept kept, $refused umounts refused"
check "owner's parent: $ROUNDS rounds against renameat2(RENAME_EXCHANGE), 0 wins ($wins)" [ "$wins" -eq 0 ]

# --- 2. the attacker swaps an ancestor for a symlink ---------------------------
# Q is the attacker's; Q/A (the mountpoint's parent) and everything under it
# are root's, and so is Q/decoy/m, an empty directory that Q/B, a symlink,
# leads to.  The attacker swaps A and B: a re-walk of the path after the
# unmount would replace decoy/m.
Q=$ARENA/q
rm -rf "$Q"
mkdir -m 0755 "$Q" "$Q/A" "$Q/A/m" "$Q/decoy" "$Q/decoy/m"
ln -s decoy "$Q/B"
chown "$ATT:$ATT" "$Q"
chown -h "$ATT:$ATT" "$Q/B"
ids() { stat -c '%i %u:%g %a' "$Q/A" "$Q/decoy" "$Q/decoy/m" | tr '\n' ' '; }
before=$(ids)
wins=0 refused=0 replaced=0 kept=0
for ((r = 1; r <= ROUNDS; r++)); do
	mino=$(stat -c %i "$Q/A/m")
	umount_raced "$Q" "$Q/A/m" symlink A B || continue
	now=$(ids)
	if [ "$now" != "$before" ]; then
		win "outside the target: $before -> $now"
		before=$now # count each win once
	fi
	[ -d "$Q/A/m" ] && [ ! -L "$Q/A" ] || win "the target is missing"
	[ -z "$(ls -A "$Q/decoy/m")" ] || win "something appeared in decoy/m"
	if [ "$(stat -c %i "$Q/A/m")" = "$mino" ]; then kept=$((kept + 1)); else replaced=$((replaced + 1)); fi
done
unmount_under "$Q"
diag "ancestor symlink: $ROUNDS rounds, $wins wins, $replaced mountpoints replaced, $kept kept, $refused umounts refused"
check "ancestor symlink: $ROUNDS rounds against an ancestor swapped for a symlink, 0 wins ($wins)" [ "$wins" -eq 0 ]
check "the layers are untouched" [ "$(owner_mode l1) $(owner_mode l2) $(stat -c %i l1 l2 | tr '\n' ' ')" = "$lowers_before" ]

# --- 3. what the replacement copies -------------------------------------------
# Owner, mode, times, user.* xattrs and POSIX ACLs, in a root-only parent (root
# acts) and in a parent of the directory's owner (the owner acts).
# POSIX ACLs as stored: version 2; user::rwx user:1234:rwx group::r-x mask::rwx
# other::--x, and a default ACL user::rwx group::r-x other::---.
ACL=0200000001000700ffffffff02000700d204000004000500ffffffff10000700ffffffff20000100ffffffff
DACL=0200000001000700ffffffff04000500ffffffff20000000ffffffff
HAVE_XATTRS=yes
# make_target DIR OWNER: DIR/m with that owner, xattrs, ACLs, mode 2751, an mtime.
make_target() {
	mkdir "$1/m"
	chown "$2" "$1/m"
	"$ARENA/race" setx "$1/m" user.cfs-test 68656c6c6f 2>/dev/null &&
		"$ARENA/race" setx "$1/m" system.posix_acl_access "$ACL" 2>/dev/null &&
		"$ARENA/race" setx "$1/m" system.posix_acl_default "$DACL" 2>/dev/null || HAVE_XATTRS=no
	chmod 2751 "$1/m"
	touch -d '2001-02-03 04:05:06.789' "$1/m"
}
attrs_of() {
	local x
	stat -c '%u:%g %a %y' "$1"
	[ "$HAVE_XATTRS" = yes ] || return 0
	for x in user.cfs-test system.posix_acl_access system.posix_acl_default; do
		"$ARENA/race" getx "$1" "$x"
	done
}
K=$WORK/kill
O=$ARENA/own
mkdir -m 0755 "$K" "$O"
chown "$ATT:$ATT" "$O"
make_target "$K" 1234:5678
make_target "$O" "$ATT:$ATT"
for d in "$K" "$O"; do
	[ "$d" = "$K" ] && who="root-only parent" || who="owner's parent"
	want=$(attrs_of "$d/m")
	ino=$(stat -c %i "$d/m")
	"$MOUNT_HELPER" overlay "$d/m" -o "$OPTS"
	expect_rc "[$who] umount.cfsoverlay -v" 0 "$UMOUNT_HELPER" -v "$d/m"
	check "[$who] the mountpoint was replaced (new inode)" [ "$(stat -c %i "$d/m")" != "$ino" ]
	got=$(attrs_of "$d/m")
	check "[$who] owner, mode, mtime$([ "$HAVE_XATTRS" = yes ] && echo ", user.* xattr, access and default ACLs") kept" [ "$got" = "$want" ]
	[ "$got" = "$want" ] || diag "want: $(echo $want) got: $(echo $got)"
	check "[$who] no temp directory left" [ -z "$(ls -A "$d" | grep -v '^m$')" ]
done
[ "$HAVE_XATTRS" = yes ] || skip "xattrs and ACLs kept" "the filesystem of $WORK takes no user.* xattrs or ACLs"
check "in the owner's parent the owner acted" grep -q "replaced $O/m by a fresh copy (as its owner, uid $ATT)" <<<"$last_err"

# --- 4. SIGKILL at every syscall of the cleanup --------------------------------
# strace kills the helper on entry to the Nth call of a syscall, for every N
# that a normal run makes: the mountpoint must be there afterwards, a
# directory with the same owner and mode.
SYSCALLS="statx fstatfs openat flistxattr fgetxattr getrandom mkdirat fchown fsetxattr fremovexattr fchmod utimensat newfstatat renameat renameat2 unlinkat umount2 setfsuid setfsgid"
for d in "$K" "$O"; do
	[ "$d" = "$K" ] && who="root-only parent" || who="owner's parent"
	"$MOUNT_HELPER" overlay "$d/m" -o "$OPTS"
	strace -f -qq -o "$WORK/trace" -e trace="${SYSCALLS// /,}" "$UMOUNT_HELPER" "$d/m"
	calls=0 kills=0 bad=0 temps=0 landed=" "
	want=$(owner_mode "$d/m")
	for sc in $SYSCALLS; do
		n=$(grep -c "^[0-9]* *$sc(" "$WORK/trace")
		for ((i = 1; i <= n; i++)); do
			calls=$((calls + 1))
			if ! "$MOUNT_HELPER" overlay "$d/m" -o "$OPTS"; then
				bad=$((bad + 1))
				diag "[$who] $sc #$i: the mount failed"
				continue
			fi
			{ strace -f -qq -o /dev/null -e inject="$sc:signal=SIGKILL:when=$i" "$UMOUNT_HELPER" "$d/m"; } 2>/dev/null
			[ $? -eq 137 ] && kills=$((kills + 1)) && landed+="$sc "
			# Killed before its umount2(): the overlay is still there, over
			# the directory.  The next umount must then do the whole job.
			mountpoint -q "$d/m" && "$UMOUNT_HELPER" "$d/m"
			if [ ! -d "$d/m" ] || [ -L "$d/m" ] || [ "$(owner_mode "$d/m")" != "$want" ]; then
				bad=$((bad + 1))
				diag "[$who] $sc #$i: the mountpoint is $(stat -c '%F %u:%g %a' "$d/m" 2>&1)"
			fi
			# What a kill after the umount2() leaves: its utab line, a temp directory.
			sed -i "\\|TARGET=$d/m |d" "$LIBMOUNT_UTAB"
			for t in "$d"/.cfs-umount-*; do
				[ -d "$t" ] && rmdir "$t" && temps=$((temps + 1))
			done
		done
	done
	diag "[$who] $calls calls of the cleanup's syscalls, $kills kills landed, $bad bad outcomes, $temps temp directories left by kills"
	check "[$who] a SIGKILL at any of $calls calls leaves the mountpoint as it was ($bad bad)" [ "$bad" -eq 0 ]
	# The counts can differ from the traced run where /run/cfsoverlay, shared
	# with every helper on the machine, holds something to clean: ask only
	# that each step of the replacement was hit.
	need="umount2 mkdirat fchown fsetxattr fchmod utimensat"
	[ "$d" = "$O" ] && need+=" setfsuid setfsgid"
	missed=
	for sc in $need; do [[ $landed == *" $sc "* ]] || missed+=" $sc"; done
	[[ $landed == *" renameat"* ]] || missed+=" renameat/renameat2"
	check "[$who] kills landed in every step of the replacement ($kills of $calls calls;${missed:- none} missed)" [ -z "$missed" ]
done

rm -f "$READY"
assert_clean "races_umount"
done_testing

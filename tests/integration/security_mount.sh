#!/bin/bash
# Security, the mount side (issue 13): a local user who owns a directory near
# a mountpoint or the temp location races mount.cfsoverlay with renames and
# symlinks, and gets nothing from root.
#
# The attacker is an unprivileged uid/gid with no account (setpriv) running
# tests/race_mount, which swaps a directory on the way to root's path with a
# symlink to a tree of its own (renameat2 RENAME_EXCHANGE) as fast as it can,
# while the helper mounts CFS_RACE_ROUNDS (200) times.  After each mount the
# attacker is stopped (SIGSTOP, then its state is read, no sleeping), the names
# are put back, and the round is judged.  A win: an overlay on a directory
# other than the requested one, a utab line whose path does not hold the
# overlay, the attacker's tree used (its files in the overlay, or as the temp
# location).  Expected: 0 wins.  The umount of each round runs with the
# attacker stopped: its own races are umount.cfsoverlay's (another test).
. "$(dirname "$0")/lib.sh"
setup "$@"

RACE=$CFS_BUILDDIR/tests/race_mount
ROUNDS=${CFS_RACE_ROUNDS:-200}
AUID=${CFS_RACE_UID:-64917}
IDM="uidmap=0:100000:65536,gidmap=0:100000:65536"
[ -x "$RACE" ] || skip_all "$RACE is not built (make check builds it)"
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) is missing"
getent passwd "$AUID" >/dev/null && skip_all "uid $AUID has an account: set CFS_RACE_UID to an unused one"

ATTACKER=
HOLDER=
stop_attacker() {
	[ -n "$ATTACKER" ] || return 0
	kill -KILL "$ATTACKER" 2>/dev/null
	wait "$ATTACKER" 2>/dev/null
	ATTACKER=
}
trap 'stop_attacker; [ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null; cleanup_work' EXIT

# The attacker must reach its area: WORK is root's 0700.
chmod 0711 "$WORK"
R=$WORK/race
mkdir -m 0755 "$R" "$R/l1" "$R/l2"
echo one >"$R/l1/f1"
echo two >"$R/l2/f2"

# start_attacker DIR NAME1 NAME2: swapping, once the first swap is done.
start_attacker() {
	local ready=$WORK/ready
	mkfifo "$ready"
	setpriv --reuid="$AUID" --regid="$AUID" --clear-groups "$RACE" "$1" "$2" "$3" >"$ready" &
	ATTACKER=$!
	read -r _ <"$ready"
	rm -f "$ready"
	kill -0 "$ATTACKER" 2>/dev/null
}
# Stopped means no exchange is half done: wait for that state, not for a time.
pause_attacker() {
	kill -STOP "$ATTACKER"
	while [ -e "/proc/$ATTACKER/status" ] &&
		! grep -q '^State:[[:space:]]*T' "/proc/$ATTACKER/status"; do :; done
}
resume_attacker() { kill -CONT "$ATTACKER"; }

# utab_problems: every utab line's target must hold an overlay.
utab_problems() {
	local tgt
	while read -r tgt; do
		[ "$(findmnt -n -o FSTYPE --mountpoint "$tgt" 2>/dev/null | tail -n 1)" = overlay ] ||
			echo "utab line for $tgt, which holds no overlay"
	done < <(sed -n 's/.*TARGET=\([^ ]*\) .*/\1/p' "$LIBMOUNT_UTAB" 2>/dev/null)
}

# --- the mount point: a symlink swapped in above it ----------------------------
U=$R/u
mkdir -m 0755 "$U" "$U/d" "$U/evil" "$U/evil/t"
mkdir -m 0755 "$U/d/t" # root's: the requested mount point
echo attacker >"$U/evil/t/mine"
ln -s evil "$U/lnk"
chown "$AUID:$AUID" "$U" "$U/d" "$U/evil" "$U/evil/t" "$U/evil/t/mine"
chown -h "$AUID:$AUID" "$U/lnk"
T=$U/d/t

wins=0 mounted=0 refused=0 badmsg=0
declare -A why=()
if start_attacker "$U" d lnk; then
	for ((i = 0; i < ROUNDS; i++)); do
		api=new
		((i % 2)) && api=legacy
		run "$MOUNT_HELPER" overlay "$T" -o "lowerdir=$R/l1:$R/l2,cfs.api=$api,cfs.rmdir=no"
		rc=$last_rc err=$last_err
		pause_attacker
		[ -L "$U/d" ] && "$RACE" "$U" d lnk once
		win=
		mountpoint -q "$U/evil/t" && win+="overlay on the attacker's directory; "
		if [ "$rc" -eq 0 ]; then
			mounted=$((mounted + 1))
			[ "$(findmnt -n -o FSTYPE --mountpoint "$T" | tail -n 1)" = overlay ] ||
				win+="exit 0 but $T holds no overlay; "
			[ -e "$T/mine" ] && win+="the attacker's file is in the overlay; "
			grep -q "TARGET=$T " "$LIBMOUNT_UTAB" || win+="no utab line for $T; "
		else
			refused=$((refused + 1))
			mountpoint -q "$T" && win+="exit $rc but $T is mounted; "
			[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [[ $err == "mount.cfsoverlay: "* ]] ||
				badmsg=$((badmsg + 1))
			case $err in
			*"is a symlink in a directory"*) why[symlink]=$((${why[symlink]:-0} + 1)) ;;
			*"changed during the mount"*) why[changed]=$((${why[changed]:-0} + 1)) ;;
			*) why[other]=$((${why[other]:-0} + 1)) && diag "round $i: $err" ;;
			esac
		fi
		win+=$(utab_problems)
		if [ -n "$win" ]; then
			wins=$((wins + 1))
			diag "round $i ($api): win: $win"
		fi
		mountpoint -q "$T" && { "$UMOUNT_HELPER" "$T" || umount "$T"; }
		mountpoint -q "$U/evil/t" && umount "$U/evil/t"
		: >"$LIBMOUNT_UTAB"
		resume_attacker
	done
	stop_attacker
	# Killed wherever it was: put the requested directory back in place.
	[ -L "$U/d" ] && "$RACE" "$U" d lnk once
	diag "mount point race: $ROUNDS rounds, $mounted mounted, $refused refused" \
		"(symlink ${why[symlink]:-0}, changed during the mount ${why[changed]:-0}, other ${why[other]:-0}), $wins wins"
	check "mount point race: 0 wins in $ROUNDS rounds" test "$wins" -eq 0
	check "mount point race: every refusal is one line of mount.cfsoverlay" test "$badmsg" -eq 0
	check "mount point race: the requested directory is root's and unmounted" \
		test "$(stat -c %u "$T")" -eq 0 -a -z "$(findmnt -rn -o TARGET | grep -F "$U")"
else
	not_ok "mount point race: the attacker could not start"
	skip "mount point race: every refusal is one line" "no attacker"
	skip "mount point race: the requested directory" "no attacker"
fi

# --- the temp location: below a directory the attacker owns ----------------------
TU=$R/tu
mkdir -m 0755 "$TU" "$TU/evil" "$R/m2"
mkdir -m 0700 "$TU/base"
ln -s evil "$TU/lnk"
chown "$AUID:$AUID" "$TU" "$TU/evil"
chown -h "$AUID:$AUID" "$TU/lnk"

wins=0 refusals=0
if start_attacker "$TU" base lnk; then
	for ((i = 0; i < ROUNDS; i++)); do
		run "$MOUNT_HELPER" overlay "$R/m2" \
			-o "lowerdir=$R/l1:$R/l2,$IDM,cfs.api=legacy,cfs.tmpdir=$TU/base,cfs.rmdir=no"
		rc=$last_rc err=$last_err
		pause_attacker
		[ -L "$TU/base" ] && "$RACE" "$TU" base lnk once
		win=
		[ "$rc" -eq 1 ] && [[ $err == "mount.cfsoverlay: refusing temp location $TU/base: "* ]] &&
			refusals=$((refusals + 1))
		[ "$rc" -eq 0 ] && win+="mounted with a temp location below $TU; "
		[ -n "$(ls -A "$TU/evil")" ] && win+="the attacker's tree was used: $(ls -A "$TU/evil"); "
		[ -n "$(ls -A "$TU/base")" ] && win+="something was made in $TU/base; "
		findmnt -rn -o TARGET | grep -qF "$TU" && win+="a mount below $TU; "
		mountpoint -q "$R/m2" && win+="$R/m2 is mounted; "
		if [ -n "$win" ]; then
			wins=$((wins + 1))
			diag "round $i: win: $win stderr: $err"
		fi
		findmnt -rn -o TARGET | grep -F -e "$TU" -e "$R/m2" | sort -r | while read -r m; do umount -l "$m"; done
		: >"$LIBMOUNT_UTAB"
		resume_attacker
	done
	stop_attacker
	diag "temp location race: $ROUNDS rounds, $refusals refused with exit 1, $wins wins"
	check "temp location race: 0 wins in $ROUNDS rounds" test "$wins" -eq 0
	check "temp location race: refused every time (exit 1, one line naming it)" test "$refusals" -eq "$ROUNDS"
else
	not_ok "temp location race: the attacker could not start"
	skip "temp location race: refused every time" "no attacker"
fi

# --- what still works: symlinks root made, the longest SOURCE -------------------
mkdir -m 0755 "$R/m3"
ln -s "$R/m3" "$WORK/rootlink"
expect_rc "a mount point through a symlink in a root-only directory" 0 \
	"$MOUNT_HELPER" overlay "$WORK/rootlink" -o "lowerdir=$R/l1:$R/l2"
check "utab records the canonical path $R/m3" grep -q "TARGET=$R/m3 " "$LIBMOUNT_UTAB"
check "... where the overlay is" test "$(findmnt -n -o FSTYPE --mountpoint "$R/m3")" = overlay
"$UMOUNT_HELPER" "$R/m3" || umount "$R/m3"
printf -v SRC255 '%*s' 255 ''
SRC255=${SRC255// /s}
expect_rc "SOURCE of 255 bytes" 0 "$MOUNT_HELPER" "$SRC255" "$R/m3" -o "lowerdir=$R/l1:$R/l2"
check "... is the mount's source" test "$(findmnt -n -o SOURCE --mountpoint "$R/m3")" = "$SRC255"
"$UMOUNT_HELPER" "$R/m3" || umount "$R/m3"

# --- a signal while waiting for another process's utab lock ----------------------
# The lock is held by a child until we let it go; strace lands the signal on
# the helper's first flock(2), the wait for that lock (the mount has no other).
if command -v strace >/dev/null && command -v flock >/dev/null; then
	mkfifo "$WORK/hold"
	for sig in SIGTERM SIGINT; do
		: >"$LIBMOUNT_UTAB.lock"
		flock "$LIBMOUNT_UTAB.lock" cat "$WORK/hold" &
		HOLDER=$!
		# flock(1) holds it once it opened the FIFO... which needs a writer:
		# open ours first, then wait until the lock is really taken.
		exec 9>"$WORK/hold"
		until ! flock -n "$LIBMOUNT_UTAB.lock" true; do :; done
		run strace -f -qq -o /dev/null -e trace=flock -e "inject=flock:signal=$sig:when=1" \
			"$MOUNT_HELPER" overlay "$R/m3" -o "lowerdir=$R/l1:$R/l2,cfs.tmpdir=$R/tmpb"
		exec 9>&-
		wait "$HOLDER"
		HOLDER=
		check "$sig while waiting for the utab lock: exit 8 (got $last_rc)" test "$last_rc" -eq 8
		check "$sig while waiting for the utab lock: one line saying so" \
			test "$(printf '%s\n' "$last_err" | wc -l)" -eq 1 -a -n "$(grep -F 'interrupted' <<<"$last_err")"
		check "$sig while waiting for the utab lock: undone (no mount, no utab line)" \
			test -z "$(findmnt -rn -o TARGET | grep -F "$R/m3")" -a ! -s "$LIBMOUNT_UTAB"
	done
	rm -f "$WORK/hold"
else
	skip "a signal while waiting for the utab lock" "strace or flock(1) is missing"
fi

chmod 0700 "$WORK"
# Only this test's mount namespace counts: another run may race at the same time.
attackers_left() {
	local p mnt
	mnt=$(readlink /proc/self/ns/mnt)
	for p in $(pgrep -u "$AUID"); do
		[ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$mnt" ] && echo "$p"
	done
	return 0
}
check "no attacker process left" test -z "$(attackers_left)"
assert_clean "security_mount"
done_testing

#!/bin/bash
# utab stays true (issue 17): util-linux 2.38.1's umount(8) passes -n to the
# helper for every argument after a failed one, 50 rounds of it end with no
# line for the target; a mount drops stale lines of its target first; a stale
# line never steers an umount; -v names the lines dropped; -n leaves other
# lines alone; a helper killed before its utab update leaves a line the next
# mount drops.  And the -v count of layers taken from the shared idmapped
# clone when some sit on a tmpfs below its directory.
. "$(dirname "$0")/lib.sh"
setup "$@"

ROUNDS=50
IDM="uidmap=0:100000:65536,gidmap=0:100000:65536"
mkdir -p l1 l2 m notmnt
echo one >l1/a
echo two >l2/b
LOWER=$WORK/l1:$WORK/l2

# count TARGET: utab lines of TARGET.
count() {
	local n
	n=$(grep -c "TARGET=$1 " "$LIBMOUNT_UTAB" 2>/dev/null)
	echo "${n:-0}"
}
# plant LINE...: lines as an unmount that kept them would leave.
plant() { printf '%s\n' "$@" >>"$LIBMOUNT_UTAB"; }
unmounted() { ! mountpoint -q "$WORK/m"; }
# Only for a case that failed: the next case starts from nothing.
reset_m() {
	while mountpoint -q "$WORK/m"; do umount -l "$WORK/m" || break; done
	sed -i "\|TARGET=$WORK/m |d" "$LIBMOUNT_UTAB" 2>/dev/null
	return 0
}
# nlines TEXT PATTERN: lines of TEXT matching PATTERN.
nlines() { grep -c -- "$2" <<<"$1"; }

# --- 1. the reproduction: umount /not-a-mount B, 50 rounds --------------------
# The reproduction is only one where umount(8) really passes -n: look once.
if command -v strace >/dev/null; then
	mount -t cfsoverlay overlay "$WORK/m" -o "lowerdir=$LOWER"
	strace -f -qq -s 4096 -e trace=execve -o "$WORK/strace.out" umount "$WORK/notmnt" "$WORK/m" 2>/dev/null
	if grep -q "umount.cfsoverlay\", \"$WORK/m\".*\"-n\"" "$WORK/strace.out"; then
		ok "umount(8) passes -n for the argument after a failed one (the reproduction holds)"
	else
		skip "umount(8) passes -n after a failed argument" \
			"this umount(8) does not: $(grep -o 'execve("[^"]*umount.cfsoverlay".*\]' "$WORK/strace.out")"
	fi
	check "that umount unmounted and left no line" bash -c "! mountpoint -q '$WORK/m' && [ \$(grep -c 'TARGET=$WORK/m ' '$LIBMOUNT_UTAB') -eq 0 ]"
	reset_m
else
	skip "umount(8) passes -n after a failed argument" "strace(1) missing: the helper's argv is not checked"
fi
bad_mounted=0 bad_after=0 bad_rc=0 still=0
for ((i = 1; i <= ROUNDS; i++)); do
	mount -t cfsoverlay overlay "$WORK/m" -o "lowerdir=$LOWER" || bad_rc=$((bad_rc + 1))
	n=$(count "$WORK/m")
	[ "$n" -eq 1 ] || { bad_mounted=$((bad_mounted + 1)) && [ "$bad_mounted" -le 3 ] && diag "round $i: $n lines while mounted"; }
	umount "$WORK/notmnt" "$WORK/m" 2>/dev/null
	mountpoint -q "$WORK/m" && still=$((still + 1)) && reset_m
	n=$(count "$WORK/m")
	[ "$n" -eq 0 ] || { bad_after=$((bad_after + 1)) && [ "$bad_after" -le 3 ] && diag "round $i: $n lines after the unmount"; }
done
check "$ROUNDS rounds: every mount(8) succeeded ($bad_rc failed)" [ "$bad_rc" -eq 0 ]
check "$ROUNDS rounds: exactly 1 utab line while mounted ($bad_mounted rounds otherwise)" [ "$bad_mounted" -eq 0 ]
check "$ROUNDS rounds: umount /not-a-mount B unmounted B ($still rounds not)" [ "$still" -eq 0 ]
check "$ROUNDS rounds: exactly 0 utab lines after the unmount ($bad_after rounds otherwise)" [ "$bad_after" -eq 0 ]
reset_m

# --- 2. a mount drops the stale lines of its target, and only those -----------
OTHER="SRC=tmpfs TARGET=$WORK/elsewhere ROOT=/ OPTS=helper=foo"
plant "SRC=overlay TARGET=$WORK/m ROOT=/ ATTRS=cfs.rmdir=no OPTS=helper=cfsoverlay" \
	"$OTHER" \
	"ID=1 SRC=overlay TARGET=$WORK/m ROOT=/ ATTRS=cfs.tmpdir=$WORK/bogus OPTS=helper=cfsoverlay" \
	"SRC=overlay TARGET=$WORK/m ROOT=/ OPTS=helper=other"
expect_rc "mount over 3 stale lines of the target" 0 "$MOUNT_HELPER" -v overlay "$WORK/m" -o "lowerdir=$LOWER"
check "exactly one line for the target ($(count "$WORK/m"))" [ "$(count "$WORK/m")" -eq 1 ]
check "it is the new mount's line (no planted attributes)" bash -c "grep 'TARGET=$WORK/m ' '$LIBMOUNT_UTAB' | grep -qv ATTRS="
id=$(findmnt -rn -o ID --mountpoint "$WORK/m" 2>/dev/null)
check "it records the mount's ID ($id)" grep -q "^ID=$id .*TARGET=$WORK/m " "$LIBMOUNT_UTAB"
check "-v names the 3 stale lines dropped" [ "$(nlines "$last_err" "dropped a stale line of $WORK/m ")" -eq 3 ]
check "-v names the planted cfs.tmpdir line" grep -q "stale line of $WORK/m .*cfs.tmpdir=$WORK/bogus" <<<"$last_err"
check "the line of another target is untouched" grep -qxF "$OTHER" "$LIBMOUNT_UTAB"
expect_rc "plain umount(8)" 0 umount "$WORK/m"
check "no line for the target after the unmount" [ "$(count "$WORK/m")" -eq 0 ]
check "the line of another target is still untouched" grep -qxF "$OTHER" "$LIBMOUNT_UTAB"
reset_m

# mount -n writes nothing and drops nothing.
STALE="SRC=overlay TARGET=$WORK/m ROOT=/ OPTS=helper=cfsoverlay"
plant "$STALE"
before=$(cat "$LIBMOUNT_UTAB")
expect_rc "mount -n over a stale line" 0 "$MOUNT_HELPER" -n overlay "$WORK/m" -o "lowerdir=$LOWER"
check "mount -n: utab untouched" [ "$(cat "$LIBMOUNT_UTAB")" = "$before" ]
expect_rc "umount.cfsoverlay of the -n mount" 0 "$UMOUNT_HELPER" -v "$WORK/m"
check "that umount dropped the stale line" bash -c "[ \$(grep -c 'TARGET=$WORK/m ' '$LIBMOUNT_UTAB') -eq 0 ]"
check "and said so" grep -q "dropped a stale line of $WORK/m " <<<"$last_err"
reset_m

# --- 3. a stale line never steers an umount ------------------------------------
# Planted after the live line (where libmount 2.38 itself would merge it) and
# before it; either way the live mount's attributes decide.
STALE="SRC=overlay TARGET=$WORK/m ROOT=/ ATTRS=cfs.rmdir=no,cfs.tmpdir=$WORK/bogus OPTS=helper=cfsoverlay"
for where in after before; do
	mount -t cfsoverlay overlay "$WORK/m" -o "lowerdir=$LOWER"
	if [ "$where" = after ]; then plant "$STALE"; else sed -i "1i $STALE" "$LIBMOUNT_UTAB"; fi
	check "[$where] two lines for the target before the umount" [ "$(count "$WORK/m")" -eq 2 ]
	run umount -v "$WORK/m"
	check "[$where] umount(8) exit 0 ($last_rc)" [ "$last_rc" -eq 0 ]
	check "[$where] unmounted" unmounted
	check "[$where] the live line's default held: the mountpoint was replaced by a fresh copy" \
		grep -q "replaced $WORK/m by a fresh copy" <<<"$last_err"
	check "[$where] cfs.rmdir=no of the stale line was not obeyed" bash -c "! grep -q 'as cfs.rmdir=no asked' <<<\"\$1\"" _ "$last_err"
	check "[$where] cfs.tmpdir of the stale line was not cleaned" bash -c "! grep -q 'in $WORK/bogus' <<<\"\$1\"" _ "$last_err"
	check "[$where] -v names the stale line dropped" grep -q "dropped a stale line of $WORK/m .*cfs.tmpdir=$WORK/bogus" <<<"$last_err"
	check "[$where] no line for the target afterwards" [ "$(count "$WORK/m")" -eq 0 ]
	reset_m
done
# The other way round: the live mount asked for cfs.rmdir=no, a stale line says nothing.
ino=$(stat -c %i m)
mount -t cfsoverlay overlay "$WORK/m" -o "lowerdir=$LOWER,cfs.rmdir=no"
plant "SRC=overlay TARGET=$WORK/m ROOT=/ OPTS=helper=cfsoverlay"
run umount -v "$WORK/m"
check "live cfs.rmdir=no held over a newer stale line" bash -c "grep -q 'as cfs.rmdir=no asked' <<<\"\$1\" && [ \$(stat -c %i '$WORK/m') = $ino ]" _ "$last_err"
check "no line for the target afterwards" [ "$(count "$WORK/m")" -eq 0 ]
reset_m

# --- 4. umount -n: its own line goes, nothing else -----------------------------
# A stack of two of our mounts on m: -n unmounts the top and drops its line only.
"$MOUNT_HELPER" overlay "$WORK/m" -o "lowerdir=$LOWER,cfs.rmdir=no"
"$MOUNT_HELPER" overlay "$WORK/m" -o "lowerdir=$LOWER"
check "a stack of two: two lines" [ "$(count "$WORK/m")" -eq 2 ]
bottom=$(grep "TARGET=$WORK/m " "$LIBMOUNT_UTAB" | head -1)
plant "SRC=overlay TARGET=$WORK/m ROOT=/ OPTS=helper=cfsoverlay,planted"
expect_rc "umount.cfsoverlay -n of the top" 0 "$UMOUNT_HELPER" -n -v "$WORK/m"
check "-n: the bottom mount's line stays" grep -qxF "$bottom" "$LIBMOUNT_UTAB"
check "-n: the planted stale line stays too (-n drops nothing else)" grep -q "planted" "$LIBMOUNT_UTAB"
check "-n: 2 lines left" [ "$(count "$WORK/m")" -eq 2 ]
check "-n: -v says why the line went despite -n" grep -q "removed the line of $WORK/m despite -n" <<<"$last_err"
expect_rc "umount.cfsoverlay of the bottom (cfs.rmdir=no)" 0 "$UMOUNT_HELPER" -v "$WORK/m"
check "the bottom's cfs.rmdir=no held" grep -q "as cfs.rmdir=no asked" <<<"$last_err"
check "no line for the target afterwards" [ "$(count "$WORK/m")" -eq 0 ]
reset_m
# A line of another helper is not ours to drop under -n.
"$MOUNT_HELPER" -n overlay "$WORK/m" -o "lowerdir=$LOWER"
FOREIGN="SRC=overlay TARGET=$WORK/m ROOT=/ OPTS=helper=foo"
plant "$FOREIGN"
expect_rc "umount.cfsoverlay -n under a foreign line" 0 "$UMOUNT_HELPER" -n "$WORK/m"
check "-n: the foreign line stays" grep -qxF "$FOREIGN" "$LIBMOUNT_UTAB"
reset_m

# --- 5. a helper killed between its unmount and its utab update ----------------
# SIGKILL lands on the rename(2) that would replace utab (the first rename of
# umount.cfsoverlay): utab keeps its old content whole, and the line it keeps,
# stale now, is dropped by the next mount of that target, which also removes
# the temp file left next to utab.
if command -v strace >/dev/null; then
	mount -t cfsoverlay overlay "$WORK/m" -o "lowerdir=$LOWER"
	before=$(cat "$LIBMOUNT_UTAB")
	strace -f -qq -o /dev/null -e inject=rename:signal=SIGKILL:when=1 "$UMOUNT_HELPER" "$WORK/m" 2>/dev/null
	check "killed at the utab rename: unmounted" unmounted
	check "killed at the utab rename: utab whole, as before" [ "$(cat "$LIBMOUNT_UTAB")" = "$before" ]
	left=$(cd "$WORK" && ls | grep '^utab\.' | grep -vx utab.lock)
	check "killed at the utab rename: its temp file is all that is left ($left)" [ -n "$left" ]
	expect_rc "the next mount of the target" 0 "$MOUNT_HELPER" -v overlay "$WORK/m" -o "lowerdir=$LOWER"
	check "it dropped the killed helper's line" grep -q "dropped a stale line of $WORK/m " <<<"$last_err"
	check "it removed the killed helper's temp file" bash -c "[ ! -e '$WORK/$left' ] && grep -q 'removed $WORK/$left, left by a writer killed' <<<\"\$1\"" _ "$last_err"
	check "exactly one line while mounted" [ "$(count "$WORK/m")" -eq 1 ]
	expect_rc "and its umount" 0 umount "$WORK/m"
	check "no line afterwards" [ "$(count "$WORK/m")" -eq 0 ]
	reset_m
else
	skip "helper killed at the utab rename" "strace(1) missing: cannot land a SIGKILL there"
fi

# --- 6. -v: how many layers came from the shared idmapped clone -----------------
mkdir -p lay/1 lay/2 lay/3 u w
echo 1 >lay/1/f1
echo 2 >lay/2/f2
if ! probe_idmap_fs tmpfs; then
	skip "shared clone count" "$PROBE_REASON"
elif ! mount -t tmpfs tmpfs lay/3; then
	skip "shared clone count" "cannot mount a tmpfs"
else
	echo 3 >lay/3/f3
	for api in auto legacy; do
		run "$MOUNT_HELPER" -v overlay "$WORK/m" -o "lowerdir=$WORK/lay/1:$WORK/lay/2:$WORK/lay/3,$IDM,cfs.api=$api"
		if [ "$last_rc" -ne 0 ]; then
			if grep -qi "idmap\|user namespace" <<<"$last_err"; then
				skip "[$api] shared clone count" "no idmapped mounts here: $(tail -n 1 <<<"$last_err")"
			else
				not_ok "[$api] idmapped mount with a tmpfs layer"
				diag "$last_err"
			fi
			continue
		fi
		check "[$api] -v: 2 of 3 from the shared clone, 1 with its own" \
			grep -q "2 of 3 layers from the shared idmapped clone of $WORK/lay, 1 with a clone of their own" <<<"$last_err"
		check "[$api] -v: no claim that all layers share it" bash -c "! grep -q 'layers share one' <<<\"\$1\"" _ "$last_err"
		check "[$api] the tmpfs layer is seen" [ "$(cat m/f3 2>/dev/null)" = 3 ]
		"$UMOUNT_HELPER" "$WORK/m" || reset_m
		# Every layer on a tmpfs: none from the shared clone.
		mount -t tmpfs tmpfs lay/1 && echo 1 >lay/1/f1
		mount -t tmpfs tmpfs lay/2 && echo 2 >lay/2/f2
		run "$MOUNT_HELPER" -v overlay "$WORK/m" -o "lowerdir=$WORK/lay/1:$WORK/lay/2:$WORK/lay/3,$IDM,cfs.api=$api"
		check "[$api] all on tmpfs: mounted ($last_rc)" [ "$last_rc" -eq 0 ]
		check "[$api] all on tmpfs: -v says 0 of 3 from the shared clone, 3 with their own" \
			grep -q "0 of 3 layers from the shared idmapped clone of $WORK/lay, 3 with a clone of their own" <<<"$last_err"
		mountpoint -q m && { "$UMOUNT_HELPER" "$WORK/m" || reset_m; }
		umount lay/1 lay/2
	done
	umount lay/3
fi
check "no line for the target at the end" [ "$(count "$WORK/m")" -eq 0 ]
check "utab holds only the planted line of another target" bash -c "[ \"\$(grep -v 'TARGET=$WORK/elsewhere ' '$LIBMOUNT_UTAB')\" = '' ]"
check "no temp file or lock left but utab.lock" bash -c "[ -z \"\$(ls '$WORK' | grep '^utab\.' | grep -vx utab.lock)\" ]"
assert_clean "utab"
done_testing

#!/bin/bash
# Faults: SIGKILL at spread-out moments of a mount of 300 idmapped layers (one
# of them an erofs image when mkfs.erofs is there), for both strategies.  After
# each kill the target is either not mounted or fully mounted, no helper process
# and no loop device of ours is left, and for legacy the next helper run clears
# what the killed one left in the temp base.  SIGTERM and SIGINT during a mount:
# the helper undoes everything and exits 8.
. "$(dirname "$0")/lib.sh"
setup "$@"

N=300
KILLS=16 # delays spread from 0 to the duration of one mount
IDM="uidmap=0:100000:65536,gidmap=0:100000:65536"
TMPB=$WORK/tmp
mkdir -p u w m "$TMPB" s1 s2 su sw sm
chmod 0700 "$TMPB"
echo small1 >s1/a
echo small2 >s2/b
mklayers_image "$N" "$WORK/L"
opts() { echo "lowerdir=$LOWER,upperdir=$WORK/u,workdir=$WORK/w,$IDM,cfs.api=$1,cfs.tmpdir=$TMPB"; }

# Leave no loop device behind even when a case fails.
trap 'detach_loops ${IMAGE:+"$IMAGE"}; cleanup_work' EXIT

view_sum() { find "$1" -mindepth 1 -maxdepth 1 -printf '%f %U %G\n' | LC_ALL=C sort | md5sum; }
no_utab() { ! grep -q "TARGET=$WORK/m " "$LIBMOUNT_UTAB" 2>/dev/null; }
base_empty() { [ -z "$(ls -A "$TMPB")" ] || { diag "left in $TMPB: $(ls -A "$TMPB")"; return 1; }; }

# Sub-millisecond naps without forking sleep(1): read from a pipe nobody writes.
exec {NAPFD}<> <(:)
nap_us() {
	[ "$1" -gt 0 ] && read -r -t "$(printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)))" -u "$NAPFD" _
	return 0
}
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "${t#0}"; } # no fork: bash 5

LOWERS_SUM=$(tree_sum "$WORK/L")

# The full view, and how long one mount takes per strategy: the median of five,
# started the way the kills below start it.
declare -A OPTS DURATION
REF_VIEW=
for api in new legacy; do
	OPTS[$api]=$(opts "$api")
	times=()
	for i in 1 2 3 4 5; do
		t0=$(now_us)
		"$MOUNT_HELPER" overlay "$WORK/m" -o "${OPTS[$api]}" &
		wait $!
		rc=$?
		t1=$(now_us)
		[ "$rc" -eq 0 ] || break
		[ -z "$REF_VIEW" ] && REF_VIEW=$(view_sum "$WORK/m") && REF_COUNT=$(ls "$WORK/m" | wc -l)
		times+=($((t1 - t0)))
		"$UMOUNT_HELPER" "$WORK/m" || break
	done
	if [ "${#times[@]}" -eq 5 ]; then
		DURATION[$api]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
		ok "[$api] reference mounts of $N idmapped layers: $((DURATION[$api] / 1000)) ms each"
	else
		not_ok "[$api] reference mounts of $N idmapped layers"
		diag "mount or umount failed (exit $rc)"
	fi
	check "[$api] temp base empty after clean mounts" base_empty
done
check "full view has all $N layers (${REF_COUNT:-0} entries)" [ "${REF_COUNT:-0}" -eq "$N" ]

# --- SIGKILL ------------------------------------------------------------------
faults=0
for api in new legacy; do
	[ -n "${DURATION[$api]:-}" ] || { skip "[$api] SIGKILL" "the reference mount failed"; continue; }
	seen_mounted=0 seen_unmounted=0 stale=0
	for ((k = 0; k < KILLS; k++)); do
		delay=$((DURATION[$api] * k / (KILLS - 1)))
		at="[$api] SIGKILL at $((delay / 1000)).$(printf '%03d' $((delay % 1000))) ms"
		"$MOUNT_HELPER" overlay "$WORK/m" -o "${OPTS[$api]}" 2>/dev/null &
		pid=$!
		nap_us "$delay"
		kill -KILL "$pid" 2>/dev/null
		{ wait "$pid"; } 2>/dev/null # no "Killed" notice on stderr
		rc=$?
		if [ "$rc" -eq 137 ]; then faults=$((faults + 1)); else diag "$at: the mount had ended (exit $rc)"; fi
		[ -n "${CFS_TEST_DEBUG:-}" ] && diag "$at: exit $rc, mounted: $(mountpoint -q "$WORK/m" && echo yes || echo no), temp base: $(ls -A "$TMPB" | tr '\n' ' ')"

		if mountpoint -q "$WORK/m"; then
			seen_mounted=$((seen_mounted + 1))
			check "$at: mounted, so fully (all layers, idmapped)" [ "$(view_sum "$WORK/m")" = "$REF_VIEW" ]
			expect_rc "$at: umount.cfsoverlay of it" 0 "$UMOUNT_HELPER" "$WORK/m"
		else
			seen_unmounted=$((seen_unmounted + 1))
			ok "$at: not mounted"
		fi
		check "$at: not mounted any more, no utab line" bash -c "! mountpoint -q '$WORK/m' && ! grep -q 'TARGET=$WORK/m ' '$LIBMOUNT_UTAB' 2>/dev/null"
		check "$at: no helper process left" no_procs
		if [ "$api" = legacy ]; then
			# The killed helper may leave its temp directory; the next run takes it away.
			[ -n "$(ls -A "$TMPB")" ] && stale=$((stale + 1))
			expect_rc "$at: next helper run mounts" 0 "$MOUNT_HELPER" overlay "$WORK/sm" \
				-o "lowerdir=$WORK/s1:$WORK/s2,upperdir=$WORK/su,workdir=$WORK/sw,$IDM,cfs.api=legacy,cfs.tmpdir=$TMPB"
			"$UMOUNT_HELPER" "$WORK/sm" 2>/dev/null
			check "$at: temp base empty after the next run" base_empty
		fi
		check "$at: no loop device left" no_loops ${IMAGE:+"$IMAGE"}
		# Do not let one failure cascade into the next kill.
		mountpoint -q "$WORK/m" && umount -l "$WORK/m"
		mountpoint -q "$WORK/sm" && umount -l "$WORK/sm"
	done
	diag "[$api] after the kills: $seen_mounted mounted, $seen_unmounted not mounted, $stale left a stale temp directory"
done

# --- SIGTERM, SIGINT: undo and exit 8 --------------------------------------------
# A signal that comes before the handlers exist kills the helper before it did
# anything; one that comes after the mount is recorded is too late.  Move the
# delay until the signal lands during the work, a few times at most.
for api in new legacy; do
	for sig in TERM INT; do
		name="[$api] SIG$sig during the mount"
		[ -n "${DURATION[$api]:-}" ] || { skip "$name" "the reference mount failed"; continue; }
		delay=$((DURATION[$api] / 2))
		rc=-1
		for try in 1 2 3 4 5 6; do
			set -m # job control: a background job would otherwise ignore SIGINT
			"$MOUNT_HELPER" overlay "$WORK/m" -o "${OPTS[$api]}" 2>"$WORK/sig.err" &
			pid=$!
			set +m
			nap_us "$delay"
			kill -"$sig" "$pid" 2>/dev/null
			{ wait "$pid"; } 2>/dev/null
			rc=$?
			faults=$((faults + 1))
			if [ "$rc" -eq 0 ]; then
				diag "$name: signal after the end at $((delay / 1000)) ms, trying earlier"
				"$UMOUNT_HELPER" "$WORK/m"
				delay=$((delay / 2))
			elif [ "$rc" -gt 128 ]; then
				diag "$name: killed by the signal (exit $rc) at $((delay / 1000)) ms, before its handlers; trying later"
				mountpoint -q "$WORK/m" && "$UMOUNT_HELPER" "$WORK/m"
				delay=$((delay * 3 / 2))
			else
				break
			fi
		done
		if [ "$rc" -eq 8 ]; then ok "$name: exit 8"; else
			not_ok "$name: exit 8"
			diag "got exit $rc: $(head -c 300 "$WORK/sig.err")"
		fi
		check "$name: one line on stderr" bash -c "[ \$(wc -l <'$WORK/sig.err') -eq 1 ] && grep -q '^mount.cfsoverlay: ' '$WORK/sig.err'"
		check "$name: not mounted" bash -c "! mountpoint -q '$WORK/m'"
		check "$name: no utab line" no_utab
		check "$name: temp base empty at once" base_empty
		check "$name: no helper process left" no_procs
		check "$name: no loop device left" no_loops ${IMAGE:+"$IMAGE"}
		mountpoint -q "$WORK/m" && umount -l "$WORK/m"
		find "$TMPB" -mindepth 1 -maxdepth 1 -exec umount -R -l {} \; 2>/dev/null
		find "$TMPB" -mindepth 2 -maxdepth 2 -type d -exec umount -l {} \; 2>/dev/null
		find "$TMPB" -mindepth 1 -depth -type d -empty -delete 2>/dev/null
	done
done
exec {NAPFD}<&-

check "lower layers unchanged" [ "$(tree_sum "$WORK/L")" = "$LOWERS_SUM" ]
diag "$faults faults injected"
assert_clean "faults" "$TMPB"
done_testing

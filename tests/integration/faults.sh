#!/bin/bash
# Faults: SIGKILL at chosen points of a mount of 300 idmapped layers (one of
# them an erofs image when mkfs.erofs is there), for both strategies.  Each
# signal lands at a known syscall, never after a guessed delay: strace
# -e inject=SYSCALL:signal=SIG:when=N delivers it on entry to the N-th call,
# and the points are the first, middle and last call of every syscall that
# makes or unmakes state, counted in a traced reference mount.  After each kill
# the target is either not mounted or fully mounted, no helper process and no
# loop device of ours is left, and for legacy the next helper run clears what
# the killed one left in the temp base.  SIGTERM and SIGINT in the middle of
# the layer work: the helper undoes everything and exits 8.
. "$(dirname "$0")/lib.sh"
setup "$@"

command -v strace >/dev/null || skip_all "strace is needed to land signals at chosen syscalls"

N=300
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

# Steps that make or unmake state: namespaces, clones, loop devices, fs
# contexts, attachments, temp directories, utab.
STATEFUL=clone,open_tree,mount_setattr,openat2,ioctl,fsopen,fsconfig,fsmount,move_mount,mkdir,mkdirat,mount,umount2,unlinkat,rmdir,rename,flock

view_sum() { find "$1" -mindepth 1 -maxdepth 1 -printf '%f %U %G\n' | LC_ALL=C sort | md5sum; }
no_utab() { ! grep -q "TARGET=$WORK/m " "$LIBMOUNT_UTAB" 2>/dev/null; }
base_empty() { [ -z "$(ls -A "$TMPB")" ] || { diag "left in $TMPB: $(ls -A "$TMPB")"; return 1; }; }

# inject SIGNAL SYSCALL WHEN OPTS: the helper with SIGNAL delivered on entry to
# the WHEN-th SYSCALL (strace counts per thread); stderr in $WORK/sig.err.
inject() {
	# The group's redirection keeps bash's "Killed" notice out of the log.
	{ strace -f -qq -o /dev/null -e trace="$2" -e inject="$2:signal=$1:when=$3" \
		"$MOUNT_HELPER" overlay "$WORK/m" -o "$4" 2>"$WORK/sig.err"; } 2>/dev/null
}

# points API: "SYSCALL:N" for the first, middle and last call of each stateful
# syscall in one traced mount (the largest count of any one thread).
points() {
	local rc=0
	strace -f -qq -o "$WORK/trace" -e trace="$STATEFUL" \
		"$MOUNT_HELPER" overlay "$WORK/m" -o "${OPTS[$1]}" || rc=$?
	mountpoint -q "$WORK/m" && { "$UMOUNT_HELPER" "$WORK/m" || rc=$?; }
	[ "$rc" -eq 0 ] || return 1
	sed -n 's/^\([0-9]*\) *\([a-z_0-9]*\)(.*/\1 \2/p' "$WORK/trace" | sort | uniq -c |
		awk '$3 !~ /^syscall_/ { if ($1 > max[$3]) max[$3] = $1 }
		     END { for (s in max) { c = max[s]; print s ":1"; print s ":" int((c + 1) / 2); print s ":" c } }' |
		LC_ALL=C sort -u
}

LOWERS_SUM=$(tree_sum "$WORK/L")
# The new strategy needs overlay to take idmapped layers as fds (6.15+).
NEW_WHY=
probe_new_api_layer_fds idmapped || NEW_WHY=$PROBE_REASON
# why_not API DEFAULT: why API has nothing to test.
why_not() { if [ "$1" = new ] && [ -n "$NEW_WHY" ]; then echo "$NEW_WHY"; else echo "$2"; fi; }

declare -A OPTS POINTS
REF_VIEW=
for api in new legacy; do
	OPTS[$api]=$(opts "$api")
	if [ "$api" = new ] && [ -n "$NEW_WHY" ]; then
		skip "[new] reference mount of $N idmapped layers" "$NEW_WHY"
		continue
	fi
	if "$MOUNT_HELPER" overlay "$WORK/m" -o "${OPTS[$api]}"; then
		[ -z "$REF_VIEW" ] && REF_VIEW=$(view_sum "$WORK/m") && REF_COUNT=$(ls "$WORK/m" | wc -l)
		"$UMOUNT_HELPER" "$WORK/m"
		POINTS[$api]=$(points "$api" | tr '\n' ' ')
	fi
	if [ -n "${POINTS[$api]:-}" ]; then
		ok "[$api] reference mount of $N idmapped layers, $(wc -w <<<"${POINTS[$api]}") kill points"
	else
		not_ok "[$api] reference mount of $N idmapped layers"
	fi
	check "[$api] temp base empty after clean mounts" base_empty
done
check "full view has all $N layers (${REF_COUNT:-0} entries)" [ "${REF_COUNT:-0}" -eq "$N" ]

# --- SIGKILL ------------------------------------------------------------------
faults=0
for api in new legacy; do
	[ -n "${POINTS[$api]:-}" ] || { skip "[$api] SIGKILL" "$(why_not "$api" "the reference mount failed")"; continue; }
	seen_mounted=0 seen_unmounted=0 stale=0
	for point in ${POINTS[$api]}; do
		at="[$api] SIGKILL at ${point%%:*} #${point##*:}"
		inject KILL "${point%%:*}" "${point##*:}" "${OPTS[$api]}"
		rc=$?
		faults=$((faults + 1))
		if [ "$rc" -eq 137 ]; then ok "$at: killed there"; else
			not_ok "$at: killed there"
			diag "exit $rc: $(head -c 300 "$WORK/sig.err")"
		fi

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
	check "[$api] some kills came before the mount and some after it" \
		[ "$seen_mounted" -gt 0 -a "$seen_unmounted" -gt 0 ]
done

# --- SIGTERM, SIGINT: undo and exit 8 --------------------------------------------
# Delivered on entry to the middle openat2 of the layer walk: the handlers are
# in place, the user namespace and the shared clone exist, nothing is mounted.
for api in new legacy; do
	mid=$(grep -o 'openat2:[0-9]*' <<<"${POINTS[$api]:-}" | sort -t: -k2 -n | sed -n 2p)
	for sig in TERM INT; do
		name="[$api] SIG$sig during the layer walk"
		[ -n "$mid" ] || { skip "$name" "$(why_not "$api" "no reference mount, or no openat2 in it")"; continue; }
		inject "$sig" openat2 "${mid#*:}" "${OPTS[$api]}"
		rc=$?
		faults=$((faults + 1))
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

check "lower layers unchanged" [ "$(tree_sum "$WORK/L")" = "$LOWERS_SUM" ]
diag "$faults faults injected"
assert_clean "faults" "$TMPB"
done_testing

#!/bin/bash
# Parallel: 16 concurrent idmapped mounts sharing 50 lower layers (the last an
# erofs image when mkfs.erofs is there: mounted file-backed by the new-API
# round where the kernel can, and through loop devices by the legacy round,
# CFSOVERLAY_FORCE_LOOP=1, so 16 helpers race for them), per strategy, legacy
# ones sharing one cfs.tmpdir base; then 16 concurrent umounts.  All succeed,
# every merged view is complete, nothing is left behind.
. "$(dirname "$0")/lib.sh"
setup "$@"

P=16
N=50
IDM="uidmap=0:100000:65536,gidmap=0:100000:65536"
TMPB=$WORK/tmp
mkdir -p "$TMPB"
chmod 0700 "$TMPB"
mklayers_image "$N" "$WORK/L"

kill_jobs() {
	local pid
	for pid in $(jobs -p); do kill "$pid" 2>/dev/null; done
	wait 2>/dev/null
}
trap 'kill_jobs; detach_loops ${IMAGE:+"$IMAGE"}; cleanup_work' EXIT

base_empty() { [ -z "$(ls -A "$TMPB")" ] || { diag "left in $TMPB: $(ls -A "$TMPB")"; return 1; }; }
utab_lines() { grep -c "TARGET=$WORK/p/[0-9]*/m .*helper=cfsoverlay" "$LIBMOUNT_UTAB" 2>/dev/null || true; }

# A merged view is complete: f1..fN, each owned by the mapped root.
view_ok() {
	local m=$1 i
	[ "$(ls "$m" | wc -l)" -eq "$N" ] || return 1
	for ((i = 1; i <= N; i++)); do
		[ "$(cat "$m/f$i" 2>/dev/null)" = "$([ "$i" -eq "$N" ] && [ -n "$IMAGE" ] && echo image || echo "$i")" ] ||
			return 1
	done
	[ -z "$(find "$m" -mindepth 1 -maxdepth 1 ! -uid 100000)" ]
}

# run_all CMD...: starts P copies of CMD together ("@I@" in an argument is
# replaced by the copy's number), waits for all, and sets RCS and ERRS.
BARRIER=$WORK/barrier
mkfifo "$BARRIER"
exec {BARRIER_FD}<>"$BARRIER" # a writer always there: the copies' opens never block
run_all() {
	local i a pids=() args
	RCS=() ERRS=()
	for ((i = 1; i <= P; i++)); do
		args=()
		for a in "$@"; do args+=("${a//@I@/$i}"); done
		# Each copy waits for its line, written once all have been started.
		(exec {BARRIER_FD}<&- && read -r _ <"$BARRIER" && exec "${args[@]}") 2>"$WORK/err.$i" &
		pids+=($!)
	done
	for ((i = 1; i <= P; i++)); do echo go; done >&"$BARRIER_FD"
	for ((i = 1; i <= P; i++)); do
		wait "${pids[i - 1]}"
		RCS+=($?)
		ERRS+=("$(head -c 200 "$WORK/err.$i")")
	done
}
all_zero() {
	local i bad=0
	for ((i = 0; i < P; i++)); do
		if [ "${RCS[i]}" -ne 0 ]; then
			diag "copy $((i + 1)): exit ${RCS[i]}: ${ERRS[i]}"
			bad=1
		fi
	done
	return "$bad"
}

LOWERS_SUM=$(tree_sum "$WORK/L")
for api in new legacy; do
	# The new strategy needs overlay to take idmapped layers as fds (6.15+).
	if [ "$api" = new ] && ! probe_new_api_layer_fds idmapped; then
		skip "[new] $P concurrent mounts" "$PROBE_REASON"
		continue
	fi
	if [ "$api" = legacy ]; then export CFSOVERLAY_FORCE_LOOP=1; else unset CFSOVERLAY_FORCE_LOOP; fi
	for ((i = 1; i <= P; i++)); do
		rm -rf "$WORK/p/$i"
		mkdir -p "$WORK/p/$i/m" "$WORK/p/$i/u" "$WORK/p/$i/w"
	done
	run_all "$MOUNT_HELPER" overlay "$WORK/p/@I@/m" \
		-o "lowerdir=$LOWER,upperdir=$WORK/p/@I@/u,workdir=$WORK/p/@I@/w,$IDM,cfs.api=$api,cfs.tmpdir=$TMPB"
	check "[$api] $P concurrent mounts all succeed" all_zero
	complete=0
	for ((i = 1; i <= P; i++)); do view_ok "$WORK/p/$i/m" && complete=$((complete + 1)); done
	check "[$api] every merged view complete ($complete of $P, $N files, idmapped)" [ "$complete" -eq "$P" ]
	writes=0
	for ((i = 1; i <= P; i++)); do
		echo "$i" >"$WORK/p/$i/m/own" 2>/dev/null && [ "$(cat "$WORK/p/$i/u/own")" = "$i" ] && writes=$((writes + 1))
	done
	check "[$api] each mount writes to its own upperdir ($writes of $P)" [ "$writes" -eq "$P" ]
	n=$(utab_lines)
	check "[$api] utab records all $P mounts ($n)" [ "$n" -eq "$P" ]
	check "[$api] temp base empty while mounted" base_empty

	run_all "$UMOUNT_HELPER" "$WORK/p/@I@/m"
	check "[$api] $P concurrent umounts all succeed" all_zero
	left=$(findmnt -rn -o TARGET | grep -cF "$WORK/p/" || true)
	check "[$api] nothing mounted any more ($left left)" [ "$left" -eq 0 ]
	n=$(utab_lines)
	check "[$api] no utab line left ($n)" [ "$n" -eq 0 ]
	check "[$api] temp base empty" base_empty
	check "[$api] no loop device left" no_loops ${IMAGE:+"$IMAGE"}
	check "[$api] no helper process left" no_procs
	# One failure must not cascade into the next strategy.
	findmnt -rn -o TARGET | grep -F "$WORK/p/" | sort -r | while read -r m; do umount -l "$m"; done
done
exec {BARRIER_FD}<&-
check "lower layers unchanged" [ "$(tree_sum "$WORK/L")" = "$LOWERS_SUM" ]
assert_clean "parallel" "$TMPB"
done_testing

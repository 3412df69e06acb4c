#!/bin/bash
# make check-kernels: the chosen tests on Debian's real 6.1 and 6.12 kernels,
# booted in QEMU by vmtest (../shared/vmtest/run beside the checkout, or
# $VMTEST), one kernel after the other, against this build tree.  Prints
# pass/skip/fail per kernel and test; the logs of each kernel are kept in
# BUILDDIR/check-kernels/KERNEL/.  Slow (TCG emulation): not part of make
# check nor of .ci/run.
#
#   tests/check-kernels.sh BUILDDIR [TEST...]
#   KERNELS="6.1 6.12" (default), VMTEST=/path/to/vmtest/run, VMTEST_ARGS
#   (extra options for run, default "--smp 1").
#
# The build tree must lie inside the source tree: that tree is shared into the
# guest at the same path, so automake's absolute paths keep working.  The
# guest runs the host's binaries (both are Debian 12).  Do not change the tree
# while a run is going on: the guest reads it live.
set -u -o pipefail

die() {
	echo "check-kernels: $*" >&2
	exit 2
}

[ $# -ge 1 ] || die "usage: $0 BUILDDIR [TEST...]"
builddir=$(cd "$1" && pwd) || die "no build directory $1"
shift
srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case $builddir/ in
"$srcdir"/*) ;;
*) die "build directory $builddir is not inside the source tree $srcdir (the guest sees only that tree)" ;;
esac

vmtest=${VMTEST:-$srcdir/../shared/vmtest/run}
[ -x "$vmtest" ] || die "vmtest not found at $vmtest: set VMTEST=/path/to/vmtest/run (see its README for the one-time --setup)"
# vmtest guesses the Debian mirror from the host's apt sources, which fails on
# some hosts; the main mirror always works.
export VMTEST_MIRROR=${VMTEST_MIRROR:-http://deb.debian.org}
read -r -a vm_args <<<"${VMTEST_ARGS:---smp 1}"

tests=("$@")
tests_arg=${tests[*]}
kernels=${KERNELS:-6.1 6.12}
status=0
summary=()

for k in $kernels; do
	out=$builddir/check-kernels/$k
	rm -rf "$out" && mkdir -p "$out" || die "cannot make $out"
	# stale results would be counted as this kernel's
	for t in "${tests[@]}"; do rm -f "$builddir/${t%.sh}.log" "$builddir/${t%.sh}.trs"; done
	echo "check-kernels: Linux $k: ${tests_arg:-every test}" >&2
	"$vmtest" --kernel "$k" "${vm_args[@]}" --src "$srcdir" -- \
		make -C "$builddir" check ${tests_arg:+TESTS="$tests_arg"} >"$out/console.log" 2>&1
	rc=$?
	[ "$rc" -eq 125 ] && summary+=("$k: the guest did not report (boot failure or timeout): see $out/console.log")
	[ "$rc" -ne 0 ] && status=1
	if [ ${#tests[@]} -eq 0 ]; then
		mapfile -t trs < <(cd "$builddir" && find tests -name '*.trs' | sort)
	else
		trs=()
		for t in "${tests[@]}"; do trs+=("${t%.sh}.trs"); done
	fi
	for f in "${trs[@]}"; do
		if [ ! -f "$builddir/$f" ]; then
			summary+=("$(printf '%-6s %-34s no result' "$k" "${f%.trs}")")
			status=1
			continue
		fi
		cp "$builddir/$f" "$builddir/${f%.trs}.log" "$out/" 2>/dev/null
		p=$(grep -c '^:test-result: PASS' "$builddir/$f")
		s=$(grep -c '^:test-result: SKIP' "$builddir/$f")
		x=$(grep -c -E '^:test-result: (FAIL|XPASS|ERROR)' "$builddir/$f")
		[ "$x" -eq 0 ] || status=1
		summary+=("$(printf '%-6s %-34s pass %4d  skip %3d  fail %3d' "$k" "${f%.trs}" "$p" "$s" "$x")")
	done
done

printf '%s\n' "${summary[@]}"
# the reasons of the skips, once each
for k in $kernels; do
	grep -h '# SKIP' "$builddir/check-kernels/$k"/*.log 2>/dev/null | sed -n 's/.*# SKIP /'"$k"' skip: /p' | sort -u
done
exit "$status"

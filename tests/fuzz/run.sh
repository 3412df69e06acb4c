#!/bin/sh
# Builds the libFuzzer harnesses of tests/fuzz against src/*.c and runs each for
# FUZZ_SECONDS on a copy of its seed corpus.
#
#   tests/fuzz/run.sh [BUILDDIR] [HARNESS...]
#
# BUILDDIR (or $CFS_BUILDDIR) is a configured build directory: its config.h is
# included and its Makefile gives the warning flags and libmount's flags.
# HARNESS is options, layers or idmap (default: all three).
#
# Environment: FUZZ_SECONDS (60), FUZZ_CC (clang), FUZZ_MAX_LEN (8192),
# FUZZ_WORKDIR (a new temp dir; kept when something fails, removed otherwise),
# FUZZ_CFLAGS (extra flags, e.g. -DFUZZ_COMPACT_RELATIVE=1).
#
# Exits 0 when every harness ran clean, 1 on any crash, leak, UBSan report or
# failed property, 2 on a usage or build problem.  New corpus entries stay in
# the work directory: the seeds in the source tree are never written.
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)

builddir=${CFS_BUILDDIR:-}
if [ $# -gt 0 ] && [ -d "$1" ]; then
	builddir=$1
	shift
fi
if [ -z "$builddir" ] || [ ! -f "$builddir/config.h" ]; then
	echo "usage: $0 BUILDDIR [options|layers|idmap]...  (or CFS_BUILDDIR=BUILDDIR)" >&2
	echo "BUILDDIR must hold config.h: configure a build there first" >&2
	exit 2
fi
builddir=$(cd "$builddir" && pwd)
harnesses=${*:-options layers idmap}

seconds=${FUZZ_SECONDS:-60}
cc=${FUZZ_CC:-clang}
max_len=${FUZZ_MAX_LEN:-8192}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "$0: $cc not found (libFuzzer needs clang)" >&2
	exit 2
fi

# The flags configure chose, so that the harnesses build under the same rules.
make_var() {
	sed -n "s/^$1 = //p" "$builddir/Makefile" 2>/dev/null | head -n 1
}
warn_cflags=$(make_var WARN_CFLAGS)
mount_cflags=$(make_var MOUNT_CFLAGS)
mount_libs=$(make_var MOUNT_LIBS)
if [ -z "$mount_libs" ]; then
	mount_cflags=$(pkg-config --cflags mount 2>/dev/null)
	mount_libs=$(pkg-config --libs mount 2>/dev/null || echo -lmount)
fi

if [ -n "${FUZZ_WORKDIR:-}" ]; then
	work=$FUZZ_WORKDIR
	mkdir -p "$work" || exit 2
	own_work=no
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/cfs-fuzz.XXXXXX") || exit 2
	own_work=yes
fi

# The modules each harness reaches; libmount only for the option classifier.
sources() {
	case $1 in
	options) echo "options.c errors.c log.c idmap.c mountns.c layers.c" ;;
	layers) echo "layers.c" ;;
	idmap) echo "idmap.c mountns.c errors.c log.c" ;;
	*) return 1 ;;
	esac
}
libs() {
	[ "$1" = options ] && echo "$mount_libs"
	return 0
}

build() {
	h=$1
	srcs=
	for f in $(sources "$h"); do
		srcs="$srcs $srcdir/src/$f"
	done
	# shellcheck disable=SC2086,SC2046
	"$cc" -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$warn_cflags ${FUZZ_CFLAGS:-} \
		-include "$builddir/config.h" -I"$srcdir/src" $mount_cflags \
		-o "$work/fuzz_$h" "$here/fuzz_$h.c" $srcs $(libs "$h")
}

status=0
summary=
for h in $harnesses; do
	if ! sources "$h" >/dev/null; then
		echo "$0: unknown harness $h (options, layers or idmap)" >&2
		exit 2
	fi
	if [ ! -d "$here/corpus/$h" ]; then
		echo "$0: no seed corpus $here/corpus/$h" >&2
		exit 2
	fi
	if ! build "$h"; then
		echo "fuzz_$h: build failed" >&2
		exit 2
	fi
	rm -rf "${work:?}/$h"
	mkdir -p "$work/$h/artifacts"
	cp -R "$here/corpus/$h" "$work/$h/corpus"

	echo "fuzz_$h: ${seconds}s on $(find "$work/$h/corpus" -type f | wc -l) seeds"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
		"$work/fuzz_$h" -max_total_time="$seconds" -max_len="$max_len" \
		-timeout=10 -detect_leaks=1 -print_final_stats=1 \
		-artifact_prefix="$work/$h/artifacts/" \
		"$work/$h/corpus" >"$work/$h/log" 2>&1
	rc=$?

	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h/log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$h/log" | tail -n 1)
	# UBSan reports are fatal here (-fno-sanitize-recover), but a report
	# that slipped through must still fail the run.
	if [ $rc -ne 0 ] || grep -q -e 'runtime error:' -e '^==[0-9]*==ERROR:' \
		-e 'ERROR: libFuzzer' "$work/$h/log"; then
		echo "fuzz_$h: FAILED (exit $rc); log and reproducer:" >&2
		grep -A 40 -m 1 -e 'runtime error:' -e '==ERROR:' -e 'ERROR: libFuzzer' \
			"$work/$h/log" >&2
		for a in "$work/$h/artifacts"/*; do
			[ -e "$a" ] && echo "  reproduce: $work/fuzz_$h $a" >&2
		done
		status=1
		line="fuzz_$h: FAILED"
	else
		line="fuzz_$h: ok, ${execs:-?} execs, ${rate:-?} execs/s"
	fi
	echo "$line"
	summary="$summary$line
"
done

printf '%s' "$summary"
if [ $status -ne 0 ] || [ "${FUZZ_KEEP:-no}" = yes ] || [ "$own_work" = no ]; then
	echo "work directory kept: $work"
else
	rm -rf "$work"
fi
exit $status

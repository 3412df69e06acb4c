#!/bin/sh
# The whole test suite: builds in _build (and _build-asan with --sanitizers)
# and runs `make check` there, as root for the integration tests.
set -e
cd "$(dirname "$0")/.."
sanitizers=no
fuzz=no
for arg in "$@"; do
	case $arg in
	--sanitizers) sanitizers=yes ;;
	--fuzz) fuzz=yes ;;
	*) echo "usage: tests/check.sh [--sanitizers] [--fuzz]" >&2; exit 2 ;;
	esac
done

# LeakSanitizer matches tests/lsan.supp by function name, which needs the
# symbolizer: without it Criterion's own leak aborts every unit test binary.
if [ "$sanitizers" = yes ] && ! command -v llvm-symbolizer >/dev/null; then
	echo "tests/check.sh --sanitizers: llvm-symbolizer is missing (apt-get install llvm, or contrib/install-deps.sh)" >&2
	exit 2
fi

[ -x configure ] || ./autogen.sh >/dev/null

status=0
run_suite() {
	dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && ../configure -q "$@" && make -s -j"$(nproc)" && make -s check) || status=1
	if [ -f "$dir/test-suite.log" ]; then
		pass=$(sed -n 's/^# PASS: *//p' "$dir/test-suite.log")
		fail=$(sed -n 's/^# FAIL: *//p' "$dir/test-suite.log")
		err=$(sed -n 's/^# ERROR: *//p' "$dir/test-suite.log")
		skip=$(sed -n 's/^# SKIP: *//p' "$dir/test-suite.log")
		echo "$dir: ${pass:-0} passed, $(( ${fail:-0} + ${err:-0} )) failed, ${skip:-0} skipped"
		total_pass=$((total_pass + ${pass:-0}))
		total_fail=$((total_fail + ${fail:-0} + ${err:-0}))
		total_skip=$((total_skip + ${skip:-0}))
	fi
}
total_pass=0 total_fail=0 total_skip=0
# The C follows .clang-format (kernel-like): an unformatted change fails here.
if command -v clang-format >/dev/null; then
	if clang-format --style=file --dry-run -Werror src/*.[ch] helpers/*.c tests/*.c \
		tests/fuzz/*.c tests/bench/*.c 2>&1 | head -20 | grep .; then
		echo "clang-format: the files above need formatting (clang-format -i --style=file FILE)"
		status=1
	fi
fi
run_suite _build
if [ "$sanitizers" = yes ]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		run_suite _build-asan --enable-sanitizers CC=clang
fi
if [ "$fuzz" = yes ]; then
	# libFuzzer harnesses (tests/fuzz), FUZZ_SECONDS (60) each, built with
	# clang against _build's config.h.
	FUZZ_SECONDS=${FUZZ_SECONDS:-60} tests/fuzz/run.sh _build || status=1
fi
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
exit $status

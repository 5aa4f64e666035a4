#!/bin/sh
# run_expr_fuzz.sh: builds the pvrt_expr libFuzzer target with clang-14,
# replays its seed corpus, then fuzzes for a bounded time.
#
# Usage: tests/fuzz/run_expr_fuzz.sh [seconds]     (default 60)
# Environment: PVRT_FUZZ_BUILD (build folder, default <repo>/build-fuzz-expr),
#              PVRT_FUZZ_JOBS (parallel build jobs, default 2).
# New inputs found while fuzzing go to $PVRT_FUZZ_BUILD/corpus_expr (the
# committed seeds stay untouched); a crash leaves its reproducer in
# $PVRT_FUZZ_BUILD/artifacts and makes the script exit non-zero.
set -eu
seconds=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${PVRT_FUZZ_BUILD:-$repo/build-fuzz-expr}
jobs=${PVRT_FUZZ_JOBS:-2}

CC=clang-14 CXX=clang++-14 cmake -S "$repo" -B "$build" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPVRT_FUZZ=ON >/dev/null
cmake --build "$build" -j"$jobs" --target fuzz_expr

fuzzer="$build/tests/fuzz_expr"
mkdir -p "$build/corpus_expr" "$build/artifacts"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1

echo "== replaying the seed corpus"
"$fuzzer" -runs=0 "$here/corpus_expr"
echo "== fuzzing for ${seconds}s"
"$fuzzer" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$build/artifacts/" \
    "$build/corpus_expr" "$here/corpus_expr"

#!/usr/bin/env bash
# test.sh: installs what is missing, builds, and runs every test.
#
#   1. release build (gcc): the whole suite through CTest;
#   2. ASan+UBSan build (clang-14): the whole suite again;
#   3. TSan build (clang-14): the concurrency tests;
#   4. the expression fuzzer: corpus replay plus a bounded run;
#   5. the GDAL version matrix (scripts/test-gdal-versions.sh): the suite
#      built and run against Debian 13's GDAL 3.10 and unstable's 3.13 in
#      mmdebstrap chroots (this machine's 3.6 is step 1);
#   6. the Debian package installed into a clean Debian 12 root
#      (scripts/test-deb.sh);
# and checks that the sources are clang-formatted. Steps 5 and 6 need root
# and Debian's archive; PVRT_TEST_VERSIONS=0 skips them.
# Ends with one line "pvrt: N passed, M failed" and exits non-zero on any
# failure or sanitizer report. PVRT_TEST_QUICK=1 runs step 1 only.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)

scripts/setup.sh build || exit 1

passed=0
failed=0
log_dir=$root/build/test-logs
mkdir -p "$log_dir"

# run_ctest <name> <build-dir> [ctest args...]: runs ctest, adds its counts.
run_ctest() {
  local name=$1 dir=$2
  shift 2
  echo "== ctest ($name)"
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" "$@" 2>&1 | tee "$log_dir/$name.log"
  local line
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log_dir/$name.log" | tail -1)
  if [ -z "$line" ]; then
    echo "pvrt: ctest ($name) ran no test or did not finish" >&2
    failed=$((failed + 1))
    return
  fi
  local total nfail
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  nfail=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
  passed=$((passed + total - nfail))
  failed=$((failed + nfail))
  if grep -qE "==ABORTING|runtime error:|WARNING: ThreadSanitizer|ERROR: LeakSanitizer" "$log_dir/$name.log"; then
    echo "pvrt: sanitizer report in ctest ($name)" >&2
    failed=$((failed + 1))
  fi
}

run_ctest release build

# The committed .clang-format is how the code reads: check it.
if command -v clang-format-14 >/dev/null; then
  unformatted=$(git ls-files '*.c' '*.h' '*.cpp' '*.hpp' 2>/dev/null |
    while read -r f; do
      clang-format-14 --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"
    done)
  if [ -n "$unformatted" ]; then
    echo "pvrt: not clang-formatted (run clang-format-14 -i on them):" >&2
    echo "$unformatted" >&2
    failed=$((failed + 1))
  else
    echo "== clang-format: clean"
    passed=$((passed + 1))
  fi
fi

if [ "${PVRT_TEST_QUICK:-0}" != 1 ]; then
  echo "== building with ASan+UBSan (clang-14)"
  CC=clang-14 CXX=clang++-14 cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DPVRT_SANITIZE=address >/dev/null && cmake --build build-asan -j"$jobs" >/dev/null \
    && run_ctest asan build-asan -LE "bench" \
    || { echo "pvrt: ASan build failed" >&2; failed=$((failed + 1)); }

  echo "== building with TSan (clang-14)"
  CC=clang-14 CXX=clang++-14 cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DPVRT_SANITIZE=thread >/dev/null && cmake --build build-tsan -j"$jobs" >/dev/null \
    && run_ctest tsan build-tsan -L concurrency \
    || { echo "pvrt: TSan build failed" >&2; failed=$((failed + 1)); }

  if [ -x tests/fuzz/run_expr_fuzz.sh ]; then
    echo "== expression fuzzer"
    if tests/fuzz/run_expr_fuzz.sh "${PVRT_FUZZ_SECONDS:-60}" >"$log_dir/fuzz.log" 2>&1; then
      passed=$((passed + 1))
    else
      tail -40 "$log_dir/fuzz.log"
      failed=$((failed + 1))
    fi
  fi

  if [ "${PVRT_TEST_VERSIONS:-1}" != 0 ]; then
    echo "== GDAL version matrix"
    if scripts/test-gdal-versions.sh trixie sid 2>&1 | tee "$log_dir/versions.log"; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
    fi
    echo "== Debian package in a clean Debian 12 root"
    if { scripts/build-deb.sh build-deb && scripts/test-deb.sh build-deb; } \
      >"$log_dir/deb.log" 2>&1; then
      tail -1 "$log_dir/deb.log"
      passed=$((passed + 1))
    else
      tail -40 "$log_dir/deb.log"
      failed=$((failed + 1))
    fi
  fi
fi

echo "pvrt: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

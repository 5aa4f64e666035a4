#!/usr/bin/env bash
# test-gdal-versions.sh [suite ...]: builds pvrt and runs its CTest suite
# against the GDAL of each Debian suite (default: bookworm trixie sid), the
# VRT driver of that same GDAL being the oracle, and prints a table:
# suite, GDAL version, compiler, build warnings, tests passed/failed.
#
# Each suite other than the host's own is a chroot made by mmdebstrap from
# Debian's archive, as apt is configured on this machine, cached under
# build/chroots/<suite> (PVRT_CHROOT_DIR) and re-created when missing. The
# host's own suite builds on the host, in build/matrix-<suite>. Every run
# copies the working tree (tracked and untracked, not ignored files) and
# builds from scratch, so warnings are counted over the whole build.
#
# Ends with "gdal-versions: N passed, M failed" (suites) and exits non-zero
# when any suite had a build error, a warning or a failed test. Root only
# (mmdebstrap, chroot, mount).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${PVRT_CHROOT_DIR:-$root/build/chroots}
jobs=$(nproc)
if [ $# -gt 0 ]; then suites=("$@"); else suites=(bookworm trixie sid); fi

if [ "$(id -u)" -ne 0 ]; then
  echo "test-gdal-versions.sh needs root (mmdebstrap, chroot)" >&2
  exit 2
fi
if ! command -v mmdebstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null ||
    { echo "cannot install mmdebstrap" >&2; exit 2; }
fi

host_suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
# What a suite needs to build and test pvrt (Debian package names).
packages=build-essential,cmake,libgdal-dev,gdal-bin,libgtest-dev,python3-gdal,python3-numpy,python3-rasterio,time
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}

mounted=()
cleanup() {
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null; done
}
trap cleanup EXIT

# make_root <suite> <dir>: creates the chroot unless a complete one is there.
make_root() {
  local suite=$1 dir=$2
  [ -f "$dir/.pvrt-complete" ] && return 0
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  echo "== $suite: creating a chroot in $dir (mmdebstrap, a few minutes)"
  # Unstable's Release file may be past its Valid-Until on a mirror.
  mmdebstrap --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' \
    --include="$packages" "$suite" "$dir" "$mirror" >"$dir.log" 2>&1 ||
    { tail -20 "$dir.log"; return 1; }
  touch "$dir/.pvrt-complete"
}

# copy_tree <dest>: the working tree as git sees it, ignored files left out.
copy_tree() {
  rm -rf "$1"
  mkdir -p "$1"
  git ls-files -z --cached --others --exclude-standard |
    tar --null -T - -cf - 2>/dev/null | tar -xf - -C "$1"
}

# in_root <dir> <command>: runs a shell command in the chroot (or on the
# host when dir is empty) with a clean environment.
in_root() {
  local dir=$1
  shift
  if [ -z "$dir" ]; then
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME" LANG=C.UTF-8 bash -c "$1"
  else
    chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      LANG=C.UTF-8 bash -c "$1"
  fi
}

# The chroots are made at once (mostly downloads), then built one by one.
for suite in "${suites[@]}"; do
  [ "$suite" = "$host_suite" ] || make_root "$suite" "$cache/$suite" &
done
wait

rows=()
ok=0
bad=0
for suite in "${suites[@]}"; do
  start=$(date +%s)
  if [ "$suite" = "$host_suite" ]; then
    dir=""
    src=$root/build/matrix-$suite/src
    bld=$root/build/matrix-$suite/build
    logs=$root/build/matrix-$suite
  else
    dir=$cache/$suite
    if ! make_root "$suite" "$dir"; then
      rows+=("$(printf '%-9s %-8s %-10s %-9s %s' "$suite" "-" "-" "-" "chroot failed")")
      bad=$((bad + 1))
      continue
    fi
    for m in proc dev/shm; do
      mkdir -p "$dir/$m"
      if ! mountpoint -q "$dir/$m"; then
        if [ "$m" = proc ]; then mount -t proc proc "$dir/proc"; else mount -t tmpfs tmpfs "$dir/$m"; fi
        mounted+=("$dir/$m")
      fi
    done
    src=$dir/src
    bld=/build
    logs=$cache/$suite-logs
  fi
  mkdir -p "$logs"
  copy_tree "$src"
  in_src=$([ -z "$dir" ] && echo "$src" || echo /src)
  if [ -z "$dir" ]; then rm -rf "$bld"; else rm -rf "${dir:?}$bld"; fi

  version=$(in_root "$dir" "gdal-config --version")
  compiler=$(in_root "$dir" "gcc -dumpfullversion")
  echo "== $suite: GDAL $version, gcc $compiler: building"
  in_root "$dir" "cmake -S $in_src -B $bld -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
      cmake --build $bld -j$jobs" >"$logs/build.log" 2>&1
  build_rc=$?
  warnings=$(grep -c 'warning:' "$logs/build.log")
  if [ $build_rc -ne 0 ]; then
    grep -E 'error|warning:' "$logs/build.log" | head -20
    result="build failed"
  else
    [ "$warnings" -gt 0 ] && grep 'warning:' "$logs/build.log" | head -20
    echo "== $suite: ctest"
    in_root "$dir" "ctest --test-dir $bld --output-on-failure -j$jobs -LE bench" \
      >"$logs/ctest.log" 2>&1
    line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$logs/ctest.log" | tail -1)
    if [ -z "$line" ]; then
      tail -30 "$logs/ctest.log"
      result="ctest did not finish"
    else
      total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
      nfail=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
      result="$((total - nfail))/$total passed"
      if [ "$nfail" -gt 0 ]; then
        grep -E "^\s*[0-9]+ - |\(Failed\)|\(Timeout\)" "$logs/ctest.log" | tail -20
        # What the failing tests said: their check lines (the log stays
        # in the chroot's cache, which CI does not keep).
        grep -E "^FAIL |\[  FAILED  \]|Failure$|Expected|Which is|Error" \
          "$logs/ctest.log" | head -40
        result="$result, $nfail FAILED"
      fi
    fi
  fi
  secs=$(($(date +%s) - start))
  rows+=("$(printf '%-9s %-8s %-10s %-9s %-26s %ss' "$suite" "$version" "gcc $compiler" "$warnings" "$result" "$secs")")
  if [[ "$result" == *" passed" && "$warnings" -eq 0 ]]; then
    ok=$((ok + 1))
  else
    bad=$((bad + 1))
  fi
done

echo
printf '%-9s %-8s %-10s %-9s %-26s %s\n' suite GDAL compiler warnings tests time
for r in "${rows[@]}"; do echo "$r"; done
echo "gdal-versions: $ok passed, $bad failed"
[ "$bad" -eq 0 ]

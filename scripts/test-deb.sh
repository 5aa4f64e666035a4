#!/usr/bin/env bash
# test-deb.sh [build-dir]: installs the Debian package in a clean Debian 12
# root and checks that GDAL loads it with no environment variable.
#
# Needs root (chroot, mount), mmdebstrap and apt access to a Debian mirror
# (PVRT_DEB_MIRROR, default http://deb.debian.org/debian) the first time.
# Builds the package with scripts/build-deb.sh when build-dir (default
# build-deb) holds none. The root, made with
#   mmdebstrap --variant=apt --include=gdal-bin bookworm <root> <mirror>
# is cached in build-dir/debroot/bookworm (about 450 MB, 2-3 minutes to
# make) and made again when missing. In it:
#   1. gdalinfo --format PVRT fails (no plugin yet);
#   2. apt-get install ./libgdal-pvrt_*.deb (dependencies from the root);
#   3. the .so sits flat in GDAL's plugin folder, no gdalplugins/<x.y>/;
#   4. with GDAL_DRIVER_PATH unset, gdalinfo --format PVRT finds the driver,
#      gdalinfo says a derived VRT opens with PVRT, and gdal_translate of it
#      (CPL_DEBUG=ON shows PVRT's threads) writes the same bytes as GDAL's
#      own VRT driver (PVRT_CLAIM=NONE), compared raw (ENVI .img files);
#   5. apt-get purge removes the .so, leaves no gdalplugins/<x.y>/, and
#      gdalinfo --format PVRT fails again.
# /proc is mounted in the root for the checks and unmounted on exit. Prints
# "PASS: test-deb ..." or "FAIL: test-deb ..." last; exit status 0 or 1.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
build=${1:-build-deb}
mkdir -p "$build"
build=$(cd "$build" && pwd)
mirror=${PVRT_DEB_MIRROR:-http://deb.debian.org/debian}
root=$build/debroot/bookworm
work=/tmp/pvrt-deb-test # inside the root
t0=$(date +%s)
proc_mounted=0

phase() { echo "== [$(($(date +%s) - t0))s] $*"; }
fail() {
  echo "test-deb.sh: $*" >&2
  exit 1
}
# Unmounts everything mounted below a folder, deepest first.
unmount_below() {
  local dir
  dir=$(realpath -m "$1")
  awk -v d="$dir/" 'substr($5, 1, length(d)) == d {print $5}' \
    /proc/self/mountinfo | sort -r | while read -r m; do umount "$m"; done
}
finish() {
  local rc=$?
  if [ "$proc_mounted" = 1 ]; then
    umount "$root/proc" || rc=1
  fi
  rm -rf "${root:?}$work"
  if [ $rc -eq 0 ]; then
    echo "PASS: test-deb: $(basename "$deb") installs, serves PVRT with" \
      "GDAL's bytes, removes cleanly ($(($(date +%s) - t0))s)"
  else
    echo "FAIL: test-deb (exit $rc, $(($(date +%s) - t0))s)"
  fi
  exit $rc
}
deb=none
trap finish EXIT

[ "$(id -u)" -eq 0 ] || fail "needs root (chroot and mount)"
command -v mmdebstrap >/dev/null || fail "needs mmdebstrap (apt-get install mmdebstrap)"

# ---- The package ----
deb=$(ls -t "$build"/libgdal-pvrt_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
  phase "building the package (scripts/build-deb.sh $build)"
  scripts/build-deb.sh "$build" >/dev/null
  deb=$(ls -t "$build"/libgdal-pvrt_*.deb | head -1)
fi
phase "package $deb"

# ---- The clean root, cached ----
if [ ! -f "$root/.pvrt-root-ready" ]; then
  phase "making a Debian 12 root with mmdebstrap (2-3 minutes)"
  unmount_below "$root.tmp"
  unmount_below "$root"
  rm -rf "$root.tmp" "$root"
  mkdir -p "$(dirname "$root")"
  mmdebstrap --quiet --variant=apt --include=gdal-bin bookworm "$root.tmp" \
    "$mirror"
  unmount_below "$root.tmp" # mmdebstrap may leave its /proc mounted
  mv "$root.tmp" "$root"
  touch "$root/.pvrt-root-ready"
fi

in_root() {
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"
}
unmount_below "$root"
mount -t proc proc "$root/proc"
proc_mounted=1
# A run stopped half way may have left the package installed.
in_root dpkg --purge libgdal-pvrt >/dev/null 2>&1 || true
rm -rf "${root:?}$work"
mkdir -p "$root$work"

gdal_version=$(in_root gdal-config --version 2>/dev/null ||
  in_root gdalinfo --version | sed 's/GDAL \([0-9.]*\).*/\1/')
major_minor=$(echo "$gdal_version" | cut -d. -f1,2)
# GDAL's plugin folder: gdalplugins/ beside libgdal (its compiled-in default).
libgdal=$(in_root sh -c 'ls /usr/lib/*/libgdal.so.[0-9]* /usr/lib/libgdal.so.[0-9]* 2>/dev/null; true' |
  head -1)
[ -n "$libgdal" ] || fail "no libgdal in the root"
plugin_dir=$(dirname "$libgdal")/gdalplugins
phase "root has GDAL $gdal_version; plugin folder $plugin_dir"

# 1. Nothing before the install.
if in_root gdalinfo --format PVRT >/dev/null 2>&1; then
  fail "the clean root already has a PVRT driver"
fi

# 2. Install with apt (it resolves Depends from the root's packages).
cp "$deb" "$root$work/"
phase "apt-get install ./$(basename "$deb")"
in_root sh -c "cd $work && apt-get install -y -q ./$(basename "$deb")" \
  >"$root$work/apt.log" 2>&1 || {
  cat "$root$work/apt.log"
  fail "apt-get install failed"
}

# 3. Where it went.
files=$(in_root dpkg -L libgdal-pvrt | grep '\.so$' || true)
[ "$files" = "$plugin_dir/gdal_PVRT.so" ] ||
  fail "package files: '$files', expected $plugin_dir/gdal_PVRT.so"
[ ! -e "$root$plugin_dir/$major_minor" ] ||
  fail "$plugin_dir/$major_minor exists: it would hide the folder's plugins"

# 4. GDAL finds it with no GDAL_DRIVER_PATH (in_root clears the environment).
in_root gdalinfo --format PVRT | grep -q "Short Name: PVRT" ||
  fail "gdalinfo --format PVRT does not find the driver after install"
cp "$repo/vrt-examples/expr_red.tif" "$repo/vrt-examples/expr_nir.tif" \
  "$root$work/"
cat >"$root$work/sum.vrt" <<'VRT'
<VRTDataset rasterXSize="256" rasterYSize="200">
  <VRTRasterBand dataType="Float32" band="1" subClass="VRTDerivedRasterBand">
    <PixelFunctionType>sum</PixelFunctionType>
    <SimpleSource><SourceFilename relativeToVRT="1">expr_red.tif</SourceFilename><SourceBand>1</SourceBand></SimpleSource>
    <SimpleSource><SourceFilename relativeToVRT="1">expr_nir.tif</SourceFilename><SourceBand>1</SourceBand></SimpleSource>
  </VRTRasterBand>
</VRTDataset>
VRT
in_root gdalinfo "$work/sum.vrt" | grep -q "^Driver: PVRT/" ||
  fail "gdalinfo did not open sum.vrt with PVRT"
phase "gdal_translate through PVRT and through GDAL's VRT driver"
in_root env CPL_DEBUG=ON PVRT_MIN_TILE_PIXELS=1024 gdal_translate -q \
  -of ENVI "$work/sum.vrt" "$work/pvrt.img" 2>"$root$work/debug.txt" ||
  fail "gdal_translate through PVRT failed"
grep -q "^PVRT: .*sum.vrt: [0-9]* threads" "$root$work/debug.txt" || {
  cat "$root$work/debug.txt"
  fail "no PVRT open in gdal_translate's debug output"
}
phase "$(grep -m1 "^PVRT: .*sum.vrt: [0-9]* threads" "$root$work/debug.txt")"
in_root env PVRT_CLAIM=NONE gdal_translate -q -of ENVI "$work/sum.vrt" \
  "$work/vrt.img" || fail "gdal_translate through the VRT driver failed"
in_root env PVRT_CLAIM=NONE gdalinfo "$work/sum.vrt" | grep -q "^Driver: VRT/" ||
  fail "PVRT_CLAIM=NONE did not leave sum.vrt to the VRT driver"
cmp "$root$work/pvrt.img" "$root$work/vrt.img" ||
  fail "PVRT's bytes differ from GDAL's VRT driver's"
[ "$(stat -c %s "$root$work/pvrt.img")" -eq $((256 * 200 * 4)) ] ||
  fail "unexpected output size"

# 5. Removal.
phase "apt-get purge libgdal-pvrt"
in_root apt-get purge -y -q libgdal-pvrt >"$root$work/apt.log" 2>&1 || {
  cat "$root$work/apt.log"
  fail "apt-get purge failed"
}
[ ! -e "$root$plugin_dir/gdal_PVRT.so" ] || fail "gdal_PVRT.so is still there"
[ ! -e "$root$plugin_dir/$major_minor" ] ||
  fail "$plugin_dir/$major_minor exists after removal"
if in_root gdalinfo --format PVRT >/dev/null 2>&1; then
  fail "gdalinfo still finds PVRT after removal"
fi
in_root dpkg -s libgdal-pvrt >/dev/null 2>&1 && fail "dpkg still lists the package"
true

#!/usr/bin/env bash
# setup.sh [build-dir]: installs the Debian 12 packages pvrt needs (when
# missing), then configures and builds the plugin and its tests.
# Safe to run again: it installs nothing that is there and rebuilds only
# what changed. Not root? It prints the apt-get line to run instead.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

packages=(cmake make gcc g++ clang-14 clang-format-14 libclang-rt-14-dev libgdal-dev gdal-bin time
          python3-gdal python3-numpy python3-rasterio libgtest-dev valgrind
          python3-distributed python3-rioxarray python3-qgis qgis-providers
          mmdebstrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "pvrt needs these Debian packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "== installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== building in $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
echo "== plugin: $(ls "$build"/plugins/*/gdal_PVRT.so) (GDAL_DRIVER_PATH=$build/plugins)"

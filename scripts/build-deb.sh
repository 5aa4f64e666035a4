#!/usr/bin/env bash
# build-deb.sh [build-dir]: builds the Debian package of the plugin,
# libgdal-pvrt_<version>_<arch>.deb, in build-dir (default build-deb) and
# prints its path.
#
# The package holds gdal_PVRT.so flat in the system GDAL's plugin folder
# (/usr/lib/<multiarch>/gdalplugins on Debian) and depends on the libgdal
# soname package the plugin was linked against (libgdal32 on Debian 12), so
# every GDAL program, QGIS included, loads it with no environment variable.
# A release build without the tests; cpack -G DEB does the packaging
# (CMakeLists.txt sets its fields). scripts/test-deb.sh installs it in a
# clean Debian 12 root and checks it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-deb}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPVRT_TESTS=OFF \
  -DPVRT_USER_INSTALL=OFF -DPVRT_INSTALL_PLUGIN_DIR= -DPVRT_SANITIZE= >/dev/null
cmake --build "$build" -j"$(nproc)"
(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls -t "$build"/libgdal-pvrt_*.deb | head -1)
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Architecture\|Depends\):/\1:/p'
dpkg-deb --contents "$deb" | awk '{print "  " $NF}'
echo "$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")"

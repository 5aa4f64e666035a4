#!/bin/bash
# run.sh: the access-pattern benchmark of issue 10 (bench/clients/README.md).
#
#   bench/clients/run.sh [--rounds N] [--only PATTERN[,PATTERN]]... [--size N]
#                        [--threads N] [--cache-mb N] [--qgis] [--data DIR]
#                        [--keep]
#
# Runs every access pattern with GDAL's VRT driver and with PVRT, alternating,
# each run in a fresh process, checks that both drivers' outputs are
# byte-identical, and prints best times, speed-ups, peak RSS and their
# geometric mean (bench/clients/bench.py does the work).
#
# The plugin is not built here: it is taken from $PVRT_PLUGIN_DIR (default
# build/plugins under the repository), the folder GDAL_DRIVER_PATH names.
# Exit status: 0; 1 if a run failed or outputs differ (MISMATCH); 2 on bad
# usage or set-up.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
plugin_dir=${PVRT_PLUGIN_DIR:-$repo/build/plugins}
# GDAL scans DIR/<major.minor>/ instead of DIR when that folder exists.
gdal_mm=$(gdalinfo --version | sed -n 's/^GDAL \([0-9]*\.[0-9]*\).*/\1/p')
plugin=$plugin_dir/gdal_PVRT.so
[ -d "$plugin_dir/$gdal_mm" ] && plugin=$plugin_dir/$gdal_mm/gdal_PVRT.so
if [ ! -f "$plugin" ]; then
    echo "run.sh: no $plugin" >&2
    echo "  build it (cmake -S $repo -B $repo/build -DCMAKE_BUILD_TYPE=Release" \
         "&& cmake --build $repo/build) or set PVRT_PLUGIN_DIR" >&2
    exit 2
fi
plugin_dir=$(cd "$plugin_dir" && pwd)
exec /usr/bin/python3 "$here/bench.py" --plugins "$plugin_dir" "$@"

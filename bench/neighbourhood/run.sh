#!/bin/bash
# run.sh: the neighbourhood benchmark of issue 12 (bench/neighbourhood/README.md).
#
#   bench/neighbourhood/run.sh [--rounds N] [--only CASE[,CASE]]...
#                              [--threads N] [--compress NONE|DEFLATE]
#                              [--wait-idle SECS] [--data DIR] [--keep]
#
# Cases: hillshade and slope (gdaldem against gdal_translate of a
# pvrt_terrain VRT through PVRT, 8192x8192 Float32 DEM), focal (a 5x5 focal
# median of a 4096x4096 Float32 raster: scipy.ndimage.median_filter against
# a pvrt_focal VRT read through PVRT), each PVRT run at its default threads
# and at NUM_THREADS=1. Every run is a fresh process; runs alternate, the
# best of N rounds counts; outputs are checked pixel for pixel
# (bench/neighbourhood/bench.py does the work).
#
# The plugin is not built here: it is taken from $PVRT_PLUGIN_DIR (default
# build/plugins under the repository), the folder GDAL_DRIVER_PATH names.
# The data (about 330 MB) is written once into DIR, by default
# bench-neighbourhood-data next to that plugin folder (in the build tree),
# with -deflate appended for --compress DEFLATE.
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
for tool in gdaldem gdal_translate /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing" >&2; exit 2; }
done
plugin_dir=$(cd "$plugin_dir" && pwd)

data=""
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --data) data=${2:?--data needs a folder}; shift 2 ;;
        --data=*) data=${1#*=}; shift ;;
        --compress) args+=("$1" "${2:?--compress needs NONE or DEFLATE}")
                    [ "$2" = DEFLATE ] && suffix=-deflate; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
[ -n "$data" ] || data=$(dirname "$plugin_dir")/bench-neighbourhood-data${suffix:-}
exec /usr/bin/python3 "$here/bench.py" --plugins "$plugin_dir" --data "$data" "${args[@]}"

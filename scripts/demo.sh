#!/bin/bash
# demo.sh: the pvrt demo. Translates vrt-examples/demo_sum.vrt (a derived
# band summing 8 DEFLATE-compressed UInt16 rasters) with GDAL's own VRT
# driver and with PVRT, and prints both times, the speed-up and whether the
# two outputs are identical.
#
#   scripts/demo.sh [BUILD_DIR] [--size N] [--reps R]
#
# BUILD_DIR (default build/ under the repository) must hold the built plugin
# in plugins/gdal_PVRT.so; this script builds nothing. Inputs (8 x N x N,
# default N=4096, ~130 MB, written once and then reused) and outputs go to
# BUILD_DIR/demo/, never into the source tree. Each driver runs R times
# (default 3), alternating which goes first; the times shown are medians
# and the speed-up is the median of the per-round ratios. Both runs use the
# same GDAL_CACHEMAX (256 MB). Exit status: 0 when the outputs are
# identical, 1 when they differ or a run fails, 2 on bad usage or set-up.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
py=/usr/bin/python3

build=
size=4096
reps=3
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=${2:?--size needs a value}; shift 2 ;;
        --reps) reps=${2:?--reps needs a value}; shift 2 ;;
        -h|--help) sed -n '7p' "$0" | sed 's/^# *//'; exit 0 ;;
        -*) echo "demo.sh: unknown option '$1'" >&2; exit 2 ;;
        *) [ -z "$build" ] || { echo "demo.sh: one build dir only" >&2; exit 2; }
           build=$1; shift ;;
    esac
done
build=${build:-$repo/build}
case "$size$reps" in *[!0-9]*) echo "demo.sh: --size and --reps take integers" >&2; exit 2 ;; esac
[ "$reps" -ge 1 ] || { echo "demo.sh: --reps must be at least 1" >&2; exit 2; }

if ! ls "$build"/plugins/*/gdal_PVRT.so >/dev/null 2>&1; then
    echo "demo.sh: no $build/plugins/<gdal major.minor>/gdal_PVRT.so: build the project first" \
         "(scripts/setup.sh does), or pass the build dir" >&2
    exit 2
fi
build=$(cd "$build" && pwd)
command -v gdal_translate >/dev/null || {
    echo "demo.sh: gdal_translate not found (apt-get install gdal-bin)" >&2; exit 2; }
"$py" -c 'import numpy, osgeo.gdal' 2>/dev/null || {
    echo "demo.sh: $py lacks numpy or GDAL (apt-get install python3-numpy python3-gdal)" >&2
    exit 2; }

scratch=$build/demo
mkdir -p "$scratch"
echo "demo: writing inputs (8 x ${size}x${size} UInt16, DEFLATE) to $scratch (once)"
"$py" "$repo/vrt-examples/make_demo_inputs.py" "$scratch" --size "$size"
vrt=$scratch/demo_sum.vrt

export GDAL_DRIVER_PATH=$build/plugins
export GDAL_CACHEMAX=256
unset PVRT_CLAIM PVRT_NUM_THREADS GDAL_SWATH_SIZE 2>/dev/null || true

d_vrt=$(gdalinfo --config PVRT_CLAIM NONE "$vrt" 2>&1 | sed -n 's/^Driver: //p')
d_pvrt=$(gdalinfo "$vrt" 2>&1 | sed -n 's/^Driver: //p')
if [ "${d_vrt%%/*}" != VRT ] || [ "${d_pvrt%%/*}" != PVRT ]; then
    echo "demo.sh: demo_sum.vrt opens with '${d_vrt:-nothing}' and" \
         "'${d_pvrt:-nothing}', expected VRT and PVRT" >&2
    exit 1
fi

# timed MODE: translates once, prints the wall time in seconds.
timed() {
    local mode=$1 out=$scratch/out_$1.tif args=(-q)
    [ "$mode" = vrt ] && args+=(--config PVRT_CLAIM NONE)
    rm -f "$out"
    local t0 t1
    t0=$(date +%s%N)
    if ! gdal_translate "${args[@]}" "$vrt" "$out" >"$scratch/log_$mode" 2>&1; then
        echo "demo.sh: gdal_translate with the $mode driver failed:" >&2
        cat "$scratch/log_$mode" >&2
        return 1
    fi
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000000 ))
}

echo "demo: gdal_translate demo_sum.vrt -> GTiff, $reps rounds, $(nproc) CPUs"
times_vrt=() times_pvrt=()
for r in $(seq 1 "$reps"); do
    if [ $((r % 2)) = 1 ]; then order="vrt pvrt"; else order="pvrt vrt"; fi
    for m in $order; do
        ms=$(timed "$m") || exit 1
        if [ "$m" = vrt ]; then times_vrt+=("$ms"); else times_pvrt+=("$ms"); fi
    done
done

if verdict=$("$py" "$repo/bench/compare_rasters.py" \
        "$scratch/out_vrt.tif" "$scratch/out_pvrt.tif"); then
    same=yes
else
    same="NO ($verdict)"
fi

"$py" - "${times_vrt[*]}" "${times_pvrt[*]}" "$same" <<'EOF'
import statistics, sys
tv = [int(x) / 1000 for x in sys.argv[1].split()]
tp = [int(x) / 1000 for x in sys.argv[2].split()]
same = sys.argv[3]
ratio = statistics.median(a / b for a, b in zip(tv, tp))
print(f"  GDAL VRT driver (serial): {statistics.median(tv):6.2f} s"
      f"   (runs: {', '.join(f'{t:.2f}' for t in tv)})")
print(f"  PVRT (all cores):         {statistics.median(tp):6.2f} s"
      f"   (runs: {', '.join(f'{t:.2f}' for t in tp)})")
print(f"  speed-up:                 {ratio:6.2f}x")
print(f"  outputs identical:        {same:>6}")
EOF
[ "$same" = yes ]

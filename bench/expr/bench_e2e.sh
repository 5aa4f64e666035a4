#!/bin/bash
# bench_e2e.sh: end-to-end NDVI, gdal_translate of an 8192x8192 Float32
# NDVI from two UInt16 DEFLATE inputs, side by side in one run:
#   pvrt      PVRT driver (GDAL_DRIVER_PATH=plugins), pvrt_expr VRT
#   vrt-expr  GDAL's VRT driver (PVRT_CLAIM=NONE), the same VRT, one thread
#   nested    GDAL 3.6 without pvrt: nested VRTs div(diff, sum), VRT driver
#   rasterio  rasterio + 2-thread pool, read lock / write lock / numpy
#   decode    decode floor: both inputs decoded by 2 threads, nothing else
# Prints median wall seconds over REPS and ratios to pvrt; checks that the
# pvrt and vrt-expr outputs are identical (bench/compare_rasters.py).
#
# Usage: bench/expr/bench_e2e.sh [BUILD_DIR] [SIZE] [REPS]
#   BUILD_DIR default build-expr (needs plugins/gdal_PVRT.so), SIZE 8192,
#   REPS 3. Data in ${TMPDIR:-/tmp}/pvrt-bench-expr-e2e (inputs kept).
# Same GDAL_CACHEMAX (256 MB) for every GDAL run. On a shared machine the
# parallel runs are throttled by others' load: compare ratios run to run.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build-expr}" && pwd)
size=${2:-8192}
reps=${3:-3}
py=/usr/bin/python3
data=${TMPDIR:-/tmp}/pvrt-bench-expr-e2e
plugins=$build/plugins
mkdir -p "$data"
env -u GDAL_DRIVER_PATH $py "$here/make_e2e_inputs.py" "$data" "$size"
red=$data/red_$size.tif
nir=$data/nir_$size.tif
export GDAL_CACHEMAX=256

timed() { # wall seconds of a command
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>"$data/err.log" || { cat "$data/err.log" >&2; return 1; }
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
}

declare -A times
cases="pvrt vrt-expr nested rasterio decode"
for ((r = 0; r < reps; r++)); do
    for c in $cases; do
        rm -f "$data/out_$c.tif"
        case $c in
        pvrt) t=$(GDAL_DRIVER_PATH=$plugins timed gdal_translate -q \
                  "$data/ndvi_expr.vrt" "$data/out_pvrt.tif") ;;
        vrt-expr) t=$(GDAL_DRIVER_PATH=$plugins timed gdal_translate -q \
                  --config PVRT_CLAIM NONE "$data/ndvi_expr.vrt" "$data/out_vrt-expr.tif") ;;
        nested) t=$(GDAL_DRIVER_PATH=$plugins timed gdal_translate -q \
                  --config PVRT_CLAIM NONE "$data/ndvi_nested.vrt" "$data/out_nested.tif") ;;
        rasterio) t=$(timed env -u GDAL_DRIVER_PATH $py "$here/ndvi_rasterio.py" \
                  "$red" "$nir" "$data/out_rasterio.tif" --workers 2) ;;
        decode) t=$(timed env -u GDAL_DRIVER_PATH $py "$here/ndvi_rasterio.py" \
                  "$red" "$nir" --decode-only --workers 2) ;;
        esac
        times[$c]="${times[$c]:-} $t"
        echo "run $((r + 1)) $c ${t}s"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
echo "gdal_translate NDVI ${size}x${size}, median of $reps, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
p=$(echo "${times[pvrt]}" | median)
for c in $cases; do
    m=$(echo "${times[$c]}" | median)
    printf "%-9s %8.2f s   %6.2fx pvrt's time\n" "$c" "$m" "$(echo "$m / $p" | bc -l)"
done
env -u GDAL_DRIVER_PATH $py "$repo/bench/compare_rasters.py" \
    "$data/out_pvrt.tif" "$data/out_vrt-expr.tif"

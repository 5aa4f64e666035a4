#!/bin/sh
# bench_expr.sh: single-thread NDVI throughput, side by side in one run:
#   1. pvrt_expr called in process vs a hand-written C kernel (bench_expr.c);
#   2. through GDAL's VRT driver, serially: pvrt_expr in one VRT vs GDAL
#      3.6's best without pvrt, nested VRTs div(diff, sum);
#   3. numexpr on one thread and plain numpy (Debian's /usr/bin/python3).
#
# Usage: bench/expr/bench_expr.sh [BUILD_DIR] [SIZE]
#   BUILD_DIR: a pvrt build with plugins/gdal_PVRT.so (default build-expr)
#   SIZE: raster side (default 8192); data goes to ${TMPDIR:-/tmp}/pvrt-bench-expr
# The machine is shared: run it twice and compare ratios, not absolutes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build-expr}" && pwd)
size=${2:-8192}
data=${TMPDIR:-/tmp}/pvrt-bench-expr
mkdir -p "$data"

echo "== 1. in process (gcc -O2 -ffp-contract=off, as the plugin is built)"
gcc -std=c11 -O2 -g -ffp-contract=off -D_POSIX_C_SOURCE=200809L \
    -I"$repo/pixelfuncs" $(gdal-config --cflags) \
    "$here/bench_expr.c" "$repo"/pixelfuncs/expr_func.c \
    "$repo"/pixelfuncs/rowio.c "$repo"/pixelfuncs/args.c "$repo"/pixelfuncs/expr/*.c \
    $(gdal-config --libs) -lm -lpthread -o "$data/bench_expr"
"$data/bench_expr" --size "$size"

echo "== 2. through GDAL's VRT driver, one thread"
/usr/bin/python3 "$here/bench_gdal.py" "$data" "$size" "$build/plugins"

echo "== 3. numexpr, one thread"
/usr/bin/python3 "$here/bench_numexpr.py" "$size"

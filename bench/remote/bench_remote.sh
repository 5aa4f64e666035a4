#!/bin/bash
# bench_remote.sh: remote VRTs (COGs over HTTP, 50 ms per request) through
# GDAL's VRT driver and through PVRT: wall time, requests, peak requests in
# flight, speed-up and the latency floor, measured side by side.
#
#   bench/remote/bench_remote.sh [--reps N] [--latency-ms 50] [--threads N]
#                                [--case mosaic|ndvi|ndvi_expr]
#                                [--curl-cache-mb MB]
#
# Data (made once, about half a minute, into bench/data/remote/, not
# committed): 16 COGs of 1024x1024 UInt16 mosaicked by a VRT (4096x4096),
# and an NDVI over two 4096x4096 UInt16 COGs, as GDAL 3.6 writes it (nested
# builtin div/diff/sum VRTs) and with pvrt_expr (ndvi_expr); all tiled 512
# with overviews. A loopback server (tests/remote/httpserver.py, 127.0.0.1 only,
# exits by itself within an hour) adds the latency to every request. Each
# run is a fresh gdal_translate (cold caches); VRT driver = PVRT_CLAIM=NONE,
# PVRT = PVRT_CLAIM=ALL with its default thread count for network sources
# unless --threads. Outputs are compared pixel for pixel; exit 1 if any
# pair differs. The plugin comes from $PVRT_PLUGIN_DIR (default
# build/plugins). Timings on a shared machine are information, not a gate.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
plugin_dir=${PVRT_PLUGIN_DIR:-$repo/build/plugins}
if ! ls "$plugin_dir"/*/gdal_PVRT.so >/dev/null 2>&1; then
    echo "bench_remote.sh: no gdal_PVRT.so in $plugin_dir (build it or set" \
         "PVRT_PLUGIN_DIR)" >&2
    exit 2
fi
export GDAL_DRIVER_PATH=$(cd "$plugin_dir" && pwd)
exec /usr/bin/python3 "$here/bench_remote.py" "$@"

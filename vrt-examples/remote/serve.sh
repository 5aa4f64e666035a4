#!/bin/sh
# serve.sh: serves the data of the remote examples on a loopback port, so
# remote_mosaic.vrt and remote_ndvi.vrt (next to this script) can be read
# without any cloud account.
#
#   vrt-examples/remote/serve.sh            # generate data, serve it, wait
#   # in another shell:
#   GDAL_DRIVER_PATH=<build>/plugins PVRT_CLAIM=ALL \
#     gdal_translate vrt-examples/remote/remote_mosaic.vrt /tmp/mosaic.tif
#
# Options (environment): PORT (8765: the port the VRTs name; change both
# together), LATENCY_MS (50: a round trip added to every request, like a
# cloud bucket), LIFETIME (3600: the server exits by itself after that many
# seconds), DATA (${TMPDIR:-/tmp}/pvrt-remote-example: where the COGs are
# written; generated once, reused afterwards).
#
# The server is tests/remote/httpserver.py: Python standard library only,
# bound to 127.0.0.1, GET/HEAD with byte ranges. GET /__stats on it returns
# the request count and the peak number of requests in flight.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
py=/usr/bin/python3
port=${PORT:-8765}
latency=${LATENCY_MS:-50}
lifetime=${LIFETIME:-3600}
data=${DATA:-${TMPDIR:-/tmp}/pvrt-remote-example}

if ! "$py" -c "import osgeo.gdal, numpy" 2>/dev/null; then
    echo "serve.sh: $py cannot import osgeo and numpy;" \
         "run: apt-get install python3-gdal python3-numpy" >&2
    exit 1
fi
# 2x2 COGs of 1024x1024 UInt16 (tiles 512, overviews) and red/nir COGs of
# 1024x1024 for the NDVI: a few seconds, once.
"$py" "$repo/tests/remote/make_remote_data.py" "$data" --mosaic 2x2 \
    --tile-size 1024 --ndvi-size 1024 --block 512 >/dev/null
echo "serve.sh: data in $data; http://127.0.0.1:$port/ with ${latency} ms" \
     "per request, for ${lifetime} s (Ctrl-C stops it)" >&2
exec "$py" "$repo/tests/remote/httpserver.py" --root "$data" --port "$port" \
    --latency-ms "$latency" --lifetime "$lifetime" --quiet

#!/usr/bin/env bash
# fd_limit.sh: a derived VRT over 40 sources read with NUM_THREADS=8 under
# a hard limit of 64 file descriptors. The plugin cannot raise the limit,
# so it must cap its threads (8 clones x 40 sources would need 320
# descriptors) and still return GDAL's bytes, never fail or crash.
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
src=""
for i in $(seq 1 40); do
  gdal_create -q -of GTiff -outsize 256 192 -bands 1 -ot Byte -burn $((i * 3)) \
    -co TILED=YES -co BLOCKXSIZE=64 -co BLOCKYSIZE=64 "$dir/s$i.tif"
  src="$src<SimpleSource><SourceFilename relativeToVRT=\"1\">s$i.tif</SourceFilename><SourceBand>1</SourceBand></SimpleSource>"
done
cat > "$dir/sum.vrt" <<VRT
<VRTDataset rasterXSize="256" rasterYSize="192">
  <VRTRasterBand dataType="Float32" band="1" subClass="VRTDerivedRasterBand">
    <PixelFunctionType>sum</PixelFunctionType>$src
  </VRTRasterBand>
</VRTDataset>
VRT
want=$(gdalinfo -checksum --config PVRT_CLAIM NONE "$dir/sum.vrt" | grep Checksum)
got=$( (ulimit -n 64; gdalinfo -checksum --debug PVRT -oo NUM_THREADS=8 \
        -oo MIN_TILE_PIXELS=64 "$dir/sum.vrt") 2>"$dir/err.txt" | grep Checksum || true)
if [ "$got" != "$want" ]; then
  echo "under ulimit -n 64: '$got', expected '$want'"; cat "$dir/err.txt"; exit 1
fi
grep -q "capped" "$dir/err.txt" || { echo "no debug message about the cap"; cat "$dir/err.txt"; exit 1; }
grep -q "PVRT" "$dir/err.txt" || { echo "PVRT did not read it"; exit 1; }
echo "ok: $got, threads capped"

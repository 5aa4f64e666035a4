#!/usr/bin/env bash
# valgrind_unload.sh: under valgrind, gdalinfo -checksum of a small derived
# VRT whose reads are split across the pool (forced small tiles), then GDAL
# unloads the driver at exit. Checks that the pool was used, that valgrind
# reports no error and no definitely lost bytes, and that every pool thread
# was joined (valgrind counts threads still alive at exit as "still
# reachable" or "possibly lost" stacks created by the pool).
# Needs: valgrind, gdal_translate, gdalinfo; GDAL_DRIVER_PATH set by CTest.
set -euo pipefail
if ! command -v valgrind >/dev/null; then
  echo "valgrind not installed: skipped"
  exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
gdal_create -q -of GTiff -outsize 300 200 -bands 1 -ot UInt16 -burn 7 \
  -co TILED=YES -co BLOCKXSIZE=64 -co BLOCKYSIZE=64 "$dir/src.tif"
cat > "$dir/d.vrt" <<VRT
<VRTDataset rasterXSize="300" rasterYSize="200">
  <VRTRasterBand dataType="Float32" band="1" subClass="VRTDerivedRasterBand">
    <PixelFunctionType>pvrt_busy</PixelFunctionType>
    <PixelFunctionArguments iterations="3"/>
    <SimpleSource><SourceFilename relativeToVRT="1">src.tif</SourceFilename>
      <SourceBand>1</SourceBand></SimpleSource>
  </VRTRasterBand>
</VRTDataset>
VRT
log=$dir/valgrind.log
valgrind --leak-check=full --errors-for-leak-kinds=definite \
  --error-exitcode=9 --log-file="$log" \
  gdalinfo -checksum --debug PVRT -oo NUM_THREADS=3 -oo MIN_TILE_PIXELS=64 \
  "$dir/d.vrt" > "$dir/out.txt" 2>&1 || { cat "$log"; cat "$dir/out.txt"; exit 1; }
grep -q "Checksum=" "$dir/out.txt" || { cat "$dir/out.txt"; exit 1; }
grep -q "tiles, [1-9]" "$dir/out.txt" || { echo "the read was not split"; cat "$dir/out.txt"; exit 1; }
grep -E "definitely lost: 0 bytes|no leaks are possible" "$log" >/dev/null \
  || { grep -A5 "definitely lost" "$log"; exit 1; }
if grep -qE "grow_locked|pvrt_batch_run" "$log"; then
  echo "a pool thread is still alive or leaked at exit:"; grep -E -B5 -A20 "grow_locked|pvrt_batch_run" "$log" | head -60
  exit 1
fi
echo "valgrind: clean, pool threads joined"

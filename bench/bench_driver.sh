#!/bin/bash
# bench_driver.sh: times gdal_translate of the benchmark VRTs with GDAL's
# own VRT driver and with PVRT, side by side, and prints the ratios.
#
#   bench/bench_driver.sh [reps] [--threads N] [--small] [--cachemax MB]
#                         [--case NAME] [--keep] [--wait-idle SECS]
#
# Cases (inputs from bench/make_data.py, run here if they are missing):
#   sum12  decode-heavy: GDAL's builtin `sum` over 12 DEFLATE-compressed
#          4096x4096 UInt16 GeoTIFFs, Float32 output.
#   sum12_b128  the same VRT with 128x128 band blocks (GDAL's default) over
#          256x256 source blocks: gdal_translate's swaths are then 128 rows
#          high and cut every source block row in two.
#   busy   CPU-heavy: pvrt_busy (600 dependent floating-point operations
#          per pixel) over one 4096x4096 source, UInt16 output.
#
# --case NAME (repeatable) runs only the named cases.
#
# Each repetition runs the VRT driver (`--config PVRT_CLAIM NONE`: the plugin
# stays loaded so pvrt_* pixel functions work, GDAL's VRT driver reads) and
# PVRT, alternating which goes first, under /usr/bin/time for wall time and
# peak RSS. Both get the same GDAL_CACHEMAX (default 256 MB) and
# gdal_translate's default swath size; output is an uncompressed GTiff. Each
# pair of outputs is compared pixel for pixel (bench/compare_rasters.py).
# Speed-up is the median of the per-repetition ratios VRT time / PVRT time
# (over quiet pairs, see below).
# The table gives median wall seconds, median CPU seconds (user + system:
# the work done, which threads should not increase) and the largest peak
# RSS in MB of each driver.
#
# Shared machines: Linux autogroup gives each session a fair share of the
# CPUs whatever its thread count, so while others compute PVRT's threads
# cannot show. Each run therefore also records how many cores other
# processes used during it ("others", from /proc/stat minus the run's own
# CPU time). A pair is "quiet" when others used under 0.15 cores during both
# runs; the speed-up is the median over quiet pairs when there are any (the
# table says how many), else over all pairs, marked "(busy)".
# --wait-idle SECS waits (at most SECS) before each run until the CPUs were
# at least 85% idle over one second, to collect quiet pairs.
#
# The plugin is not built here: it is taken from $PVRT_PLUGIN_DIR (default
# build/plugins under the repository). Exit status: 0, or 1 if any pair of
# outputs differs or a run fails, 2 on bad usage or set-up.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
py=/usr/bin/python3

reps=3
threads=
small=0
cachemax=256
cases="sum12 sum12_b128 busy"
chosen=
keep=0
wait_idle=0
usage() { sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) threads=${2:?--threads needs a value}; shift 2 ;;
        --threads=*) threads=${1#*=}; shift ;;
        --small) small=1; shift ;;
        --cachemax) cachemax=${2:?--cachemax needs MB}; shift 2 ;;
        --case) chosen="$chosen ${2:?--case needs a name}"; shift 2 ;;
        --keep) keep=1; shift ;;
        --wait-idle) wait_idle=${2:?--wait-idle needs seconds}; shift 2 ;;
        -h|--help) usage ;;
        [0-9]*) reps=$1; shift ;;
        *) echo "bench_driver.sh: unknown argument '$1'" >&2; usage ;;
    esac
done

[ -n "$chosen" ] && cases=$chosen
plugin_dir=${PVRT_PLUGIN_DIR:-$repo/build/plugins}
if ! ls "$plugin_dir"/*/gdal_PVRT.so >/dev/null 2>&1; then
    echo "bench_driver.sh: no gdal_PVRT.so in $plugin_dir" >&2
    echo "  build it (cmake -S $repo -B $repo/build -DCMAKE_BUILD_TYPE=Release" \
         "&& cmake --build $repo/build) or set PVRT_PLUGIN_DIR" >&2
    exit 2
fi
plugin_dir=$(cd "$plugin_dir" && pwd)
for tool in gdal_translate gdalinfo /usr/bin/time; do
    command -v "$tool" >/dev/null || {
        echo "bench_driver.sh: $tool not found (apt-get install gdal-bin time)" >&2
        exit 2; }
done

if [ "$small" = 1 ]; then
    data=$repo/bench/data/small
    "$py" "$here/make_data.py" --small >/dev/null
else
    data=$repo/bench/data
    "$py" "$here/make_data.py" >/dev/null
fi

export GDAL_DRIVER_PATH=$plugin_dir
export GDAL_CACHEMAX=$cachemax
unset PVRT_CLAIM PVRT_NUM_THREADS CPL_DEBUG GDAL_SWATH_SIZE 2>/dev/null || true

# Say which driver each mode opens with, so a mis-claim cannot pass silently.
for c in $cases; do
    vrt=$data/$c.vrt
    [ -f "$vrt" ] || { echo "bench_driver.sh: no case '$c' ($vrt)" >&2; exit 2; }
    d_vrt=$(gdalinfo --config PVRT_CLAIM NONE "$vrt" 2>&1 | sed -n 's/^Driver: //p')
    d_pvrt=$(gdalinfo "$vrt" 2>&1 | sed -n 's/^Driver: //p')
    if [ "${d_vrt%%/*}" != VRT ] || [ "${d_pvrt%%/*}" != PVRT ]; then
        echo "bench_driver.sh: $c.vrt opens with '$d_vrt' / '$d_pvrt'," \
             "expected VRT / PVRT (is the driver built in $plugin_dir?)" >&2
        exit 2
    fi
done

mkdir -p "$repo/bench/results"
work=$(mktemp -d "$repo/bench/results/run.XXXXXX")
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
raw=$work/raw.tsv
: >"$raw"

pvrt_opts=()
[ -n "$threads" ] && pvrt_opts=(-oo "NUM_THREADS=$threads")

# idle_share: percent of all CPUs idle over the next second.
idle_share() {
    local a b
    a=($(sed -n 's/^cpu  //p' /proc/stat)); sleep 1
    b=($(sed -n 's/^cpu  //p' /proc/stat))
    local tot=0 i
    for i in "${!a[@]}"; do tot=$((tot + b[i] - a[i])); done
    echo $(( tot > 0 ? 100 * (b[3] + b[4] - a[3] - a[4]) / tot : 0 ))
}

# wait_quiet: with --wait-idle, waits until idle_share >= 85 (or time out).
wait_quiet() {
    [ "$wait_idle" -gt 0 ] || return 0
    local deadline=$((SECONDS + wait_idle))
    while [ "$(idle_share)" -lt 85 ] && [ $SECONDS -lt $deadline ]; do :; done
}

# busy_ticks: CPU ticks spent not idle, all CPUs, since boot.
busy_ticks() {
    awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat
}
clk_tck=$(getconf CLK_TCK)

# run MODE CASE REP: one timed gdal_translate; appends "case mode rep s KB".
run() {
    local mode=$1 c=$2 r=$3 out=$work/$2.$1.tif
    local args=(-q --config GDAL_CACHEMAX "$cachemax")
    if [ "$mode" = vrt ]; then
        args+=(--config PVRT_CLAIM NONE)
    else
        args+=("${pvrt_opts[@]}")
    fi
    rm -f "$out"
    wait_quiet
    local b0 b1
    b0=$(busy_ticks)
    if ! /usr/bin/time -f '%e %M %U %S' -o "$work/time" \
            gdal_translate "${args[@]}" "$data/$c.vrt" "$out" \
            >"$work/log" 2>&1; then
        echo "bench_driver.sh: $mode run of $c failed:" >&2
        cat "$work/log" "$work/time" >&2
        return 1
    fi
    b1=$(busy_ticks)
    if [ -s "$work/log" ]; then
        sed "s/^/  [$mode $c] /" "$work/log" >&2
    fi
    local t
    t=($(tail -n1 "$work/time"))
    # case mode rep wall-s peak-KB cpu-s others-cores
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$mode" "$r" "${t[0]}" "${t[1]}" \
        "$(awk -v u="${t[2]}" -v s="${t[3]}" -v w="${t[0]}" -v d=$((b1 - b0)) \
               -v hz="$clk_tck" 'BEGIN {
                   o = w > 0 ? (d / hz - u - s) / w : 0; if (o < 0) o = 0
                   printf "%.2f\t%.2f", u + s, o }')" >>"$raw"
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)"
echo "GDAL $(gdal-config --version 2>/dev/null || gdalinfo --version), GDAL_CACHEMAX=${cachemax} MB," \
     "default swath, PVRT NUM_THREADS=${threads:-default (ALL_CPUS)}, reps=$reps"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
declare -A same
for c in $cases; do
    same[$c]=yes
    for r in $(seq 1 "$reps"); do
        if [ $((r % 2)) = 1 ]; then order="vrt pvrt"; else order="pvrt vrt"; fi
        for m in $order; do run "$m" "$c" "$r" || { status=1; same[$c]=failed; }; done
        if [ "${same[$c]}" = yes ]; then
            if ! verdict=$("$py" "$here/compare_rasters.py" \
                    "$work/$c.vrt.tif" "$work/$c.pvrt.tif"); then
                echo "bench_driver.sh: $c rep $r: PVRT output differs: $verdict" >&2
                same[$c]=NO
                status=1
                [ "$keep" = 1 ] && cp "$work/$c.pvrt.tif" "$work/$c.pvrt.rep$r.tif"
            fi
        fi
        printf '  %-10s rep %d: %s\n' "$c" "$r" \
            "$(awk -v c="$c" -v r="$r" '$1==c && $3==r {printf "%s %ss (cpu %ss, others %s) %dMB  ", $2, $4, $6, $7, $5/1024}' "$raw")"
    done
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# Table: medians over reps; RSS is the largest peak seen per mode.
printf '%-10s %9s %9s %9s %9s %9s %9s %9s %9s %s\n' case "VRT s" "PVRT s" speed-up \
    "VRT cpu" "PVRT cpu" "VRT MB" "PVRT MB" identical " quiet pairs"
for c in $cases; do
    "$py" - "$raw" "$c" "${same[$c]}" <<'EOF'
import statistics, sys
raw, case, same = sys.argv[1:4]
runs = {}
for line in open(raw):
    c, mode, rep, secs, kb, cpu, others = line.split()
    if c == case:
        runs.setdefault(mode, {})[int(rep)] = (float(secs), int(kb),
                                               float(cpu), float(others))
vrt, pvrt = runs.get("vrt", {}), runs.get("pvrt", {})
reps = sorted(set(vrt) & set(pvrt))
if not reps:
    print(f"{case:<10} no complete pair of runs")
    sys.exit(0)
quiet = [r for r in reps if vrt[r][3] < 0.15 and pvrt[r][3] < 0.15]
note = f"{len(quiet)}/{len(reps)}"
if quiet:
    reps = quiet
else:
    note += " (busy)"
med = lambda xs: statistics.median(xs)
tv = med([vrt[r][0] for r in reps])
tp = med([pvrt[r][0] for r in reps])
ratio = med([vrt[r][0] / pvrt[r][0] for r in reps])
mv = max(vrt[r][1] for r in reps) / 1024
mp = max(pvrt[r][1] for r in reps) / 1024
cv = med([vrt[r][2] for r in reps])
cp = med([pvrt[r][2] for r in reps])
print(f"{case:<10} {tv:9.2f} {tp:9.2f} {ratio:8.2f}x {cv:9.2f} {cp:9.2f} "
      f"{mv:9.0f} {mp:9.0f} {same:>9}  {note}")
EOF
done
[ "$keep" = 1 ] && echo "outputs and raw timings kept in $work"
exit $status

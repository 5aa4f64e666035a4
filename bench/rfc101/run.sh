#!/bin/bash
# run.sh: does an RFC 101 thread-safe dataset (GDAL 3.10+,
# GDAL_OF_THREAD_SAFE) let threads share decoded blocks? Two threads read a
# DEFLATE tiled GeoTIFF and a derived VRT over it, (a) through one handle
# each and (b) through one GDAL_OF_THREAD_SAFE handle shared, alternating
# a/b and b/a, and the ratios b/a of wall and CPU time are printed with
# each mode's CPU time against one thread reading everything once, and
# the block cache each run held once every thread had read. Every run's bytes are checked against a serial read.
#
#   bench/rfc101/run.sh [--chroot DIR] [--reps N] [--threads N]
#
# --chroot DIR runs the whole bench inside a Debian chroot with GDAL 3.10+
# (e.g. build/chroots/trixie, made by scripts/test-gdal-versions.sh; root
# only); otherwise the GDAL found by gdal-config is used. Data (tsread.c,
# make_data.py: 2x 4096x4096 UInt16, 64 MiB decoded) go to
# $RFC101_DATA (default /tmp/pvrt-rfc101), made once. No plugin involved:
# this measures GDAL alone. Patterns: `same` (each thread reads every
# chunk of 256 rows: shared decoded blocks would halve the decoding) and
# `split` (threads read alternate chunks). Timings on a shared machine are
# information, not a gate; a byte mismatch exits 1.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
reps=5
threads=2
root=""
args=()
while [ $# -gt 0 ]; do
    case $1 in
    --chroot) root=$2; shift 2 ;;
    --reps) reps=$2; args+=("$1" "$2"); shift 2 ;;
    --threads) threads=$2; args+=("$1" "$2"); shift 2 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [ -n "$root" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "run.sh: --chroot needs root" >&2; exit 2; }
    rm -rf "$root/tmp/pvrt-rfc101-bench"
    mkdir -p "$root/tmp/pvrt-rfc101-bench"
    cp "$here"/run.sh "$here"/tsread.c "$here"/make_data.py \
        "$root/tmp/pvrt-rfc101-bench/"
    mounted=0
    if ! mountpoint -q "$root/proc"; then
        mount -t proc proc "$root/proc"
        mounted=1
    fi
    rc=0
    chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LANG=C.UTF-8 bash /tmp/pvrt-rfc101-bench/run.sh "${args[@]}" || rc=$?
    [ $mounted -eq 0 ] || umount -l "$root/proc"
    exit $rc
fi

version=$(gdal-config --version)
case $version in
3.[0-9].*) echo "run.sh: GDAL $version has no RFC 101 (3.10+)" >&2; exit 2 ;;
esac
data=${RFC101_DATA:-/tmp/pvrt-rfc101}
mkdir -p "$data"
gcc -std=c11 -O2 -Wall -Wextra -o "$data/tsread" "$here/tsread.c" \
    $(gdal-config --cflags) $(gdal-config --libs) -lpthread
/usr/bin/python3 "$here/make_data.py" "$data"

echo "GDAL $version, $(nproc) cores, $threads threads, $reps reps (a/b and b/a alternating)"
field() { sed -E "s/.*$1=([^ ]+).*/\1/" <<<"$2"; }
bad=0
printf '%-12s %-6s %-18s %-18s %-20s %-12s %s\n' input pattern "wall b/a" \
    "CPU b/a" "CPU a/1, b/1" "cache MiB" bytes
printf '%-12s %-6s %-18s %-18s %-20s %-12s %s\n' "" "" "median (range)" \
    "median (range)" "medians" "a, b" ""
# median_range <values...>: "median (min-max)"
median_range() {
    local sorted
    sorted=($(printf '%s\n' "$@" | sort -n))
    echo "${sorted[$(($# / 2))]} (${sorted[0]}-${sorted[$(($# - 1))]})"
}
median() { median_range "$@" | cut -d' ' -f1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b/a}'; }
for input in src.tif derived.vrt; do
    for pattern in same split; do
        wall=() cpu=() cpu_a1=() cpu_b1=()
        ca="" cb="" same_bytes=yes
        for ((r = 0; r < reps; r++)); do
            # One thread reading every chunk once: the bytes' reference and
            # the decoding work of one reader.
            out=$("$data/tsread" "$data/$input" handles split 1)
            ref=$(field hash "$out") p1=$(field cpu "$out")
            [ -n "${first_ref:-}" ] || first_ref=$ref
            [ "$ref" = "$first_ref" ] || same_bytes=NO
            if ((r % 2 == 0)); then order=(handles shared); else order=(shared handles); fi
            for mode in "${order[@]}"; do
                out=$("$data/tsread" "$data/$input" "$mode" "$pattern" "$threads")
                [ "$(field hash "$out")" = "$ref" ] || same_bytes=NO
                if [ "$mode" = handles ]; then
                    wa=$(field seconds "$out") pa=$(field cpu "$out") ca=$(field cache_mb "$out")
                else
                    wb=$(field seconds "$out") pb=$(field cpu "$out") cb=$(field cache_mb "$out")
                fi
            done
            wall+=("$(ratio "$wa" "$wb")")
            cpu+=("$(ratio "$pa" "$pb")")
            cpu_a1+=("$(ratio "$p1" "$pa")")
            cpu_b1+=("$(ratio "$p1" "$pb")")
        done
        unset first_ref
        printf '%-12s %-6s %-18s %-18s %-20s %-12s %s\n' "$input" "$pattern" \
            "$(median_range "${wall[@]}")" "$(median_range "${cpu[@]}")" \
            "$(median "${cpu_a1[@]}"), $(median "${cpu_b1[@]}")" "$ca, $cb" \
            "$([ $same_bytes = yes ] && echo identical || echo DIFFER)"
        [ $same_bytes = yes ] || bad=1
    done
done
echo "a: one handle per thread; b: one GDAL_OF_THREAD_SAFE handle shared;"
echo "1: one thread reading every chunk once. CPU = user + system seconds of"
echo "the process; cache = GDAL block cache in use after all reads."
exit $bad

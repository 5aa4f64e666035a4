#!/usr/bin/python3
"""bench_remote.py: gdal_translate of remote VRTs through GDAL's VRT driver
and through PVRT, with every request paying a round trip, side by side.
Called by bench/remote/bench_remote.sh (which documents the options).

Cases (data made once into bench/data/remote/ by tests/remote/
make_remote_data.py, served by tests/remote/httpserver.py on 127.0.0.1):
  mosaic  16 COGs of 1024x1024 UInt16 (blocks 512, overviews), 4x4 mosaic
          VRT 4096x4096, read with PVRT_CLAIM=ALL
  ndvi    NDVI (Float32) over two 4096x4096 UInt16 COGs (blocks 512):
          builtin div over ndvi_diff.vrt and ndvi_sum.vrt
  ndvi_expr  the same NDVI in one VRT with pvrt_expr (both drivers run the
          pvrt pixel function; GDAL's VRT driver runs it serially)
Each repetition runs both drivers, alternating which goes first; each run
is a fresh gdal_translate process (cold /vsicurl/ caches) on a fresh URL.
Per run: wall time, requests the server saw, peak requests in flight. The
outputs of both drivers are compared pixel for pixel.

The latency floor of a PVRT run is
    T0 + requests / concurrency x latency
where T0 is the same PVRT gdal_translate with no added latency (the CPU and
loopback part, already spread over the cores) and concurrency is the number
of threads PVRT reads with (its I/O-sized default unless --threads), or the
peak number of requests the server saw in flight when higher (GTiff fetches
the blocks of one window with parallel range requests).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "remote"))

import numpy as np  # noqa: E402
from osgeo import gdal  # noqa: E402

import make_remote_data  # noqa: E402
from remote_common import BASE_CONFIG, Server  # noqa: E402

gdal.UseExceptions()


CASES = {"mosaic": "mosaic/mosaic.vrt", "ndvi": "ndvi/ndvi.vrt",
         "ndvi_expr": "ndvi/ndvi_expr.vrt"}


def make_data(root):
    mdir = os.path.join(root, "mosaic")
    ndir = os.path.join(root, "ndvi")
    t0 = time.monotonic()
    make_remote_data.make_mosaic(mdir, 4, 4, 1024, 512)
    make_remote_data.make_ndvi(ndir, 4096, 512)
    dt = time.monotonic() - t0
    if dt > 1:
        print("data made in %.0f s" % dt, flush=True)
    return root


def run(server, case, driver, threads, out, env_base, latency):
    env = dict(env_base)
    env["PVRT_CLAIM"] = "ALL" if driver == "PVRT" else "NONE"
    if driver == "PVRT" and threads:
        env["PVRT_NUM_THREADS"] = str(threads)
    else:
        env.pop("PVRT_NUM_THREADS", None)
    name = CASES[case]
    url = server.url(name, label="bench")
    server.control(latency_ms=latency, reset=True)
    cmd = ["gdal_translate", "-q", url, out]
    t0 = time.monotonic()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                       timeout=900)
    wall = time.monotonic() - t0
    st = server.stats()
    if r.returncode != 0:
        raise RuntimeError("%s %s failed: %s" % (case, driver, r.stderr))
    return wall, st["requests"], st["peak_inflight"]


def pvrt_threads(threads, url_sample, env):
    """The thread count PVRT reads a remote dataset with."""
    if threads:
        return int(threads)
    code = ("from osgeo import gdal\n"
            "import sys\n"
            "gdal.UseExceptions()\n"
            "ds = gdal.Open(sys.argv[1])\n"
            "assert ds.GetDriver().ShortName == 'PVRT', ds.GetDriver()\n"
            "ds.GetRasterBand(1).ReadRaster(0, 0, 1024, 512)\n"
            "print(ds.GetMetadataItem('LAST_READ_THREADS', '__DEBUG__'))\n")
    e = dict(env)
    e["PVRT_CLAIM"] = "ALL"
    r = subprocess.run([sys.executable, "-c", code, url_sample], env=e,
                       capture_output=True, text=True, timeout=300)
    try:
        return int(r.stdout.strip())
    except ValueError:
        raise RuntimeError("cannot read LAST_READ_THREADS: %s %s"
                           % (r.stdout, r.stderr))


def same_pixels(a, b):
    da, db = gdal.Open(a), gdal.Open(b)
    x = da.GetRasterBand(1).ReadAsArray()
    y = db.GetRasterBand(1).ReadAsArray()
    return x.dtype == y.dtype and np.array_equal(x, y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--latency-ms", type=float, default=50)
    ap.add_argument("--threads", type=int, default=0,
                    help="PVRT_NUM_THREADS (0: PVRT's own default)")
    ap.add_argument("--case", action="append", choices=sorted(CASES))
    ap.add_argument("--curl-cache-mb", type=int, default=0,
                    help="CPL_VSIL_CURL_CACHE_SIZE in MB for both drivers "
                    "(0: GDAL's default, 16 MB)")
    ap.add_argument("--data", default=os.path.join(REPO, "bench", "data",
                                                   "remote"))
    ap.add_argument("--scratch", default=None)
    args = ap.parse_args()
    cases = args.case or ["mosaic", "ndvi", "ndvi_expr"]
    if not os.environ.get("GDAL_DRIVER_PATH"):
        print("bench_remote.py: GDAL_DRIVER_PATH is not set", file=sys.stderr)
        return 2

    make_data(args.data)
    scratch = args.scratch or os.path.join(args.data, "out")
    os.makedirs(scratch, exist_ok=True)
    env = dict(os.environ)
    env.update(BASE_CONFIG)
    env["GDAL_HTTP_TIMEOUT"] = "60"
    env["GDAL_HTTP_MAX_RETRY"] = "2"
    env["GDAL_HTTP_RETRY_DELAY"] = "0.5"
    if args.curl_cache_mb > 0:
        env["CPL_VSIL_CURL_CACHE_SIZE"] = str(args.curl_cache_mb << 20)

    status = 0
    with Server(args.data, latency_ms=args.latency_ms, lifetime=3600) as srv:
        conc = pvrt_threads(args.threads,
                            srv.url("mosaic/mosaic.vrt", label="probe"), env)
        print("machine: %d CPUs; PVRT reads with %d threads%s; %g ms per "
              "request; %d repetitions; /vsicurl/ cache %s" % (
                  os.cpu_count(), conc, "" if args.threads else
                  " (its default for network sources)", args.latency_ms,
                  args.reps, "%d MB" % args.curl_cache_mb
                  if args.curl_cache_mb else "16 MB (GDAL's default)"),
              flush=True)
        for case in cases:
            rows = {"VRT": [], "PVRT": []}
            for rep in range(args.reps):
                order = ("VRT", "PVRT") if rep % 2 == 0 else ("PVRT", "VRT")
                outs = {}
                for driver in order:
                    out = os.path.join(scratch, "%s-%s.tif" % (case, driver))
                    w, n, peak = run(srv, case, driver, args.threads, out,
                                     env, args.latency_ms)
                    rows[driver].append((w, n, peak))
                    outs[driver] = out
                    print("  %-6s rep %d %-4s %6.2f s %5d requests, peak %2d "
                          "in flight" % (case, rep, driver, w, n, peak),
                          flush=True)
                if not same_pixels(outs["VRT"], outs["PVRT"]):
                    print("  %s rep %d: OUTPUTS DIFFER" % (case, rep))
                    status = 1
            # The same PVRT read with no added latency: the compute part.
            out = os.path.join(scratch, "%s-PVRT0.tif" % case)
            t0s = [run(srv, case, "PVRT", args.threads, out, env, 0)[0]
                   for _ in range(max(1, min(2, args.reps)))]
            t0 = statistics.median(t0s)
            # And the VRT driver with no added latency: its compute part.
            v0 = run(srv, case, "VRT", args.threads,
                     os.path.join(scratch, "%s-VRT0.tif" % case), env, 0)[0]
            vw = statistics.median(r[0] for r in rows["VRT"])
            pw = statistics.median(r[0] for r in rows["PVRT"])
            vn = statistics.median(r[1] for r in rows["VRT"])
            pn = statistics.median(r[1] for r in rows["PVRT"])
            vp = max(r[2] for r in rows["VRT"])
            pp = max(r[2] for r in rows["PVRT"])
            # GTiff fetches the blocks of one window with parallel range
            # requests, so a thread may have more than one in flight: the
            # concurrency is the thread count or the peak seen, if higher.
            cc = max(conc, pp)
            floor = t0 + pn / cc * args.latency_ms / 1000.0
            print("%s: VRT driver %.2f s (%d requests, peak %d in flight); "
                  "PVRT %.2f s (%d requests, peak %d); speed-up %.1fx; "
                  "floor %.2f s (%.2f s at 0 ms + %d/%d x %g ms); PVRT / "
                  "floor %.2f; at 0 ms: VRT driver %.2f s, PVRT %.2f s"
                  % (case, vw, vn, vp, pw, pn, pp, vw / pw, floor, t0, pn,
                     cc, args.latency_ms, pw / floor, v0, t0),
                  flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

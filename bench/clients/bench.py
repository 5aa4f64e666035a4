#!/usr/bin/python3
"""bench.py: the access-pattern benchmark of issue 10, VRT driver vs PVRT.

Usage (normally through bench/clients/run.sh, which finds the plugin):
  /usr/bin/python3 bench/clients/bench.py --plugins DIR [--data DIR]
      [--size N] [--rounds N] [--only P[,P...]]... [--threads N]
      [--cache-mb N] [--qgis] [--keep]

Runs each access pattern (see PATTERNS, and README.md) with GDAL's own VRT
driver and with PVRT, alternating which goes first, --rounds times each,
every run in a fresh process (no GDAL block cache carries over), and prints
a table: best time of each driver, the speed-up (VRT best / PVRT best), the
largest peak RSS of each (/usr/bin/time %M), and whether the outputs were
byte-identical in every run, then the geometric mean of the speed-ups over
the patterns that are neither QGIS nor W1 NDVI. For W1 NDVI it also times
the threaded decode floor and prints PVRT / floor.

Both drivers load the plugin (GDAL_DRIVER_PATH, so pvrt_expr exists for
the VRT driver too); the VRT driver runs with PVRT_CLAIM=NONE in the
environment (GDAL reads config options from the environment), which makes
PVRT decline every VRT. Each run reads a fresh copy of the VRT, next to it,
deleted after the run with anything written beside it (.aux.xml, .ovr), so
no statistics or overviews computed by one run are seen by the next.

Exit status: 0; 1 if any run failed or any outputs differ (MISMATCH); 2 on
bad usage or set-up.
"""

import argparse
import glob
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
RUN_NAME = "_bench_run.vrt"   # the per-run copy of a VRT


class Pattern:
    """kind "py": patterns.py NAME; kind "cli": argv(vrt, out) and a
    digest of what the command wrote or printed."""

    def __init__(self, name, label, vrt, kind, argv=None, digest=None,
                 qgis=False, extra=False):
        self.name, self.label, self.vrt, self.kind = name, label, vrt, kind
        self.argv, self.digest, self.qgis = argv, digest, qgis
        # The mean is issue 10's, over its 16 patterns; `extra` ones (added
        # since) are printed beside it.
        self.in_mean = not qgis and not extra and name != "ndvi"


# --- digests of what the CLI tools wrote ----------------------------------

def raster_digest(path, overviews=False):
    """SHA-256 of a GeoTIFF's grid (size, geotransform, CRS), band types,
    NoData values and every band's bytes, overviews too if asked."""
    from osgeo import gdal
    gdal.UseExceptions()
    ds = gdal.OpenEx(path, gdal.OF_RASTER, allowed_drivers=["GTiff"])
    h = hashlib.sha256()
    h.update(repr((ds.RasterXSize, ds.RasterYSize, ds.RasterCount,
                   ds.GetGeoTransform(can_return_null=True),
                   ds.GetProjectionRef())).encode())
    for i in range(1, ds.RasterCount + 1):
        band = ds.GetRasterBand(i)
        bands = [band]
        if overviews:
            bands += [band.GetOverview(k)
                      for k in range(band.GetOverviewCount())]
        for b in bands:
            h.update(repr((b.XSize, b.YSize, b.DataType,
                           b.GetNoDataValue())).encode())
            rows = max(1, (32 << 20) // (b.XSize * 8))
            for y in range(0, b.YSize, rows):
                h.update(b.ReadRaster(0, y, b.XSize, min(rows, b.YSize - y)))
    return h.hexdigest()


def file_digest(out, vrt, stdout):
    return raster_digest(out)


def ovr_digest(out, vrt, stdout):
    return raster_digest(vrt + ".ovr", overviews=True)


def info_digest(keys):
    """The lines of gdalinfo's output that carry the computed values."""
    def digest(out, vrt, stdout):
        lines = [ln.strip() for ln in stdout.splitlines()
                 if any(k in ln for k in keys)]
        if not lines:
            raise RuntimeError(f"no {' or '.join(keys)} in gdalinfo's output")
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return digest


PATTERNS = [
    Pattern("translate", "gdal_translate (whole)", "sum", "cli",
            lambda v, o: ["gdal_translate", "-q", v, o], file_digest),
    Pattern("readasarray", "ReadAsArray() whole band", "sum", "py"),
    Pattern("warp", "gdalwarp -t_srs EPSG:4326", "sum", "cli",
            lambda v, o: ["gdalwarp", "-q", "-t_srs", "EPSG:4326", v, o],
            file_digest),
    Pattern("outsize", "gdal_translate -outsize 12.5% 12.5%", "sum", "cli",
            lambda v, o: ["gdal_translate", "-q", "-outsize", "12.5%",
                          "12.5%", v, o], file_digest),
    Pattern("addo", "gdaladdo -ro -r average 2 4 8 16", "sum", "cli",
            lambda v, o: ["gdaladdo", "-q", "-ro", "-r", "average", v,
                          "2", "4", "8", "16"], ovr_digest),
    Pattern("stats", "gdalinfo -stats", "sum", "cli",
            lambda v, o: ["gdalinfo", "-stats", v],
            info_digest(["Minimum=", "STATISTICS_"])),
    Pattern("checksum", "gdalinfo -checksum", "sum", "cli",
            lambda v, o: ["gdalinfo", "-checksum", v],
            info_digest(["Checksum="])),
    Pattern("blocks", "Python loop, 256x256 blocks, raster order", "sum",
            "py"),
    Pattern("rows", "Python loop over rows", "sum", "py"),
    Pattern("random300", "300 random 256x256 windows, one handle", "sum",
            "py"),
    Pattern("threads2", "2 threads x own handle x 150 random windows",
            "sum", "py"),
    Pattern("thumb800", "800x800 thumbnail, nearest", "sum", "py"),
    Pattern("thumb1024avg", "1024x1024 thumbnail, average", "sum", "py"),
    Pattern("rasterio", "rasterio read(out_shape=1/4, masked=True)", "sum",
            "py"),
    Pattern("rgbbands", "RGB band after band, 2x out (+1 px window)", "rgb",
            "py"),
    Pattern("tileserver", "tile server: open per request, 2 threads",
            "sum", "py"),
    Pattern("rgbpan", "RGB band after band, 6 views panned, 2x out", "rgb",
            "py", extra=True),
    Pattern("rgb1pan", "same, bands of one source each", "rgb1", "py",
            extra=True),
    Pattern("rgbrio", "rasterio RGB read(out_shape=1/4), all bands", "rgb",
            "py", extra=True),
    Pattern("approxstats", "gdalinfo -approx_stats, 128x128 VRT blocks",
            "sum128", "cli", lambda v, o: ["gdalinfo", "-approx_stats", v],
            info_digest(["Minimum=", "STATISTICS_"]), extra=True),
    Pattern("qgis_full", "QGIS render, full extent 1200x800", "sum", "py",
            qgis=True),
    Pattern("qgis_1to1", "QGIS render, 1:1 view", "sum", "py", qgis=True),
    Pattern("qgis_zoomout", "QGIS render, 2x zoomed out", "sum", "py",
            qgis=True),
    Pattern("qgis_zoomout128", "QGIS render, 2x out, 128x128 VRT blocks",
            "sum128", "py", qgis=True, extra=True),
    Pattern("ndvi", "W1 NDVI 2N x 2N pvrt_expr, gdal_translate", "ndvi",
            "cli", lambda v, o: ["gdal_translate", "-q", v, o], file_digest),
]
BY_NAME = {p.name: p for p in PATTERNS}


class Bench:
    def __init__(self, args):
        self.args = args
        self.data = os.path.abspath(args.data)
        self.vrts = {"sum": os.path.join(self.data, "sum.vrt"),
                     "sum128": os.path.join(self.data, "sum128.vrt"),
                     "rgb": os.path.join(self.data, "rgb.vrt"),
                     "rgb1": os.path.join(self.data, "rgb1.vrt"),
                     "ndvi": os.path.join(self.data, "ndvi",
                                          "ndvi_expr.vrt")}
        base = {k: v for k, v in os.environ.items()
                if not k.startswith("PVRT_")
                and k not in ("CPL_DEBUG", "GDAL_NUM_THREADS",
                              "GDAL_SWATH_SIZE")}
        base["GDAL_DRIVER_PATH"] = os.path.abspath(args.plugins)
        self.env = {"vrt": dict(base, PVRT_CLAIM="NONE"), "pvrt": dict(base)}
        if args.threads:
            self.env["pvrt"]["PVRT_NUM_THREADS"] = str(args.threads)
        if args.cache_mb is not None:
            self.env["pvrt"]["PVRT_CACHE_MB"] = str(args.cache_mb)
        self.env["floor"] = dict(base, PVRT_CLAIM="NONE",
                                 GDAL_NUM_THREADS="ALL_CPUS")
        self.work = tempfile.mkdtemp(prefix="run.", dir=self.data)
        self.failed = False
        self.others = 0.0

    def timed(self, argv, env):
        """Runs argv under /usr/bin/time; returns (wall seconds, peak KB,
        stdout) and sets self.others: the cores other processes kept busy
        meanwhile (all CPUs' busy time from /proc/stat minus the run's own
        CPU time, over the wall time)."""
        tfile = os.path.join(self.work, "time")
        b0 = busy_seconds()
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", tfile]
                           + argv, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        busy = busy_seconds() - b0
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited with "
                               f"{p.returncode}:\n{p.stderr.strip()}")
        if p.stderr.strip():
            sys.stderr.write("".join(f"    [{argv[0]}] {ln}\n" for ln in
                                     p.stderr.strip().splitlines()[:5]))
        with open(tfile) as f:
            user, system, kb = f.read().splitlines()[-1].split()
        self.others = max(0.0, busy - float(user) - float(system)) / seconds
        return seconds, int(kb), p.stdout

    def fresh_copy(self, vrt):
        """A fresh copy of vrt next to it (its sources may be relative),
        with nothing left from an earlier run."""
        run = os.path.join(os.path.dirname(vrt), RUN_NAME)
        self.clean(run)
        shutil.copyfile(vrt, run)
        return run

    @staticmethod
    def clean(run):
        for f in glob.glob(glob.escape(run) + "*"):
            os.remove(f)

    def run_once(self, pat, mode):
        """One timed run: (seconds, peak KB, digest)."""
        vrt = self.fresh_copy(self.vrts[pat.vrt])
        out = os.path.join(self.work, f"{pat.name}.{mode}.tif")
        if os.path.exists(out):
            os.remove(out)
        driver = "VRT" if mode == "vrt" else "PVRT"
        try:
            if pat.kind == "py":
                js = os.path.join(self.work, "result.json")
                if os.path.exists(js):
                    os.remove(js)
                _, kb, _ = self.timed([PY, os.path.join(HERE, "patterns.py"),
                                       pat.name, vrt, driver, js],
                                      self.env[mode])
                with open(js) as f:
                    r = json.load(f)
                return r["seconds"], kb, r["digest"]
            seconds, kb, stdout = self.timed(pat.argv(vrt, out),
                                             self.env[mode])
            return seconds, kb, pat.digest(out, vrt, stdout)
        finally:
            self.clean(vrt)
            if os.path.exists(out):
                os.remove(out)

    def run_floor(self):
        floor = os.path.join(self.data, "ndvi", "floor.vrt")
        s, kb, _ = self.timed(["gdal_translate", "-q", floor,
                               "/vsimem/floor.tif"], self.env["floor"])
        return s, kb, None

    def check_drivers(self, names):
        """gdalinfo must say VRT / PVRT for each VRT the CLI patterns read,
        so a mis-claim cannot pass silently (patterns.py checks its own)."""
        for key in sorted({BY_NAME[n].vrt for n in names}):
            for mode, want in (("vrt", "VRT"), ("pvrt", "PVRT")):
                p = subprocess.run(["gdalinfo", self.vrts[key]],
                                   env=self.env[mode], capture_output=True,
                                   text=True)
                got = [ln[8:].split("/")[0] for ln in p.stdout.splitlines()
                       if ln.startswith("Driver: ")]
                if got != [want]:
                    sys.exit(f"bench.py: {self.vrts[key]} opens with {got} "
                             f"when {want} was expected (is gdal_PVRT.so in "
                             f"{self.args.plugins}?)\n{p.stderr}")

    def warm(self):
        """Reads every input once so the first run does not pay for the
        disk alone."""
        for f in sorted(glob.glob(os.path.join(self.data, "*.tif")) +
                        glob.glob(os.path.join(self.data, "ndvi", "*.tif"))):
            with open(f, "rb") as fh:
                while fh.read(16 << 20):
                    pass


def busy_seconds():
    """CPU seconds all CPUs spent busy since boot (user, nice, system, irq,
    softirq, steal)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf(
        "SC_CLK_TCK")


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plugins", required=True,
                    help="folder holding gdal_PVRT.so")
    ap.add_argument("--data", default=None,
                    help="data folder (default build/bench-clients-data, "
                         "+ -N for --size N other than 4096)")
    ap.add_argument("--size", type=int, default=4096,
                    help="side of the six sources (default 4096)")
    ap.add_argument("--rounds", type=int, default=2,
                    help="runs per driver and pattern; the best counts")
    ap.add_argument("--only", action="append", default=[],
                    help="pattern name(s), repeatable or comma-separated")
    ap.add_argument("--threads", default=None,
                    help="PVRT_NUM_THREADS for the PVRT runs")
    ap.add_argument("--cache-mb", type=int, default=None,
                    help="PVRT_CACHE_MB for the PVRT runs")
    ap.add_argument("--qgis", action="store_true",
                    help="add the QGIS render patterns (python3-qgis)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the run folder (time and result files)")
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be >= 1")
    repo = os.path.dirname(os.path.dirname(HERE))
    if args.data is None:
        args.data = os.path.join(repo, "build", "bench-clients-data")
        if args.size != 4096:
            args.data += f"-{args.size}"

    only = [n for o in args.only for n in o.split(",") if n]
    unknown = [n for n in only if n not in BY_NAME]
    if unknown:
        ap.error(f"unknown pattern(s) {', '.join(unknown)}; patterns: "
                 f"{', '.join(BY_NAME)}")
    names = only or [p.name for p in PATTERNS if args.qgis or not p.qgis]
    if any(BY_NAME[n].qgis for n in names):
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        if subprocess.run([PY, "-c", "import qgis.core"], env=env,
                          capture_output=True).returncode != 0:
            print("bench.py: python3-qgis is not importable, QGIS patterns "
                  "skipped (apt-get install -y python3-qgis qgis-providers)",
                  file=sys.stderr)
            names = [n for n in names if not BY_NAME[n].qgis]
    for tool in ("gdal_translate", "gdalwarp", "gdaladdo", "gdalinfo",
                 "/usr/bin/time"):
        if shutil.which(tool) is None:
            sys.exit(f"bench.py: {tool} not found "
                     "(apt-get install gdal-bin time)")

    t_start = time.time()
    env = {k: v for k, v in os.environ.items() if k != "GDAL_DRIVER_PATH"}
    subprocess.run([PY, os.path.join(HERE, "make_data.py"), args.data,
                    "--size", str(args.size)], check=True, env=env)
    b = Bench(args)
    b.check_drivers(names)
    b.warm()

    cache_mb = "default" if args.cache_mb is None else args.cache_mb
    print(f"machine: {os.cpu_count()} CPUs, load average "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])}; "
          f"GDAL_CACHEMAX={os.environ.get('GDAL_CACHEMAX', 'default')}, "
          f"PVRT_NUM_THREADS={args.threads or 'default'}, "
          f"PVRT_CACHE_MB={cache_mb}, "
          f"size {args.size}, "
          f"rounds {args.rounds}", flush=True)
    results = {}
    for name in names:
        pat = BY_NAME[name]
        res = {"vrt": [], "pvrt": [], "floor": [], "digests": set(),
               "others": [], "status": "yes"}
        results[name] = res
        modes = ["vrt", "pvrt"] + (["floor"] if name == "ndvi" else [])
        t_pattern = time.time()
        for r in range(args.rounds):
            order = modes if r % 2 == 0 else modes[::-1]
            for mode in order:
                try:
                    if mode == "floor":
                        s, kb, d = b.run_floor()
                    else:
                        s, kb, d = b.run_once(pat, mode)
                        res["digests"].add(d)
                    res[mode].append((s, kb))
                    res["others"].append(b.others)
                except Exception as e:  # report, go on with the next
                    print(f"  FAILED {name} {mode}: {e}", file=sys.stderr,
                          flush=True)
                    res["status"] = "FAILED"
                    b.failed = True
            if len(res["digests"]) > 1 and res["status"] == "yes":
                res["status"] = "NO: MISMATCH"
                b.failed = True
                print(f"\n  *** MISMATCH: {name}: the outputs of the VRT "
                      "driver and PVRT differ ***\n", flush=True)
            if res["vrt"] and res["pvrt"]:
                print(f"  {name:<13} round {r + 1}: VRT/PVRT "
                      f"{res['vrt'][-1][0] / res['pvrt'][-1][0]:.2f}x"
                      f"  ({time.time() - t_pattern:.0f} s on this pattern)",
                      flush=True)

    print(f"\nload average after: "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])}")
    print("others: cores kept busy by other processes during the runs "
          "(mean); PVRT's threads\nshow only when it is well below the "
          f"{os.cpu_count()} cores.\n")
    head = (f"{'pattern':<47} {'VRT s':>7} {'PVRT s':>7} {'speed-up':>8} "
            f"{'VRT MB':>7} {'PVRT MB':>7} {'others':>6}  identical")
    print(head)
    print("-" * len(head))
    ups = []
    for name, res in results.items():
        pat = BY_NAME[name]
        if not res["vrt"] or not res["pvrt"]:
            print(f"{pat.label:<47} {'-':>7} {'-':>7} {'-':>8} {'-':>7} "
                  f"{'-':>7} {'-':>6}  {res['status']}")
            continue
        tv = min(s for s, _ in res["vrt"])
        tp = min(s for s, _ in res["pvrt"])
        mv = max(kb for _, kb in res["vrt"]) / 1024
        mp = max(kb for _, kb in res["pvrt"]) / 1024
        if pat.in_mean and res["status"] == "yes":
            ups.append(tv / tp)
        others = sum(res["others"]) / len(res["others"])
        print(f"{pat.label:<47} {tv:7.2f} {tp:7.2f} {tv / tp:7.2f}x "
              f"{mv:7.0f} {mp:7.0f} {others:6.1f}  {res['status']}")
    print("-" * len(head))
    n_mean = sum(1 for n in results if BY_NAME[n].in_mean)
    if ups:
        print(f"geometric mean of the speed-ups over {len(ups)} patterns "
              f"(not QGIS, not NDVI): {geomean(ups):.2f}x"
              + ("" if len(ups) == n_mean else
                 f"  ({n_mean - len(ups)} left out: failed or differ)"))
    nd = results.get("ndvi")
    if nd and nd["pvrt"] and nd["floor"]:
        tp = min(s for s, _ in nd["pvrt"])
        tf = min(s for s, _ in nd["floor"])
        print(f"W1 NDVI: PVRT time / threaded decode floor = {tp / tf:.2f}x "
              f"(target <= 1.4x; floor peak RSS "
              f"{max(kb for _, kb in nd['floor']) / 1024:.0f} MB)")
    print(f"total run time {time.time() - t_start:.0f} s")
    if args.keep:
        print(f"run folder kept: {b.work}")
    else:
        shutil.rmtree(b.work, ignore_errors=True)
    if b.failed:
        print("bench.py: a run FAILED or outputs differ (MISMATCH): exit "
              "status 1", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

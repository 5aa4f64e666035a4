#!/usr/bin/python3
"""bench.py: the neighbourhood benchmark of issue 12 (pvrt_terrain,
pvrt_focal through the PVRT driver) against gdaldem and scipy.

Usage (normally through bench/neighbourhood/run.sh, which finds the
plugin and the data folder):
  /usr/bin/python3 bench/neighbourhood/bench.py --plugins DIR --data DIR
      [--rounds N] [--only CASE[,CASE]]... [--threads N]
      [--compress NONE|DEFLATE] [--wait-idle SECS] [--keep]

Cases (README.md says more):
  hillshade  gdaldem hillshade DEM vs gdal_translate of the pvrt_terrain
             op=hillshade VRT through PVRT (its default threads, then
             NUM_THREADS=1); output pixels must be identical.
  slope      the same with gdaldem slope / op=slope (Float32 out).
  focal      focal median 5x5: scipy.ndimage.median_filter vs a whole
             ReadAsArray() of the pvrt_focal VRT through PVRT (default
             threads, then NUM_THREADS=1); values must be equal in the
             interior (scipy reflects at the edges, the VRT's
             edges="nodata" gives NoData in the 2-pixel border).

Each run is a fresh process under /usr/bin/time; per round, the runs of a
case go one after the other, the first rotating between rounds, and the
best time of each run over the rounds counts. Ratios are taken between
runs of one invocation, never against a figure from elsewhere: between
the best times, and per round (the two runs of a round are seconds
apart, so a slower spell of a shared machine touches both alike), whose
median and range are printed too.
Times: the process's wall time for the command-line tools; for focal the
time from the open (included) to the result in memory, measured in the
process (focal_run.py), without Python's start-up and imports (CPU and
peak RSS still count the whole process).

Exit status: 0; 1 if a run failed or any output differs (MISMATCH); 2 on
bad usage or set-up.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
FOCAL_NODATA = -9999.0
FOCAL_RADIUS = 2


def busy_seconds():
    """CPU seconds all CPUs spent busy since boot (user, nice, system, irq,
    softirq, steal)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf(
        "SC_CLK_TCK")


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def idle_share():
    """Share of all CPUs' time spent idle over the next 0.5 s."""
    b0, t0 = busy_seconds(), time.perf_counter()
    time.sleep(0.5)
    busy = busy_seconds() - b0
    return 1 - busy / ((time.perf_counter() - t0) * os.cpu_count())


class Run:
    """One way of computing a case's result. kind "cli": argv(out) writes
    a GeoTIFF; kind "focal": focal_run.py with args(out)."""

    def __init__(self, key, label, kind, argv, env_extra=None):
        self.key, self.label, self.kind = key, label, kind
        self.argv, self.env_extra = argv, env_extra or {}
        self.times, self.cpus, self.rss, self.others = [], [], [], []
        self.by_round = {}  # round -> seconds
        self.identical = True


class Case:
    def __init__(self, name, runs, ref, ratios):
        self.name, self.runs, self.ref, self.ratios = name, runs, ref, ratios
        self.ref_kept = None    # the reference's GeoTIFF (cli cases)
        self.ref_array = None   # scipy's median (focal)
        self.pvrt_digest = None  # the first PVRT array's SHA-256 (focal)


# --- comparing outputs -------------------------------------------------------

def compare_rasters(ref, got):
    """None if got has ref's grid, type, NoData and pixel bytes; else a
    sentence saying how they differ."""
    a = gdal.OpenEx(ref, gdal.OF_RASTER, allowed_drivers=["GTiff"])
    b = gdal.OpenEx(got, gdal.OF_RASTER, allowed_drivers=["GTiff"])
    ba, bb = a.GetRasterBand(1), b.GetRasterBand(1)
    ka = (a.RasterXSize, a.RasterYSize, a.RasterCount, ba.DataType,
          ba.GetNoDataValue(), a.GetGeoTransform())
    kb = (b.RasterXSize, b.RasterYSize, b.RasterCount, bb.DataType,
          bb.GetNoDataValue(), b.GetGeoTransform())
    if ka != kb:
        return "grid/type/NoData differ: %r vs %r" % (ka, kb)
    ndiff, maxdiff = 0, 0.0
    step = 512
    for y in range(0, a.RasterYSize, step):
        h = min(step, a.RasterYSize - y)
        ra = ba.ReadRaster(0, y, a.RasterXSize, h)
        rb = bb.ReadRaster(0, y, a.RasterXSize, h)
        if ra != rb:
            xa = ba.ReadAsArray(0, y, a.RasterXSize, h).astype(np.float64)
            xb = bb.ReadAsArray(0, y, a.RasterXSize, h).astype(np.float64)
            d = xa != xb
            ndiff += int(d.sum())
            maxdiff = max(maxdiff, float(np.abs(xa - xb)[d].max()))
    if ndiff:
        return "%d pixel(s) differ, by up to %g" % (ndiff, maxdiff)
    return None


def compare_focal(scipy_ref, got):
    """None if got equals scipy's median in the interior (2 pixels in from
    every edge) and is NoData on the border (edges="nodata"); else how
    not."""
    r = FOCAL_RADIUS
    if got.shape != scipy_ref.shape or got.dtype != scipy_ref.dtype:
        return "shape/type %s %s vs %s %s" % (got.shape, got.dtype,
                                              scipy_ref.shape, scipy_ref.dtype)
    inner_a, inner_b = scipy_ref[r:-r, r:-r], got[r:-r, r:-r]
    problems = []
    if not np.array_equal(inner_a, inner_b):
        d = inner_a != inner_b
        problems.append("%d interior pixel(s) differ from scipy's, by up "
                        "to %g" % (int(d.sum()), float(
                            np.abs(inner_a.astype(np.float64) -
                                   inner_b.astype(np.float64))[d].max())))
    border = np.ones(got.shape, dtype=bool)
    border[r:-r, r:-r] = False
    nb = int((got[border] != np.float32(FOCAL_NODATA)).sum())
    if nb:
        problems.append("%d border pixel(s) are not NoData" % nb)
    return "; ".join(problems) or None


# --- the benchmark -----------------------------------------------------------

class Bench:
    def __init__(self, a):
        self.a = a
        self.data = os.path.abspath(a.data)
        base = {k: v for k, v in os.environ.items()
                if not k.startswith("PVRT_") and k not in (
                    "CPL_DEBUG", "GDAL_NUM_THREADS", "GDAL_SWATH_SIZE")}
        base["GDAL_DRIVER_PATH"] = os.path.abspath(a.plugins)
        if a.threads:
            base["PVRT_NUM_THREADS"] = str(a.threads)
        self.env = base
        self.work = tempfile.mkdtemp(prefix="run.", dir=self.data)
        self.failed = False

    def path(self, name):
        return os.path.join(self.data, name)

    def out(self, run):
        return os.path.join(self.work, run.key + (".npy" if run.kind ==
                                                  "focal" else ".tif"))

    def cases(self):
        dem = self.path("dem.tif")
        cases = []
        for op in ("hillshade", "slope"):
            vrt = self.path(op + ".vrt")
            runs = [
                Run("gdaldem", "gdaldem %s" % op, "cli",
                    lambda o, op=op: ["gdaldem", op, "-q", dem, o]),
                Run("pvrt", "PVRT, gdal_translate, %s threads" % (
                    self.a.threads or "default"), "cli",
                    lambda o, v=vrt: ["gdal_translate", "-q", v, o]),
                Run("pvrt1", "PVRT, gdal_translate, NUM_THREADS=1", "cli",
                    lambda o, v=vrt: ["gdal_translate", "-q", "-oo",
                                      "NUM_THREADS=1", v, o]),
            ]
            cases.append(Case(op, runs, "gdaldem",
                              [("gdaldem", "pvrt"), ("gdaldem", "pvrt1"),
                               ("pvrt1", "pvrt")]))
        vrt, src = self.path("focal_median.vrt"), self.path("focal.tif")
        fr = os.path.join(HERE, "focal_run.py")
        runs = [
            Run("scipy", "scipy.ndimage.median_filter(size=5)", "focal",
                lambda o: [PY, fr, "scipy", src, o]),
            Run("pvrt", "PVRT, ReadAsArray(), %s threads" % (
                self.a.threads or "default"), "focal",
                lambda o: [PY, fr, "pvrt", vrt, o]),
            Run("pvrt1", "PVRT, ReadAsArray(), NUM_THREADS=1", "focal",
                lambda o: [PY, fr, "pvrt", vrt, o, "1"]),
        ]
        cases.append(Case("focal", runs, "scipy",
                          [("scipy", "pvrt"), ("scipy", "pvrt1"),
                           ("pvrt1", "pvrt")]))
        only = set(",".join(self.a.only).split(",")) if self.a.only else None
        return [c for c in cases if only is None or c.name in only]

    def check_drivers(self):
        """gdalinfo must report the PVRT driver for every VRT."""
        for name in ("hillshade.vrt", "slope.vrt", "focal_median.vrt"):
            p = subprocess.run(["gdalinfo", self.path(name)], env=self.env,
                               capture_output=True, text=True)
            if "Driver: PVRT/" not in p.stdout:
                print("bench: %s is not opened by PVRT (GDAL_DRIVER_PATH=%s)"
                      "\n%s" % (name, self.env["GDAL_DRIVER_PATH"],
                                (p.stdout + p.stderr)[:800]), file=sys.stderr)
                return False
        return True

    def wait_quiet(self):
        if self.a.wait_idle <= 0:
            return
        deadline = time.monotonic() + self.a.wait_idle
        while idle_share() < 0.85 and time.monotonic() < deadline:
            pass

    def timed(self, run, out):
        """Runs it under /usr/bin/time: (seconds, CPU s, peak KB, cores
        others kept busy meanwhile)."""
        tfile = os.path.join(self.work, "time")
        argv = run.argv(out)
        env = dict(self.env, **run.env_extra)
        self.wait_quiet()
        b0 = busy_seconds()
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", tfile]
                           + argv, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        busy = busy_seconds() - b0
        if p.returncode != 0:
            raise RuntimeError("%s exited with %d:\n%s" % (
                " ".join(argv), p.returncode, p.stderr.strip()[-2000:]))
        with open(tfile) as f:
            user, system, kb = f.read().splitlines()[-1].split()
        cpu = float(user) + float(system)
        others = max(0.0, busy - cpu) / wall
        seconds = wall
        if run.kind == "focal":
            line = [ln for ln in p.stdout.splitlines()
                    if ln.startswith("seconds ")]
            seconds = float(line[-1].split()[1])
        return seconds, cpu, int(kb), others

    def run_case(self, case):
        for rnd in range(self.a.rounds):
            k = rnd % len(case.runs)
            order = case.runs[k:] + case.runs[:k]
            for run in order:
                out = self.out(run)
                try:
                    s, cpu, kb, others = self.timed(run, out)
                except RuntimeError as e:
                    print("FAILED %s/%s: %s" % (case.name, run.key, e),
                          file=sys.stderr)
                    self.failed = True
                    run.identical = False
                    continue
                run.times.append(s)
                run.by_round[rnd] = s
                run.cpus.append(cpu)
                run.rss.append(kb)
                run.others.append(others)
                # Identity, not timed. Round 1 runs the reference first.
                diff = self.check(case, run, out)
                print("  %-9s round %d  %-40s %7.2f s  CPU %6.2f s  "
                      "%5d MB  others %.2f%s" % (
                          case.name, rnd + 1, run.label, s, cpu, kb // 1024,
                          others, "" if diff is None else "  MISMATCH: " +
                          diff), file=sys.stderr)
                if diff is not None:
                    run.identical = False
                    self.failed = True
        if case.ref_kept:
            os.remove(case.ref_kept)

    def check(self, case, run, out):
        """Compares run's output with the case's reference (the first
        reference output is kept for that); None if it matches, else how
        it differs. Deletes out."""
        if run.kind == "cli":
            if case.ref_kept is None and run.key == case.ref:
                case.ref_kept = os.path.join(self.work, "ref_%s.tif" %
                                             case.name)
                shutil.move(out, case.ref_kept)
                return None
            diff = compare_rasters(case.ref_kept, out) if case.ref_kept \
                else "no reference output to compare with"
            os.remove(out)
            return diff
        got = np.load(out)
        os.remove(out)
        if run.key == case.ref:
            if case.ref_array is None:
                case.ref_array = got
                return None
            return None if np.array_equal(case.ref_array, got) else \
                "scipy's result changed between runs"
        if case.ref_array is None:
            return "no scipy result to compare with"
        return compare_focal(case.ref_array, got) or \
            self.same_as_other_pvrt(case, run, got)

    def same_as_other_pvrt(self, case, run, got):
        """The PVRT runs of every thread count give the same array (border
        included): the first one's digest is kept on the case."""
        digest = hashlib.sha256(got.tobytes()).hexdigest()
        first = case.pvrt_digest
        if first is None:
            case.pvrt_digest = digest
            return None
        return None if digest == first else \
            "differs from another PVRT run's array (thread count?)"

    def table(self, cases):
        print()
        print("| case | run | best s | CPU s (best run) | peak RSS MB | "
              "others (cores) | identical |")
        print("|---|---|---:|---:|---:|---:|:---:|")
        for case in cases:
            for run in case.runs:
                if not run.times:
                    print("| %s | %s | failed | | | | no |" % (case.name,
                                                               run.label))
                    continue
                i = min(range(len(run.times)), key=run.times.__getitem__)
                ident = "reference" if run.key == case.ref else (
                    "yes" if run.identical else "**NO**")
                print("| %s | %s | %.2f | %.2f | %d | %.2f | %s |" % (
                    case.name, run.label, run.times[i], run.cpus[i],
                    max(run.rss) // 1024,
                    sum(run.others) / len(run.others), ident))
        print()
        print("| case | ratio | best of rounds | per round: median (range) "
              "| CPU time |")
        print("|---|---|---:|---:|---:|")
        for case in cases:
            by = {r.key: r for r in case.runs}
            for num, den in case.ratios:
                a, b = by[num], by[den]
                if not a.times or not b.times:
                    continue
                per = sorted(a.by_round[r] / b.by_round[r]
                             for r in a.by_round if r in b.by_round)
                print("| %s | %s / %s | %.2fx | %.2fx (%.2f-%.2f) | %.2fx |"
                      % (case.name, num, den, min(a.times) / min(b.times),
                         median(per), per[0], per[-1],
                         min(a.cpus) / min(b.cpus)))
        print()
        print("rounds: %d; times are the best of the rounds; per round: "
              "the ratio of the two runs of one round (run a few seconds "
              "apart); CPU time: ratio of the least CPU time of each run "
              "over the rounds; 'others' is the mean number of cores other "
              "processes kept busy during the runs (of %d)" % (
                  self.a.rounds, os.cpu_count()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--focal-size", type=int, default=4096)
    ap.add_argument("--compress", choices=("NONE", "DEFLATE"),
                    default="NONE")
    ap.add_argument("--wait-idle", type=float, default=0)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    for c in ",".join(a.only).split(","):
        if a.only and c not in ("hillshade", "slope", "focal"):
            ap.error("unknown case %r" % c)
    r = subprocess.run([PY, os.path.join(HERE, "make_data.py"), "--out",
                        a.data, "--size", str(a.size), "--focal-size",
                        str(a.focal_size), "--compress", a.compress])
    if r.returncode != 0:
        return 2
    b = Bench(a)
    try:
        if not b.check_drivers():
            return 2
        cases = b.cases()
        print("neighbourhood bench: DEM %dx%d Float32 (%s), focal %dx%d, "
              "%d CPUs, GDAL %s, plugin %s" % (
                  a.size, a.size, a.compress, a.focal_size, a.focal_size,
                  os.cpu_count(), gdal.__version__, a.plugins))
        # Warm the page cache for everyone alike.
        for name in ("dem.tif", "focal.tif"):
            with open(b.path(name), "rb") as f:
                while f.read(1 << 24):
                    pass
        for case in cases:
            b.run_case(case)
        b.table(cases)
    finally:
        if not a.keep:
            shutil.rmtree(b.work, ignore_errors=True)
    if b.failed:
        print("bench: FAILED or MISMATCH (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

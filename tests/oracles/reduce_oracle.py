#!/usr/bin/python3
"""reduce_oracle.py: numpy's answers for pvrt_reduce test cases.

Independent of the code under test: missing values are found here (NaN,
the nodata value as the source type holds it, the skip values) and every op
is computed with numpy's nan-aware functions (nanmedian, nanpercentile,
nanmin, nanmax, nanargmin, nanargmax, nansum, nanmean, unique for the mode).

Usage: reduce_oracle.py DIR          (test cases, below)
       reduce_oracle.py examples DIR (the vrt-examples, see examples())
DIR/cases.txt has one case per line, whitespace-separated:
  name op q min_count nodata skip src_type nsrc npix out_float
where nodata and skip are '-' when absent (skip is comma-separated), q is
'-' except for percentile, out_float is 1 when the output type is floating.
DIR/<name>.in holds nsrc * npix float64 values, source after source (the
sources converted to double, which is exact for every real GDAL type).
Writes DIR/<name>.out: npix float64 results.
"""
import os
import sys
import warnings

import numpy as np


def as_source_value(v, src_type):
    # A Float32 source holds the float32 nearest to the value.
    if src_type == "Float32" and np.isfinite(v) and abs(v) <= np.finfo(np.float32).max:
        return float(np.float32(v))
    return v


def reduce_case(a, op, q, min_count, nodata, skip, src_type, out_float):
    miss = np.isnan(a)
    if nodata is not None:
        miss |= a == as_source_value(nodata, src_type)
    for s in skip:
        miss |= a == as_source_value(s, src_type)
    m = np.where(miss, np.nan, a)
    valid = ~miss
    cnt = valid.sum(axis=0)
    nsrc, npix = a.shape
    some = cnt > 0
    # Columns without any valid value get a placeholder that is overwritten
    # with the fill value below (numpy's arg functions refuse all-NaN).
    safe = np.where(some[None, :], m, 0.0)

    if op == "median":
        r = np.nanmedian(m, axis=0)
    elif op == "percentile":
        r = np.nanpercentile(m, q, axis=0)
    elif op == "min":
        r = np.nanmin(m, axis=0)
    elif op == "max":
        r = np.nanmax(m, axis=0)
    elif op == "range":
        r = np.nanmax(m, axis=0) - np.nanmin(m, axis=0)
    elif op == "sum":
        r = np.nansum(m, axis=0)
    elif op == "mean":
        r = np.nanmean(m, axis=0)
    elif op == "count":
        r = cnt.astype(np.float64)
    elif op == "argmin":
        r = (np.nanargmin(np.where(some[None, :], m, 0.0), axis=0) + 1).astype(np.float64)
    elif op == "argmax":
        r = (np.nanargmax(np.where(some[None, :], m, 0.0), axis=0) + 1).astype(np.float64)
    elif op == "first":
        i = np.argmax(valid, axis=0)
        r = safe[i, np.arange(npix)]
    elif op == "last":
        i = nsrc - 1 - np.argmax(valid[::-1], axis=0)
        r = safe[i, np.arange(npix)]
    elif op == "mode":
        r = np.zeros(npix)
        for p in range(npix):
            vals = a[valid[:, p], p]
            if vals.size:
                u, c = np.unique(vals, return_counts=True)
                r[p] = u[np.argmax(c)]  # first maximum: the smallest value
    else:
        raise SystemExit("unknown op " + op)

    if op != "count":
        if nodata is not None:
            fill = nodata
        else:
            fill = np.nan if out_float else 0.0
        r = np.where(cnt < min_count, fill, r)
    return np.asarray(r, dtype=np.float64)


def read(path):
    from osgeo import gdal
    ds = gdal.Open(path)
    return ds.GetRasterBand(1).ReadAsArray().astype(np.float64)


def examples(d):
    """numpy's results for the vrt-examples of pvrt_reduce, pvrt_reclass and
    pvrt_index, from their input GeoTIFFs in d, as float64 .raw files."""
    # median_composite.vrt: median of the dates that are not 0; 0 where
    # none is; Float32 out.
    scenes = np.stack([read(os.path.join(d, "scene_%02d.tif" % i)) for i in range(1, 7)])
    scenes[scenes == 0] = np.nan
    med = np.nanmedian(scenes, axis=0)
    med = np.where(np.isnan(med), 0.0, med).astype(np.float32).astype(np.float64)
    med.tofile(os.path.join(d, "median_composite.expected"))

    # landcover_reclass.vrt: a lookup of every code; Byte out.
    lc = read(os.path.join(d, "landcover.tif"))
    table = {0: 0, 10: 1, 20: 2, 30: 2, 100: 2, 40: 3, 50: 4, 60: 5, 70: 6,
             80: 7, 90: 7, 95: 7}
    out = np.full(lc.shape, -1.0)
    for code, cls in table.items():
        out[lc == code] = cls
    if (out < 0).any():
        raise SystemExit("landcover.tif holds a code the example does not map")
    out.tofile(os.path.join(d, "landcover_reclass.expected"))

    # evi.vrt: Huete et al. 2002 on L2A reflectances; 0 where a DN is 0 or
    # the denominator is 0; Float32 out. Same operation order as
    # README.md (pvrt_reduce) states.
    b02, b04, b08 = (read(os.path.join(d, n)) for n in ("s2_B02.tif", "s2_B04.tif", "s2_B08.tif"))
    blue, red, nir = (x * 0.0001 + -0.1 for x in (b02, b04, b08))
    den = nir + 6.0 * red - 7.5 * blue + 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        evi = 2.5 * (nir - red) / den
    bad = (b02 == 0) | (b04 == 0) | (b08 == 0) | (den == 0) | np.isnan(evi)
    evi = np.where(bad, 0.0, evi).astype(np.float32).astype(np.float64)
    evi.tofile(os.path.join(d, "evi.expected"))


def main():
    if sys.argv[1] == "examples":
        examples(sys.argv[2])
        return
    d = sys.argv[1]
    warnings.simplefilter("ignore")
    with open(os.path.join(d, "cases.txt")) as f:
        for line in f:
            fields = line.split()
            if not fields:
                continue
            name, op, q, min_count, nodata, skip, src_type, nsrc, npix, out_float = fields
            q = float(q) if q != "-" else None
            nodata = float(nodata) if nodata != "-" else None
            skip = [float(s) for s in skip.split(",")] if skip != "-" else []
            a = np.fromfile(os.path.join(d, name + ".in"), dtype=np.float64)
            a = a.reshape(int(nsrc), int(npix))
            r = reduce_case(a, op, q, int(min_count), nodata, skip, src_type,
                            out_float == "1")
            r.tofile(os.path.join(d, name + ".out"))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""reduce_oracle.py: numpy's answers for pvrt_reduce test cases.

Independent of the code under test: missing values are found here (NaN,
the nodata value as the source type holds it, the skip values) and every op
is computed with numpy's nan-aware functions (nanmedian, nanpercentile,
nanmin, nanmax, nanargmin, nanargmax, nansum, nanmean, unique for the mode).

Usage: reduce_oracle.py DIR
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


def main():
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

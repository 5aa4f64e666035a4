"""Shared helpers of pvrt's remote tests (tests/remote/test_remote.py) and
benchmark (bench/remote/): start and drive httpserver.py, open a dataset
with a chosen driver, count this process's threads and descriptors.

Run under Debian's /usr/bin/python3 (osgeo, numpy). The server is a child
process bound to 127.0.0.1 with a bounded lifetime; Server.stop() ends it,
and the lifetime ends it anyway if the test dies first.
"""

import contextlib
import itertools
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from osgeo import gdal

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "httpserver.py")

_tokens = itertools.count(1)


class Server:
    """httpserver.py in a child process. url(name) gives a URL under a fresh
    token unless a token is passed, so GDAL's /vsicurl/ caches never carry a
    file size, a failure or a byte range from one case to another."""

    def __init__(self, root, latency_ms=0, faults=None, lifetime=300,
                 port=0, quiet=True):
        self.root = root
        port_file = os.path.join(root, ".port.%d" % os.getpid())
        if os.path.exists(port_file):
            os.unlink(port_file)
        cmd = [sys.executable, SERVER, "--root", root, "--port", str(port),
               "--port-file", port_file, "--latency-ms", str(latency_ms),
               "--lifetime", str(lifetime)]
        if faults:
            cmd += ["--faults", json.dumps(faults)]
        if quiet:
            cmd.append("--quiet")
        self.proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL
                                     if quiet else None)
        deadline = time.monotonic() + 15
        while not os.path.exists(port_file):
            if self.proc.poll() is not None:
                raise RuntimeError("httpserver.py exited with %d"
                                   % self.proc.returncode)
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("httpserver.py did not start in 15 s")
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read().strip())
        os.unlink(port_file)
        self.base = "http://127.0.0.1:%d" % self.port

    def token(self, label="t"):
        return "%s-%d-%d" % (label, os.getpid(), next(_tokens))

    def url(self, name, token=None, label="t"):
        """/vsicurl/ path of a served file, under a fresh token."""
        if token is None:
            token = self.token(label)
        return "/vsicurl/%s/u/%s/%s" % (self.base, token, name)

    def _get(self, path, **params):
        q = urllib.parse.urlencode(params)
        with urllib.request.urlopen("%s%s?%s" % (self.base, path, q),
                                    timeout=10) as r:
            return json.load(r)

    def control(self, faults=None, latency_ms=None, reset=True, gate=None):
        """Sets faults, latency and (armed after the reset) a gate; see
        httpserver.py. reset=True clears the counters and any gate."""
        params = {}
        if faults is not None:
            params["faults"] = json.dumps(faults)
        if gate is not None:
            params["gate"] = json.dumps(gate)
        if latency_ms is not None:
            params["latency_ms"] = latency_ms
        if reset:
            params["reset"] = 1
        return self._get("/__control", **params)

    def stats(self):
        return self._get("/__stats")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# GDAL settings every remote test uses: short, bounded, no directory
# listings (the server has none: each would be a wasted request).
BASE_CONFIG = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.vrt",
    "GDAL_HTTP_TIMEOUT": "5",
    "GDAL_HTTP_CONNECTTIMEOUT": "2",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_RETRY_DELAY": "0.05",
}


@contextlib.contextmanager
def config(**options):
    """Sets process-wide config options for the block, then restores."""
    old = {k: gdal.GetConfigOption(k) for k in options}
    for k, v in options.items():
        gdal.SetConfigOption(k, None if v is None else str(v))
    try:
        yield
    finally:
        for k, v in old.items():
            gdal.SetConfigOption(k, v)


# GDAL 3.10+ reads plain VRT mosaics on threads of its own, and before 3.11
# those threads drop source errors (a failing COG reads as zeros, no error):
# the oracle is the VRT driver as it reads serially, NUM_THREADS=1 (an open
# option 3.6 does not know).
SERIAL_VRT_OPTIONS = (["NUM_THREADS=1"]
                      if int(gdal.VersionInfo()) >= 3100000 else [])


def open_with(path, driver, threads=None):
    """Opens path with the PVRT driver (PVRT_CLAIM=ALL, optional NUM_THREADS
    open option; asserts PVRT took it) or with GDAL's VRT driver
    (PVRT_CLAIM=NONE, serially: the oracle)."""
    if driver == "PVRT":
        opts = ["NUM_THREADS=%s" % threads] if threads is not None else []
        with config(PVRT_CLAIM="ALL"):
            ds = gdal.OpenEx(path, gdal.OF_RASTER, open_options=opts)
        name = ds.GetDriver().ShortName
        if name != "PVRT":
            raise AssertionError("%s opened by %s, not PVRT (is the plugin "
                                 "on GDAL_DRIVER_PATH?)" % (path, name))
    elif driver == "VRT":
        with config(PVRT_CLAIM="NONE"):
            ds = gdal.OpenEx(path, gdal.OF_RASTER,
                             open_options=SERIAL_VRT_OPTIONS)
        name = ds.GetDriver().ShortName
        if name != "VRT":
            raise AssertionError("oracle %s opened by %s, not VRT"
                                 % (path, name))
    else:
        raise ValueError(driver)
    return ds


def debug_item(ds, key):
    v = ds.GetMetadataItem(key, "__DEBUG__")
    return None if v is None else v


def thread_count():
    return len(os.listdir("/proc/self/task"))


def fd_count():
    return len(os.listdir("/proc/self/fd"))


def normalise(msg):
    """An error message with the port and URL tokens removed, so the
    messages of two reads of the same fault can be compared."""
    msg = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", msg)
    return re.sub(r"/u/[^/]+/", "/u/TOKEN/", msg)

#!/usr/bin/python3
"""Self-test of tests/remote/httpserver.py (CTest remote_server_selftest):
what the remote tests rely on, checked with the standard library's HTTP
client, without GDAL. Bounded: a few dozen requests, a few seconds.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from remote_common import SERVER, Server  # noqa: E402

FAILURES = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def request(port, method, path, headers=None, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        return r.status, dict(r.getheaders()), body
    finally:
        c.close()


def main():
    tmp = tempfile.mkdtemp(prefix="pvrt-httpserver-")
    payload = bytes(range(256)) * 40           # 10240 bytes
    with open(os.path.join(tmp, "f.bin"), "wb") as f:
        f.write(payload)
    with Server(tmp, lifetime=60) as srv:
        p = srv.port
        # Bound to loopback only.
        check(srv.base.startswith("http://127.0.0.1:"), "binds 127.0.0.1")

        s, h, b = request(p, "HEAD", "/f.bin")
        check(s == 200 and h.get("Content-Length") == "10240" and b == b""
              and h.get("Accept-Ranges") == "bytes",
              "HEAD: 200, Content-Length, Accept-Ranges, no body")
        s, h, b = request(p, "GET", "/u/tok/f.bin")
        check(s == 200 and b == payload, "GET whole file under /u/<token>/")
        s, h, b = request(p, "GET", "/f.bin", {"Range": "bytes=100-199"})
        check(s == 206 and b == payload[100:200]
              and h.get("Content-Range") == "bytes 100-199/10240"
              and h.get("Content-Length") == "100", "single range: 206")
        s, h, b = request(p, "GET", "/f.bin", {"Range": "bytes=10000-20000"})
        check(s == 206 and b == payload[10000:], "range clipped at the end")
        s, h, b = request(p, "GET", "/f.bin", {"Range": "bytes=-16"})
        check(s == 206 and b == payload[-16:], "suffix range")
        s, h, b = request(p, "GET", "/f.bin", {"Range": "bytes=20000-"})
        check(s == 416 and h.get("Content-Range") == "bytes */10240",
              "unsatisfiable range: 416")
        s, _, _ = request(p, "GET", "/nothere.bin")
        check(s == 404, "missing file: 404")
        s, _, _ = request(p, "GET", "/../etc/passwd")
        check(s == 404, "no escape from the root")

        # Keep-alive: two requests on one connection.
        c = http.client.HTTPConnection("127.0.0.1", p, timeout=5)
        c.request("GET", "/f.bin", headers={"Range": "bytes=0-9"})
        r1 = c.getresponse().read()
        c.request("GET", "/f.bin", headers={"Range": "bytes=10-19"})
        r2 = c.getresponse().read()
        c.close()
        check(r1 == payload[:10] and r2 == payload[10:20], "keep-alive")

        # Latency: an answer waits at least latency_ms; the first request
        # of a path has its [start, end] reported. Lower bounds only: a
        # loaded machine makes answers later, never earlier.
        srv.control(latency_ms=300)
        t0 = time.monotonic()
        request(p, "GET", "/f.bin")
        wall = time.monotonic() - t0
        st = srv.stats()
        first = st["first"].get("/f.bin")
        check(wall >= 0.3 and st["requests"] == 1 and st["peak_inflight"] == 1,
              "latency 300 ms: answered in %.2f s, peak %d"
              % (wall, st["peak_inflight"]))
        check(first is not None and first[1] is not None
              and first[1] - first[0] >= 0.3 and first[0] < wall,
              "first request of a path: start and end reported (%s)" % first)

        # Gate met: 6 clients that each send before any answer arrives are
        # held until all 6 are in flight, then all answered. The gate's
        # time-out (30 s) is far beyond any scheduling delay; the test
        # ends as soon as the 6th request arrives.
        def parallel(n, path="/f.bin"):
            ths = [threading.Thread(target=request, args=(p, "GET", path),
                                    kwargs={"timeout": 60})
                   for _ in range(n)]
            for t in ths:
                t.start()
            for t in ths:
                t.join()
        srv.control(latency_ms=0, gate={"count": 6, "timeout_s": 30})
        parallel(6)
        st = srv.stats()
        g = st["gate"][0]
        check(g["state"] == "met" and g["open_inflight"] == 6 and
              st["peak_inflight"] == 6 and st["requests"] == 6,
              "gate count=6, 6 parallel clients: met with %s in flight, "
              "peak %d" % (g["open_inflight"], st["peak_inflight"]))
        # One-shot: after it opened, requests pass without waiting.
        request(p, "GET", "/f.bin")
        check(srv.stats()["gate"][0]["state"] == "met" and
              srv.stats()["gate"][0]["held"] == 6,
              "gate is one-shot: the 7th request is not held")

        # Gate timed out: a serial client never has 2 in flight; its first
        # request is held timeout_s, then everything passes. Another path
        # does not match and is never held.
        srv.control(gate={"count": 2, "timeout_s": 0.5, "match": "f\\.bin"})
        t0 = time.monotonic()
        request(p, "GET", "/f.bin")
        held = time.monotonic() - t0
        request(p, "GET", "/f.bin")
        st = srv.stats()
        g = st["gate"][0]
        check(g["state"] == "timed_out" and g["held"] == 1 and held >= 0.5
              and st["peak_inflight"] == 1,
              "gate count=2, serial client: timed out after holding the "
              "first request %.2f s, the second not held" % held)
        with open(os.path.join(tmp, "g.bin"), "wb") as f:
            f.write(b"x")
        srv.control(gate={"count": 2, "timeout_s": 30, "match": "f\\.bin"})
        request(p, "GET", "/g.bin")
        check(srv.stats()["gate"][0]["state"] == "armed" and
              srv.stats()["gate"][0]["held"] == 0,
              "gate match: a request of another path is not held")
        # distinct=2: two requests of one path do not open it, a request of
        # a second path does.
        srv.control(gate={"count": 2, "distinct": 2, "timeout_s": 30})
        ths = [threading.Thread(target=request, args=(p, "GET", path),
                                kwargs={"timeout": 60})
               for path in ("/f.bin", "/f.bin")]
        for t in ths:
            t.start()
        deadline = time.monotonic() + 30
        while (srv.stats()["gate"][0]["held"] < 2 and
               time.monotonic() < deadline):
            time.sleep(0.05)
        still = srv.stats()["gate"][0]
        request(p, "GET", "/g.bin", timeout=60)
        for t in ths:
            t.join()
        g = srv.stats()["gate"][0]
        check(still["state"] == "armed" and still["held"] == 2 and
              g["state"] == "met" and g["open_inflight"] == 3 and
              g["open_paths"] == ["/f.bin", "/g.bin"],
              "gate distinct=2: held with 2 requests of one path (%s), met "
              "by a second path (%s)" % (still["state"], g["open_paths"]))
        # min_offset: only ranged requests from that byte on are held.
        srv.control(gate={"count": 1, "min_offset": 100, "timeout_s": 30})
        request(p, "GET", "/f.bin", {"Range": "bytes=0-9"})
        request(p, "GET", "/f.bin")
        before = srv.stats()["gate"][0]
        request(p, "GET", "/f.bin", {"Range": "bytes=200-299"})
        g = srv.stats()["gate"][0]
        check(before["held"] == 0 and before["state"] == "armed" and
              g["held"] == 1 and g["state"] == "met",
              "gate min_offset=100: bytes=0-9 and no Range pass, bytes=200- "
              "is held")

        # A list: the second gate takes the requests after the first fired.
        srv.control(gate=[{"count": 2, "timeout_s": 30},
                          {"count": 3, "timeout_s": 30}])
        parallel(2)
        mid = srv.stats()["gate"]
        parallel(3)
        g = srv.stats()["gate"]
        check([x["state"] for x in mid] == ["met", "armed"] and
              [(x["state"], x["open_inflight"]) for x in g] ==
              [("met", 2), ("met", 3)],
              "gates in a list fire one after another (%s)"
              % [(x["state"], x["open_inflight"]) for x in g])
        s_, _, _ = request(p, "GET", "/__control?gate=%7B%22count%22%3A0%7D")
        check(s_ == 400, "bad gate rejected with 400")
        srv.control(gate={"count": 2, "timeout_s": 30})
        srv.control(reset=True)
        check(srv.stats()["gate"] is None, "reset disarms the gate")

        # Faults: first N per path, every k-th, 404, auth.
        srv.control(faults=[{"kind": "503", "first": 2, "match": "f.bin"}])
        codes = [request(p, "GET", "/f.bin")[0] for _ in range(3)]
        codes2 = [request(p, "GET", "/u/x/f.bin")[0] for _ in range(3)]
        check(codes == [503, 503, 200] and codes2 == [503, 503, 200],
              "first=2: the first 2 requests of each path get 503 (%s %s)"
              % (codes, codes2))
        srv.control(faults=[{"kind": "503", "every": 3}])
        codes = [request(p, "GET", "/f.bin")[0] for _ in range(6)]
        check(codes == [200, 200, 503, 200, 200, 503], "every=3 (%s)" % codes)
        srv.control(faults=[{"kind": "404", "after": 1,
                             "methods": ["GET"]}])
        codes = [request(p, "GET", "/f.bin")[0] for _ in range(2)]
        codes.append(request(p, "HEAD", "/f.bin")[0])
        check(codes == [200, 404, 200], "after=1, methods=[GET] (%s)" % codes)
        srv.control(faults=[{"kind": "auth", "header": "X-T: s"}])
        a = request(p, "GET", "/f.bin")[0]
        b = request(p, "GET", "/f.bin", {"X-T": "s"})[0]
        c_ = request(p, "GET", "/f.bin", {"X-T": "wrong"})[0]
        check((a, b, c_) == (403, 200, 403), "auth header (%s %s %s)"
              % (a, b, c_))
        srv.control(faults=[{"kind": "503", "fraction": 0.5}])
        codes = [request(p, "GET", "/f.bin")[0] for _ in range(40)]
        n = codes.count(503)
        check(10 <= n <= 30, "fraction=0.5: %d of 40" % n)

        # Reset: the client sees a reset or an empty reply, no answer.
        srv.control(faults=[{"kind": "reset"}])
        try:
            request(p, "GET", "/f.bin")
            got = "answer"
        except (ConnectionError, http.client.HTTPException, OSError) as e:
            got = type(e).__name__
        check(got != "answer", "reset: no answer (%s)" % got)

        # Truncate: full Content-Length announced, half the body sent.
        srv.control(faults=[{"kind": "truncate", "keep": 0.5}])
        try:
            request(p, "GET", "/f.bin", {"Range": "bytes=0-999"})
            got = "complete"
        except http.client.IncompleteRead as e:
            got = len(e.partial)
        check(got == 500, "truncate: 500 of 1000 bytes then close (%s)" % got)

        # Stall: nothing within the client's timeout.
        # (A stall ends by closing without an answer: a client that saw a
        # time-out, not a closed connection, gave up before the stall
        # ended, whatever the machine's load.)
        srv.control(faults=[{"kind": "stall", "stall_s": 5}])
        try:
            request(p, "GET", "/f.bin", timeout=0.5)
            got = "answer"
        except socket.timeout:
            got = "timeout"
        except (ConnectionError, http.client.HTTPException) as e:
            got = type(e).__name__
        check(got == "timeout", "stall: the client times out (%s)" % got)

        srv.control(faults=[], reset=True)
        s, _, b = request(p, "GET", "/__control?faults=%7Bbad")
        check(s == 400, "bad fault JSON rejected with 400")
        st = srv.stats()
        check(st["requests"] == 0 and st["faults"] == {},
              "reset=1 clears counters; control/stats not counted")

    # Bounded lifetime: a server started for 1 s exits by itself.
    proc = subprocess.Popen([sys.executable, SERVER, "--root", tmp,
                             "--lifetime", "1", "--quiet"],
                            stderr=subprocess.DEVNULL)
    try:
        rc = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = None
    check(rc == 0, "--lifetime 1: exits by itself (rc %s)" % rc)

    print("%d failure(s)" % len(FAILURES))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())

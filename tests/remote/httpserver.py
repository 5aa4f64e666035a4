#!/usr/bin/python3
"""A loopback HTTP file server with latency and fault injection, for pvrt's
remote tests, examples and benchmarks.

Standard library only (Debian's /usr/bin/python3). It binds 127.0.0.1 and
nothing else, serves the files under one directory with GET and HEAD, single
byte ranges (206 + Content-Range, 416 when unsatisfiable), Accept-Ranges and
exact Content-Length, over HTTP/1.1 keep-alive connections, and

  * waits --latency-ms before answering each request (a round trip);
  * injects faults from a list of rules (below), set at start with --faults
    and replaced at run time through GET /__control;
  * counts requests and the peak number of requests in flight:
    GET /__stats returns JSON;
  * holds requests at one-shot gates until several are in flight at once
    (below), so that tests of concurrency observe overlap by construction
    rather than by the luck of the scheduler;
  * exits on its own after --lifetime seconds, however it is used.

Paths: /u/<token>/<file> serves <file>. Tests use a fresh token per case so
that GDAL's process-wide /vsicurl/ caches (file sizes, failures, byte
ranges) never carry over from one case to the next.

Fault rules: a JSON list of objects, tried in order; the first that fires
decides the answer. Keys:
  kind     "503" | "404" | "reset" | "stall" | "truncate" | "auth"
  match    regular expression searched in the request path (default: any)
  methods  list of methods it applies to (default ["GET", "HEAD"])
  ranged   true: only requests carrying a Range header
  after    let the first N matching requests of each path through, then
           apply first/every/fraction to the rest (e.g. after=1 spares the
           header read of a COG and hits its tile reads)
  first    fire on the first N matching requests of each path
  every    fire on every k-th matching request of each path (k, 2k, ...)
  fraction fire on this fraction of matching requests (seeded, so a run
           is reproducible for a given request order)
  (none of first/every/fraction: fire on every matching request)
  stall_s  "stall": seconds to wait before closing without an answer
  keep     "truncate": fraction of the body sent before closing (0.5)
  header   "auth": required "Name: value"; absent or different -> 403
Kinds: "503" answers 503 Service Unavailable; "404" answers 404; "reset"
closes the connection with a TCP reset before any answer; "stall" sends
nothing for stall_s seconds, then closes; "truncate" sends the headers with
the full Content-Length and only part of the body, then closes.

Gates: a JSON object {"count": k, "distinct": d, "match": re,
"min_offset": n, "timeout_s": t}, or a list of them passed one after
another. While a gate is armed, every counted request whose path matches
re (default: any) and, with min_offset, that carries a Range starting at
byte n or later (e.g. past a COG's header and overviews: its
full-resolution tile reads) is held, before its latency, until k matching
requests of at least d distinct paths (default 1) are held at once: then
the gate opens ("met") and lets them through. A client that never has k
such requests in flight at once leaves the first one held t seconds
(default 10); the gate then gives up ("timed_out") and lets it through.
Either way a gate fires once, and the next gate of the list (if any) takes
the requests that arrive after. A client with one request in flight at a
time therefore always times a gate out, and one that issues k requests
before waiting for any answer always meets it, however slowly its threads
are scheduled.

Control: GET /__control?latency_ms=50&faults=<json>&gate=<json>&reset=1
(each parameter optional; reset=1 clears the counters, including the
per-path counts used by "first" and "every", and disarms the gates; gates
given in the same call are armed after the reset). GET /__stats returns
{"requests", "by_status", "by_method", "faults", "peak_inflight",
"inflight", "bytes_sent", "duplicate_ranges", "paths", "first", "gate"},
where a request is in flight from its arrival until its answer starts to go
out (held at a gate, waiting its latency), "first" maps each path to [start, end] of its first request in
seconds since the last reset (end: when its answer starts to go out, null
before) and "gate" is null
or a list, one per gate, of {"state": "armed" | "met" | "timed_out",
"held": requests it held, "open_inflight": matching requests held when it
opened, "open_paths": their distinct paths, "spec": the gate as set}.
Control and stats requests are not counted and never delayed.

Usage: httpserver.py --root DIR [--port 0] [--port-file F]
                     [--latency-ms 0] [--faults JSON] [--lifetime 300]
                     [--seed 1] [--quiet]
"""

import argparse
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KINDS = ("503", "404", "reset", "stall", "truncate", "auth")


class Rule:
    """One fault rule, validated once when installed."""

    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("a fault rule must be an object: %r" % (spec,))
        unknown = set(spec) - {"kind", "match", "methods", "ranged", "first",
                               "every", "fraction", "stall_s", "keep", "after",
                               "header"}
        if unknown:
            raise ValueError("unknown fault rule keys: %s" % sorted(unknown))
        self.kind = str(spec.get("kind"))
        if self.kind not in KINDS:
            raise ValueError("fault kind must be one of %s" % (KINDS,))
        self.match = re.compile(spec.get("match", ""))
        self.methods = set(spec.get("methods", ["GET", "HEAD"]))
        self.ranged = bool(spec.get("ranged", False))
        self.after = int(spec.get("after", 0))
        self.first = spec.get("first")
        self.every = spec.get("every")
        self.fraction = spec.get("fraction")
        self.stall_s = float(spec.get("stall_s", 30.0))
        self.keep = float(spec.get("keep", 0.5))
        self.header = spec.get("header")
        if self.kind == "auth":
            if not self.header or ":" not in self.header:
                raise ValueError('"auth" needs header="Name: value"')
            name, value = self.header.split(":", 1)
            self.header = (name.strip().lower(), value.strip())
        self.spec = spec

    def applies(self, method, path, has_range):
        if method not in self.methods:
            return False
        if self.ranged and not has_range:
            return False
        return self.match.search(path) is not None


class Gate:
    """One one-shot gate (see the module text). Its fields are guarded by
    the State's lock; 'held' maps each held request (an object) to its
    path."""

    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("a gate must be an object: %r" % (spec,))
        unknown = set(spec) - {"count", "distinct", "match", "min_offset",
                               "timeout_s"}
        if unknown:
            raise ValueError("unknown gate keys: %s" % sorted(unknown))
        self.count = int(spec.get("count", 2))
        self.distinct = int(spec.get("distinct", 1))
        self.match = re.compile(spec.get("match", ""))
        self.min_offset = spec.get("min_offset")
        if self.min_offset is not None:
            self.min_offset = int(self.min_offset)
        self.timeout_s = float(spec.get("timeout_s", 10.0))
        if self.count < 1 or self.distinct < 1 or self.timeout_s <= 0:
            raise ValueError("gate: count, distinct >= 1, timeout_s > 0")
        self.spec = spec
        self.state = "armed"
        self.held = {}
        self.held_total = 0
        self.open_inflight = None
        self.open_paths = None

    def matches(self, path, range_header):
        if self.match.search(path) is None:
            return False
        if self.min_offset is None:
            return True
        m = re.fullmatch(r"\s*bytes\s*=\s*(\d+)\s*-.*", range_header or "")
        return m is not None and int(m.group(1)) >= self.min_offset

    def report(self):
        return {"state": self.state, "held": self.held_total,
                "open_inflight": self.open_inflight,
                "open_paths": self.open_paths, "spec": self.spec}


class State:
    """Counters and configuration shared by the handler threads.
    Every field is guarded by 'lock'; 'cond' (on the same lock) wakes the
    requests held at a gate."""

    def __init__(self, latency_ms, rules, seed):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.gates = []
        self.latency_ms = latency_ms
        self.rules = rules
        self.seed = seed
        self.reset()

    def reset(self):
        # Caller holds the lock or is the constructor.
        self.rng = random.Random(self.seed)
        # Requests still being answered when the counters are cleared (the
        # client has its answer, the handler has not yet counted it out)
        # belong to the previous epoch and are not counted out of this one.
        self.epoch = getattr(self, "epoch", 0) + 1
        self.requests = 0
        self.by_status = {}
        self.by_method = {}
        self.faults = {}
        self.inflight = 0
        self.peak = 0
        self.bytes_sent = 0
        self.per_path = {}          # path -> requests seen (all methods)
        self.rule_hits = {}         # (rule index, path) -> matching requests
        self.ranges_seen = {}       # (path, range header) -> count
        self.t0 = time.monotonic()
        self.first = {}             # path -> [start, end] of its first request
        self.set_gates([])

    def set_gates(self, gates):
        # Caller holds the lock or is the constructor. Requests held at
        # gates being replaced are let through.
        for old in self.gates:
            if old.state == "armed":
                old.state = "disarmed"
                self.cond.notify_all()
        self.gates = gates

    def active_gate(self):
        # Lock held: the first gate that has not fired, or None.
        for gate in self.gates:
            if gate.state == "armed":
                return gate
        return None

    def snapshot(self):
        with self.lock:
            return {
                "requests": self.requests,
                "by_status": dict(self.by_status),
                "by_method": dict(self.by_method),
                "faults": dict(self.faults),
                "peak_inflight": self.peak,
                "inflight": self.inflight,
                "bytes_sent": self.bytes_sent,
                "duplicate_ranges": sum(c - 1 for c in
                                        self.ranges_seen.values() if c > 1),
                "latency_ms": self.latency_ms,
                "paths": dict(self.per_path),
                "first": {k: list(v) for k, v in self.first.items()},
                "gate": [g.report() for g in self.gates] or None,
            }


def parse_rules(text):
    if text is None or text == "":
        return []
    specs = json.loads(text)
    if isinstance(specs, dict):
        specs = [specs]
    return [Rule(s) for s in specs]


def parse_range(header, size):
    """Returns (start, end) inclusive, None for no/ignored range, or
    "unsatisfiable". Only a single bytes range is honoured; a multi-range
    request is answered with the whole file, which RFC 9110 allows."""
    if not header:
        return None
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not m:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        n = int(last)
        if n == 0:
            return "unsatisfiable"
        return (max(0, size - n), size - 1)
    start = int(first)
    end = int(last) if last != "" else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return (start, min(end, size - 1))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pvrt-testserver/1"
    # TCP_NODELAY: the headers and the body go out in separate writes; with
    # Nagle's algorithm the body would wait for the client's delayed ACK of
    # the headers (about 40 ms on Linux), adding a hidden second latency to
    # every GET on top of --latency-ms.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("httpserver: " + (fmt % args) + "\n")

    # -- plumbing ---------------------------------------------------------

    def send_json(self, obj, code=200):
        body = json.dumps(obj, sort_keys=True).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_simple(self, code, text, head=False):
        body = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)
        return len(body)

    def reset_connection(self):
        # SO_LINGER with a zero timeout turns close() into a TCP RST.
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    # -- verbs ------------------------------------------------------------

    def do_GET(self):
        self.handle_request("GET")

    def do_HEAD(self):
        self.handle_request("HEAD")

    def handle_request(self, method):
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        if path == "/__stats":
            self.send_json(self.server.state.snapshot())
            return
        if path == "/__control":
            self.control(urllib.parse.parse_qs(url.query))
            return

        st = self.server.state
        has_range = "Range" in self.headers
        with st.lock:
            st.requests += 1
            st.by_method[method] = st.by_method.get(method, 0) + 1
            st.per_path[path] = st.per_path.get(path, 0) + 1
            st.inflight += 1
            st.peak = max(st.peak, st.inflight)
            epoch = st.epoch
            latency = st.latency_ms / 1000.0
            fired = self.pick_fault(st, method, path, has_range)
            if fired is not None:
                # Counted now: a stalled answer may outlive the read.
                st.faults[fired.kind] = st.faults.get(fired.kind, 0) + 1
            if method == "GET" and has_range:
                key = (path, self.headers["Range"])
                st.ranges_seen[key] = st.ranges_seen.get(key, 0) + 1
            first = None
            if path not in st.first:
                first = st.first[path] = [time.monotonic() - st.t0, None]
        status = 0
        sent = 0
        counted_out = False
        try:
            self.wait_at_gate(st, path)
            if latency > 0:
                time.sleep(latency)
            # The end of a first request is noted, and the request counted
            # out of "inflight", before its answer goes out: a client that
            # has the answer then finds both in stats(), and a serial client
            # never finds its previous request still in flight.
            with st.lock:
                if first is not None:
                    first[1] = time.monotonic() - st.t0
                if epoch == st.epoch:
                    st.inflight -= 1
                counted_out = True
            status, sent = self.answer(method, path, fired)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            status = status or -1
        finally:
            with st.lock:
                if first is not None and first[1] is None:
                    first[1] = time.monotonic() - st.t0
                if epoch == st.epoch:
                    if not counted_out:
                        st.inflight -= 1
                    st.bytes_sent += sent
                    st.by_status[str(status)] = (
                        st.by_status.get(str(status), 0) + 1)

    def wait_at_gate(self, st, path):
        """Holds this request at the active gate (see the module text);
        returns at once when there is none or it does not match."""
        with st.lock:
            gate = st.active_gate()
            if gate is None or not gate.matches(path,
                                                self.headers.get("Range")):
                return
            me = object()
            gate.held[me] = path
            gate.held_total += 1
            if (len(gate.held) >= gate.count and
                    len(set(gate.held.values())) >= gate.distinct):
                gate.state = "met"
                gate.open_inflight = len(gate.held)
                gate.open_paths = sorted(set(gate.held.values()))
                st.cond.notify_all()
            deadline = time.monotonic() + gate.timeout_s
            while (gate.state == "armed" and
                   not self.server.stopping.is_set()):
                left = deadline - time.monotonic()
                if left <= 0:
                    gate.state = "timed_out"
                    st.cond.notify_all()
                    break
                st.cond.wait(min(left, 0.2))
            del gate.held[me]

    def pick_fault(self, st, method, path, has_range):
        """Chooses the rule that fires for this request (lock held)."""
        for i, rule in enumerate(st.rules):
            if not rule.applies(method, path, has_range):
                continue
            if rule.kind == "auth":
                name, value = rule.header
                got = self.headers.get(name)
                if got is None or got.strip() != value:
                    return rule
                continue
            n = st.rule_hits.get((i, path), 0) + 1
            st.rule_hits[(i, path)] = n
            if n <= rule.after:
                continue
            n -= rule.after
            if rule.first is not None:
                fire = n <= int(rule.first)
            elif rule.every is not None:
                fire = n % int(rule.every) == 0
            elif rule.fraction is not None:
                fire = st.rng.random() < float(rule.fraction)
            else:
                fire = True
            if fire:
                return rule
        return None

    def answer(self, method, path, rule):
        """Sends the answer; returns (status, body bytes sent)."""
        head = method == "HEAD"
        if rule is not None:
            if rule.kind == "503":
                return 503, self.send_simple(503, "injected 503", head)
            if rule.kind == "404":
                return 404, self.send_simple(404, "injected 404", head)
            if rule.kind == "auth":
                return 403, self.send_simple(403, "missing credentials", head)
            if rule.kind == "reset":
                self.reset_connection()
                return 0, 0
            if rule.kind == "stall":
                deadline = time.monotonic() + rule.stall_s
                while (time.monotonic() < deadline
                       and not self.server.stopping.is_set()):
                    time.sleep(0.05)
                self.close_connection = True
                return 0, 0

        fs_path = self.server.resolve(path)
        if fs_path is None:
            return 404, self.send_simple(404, "not found", head)
        try:
            size = os.path.getsize(fs_path)
        except OSError:
            return 404, self.send_simple(404, "not found", head)
        rng = parse_range(self.headers.get("Range"), size)
        if rng == "unsatisfiable":
            self.send_response(416)
            self.send_header("Content-Range", "bytes */%d" % size)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return 416, 0
        if rng is None:
            start, end, code = 0, size - 1, 200
        else:
            (start, end), code = rng, 206
        length = end - start + 1 if size > 0 else 0
        self.send_response(code)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Last-Modified",
                         self.date_time_string(int(os.path.getmtime(fs_path))))
        if code == 206:
            self.send_header("Content-Range",
                             "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        if head:
            return code, 0
        to_send = length
        if rule is not None and rule.kind == "truncate":
            to_send = int(length * min(max(rule.keep, 0.0), 1.0))
            if to_send >= length:
                to_send = max(length - 1, 0)
        with open(fs_path, "rb") as f:
            f.seek(start)
            remaining = to_send
            while remaining > 0:
                chunk = f.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)
        if to_send < length:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_WR)
        return code, to_send

    def control(self, q):
        st = self.server.state
        try:
            rules = None
            if "faults" in q:
                rules = parse_rules(q["faults"][-1])
            gates = None
            if "gate" in q:
                specs = json.loads(q["gate"][-1] or "null") or []
                if isinstance(specs, dict):
                    specs = [specs]
                gates = [Gate(spec) for spec in specs]
            latency = None
            if "latency_ms" in q:
                latency = float(q["latency_ms"][-1])
                if latency < 0:
                    raise ValueError("latency_ms must be >= 0")
        except (ValueError, json.JSONDecodeError) as e:
            self.send_json({"error": str(e)}, 400)
            return
        with st.lock:
            if rules is not None:
                st.rules = rules
                st.rule_hits = {}
            if latency is not None:
                st.latency_ms = latency
            if q.get("reset", ["0"])[-1] in ("1", "true", "yes"):
                st.reset()
            if gates is not None:
                st.set_gates(gates)
            reply = {"latency_ms": st.latency_ms,
                     "faults": [r.spec for r in st.rules],
                     "gate": [g.report() for g in st.gates] or None}
        self.send_json(reply)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, root, port, state, quiet):
        self.root = os.path.realpath(root)
        self.state = state
        self.quiet = quiet
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", port), Handler)

    def resolve(self, path):
        """Maps a URL path to a file under root, or None."""
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 2 and parts[0] == "u":
            parts = parts[2:]        # /u/<token>/... : the token is ignored
        if not parts or any(p in (".", "..") for p in parts):
            return None
        fs_path = os.path.realpath(os.path.join(self.root, *parts))
        if not fs_path.startswith(self.root + os.sep):
            return None
        if not os.path.isfile(fs_path):
            return None
        return fs_path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True, help="directory to serve")
    ap.add_argument("--port", type=int, default=0,
                    help="port on 127.0.0.1 (0: any free port)")
    ap.add_argument("--port-file", help="write the bound port here")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--faults", default="", help="JSON list of fault rules")
    ap.add_argument("--lifetime", type=float, default=300.0,
                    help="exit after this many seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    if args.lifetime <= 0:
        ap.error("--lifetime must be > 0")
    state = State(args.latency_ms, parse_rules(args.faults), args.seed)
    server = Server(args.root, args.port, state, args.quiet)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print("httpserver: serving %s on http://127.0.0.1:%d/ for %gs"
          % (server.root, port, args.lifetime), file=sys.stderr, flush=True)

    def expire():
        server.stopping.set()
        server.shutdown()
    timer = threading.Timer(args.lifetime, expire)
    timer.daemon = True
    timer.start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        server.server_close()
    # Handler threads are daemons; a stalled one must not keep us alive.
    os._exit(0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Live-update (SSE) clients for bench/live_bench.sh: holds N streams of GET /v1/stream open on a
ryuryo server while a load command runs, and measures what the clients and the server did.

    sse_clients.py --http http://127.0.0.1:PORT --token T --streams N --server-pid PID \
        [--lines-per-stream K] [--lines L] [--prefix sim-] [--probe-lines probe-0,probe-1] \
        --out RESULT.json -- LOAD COMMAND ...

Streams (HTTP/1.1, chunked, like a browser's EventSource), all in this one process (asyncio,
one thread, so its CPU time is easy to read):
  - stream 0 is the probe: it watches --probe-lines, lines that only the probe writes to. During
    the load it POSTs one small usage record to one of them every --probe-interval (rotating, so
    a line is written to less often than the hub's coalescing period) and times the usage
    message that shows the new total: "change to client" = from the POST being written to the
    message having arrived (it includes the durable commit), next to the POST's own answer time.
  - streams 1..N-1 watch --lines-per-stream lines each, <prefix>0.. in turn (stream i: lines
    (i-1)*K .. (i-1)*K+K-1, modulo --lines), which the load writes to. They only count messages
    and bytes.
With --streams 0 nothing is opened: the baseline.

Then: every stream has its first usage message (the hub sends each subscriber its lines at
once), the load command runs (its stdout must be JSON: `ryuryo simulate --json`), and for the
time it runs this measures messages received, the server's CPU time (/proc/PID/stat; and of
that, its RocksDB background threads', from /proc/PID/task), this process's CPU time, the
simulator's, everything else's on the machine (/proc/stat), the server's RSS (before and after
the streams opened, and the largest sampled) and /metrics (ryuryo_live_*) in the middle of the
load and at its end. The result (one JSON object) goes to --out.
Exit status 0, or 1 on an error (a stream refused or closed, the load command failed).
"""
import argparse
import asyncio
import json
import os
import resource
import sys
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

HZ = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def proc_cpu(pid):
    """User + system CPU seconds of a process (all its threads)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def rocksdb_cpu(pid):
    """CPU seconds of the process's RocksDB background threads (flushes, compactions): they
    come and go with the store's state, not with the load."""
    total = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = open(f"/proc/{pid}/task/{tid}/stat").read()
        except OSError:
            continue
        comm, rest = stat.split("(", 1)[1].rsplit(")", 1)
        if comm.startswith("rocksdb:"):
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / HZ
    return total


def proc_rss_kib(pid):
    return int(open(f"/proc/{pid}/statm").read().split()[1]) * PAGE // 1024


def machine_busy():
    """CPU seconds all cores spent busy (not idle, not waiting for I/O), from /proc/stat."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (sum(f[:8]) - f[3] - f[4]) / HZ


def self_cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def children_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


class StreamError(Exception):
    pass


class LoadStream(asyncio.Protocol):
    """One SSE stream that counts messages ("event: " fields) and bytes; nothing is parsed
    beyond the response header. The server writes each message as one chunk, so a chunk header
    never splits a field; a TCP segment may, hence the carried tail."""

    def __init__(self, request, hub):
        self.request = request
        self.hub = hub
        self.header = b""
        self.in_body = False
        self.tail = b""
        self.messages = 0
        self.bytes = 0
        self.first = asyncio.get_running_loop().create_future()
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        if not self.in_body:
            self.header += data
            end = self.header.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self.header.split(b"\r\n", 1)[0]
            if b" 200 " not in status + b" ":
                head = self.header[:end + 300].decode(errors="replace")
                self.fail(StreamError(f"stream refused: {head}"))
                return
            data = self.header[end + 4:]
            self.header = b""
            self.in_body = True
        self.bytes += len(data)
        buf = self.tail + data
        n = buf.count(b"event: ")
        if n:
            self.messages += n
            self.hub.messages += n
            if not self.first.done():
                self.first.set_result(time.perf_counter())
        self.tail = buf[-6:]
        self.on_body(data)

    def on_body(self, data):
        pass

    def fail(self, exc):
        if not self.first.done():
            self.first.set_exception(exc)
        self.hub.errors.append(str(exc))
        self.transport.close()

    def connection_lost(self, exc):
        self.closed = True
        if not self.hub.closing:
            self.hub.errors.append(f"a stream closed: {exc}")
        if not self.first.done():
            self.first.set_exception(StreamError(f"stream closed before its first message: {exc}"))


class ProbeStream(LoadStream):
    """The probe's stream: decodes the chunks and the messages, and resolves a waiter when a
    line's usage message shows a total different from the one the waiter started from."""

    def __init__(self, request, hub):
        super().__init__(request, hub)
        self.raw = b""
        self.text = b""
        self.used = {}     # line -> last total seen
        self.waiters = {}  # line -> (total before, future)

    def on_body(self, data):
        self.raw += data
        while True:
            eol = self.raw.find(b"\r\n")
            if eol < 0:
                return
            size = int(self.raw[:eol].split(b";")[0], 16)
            if len(self.raw) < eol + 2 + size + 2:
                return
            self.text += self.raw[eol + 2:eol + 2 + size]
            self.raw = self.raw[eol + 2 + size + 2:]
            self.parse_messages()

    def parse_messages(self):
        now = time.perf_counter()
        while True:
            end = self.text.find(b"\n\n")
            if end < 0:
                return
            message, self.text = self.text[:end], self.text[end + 2:]
            if not message.startswith(b"event: usage\ndata: "):
                continue
            data = json.loads(message[len(b"event: usage\ndata: "):])
            line, used = data["line"], data["usage"]["used"]
            self.used[line] = used
            w = self.waiters.get(line)
            if w and used != w[0] and not w[1].done():
                w[1].set_result(now)


class Hub:
    def __init__(self):
        self.messages = 0
        self.errors = []
        self.closing = False


async def http_request(host, port, method, path, token, body=b""):
    """One request on a new connection (Connection: close): (status, body, seconds from the
    request being written to the whole answer having arrived)."""
    reader, writer = await asyncio.open_connection(host, port)
    req = (f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
           f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    t0 = time.perf_counter()
    writer.write(req)
    data = await reader.read()
    t1 = time.perf_counter()
    writer.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = b"", payload
        while rest:
            eol = rest.find(b"\r\n")
            size = int(rest[:eol], 16)
            if size == 0:
                break
            out += rest[eol + 2:eol + 2 + size]
            rest = rest[eol + 2 + size + 2:]
        payload = out
    return status, payload, t0, t1


def live_metrics(text):
    out = {}
    for line in text.decode().splitlines():
        if line.startswith("ryuryo_live_") or line.startswith("ryuryo_http_connections"):
            name, _, value = line.partition(" ")
            out[name] = float(value)
    return out


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--http", required=True, help="http://host:port of the server")
    ap.add_argument("--token", required=True, help="admin bearer token")
    ap.add_argument("--streams", type=int, required=True, help="streams to open (0: none)")
    ap.add_argument("--lines-per-stream", type=int, default=2)
    ap.add_argument("--lines", type=int, default=10000, help="lines <prefix>0..<prefix>L-1")
    ap.add_argument("--prefix", default="sim-")
    ap.add_argument("--probe-lines", default="probe-0,probe-1,probe-2,probe-3")
    ap.add_argument("--probe-interval", type=float, default=0.25, help="seconds between probes")
    ap.add_argument("--server-pid", type=int, required=True)
    ap.add_argument("--connect-concurrency", type=int, default=256)
    ap.add_argument("--out", required=True)
    ap.add_argument("load", nargs=argparse.REMAINDER, help="-- the load command")
    a = ap.parse_args()
    load = a.load[1:] if a.load[:1] == ["--"] else a.load
    if not load:
        ap.error("no load command (after --)")
    u = urlsplit(a.http)
    host, port = u.hostname, u.port
    loop = asyncio.get_running_loop()
    hub = Hub()
    result = {"streams": a.streams, "lines_per_stream": a.lines_per_stream}

    # Open the streams.
    probe_lines = [p for p in a.probe_lines.split(",") if p]
    streams = []

    def request(lines):
        q = "&".join(f"line={line}" for line in lines)
        return (f"GET /v1/stream?{q} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: Bearer {a.token}\r\nAccept: text/event-stream\r\n"
                f"Cache-Control: no-cache\r\n\r\n").encode()

    sem = asyncio.Semaphore(a.connect_concurrency)

    async def open_one(i):
        if i == 0:
            lines, cls = probe_lines, ProbeStream
        else:
            base = (i - 1) * a.lines_per_stream
            lines = [f"{a.prefix}{(base + j) % a.lines}" for j in range(a.lines_per_stream)]
            cls = LoadStream
        async with sem:
            _, proto = await loop.create_connection(lambda: cls(request(lines), hub), host, port)
            streams.append(proto)
            await proto.first

    result["server_rss_kib_no_streams"] = proc_rss_kib(a.server_pid)
    t_open = time.perf_counter()
    cpu_open = self_cpu()
    if a.streams > 0:
        await asyncio.gather(*(open_one(i) for i in range(a.streams)))
    result["open_s"] = time.perf_counter() - t_open
    result["open_client_cpu_s"] = self_cpu() - cpu_open
    probe = next((s for s in streams if isinstance(s, ProbeStream)), None)
    await asyncio.sleep(1.0 if a.streams else 0.1)  # first messages drained
    if hub.errors:
        raise StreamError(hub.errors[0])

    # The load, with the streams open.
    status, body, _, _ = await http_request(host, port, "GET", "/metrics", a.token)
    result["metrics_before"] = live_metrics(body)
    rss = [proc_rss_kib(a.server_pid)]
    result["server_rss_kib_streams_open"] = rss[0]
    msgs0, bytes0 = hub.messages, sum(s.bytes for s in streams)
    srv0, me0, kids0 = proc_cpu(a.server_pid), self_cpu(), children_cpu()
    busy0, rocks0 = machine_busy(), rocksdb_cpu(a.server_pid)
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*load, stdout=asyncio.subprocess.PIPE)
    load_out = asyncio.ensure_future(proc.communicate())
    end = {}

    def load_done(_):  # the measurement window ends with the load, not with a probe under way
        end["t"] = time.perf_counter()
        end["cpu"] = proc_cpu(a.server_pid), self_cpu(), machine_busy(), rocksdb_cpu(a.server_pid)
        end["messages"], end["bytes"] = hub.messages, sum(s.bytes for s in streams)

    load_out.add_done_callback(load_done)

    probes = []  # (change-to-client s, POST answered s) or (None, ...) when none came
    mid_metrics = None
    seq = 0

    async def one_probe(line):
        nonlocal seq
        seq += 1
        before = probe.used.get(line)
        fut = loop.create_future()
        probe.waiters[line] = (before, fut)
        now = datetime.now(timezone.utc)
        rec = {"id": f"probe-{os.getpid()}-{seq}", "line": line, "bytes_up": 0,
               "bytes_down": 1000,
               "start": (now - timedelta(seconds=1)).isoformat(timespec="seconds"),
               "end": now.isoformat(timespec="seconds")}
        st, b, p0, p1 = await http_request(host, port, "POST", "/v1/usage", a.token,
                                           json.dumps([rec]).encode())
        if st != 200:
            raise StreamError(f"POST /v1/usage: {st} {b[:300]!r}")
        try:
            arrived = await asyncio.wait_for(asyncio.shield(fut), 5.0)
            probes.append((arrived - p0, p1 - p0))
        except asyncio.TimeoutError:
            probes.append((None, p1 - p0))
        probe.waiters.pop(line, None)

    async def sampler():
        nonlocal mid_metrics
        k = 0
        next_probe = time.perf_counter() + 0.5
        next_rss = time.perf_counter()
        while not load_out.done():
            now = time.perf_counter()
            if now >= next_rss:
                rss.append(proc_rss_kib(a.server_pid))
                next_rss = now + 1.0
            if mid_metrics is None and now - t0 >= 3.0:
                _, body, _, _ = await http_request(host, port, "GET", "/metrics", a.token)
                mid_metrics = live_metrics(body)
            if probe is not None and now >= next_probe:
                await one_probe(probe_lines[k % len(probe_lines)])
                k += 1
                next_probe = max(next_probe + a.probe_interval, time.perf_counter())
            await asyncio.sleep(0.02)

    await sampler()
    out, _ = await load_out
    elapsed = end["t"] - t0
    srv1, me1, busy1, rocks1 = end["cpu"]
    kids1 = children_cpu()  # the simulator's, once it has been waited for
    msgs = end["messages"] - msgs0
    nbytes = end["bytes"] - bytes0
    rss.append(proc_rss_kib(a.server_pid))
    _, body, _, _ = await http_request(host, port, "GET", "/metrics", a.token)
    result["metrics_after"] = live_metrics(body)
    result["metrics_mid"] = mid_metrics or result["metrics_after"]
    if proc.returncode not in (0, 2):  # 2: some requests timed out, a result
        raise StreamError(f"the load command exited with {proc.returncode}")
    result["load"] = json.loads(out)
    result["elapsed_s"] = elapsed
    result["server_cpu_s"] = srv1 - srv0
    result["server_rocksdb_bg_cpu_s"] = rocks1 - rocks0
    result["clients_cpu_s"] = me1 - me0
    result["load_cpu_s"] = kids1 - kids0
    # What else ran on the machine meanwhile (other processes, the kernel's softirqs not
    # charged to ours): the benchmark shares its cores with everything.
    ours = (srv1 - srv0) + (me1 - me0) + (kids1 - kids0)
    result["other_cpu_s"] = max(0.0, (busy1 - busy0) - ours)
    result["server_rss_kib_max"] = max(rss)
    result["server_rss_kib_before"] = rss[0]
    result["messages"] = msgs
    result["messages_per_s"] = msgs / elapsed
    result["bytes_per_s"] = nbytes / elapsed
    result["streams_open_at_end"] = sum(1 for s in streams if not s.closed)
    got = [p[0] for p in probes if p[0] is not None]
    result["probe"] = {
        "samples": len(probes), "missed": len(probes) - len(got),
        "change_to_client_ms": {"p50": (percentile(got, 50) or 0) * 1e3,
                                "p99": (percentile(got, 99) or 0) * 1e3,
                                "max": max(got, default=0) * 1e3},
        "post_answered_ms": {"p50": (percentile([p[1] for p in probes], 50) or 0) * 1e3,
                             "p99": (percentile([p[1] for p in probes], 99) or 0) * 1e3},
    }
    result["errors"] = hub.errors[:5]
    hub.closing = True
    for s in streams:
        s.transport.close()
    await asyncio.sleep(0.2)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except StreamError as e:
        print(f"sse_clients.py: {e}", file=sys.stderr)
        sys.exit(1)

"""Test harness for end-to-end tests: starts the real `ryuryo` binary on 127.0.0.1 port 0 with a
fresh data directory, and talks to it over HTTP with Python's standard library only.

Environment (set by CTest): RYURYO_BIN (the binary), RYURYO_SOURCE_DIR (the repository root).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

BIN = os.environ.get("RYURYO_BIN", os.path.join(os.path.dirname(__file__), "..", "build", "ryuryo"))
SOURCE_DIR = os.environ.get("RYURYO_SOURCE_DIR", os.path.join(os.path.dirname(__file__), ".."))
DEMO_CONFIG = os.path.join(SOURCE_DIR, "examples", "ryuryo.toml")


class Response:
    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers

    def json(self):
        return json.loads(self.body)


class Server:
    """One ryuryo server process. Use as a context manager, or call start()/stop()."""

    def __init__(self, config_text=None, config_path=None, data_dir=None, token="test-token",
                 env=None):
        self.tmp = tempfile.mkdtemp(prefix="ryuryo-test-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        if config_text is not None:
            config_path = os.path.join(self.tmp, "ryuryo.toml")
            with open(config_path, "w") as f:
                f.write(config_text)
        self.config_path = config_path or DEMO_CONFIG
        self.token = token
        self.env = dict(os.environ, RYURYO_ADMIN_TOKEN=token, **(env or {}))
        self.proc = None
        self.url = None
        self.radius_port = None  # the RADIUS accounting UDP port, when [radius] is configured
        self.radius_auth_port = None  # the RADIUS authorization UDP port, when configured
        self.log_path = os.path.join(self.tmp, "server.log")

    def start(self, timeout_s=30):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--config", self.config_path, "--http", "127.0.0.1:0",
             "--data-dir", self.data_dir, "--radius-accounting", "127.0.0.1:0",
             "--radius-authorization", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=self.log, env=self.env)
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise RuntimeError("server exited: " + self.read_log())
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.url = m.group(1)
                continue
            m = re.search(r"radius accounting on udp://(\S+):(\d+)", line)
            if m:
                self.radius_port = int(m.group(2))
                continue
            m = re.search(r"radius authorization on udp://(\S+):(\d+)", line)
            if m:
                self.radius_auth_port = int(m.group(2))
                continue
            if self.url and line.startswith("admin token:"):
                # Keep draining stdout so the server never blocks on a full pipe.
                self.drain = subprocess.Popen(["cat"], stdin=self.proc.stdout,
                                              stdout=subprocess.DEVNULL)
                return self
        raise RuntimeError("server did not start in time: " + self.read_log())

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """A clean stop (SIGTERM); returns the exit code."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self._reap()
        return code

    def _reap(self):
        self.proc.stdout.close()
        self.proc = None
        if getattr(self, "drain", None) is not None:
            self.drain.wait(timeout=30)
            self.drain = None
        self.log.close()

    def kill(self):
        """kill -9."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._reap()

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        if self.proc is not None:
            self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    def request(self, method, path, body=None, token=True, headers=None, raw=None, timeout=30):
        data = None
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        elif body is not None:
            data = json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + (self.token if token is True else token))
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Response(resp.status, resp.read().decode(), dict(resp.headers))
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read().decode(), dict(e.headers))

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)

    def cli(self, *args, check=True, input=None):
        """Runs a `ryuryo` client subcommand against this server."""
        cmd = [BIN] + list(args) + ["--server", self.url, "--token", self.token]
        p = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"{cmd} failed ({p.returncode}): {p.stdout}\n{p.stderr}")
        return p


def rfc3339(epoch_s):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def record(line, up, down, start_s, end_s, **extra):
    r = {"line": line, "bytes_up": up, "bytes_down": down, "start": rfc3339(start_s),
         "end": rfc3339(end_s)}
    r.update(extra)
    return r

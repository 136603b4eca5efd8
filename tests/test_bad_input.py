"""End-to-end tests of bad input against the real binary: auth, malformed bodies, bad records
(each reported by index with a message naming the field, while the good ones still apply),
oversized bodies, unknown routes and methods, and configs with unknown keys. Afterwards the
server still answers, and a restart shows exactly what was accepted.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import record  # noqa: E402

HOUR = 3600
NOW = int(time.time())
T0, T1 = NOW - 2 * HOUR, NOW - HOUR

CONFIG = """
[server]
http = "127.0.0.1:8080"
data_dir = "data"

[[plans]]
id = "t-pass"
name = "Test pass 1 GB"
kind = "pass"
quota = "1 GB"
validity = "30d"
starts = "activation"
after_quota = { action = "throttle", rate = "128 kbps" }
timezone = "Asia/Tokyo"

[[lines]]
id = "bad-1"
plan = "t-pass"
msisdn = "+81 90-8000-0001"
"""


def good(i, up=1, down=2, line="bad-1"):
    return record(line, up, down, T0, T1, id=f"good-{i}")


class BadInputTest(unittest.TestCase):
    calls = 0

    @classmethod
    def setUpClass(cls):
        cls.srv = harness.Server(config_text=CONFIG)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def assertError(self, resp, status, *words):
        """An error answer: the status, the JSON error shape, and words its message names."""
        self.assertEqual(resp.status, status, resp.body)
        j = resp.json()
        self.assertIsInstance(j.get("error"), dict, resp.body)
        self.assertIsInstance(j["error"].get("code"), str, resp.body)
        self.assertTrue(j["error"]["code"], resp.body)
        self.assertIsInstance(j["error"].get("message"), str, resp.body)
        for w in words:
            self.assertIn(w, j["error"]["message"], resp.body)
        return j

    def used(self):
        r = self.srv.get("/v1/lines/bad-1/usage")
        self.assertEqual(r.status, 200, r.body)
        return r.json()["used"]

    def reject_one(self, rec, field, *words):
        """A body holding one bad record between two good ones: 200, the good ones apply, the bad
        one is rejected by index with a message naming the field."""
        before = self.used()
        BadInputTest.calls += 1
        n = f"{self.id()}-{BadInputTest.calls}"
        g1, g2 = record("bad-1", 10, 0, T0, T1, id=n + "-g1"), record("bad-1", 0, 5, T0, T1,
                                                                       id=n + "-g2")
        r = self.srv.post("/v1/usage", [g1, rec, g2])
        self.assertEqual(r.status, 200, r.body)
        j = r.json()
        self.assertEqual((j["accepted"], j["duplicates"]), (2, 0), r.body)
        self.assertEqual(len(j["rejected"]), 1, r.body)
        self.assertEqual(j["rejected"][0]["index"], 1)
        msg = j["rejected"][0]["error"]
        self.assertIn(field, msg)
        for w in words:
            self.assertIn(w, msg)
        self.assertEqual(self.used(), before + 15)
        # Alone in a body: a 4xx, still naming the record's index and the field.
        r = self.srv.post("/v1/usage", [rec])
        j = r.json()
        if r.status == 200:  # checked by the meter (e.g. the clock): a `rejected` entry
            self.assertEqual(j["accepted"], 0, r.body)
        else:
            self.assertTrue(400 <= r.status < 500, r.body)
            self.assertIn(field, j["error"]["message"])
            self.assertIn("record 0", j["error"]["message"])
        self.assertEqual([x["index"] for x in j["rejected"]], [0], r.body)
        self.assertIn(field, j["rejected"][0]["error"])
        self.assertEqual(self.used(), before + 15)
        return msg

    # -- auth ----------------------------------------------------------------------------------

    def test_auth(self):
        for path in ("/v1/lines", "/v1/lines/bad-1/usage", "/v1/events"):
            self.assertError(self.srv.get(path, token=False), 401)
            self.assertError(self.srv.get(path, token="wrong-token"), 401)
            self.assertError(self.srv.get(path, token="test-toke"), 401)
            self.assertError(self.srv.get(path, token=False,
                                          headers={"Authorization": "Basic dGVzdC10b2tlbg=="}),
                             401)
        before = self.used()
        self.assertError(self.srv.post("/v1/usage", [good(900)], token=False), 401)
        self.assertError(self.srv.post("/v1/usage", [good(901)], token="nope"), 401)
        self.assertEqual(self.used(), before)
        self.assertError(self.srv.get("/v1/lines", token=False, headers={
            "Authorization": "Bearer " + self.srv.token.upper()}), 401)
        # /healthz and /metrics are open.
        self.assertEqual(self.srv.get("/healthz", token=False).status, 200)
        self.assertEqual(self.srv.get("/metrics", token=False).status, 200)

    # -- bodies --------------------------------------------------------------------------------

    def test_malformed_json_body(self):
        before = self.used()
        for raw in ('[{"line": "bad-1", "bytes_up": 1', "[1, 2", "[}"):
            j = self.assertError(self.srv.post("/v1/usage", raw=raw), 400, "body")
        for raw in ("{not json", '{"plan": "t-pass"'):
            self.assertError(self.srv.put("/v1/lines/bad-x", raw=raw), 400, "body")
        self.assertError(self.srv.put("/v1/lines/bad-x", raw="[1]"), 400, "body")
        self.assertError(self.srv.put("/v1/lines/bad-1/alerts", raw="{"), 400, "body")
        self.assertError(self.srv.post("/v1/lines/bad-1/topups", raw="nope"), 400, "body")
        self.assertEqual(self.used(), before)
        self.assertEqual(self.srv.get("/v1/lines/bad-x").status, 404)
        del j

    def test_wrong_types(self):
        self.reject_one(dict(good(1), bytes_up="12"), "bytes_up")
        self.reject_one(dict(good(2), bytes_down=None), "bytes_down")
        self.reject_one(dict(good(3), start=12345), "start")
        self.reject_one(dict(good(4), line=42), "line")
        self.reject_one("a string, not an object", "object")

    def test_negative_bytes(self):
        self.reject_one(dict(good(10), bytes_up=-1), "bytes_up", "negative")
        self.reject_one(dict(good(11), bytes_down=-5000), "bytes_down", "negative")

    def test_floats(self):
        self.reject_one(dict(good(20), bytes_up=1.5), "bytes_up")
        self.reject_one(dict(good(21), bytes_down=1e3), "bytes_down")

    def test_over_10_tb(self):
        self.reject_one(dict(good(30), bytes_up=10 * 10**12 + 1), "bytes_up", "10 TB")
        self.reject_one(dict(good(31), bytes_down=2**64 - 1), "bytes_down", "10 TB")
        self.reject_one(dict(good(32), bytes_down=2**70), "bytes_down")
        # Exactly 10 TB is allowed.
        before = self.used()
        r = self.srv.post("/v1/usage", [dict(good(33), bytes_up=0, bytes_down=10 * 10**12)])
        self.assertEqual(r.json()["accepted"], 1, r.body)
        self.assertEqual(self.used(), before + 10 * 10**12)

    def test_end_before_start(self):
        rec = record("bad-1", 1, 1, T1, T0, id="ebs-1")
        self.reject_one(rec, "end", "before start")

    def test_times_without_offset(self):
        no_off = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(T0))
        self.reject_one(dict(good(40), start=no_off), "start")
        self.reject_one(dict(good(41), end=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(T1))),
                        "end")
        self.reject_one(dict(good(42), start="yesterday"), "start")

    def test_end_in_the_future(self):
        self.reject_one(record("bad-1", 1, 1, NOW, NOW + 3600, id="fut-1"), "end", "future")

    def test_unknown_record_fields(self):
        self.reject_one(dict(good(50), bytes_dwn=5), "bytes_dwn", "unknown")

    def test_missing_fields(self):
        rec = good(60)
        del rec["line"]
        self.reject_one(rec, "line", "missing")
        rec = good(61)
        del rec["end"]
        self.reject_one(rec, "end", "missing")
        rec = good(62)
        del rec["bytes_up"], rec["bytes_down"]
        self.reject_one(rec, "bytes_up", "missing")

    def test_mixed_batch_jsonl(self):
        before = self.used()
        lines = [
            json.dumps(good(70, up=100)),
            '{"line": "bad-1", "bytes_up": ',
            json.dumps(dict(good(71), bytes_up=-3)),
            "",
            json.dumps(good(72, down=1000)),
            json.dumps(dict(good(73), colour="red")),
        ]
        r = self.srv.post("/v1/usage", raw="\n".join(lines) + "\n")
        self.assertEqual(r.status, 200, r.body)
        j = r.json()
        self.assertEqual(j["accepted"], 2, r.body)
        # Indexes count records (non-blank lines), in order.
        self.assertEqual([x["index"] for x in j["rejected"]], [1, 2, 4], r.body)
        self.assertIn("JSON", j["rejected"][0]["error"])
        self.assertIn("bytes_up", j["rejected"][1]["error"])
        self.assertIn("colour", j["rejected"][2]["error"])
        self.assertEqual(self.used(), before + (100 + 2) + (1 + 1000))

    def test_mixed_batch_array_many_bad(self):
        before = self.used()
        recs = [good(80), dict(good(81), bytes_up="x"), good(82),
                record("bad-1", 1, 1, T1, T0, id="m-83"), dict(good(84), start="2024-01-01"),
                good(85), record("bad-1", 1, 1, NOW, NOW + 7200, id="m-86")]
        r = self.srv.post("/v1/usage", recs)
        self.assertEqual(r.status, 200, r.body)
        j = r.json()
        self.assertEqual(j["accepted"], 3)
        self.assertEqual([x["index"] for x in j["rejected"]], [1, 3, 4, 6])
        for x, field in zip(j["rejected"], ("bytes_up", "end", "start", "end")):
            self.assertIn(field, x["error"])
        self.assertEqual(self.used(), before + 9)

    def test_bad_provisioning(self):
        self.assertError(self.srv.put("/v1/lines/bad-p1", {"plan": "no-such-plan"}), 400,
                         "no-such-plan")
        self.assertError(self.srv.put("/v1/lines/bad-p1", {"plan": 7}), 400, "plan")
        self.assertError(self.srv.put("/v1/lines/bad-p1", {"plan": "t-pass", "colour": "red"}),
                         400, "colour")
        self.assertError(self.srv.put("/v1/lines/bad-p1", {"plan": "t-pass",
                                                           "timezone": "Mars/Olympus"}),
                         400, "timezone")
        self.assertError(self.srv.put("/v1/lines/bad-p1", {"plan": "t-pass", "locale": "fr"}),
                         400, "locale")
        # A pool that does not exist: 404 naming it (as docs/openapi.yaml has it).
        self.assertError(self.srv.put("/v1/lines/bad-p1", {"pool": "no-such-pool"}), 400,
                         "no-such-pool")
        self.assertError(self.srv.put("/v1/pools/bad-pool", {"plan": "t-pass",
                                                             "timezone": "Mars/Olympus"}),
                         400, "timezone")
        self.assertError(self.srv.put("/v1/lines/bad-p1", {}), 400, "plan")
        self.assertEqual(self.srv.get("/v1/lines/bad-p1").status, 404)
        # An msisdn that belongs to another line.
        r = self.srv.put("/v1/lines/bad-p2", {"plan": "t-pass", "msisdn": "+81 90-8000-0001"})
        self.assertTrue(400 <= r.status < 500, r.body)
        self.assertIn("msisdn", r.json()["error"]["message"])
        self.assertError(self.srv.post("/v1/lines/bad-1/topups", {"quota": "lots",
                                                                  "validity": "1d"}),
                         400, "quota")
        self.assertError(self.srv.post("/v1/lines/bad-1/topups", {"quota": "1 GB"}), 400,
                         "validity")
        self.assertError(self.srv.get("/v1/lines/bad-1/history?granularity=week"), 400,
                         "granularity")
        self.assertError(self.srv.get("/v1/lines/bad-1/history?by=colour"), 400, "by")
        self.assertError(self.srv.get("/v1/events?after=-1"), 400, "after")

    def test_oversized_body(self):
        limit = 64 << 20
        # Declared: a Content-Length over the limit is refused before the body is read.
        with socket.create_connection(self._addr(), timeout=30) as s:
            s.sendall((f"POST /v1/usage HTTP/1.1\r\nHost: x\r\n"
                       f"Authorization: Bearer {self.srv.token}\r\n"
                       f"Content-Type: application/json\r\nContent-Length: {limit + 1}\r\n\r\n"
                       ).encode() + b"[" + b" " * 65536)
            status, body = self._read_response(s)
        self.assertEqual(status, 413, body)
        self.assertIn("error", json.loads(body))
        # Really sent, chunked: the server stops it once it passes the limit.
        with socket.create_connection(self._addr(), timeout=30) as s:
            s.sendall((f"POST /v1/usage HTTP/1.1\r\nHost: x\r\n"
                       f"Authorization: Bearer {self.srv.token}\r\n"
                       f"Transfer-Encoding: chunked\r\n\r\n").encode())
            chunk = b" " * (1 << 20)
            frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            sent = 0
            try:
                while sent <= limit + (8 << 20):
                    s.sendall(frame)
                    sent += len(chunk)
            except OSError:
                pass  # the server answered and closed
            status, body = self._read_response(s)
        self.assertEqual(status, 413, body)
        self.assertEqual(self.srv.get("/healthz", token=False).status, 200)

    def _addr(self):
        hostport = self.srv.url.split("//", 1)[1]
        host, port = hostport.rsplit(":", 1)
        return host, int(port)

    def _read_response(self, s):
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                got = s.recv(65536)
                if not got:
                    break
                data += got
            head, _, rest = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v.strip())
            while len(rest) < length:
                got = s.recv(65536)
                if not got:
                    break
                rest += got
        except OSError:
            head, _, rest = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else 0
        return status, rest.decode(errors="replace")

    def test_unknown_route_and_wrong_method(self):
        for path in ("/v1/nope", "/v1/lines/bad-1/nope", "/v1/lines/bad-1/usage/x",
                     "/nope.js", "/js/nope.js", "/vendor/nope.css"):
            self.assertError(self.srv.get(path), 404)
        # Other paths belong to the dashboard (it routes itself by the URL): its page, not JSON.
        for path in ("/nope", "/v2/usage", "/admin/lines/bad-1"):
            r = self.srv.get(path, token=False)
            self.assertEqual(r.status, 200, path)
            self.assertTrue(r.headers["Content-Type"].startswith("text/html"), path)
        self.assertError(self.srv.post("/nope", {}), 404)
        self.assertError(self.srv.get("/v1/usage"), 405, "GET")
        self.assertError(self.srv.request("DELETE", "/v1/usage"), 405)
        self.assertError(self.srv.post("/v1/lines/bad-1", {"plan": "t-pass"}), 405)
        self.assertError(self.srv.request("DELETE", "/v1/lines/bad-1"), 405)
        self.assertError(self.srv.put("/v1/lines/bad-1/usage", {}), 405)
        self.assertError(self.srv.get("/v1/lines/bad-1/topups"), 405)
        self.assertError(self.srv.post("/v1/events", {}), 405)
        self.assertError(self.srv.request("DELETE", "/v1/pools/p"), 405)
        self.assertError(self.srv.get("/v1/quarantine/apply"), 405)
        self.assertEqual(self.srv.get("/v1/lines/bad-1").status, 200)

    def test_zz_still_answers_and_survives_restart(self):
        # Runs last (alphabetical order): everything accepted above survives a restart exactly.
        r = self.srv.post("/v1/usage", [good(990, up=123, down=456)])
        self.assertEqual(r.json()["accepted"], 1)
        before = self.srv.get("/v1/lines/bad-1/usage").json()
        audit = self.srv.get("/v1/lines/bad-1/audit?limit=1000").json()
        self.srv.restart()
        after = self.srv.get("/v1/lines/bad-1/usage").json()
        for k in ("used", "bytes_up", "bytes_down", "quota", "remaining", "buckets", "cycle",
                  "state", "last_record_at"):
            self.assertEqual(after[k], before[k], k)
        self.assertEqual(self.srv.get("/v1/lines/bad-1/audit?limit=1000").json(), audit)
        # The same records again are all duplicates.
        r = self.srv.post("/v1/usage", [good(990, up=123, down=456)])
        self.assertEqual((r.json()["accepted"], r.json()["duplicates"]), (0, 1))


class BadConfigTest(unittest.TestCase):
    def serve(self, text):
        tmp = tempfile.mkdtemp(prefix="ryuryo-test-cfg-")
        path = os.path.join(tmp, "bad.toml")
        with open(path, "w") as f:
            f.write(text)
        try:
            p = subprocess.run([harness.BIN, "serve", "--config", path, "--http", "127.0.0.1:0",
                                "--data-dir", os.path.join(tmp, "data")],
                               capture_output=True, text=True, timeout=30,
                               env=dict(os.environ, RYURYO_ADMIN_TOKEN="t"))
        except subprocess.TimeoutExpired:
            self.fail("serve started with a bad config")
        return p

    def test_unknown_key(self):
        p = self.serve('[server]\nhttp = "127.0.0.1:0"\nhttp_port = 8080\n')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("http_port", p.stderr)
        self.assertIn("line 3", p.stderr)

    def test_unknown_section(self):
        p = self.serve('[server]\nhttp = "127.0.0.1:0"\n\n[servre]\nx = 1\n')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("servre", p.stderr)
        self.assertIn("line 4", p.stderr)

    def test_unknown_plan_field(self):
        p = self.serve(CONFIG.replace('validity = "30d"', 'validity = "30d"\nquotta = "2 GB"'))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("quotta", p.stderr)
        n = CONFIG.replace('validity = "30d"', 'validity = "30d"\nquotta = "2 GB"').split(
            "\n").index('quotta = "2 GB"') + 1
        self.assertIn(f"line {n}", p.stderr)

    def test_unknown_after_quota_field(self):
        text = CONFIG.replace('rate = "128 kbps"', 'rate = "128 kbps", burst = "1 MB"')
        p = self.serve(text)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("burst", p.stderr)
        n = text.split("\n").index(
            'after_quota = { action = "throttle", rate = "128 kbps", burst = "1 MB" }') + 1
        self.assertIn(f"line {n}", p.stderr)

    def test_unknown_line_plan(self):
        text = CONFIG.replace('plan = "t-pass"', 'plan = "t-nope"')
        p = self.serve(text)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("t-nope", p.stderr)
        self.assertRegex(p.stderr, r"line \d+")


if __name__ == "__main__":
    unittest.main()

"""Webhook alert delivery end to end (DESIGN §4 "Events", src/notify/webhook.h): a receiver
(http.server on 127.0.0.1, port 0) is configured through [[webhooks]] in the test's config.

Checks: the POSTed body is the event of GET /v1/events, with X-Ryuryo-Event-Id: evt-<seq> and
X-Ryuryo-Signature: sha256=<HMAC-SHA256 of the raw body with the endpoint's secret>; `events = [...]`
and `account` filters; a receiver that answers 500 gets retries (same event id) until it answers
200, and then no more; retries survive a clean restart; /metrics counts deliveries.

The delivery backoff starts at 1 s and doubles: tests fail at most 2 attempts in a row. No timing
assertions, only polling with generous deadlines.
"""
import collections
import hashlib
import hmac
import http.server
import json
import os
import re
import sys
import threading
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import record  # noqa: E402

MB = 10**6
SECRETS = {"/all": "secret-all", "/thr": "secret-thr", "/acct-b": "secret-b",
           "/flaky": "secret-flaky", "/down": "secret-down"}


class Receiver:
    """Records every POST; answers 500 while told to fail (per path, per event id)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                status = receiver.answer(self.path, dict(self.headers), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def reset(self):
        with self.lock:
            self.requests = []  # dicts: path, headers (lower-case keys), body, status
            self.fail_first = {}  # path -> failures per event id before a 200
            self.fail_all = set()  # paths answering 500 to everything
            self.attempts = collections.Counter()  # (path, event id) -> attempts

    def answer(self, path, headers, body):
        headers = {k.lower(): v for k, v in headers.items()}
        with self.lock:
            key = (path, headers.get("x-ryuryo-event-id"))
            self.attempts[key] += 1
            if path in self.fail_all or self.attempts[key] <= self.fail_first.get(path, 0):
                status = 500
            else:
                status = 200
            self.requests.append({"path": path, "headers": headers, "body": body,
                                  "status": status})
            return status

    def got(self, path=None, status=None):
        with self.lock:
            return [r for r in self.requests if (path is None or r["path"] == path)
                    and (status is None or r["status"] == status)]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def config(base):
    return f"""
[server]
http = "127.0.0.1:0"
data_dir = "data"

[[plans]]
id = "w-pass"
name = "Webhook test pass 1 GB"
kind = "pass"
quota = "1 GB"
validity = "30d"
starts = "activation"
after_quota = {{ action = "throttle", rate = "128 kbps" }}
alerts = ["50%", "80%"]
timezone = "UTC"

[[webhooks]]
url = "{base}/all"
secret = "{SECRETS['/all']}"

[[webhooks]]
url = "{base}/thr"
secret = "{SECRETS['/thr']}"
events = ["threshold"]

[[webhooks]]
url = "{base}/acct-b"
secret = "{SECRETS['/acct-b']}"
account = "acct-b"

[[webhooks]]
url = "{base}/flaky"
secret = "{SECRETS['/flaky']}"
events = ["threshold"]
account = "acct-f"

[[webhooks]]
url = "{base}/down"
secret = "{SECRETS['/down']}"
events = ["threshold"]
account = "acct-r"
"""


def wait_for(what, predicate, timeout_s=30, interval_s=0.05):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


class WebhookTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = Receiver()

    @classmethod
    def tearDownClass(cls):
        cls.receiver.close()

    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)  # the harness's log file and drain pipe
        self.receiver.reset()
        self.server = harness.Server(config_text=config(self.receiver.base))
        self.server.start()
        self.now = int(time.time())

    def tearDown(self):
        self.server.cleanup()

    # ----------------------------------------------------------------------------------------

    def ok(self, r, status=(200, 201)):
        self.assertIn(r.status, status, r.body)
        return r.json()

    def line(self, line_id, account):
        self.ok(self.server.put(f"/v1/lines/{line_id}", {"plan": "w-pass", "account": account}))

    def use(self, line_id, mb, rid):
        r = self.ok(self.server.post("/v1/usage", [record(line_id, 0, mb * MB, self.now - 120,
                                                          self.now - 60, id=rid)]))
        self.assertEqual(r["accepted"], 1, r)

    def all_events(self):
        """Raw event JSON texts by seq, parsed, from GET /v1/events."""
        events, after = [], 0
        while True:
            r = self.server.get(f"/v1/events?after={after}&limit=1000")
            self.assertEqual(r.status, 200, r.body)
            j = r.json()
            events += j["events"]
            if not j["events"]:
                return {e["seq"]: e for e in events}
            after = j["next"]

    def metric(self, name):
        r = self.server.get("/metrics", token=False)
        self.assertEqual(r.status, 200)
        m = re.search(r"^" + name + r" (\d+)$", r.body, re.M)
        self.assertIsNotNone(m, f"{name} missing from /metrics")
        return int(m.group(1))

    def check_request(self, req, events):
        """Headers, signature and body of one webhook request; returns the event seq."""
        body = req["body"]
        sig = req["headers"].get("x-ryuryo-signature", "")
        want = "sha256=" + hmac.new(SECRETS[req["path"]].encode(), body, hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(sig, want),
                        f"{req['path']}: signature {sig!r}, want {want!r}")
        ev = json.loads(body)
        self.assertEqual(req["headers"].get("x-ryuryo-event-id"), f"evt-{ev['seq']}")
        self.assertEqual(ev["id"], f"evt-{ev['seq']}")
        self.assertIn("application/json", req["headers"].get("content-type", ""))
        self.assertIn(ev["seq"], events, f"delivered event {ev['seq']} not in GET /v1/events")
        self.assertEqual(ev, events[ev["seq"]], "webhook body != the event of GET /v1/events")
        return ev["seq"]

    def delivered_seqs(self, path):
        return sorted(json.loads(r["body"])["seq"] for r in self.receiver.got(path, 200))

    # ----------------------------------------------------------------------------------------

    def test_signed_delivery_and_filters(self):
        self.line("w-a", "acct-a")
        self.line("w-b", "acct-b")
        self.use("w-a", 600, "a-1")  # 50%
        self.use("w-b", 900, "b-1")  # 50%, 80%
        self.ok(self.server.post("/v1/lines/w-a/topups", {"quota": "1 GB", "validity": "7d"}))
        self.use("w-b", 200, "b-2")  # exhausted, throttled
        events = self.all_events()
        types = collections.Counter(e["type"] for e in events.values())
        self.assertEqual(types["threshold"], 3, events)
        self.assertGreaterEqual(types["topup"], 1, events)
        self.assertGreaterEqual(types["exhausted"], 1, events)

        # Every event reaches the catch-all endpoint, exactly once, signed, body as in the API.
        wait_for("every event at /all",
                 lambda: self.delivered_seqs("/all") == sorted(events))
        for req in self.receiver.got("/all"):
            self.check_request(req, events)
        # Type filter: threshold events only, all of them.
        want_thr = sorted(s for s, e in events.items() if e["type"] == "threshold")
        wait_for("threshold events at /thr", lambda: self.delivered_seqs("/thr") == want_thr)
        # Account filter: acct-b's events only, all of them.
        want_b = sorted(s for s, e in events.items() if e.get("account") == "acct-b")
        self.assertTrue(want_b)
        self.assertTrue(all(events[s]["line"] == "w-b" for s in want_b))
        wait_for("acct-b events at /acct-b", lambda: self.delivered_seqs("/acct-b") == want_b)
        for path in ("/thr", "/acct-b"):
            for req in self.receiver.got(path):
                self.check_request(req, events)
        # Nothing for the endpoints whose account has no events.
        wait_for("the outbox drained", lambda: self.metric("ryuryo_webhooks_pending") == 0)
        self.assertEqual(self.receiver.got("/flaky") + self.receiver.got("/down"), [])
        # Exactly what was answered 2xx is counted.
        answered = len(self.receiver.got(status=200))
        self.assertEqual(answered, len(events) + len(want_thr) + len(want_b))
        wait_for("ryuryo_webhooks_delivered_total == 2xx answers",
                 lambda: self.metric("ryuryo_webhooks_delivered_total") == answered)
        self.assertEqual(self.metric("ryuryo_webhooks_failed_attempts_total"), 0)
        self.assertEqual(len(self.receiver.got()), answered, "no request beyond the deliveries")

    def test_retries_until_success(self):
        self.receiver.fail_first["/flaky"] = 2
        self.line("w-f", "acct-f")
        self.use("w-f", 600, "f-1")  # 50%
        events = self.all_events()
        thr = [s for s, e in events.items() if e["type"] == "threshold"]
        self.assertEqual(len(thr), 1, events)
        wait_for("a delivery to /flaky", lambda: self.receiver.got("/flaky", 200))
        wait_for("the outbox drained", lambda: self.metric("ryuryo_webhooks_pending") == 0)
        reqs = self.receiver.got("/flaky")
        self.assertEqual([r["status"] for r in reqs], [500, 500, 200])
        for req in reqs:
            self.assertEqual(self.check_request(req, events), thr[0])
            self.assertEqual(req["body"], reqs[0]["body"], "every attempt sends the same body")
        self.assertGreaterEqual(self.metric("ryuryo_webhooks_failed_attempts_total"), 2)
        self.assertEqual(self.metric("ryuryo_webhooks_dead_total"), 0)
        # The other endpoints were not held up by the failing one.
        self.assertEqual(self.delivered_seqs("/all"), sorted(events))
        self.assertEqual(self.delivered_seqs("/thr"), thr)
        answered = len(self.receiver.got(status=200))
        self.assertEqual(answered, len(events) + 2)  # /all: every event; /thr and /flaky: one
        wait_for("ryuryo_webhooks_delivered_total == 2xx answers",
                 lambda: self.metric("ryuryo_webhooks_delivered_total") == answered)

    def test_retries_survive_a_restart(self):
        self.receiver.fail_all.add("/down")
        self.line("w-r", "acct-r")
        self.use("w-r", 850, "r-1")  # 50%, 80%
        events = self.all_events()
        thr = sorted(s for s, e in events.items() if e["type"] == "threshold")
        self.assertEqual(len(thr), 2, events)
        wait_for("a failed attempt for each threshold event",
                 lambda: {json.loads(r["body"])["seq"] for r in self.receiver.got("/down")}
                 == set(thr))
        self.assertEqual(self.receiver.got("/down", 200), [])
        self.assertEqual(self.server.stop(), 0)
        failed_before = len(self.receiver.got("/down"))
        self.receiver.fail_all.discard("/down")

        self.server.start()
        wait_for("delivery of the pending events after the restart",
                 lambda: self.delivered_seqs("/down") == thr, timeout_s=40)
        events_after = self.all_events()
        self.assertEqual(events_after, events, "the restart changed the event log")
        for req in self.receiver.got("/down"):
            self.check_request(req, events)
        self.assertGreaterEqual(failed_before, 2)
        wait_for("the outbox drained", lambda: self.metric("ryuryo_webhooks_pending") == 0)
        self.assertEqual(len(self.receiver.got("/down", 200)), len(thr), "delivered once each")
        # The restarted process counts the deliveries it made.
        self.assertGreaterEqual(self.metric("ryuryo_webhooks_delivered_total"), len(thr))


if __name__ == "__main__":
    unittest.main(verbosity=2)

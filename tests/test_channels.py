"""A subscriber's own alert channels (GET|PUT /v1/lines/{id}/alerts "channels", notify/channels.h).

Checks, against the real binary and a webhook receiver (http.server on 127.0.0.1, port 0):
- a subscriber signed in with a password adds a webhook channel to their own line (with the
  session's CSRF token); the channel gets a secret, survives a restart, and receives the line's
  threshold alert signed with that secret (X-Ryuryo-Signature: sha256=HMAC-SHA256(secret, body));
- another line's alerts never reach it, and non-alert events (top-ups) are not sent;
- after the channel is removed, later alerts are not sent to it; a line given to another account
  loses its channels;
- a private address is refused unless [channels] allow_private_addresses = true; SMS channels are
  refused with a clear message (no SMS gateway here); a bad entry is named by its index.
No timing assertions: only polling with generous deadlines.
"""
import hashlib
import hmac
import http.cookiejar
import http.server
import json
import os
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import record  # noqa: E402

MB = 10**6

CONFIG = """
[channels]
allow_private_addresses = {allow}

[[plans]]
id = "m100"
kind = "monthly"
quota = "100 MB"
alerts = ["50%"]
timezone = "Asia/Tokyo"

[[lines]]
id = "a1"
plan = "m100"
account = "alice"

[[lines]]
id = "b1"
plan = "m100"
account = "bob"

[[accounts]]
id = "alice"
password = "alice password"
"""


class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.posts = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.posts.append((self.path, dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, pred, timeout_s=20):
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            with self.lock:
                found = [p for p in self.posts if pred(p)]
            if found:
                return found
            time.sleep(0.05)
        return []

    def snapshot(self):
        with self.lock:
            return list(self.posts)


class Subscriber:
    """A browser-like client: cookie jar, and the CSRF token from sign-in."""

    def __init__(self, server, account, password):
        self.server = server
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        r = self.request("POST", "/v1/auth/login", {"account": account, "password": password})
        assert r[0] == 200, r
        self.csrf = r[1]["csrf_token"]

    def request(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if getattr(self, "csrf", None):
            req.add_header("X-CSRF-Token", self.csrf)
        try:
            with self.opener.open(req, timeout=30) as resp:
                text = resp.read().decode()
                return resp.status, json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            return e.code, json.loads(text) if text else None


class ChannelsTest(unittest.TestCase):
    def test_a_subscribers_webhook_channel_receives_its_lines_alerts_signed(self):
        receiver = Receiver()
        with harness.Server(config_text=CONFIG.format(allow="true")) as s:
            alice = Subscriber(s, "alice", "alice password")
            status, body = alice.request(
                "PUT", "/v1/lines/a1/alerts",
                {"channels": [{"type": "webhook", "url": receiver.url + "/alice"}]})
            self.assertEqual(status, 200, body)
            self.assertEqual(len(body["channels"]), 1)
            ch = body["channels"][0]
            self.assertEqual(ch["type"], "webhook")
            self.assertEqual(ch["url"], receiver.url + "/alice")
            self.assertEqual(len(ch["secret"]), 48)
            self.assertEqual(body["thresholds"], ["50%"], "thresholds untouched")

            s.restart()
            alice = Subscriber(s, "alice", "alice password")
            status, body = alice.request("GET", "/v1/lines/a1/alerts")
            self.assertEqual(status, 200)
            self.assertEqual(body["channels"], [ch], "kept across a restart")

            now = int(time.time())
            # bob crosses 50% first: nothing for alice's channel.
            r = s.post("/v1/usage", [record("b1", 0, 60 * MB, now - 600, now - 300, id="b-1")])
            self.assertEqual(r.status, 200, r.body)
            r = s.post("/v1/lines/a1/topups", {"quota": "1 MB", "validity": "30d"})
            self.assertEqual(r.status, 201, r.body)
            r = s.post("/v1/usage", [record("a1", 0, 60 * MB, now - 600, now - 300, id="a-1")])
            self.assertEqual(r.status, 200, r.body)
            posts = receiver.wait_for(lambda p: p[0] == "/alice")
            self.assertTrue(posts, "the threshold alert reached the channel")
            path, headers, raw = posts[0]
            event = json.loads(raw)
            self.assertEqual(event["type"], "threshold")
            self.assertEqual(event["line"], "a1")
            want = "sha256=" + hmac.new(ch["secret"].encode(), raw, hashlib.sha256).hexdigest()
            self.assertEqual(headers.get("X-Ryuryo-Signature"), want)
            time.sleep(1.0)  # anything else queued would have been sent by now
            for _, _, raw in receiver.snapshot():
                ev = json.loads(raw)
                self.assertEqual(ev["line"], "a1", "only alice's line")
                self.assertNotEqual(ev["type"], "topup", "only alerts")

            # Removed: later alerts are not sent to it.
            status, body = alice.request("PUT", "/v1/lines/a1/alerts",
                                         {"channels": [], "thresholds": ["50%", "90%"]})
            self.assertEqual(status, 200, body)
            self.assertEqual(body["channels"], [])
            before = len(receiver.snapshot())
            r = s.post("/v1/usage", [record("a1", 0, 35 * MB, now - 290, now - 200, id="a-2")])
            self.assertEqual(r.status, 200, r.body)
            events = s.get("/v1/events?after=0").json()["events"]
            self.assertTrue(any(e["type"] == "threshold" and e.get("threshold") == "90%"
                                for e in events), events)
            time.sleep(1.0)
            self.assertEqual(len(receiver.snapshot()), before)
        receiver.httpd.shutdown()

    def test_bad_channels_are_refused(self):
        with harness.Server(config_text=CONFIG.format(allow="false")) as s:
            alice = Subscriber(s, "alice", "alice password")
            status, body = alice.request(
                "PUT", "/v1/lines/a1/alerts",
                {"channels": [{"type": "webhook", "url": "http://127.0.0.1:9/x"}]})
            self.assertEqual(status, 400)
            self.assertIn("private", body["error"]["message"])
            status, body = alice.request(
                "PUT", "/v1/lines/a1/alerts",
                {"channels": [{"type": "sms", "to": "+819012345678"}]})
            self.assertEqual(status, 400)
            self.assertIn("SMS", body["error"]["message"])
            status, body = alice.request(
                "PUT", "/v1/lines/a1/alerts",
                {"channels": [{"type": "webhook", "url": "https://hooks.example.net/ok"},
                              {"type": "webhook", "url": "not a url"}]})
            self.assertEqual(status, 400)
            self.assertIn("channels[1]", body["error"]["message"])
            status, body = alice.request("GET", "/v1/lines/a1/alerts")
            self.assertEqual(body["channels"], [], "nothing applied")
            status, body = alice.request(
                "PUT", "/v1/lines/b1/alerts",
                {"channels": [{"type": "webhook", "url": "https://hooks.example.net/ok"}]})
            self.assertEqual(status, 404, "not alice's line")
            r = s.get("/v1/lines/b1/alerts")
            self.assertEqual(r.json()["channels"], [])

    def test_a_line_given_to_another_account_loses_its_channels(self):
        with harness.Server(config_text=CONFIG.format(allow="false")) as s:
            alice = Subscriber(s, "alice", "alice password")
            status, body = alice.request(
                "PUT", "/v1/lines/a1/alerts",
                {"channels": [{"type": "webhook", "url": "https://hooks.example.net/alice"}]})
            self.assertEqual(status, 200, body)
            r = s.put("/v1/lines/a1", {"plan": "m100", "account": "alice"})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(len(s.get("/v1/lines/a1/alerts").json()["channels"]), 1,
                             "unchanged owner: kept")
            r = s.put("/v1/lines/a1", {"plan": "m100", "account": "bob"})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(s.get("/v1/lines/a1/alerts").json()["channels"], [],
                             "the old owner's webhook must not get the new owner's alerts")


if __name__ == "__main__":
    unittest.main()

"""Per-app collection is off until the subscriber opts in (Ledger::set_app_collection).

Checks, against the real binary: usage with an `app` for a line whose account has not opted in
counts in full, but neither the per-app history nor the audit trail keeps the app (it shows as
unattributed); a line without an account keeps it; after the subscriber sets
`collect_apps: true` through PUT /v1/me (with the session's CSRF token), new usage keeps its app,
and the setting survives a restart.
"""
import http.cookiejar
import json
import os
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import record  # noqa: E402

CONFIG = """
[[plans]]
id = "m10"
kind = "monthly"
quota = "10 GB"
timezone = "Asia/Tokyo"

[[lines]]
id = "a1"
plan = "m10"
account = "alice"

[[lines]]
id = "fleet-1"
plan = "m10"

[[accounts]]
id = "alice"
password = "alice password"
"""


def session(server):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def call(method, path, body=None, csrf=None):
        req = urllib.request.Request(server.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Content-Type", "application/json")
        if csrf:
            req.add_header("X-CSRF-Token", csrf)
        try:
            with opener.open(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    status, body = call("POST", "/v1/auth/login",
                        {"account": "alice", "password": "alice password"})
    assert status == 200, body
    return call, body["csrf_token"]


class PrivacyTest(unittest.TestCase):
    def apps(self, s, line):
        points = s.get(f"/v1/lines/{line}/history?granularity=day&by=app").json()["points"]
        return {p["app"]: p["bytes_down"] for p in points}

    def test_apps_are_kept_only_after_the_subscriber_opts_in(self):
        with harness.Server(config_text=CONFIG) as s:
            now = int(time.time())
            r = s.post("/v1/usage", [
                record("a1", 0, 1000, now - 900, now - 800, id="a-1", app="youtube"),
                record("fleet-1", 0, 2000, now - 900, now - 800, id="f-1", app="telemetry"),
            ])
            self.assertEqual(r.json()["accepted"], 2, r.body)
            self.assertEqual(s.get("/v1/lines/a1/usage").json()["used"], 1000, "bytes count")
            self.assertEqual(self.apps(s, "a1"), {None: 1000}, "no app kept for alice yet")
            audit = s.get("/v1/lines/a1/audit").json()["entries"]
            self.assertEqual([e["app"] for e in audit], [None])
            self.assertEqual(self.apps(s, "fleet-1"), {"telemetry": 2000},
                             "a line without an account keeps its apps")

            call, csrf = session(s)
            status, body = call("GET", "/v1/me")
            self.assertFalse(body["account"]["collect_apps"], "off by default")
            status, body = call("PUT", "/v1/me", {"collect_apps": True})
            self.assertEqual(status, 403, "needs the CSRF token")
            status, body = call("PUT", "/v1/me", {"collect_apps": True}, csrf=csrf)
            self.assertEqual(status, 200, body)
            self.assertTrue(body["collect_apps"])

            s.restart()
            r = s.post("/v1/usage", [
                record("a1", 0, 3000, now - 700, now - 600, id="a-2", app="maps")])
            self.assertEqual(r.json()["accepted"], 1, r.body)
            self.assertEqual(self.apps(s, "a1"), {None: 1000, "maps": 3000})
            audit = s.get("/v1/lines/a1/audit").json()["entries"]
            self.assertEqual(sorted(e["app"] or "" for e in audit), ["", "maps"])


if __name__ == "__main__":
    unittest.main()

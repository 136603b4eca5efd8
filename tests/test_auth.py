"""End-to-end tests of subscriber accounts and sign-in (src/api/auth_routes.cc, src/api/accounts.*)
against the real binary: every rule of "who may call what" in src/api/api.h.

Checked:
- password sign-in: the session cookie (HttpOnly, SameSite=Strict, Path=/, Max-Age = session_ttl;
  Secure only with [auth] cookie_secure = true) and the CSRF token in the answer; a wrong password,
  an unknown account and an account without a password answer the same 401; a body that is not
  Content-Type: application/json is 415; a cross-origin Origin is 403;
- throttling: past `failed_logins_per_account` failures even the right password gets 429 with
  Retry-After while another account still signs in; the per-address limit across accounts; the
  admin-token sign-in ({"token"}) gives an operator session, counts towards and obeys the address
  limit; a wrong current_password of a password change counts like a failed sign-in;
- a subscriber's session against EVERY route listed in api.h (read from the header: a new route
  must be classified in ROUTES below): another account's line, by id or msisdn:/imsi:/iccid:, is
  exactly as "not found" as a line that does not exist; operator routes answer 403 on any id
  (also the subscriber's own); no answer holds anything of the other account; writes need the
  session's X-CSRF-Token (403 csrf without it, with a wrong one or another session's) and a
  same-origin Origin; a refused write changed nothing (checked through the admin token); the
  subscriber reads their own lines and sets their alerts;
- sessions and login links survive a restart; logout ends only this session and clears the
  cookie; a password change (PUT /v1/me with current_password, or an operator's
  PUT /v1/accounts/{id}) ends the account's other sessions;
- one-time login links (operator only; unknown account 404; used once; expires_at = now + ttl;
  the expiry itself is left to src/api/accounts_test.cc);
- GET /v1/me/export (an attachment with the account's lines, usage, history, audit and events,
  nothing of another account) and DELETE /v1/me/history (CSRF; the account's history and audit
  are gone, balances and other accounts untouched);
- the operator API: GET|PUT /v1/accounts[/{id}]; the admin Bearer token works everywhere, and a
  wrong Bearer token is refused even when a valid session cookie is sent too.

Two servers: the main one (failed_logins_per_account = 3, a high per-address limit), and one for
the address limit and cookie_secure (ThrottleTest). All requests come from 127.0.0.1.
"""
import calendar
import http.client
import json
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import record  # noqa: E402
from test_openapi import header_routes  # noqa: E402  (the route list of src/api/api.h)

HOUR = 3600
JST = 9 * HOUR
NOW = int(time.time())


def jst_day(epoch_s):
    return time.gmtime(epoch_s + JST).tm_mday


def usage_window():
    """(start, end) of the setup's records: up to an hour ending a minute ago, inside the local
    (Asia/Tokyo) day, so that each line has one daily history point at any time of day. In the
    first two minutes of a day, waits until they have passed."""
    now = int(time.time())
    day_start = (now + JST) // 86400 * 86400 - JST
    if now - day_start < 120:
        time.sleep(120 - (now - day_start))
        now = int(time.time())
    t1 = now - 60
    return max(day_start, t1 - HOUR), t1


# A cycle day 10 days back (at most 28): no record of a test straddles a reset.
CYCLE_DAY = min(jst_day(NOW - 10 * 86400), 28)

PLANS = f"""
[server]
http = "127.0.0.1:8080"
data_dir = "data"

[[plans]]
id = "t-monthly"
name = "Test monthly 10 GB"
kind = "monthly"
quota = "10 GB"
cycle_day = {CYCLE_DAY}
after_quota = {{ action = "throttle", rate = "300 kbps" }}
alerts = ["50%", "80%"]
timezone = "Asia/Tokyo"
"""

PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-1", "carol": "carol-password-1",
             "dave": "dave-password-1", "erin": "erin-password-1", "gina": "gina-password-1"}

# Opted in to per-app usage, so that apps show in history and audit (and Bob's must not leak).
ACCOUNTS = "".join(f"""
[[accounts]]
id = "{a}"
name = "{a.capitalize()} Example"
password = "{p}"
collect_apps = true
""" for a, p in PASSWORDS.items() if a != "bob") + """
[[accounts]]
id = "bob"
name = "Bob Secretname"
password = "bob-password-1"
locale = "en"
collect_apps = true

[[accounts]]
id = "frank"
name = "Frank (login links only)"
"""

CONFIG = PLANS + """
[auth]
session_ttl = "2h"
login_link_ttl = "10m"
failed_logins_per_account = 3
failed_logins_per_address = 1000
failed_login_window = "10m"
""" + ACCOUNTS

THROTTLE_CONFIG = PLANS + """
[auth]
cookie_secure = true
failed_logins_per_account = 3
failed_logins_per_address = 6
failed_login_window = "10m"
""" + ACCOUNTS

# Bob's line: things that must never show in an answer to Alice, unless she sent them herself.
BOB_MSISDN = "819022220002"
BOB_IMSI = "440102222000002"
BOB_ICCID = "8981102222000000002"
BOB_BYTES = 7654321
BOB_SECRETS = ["Bob Secretname", "bob-1", "bob-2", "bob-pool", BOB_MSISDN, BOB_IMSI, BOB_ICCID,
               str(BOB_BYTES), "bobapp", "bobdevice"]

# What a subscriber's session may do on each route of api.h:
#   "line":     only on the subscriber's own lines; any other line is "not found" (404)
#   "operator": 403 permission_denied, whatever the id (also the subscriber's own line/account)
#   "self":     about the caller's own account (no id to try another account's with); tested below
#   "open":     needs no credentials (sign-in, liveness, metrics; incoming SMS has its own)
ROUTES = {
    ("get", "/healthz"): "open",
    ("get", "/metrics"): "open",
    ("get", "/v1/plans"): "operator",
    ("get", "/v1/lines"): "operator",
    ("put", "/v1/lines/{id}"): "operator",
    ("get", "/v1/lines/{id}"): "line",
    ("get", "/v1/lines/{id}/usage"): "line",
    ("get", "/v1/lines/{id}/history"): "line",
    ("get", "/v1/lines/{id}/events"): "line",
    ("get", "/v1/lines/{id}/audit"): "operator",
    ("post", "/v1/lines/{id}/topups"): "operator",
    ("get", "/v1/lines/{id}/alerts"): "line",
    ("put", "/v1/lines/{id}/alerts"): "line",
    ("put", "/v1/pools/{id}"): "operator",
    ("get", "/v1/pools/{id}"): "operator",
    ("post", "/v1/usage"): "operator",
    ("get", "/v1/events"): "operator",
    ("get", "/v1/quarantine"): "operator",
    ("post", "/v1/quarantine/apply"): "operator",
    ("get", "/v1/sessions"): "operator",
    ("post", "/v1/auth/login"): "open",
    ("post", "/v1/auth/link"): "open",
    ("post", "/v1/auth/sms-code"): "open",  # only with [sms] send_url; 404 here
    ("post", "/v1/auth/sms-login"): "open",
    ("get", "/v1/auth/methods"): "open",
    ("get", "/v1/sms/kannel"): "open",  # Kannel's own token or address allow-list ([sms])
    ("post", "/v1/auth/logout"): "self",
    ("get", "/v1/me"): "self",
    ("put", "/v1/me"): "self",
    ("get", "/v1/me/export"): "self",
    ("delete", "/v1/me/history"): "self",
    ("get", "/v1/accounts"): "operator",
    ("get", "/v1/accounts/{id}"): "operator",
    ("put", "/v1/accounts/{id}"): "operator",
    ("post", "/v1/accounts/{id}/login-link"): "operator",
}
# Routes that may be missing from the header (the live stream: a subscriber's own lines, tested in
# test_stream_shows_own_lines_only).
OPTIONAL_ROUTES = {("get", "/v1/stream"): "self"}

# Query strings that make a read route look further (none of them may widen what it shows).
QUERIES = {
    "/v1/lines": "?q=bob&limit=1000",
    "/v1/lines/{id}/history": "?granularity=hour&by=app",
    "/v1/lines/{id}/audit": "?limit=1000",
    "/v1/lines/{id}/events": "?limit=1000",
    "/v1/events": "?after=0&limit=1000",
    "/v1/sessions": f"?line=msisdn:{BOB_MSISDN}",
    "/v1/quarantine": "?after=0",
    "/v1/accounts": "?limit=1000",
}


def attack_body(method, path):
    """A valid body for a write route, so that only the permission check can refuse it."""
    if method == "put" and path == "/v1/lines/{id}":
        return {"plan": "t-monthly", "account": "alice"}
    if path == "/v1/lines/{id}/topups":
        return {"quota": "5 GB", "validity": "30d", "id": "stolen-topup"}
    if path == "/v1/lines/{id}/alerts":
        return {"thresholds": ["10%"],
                "channels": [{"type": "webhook", "url": "https://alice.example.net/hook"}]}
    if path == "/v1/pools/{id}":
        return {"plan": "t-monthly", "account": "alice"}
    if path == "/v1/usage":
        return [record("bob-1", 1, 1, NOW - 600, NOW - 300, id="alice-writes-bob")]
    if path == "/v1/accounts/{id}":
        return {"name": "pwned", "password": "pwned-password"}
    return None


def header(resp, name):
    for k, v in resp.headers.items():
        if k.lower() == name.lower():
            return v
    return None


def cookie_parts(set_cookie):
    """A Set-Cookie value as (name, value, attributes).

    'ryuryo_session=v; Path=/; HttpOnly' -> ('ryuryo_session', 'v', {'path': '/', 'httponly': None})
    Attribute names are lower-cased; an attribute without a value maps to None.
    """
    parts = [p.strip() for p in set_cookie.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, eq, v = p.partition("=")
        attrs[k.lower()] = v if eq else None
    return name, value, attrs


class Session:
    """A signed-in browser: the cookie's value and the CSRF token the page sends back."""

    def __init__(self, token, csrf, answer):
        self.token = token
        self.csrf = csrf
        self.answer = answer


class AuthTestBase(unittest.TestCase):
    CONFIG = CONFIG

    @classmethod
    def setUpClass(cls):
        cls.srv = harness.Server(config_text=cls.CONFIG)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    # -- helpers -------------------------------------------------------------------------------

    def ok(self, resp, status=200):
        self.assertEqual(resp.status, status, f"HTTP {resp.status}: {resp.body}")
        return resp.json() if resp.body else None

    def error(self, resp, status, code=None):
        self.assertEqual(resp.status, status, f"HTTP {resp.status}: {resp.body}")
        j = resp.json()
        if code is not None:
            self.assertEqual(j["error"]["code"], code, resp.body)
        return j["error"]["message"]

    def origin(self):
        return self.srv.url  # http://127.0.0.1:PORT: what a browser on the dashboard sends

    def login(self, body, content_type="application/json", headers=None, path="/v1/auth/login"):
        h = dict(headers or {})
        if content_type is not None:
            h["Content-Type"] = content_type
        return self.srv.post(path, body, token=False, headers=h)

    def sign_in(self, account, password=None):
        r = self.login({"account": account, "password": password or PASSWORDS[account]})
        j = self.ok(r)
        name, value, _ = cookie_parts(header(r, "Set-Cookie"))
        self.assertEqual(name, "ryuryo_session")
        return Session(value, j["csrf_token"], j)

    def call(self, sess, method, path, body=None, csrf=True, headers=None, raw=None):
        """A request under a session cookie; `csrf`: True (the session's), None or a value."""
        h = {"Cookie": "theme=dark; ryuryo_session=" + sess.token}
        if csrf is True:
            h["X-CSRF-Token"] = sess.csrf
        elif csrf is not None:
            h["X-CSRF-Token"] = csrf
        h.update(headers or {})
        return self.srv.request(method.upper(), path, body=body, token=False, headers=h, raw=raw)

    def admin(self, method, path, body=None, status=200):
        return self.ok(self.srv.request(method.upper(), path, body=body), status)


class AuthTest(AuthTestBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.srv

        def must(resp, *ok):
            if resp.status not in ok:
                raise AssertionError(f"setup: HTTP {resp.status}: {resp.body}")

        for line, account, extra in [
                ("alice-1", "alice", {"msisdn": "+81 90-1111-0001", "imsi": "440101111000001"}),
                ("alice-2", "alice", {}),
                ("bob-1", "bob", {"msisdn": "+" + BOB_MSISDN, "imsi": BOB_IMSI,
                                  "iccid": BOB_ICCID}),
                ("bob-2", "bob", {}),
                ("gina-1", "gina", {}),
                ("nobody-1", None, {})]:
            body = {"plan": "t-monthly", **extra}
            if account:
                body["account"] = account
            must(srv.put(f"/v1/lines/{line}", body), 201)
        must(srv.put("/v1/pools/bob-pool", {"plan": "t-monthly", "account": "bob"}), 201)
        t0, t1 = usage_window()
        j = srv.post("/v1/usage", [
            record("alice-1", 1000, 2000, t0, t1, id="a1", app="aliceapp", device="alicephone"),
            record("alice-2", 10, 20, t0, t1, id="a2"),
            record("bob-1", 0, BOB_BYTES, t0, t1, id="b1", app="bobapp", device="bobdevice"),
            record("gina-1", 300, 400, t0, t1, id="g1", app="ginaapp"),
        ])
        must(j, 200)
        if j.json()["accepted"] != 4:
            raise AssertionError("setup: " + j.body)

    def bob_state(self):
        """Everything of Bob's that a subscriber's write could change, read with the admin token."""
        acc = self.admin("get", "/v1/accounts/bob")
        return {
            "lines": [self.admin("get", f"/v1/lines/{i}") for i in ("bob-1", "bob-2")],
            "usage": [{k: v for k, v in self.admin("get", f"/v1/lines/{i}/usage").items()
                       if k not in ("as_of", "forecast")} for i in ("bob-1", "bob-2")],
            "alerts": [self.admin("get", f"/v1/lines/{i}/alerts") for i in ("bob-1", "bob-2")],
            "history": self.admin("get", "/v1/lines/bob-1/history?granularity=day&by=app"),
            "audit": self.admin("get", "/v1/lines/bob-1/audit"),
            "pool": self.admin("get", "/v1/pools/bob-pool"),
            "account": acc,
        }

    # -- sign-in -------------------------------------------------------------------------------

    def test_password_sign_in_sets_a_strict_cookie(self):
        r = self.login({"account": "alice", "password": PASSWORDS["alice"]})
        j = self.ok(r)
        self.assertEqual(j["role"], "subscriber")
        self.assertEqual(j["account"], "alice")
        self.assertRegex(j["csrf_token"], r"^[A-Za-z0-9_-]{43}$")
        self.assertRegex(j["expires_at"], r"Z$")
        self.assertIn("no-store", header(r, "Cache-Control"))
        name, value, attrs = cookie_parts(header(r, "Set-Cookie"))
        self.assertEqual(name, "ryuryo_session")
        self.assertRegex(value, r"^[A-Za-z0-9_-]{43}$")
        self.assertNotEqual(value, j["csrf_token"])
        self.assertEqual(attrs.get("path"), "/")
        self.assertIn("httponly", attrs)
        self.assertEqual(attrs.get("samesite"), "Strict")
        self.assertEqual(attrs.get("max-age"), str(2 * HOUR))  # session_ttl = "2h"
        self.assertNotIn("secure", attrs, "Secure only with [auth] cookie_secure = true")
        # The cookie is the credential: /v1/me answers with the same CSRF token.
        me = self.ok(self.call(Session(value, j["csrf_token"], j), "get", "/v1/me"))
        self.assertEqual(me["role"], "subscriber")
        self.assertEqual(me["account"]["id"], "alice")
        self.assertEqual(me["csrf_token"], j["csrf_token"])
        # A same-origin Origin is fine.
        self.ok(self.login({"account": "alice", "password": PASSWORDS["alice"]},
                           headers={"Origin": self.origin()}))

    def test_failed_sign_ins_all_look_alike(self):
        wrong = self.login({"account": "alice", "password": "not-alices-password"})
        unknown = self.login({"account": "no-such-account", "password": "whatever-password"})
        no_password = self.login({"account": "frank", "password": "frank-has-none"})
        for r in (wrong, unknown, no_password):
            self.error(r, 401, "unauthenticated")
            self.assertIsNone(header(r, "Set-Cookie"))
        self.assertEqual(wrong.body, unknown.body)
        self.assertEqual(wrong.body, no_password.body)
        self.sign_in("alice")  # a success clears Alice's failure count

    def test_sign_in_needs_a_json_body_from_this_origin(self):
        body = {"account": "alice", "password": PASSWORDS["alice"]}
        # What an HTML form can send cross-site without a preflight: refused before anything.
        for ct in (None, "application/x-www-form-urlencoded", "text/plain", "multipart/form-data"):
            with self.subTest(content_type=ct):
                if ct is None:  # urllib's default for a body is a form
                    r = self.srv.post("/v1/auth/login", body, token=False)
                else:
                    r = self.login(body, content_type=ct)
                self.error(r, 415, "unsupported_media_type")
                self.assertIsNone(header(r, "Set-Cookie"))
        self.ok(self.login(body, content_type="application/json; charset=utf-8"))
        for origin in ("http://evil.example", "null", self.origin() + ".evil.example",
                       self.origin().replace("http://", "https://evil.")):
            with self.subTest(origin=origin):
                r = self.login(body, headers={"Origin": origin})
                self.error(r, 403, "cross_origin")
                self.assertIsNone(header(r, "Set-Cookie"))
        # Malformed bodies: 400, naming the problem.
        self.error(self.login({"account": "alice"}), 400, "invalid_argument")
        self.error(self.login({"account": "alice", "password": "x", "remember": True}), 400,
                   "invalid_argument")
        self.error(self.login({"account": 1, "password": "x"}), 400, "invalid_argument")
        self.error(self.srv.request("POST", "/v1/auth/login", raw="{not json", token=False,
                                    headers={"Content-Type": "application/json"}),
                   400, "invalid_argument")
        self.error(self.srv.get("/v1/auth/login", token=False), 405, "method_not_allowed")
        self.error(self.srv.get("/v1/auth/link", token=False), 405, "method_not_allowed")

    def test_sign_in_methods_say_what_this_server_offers(self):
        r = self.srv.get("/v1/auth/methods", token=False)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json(), {"password": True, "link": True, "sms_code": False,
                                    "admin_token": True})
        self.assertEqual(r.headers.get("Cache-Control"), "no-store")
        self.error(self.srv.post("/v1/auth/methods", {}, token=False), 405, "method_not_allowed")

    def test_admin_token_sign_in_is_an_operator_session(self):
        r = self.login({"token": self.srv.token})
        j = self.ok(r)
        self.assertEqual((j["role"], j["account"]), ("admin", None))
        _, value, attrs = cookie_parts(header(r, "Set-Cookie"))
        self.assertIn("httponly", attrs)
        op = Session(value, j["csrf_token"], j)
        me = self.ok(self.call(op, "get", "/v1/me"))
        self.assertEqual((me["role"], me["account"], me["lines"]), ("admin", None, []))
        # An operator session reads everything...
        lines = self.ok(self.call(op, "get", "/v1/lines"))["lines"]
        self.assertIn("bob-1", [line["id"] for line in lines])
        bob = self.ok(self.call(op, "get", "/v1/accounts/bob"))
        self.assertEqual(bob["name"], "Bob Secretname")
        # ...and writes with the CSRF token only.
        self.error(self.call(op, "put", "/v1/lines/op-line", {"plan": "t-monthly"}, csrf=None),
                   403, "csrf")
        self.error(self.srv.get("/v1/lines/op-line"), 404, "not_found")
        self.ok(self.call(op, "put", "/v1/lines/op-line", {"plan": "t-monthly"}), 201)
        # It has no account of its own.
        self.error(self.call(op, "put", "/v1/me", {"name": "x"}), 400, "invalid_argument")
        self.error(self.call(op, "get", "/v1/me/export"), 400, "invalid_argument")
        self.error(self.call(op, "delete", "/v1/me/history"), 400, "invalid_argument")
        # A wrong token: 401 and no cookie.
        r = self.login({"token": "not-the-token"})
        self.error(r, 401, "unauthenticated")
        self.assertIsNone(header(r, "Set-Cookie"))

    # -- throttling (the per-account limit; the address limit is in ThrottleTest) --------------

    def test_password_change_is_throttled_like_sign_in(self):
        dave = self.sign_in("dave")
        change = {"password": "dave-new-password", "current_password": "wrong-current"}
        for _ in range(3):  # failed_logins_per_account = 3
            self.error(self.call(dave, "put", "/v1/me", change), 403, "wrong_password")
        # Now even the right current password waits, and so does sign-in.
        change["current_password"] = PASSWORDS["dave"]
        r = self.call(dave, "put", "/v1/me", change)
        self.error(r, 429, "too_many_requests")
        self.assertTrue(1 <= int(header(r, "Retry-After")) <= 600, r.headers)
        r = self.login({"account": "dave", "password": PASSWORDS["dave"]})
        self.error(r, 429, "too_many_requests")
        self.assertTrue(1 <= int(header(r, "Retry-After")) <= 600, r.headers)
        # The password did not change, the session is still there, other accounts sign in.
        self.ok(self.call(dave, "get", "/v1/me"))
        self.sign_in("alice")

    # -- a subscriber against every route ------------------------------------------------------

    def test_every_route_is_classified(self):
        header_set = header_routes()
        self.assertGreaterEqual(len(header_set), 25, "could not read the route list of api.h")
        unknown = sorted(header_set - set(ROUTES) - set(OPTIONAL_ROUTES))
        self.assertEqual(unknown, [], "routes of api.h that ROUTES does not classify: decide what "
                                      "a subscriber's session may do with them")
        gone = sorted(set(ROUTES) - header_set)
        self.assertEqual(gone, [], "ROUTES lists routes that api.h does not")

    def test_subscriber_sees_only_own_lines(self):
        alice = self.sign_in("alice")
        me = self.ok(self.call(alice, "get", "/v1/me"))
        self.assertEqual(me["role"], "subscriber")
        self.assertEqual(me["account"]["id"], "alice")
        self.assertEqual(me["account"]["name"], "Alice Example")
        self.assertTrue(me["account"]["has_password"])
        self.assertNotIn("password_hash", me["account"])
        self.assertEqual(sorted(l["id"] for l in me["lines"]), ["alice-1", "alice-2"])
        for s in BOB_SECRETS:
            self.assertNotIn(s, json.dumps(me))
        # Alice's own lines, also by msisdn: and imsi:.
        for key in ("alice-1", "msisdn:819011110001", "imsi:440101111000001"):
            with self.subTest(key=key):
                self.assertEqual(self.ok(self.call(alice, "get", f"/v1/lines/{key}"))["id"],
                                 "alice-1")
                u = self.ok(self.call(alice, "get", f"/v1/lines/{key}/usage"))
                self.assertEqual((u["line"], u["bytes_up"], u["bytes_down"]),
                                 ("alice-1", 1000, 2000))
                h = self.ok(self.call(alice, "get", f"/v1/lines/{key}/history?by=app"))
                self.assertEqual({p["app"] for p in h["points"]}, {"aliceapp"})
                self.assertEqual(sum(p["bytes_down"] for p in h["points"]), 2000)
                self.ok(self.call(alice, "get", f"/v1/lines/{key}/alerts"))
        # Reads need no CSRF token.
        self.ok(self.call(alice, "get", "/v1/lines/alice-2/usage", csrf=None))

    def test_subscriber_cannot_reach_another_account_through_any_route(self):
        alice = self.sign_in("alice")
        before = self.bob_state()
        self.error(self.srv.get("/v1/lines/no-such-line"), 404, "not_found")
        routes = [r for r in header_routes() if ROUTES.get(r, OPTIONAL_ROUTES.get(r))
                  in ("line", "operator")]
        self.assertGreaterEqual(len(routes), 20)
        tried = 0
        for method, template in sorted(routes):
            kind = ROUTES[(method, template)]
            query = QUERIES.get(template, "")
            if "{id}" not in template:
                targets = [(template, None)]
            elif template.startswith("/v1/lines/"):
                # Bob's line by id and by each identifier, a line that does not exist in each
                # form, and (for operator routes) Alice's own line.
                keys = [("bob-1", "no-such-line"), ("msisdn:" + BOB_MSISDN, "msisdn:819099990009"),
                        ("imsi:" + BOB_IMSI, "imsi:440109999000009"),
                        ("iccid:" + BOB_ICCID, "iccid:8981109999000000009")]
                targets = []
                for bob_key, missing_key in keys:
                    targets.append((template.replace("{id}", bob_key), missing_key))
                if kind == "operator":
                    targets.append((template.replace("{id}", "alice-1"), None))
            elif template.startswith("/v1/pools/"):
                targets = [(template.replace("{id}", "bob-pool"), None),
                           (template.replace("{id}", "no-such-pool"), None)]
            elif template.startswith("/v1/accounts/"):
                targets = [(template.replace("{id}", a), None) for a in ("bob", "alice", "nobody")]
            else:
                self.fail(f"no ids to try for {template}")
            for path, missing_key in targets:
                full = path + query
                body = attack_body(method, template)
                with self.subTest(route=f"{method.upper()} {full}"):
                    tried += 1
                    if method != "get":
                        # Without the CSRF token, or with a wrong one: refused first.
                        for csrf in (None, "x" * 43, "", alice.csrf[::-1]):
                            r = self.call(alice, method, full, body, csrf=csrf)
                            self.error(r, 403, "csrf")
                    r = self.call(alice, method, full, body)
                    self.assertNotIn(r.status, (200, 201, 204), r.body)
                    for secret in BOB_SECRETS:
                        if secret not in full:
                            self.assertNotIn(secret, r.body)
                    if kind == "operator":
                        msg = self.error(r, 403, "permission_denied")
                        self.assertEqual(msg, f"operators only: {method.upper()} {path}")
                    else:
                        # Exactly what a line that does not exist answers.
                        bob_key = path.split("/")[3]
                        msg = self.error(r, 404, "not_found")
                        self.assertEqual(msg, f"line '{bob_key}' does not exist")
                        other = self.call(alice, method, full.replace(bob_key, missing_key), body)
                        self.assertEqual(other.status, r.status)
                        self.assertEqual(other.body.replace(missing_key, bob_key), r.body)
                        self.assertEqual(other.headers.get("Content-Type"),
                                         r.headers.get("Content-Type"))
        self.assertGreaterEqual(tried, 50)
        # Nothing of Bob's changed; no line was created; Bob's password still works.
        self.assertEqual(self.bob_state(), before)
        self.error(self.srv.get("/v1/lines/no-such-line"), 404, "not_found")
        self.error(self.srv.get("/v1/pools/no-such-pool"), 404, "not_found")
        self.error(self.srv.get("/v1/accounts/nobody"), 404, "not_found")
        self.sign_in("bob")
        # Alice's own line: operator routes stay closed to her too (checked above), and nothing
        # was written to it.
        self.assertNotIn("stolen-topup", json.dumps(self.admin("get", "/v1/lines/alice-1/usage")))

    def test_writes_need_the_sessions_csrf_token_and_origin(self):
        alice = self.sign_in("alice")
        bob = self.sign_in("bob")
        before = self.admin("get", "/v1/lines/alice-2/alerts")
        want = {"thresholds": ["75%", "100 MB left"]}
        for csrf in (None, "", "wrong", bob.csrf, alice.token):
            with self.subTest(csrf=csrf):
                r = self.call(alice, "put", "/v1/lines/alice-2/alerts", want, csrf=csrf)
                self.error(r, 403, "csrf")
        self.error(self.call(alice, "put", "/v1/lines/alice-2/alerts", want,
                             headers={"Origin": "http://evil.example"}), 403, "cross_origin")
        self.assertEqual(self.admin("get", "/v1/lines/alice-2/alerts"), before)
        # The right token from the dashboard's own origin: done, and the operator sees it.
        j = self.ok(self.call(alice, "put", "/v1/lines/alice-2/alerts", want,
                              headers={"Origin": self.origin()}))
        self.assertEqual(j["thresholds"], ["75%", "100 MB left"])
        got = self.admin("get", "/v1/lines/alice-2/alerts")
        self.assertEqual((got["thresholds"], got["inherited"]), (["75%", "100 MB left"], False))
        # Also through an identifier.
        self.ok(self.call(alice, "put", "/v1/lines/msisdn:819011110001/alerts",
                          {"thresholds": ["90%"]}))
        self.assertEqual(self.admin("get", "/v1/lines/alice-1/alerts")["thresholds"], ["90%"])
        # A cookie that is no session at all.
        fake = Session("A" * 43, alice.csrf, None)
        self.assertEqual(self.error(self.call(fake, "get", "/v1/me"), 401, "unauthenticated"),
                         "the session has ended: sign in again")
        self.error(self.srv.get("/v1/me", token=False), 401, "unauthenticated")

    def test_stream_shows_own_lines_only(self):
        if ("get", "/v1/stream") not in header_routes():
            self.skipTest("GET /v1/stream is not in api.h")
        alice = self.sign_in("alice")
        # Naming another account's line: exactly "not found".
        for bob_key, missing_key in [("bob-1", "no-such-line"),
                                     ("msisdn:" + BOB_MSISDN, "msisdn:819099990009")]:
            for query in (f"?line={bob_key}", f"?line=alice-1&line={bob_key}"):
                with self.subTest(query=query):
                    r = self.call(alice, "get", "/v1/stream" + query)
                    msg = self.error(r, 404, "not_found")
                    self.assertEqual(msg, f"line '{bob_key}' does not exist")
                    other = self.call(alice, "get", "/v1/stream" + query.replace(bob_key,
                                                                                 missing_key))
                    self.assertEqual(other.body.replace(missing_key, bob_key), r.body)
        # Without ?line=: Alice's lines, and nothing of Bob's even while his usage changes.
        u = urllib.parse.urlparse(self.srv.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
        try:
            conn.request("GET", "/v1/stream", headers={"Cookie": "ryuryo_session=" + alice.token,
                                                        "Accept": "text/event-stream"})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertIn("text/event-stream", resp.getheader("Content-Type"))
            seen, text = [], ""

            def read_until(pred):
                nonlocal text
                while not pred():
                    line = resp.readline().decode()
                    self.assertTrue(line, "the stream ended")
                    text += line
                    if line.startswith("data: "):
                        data = json.loads(line[6:])
                        seen.append(data.get("line"))

            read_until(lambda: {"alice-1", "alice-2"} <= set(seen))
            n = len(seen)
            self.ok(self.srv.post("/v1/usage", [
                record("bob-2", 0, 5, NOW - 60, NOW - 30, id="stream-b"),
                record("alice-2", 0, 5, NOW - 60, NOW - 30, id="stream-a")]))
            read_until(lambda: "alice-2" in seen[n:])
            self.assertEqual(set(seen), {"alice-1", "alice-2"}, text)
            for secret in BOB_SECRETS:
                self.assertNotIn(secret, text)
        finally:
            conn.close()

    # -- the admin token -----------------------------------------------------------------------

    def test_admin_token_works_everywhere_and_a_wrong_one_is_refused(self):
        alice = self.sign_in("alice")
        for method, template in sorted(header_routes()):
            if method != "get" or ROUTES.get((method, template)) not in ("operator", "line"):
                continue
            path = (template.replace("/v1/lines/{id}", "/v1/lines/bob-1")
                    .replace("{id}", "bob-pool" if "pools" in template else "bob"))
            with self.subTest(path=path):
                r = self.srv.get(path + QUERIES.get(template, ""))
                if template == "/v1/sessions":  # [radius] is not configured here
                    self.error(r, 404, "not_found")
                else:
                    self.ok(r)
        # A wrong or malformed Authorization wins over a valid cookie: 401.
        for auth in ("Bearer wrong-token", "Basic dGVzdDp0ZXN0", "bearer " + self.srv.token,
                     "Bearer "):
            with self.subTest(auth=auth):
                r = self.call(alice, "get", "/v1/me", headers={"Authorization": auth})
                self.error(r, 401, "unauthenticated")
                r = self.call(alice, "get", "/v1/lines/alice-1",
                              headers={"Authorization": auth})
                self.error(r, 401, "unauthenticated")
        # The right token with Alice's cookie: the operator.
        r = self.call(alice, "get", "/v1/lines/bob-1", csrf=None,
                      headers={"Authorization": "Bearer " + self.srv.token})
        self.assertEqual(self.ok(r)["id"], "bob-1")

    # -- the operator's account routes ---------------------------------------------------------

    def test_operator_manages_accounts(self):
        j = self.admin("put", "/v1/accounts/newbie", {"name": "New Bie", "locale": "zh"}, 201)
        self.assertEqual((j["id"], j["name"], j["locale"], j["collect_apps"], j["has_password"]),
                         ("newbie", "New Bie", "zh", False, False))
        self.assertNotIn("password_hash", j)
        j = self.admin("put", "/v1/accounts/newbie", {"collect_apps": True}, 200)
        self.assertEqual((j["name"], j["collect_apps"]), ("New Bie", True))
        got = self.admin("get", "/v1/accounts/alice")
        self.assertEqual(sorted(l["id"] for l in got["lines"]), ["alice-1", "alice-2"])
        page = self.admin("get", "/v1/accounts?limit=1000")
        by_id = {a["id"]: a for a in page["accounts"]}
        self.assertEqual(sorted(by_id["bob"]["lines"]), ["bob-1", "bob-2"])
        self.assertIn("newbie", by_id)
        self.assertIsNone(page["next"])
        first = self.admin("get", "/v1/accounts?limit=1")
        self.assertEqual(len(first["accounts"]), 1)
        self.assertEqual(first["next"], first["accounts"][0]["id"])
        self.error(self.srv.get("/v1/accounts/nobody"), 404, "not_found")
        for body in ({"password": "short"}, {"locale": "ko"}, {"role": "admin"},
                     {"collect_apps": "yes"}):
            with self.subTest(body=body):
                self.error(self.srv.put("/v1/accounts/newbie", body), 400, "invalid_argument")
        self.error(self.srv.put("/v1/accounts/bad%20id", {"name": "x"}), 400, "invalid_argument")
        self.error(self.srv.request("DELETE", "/v1/accounts/newbie"), 405, "method_not_allowed")

    # -- sessions ------------------------------------------------------------------------------

    def test_sessions_and_links_survive_a_restart(self):
        alice = self.sign_in("alice")
        link = self.admin("post", "/v1/accounts/frank/login-link", None, 201)
        self.srv.restart()
        me = self.ok(self.call(alice, "get", "/v1/me"))
        self.assertEqual((me["account"]["id"], me["csrf_token"]), ("alice", alice.csrf))
        self.ok(self.call(alice, "put", "/v1/lines/alice-1/alerts", {"thresholds": ["95%"]},
                          headers={"Origin": self.origin()}))
        r = self.login({"token": link["token"]}, path="/v1/auth/link")
        self.assertEqual(self.ok(r)["account"], "frank")

    def test_logout_ends_only_this_session(self):
        a1, a2 = self.sign_in("alice"), self.sign_in("alice")
        self.error(self.call(a1, "post", "/v1/auth/logout", csrf=None), 403, "csrf")
        self.ok(self.call(a1, "get", "/v1/me"))  # still signed in
        r = self.call(a1, "post", "/v1/auth/logout")
        self.assertEqual(r.status, 204, r.body)
        name, value, attrs = cookie_parts(header(r, "Set-Cookie"))
        self.assertEqual((name, value, attrs.get("max-age"), attrs.get("path")),
                         ("ryuryo_session", "", "0", "/"))
        self.assertIn("httponly", attrs)
        self.assertEqual(self.error(self.call(a1, "get", "/v1/me"), 401, "unauthenticated"),
                         "the session has ended: sign in again")
        self.error(self.call(a1, "put", "/v1/lines/alice-1/alerts", {"thresholds": []}), 401,
                   "unauthenticated")
        self.ok(self.call(a2, "get", "/v1/me"))
        self.error(self.srv.post("/v1/auth/logout", token=False), 401, "unauthenticated")

    def test_password_change_ends_the_other_sessions(self):
        s1, s2 = self.sign_in("carol"), self.sign_in("carol")
        new = "carol-new-password"
        self.error(self.call(s1, "put", "/v1/me", {"password": new}), 400, "invalid_argument")
        self.error(self.call(s1, "put", "/v1/me", {"password": new, "current_password": "nope"}),
                   403, "wrong_password")
        self.error(self.call(s1, "put", "/v1/me", {"password": new,
                                                   "current_password": PASSWORDS["carol"]},
                             csrf=None), 403, "csrf")
        self.ok(self.call(s2, "get", "/v1/me"))  # nothing changed yet
        j = self.ok(self.call(s1, "put", "/v1/me", {"password": new,
                                                    "current_password": PASSWORDS["carol"]}))
        self.assertEqual(j["id"], "carol")
        self.assertTrue(j["has_password"])
        # The other session is over; the one that changed the password goes on.
        self.error(self.call(s2, "get", "/v1/me"), 401, "unauthenticated")
        self.assertEqual(self.ok(self.call(s1, "get", "/v1/me"))["account"]["id"], "carol")
        self.error(self.login({"account": "carol", "password": PASSWORDS["carol"]}), 401,
                   "unauthenticated")
        s3 = self.sign_in("carol", new)
        # Other fields need no current password and end no session.
        j = self.ok(self.call(s3, "put", "/v1/me", {"name": "Carol C", "locale": "zh",
                                                    "collect_apps": False}))
        self.assertEqual((j["name"], j["locale"], j["collect_apps"]), ("Carol C", "zh", False))
        got = self.admin("get", "/v1/accounts/carol")
        self.assertEqual((got["name"], got["locale"], got["collect_apps"]),
                         ("Carol C", "zh", False))
        self.ok(self.call(s1, "get", "/v1/me"))
        for body in ({"locale": "ko"}, {"id": "bob"}, {"collect_apps": 1},
                     {"password": "short", "current_password": new}):
            with self.subTest(body=body):
                self.error(self.call(s3, "put", "/v1/me", body), 400, "invalid_argument")
        self.assertEqual(self.admin("get", "/v1/accounts/bob")["name"], "Bob Secretname")

    def test_operator_password_reset_ends_the_accounts_sessions(self):
        s = self.sign_in("erin")
        other = self.sign_in("alice")
        j = self.admin("put", "/v1/accounts/erin", {"password": "erin-reset-password"})
        self.assertTrue(j["has_password"])
        self.error(self.call(s, "get", "/v1/me"), 401, "unauthenticated")
        self.ok(self.call(other, "get", "/v1/me"))  # another account's session stays
        self.error(self.login({"account": "erin", "password": PASSWORDS["erin"]}), 401,
                   "unauthenticated")
        s = self.sign_in("erin", "erin-reset-password")
        # A change without a password keeps the sessions.
        self.admin("put", "/v1/accounts/erin", {"name": "Erin E"})
        self.assertEqual(self.ok(self.call(s, "get", "/v1/me"))["account"]["name"], "Erin E")

    # -- login links ---------------------------------------------------------------------------

    def test_login_link_signs_in_once(self):
        t = time.time()
        j = self.admin("post", "/v1/accounts/frank/login-link", None, 201)
        self.assertEqual(j["account"], "frank")
        self.assertRegex(j["token"], r"^[A-Za-z0-9_-]{43}$")
        self.assertEqual(j["url"], "/#login-link=" + j["token"])
        self.assertTrue(j["expires_at"].endswith("Z"), j)
        expires = calendar.timegm(time.strptime(j["expires_at"][:19], "%Y-%m-%dT%H:%M:%S"))
        self.assertLess(abs(expires - (t + 600)), 60, j)  # login_link_ttl = "10m"
        r = self.login({"token": j["token"]}, path="/v1/auth/link")
        got = self.ok(r)
        self.assertEqual((got["role"], got["account"]), ("subscriber", "frank"))
        _, value, attrs = cookie_parts(header(r, "Set-Cookie"))
        self.assertEqual((attrs.get("samesite"), attrs.get("max-age")), ("Strict", str(2 * HOUR)))
        frank = Session(value, got["csrf_token"], got)
        me = self.ok(self.call(frank, "get", "/v1/me"))
        self.assertEqual((me["account"]["id"], me["account"]["has_password"], me["lines"]),
                         ("frank", False, []))
        # Used once.
        again = self.login({"token": j["token"]}, path="/v1/auth/link")
        self.error(again, 401, "unauthenticated")
        self.assertIsNone(header(again, "Set-Cookie"))
        self.error(self.login({"token": "A" * 43}, path="/v1/auth/link"), 401, "unauthenticated")
        self.error(self.login({"token": ""}, path="/v1/auth/link"), 400, "invalid_argument")
        self.error(self.login({"token": j["token"], "account": "alice"}, path="/v1/auth/link"),
                   400, "invalid_argument")
        # The same rules as a password sign-in.
        j2 = self.admin("post", "/v1/accounts/frank/login-link", None, 201)
        self.error(self.login({"token": j2["token"]}, content_type="text/plain",
                              path="/v1/auth/link"), 415, "unsupported_media_type")
        self.error(self.login({"token": j2["token"]}, path="/v1/auth/link",
                              headers={"Origin": "http://evil.example"}), 403, "cross_origin")
        self.ok(self.login({"token": j2["token"]}, path="/v1/auth/link"))  # still unused
        # Only operators issue links, and only for accounts that exist.
        self.error(self.srv.post("/v1/accounts/nobody/login-link"), 404, "not_found")
        alice = self.sign_in("alice")
        for account in ("alice", "bob"):
            self.error(self.call(alice, "post", f"/v1/accounts/{account}/login-link"), 403,
                       "permission_denied")
        self.error(self.srv.get("/v1/accounts/frank/login-link"), 405, "method_not_allowed")

    # -- a subscriber's own data ---------------------------------------------------------------

    def test_export_holds_own_data_only(self):
        alice = self.sign_in("alice")
        r = self.call(alice, "get", "/v1/me/export")
        j = self.ok(r)
        self.assertRegex(header(r, "Content-Disposition"),
                         r'^attachment; filename="ryuryo-alice\.json"$')
        self.assertIn("no-store", header(r, "Cache-Control"))
        self.assertEqual(j["account"]["id"], "alice")
        self.assertNotIn("password_hash", r.body)
        self.assertNotIn("$argon2", r.body)
        lines = {l["line"]["id"]: l for l in j["lines"]}
        self.assertEqual(sorted(lines), ["alice-1", "alice-2"])
        a1 = lines["alice-1"]
        self.assertEqual((a1["usage"]["bytes_up"], a1["usage"]["bytes_down"]), (1000, 2000))
        self.assertIn("thresholds", a1["alerts"])
        for series in ("hourly", "daily", "daily_by_app", "daily_by_device"):
            pts = a1["history"][series]
            self.assertEqual((sum(p["bytes_up"] for p in pts), sum(p["bytes_down"] for p in pts)),
                             (1000, 2000), series)
        self.assertEqual([p["app"] for p in a1["history"]["daily_by_app"]], ["aliceapp"])
        self.assertEqual(len(a1["audit"]), 1)
        self.assertEqual(a1["audit"][0]["bytes_down"], 2000)
        for ev in j["events"]:
            self.assertTrue(ev.get("account") == "alice" or ev.get("line") in lines, ev)
        for secret in BOB_SECRETS + ["ginaapp", "gina-1", "nobody-1"]:
            self.assertNotIn(secret, r.body)
        # Not for other methods; CSRF is not needed to read.
        self.ok(self.call(alice, "get", "/v1/me/export", csrf=None))
        self.error(self.call(alice, "post", "/v1/me/export"), 405, "method_not_allowed")

    def test_delete_history_removes_own_history_only(self):
        gina = self.sign_in("gina")
        usage_before = self.admin("get", "/v1/lines/gina-1/usage")
        bob_before = self.bob_state()
        day = "/v1/lines/gina-1/history?granularity=day"
        self.assertEqual(len(self.admin("get", day)["points"]), 1)
        self.error(self.call(gina, "delete", "/v1/me/history", csrf=None), 403, "csrf")
        self.error(self.call(gina, "delete", "/v1/me/history",
                             headers={"Origin": "http://evil.example"}), 403, "cross_origin")
        self.assertEqual(len(self.admin("get", day)["points"]), 1)
        r = self.call(gina, "delete", "/v1/me/history")
        self.assertEqual(r.status, 204, r.body)
        for q in ("granularity=hour", "granularity=day", "granularity=day&by=app",
                  "granularity=hour&by=device"):
            self.assertEqual(self.admin("get", f"/v1/lines/gina-1/history?{q}")["points"], [], q)
        self.assertEqual(self.admin("get", "/v1/lines/gina-1/audit")["entries"], [])
        export = self.ok(self.call(gina, "get", "/v1/me/export"))
        self.assertEqual(export["lines"][0]["audit"], [])
        # The balance stays; so does everything of other accounts.
        after = self.admin("get", "/v1/lines/gina-1/usage")
        for k in ("used", "bytes_up", "bytes_down", "remaining", "buckets", "state"):
            self.assertEqual(after[k], usage_before[k], k)
        self.assertEqual(self.bob_state(), bob_before)
        self.assertEqual(len(self.admin("get", "/v1/lines/alice-1/audit")["entries"]), 1)
        self.error(self.call(gina, "get", "/v1/me/history"), 405, "method_not_allowed")


class ThrottleTest(AuthTestBase):
    """The per-address limit (6) and the admin-token sign-in, on a server with cookie_secure."""
    CONFIG = THROTTLE_CONFIG

    def assert_throttled(self, r):
        self.error(r, 429, "too_many_requests")
        retry = int(header(r, "Retry-After"))
        self.assertTrue(1 <= retry <= 600, r.headers)  # failed_login_window = "10m"
        self.assertIsNone(header(r, "Set-Cookie"))

    def test_limits_per_account_and_per_address(self):
        r = self.login({"account": "bob", "password": PASSWORDS["bob"]})
        self.ok(r)
        _, _, attrs = cookie_parts(header(r, "Set-Cookie"))
        self.assertIn("secure", attrs)  # cookie_secure = true
        self.assertIn("httponly", attrs)
        self.assertEqual(attrs.get("samesite"), "Strict")
        self.assertEqual(attrs.get("max-age"), str(14 * 24 * HOUR))  # session_ttl by default
        bob = self.sign_in("bob")
        # Three failures for Alice (the address has 3).
        for _ in range(3):
            self.error(self.login({"account": "alice", "password": "guess-guess"}), 401,
                       "unauthenticated")
        self.assert_throttled(self.login({"account": "alice", "password": PASSWORDS["alice"]}))
        # Another account still signs in from the same address.
        self.sign_in("carol")
        # Two more on an unknown account, one wrong admin token: the address has 6.
        for _ in range(2):
            self.error(self.login({"account": "mallory", "password": "guess-guess"}), 401,
                       "unauthenticated")
        self.error(self.login({"token": "wrong-admin-token"}), 401, "unauthenticated")
        # Now the address waits, whatever the account, and for the admin token as well.
        self.assert_throttled(self.login({"account": "dave", "password": PASSWORDS["dave"]}))
        self.assert_throttled(self.login({"token": self.srv.token}))
        # Existing sessions and the Bearer token are not sign-ins: they go on.
        self.ok(self.call(bob, "get", "/v1/me"))
        self.ok(self.srv.get("/v1/lines"))


if __name__ == "__main__":
    unittest.main()

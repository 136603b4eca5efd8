"""docs/openapi.yaml must not drift from the code.

Checks, by plain text parsing (Python standard library only, no server needed):
- every route in the header comment of src/api/api.h is a path + method of docs/openapi.yaml, and
  the document describes no route that the header does not list;
- the usage record fields accepted by src/api/usage_json.cc, and the body fields of the PUT/POST
  routes in src/api/api.cc and src/api/auth_routes.cc, are exactly the documented schema
  properties (unknown fields are errors, so the lists must match);
- the session cookie's name and the CSRF header of src/api/auth_routes.cc are the documented ones;
- every event type of src/core/event.cc, every error code the server can send, and every metric
  name exported appear in the document.
"""
import os
import re
import unittest

ROOT = os.environ.get("RYURYO_SOURCE_DIR",
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def child_keys(yaml_text, path):
    """The keys directly under the block mapping at `path` (a list of keys), in order.

    Handles the subset this document uses for mappings: block style, keys on their own lines,
    optionally quoted. Comments, blank lines and block scalars are skipped by indentation.
    """
    lines = yaml_text.splitlines()
    key_re = re.compile(r"^( *)(['\"]?)([^'\"#][^:]*?)\2:(\s|$)")
    start, indent = 0, -1
    for want in path:
        found = False
        for i in range(start, len(lines)):
            line = lines[i]
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = key_re.match(line)
            cur = len(line) - len(line.lstrip(" "))
            if cur <= indent:
                break  # left the parent mapping
            if m and m.group(3) == want and (indent < 0 or cur > indent):
                start, indent, found = i + 1, cur, True
                break
        if not found:
            return []
    keys, child_indent = [], None
    for line in lines[start:]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cur = len(line) - len(line.lstrip(" "))
        if cur <= indent:
            break
        if child_indent is None:
            child_indent = cur
        if cur == child_indent:
            m = key_re.match(line)
            if m:
                keys.append(m.group(3))
    return keys


def header_routes():
    """(method, path) pairs from the "Routes" comment at the top of src/api/api.h."""
    text = read("src", "api", "api.h")
    block = text.split("// Routes", 1)[1].split("\n//\n", 1)[0]
    routes = set()
    for methods, path in re.findall(r"\b((?:GET|PUT|POST|DELETE|PATCH)(?:\|[A-Z]+)*)\s+(/[^\s?]*)",
                                    block):
        for m in methods.split("|"):
            routes.add((m.lower(), path))
    return routes


class OpenApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.doc = read("docs", "openapi.yaml")

    def documented_routes(self):
        routes = set()
        for path in child_keys(self.doc, ["paths"]):
            for method in child_keys(self.doc, ["paths", path]):
                if method in METHODS:
                    routes.add((method, path))
        return routes

    def schema_properties(self, name):
        return set(child_keys(self.doc, ["components", "schemas", name, "properties"]))

    def test_openapi_version(self):
        self.assertRegex(self.doc, r"(?m)^openapi: 3\.0\.\d+\s*$")

    def test_every_route_of_the_header_is_documented(self):
        code = header_routes()
        self.assertGreaterEqual(len(code), 15, "could not read the route list of src/api/api.h")
        missing = sorted(code - self.documented_routes())
        self.assertEqual(missing, [], "routes in src/api/api.h missing from docs/openapi.yaml")

    def test_no_documented_route_is_unknown_to_the_header(self):
        extra = sorted(self.documented_routes() - header_routes())
        self.assertEqual(extra, [], "docs/openapi.yaml describes routes src/api/api.h does not list")

    def test_usage_record_fields(self):
        src = read("src", "api", "usage_json.cc")
        fields = set(re.findall(r'key == "([a-z_]+)"', src))
        self.assertIn("bytes_down", fields)
        self.assertEqual(self.schema_properties("UsageRecord"), fields)

    def test_request_body_fields(self):
        src = read("src", "api", "api.cc")
        bodies = [set(re.findall(r'"([a-z_]+)"', b))
                  for b in re.findall(r"CheckFields\(body,\s*\{([^}]*)\}", src)]
        self.assertEqual(len(bodies), 4, "expected the CheckFields of lines, topups, alerts, pools")
        by_schema = {}
        for fields in bodies:
            if "msisdn" in fields:
                by_schema["LineSpec"] = fields
            elif "validity" in fields:
                by_schema["TopUpRequest"] = fields
            elif "thresholds" in fields:
                by_schema["AlertsRequest"] = fields
            else:
                by_schema["PoolSpec"] = fields
        self.assertEqual(len(by_schema), 4, by_schema)
        for schema, fields in by_schema.items():
            with self.subTest(schema=schema):
                self.assertEqual(self.schema_properties(schema), fields)

    def test_auth_request_body_fields(self):
        src = read("src", "api", "auth_routes.cc")
        bodies = [set(re.findall(r'"([a-z_]+)"', b))
                  for b in re.findall(r"CheckFields\(body,\s*\{([^}]*)\}", src)]
        self.assertEqual(len(bodies), 6,
                         "expected the CheckFields of login, link, sms-code, sms-login, PUT /v1/me, "
                         "PUT /v1/accounts")
        by_schema = {}
        for fields in bodies:
            if fields == {"msisdn"}:
                by_schema["SmsCodeRequest"] = fields
            elif fields == {"msisdn", "code"}:
                by_schema["SmsLoginRequest"] = fields
            elif "current_password" in fields:
                by_schema["MeUpdate"] = fields
            elif "account" in fields:
                by_schema["LoginRequest"] = fields
            elif fields == {"token"}:
                by_schema["LoginLinkRequest"] = fields
            else:
                by_schema["AccountSpec"] = fields
        self.assertEqual(len(by_schema), 6, by_schema)
        for schema, fields in by_schema.items():
            with self.subTest(schema=schema):
                self.assertEqual(self.schema_properties(schema), fields)

    def test_session_cookie_and_csrf_header(self):
        src = read("src", "api", "auth_routes.cc")
        cookie = re.search(r'kCookieName = "([^"]+)"', src)
        self.assertIsNotNone(cookie, "kCookieName not found in src/api/auth_routes.cc")
        scheme = child_keys(self.doc, ["components", "securitySchemes", "sessionCookie"])
        self.assertEqual(scheme[:3], ["type", "in", "name"], scheme)
        block = self.doc.split("\n    sessionCookie:\n", 1)[1].split("\n  parameters:\n", 1)[0]
        self.assertIn("in: cookie", block)
        self.assertIn("name: " + cookie.group(1), block)
        self.assertIn('Header("x-csrf-token")', src)
        self.assertIn("X-CSRF-Token", block)
        self.assertIn("- sessionCookie: []", self.doc)

    def test_event_types(self):
        src = read("src", "core", "event.cc")
        names = re.findall(r'"([a-z_]+)"', src.split("kNames", 1)[1].split("};", 1)[0])
        self.assertEqual(len(names), 10, names)
        m = re.search(r"(?m)^    EventType:\n(?:      .*\n)*?      enum: \[([^\]]*)\]", self.doc)
        self.assertIsNotNone(m, "EventType schema with an enum not found")
        self.assertEqual([n.strip() for n in m.group(1).split(",")], names)
        for name in names:
            schema = name.capitalize() + "Event"
            with self.subTest(event=name):
                self.assertIn(schema, child_keys(self.doc, ["components", "schemas"]))

    def test_error_codes(self):
        codes = set(re.findall(r'return "([a-z_]+)";', read("src", "core", "status.cc")))
        codes.discard("ok")
        codes.discard("unknown")
        http = (read("src", "api", "http_server.cc") + read("src", "api", "api.cc") +
                read("src", "api", "auth_routes.cc") + read("src", "api", "route_util.cc") +
                read("src", "api", "sms_routes.cc"))
        codes |= set(re.findall(r'\b\d{3},\s*"([a-z_]+)"', http))
        codes |= set(re.findall(r'\bDenied\("([a-z_]+)"', http))  # auth_routes.cc: 403s
        self.assertIn("csrf", codes)
        self.assertIn("too_many_requests", codes)
        self.assertIn("payload_too_large", codes)
        self.assertIn("method_not_allowed", codes)
        error_block = self.doc.split("\n    Error:\n", 1)[1].split("\n    Health:\n", 1)[0]
        documented = set(re.findall(r"(?m)^ +- ([a-z_]+)$", error_block))
        self.assertEqual(sorted(codes - documented), [], "error codes missing from Error.code")

    def test_metric_names(self):
        src = read("src", "api", "api.cc") + read("src", "notify", "webhook.cc")
        names = set(re.findall(r'"(ryuryo_[a-z_]+?)(?:_bucket|_sum|_count)?[ "{]', src))
        self.assertGreaterEqual(len(names), 10, names)
        missing = sorted(n for n in names if "`" + n + "`" not in self.doc)
        self.assertEqual(missing, [], "metrics missing from the /metrics description")

    def test_webhook_headers(self):
        for header in ("X-Ryuryo-Event-Id", "X-Ryuryo-Signature"):
            self.assertIn(header, read("src", "notify", "webhook.cc"))
            self.assertIn("name: " + header, self.doc)


if __name__ == "__main__":
    unittest.main()

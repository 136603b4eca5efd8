"""End-to-end tests of the dashboard's SMS pages (web/js/views/login.js, alerts.js) in real
headless Chromium, like tests/test_dashboard.py (same browser setup: tests/browser/lib.mjs).

Kannel, the real SMS gateway (bearerbox + smsbox with Kannel's fake SMSC, tests/kannel.py), and
three servers:
- one with `[sms] send_url` pointing at Kannel's sendsms: the SMS it sends go through Kannel to
  the fake SMSC, and a thread of this file collects what the fake SMSC receives (fakesmsc's
  output) and serves it as JSON, where the browser test reads the sign-in code;
- one whose `[sms] send_url` points at a closed loopback port: a gateway that cannot be
  reached, so ryuryo cannot send the SMS and answers 503;
- one without SMS at all.
tests/browser/sms.test.mjs then checks:

- the sign-in page offers "Sign in with a code by SMS" (mobile, 360 px, no horizontal overflow);
- a number the gateway cannot text (the server whose gateway is unreachable): the page says the
  SMS could not be sent (503);
- a number no account has: the same code step as any other (202), and a wrong code is refused;
- a line's number: the code texted to it, as Kannel's fake SMSC received it, signs its
  subscriber in;
- alerts: an SMS channel added with quiet hours 22:00-07:00 is saved without a `to` (the line's
  own number), and the page shows those hours after a reload; "none" is saved as "off";
- STOP texted to the service: the alerts page says alert SMS are off until START;
- without SMS on the server: the sign-in page stops offering it and says so (404), and an SMS
  channel is refused with a clear message (400);
- no script errors; nothing requested from anywhere but the server.
Ken's number is a line of the Kannel-backed server too: no SMS to it may reach the fake SMSC
(the failing sign-in went to the other server).

A missing chromium, node, playwright-core or Kannel FAILS the test (scripts/install-deps.sh
installs them): it is never skipped.
"""
import http.server
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser_run  # noqa: E402
import harness  # noqa: E402
import kannel  # noqa: E402

BROWSER_TIMEOUT_S = 180
KANNEL_TOKEN = "dashboard-sms-token-0123456789"
SERVICE = "5555"  # the service's number: the sender of the SMS, where STOP is texted

# Mika signs in with a code; Ken's number is tried on the server that cannot reach its gateway;
# nobody has UNKNOWN.
MIKA = {"account": "visitor-mika", "password": "mika-e2e-password", "line": "mika-travel",
        "typed": "070-5555-0101", "e164": "+817055550101"}
KEN = {"typed": "+81 80 5555 0202", "e164": "+818055550202"}
UNKNOWN = "090-0000-1111"
PLAIN = {"account": "plain-sato", "password": "sato-e2e-password", "line": "sato-plain"}

PLANS = """
[[plans]]
id = "travel-8d-3gb"
name = "Japan Travel SIM 8 days 3 GB"
kind = "pass"
quota = "3 GB"
validity = "8d"
starts = "first_use"
after_quota = { action = "throttle", rate = "128 kbps" }
alerts = ["80%", "100%"]
timezone = "Asia/Tokyo"
"""

# [server] and [sms] of both servers that send SMS (sms_config fills the fields in).
SMS_HEADER = """
[server]
http = "127.0.0.1:8080"
data_dir = "data"

[sms]
send_url = "{send_url}"
send_username = "{send_username}"
send_password = "{send_password}"
sender = "{sender}"
kannel_token = "{token}"
quiet_hours = "off"
"""

SMS_CONFIG = SMS_HEADER + PLANS + """
[[lines]]
id = "mika-travel"
plan = "travel-8d-3gb"
account = "visitor-mika"
msisdn = "+81 70-5555-0101"
locale = "en"

[[lines]]
id = "ken-travel"
plan = "travel-8d-3gb"
account = "ken"
msisdn = "+81 80-5555-0202"
locale = "en"

[[accounts]]
id = "visitor-mika"
name = "Mika Tanaka"
locale = "en"
password = "mika-e2e-password"

[[accounts]]
id = "ken"
name = "Ken"
locale = "en"
password = "ken-e2e-password"
"""

# The same SMS settings, but send_url is a loopback port nothing listens on.
DOWN_CONFIG = SMS_HEADER + PLANS + """
[[lines]]
id = "ken-travel"
plan = "travel-8d-3gb"
account = "ken"
msisdn = "+81 80-5555-0202"
locale = "en"

[[accounts]]
id = "ken"
name = "Ken"
locale = "en"
password = "ken-e2e-password"
"""

PLAIN_CONFIG = """
[server]
http = "127.0.0.1:8080"
data_dir = "data"
""" + PLANS + """
[[lines]]
id = "sato-plain"
plan = "travel-8d-3gb"
account = "plain-sato"
msisdn = "+81 90-5555-0303"
locale = "en"

[[accounts]]
id = "plain-sato"
name = "Sato"
locale = "en"
password = "sato-e2e-password"
"""


def sms_config(template, send_url):
    values = {"send_url": send_url, "send_username": kannel.SENDSMS_USER,
              "send_password": kannel.SENDSMS_PASSWORD, "sender": SERVICE, "token": KANNEL_TOKEN}
    for k, v in values.items():
        template = template.replace("{" + k + "}", v)
    return template


def closed_port():
    """A loopback port nothing listens on (bound, read, closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fakesmsc_pids(smsc_port):
    """Processes running fakesmsc against this Kannel's fake SMSC port."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if kannel.FAKESMSC in args and "-r" in args and str(smsc_port) in args:
            pids.append(int(pid))
    return pids


class SmscOutput:
    """What Kannel's fake SMSC receives, collected while the test runs: a thread keeps a fakesmsc
    connected (kannel.Kannel.receive) and appends every SMS as it arrives; GET /sent on a local
    HTTP server lists them as JSON [{from, to, text}] (the browser test reads the sign-in code
    from it). It exposes the SMSC's output only: the SMS themselves go through Kannel."""

    RECEIVE_S = 600  # one fakesmsc connection for the whole run, normally

    def __init__(self, k):
        self.kannel = k
        self.sent = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._collect, daemon=True)
        out = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/sent":
                    return self.answer(404, b"not found", "text/plain")
                return self.answer(200, json.dumps(out.messages()).encode(), "application/json")

            def answer(self, status, body, ctype):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http_thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/sent"

    def start(self):
        self.thread.start()
        self.http_thread.start()
        return self

    def messages(self):
        with self.lock:
            return list(self.sent)

    def _collect(self):
        while not self.stopping.is_set():
            seen = 0

            def publish(got):
                nonlocal seen
                with self.lock:
                    self.sent.extend({"from": f, "to": t, "text": x} for f, t, x in got[seen:])
                seen = len(got)
                return self.stopping.is_set()

            t0 = time.time()
            got = self.kannel.receive(self.RECEIVE_S, until=publish)
            publish(got)
            if time.time() - t0 < 1:  # fakesmsc could not connect (yet): not a busy loop
                self.stopping.wait(0.2)

    def stop(self, deadline_s=15):
        """Stops the collecting thread: called once Kannel has stopped, so that its fakesmsc
        sees the connection close and ends. Returns what still runs (nothing, normally)."""
        self.stopping.set()
        self.http.shutdown()
        self.http.server_close()
        if self.thread.is_alive():
            self.thread.join(deadline_s)
        left = []
        if self.thread.is_alive():
            left.append("the thread collecting the fake SMSC's output")
        pids = fakesmsc_pids(self.kannel.smsc)
        if pids:
            left.append(f"fakesmsc (pids {pids})")
        return left


class DashboardSmsTest(unittest.TestCase):
    report = None

    @classmethod
    def setUpClass(cls):
        missing = browser_run.missing()
        if not kannel.installed() or not os.access(kannel.SMSBOX, os.X_OK):
            missing.append(f"{kannel.BEARERBOX}, {kannel.SMSBOX} and {kannel.FAKESMSC} "
                           "(Debian packages kannel, kannel-extras)")
        if missing:
            raise AssertionError("the dashboard's browser tests need " + ", ".join(missing)
                                 + ": run scripts/install-deps.sh")
        cls.artifacts = tempfile.mkdtemp(prefix="ryuryo-dashboard-sms-")
        print(f"\ndashboard SMS screenshots: {cls.artifacts}", flush=True)
        cls.kannel = kannel.Kannel()  # its ports first: the server's send_url is sendsms
        cls.smsc = None
        cls.srv = harness.Server(config_text=sms_config(SMS_CONFIG, cls.kannel.sendsms_url))
        down_url = f"http://127.0.0.1:{closed_port()}/cgi-bin/sendsms"
        cls.down = harness.Server(config_text=sms_config(DOWN_CONFIG, down_url))
        cls.plain = harness.Server(config_text=PLAIN_CONFIG)
        try:
            cls.srv.start()
            cls.down.start()
            cls.plain.start()
            cls.kannel.start(cls.srv.url + "/v1/sms/kannel?from=%p&to=%P&text=%a&token="
                             + KANNEL_TOKEN)
            cls.smsc = SmscOutput(cls.kannel).start()
            cls.run_browser(cls.smsc.url)
        except BaseException:
            left = cls.clean_up()
            if left:
                print("still running after the clean-up: " + ", ".join(left), flush=True)
            raise

    @classmethod
    def clean_up(cls):
        """Stops everything this class started; returns what is still running (nothing)."""
        cls.kannel.stop()  # by PID; the fakesmsc of SmscOutput sees the connection close
        left = cls.smsc.stop() if cls.smsc else []
        if cls.kannel.dir:
            shutil.rmtree(cls.kannel.dir, ignore_errors=True)
        cls.srv.cleanup()
        cls.down.cleanup()
        cls.plain.cleanup()
        browser_run.keep_screenshots(cls.artifacts)
        return left

    @classmethod
    def tearDownClass(cls):
        left = cls.clean_up()
        if left:
            raise AssertionError("still running after the test: " + ", ".join(left))

    @classmethod
    def run_browser(cls, sent_url):
        spec = {
            "url": cls.srv.url,
            "token": cls.srv.token,
            "failUrl": cls.down.url,
            "plainUrl": cls.plain.url,
            "plainToken": cls.plain.token,
            "artifacts": cls.artifacts,
            "sent": sent_url,
            "kannelToken": KANNEL_TOKEN,
            "mika": MIKA,
            "ken": KEN,
            "unknown": UNKNOWN,
            "plain": PLAIN,
        }
        cls.report, cls.output = browser_run.run(
            "sms.test.mjs", spec, cls.srv.tmp, BROWSER_TIMEOUT_S,
            lambda: (f"server log:\n{cls.srv.read_log()[-3000:]}\n"
                     f"Kannel:\n{cls.kannel.log()}"))

    def result(self, prefix):
        browser_run.check(self, self.report, self.output, prefix)

    def test_1_sign_in_page_offers_sms(self):
        self.result("sms 1 ")

    def test_2_gateway_failure(self):
        self.result("sms 2 ")

    def test_3_unknown_number_and_wrong_code(self):
        self.result("sms 3 ")

    def test_4_code_signs_in(self):
        self.result("sms 4 ")
        sent = self.smsc.messages()  # what Kannel's fake SMSC received
        texts = [m for m in sent if m["to"] == MIKA["e164"]]
        self.assertEqual(len(texts), 1, sent)
        self.assertEqual(texts[0]["from"], SERVICE, sent)
        self.assertIn("sign-in code", texts[0]["text"], sent)
        self.assertFalse([m for m in sent if m["to"] == KEN["e164"]], sent)

    def test_5_sms_channel_quiet_hours(self):
        self.result("sms 5 ")
        a = self.srv.get(f"/v1/lines/{MIKA['line']}/alerts").json()
        sms = [c for c in a["channels"] if c["type"] == "sms"]
        self.assertEqual([(c["to"], c["quiet_hours"]) for c in sms], [(MIKA["e164"], "off")], a)

    def test_6_stop_notice(self):
        self.result("sms 6 ")

    def test_7_server_without_sms(self):
        self.result("sms 7 ")

    def test_8_mobile_layout(self):
        self.result("sms 8 ")

    def test_no_script_errors_or_outside_requests(self):
        self.result("no script errors")

    def test_all_checks_ran_and_screenshots_exist(self):
        names = [r["name"] for r in self.report["results"]]
        self.assertEqual(len(names), 9, names)
        for name in ["login-sms", "login-sms-code", "alerts-sms"]:
            path = os.path.join(self.artifacts, name + ".png")
            self.assertTrue(os.path.exists(path), f"no screenshot {path}")


if __name__ == "__main__":
    unittest.main()

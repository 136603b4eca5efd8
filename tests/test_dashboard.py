"""End-to-end tests of the web dashboard (web/) in real headless Chromium.

The server is the real binary (harness.Server); the browser is Debian's /usr/bin/chromium driven
by playwright-core from the repository's node_modules (package.json; `npm ci` by
scripts/install-deps.sh and the CMake configure step). This file is the orchestrator: it
provisions a travel SIM with four days of usage by app and device (YouTube, Google Maps, LINE,
Instagram, some traffic no app explains, a phone and a tethered laptop), another account's line
and two more, then runs tests/browser/dashboard.test.mjs, which signs in and checks the pages
(see that file). Each scenario below is one test: its failure message is the browser's.

- sign-in with account and password: the card shows remaining / used / quota exactly as the UI
  formats GET /v1/lines/{id}/usage (and the same bytes, parsed back), dates in the line's zone;
  usage per app and per device (unattributed shown as such);
- live: usage POSTed through the admin API while the page is open changes the numbers without
  a reload (server-sent events);
- alerts: a "1500 MB left" threshold added in the alert settings, then usage that crosses it:
  the alert shows on the page and GET /v1/events has it; a page opened afterwards lists it
  (GET /v1/lines/{id}/events as the subscriber: the line's alerts of the event log, newest first);
- language: 日本語 and 中文 change the words and the number / date formats, persist on reload
  and in the account;
- another account's line: 404 exactly like a missing line from the page's session, its URLs lead
  nowhere, nothing of it in the DOM;
- password: changed on the privacy page; a wrong current password is refused with a message; the
  page's session goes on, the account's other session ends; the old password no longer signs
  in, the new one does;
- a lone line card takes the whole row on a wide screen;
- operator: admin-token sign-in, lines list (sort, search), a line's detail and audit trail;
- mobile: no horizontal overflow at 360 px (and 390 px);
- no script errors; nothing requested from anywhere but the server.

Screenshots (PNG) of the main views go to an artifact directory printed at the start (and are
copied to $RYURYO_ARTIFACTS/dashboard when that is set, and to docs/screenshots/ when
RYURYO_UPDATE_SCREENSHOTS=1).

A missing chromium, node or playwright-core FAILS the test (install them with
scripts/install-deps.sh): it is never skipped.
"""
import os
import random
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser_run  # noqa: E402
import harness  # noqa: E402
from harness import record  # noqa: E402

HOUR = 3600
DAY = 86400
JST = 9 * HOUR
NOW = int(time.time())
MB = 10**6

BROWSER_TIMEOUT_S = 240

# The subscriber: Anna, on the travel pass; and Bob, whose line she must never see.
ANNA = {"account": "visitor-anna", "password": "anna-e2e-password", "name": "Anna Lindqvist",
        "line": "anna-travel"}
BOB_LINE = "bob-mvno"
BOB_SECRETS = [BOB_LINE, "Bob Secretname", "819022220002", "440102222000002", "7654321",
               "7.65 MB", "bobapp", "bobdevice"]

CONFIG = """
[server]
http = "127.0.0.1:8080"
data_dir = "data"

[[plans]]
id = "travel-8d-3gb"
name = "Japan Travel SIM 8 days 3 GB"
kind = "pass"
quota = "3 GB"
validity = "8d"
starts = "first_use"
after_quota = { action = "throttle", rate = "128 kbps" }
alerts = ["50%", "80%", "100%", "200 MB left"]
timezone = "Asia/Tokyo"

[[plans]]
id = "mvno-20gb"
name = "MVNO 20 GB monthly (rollover)"
kind = "monthly"
quota = "20 GB"
cycle_day = 1
rollover = true
after_quota = { action = "throttle", rate = "300 kbps" }
alerts = ["50%", "80%", "1 GB left", "pace"]

[[plans]]
id = "daily-1gb"
name = "Daily 1 GB"
kind = "daily"
quota = "1 GB"
after_quota = { action = "throttle", rate = "200 kbps" }
alerts = ["80%", "100%"]

[[lines]]
id = "anna-travel"
plan = "travel-8d-3gb"
account = "visitor-anna"
msisdn = "+81 70-1234-0001"
imsi = "440101234500001"
locale = "en"

[[lines]]
id = "bob-mvno"
plan = "mvno-20gb"
account = "bob"
msisdn = "+81 90-2222-0002"
imsi = "440102222000002"
locale = "en"

[[lines]]
id = "sato-mvno"
plan = "mvno-20gb"
account = "sato"
msisdn = "+81 90-1234-0003"
locale = "ja"

[[lines]]
id = "li-daily"
plan = "daily-1gb"
account = "visitor-li"
msisdn = "+81 70-1234-0002"
locale = "zh"

[[accounts]]
id = "visitor-anna"
name = "Anna Lindqvist"
locale = "en"
password = "anna-e2e-password"
collect_apps = true

[[accounts]]
id = "bob"
name = "Bob Secretname"
locale = "en"
password = "bob-e2e-password"
collect_apps = true

[[accounts]]
id = "sato"
name = "佐藤"
locale = "ja"
password = "sato-e2e-password"
collect_apps = true

[[accounts]]
id = "visitor-li"
name = "李明"
locale = "zh"
password = "li-e2e-password"
collect_apps = true
"""

# (app, device, share of an hour's bytes): what a visitor's phone and laptop do on a trip.
APPS = [("youtube", "iPhone 15", 0.42), ("google-maps", "iPhone 15", 0.16),
        ("line", "iPhone 15", 0.12), ("instagram", "iPhone 15", 0.18),
        (None, "MacBook Air", 0.07), ("youtube", "MacBook Air", 0.05)]


def anna_history(total=1420 * MB):
    """Four days of daytime usage (08-23 JST), hourly records by app and device, `total` bytes."""
    rng = random.Random(20261127)
    start = (NOW - 4 * DAY) // HOUR * HOUR
    raw = []
    t = start
    while t + HOUR <= NOW - HOUR:
        jst_hour = ((t + JST) // HOUR) % 24
        if 8 <= jst_hour <= 23:
            weight = rng.uniform(4, 30) * (1.6 if jst_hour in (12, 20, 21) else 1)
            for app, device, share in APPS:
                if rng.random() < 0.75:
                    raw.append((t, app, device, weight * share * rng.uniform(0.7, 1.3)))
        t += HOUR
    scale = total / sum(w for *_, w in raw)
    records = []
    for n, (t, app, device, w) in enumerate(raw, 1):
        size = int(w * scale) if n < len(raw) else total - sum(
            r["bytes_up"] + r["bytes_down"] for r in records)
        extra = {"device": device, "source": "pgw-tokyo-1", "id": f"anna-{n}"}
        if app:
            extra["app"] = app
        records.append(record(ANNA["line"], size // 20, size - size // 20, t, t + HOUR - 60,
                              **extra))
    return records


def totals(records, key):
    out = {}
    for r in records:
        name = r.get(key) or ""
        out[name] = out.get(name, 0) + r["bytes_up"] + r["bytes_down"]
    return out


class DashboardTest(unittest.TestCase):
    report = None

    @classmethod
    def setUpClass(cls):
        missing = browser_run.missing()
        if missing:
            raise AssertionError("the dashboard's browser tests need " + ", ".join(missing)
                                 + ": run scripts/install-deps.sh")
        cls.artifacts = tempfile.mkdtemp(prefix="ryuryo-dashboard-")
        print(f"\ndashboard screenshots: {cls.artifacts}", flush=True)
        cls.srv = harness.Server(config_text=CONFIG)
        cls.srv.start()
        try:
            cls.provision()
            cls.run_browser()
        except BaseException:
            # unittest does not call tearDownClass after a failed setUpClass.
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()
        browser_run.keep_screenshots(cls.artifacts, cls.report,
                                     os.environ.get("RYURYO_UPDATE_SCREENSHOTS") == "1")

    @classmethod
    def must(cls, resp, *ok):
        if resp.status not in ok:
            raise AssertionError(f"setup: HTTP {resp.status}: {resp.body}")
        return resp.json() if resp.body else None

    @classmethod
    def post(cls, records):
        for i in range(0, len(records), 1000):
            chunk = records[i:i + 1000]
            j = cls.must(cls.srv.post("/v1/usage", chunk), 200)
            if j["accepted"] != len(chunk):
                raise AssertionError(f"setup: not all accepted: {j}")

    @classmethod
    def provision(cls):
        cls.anna_records = anna_history()
        cls.post(cls.anna_records)
        t0, t1 = NOW - 3 * HOUR, NOW - 2 * HOUR
        cls.post([
            record(BOB_LINE, 0, 7654321, t0, t1, id="bob-1", app="bobapp", device="bobdevice"),
            record("sato-mvno", 120 * MB, 2300 * MB, t0 - DAY, t1 - DAY, id="sato-1", app="youtube",
                   device="Pixel 8"),
            record("sato-mvno", 20 * MB, 640 * MB, t0, t1, id="sato-2", app="netflix",
                   device="Pixel 8"),
            record("li-daily", 8 * MB, 410 * MB, t0, t1, id="li-1", app="wechat",
                   device="Xiaomi 14"),
        ])
        u = cls.must(cls.srv.get(f"/v1/lines/{ANNA['line']}/usage"), 200)
        used = sum(r["bytes_up"] + r["bytes_down"] for r in cls.anna_records)
        if u["used"] != used or u["cycle"] is None:
            raise AssertionError(f"setup: Anna's usage is {u}, expected {used} bytes in a "
                                 "started pass")
        cls.used0 = used
        # Live: 45 MB of YouTube now (remaining 1.58 GB -> 1.535 GB); then 70 MB of Google Maps
        # that cross "1500 MB left", the threshold the browser adds (and the plan's 50%).
        cls.live = [record(ANNA["line"], 2 * MB, 43 * MB, NOW - 25 * 60, NOW - 60, id="anna-live-1",
                           app="youtube", device="iPhone 15")]
        remaining_after_live = 3000 * MB - used - 45 * MB
        crossing = remaining_after_live - 1500 * MB + 35 * MB
        if remaining_after_live <= 1510 * MB:
            raise AssertionError(f"setup: the history left {remaining_after_live} bytes: adjust it")
        cls.alert_records = [record(ANNA["line"], crossing // 25, crossing - crossing // 25,
                                    NOW - 30 * 60, NOW - 30, id="anna-alert-1", app="google-maps",
                                    device="iPhone 15")]

    @classmethod
    def run_browser(cls):
        apps = totals(cls.anna_records, "app")
        devices = totals(cls.anna_records, "device")
        spec = {
            "url": cls.srv.url,
            "token": cls.srv.token,
            "artifacts": cls.artifacts,
            "subscriber": dict(ANNA, expect={"used": cls.used0, "apps": apps, "devices": devices}),
            "other": {"line": BOB_LINE, "secrets": BOB_SECRETS},
            "live": {"records": cls.live,
                     "bytes": sum(r["bytes_up"] + r["bytes_down"] for r in cls.live)},
            "alert": {"amount": 1500, "unit": "MB", "bytes": 1500 * MB,
                      "before": ["50%", "80%", "100%", "200 MB left"],
                      "records": cls.alert_records},
            "password": {"next": "anna-new-password-2026", "wrong": "not-annas-password"},
            "operator": {"lines": ["anna-travel", "bob-mvno", "sato-mvno", "li-daily"],
                         "search": "anna", "searchExpect": ["anna-travel"],
                         "detailLine": ANNA["line"]},
        }
        cls.report, cls.output = browser_run.run(
            "dashboard.test.mjs", spec, cls.srv.tmp, BROWSER_TIMEOUT_S,
            lambda: "server log:\n" + cls.srv.read_log()[-3000:])

    def result(self, prefix):
        browser_run.check(self, self.report, self.output, prefix)

    def test_1_sign_in_shows_the_api_numbers(self):
        self.result("1 sign-in")

    def test_1b_usage_by_app_and_device(self):
        self.result("1b usage per app")

    def test_2_live_update_without_reload(self):
        self.result("2 live")

    def test_3_alert_set_in_the_page_fires(self):
        self.result("3 alerts")
        events = self.srv.get("/v1/events?after=0&limit=1000").json()["events"]
        fired = [e["threshold"] for e in events
                 if e["type"] == "threshold" and e["line"] == ANNA["line"]]
        # Added in the page as 1500 MB; the server spells it its own way.
        self.assertTrue({"1500 MB left", "1.5 GB left"} & set(fired), fired)

    def test_3b_alerts_raised_before_the_page_opened(self):
        self.result("3b recent alerts")

    def test_4_language_switch(self):
        self.result("4 language")

    def test_5_another_accounts_line_is_not_found(self):
        self.result("5 another account")

    def test_6_operator_pages(self):
        self.result("6 operator")

    def test_7_mobile_layout(self):
        self.result("login page (390 px)")
        self.result("7 mobile")
        self.result("operator pages")

    def test_privacy_page(self):
        self.result("privacy page")

    def test_8_password_change(self):
        self.result("8 password")

    def test_no_script_errors_or_outside_requests(self):
        self.result("no script errors")

    def test_all_checks_ran_and_screenshots_exist(self):
        names = [r["name"] for r in self.report["results"]]
        self.assertEqual(len(names), 14, names)
        want = ["login", "dashboard-mobile", "dashboard-desktop", "dashboard-ja", "alerts",
                "privacy", "operator-lines", "operator-line", "operator-audit"]
        for name in want:
            path = os.path.join(self.artifacts, name + ".png")
            self.assertTrue(os.path.exists(path), f"no screenshot {path}")
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", path)

    def test_usage_after_the_run(self):
        u = self.srv.get(f"/v1/lines/{ANNA['line']}/usage").json()
        posted = sum(r["bytes_up"] + r["bytes_down"] for r in self.live + self.alert_records)
        self.assertEqual(u["used"], self.used0 + posted)


if __name__ == "__main__":
    unittest.main()

"""Outgoing SMS through the real Kannel gateway: alert SMS (src/notify/sms_alerts.*) and sign-in
codes by SMS (POST /v1/auth/sms-code, /v1/auth/sms-login).

Kannel's ports are picked first, so that ryuryo starts with [sms] send_url pointing at smsbox's
sendsms; then bearerbox and smsbox start (tests/kannel.py), and Kannel's fake SMSC receives what
ryuryo sends. The server's own quiet hours are "off" so that the time of day the test runs at
does not matter; quiet hours are tested with a channel's own window around the current minute.

Checks:
- a threshold crossing on a line produces an SMS at the fake SMSC, to the line's number, from the
  configured sender, in the line's language, naming the threshold;
- quiet hours (a channel's window, the line's local time) hold the SMS back (counted in
  ryuryo_sms_outbox_quiet) and it arrives once the window has ended;
- STOP texted to the service silences the line's alert SMS (dropped, reason "stopped");
- the daily cap per line: alerts past it are dropped (reason "capped");
- a sign-in code texted to the line's number signs in its account's subscriber once; a wrong code
  is 401; a number nobody has gets the same 202 and no SMS; a subscriber may not send alert SMS
  to another number.
No timing assertions beyond generous deadlines for things to arrive.
"""
import datetime
import json
import os
import re
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import kannel  # noqa: E402
from harness import record  # noqa: E402

TOKEN = "kannel-shared-token-0123456789"
SERVICE = "5555"
MB = 10**6
JA = "819011112222"
EN = "819033334444"
ZH = "8613800138000"
CAP = "819055556666"
TOKYO = datetime.timezone(datetime.timedelta(hours=9))


def config(sendsms_url):
    return f"""
[sms]
kannel_token = "{TOKEN}"
send_url = "{sendsms_url}"
send_username = "{kannel.SENDSMS_USER}"
send_password = "{kannel.SENDSMS_PASSWORD}"
sender = "{SERVICE}"
alerts = "all_lines"
quiet_hours = "off"
daily_max_per_line = 2

[[plans]]
id = "m1g"
kind = "monthly"
quota = "1 GB"
cycle_day = 1
timezone = "Asia/Tokyo"
alerts = ["10%", "20%", "30%", "50%"]

[[accounts]]
id = "anna"
name = "Anna"

[[lines]]
id = "ja1"
plan = "m1g"
msisdn = "+{JA}"
locale = "ja"
account = "anna"

[[lines]]
id = "en1"
plan = "m1g"
msisdn = "+{EN}"
locale = "en"

[[lines]]
id = "zh1"
plan = "m1g"
msisdn = "+{ZH}"
locale = "zh"

[[lines]]
id = "cap1"
plan = "m1g"
msisdn = "+{CAP}"
locale = "en"
"""


def metric(server, name):
    body = urllib.request.urlopen(server.url + "/metrics", timeout=10).read().decode()
    m = re.search("^" + re.escape(name) + r" (\d+)$", body, re.M)
    return int(m.group(1)) if m else None


def post_json(url, body, headers=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


@unittest.skipUnless(kannel.installed(), "Kannel is not installed")
class OutgoingSmsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kannel = kannel.Kannel()
        cls.server = harness.Server(config_text=config(cls.kannel.sendsms_url)).start()
        try:
            cls.kannel.start(cls.server.url + "/v1/sms/kannel?from=%p&to=%P&text=%a&token=" +
                             TOKEN)
        except Exception:
            cls.tearDownClass()
            raise
        cls.record_id = 0

    @classmethod
    def tearDownClass(cls):
        cls.kannel.stop()
        cls.server.cleanup()

    def use(self, line, mb):
        OutgoingSmsTest.record_id += 1
        now = int(time.time())
        r = self.server.post("/v1/usage", [record(line, 0, mb * MB, now - 120, now - 60,
                                                  id=f"r{self.record_id}")])
        self.assertEqual(r.status, 200, r.body)

    def sms_to(self, number, wait_s=30, count=1):
        """The texts of SMS sent to `number` that reach the fake SMSC within `wait_s`."""
        to = lambda m: m[1].lstrip("+") == number  # noqa: E731
        got = self.kannel.receive(wait_s, until=lambda got: sum(map(to, got)) >= count)
        for frm, _, text in got:
            self.assertEqual(frm, SERVICE)
        return [text for m in got if to(m) for text in [m[2]]]

    def wait_metric(self, name, want, deadline_s=20):
        end = time.time() + deadline_s
        while time.time() < end:
            if metric(self.server, name) == want:
                return
            time.sleep(0.2)
        self.fail(f"{name} did not become {want}: {metric(self.server, name)}")

    def test_1_threshold_crossing_sends_an_sms(self):
        self.use("ja1", 120)  # 12% of 1 GB: the 10% alert
        texts = self.sms_to(JA)
        self.assertEqual(len(texts), 1, texts)
        self.assertIn("10%", texts[0])
        self.assertIn("[流量]", texts[0])
        self.assertIn("残り 880 MB", texts[0])
        self.assertIn("リセット", texts[0])

    def test_2_quiet_hours_delay_the_sms(self):
        # A window from this minute to the next one, in the line's zone (Asia/Tokyo); not so close
        # to its end that it passes before the alert is raised.
        now = datetime.datetime.now(TOKYO)
        if now.second > 40:
            time.sleep(61 - now.second)
            now = datetime.datetime.now(TOKYO)
        end = (now + datetime.timedelta(minutes=1)).replace(second=0, microsecond=0)
        window = f"{now:%H:%M}-{end:%H:%M}"
        r = self.server.put("/v1/lines/en1/alerts",
                            {"channels": [{"type": "sms", "quiet_hours": window}]})
        self.assertEqual(r.status, 200, r.body)
        channel = r.json()["channels"][0]
        self.assertEqual((channel["to"], channel["quiet_hours"]), ("+" + EN, window))
        self.use("en1", 150)
        self.wait_metric("ryuryo_sms_outbox_quiet", 1)
        if datetime.datetime.now(TOKYO) < end - datetime.timedelta(seconds=3):
            self.assertEqual(self.sms_to(EN, wait_s=2), [])
        texts = self.sms_to(EN, wait_s=120)
        self.assertGreaterEqual(datetime.datetime.now(TOKYO), end)
        self.assertEqual(len(texts), 1, texts)
        self.assertIn("10%", texts[0])
        self.assertIn("[ryuryo]", texts[0])
        self.assertIn("Reply STOP", texts[0])
        self.wait_metric("ryuryo_sms_outbox_quiet", 0)

    def test_3_stop_silences_alert_sms(self):
        reply = self.kannel.sms(ZH, SERVICE, "退订")
        self.assertIn("已停止", reply)
        before = metric(self.server, 'ryuryo_sms_alerts_dropped_total{reason="stopped"}')
        self.use("zh1", 110)
        self.wait_metric('ryuryo_sms_alerts_dropped_total{reason="stopped"}', before + 1)
        self.assertEqual(self.sms_to(ZH, wait_s=3), [])
        # START: the next alert comes again, in Chinese.
        self.assertIn("已恢复", self.kannel.sms(ZH, SERVICE, "开始"))
        self.use("zh1", 100)  # 21%: the 20% alert
        texts = self.sms_to(ZH)
        self.assertEqual(len(texts), 1, texts)
        self.assertIn("20%", texts[0])
        self.assertIn("剩余", texts[0])

    def test_4_daily_cap(self):
        before = metric(self.server, 'ryuryo_sms_alerts_dropped_total{reason="capped"}')
        self.use("cap1", 110)
        self.use("cap1", 100)
        self.use("cap1", 100)  # 31%: three alerts, a cap of two
        self.wait_metric('ryuryo_sms_alerts_dropped_total{reason="capped"}', before + 1)
        texts = self.sms_to(CAP, count=2)
        self.assertEqual(sorted(t for t in texts if "%" in t)[:2], sorted(texts))
        self.assertEqual(len(texts), 2, texts)

    def test_5_sign_in_with_a_code_by_sms(self):
        url = self.server.url
        origin = {"Origin": url}
        # The sign-in page is told that this server offers it.
        with urllib.request.urlopen(url + "/v1/auth/methods", timeout=10) as r:
            self.assertTrue(json.loads(r.read())["sms_code"])
        # The national form of the number; the answer says nothing of whose number it is.
        status, body, _ = post_json(url + "/v1/auth/sms-code", {"msisdn": "090-1111-2222"},
                                    origin)
        self.assertEqual(status, 202, body)
        texts = [t for t in self.sms_to(JA) if "ログインコード" in t]
        self.assertEqual(len(texts), 1, texts)
        code = re.search(r"\d{6}", texts[0]).group(0)
        wrong = "000000" if code != "000000" else "111111"
        status, body, _ = post_json(url + "/v1/auth/sms-login",
                                    {"msisdn": "+" + JA, "code": wrong}, origin)
        self.assertEqual(status, 401, body)
        status, body, headers = post_json(url + "/v1/auth/sms-login",
                                          {"msisdn": "+" + JA, "code": code}, origin)
        self.assertEqual(status, 200, body)
        csrf = json.loads(body)["csrf_token"]
        cookie = headers["Set-Cookie"].split(";")[0]
        me = self.server.get("/v1/me", token=False, headers={"Cookie": cookie})
        self.assertEqual(me.status, 200, me.body)
        self.assertEqual(me.json()["account"]["id"], "anna")
        # Used once.
        status, body, _ = post_json(url + "/v1/auth/sms-login",
                                    {"msisdn": "+" + JA, "code": code}, origin)
        self.assertEqual(status, 401, body)
        # The subscriber may have alert SMS on their own number, not on someone else's.
        session = {"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": url}
        r = self.server.put("/v1/lines/ja1/alerts",
                            {"channels": [{"type": "sms", "to": "+" + EN}]}, token=False,
                            headers=session)
        self.assertEqual(r.status, 400, r.body)
        self.assertIn("own number", r.body)
        r = self.server.put("/v1/lines/ja1/alerts",
                            {"channels": [{"type": "sms", "quiet_hours": "23:00-07:00"}]},
                            token=False, headers=session)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["channels"][0]["to"], "+" + JA)
        # A number nobody has: the same answer, and nothing is sent.
        status, body, _ = post_json(url + "/v1/auth/sms-code", {"msisdn": "+819077778888"},
                                    origin)
        self.assertEqual(status, 202, body)
        self.assertEqual(self.sms_to("819077778888", wait_s=3), [])
        status, body, _ = post_json(url + "/v1/auth/sms-code", {"msisdn": "not a number"},
                                    origin)
        self.assertEqual(status, 400, body)
        self.assertIn("msisdn", body)


if __name__ == "__main__":
    unittest.main()

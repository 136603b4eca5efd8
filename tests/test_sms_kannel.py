"""Incoming SMS through the real Kannel gateway (GET /v1/sms/kannel, src/api/sms_routes.cc).

Starts ryuryo with [sms] and three lines (ja, en, zh locales, with MSISDNs), then Kannel's
bearerbox and smsbox with a generated kannel.conf on free ports (sms-service get-url pointing at
ryuryo, omit-empty = true), and injects SMS with Kannel's fake SMSC (/usr/lib/kannel/test/fakesmsc,
under `timeout`), reading the replies it prints ("Got message N: <from to text REPLY>").

Checks: 残量 from a ja line, BALANCE from an en line, 余额 from a zh line, a full-width ＢＡＬＡＮＣＥ
carry the line's numbers; STOP then START flip "sms_alerts" of GET /v1/lines/{id}/alerts and
survive a restart; HELP; an unknown number gets the generic reply, then nothing once rate limited
(direct HTTP: an empty 200 body); a wrong token or an unlisted address is 403, no [sms] is 404.
Kannel's processes are killed by PID at the end. No timing assertions.

Skipped when Kannel is not installed (scripts/install-deps.sh installs kannel, kannel-extras).
"""
import os
import sys
import time
import unittest
import urllib.error
import urllib.parse
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
UNKNOWN = "819099990000"

CONFIG = f"""
[sms]
kannel_token = "{TOKEN}"
kannel_allow = ["192.0.2.1"]

[[plans]]
id = "m3g"
kind = "monthly"
quota = "3 GB"
cycle_day = 1
timezone = "Asia/Tokyo"

[[lines]]
id = "ja1"
plan = "m3g"
msisdn = "+{JA}"
locale = "ja"

[[lines]]
id = "en1"
plan = "m3g"
msisdn = "+{EN}"
locale = "en"

[[lines]]
id = "zh1"
plan = "m3g"
msisdn = "+{ZH}"
locale = "zh"
"""


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


@unittest.skipUnless(kannel.installed(), "Kannel is not installed")
class KannelSmsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(config_text=CONFIG).start()
        cls.kannel = kannel.Kannel()
        try:
            cls.kannel.start(cls.server.url + "/v1/sms/kannel?from=%p&to=%P&text=%a&token=" +
                             TOKEN)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.kannel.stop()
        cls.server.cleanup()

    def sms(self, sender, text, want_reply=True):
        return self.kannel.sms(sender, SERVICE, text, want_reply)

    def direct(self, sender, text, token=TOKEN):
        q = {"from": sender, "to": SERVICE, "text": text}
        if token is not None:
            q["token"] = token
        return http_get(self.server.url + "/v1/sms/kannel?" + urllib.parse.urlencode(q))

    @classmethod
    def use_data(cls):
        # 1.77 GB this cycle on ja1, 0.5 GB on en1, 2.4 GB on zh1, recorded just now.
        now = int(time.time())
        recs = [record("ja1", 70 * MB, 1700 * MB, now - 600, now - 300, id="j"),
                record("en1", 0, 500 * MB, now - 600, now - 300, id="e"),
                record("zh1", 0, 2400 * MB, now - 600, now - 300, id="z")]
        r = cls.server.post("/v1/usage", recs)
        assert r.status == 200 and r.json()["accepted"] == 3, r.body

    def test_1_balance_in_three_languages(self):
        self.use_data()
        reply = self.sms(JA, "残量")
        self.assertIn("残り 1.23 GB / 3 GB", reply)
        self.assertIn("にリセット", reply)
        reply = self.sms(EN, "BALANCE")
        self.assertIn("2.5 GB of 3 GB left", reply)
        self.assertIn("resets", reply)
        reply = self.sms(ZH, "余额")
        self.assertIn("剩余 600 MB / 3 GB", reply)
        self.assertIn("重置", reply)
        # Full-width letters, from the ja line: asked in English, so answered in English.
        reply = self.sms(JA, "ＢＡＬＡＮＣＥ")
        self.assertIn("1.23 GB of 3 GB left", reply)
        # The reset date is the line's next cycle start, in Asia/Tokyo.
        usage = self.server.get("/v1/lines/ja1/usage").json()
        end = usage["cycle"]["end"]  # "2026-12-01T00:00:00+09:00"
        self.assertIn(f"{end[5:7]}/{end[8:10]} {end[11:16]}", reply)
        # Other forms of the number are the same line (the national form, over HTTP).
        status, body, headers = self.direct("0" + JA[2:], "データ")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain"), headers)
        self.assertIn("残り 1.23 GB", body)

    def test_2_stop_then_start(self):
        self.assertTrue(self.server.get("/v1/lines/en1/alerts").json()["sms_alerts"])
        reply = self.sms(EN, "STOP")
        self.assertIn("off", reply)
        self.assertFalse(self.server.get("/v1/lines/en1/alerts").json()["sms_alerts"])
        self.assertTrue(self.server.get("/v1/lines/ja1/alerts").json()["sms_alerts"])
        reply = self.sms(EN, "start")
        self.assertIn("on", reply)
        self.assertTrue(self.server.get("/v1/lines/en1/alerts").json()["sms_alerts"])
        reply = self.sms(ZH, "退订")
        self.assertIn("已停止", reply)
        self.assertFalse(self.server.get("/v1/lines/zh1/alerts").json()["sms_alerts"])

    def test_3_help(self):
        self.assertIn("残量", self.sms(JA, "ヘルプ"))
        self.assertIn("BALANCE", self.sms(EN, "HELP"))
        self.assertIn("余额", self.sms(ZH, "帮助"))
        # Not a keyword: the help text too.
        self.assertIn("BALANCE", self.sms(EN, "what is my balance"))

    def test_4_unknown_number_is_rate_limited(self):
        self.assertIn("not registered", self.sms(UNKNOWN, "BALANCE"))
        # Two more replies (3 per hour), then nothing: an empty 200 body over HTTP...
        for _ in range(2):
            status, body, _ = self.direct(UNKNOWN, "BALANCE")
            self.assertEqual((status, "not registered" in body), (200, True), body)
        status, body, _ = self.direct(UNKNOWN, "BALANCE")
        self.assertEqual((status, body), (200, ""))
        # ...and Kannel sends no reply (omit-empty).
        self.assertIsNone(self.sms(UNKNOWN, "BALANCE", want_reply=False))
        # Another unknown number still gets its reply.
        status, body, _ = self.direct("+8190" + "12121212", "残量")
        self.assertEqual(status, 200)
        self.assertIn("登録されていません", body)

    def test_5_refused(self):
        status, body, _ = self.direct(JA, "残量", token="wrong-token-0123456789")
        self.assertEqual(status, 403, body)
        self.assertIn("permission_denied", body)
        status, body, _ = self.direct(JA, "残量", token=None)  # 127.0.0.1 is not listed
        self.assertEqual(status, 403, body)
        status, body, _ = self.direct("", "残量")
        self.assertEqual(status, 400, body)

    def test_6_flag_survives_restart(self):
        status, body, _ = self.direct(JA, "STOP")
        self.assertEqual(status, 200)
        self.assertIn("alert SMS are off", body)  # asked in English
        self.server.restart()
        self.assertFalse(self.server.get("/v1/lines/ja1/alerts").json()["sms_alerts"])
        self.assertTrue(self.server.get("/v1/lines/en1/alerts").json()["sms_alerts"])


class SmsConfigTest(unittest.TestCase):
    def test_allow_list_and_no_sms_section(self):
        allow = CONFIG.replace('kannel_allow = ["192.0.2.1"]', 'kannel_allow = ["127.0.0.1"]')
        with harness.Server(config_text=allow) as s:
            status, body, _ = http_get(s.url + "/v1/sms/kannel?from=%2B" + JA + "&text=%3F")
            self.assertEqual(status, 200, body)
            self.assertIn("残量", body)  # "?": the line's language
            status, _, _ = http_get(s.url + "/v1/sms/kannel?from=%2B" + JA + "&text=HELP&token=x")
            self.assertEqual(status, 200)  # the address suffices
        without = CONFIG.split("[[plans]]", 1)[1]
        with harness.Server(config_text="[[plans]]" + without) as s:
            status, body, _ = http_get(s.url + "/v1/sms/kannel?from=%2B" + JA + "&text=HELP")
            self.assertEqual(status, 404, body)
            self.assertFalse(s.get("/v1/lines/ja1/alerts").json()["sms_alerts"] is False)


if __name__ == "__main__":
    unittest.main()

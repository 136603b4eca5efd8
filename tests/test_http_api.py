"""End-to-end tests of every route of the HTTP API (src/api/api.h) against the real binary.

Runs one server with a small test catalog (passes that start at activation, and monthly plans whose
cycle day lies well away from today, so that no record of a test ever straddles a reset).
Timestamps are relative to the current time: records end between now-3h and now+5s.
"""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import record  # noqa: E402

HOUR = 3600
JST = 9 * HOUR


def jst(epoch_s):
    """An instant as the server prints it for an Asia/Tokyo line."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+09:00", time.gmtime(epoch_s + JST))


def jst_date(epoch_s):
    """(year, month, day) in Tokyo."""
    t = time.gmtime(epoch_s + JST)
    return t.tm_year, t.tm_mon, t.tm_mday


def jst_midnight(y, m, d):
    """The epoch second of local midnight of a Tokyo date (Tokyo has no DST)."""
    import calendar
    return calendar.timegm((y, m, d, 0, 0, 0)) - JST


def add_month(y, m, n):
    m0 = m - 1 + n
    return y + m0 // 12, m0 % 12 + 1


NOW = int(time.time())
# A cycle day 10 days back (at most 28 so that every month has it): the current cycle began
# 10..13 days ago and ends 15+ days from now, whatever today is.
CYCLE_DAY = min(jst_date(NOW - 10 * 86400)[2], 28)


def current_cycle(now=NOW, cycle_day=CYCLE_DAY):
    y, m, d = jst_date(now)
    start = jst_midnight(y, m, cycle_day)
    if start > now:
        py, pm = add_month(y, m, -1)
        start, end = jst_midnight(py, pm, cycle_day), start
    else:
        ny, nm = add_month(y, m, 1)
        end = jst_midnight(ny, nm, cycle_day)
    return start, end


CONFIG = f"""
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

[[plans]]
id = "t-pass"
name = "Test pass 1 GB 30 days"
kind = "pass"
quota = "1 GB"
validity = "30d"
starts = "activation"
after_quota = {{ action = "throttle", rate = "128 kbps" }}
timezone = "Asia/Tokyo"

[[plans]]
id = "t-throttle"
name = "Tiny throttle pass"
kind = "pass"
quota = "1 MB"
validity = "30d"
starts = "activation"
after_quota = {{ action = "throttle", rate = "128 kbps" }}
alerts = ["80%", "100%"]
timezone = "Asia/Tokyo"

[[plans]]
id = "t-block"
name = "Tiny block pass"
kind = "pass"
quota = "1 MB"
validity = "30d"
starts = "activation"
after_quota = {{ action = "block" }}
timezone = "Asia/Tokyo"

[[plans]]
id = "t-overage"
name = "Tiny overage monthly (JPY)"
kind = "monthly"
quota = "1 MB"
cycle_day = {CYCLE_DAY}
after_quota = {{ action = "overage", unit = "100 kB", price = 55, currency = "JPY", cap = 330 }}
timezone = "Asia/Tokyo"

[[plans]]
id = "t-pool"
name = "Test pool 10 MB"
kind = "monthly"
quota = "10 MB"
cycle_day = {CYCLE_DAY}
after_quota = {{ action = "throttle", rate = "200 kbps" }}
timezone = "Asia/Tokyo"
"""


class HttpApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.Server(config_text=CONFIG)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    # -- helpers -------------------------------------------------------------------------------

    def ok(self, resp, status=200):
        self.assertEqual(resp.status, status, f"HTTP {resp.status}: {resp.body}")
        return resp.json()

    def put_line(self, line_id, plan=None, status=201, **fields):
        body = dict(fields)
        if plan is not None:
            body["plan"] = plan
        return self.ok(self.srv.put(f"/v1/lines/{line_id}", body), status)

    def post_usage(self, records):
        return self.ok(self.srv.post("/v1/usage", records))

    def usage(self, line_key):
        return self.ok(self.srv.get(f"/v1/lines/{line_key}/usage"))

    def last_event_seq(self):
        seq = 0
        while True:
            j = self.ok(self.srv.get(f"/v1/events?after={seq}&limit=1000"))
            if not j["events"]:
                return seq
            seq = j["next"]

    def events_after(self, seq):
        out = []
        while True:
            j = self.ok(self.srv.get(f"/v1/events?after={seq}&limit=1000"))
            if not j["events"]:
                return out
            out.extend(j["events"])
            self.assertEqual(j["next"], j["events"][-1]["seq"])
            seq = j["next"]

    def metric(self, name):
        body = self.srv.get("/metrics", token=False).body
        m = re.search(r"^" + re.escape(name) + r" (\S+)$", body, re.M)
        self.assertIsNotNone(m, f"{name} not in /metrics:\n{body}")
        return float(m.group(1))

    # -- lines -----------------------------------------------------------------------------------

    def test_line_create_update_get(self):
        j = self.put_line("prov-1", "t-pass", account="acct-p", msisdn="+81 90-7000-0001",
                          imsi="440107000000001", iccid="8981107000000000001", locale="en",
                          status=201)
        self.assertEqual(j["id"], "prov-1")
        self.assertEqual(j["plan"], "t-pass")
        self.assertEqual(j["account"], "acct-p")
        self.assertEqual(j["msisdn"], "+819070000001")
        self.assertEqual(j["imsi"], "440107000000001")
        self.assertEqual(j["iccid"], "8981107000000000001")
        self.assertEqual(j["timezone"], "Asia/Tokyo")
        self.assertEqual(j["locale"], "en")
        self.assertIsNone(j["pool"])
        self.assertEqual(j["state"], "normal")
        self.assertRegex(j["created_at"], r"\+09:00$")
        # Same id again: an update, 200.
        j = self.put_line("prov-1", "t-monthly", account="acct-p", msisdn="+81 90-7000-0001",
                          locale="ja", status=200)
        self.assertEqual(j["plan"], "t-monthly")
        self.assertEqual(j["locale"], "ja")
        self.assertIsNone(j["imsi"])
        got = self.ok(self.srv.get("/v1/lines/prov-1"))
        self.assertEqual(got, j)
        # The line list has it, with its usage.
        lst = self.ok(self.srv.get("/v1/lines?q=prov-"))
        ids = [l["id"] for l in lst["lines"]]
        self.assertIn("prov-1", ids)
        self.assertEqual(self.srv.get("/v1/lines/no-such-line").status, 404)
        self.assertEqual(self.srv.get("/v1/lines/no-such-line/usage").status, 404)
        # /v1/plans lists the catalog.
        plans = {p["id"]: p for p in self.ok(self.srv.get("/v1/plans"))["plans"]}
        self.assertEqual(plans["t-pass"]["quota"], 10**9)
        self.assertEqual(plans["t-throttle"]["after_quota"],
                         {"action": "throttle", "rate_bps": 128000})
        self.assertEqual(plans["t-monthly"]["cycle_day"], CYCLE_DAY)

    # -- usage -----------------------------------------------------------------------------------

    def test_usage_exact_numbers_array_and_jsonl(self):
        self.put_line("use-1", "t-monthly", msisdn="+81 90-7000-0101")
        cstart, cend = current_cycle()
        r1 = record("use-1", 1_000_001, 2_000_002, NOW - 3 * HOUR, NOW - 2 * HOUR, id="u1-a",
                    app="video", device="phone")
        r2 = record("use-1", 3, 4, NOW - 2 * HOUR, NOW - 90 * 60, id="u1-b", app="web")
        j = self.post_usage([r1, r2])
        self.assertEqual(j, {"accepted": 2, "duplicates": 0, "quarantined": 0, "rejected": []})
        # JSON lines, with a blank line and a trailing newline.
        r3 = record("use-1", 10, 20, NOW - 80 * 60, NOW - 70 * 60, id="u1-c")
        import json
        body = json.dumps(r3) + "\n\n" + json.dumps(
            record("use-1", 0, 5, NOW - 70 * 60, NOW - 60 * 60, id="u1-d")) + "\n"
        j = self.ok(self.srv.post("/v1/usage", raw=body,
                                  headers={"Content-Type": "application/x-ndjson"}))
        self.assertEqual(j["accepted"], 2)
        self.assertEqual(j["rejected"], [])

        u = self.usage("use-1")
        up, down = 1_000_001 + 3 + 10 + 0, 2_000_002 + 4 + 20 + 5
        self.assertEqual(u["line"], "use-1")
        self.assertEqual(u["plan"], "t-monthly")
        self.assertEqual(u["plan_kind"], "monthly")
        self.assertEqual(u["bytes_up"], up)
        self.assertEqual(u["bytes_down"], down)
        self.assertEqual(u["used"], up + down)
        self.assertEqual(u["quota"], 10 * 10**9)
        self.assertEqual(u["remaining"], 10 * 10**9 - up - down)
        self.assertEqual(len(u["buckets"]), 1)
        b = u["buckets"][0]
        self.assertEqual(b["kind"], "plan")
        self.assertEqual((b["quota"], b["used"], b["remaining"]),
                         (10 * 10**9, up + down, 10 * 10**9 - up - down))
        self.assertEqual(u["cycle"], {"start": jst(cstart), "end": jst(cend)})
        self.assertEqual((b["valid_from"], b["expires_at"]), (jst(cstart), jst(cend)))
        self.assertEqual(u["state"], "normal")
        self.assertIsNone(u["throttle_rate_bps"])
        for k in ("exhausted_at", "projected_cycle_total", "daily_budget"):
            self.assertIn(k, u["forecast"])
        self.assertGreaterEqual(u["forecast"]["projected_cycle_total"], up + down)
        self.assertIsInstance(u["forecast"]["daily_budget"], int)
        self.assertLessEqual(u["forecast"]["daily_budget"], u["remaining"])
        self.assertRegex(u["as_of"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+09:00$")
        self.assertEqual(u["last_record_at"], jst(NOW - 60 * 60))
        # The line list shows the same numbers.
        lst = self.ok(self.srv.get("/v1/lines?q=use-1"))["lines"]
        self.assertEqual([(l["used"], l["remaining"]) for l in lst],
                         [(u["used"], u["remaining"])])

    def test_duplicates_counted_once(self):
        self.put_line("dup-1", "t-pass")
        a = record("dup-1", 100, 200, NOW - 2 * HOUR, NOW - HOUR, id="dup-a")
        j = self.post_usage([a, a])
        self.assertEqual((j["accepted"], j["duplicates"]), (1, 1))
        j = self.post_usage([a])
        self.assertEqual((j["accepted"], j["duplicates"]), (0, 1))
        # Same id, different content: still the same record (the id is the dedup key).
        changed = dict(a, bytes_up=999)
        j = self.post_usage([changed])
        self.assertEqual((j["accepted"], j["duplicates"]), (0, 1))
        # Without an id: deduplicated by content.
        n1 = record("dup-1", 7, 8, NOW - 2 * HOUR, NOW - HOUR, app="x")
        n2 = record("dup-1", 7, 8, NOW - 2 * HOUR, NOW - HOUR, app="y")  # differs: counts
        j = self.post_usage([n1, n1, n2])
        self.assertEqual((j["accepted"], j["duplicates"]), (2, 1))
        j = self.post_usage([n1, n2])
        self.assertEqual((j["accepted"], j["duplicates"]), (0, 2))
        u = self.usage("dup-1")
        self.assertEqual(u["used"], 300 + 15 + 15)
        self.assertEqual((u["bytes_up"], u["bytes_down"]), (100 + 14, 200 + 16))

    def test_lookups_by_identifier(self):
        self.put_line("look-1", "t-pass", msisdn="+81 90-7000-0201", imsi="440107000000201",
                      iccid="8981107000000000201")
        t0, t1 = NOW - 2 * HOUR, NOW - HOUR
        j = self.post_usage([
            record("msisdn:+819070000201", 1, 0, t0, t1, id="lk-1"),
            record("msisdn:819070000201", 10, 0, t0, t1, id="lk-2"),
            record("msisdn:+81 90-7000-0201", 100, 0, t0, t1, id="lk-3"),
            record("imsi:440107000000201", 1000, 0, t0, t1, id="lk-4"),
            record("iccid:8981107000000000201", 10000, 0, t0, t1, id="lk-5"),
            record("look-1", 100000, 0, t0, t1, id="lk-6"),
        ])
        self.assertEqual((j["accepted"], j["quarantined"], j["rejected"]), (6, 0, []))
        for key in ("look-1", "msisdn:+819070000201", "msisdn:819070000201",
                    "imsi:440107000000201", "iccid:8981107000000000201"):
            u = self.usage(key)
            self.assertEqual(u["line"], "look-1", key)
            self.assertEqual(u["bytes_up"], 111111, key)
        self.assertEqual(self.ok(self.srv.get("/v1/lines/imsi:440107000000201"))["id"], "look-1")

    def test_history_and_audit(self):
        self.put_line("hist-1", "t-pass")
        h = (NOW // HOUR) * HOUR - 3 * HOUR  # a whole UTC hour, 3..4 hours ago
        recs = [
            record("hist-1", 100, 1000, h + 60, h + 120, id="h-1", app="video", device="phone"),
            record("hist-1", 200, 2000, h + 300, h + 600, id="h-2", app="web", device="phone"),
            record("hist-1", 300, 3000, h + 900, h + 1200, id="h-3", app="video", device="tablet"),
            # Spans two hours: split pro rata, the parts add up.
            record("hist-1", 401, 4001, h + HOUR - 600, h + HOUR + 600, id="h-4", app="web",
                   device="tablet"),
        ]
        self.assertEqual(self.post_usage(recs)["accepted"], 4)
        tot_up, tot_down = 1001, 10001

        def sums(points):
            return (sum(p["bytes_up"] for p in points), sum(p["bytes_down"] for p in points))

        hourly = self.ok(self.srv.get("/v1/lines/hist-1/history?granularity=hour"))
        self.assertEqual(hourly["granularity"], "hour")
        self.assertEqual(sums(hourly["points"]), (tot_up, tot_down))
        starts = [p["start"] for p in hourly["points"]]
        self.assertEqual(starts, [jst(h), jst(h + HOUR)])
        first = hourly["points"][0]
        # Records h-1..h-3 lie wholly in hour h; h-4 splits 600 s / 600 s (401 -> 200 + 201).
        self.assertEqual((first["bytes_up"], first["bytes_down"]),
                         (600 + 200, 6000 + 2000))
        daily = self.ok(self.srv.get("/v1/lines/hist-1/history?granularity=day"))
        self.assertEqual(sums(daily["points"]), (tot_up, tot_down))
        days = {jst(jst_midnight(*jst_date(h))), jst(jst_midnight(*jst_date(h + HOUR)))}
        self.assertEqual({p["start"] for p in daily["points"]}, days)
        by_app = self.ok(self.srv.get("/v1/lines/hist-1/history?granularity=day&by=app"))
        apps = {}
        for p in by_app["points"]:
            a = apps.setdefault(p["app"], [0, 0])
            a[0] += p["bytes_up"]
            a[1] += p["bytes_down"]
        self.assertEqual(apps, {"video": [400, 4000], "web": [601, 6001]})
        by_dev = self.ok(self.srv.get("/v1/lines/hist-1/history?granularity=hour&by=device"))
        devs = {}
        for p in by_dev["points"]:
            d = devs.setdefault(p["device"], [0, 0])
            d[0] += p["bytes_up"]
            d[1] += p["bytes_down"]
        self.assertEqual(devs, {"phone": [300, 3000], "tablet": [701, 7001]})
        # A from/to window that holds only hour h.
        q = f"from={harness.rfc3339(h)}&to={harness.rfc3339(h + 60)}"
        win = self.ok(self.srv.get(f"/v1/lines/hist-1/history?granularity=hour&{q}"))
        self.assertEqual([p["start"] for p in win["points"]], [jst(h)])

        # Audit: every record, the bucket it debited.
        bucket_id = self.usage("hist-1")["buckets"][0]["id"]
        audit = self.ok(self.srv.get("/v1/lines/hist-1/audit"))
        self.assertEqual(audit["line"], "hist-1")
        by_record = {}
        for e in audit["entries"]:
            by_record[e["record"]] = e
        self.assertEqual(len(by_record), 4)
        for r in recs:
            key = [k for k in by_record if r["id"] in k]
            self.assertEqual(len(key), 1, (r["id"], list(by_record)))
            e = by_record[key[0]]
            self.assertEqual((e["bytes_up"], e["bytes_down"]), (r["bytes_up"], r["bytes_down"]))
            self.assertEqual(e["app"], r["app"])
            self.assertEqual(e["debits"], [{"target": "bucket", "bucket": bucket_id,
                                            "bytes": r["bytes_up"] + r["bytes_down"]}])
        limited = self.ok(self.srv.get("/v1/lines/hist-1/audit?limit=2"))
        self.assertEqual(len(limited["entries"]), 2)

    def test_topups_expiry_first_and_idempotent(self):
        self.put_line("top-1", "t-pass")
        before = self.usage("top-1")
        plan_bucket = before["buckets"][0]
        t = self.srv.post("/v1/lines/top-1/topups", {"quota": "1 MB", "validity": "1d",
                                                     "id": "tp-1"})
        b = self.ok(t, 201)
        self.assertEqual((b["kind"], b["quota"], b["used"], b["remaining"]),
                         ("topup", 10**6, 0, 10**6))
        self.assertEqual(b["topup_id"], "tp-1")
        self.assertNotEqual(b["id"], plan_bucket["id"])
        # The same id again: the same bucket, nothing added.
        again = self.ok(self.srv.post("/v1/lines/top-1/topups",
                                      {"quota": "1 MB", "validity": "1d", "id": "tp-1"}), 201)
        self.assertEqual(again, b)
        # A longer-lived top-up (expires after the plan bucket), no id.
        late = self.ok(self.srv.post("/v1/lines/top-1/topups",
                                     {"quota": "2 MB", "validity": "60d"}), 201)
        u = self.usage("top-1")
        self.assertEqual(u["quota"], 10**9 + 3 * 10**6)
        self.assertEqual([k["id"] for k in u["buckets"]], [b["id"], plan_bucket["id"], late["id"]])
        # Usage after the top-ups: the 1-day top-up (expires first) is spent first.
        now = int(time.time()) + 2
        j = self.post_usage([record("top-1", 400_000, 1_000_000, now - 60, now, id="tp-use-1")])
        self.assertEqual(j["accepted"], 1)
        u = self.usage("top-1")
        got = {k["id"]: k["used"] for k in u["buckets"]}
        self.assertEqual(got, {b["id"]: 10**6, plan_bucket["id"]: 400_000, late["id"]: 0})
        self.assertEqual(u["used"], 1_400_000)
        self.assertEqual(u["remaining"], 10**9 + 3 * 10**6 - 1_400_000)
        entry = self.ok(self.srv.get("/v1/lines/top-1/audit"))["entries"][0]
        self.assertEqual(entry["debits"], [
            {"target": "bucket", "bucket": b["id"], "bytes": 10**6},
            {"target": "bucket", "bucket": plan_bucket["id"], "bytes": 400_000}])
        # A topup event was raised.
        evs = self.events_after(0)
        self.assertTrue(any(e["type"] == "topup" and e["line"] == "top-1" for e in evs))
        self.assertEqual(self.srv.post("/v1/lines/nobody/topups",
                                       {"quota": "1 MB", "validity": "1d"}).status, 404)

    def test_alerts_and_events(self):
        self.put_line("alrt-1", "t-pass")
        a = self.ok(self.srv.get("/v1/lines/alrt-1/alerts"))
        self.assertEqual(a, {"line": "alrt-1", "thresholds": [], "inherited": True, "channels": [],
                             "sms_alerts": True})
        a = self.ok(self.srv.put("/v1/lines/alrt-1/alerts",
                                 {"thresholds": ["50%", "80%", "100 MB left"]}))
        self.assertEqual(a["thresholds"], ["50%", "80%", "100 MB left"])
        self.assertFalse(a["inherited"])
        self.assertEqual(self.ok(self.srv.get("/v1/lines/alrt-1/alerts")), a)
        seq = self.last_event_seq()
        # 600 MB: crosses 50% only.
        t0, t1 = NOW - 2 * HOUR, NOW - HOUR
        self.post_usage([record("alrt-1", 0, 600 * 10**6, t0, t1, id="al-1")])
        evs = self.events_after(seq)
        ths = [e["threshold"] for e in evs if e["type"] == "threshold" and e["line"] == "alrt-1"]
        self.assertEqual(ths, ["50%"])
        # +250 MB: crosses 80% (850 MB of 1 GB), not yet 100 MB left.
        self.post_usage([record("alrt-1", 0, 250 * 10**6, t0, t1, id="al-2")])
        evs = self.events_after(seq)
        self.assertEqual([e["seq"] for e in evs], list(range(seq + 1, seq + 1 + len(evs))))
        for e in evs:
            self.assertEqual(e["id"], f"evt-{e['seq']}")
        ths = [e for e in evs if e["type"] == "threshold" and e["line"] == "alrt-1"]
        self.assertEqual([e["threshold"] for e in ths], ["50%", "80%"])
        e80 = ths[1]
        self.assertEqual((e80["used"], e80["quota"], e80["remaining"]),
                         (850 * 10**6, 10**9, 150 * 10**6))
        self.assertRegex(e80["at"], r"Z$|[+-]\d\d:\d\d$")
        # Each fires once per cycle: more usage below the next threshold fires nothing.
        self.post_usage([record("alrt-1", 0, 10 * 10**6, t0, t1, id="al-3")])
        evs2 = self.events_after(seq)
        self.assertEqual(len([e for e in evs2 if e["type"] == "threshold"
                              and e["line"] == "alrt-1"]), 2)
        # `after` pages: only the later events.
        later = self.ok(self.srv.get(f"/v1/events?after={e80['seq']}"))
        self.assertTrue(all(e["seq"] > e80["seq"] for e in later["events"]))
        # Bad threshold.
        bad = self.srv.put("/v1/lines/alrt-1/alerts", {"thresholds": ["eighty"]})
        self.assertEqual(bad.status, 400)
        self.assertIn("thresholds[0]", bad.json()["error"]["message"])

    def test_throttle_and_block_plans(self):
        self.put_line("thr-1", "t-throttle")
        self.put_line("blk-1", "t-block")
        seq = self.last_event_seq()
        t0, t1 = NOW - 2 * HOUR, NOW - HOUR
        self.post_usage([record("thr-1", 200_000, 700_000, t0, t1, id="thr-a")])
        u = self.usage("thr-1")
        self.assertEqual((u["state"], u["remaining"], u["throttle_rate_bps"]),
                         ("normal", 100_000, None))
        self.post_usage([record("thr-1", 0, 150_000, t0, t1, id="thr-b"),
                         record("blk-1", 0, 1_000_001, t0, t1, id="blk-a")])
        u = self.usage("thr-1")
        self.assertEqual(u["state"], "throttled")
        self.assertEqual(u["reason"], "quota")
        self.assertEqual(u["throttle_rate_bps"], 128000)
        self.assertEqual((u["used"], u["remaining"], u["quota"]), (1_050_000, 0, 10**6))
        self.assertEqual(self.ok(self.srv.get("/v1/lines/thr-1"))["state"], "throttled")
        b = self.usage("blk-1")
        self.assertEqual((b["state"], b["used"], b["remaining"]), ("blocked", 1_000_001, 0))
        self.assertIsNone(b["throttle_rate_bps"])
        self.assertNotIn("overage", b)
        evs = self.events_after(seq)
        kinds = [(e["type"], e["line"]) for e in evs]
        self.assertIn(("exhausted", "thr-1"), kinds)
        self.assertIn(("throttled", "thr-1"), kinds)
        self.assertIn(("blocked", "blk-1"), kinds)
        thr = [e for e in evs if e["type"] == "throttled"][0]
        self.assertEqual(thr["rate_bps"], 128000)
        self.assertIn(("threshold", "thr-1"), kinds)
        labels = [e["threshold"] for e in evs if e["type"] == "threshold" and e["line"] == "thr-1"]
        self.assertEqual(labels, ["80%", "100%"])
        # A top-up lifts the throttle.
        self.ok(self.srv.post("/v1/lines/thr-1/topups", {"quota": "1 MB", "validity": "7d"}), 201)
        u = self.usage("thr-1")
        self.assertEqual((u["state"], u["throttle_rate_bps"]), ("normal", None))
        self.assertIn(("restored", "thr-1"),
                      [(e["type"], e["line"]) for e in self.events_after(seq)])

    def test_overage_cost(self):
        self.put_line("ovr-1", "t-overage")
        t0, t1 = NOW - 2 * HOUR, NOW - HOUR
        u = self.usage("ovr-1")
        self.assertEqual(u["overage"], {"bytes": 0, "cost": "0", "currency": "JPY", "cap": "330"})
        # 1 MB quota + exactly one 100 kB unit.
        self.post_usage([record("ovr-1", 0, 1_100_000, t0, t1, id="ov-1")])
        u = self.usage("ovr-1")
        self.assertEqual(u["overage"]["bytes"], 100_000)
        self.assertEqual(u["overage"]["cost"], "55")
        self.assertEqual(u["state"], "normal")
        self.assertEqual(u["remaining"], 0)
        # One byte more starts a second unit.
        self.post_usage([record("ovr-1", 1, 0, t0, t1, id="ov-2")])
        u = self.usage("ovr-1")
        self.assertEqual((u["overage"]["bytes"], u["overage"]["cost"]), (100_001, "110"))
        # 12 units would be 660 yen: the cap stops it at 330.
        self.post_usage([record("ovr-1", 0, 1_000_000, t0, t1, id="ov-3")])
        u = self.usage("ovr-1")
        self.assertEqual((u["overage"]["bytes"], u["overage"]["cost"]), (1_100_001, "330"))
        self.assertEqual(u["used"], 2_100_001)
        self.assertEqual(u["state"], "normal")

    def test_pools_share_quota(self):
        p = self.srv.put("/v1/pools/fam-1", {"plan": "t-pool", "account": "fam"})
        self.assertIn(p.status, (200, 201), p.body)
        self.assertEqual(p.json()["id"], "fam-1")
        self.put_line("fam-a", pool="fam-1", account="fam")
        self.put_line("fam-b", pool="fam-1", account="fam")
        g = self.ok(self.srv.get("/v1/pools/fam-1"))
        self.assertEqual((g["plan"], g["account"]), ("t-pool", "fam"))
        self.assertEqual(sorted(m["line"] for m in g["members"]), ["fam-a", "fam-b"])
        t0, t1 = NOW - 2 * HOUR, NOW - HOUR
        self.post_usage([record("fam-a", 1_000_000, 2_000_000, t0, t1, id="fam-1"),
                         record("fam-b", 500_000, 0, t0, t1, id="fam-2")])
        ua, ub = self.usage("fam-a"), self.usage("fam-b")
        for u in (ua, ub):
            self.assertEqual(u["used"], 3_500_000)
            self.assertEqual(u["quota"], 10**7)
            self.assertEqual(u["remaining"], 6_500_000)
            self.assertEqual(u["pool"]["id"], "fam-1")
            self.assertEqual(u["pool"]["members"], 2)
        self.assertEqual(ua["pool"]["member_used"], 3_000_000)
        self.assertEqual(ub["pool"]["member_used"], 500_000)
        g = self.ok(self.srv.get("/v1/pools/fam-1"))
        self.assertEqual({m["line"]: m["used"] for m in g["members"]},
                         {"fam-a": 3_000_000, "fam-b": 500_000})
        # Exhausting the pool throttles both members.
        self.post_usage([record("fam-b", 0, 7_000_000, t0, t1, id="fam-3")])
        for line in ("fam-a", "fam-b"):
            u = self.usage(line)
            self.assertEqual((u["state"], u["remaining"], u["throttle_rate_bps"]),
                             ("throttled", 0, 200000))
        self.assertEqual(self.srv.get("/v1/pools/nope").status, 404)
        bad = self.srv.put("/v1/pools/fam-x", {"plan": "no-such-plan"})
        self.assertEqual(bad.status, 400)
        self.assertIn("no-such-plan", bad.json()["error"]["message"])

    def test_quarantine_then_apply_once(self):
        t0, t1 = NOW - 2 * HOUR, NOW - HOUR
        seq = self.last_event_seq()
        j = self.post_usage([record("ghost-1", 11, 22, t0, t1, id="gh-1"),
                             record("ghost-1", 33, 44, t0, t1, id="gh-2")])
        self.assertEqual((j["accepted"], j["quarantined"]), (2, 2))
        # Sent again while quarantined: duplicates, not quarantined twice.
        j = self.post_usage([record("ghost-1", 11, 22, t0, t1, id="gh-1")])
        self.assertEqual((j["accepted"], j["duplicates"]), (0, 1))
        q = self.ok(self.srv.get("/v1/quarantine"))
        mine = [e for e in q["records"] if e["record"]["line"] == "ghost-1"]
        self.assertEqual(sorted(e["record"]["id"] for e in mine), ["gh-1", "gh-2"])
        self.assertEqual(sum(e["record"]["bytes_up"] + e["record"]["bytes_down"] for e in mine),
                         110)
        evs = [e for e in self.events_after(seq) if e["type"] == "quarantined"]
        self.assertEqual([(e["key"], e["records"], e["bytes"]) for e in evs],
                         [("ghost-1", 2, 110)])
        # Nothing to apply while the line is unknown.
        a = self.ok(self.srv.post("/v1/quarantine/apply"))
        self.assertEqual(a["applied"], 0)
        self.put_line("ghost-1", "t-pass")
        a = self.ok(self.srv.post("/v1/quarantine/apply"))
        self.assertEqual(a["applied"], 2)
        u = self.usage("ghost-1")
        self.assertEqual((u["bytes_up"], u["bytes_down"]), (44, 66))
        a = self.ok(self.srv.post("/v1/quarantine/apply"))
        self.assertEqual(a["applied"], 0)
        self.assertEqual(self.usage("ghost-1")["used"], 110)
        q = self.ok(self.srv.get("/v1/quarantine"))
        self.assertEqual([e for e in q["records"] if e["record"]["line"] == "ghost-1"], [])
        # And a resend after the apply is a duplicate.
        j = self.post_usage([record("ghost-1", 11, 22, t0, t1, id="gh-1")])
        self.assertEqual((j["accepted"], j["duplicates"]), (0, 1))
        self.assertEqual(self.usage("ghost-1")["used"], 110)

    def test_metrics_and_healthz(self):
        h = self.srv.get("/healthz", token=False)
        self.assertEqual(h.status, 200)
        self.assertEqual(h.json()["status"], "ok")
        self.put_line("met-1", "t-pass")
        applied0 = self.metric("ryuryo_records_applied_total")
        dup0 = self.metric("ryuryo_records_duplicate_total")
        rej0 = self.metric("ryuryo_records_rejected_total")
        t0, t1 = NOW - 2 * HOUR, NOW - HOUR
        r = record("met-1", 1, 2, t0, t1, id="met-a")
        bad = dict(record("met-1", 1, 2, t0, t1, id="met-b"), bytes_up=-1)
        j = self.post_usage([r, r, bad])
        self.assertEqual((j["accepted"], j["duplicates"], len(j["rejected"])), (1, 1, 1))
        m = self.srv.get("/metrics", token=False)
        self.assertEqual(m.status, 200)
        self.assertTrue(m.headers.get("Content-Type", "").startswith("text/plain"))
        body = m.body
        for name in ("ryuryo_records_applied_total", "ryuryo_records_duplicate_total",
                     "ryuryo_records_rejected_total", "ryuryo_lines"):
            self.assertRegex(body, r"(?m)^# TYPE " + name + r" (counter|gauge)$")
        self.assertRegex(body, r'(?m)^ryuryo_commit_seconds_bucket\{le="\+Inf"\} \d+$')
        self.assertRegex(body, r"(?m)^# TYPE ryuryo_commit_seconds histogram$")
        self.assertEqual(self.metric("ryuryo_records_applied_total"), applied0 + 1)
        self.assertEqual(self.metric("ryuryo_records_duplicate_total"), dup0 + 1)
        self.assertEqual(self.metric("ryuryo_records_rejected_total"), rej0 + 1)
        lines = self.ok(self.srv.get("/v1/lines?limit=1000"))["lines"]
        self.assertEqual(self.metric("ryuryo_lines"), len(lines))
        # Histogram buckets are cumulative and end with the count.
        buckets = [int(v) for v in re.findall(r'(?m)^ryuryo_commit_seconds_bucket\{le="[^"]+"\} (\d+)$', body)]
        self.assertEqual(buckets, sorted(buckets))
        self.assertEqual(buckets[-1], int(self.metric("ryuryo_commit_seconds_count")))


if __name__ == "__main__":
    unittest.main()

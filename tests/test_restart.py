"""A clean restart (SIGTERM) keeps everything exactly (DESIGN §3): lines, pools, top-ups, custom
alerts, usage, history, the audit trail and the event log; the event sequence continues after the
restart (no seq reused), idempotency keys (record ids, top-up ids) still hold.

Timestamps are relative to now: records end between now-5h and now. Monthly plans use a cycle day
10 days back, so no record straddles a reset whatever today is.
"""
import os
import sys
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import record  # noqa: E402

HOUR = 3600
GB = 10**9
MB = 10**6
NOW = int(time.time())
CYCLE_DAY = min(time.gmtime(NOW - 10 * 86400).tm_mday, 28)

CONFIG = f"""
[server]
http = "127.0.0.1:0"
data_dir = "data"

[[plans]]
id = "r-pass"
name = "Restart pass 8 days 3 GB"
kind = "pass"
quota = "3 GB"
validity = "8d"
starts = "activation"
after_quota = {{ action = "throttle", rate = "128 kbps" }}
alerts = ["50%", "80%"]
timezone = "Asia/Tokyo"

[[plans]]
id = "r-monthly"
name = "Restart monthly 5 GB"
kind = "monthly"
quota = "5 GB"
cycle_day = {CYCLE_DAY}
rollover = true
after_quota = {{ action = "block" }}
alerts = ["80%", "1 GB left"]
timezone = "UTC"

[[plans]]
id = "r-family"
name = "Restart family 10 GB"
kind = "monthly"
quota = "10 GB"
cycle_day = {CYCLE_DAY}
after_quota = {{ action = "throttle", rate = "200 kbps" }}
alerts = ["50%", "100%"]
timezone = "UTC"
"""

LINES = {
    "r-pass": {"plan": "r-pass", "account": "acct-1", "msisdn": "+81 70-0000-0001",
               "imsi": "440100000000001", "locale": "en"},
    "r-mon": {"plan": "r-monthly", "account": "acct-2", "iccid": "8981100000000000099",
              "locale": "ja"},
    "r-fam1": {"pool": "r-pool", "account": "fam", "timezone": "Asia/Tokyo"},
    "r-fam2": {"pool": "r-pool", "account": "fam", "locale": "zh"},
}


def strip_volatile(usage):
    """The parts of a usage answer that depend on the current time, not on the state."""
    u = dict(usage)
    u.pop("as_of", None)
    u.pop("forecast", None)
    return u


class RestartTest(unittest.TestCase):
    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)  # the harness's log file and drain pipe
        self.server = harness.Server(config_text=CONFIG)
        self.server.start()

    def tearDown(self):
        self.server.cleanup()

    def ok(self, r, status=(200, 201)):
        self.assertIn(r.status, status if isinstance(status, tuple) else (status,), r.body)
        return r.json()

    def all_events(self):
        events, after = [], 0
        while True:
            j = self.ok(self.server.get(f"/v1/events?after={after}&limit=1000"))
            events += j["events"]
            if not j["events"]:
                return events
            after = j["next"]

    def snapshot(self):
        s = self.server
        snap = {}
        frm = harness.rfc3339(NOW - 3 * 86400)
        to = harness.rfc3339(NOW + 3 * 86400)
        for line in LINES:
            snap[f"line {line}"] = self.ok(s.get(f"/v1/lines/{line}"))
            snap[f"usage {line}"] = strip_volatile(self.ok(s.get(f"/v1/lines/{line}/usage")))
            snap[f"alerts {line}"] = self.ok(s.get(f"/v1/lines/{line}/alerts"))
            for g in ("hour", "day"):
                for by in ("", "&by=app", "&by=device"):
                    q = f"/v1/lines/{line}/history?granularity={g}&from={frm}&to={to}{by}"
                    snap[f"history {line} {g}{by}"] = self.ok(s.get(q))
            snap[f"audit {line}"] = self.ok(s.get(f"/v1/lines/{line}/audit?limit=1000"))
        snap["pool"] = self.ok(s.get("/v1/pools/r-pool"))
        snap["lines"] = self.ok(s.get("/v1/lines?limit=1000"))
        snap["events"] = self.all_events()
        return snap

    def test_clean_restart_keeps_everything(self):
        s = self.server
        self.ok(s.put("/v1/pools/r-pool", {"plan": "r-family", "account": "fam"}))
        for line, spec in LINES.items():
            self.ok(s.put(f"/v1/lines/{line}", spec), 201)
        # Own thresholds on a line and on a pool member (the pool's).
        self.ok(s.put("/v1/lines/r-pass/alerts", {"thresholds": ["25%", "1 GB left", "pace"]}))
        self.ok(s.put("/v1/lines/r-fam2/alerts", {"thresholds": ["30%", "2 GB left"]}))
        # Usage over several hours, apps and devices, crossing thresholds, exhausting r-mon.
        recs = []
        plan = [("r-pass", 2100 * MB), ("r-mon", 6500 * MB), ("r-fam1", 3 * GB),
                ("r-fam2", 4 * GB), ("msisdn:+817000000001", 20 * MB),
                ("imsi:440100000000001", 10 * MB), ("iccid:8981100000000000099", 5 * MB)]
        n = 0
        for line, total in plan:
            parts = 10
            for i in range(parts):
                end = NOW - 5 * HOUR + i * 1800 + 60
                b = total // parts
                recs.append(record(line, b // 10, b - b // 10, end - 900, end, id=f"u-{n}",
                                   app=["video", "maps", "sns"][i % 3],
                                   device=["phone", "laptop"][i % 2]))
                n += 1
        # Send in a few posts so that several batches commit.
        for i in range(0, len(recs), 17):
            res = self.ok(s.post("/v1/usage", recs[i:i + 17]), 200)
            self.assertEqual(res["rejected"], [])
            self.assertEqual(res["accepted"], len(recs[i:i + 17]))

        # Top-ups after the usage (one with an idempotency key): r-mon was blocked, is restored.
        tu1 = self.ok(s.post("/v1/lines/r-mon/topups",
                             {"quota": "1 GB", "validity": "30d", "id": "tu-1"}), 201)
        self.ok(s.post("/v1/lines/r-fam1/topups", {"quota": "500 MB", "validity": "7d"}), 201)

        before = self.snapshot()
        # Sanity: the setup did what it meant to.
        self.assertEqual(before["alerts r-pass"]["thresholds"], ["25%", "1 GB left", "pace"])
        self.assertFalse(before["alerts r-pass"]["inherited"])
        self.assertEqual(len(before["audit r-mon"]["entries"]), 20)  # by id and by ICCID
        self.assertTrue(any(b["topup_id"] == "tu-1" for b in before["usage r-mon"]["buckets"]))
        self.assertGreater(before["usage r-pass"]["used"], 0)
        types = {e["type"] for e in before["events"]}
        for t in ("threshold", "exhausted", "blocked", "topup", "restored"):
            self.assertIn(t, types)
        last_seq = before["events"][-1]["seq"]
        self.assertEqual([e["seq"] for e in before["events"]], list(range(1, last_seq + 1)),
                         "event seqs are dense and increasing")

        # Clean stop, start on the same data dir.
        self.assertEqual(s.stop(), 0, "SIGTERM: exit code")
        s.start()
        after = self.snapshot()
        for k in before:
            self.assertEqual(after[k], before[k], f"{k} changed across a clean restart")

        # Idempotency keys still hold: the same records and the same top-up change nothing.
        res = self.ok(s.post("/v1/usage", recs), 200)
        self.assertEqual((res["accepted"], res["duplicates"]), (0, len(recs)))
        again = self.ok(s.post("/v1/lines/r-mon/topups",
                               {"quota": "1 GB", "validity": "30d", "id": "tu-1"}))
        self.assertEqual(again["id"], tu1["id"])
        self.assertEqual(self.snapshot(), after, "replays after the restart changed something")

        # The event sequence continues: the next event gets last_seq + 1, none is reused.
        self.ok(s.post("/v1/lines/r-pass/topups", {"quota": "1 GB", "validity": "30d"}), 201)
        events = self.all_events()
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)), "event seqs dense, none reused")
        self.assertEqual(events[:len(before["events"])], before["events"])
        new = events[len(before["events"]):]
        self.assertTrue(new, "the top-up raised no event")
        self.assertEqual(new[0]["seq"], last_seq + 1)
        self.assertEqual(new[0]["id"], f"evt-{last_seq + 1}")
        self.assertEqual(new[0]["type"], "topup")
        self.assertEqual(new[0]["line"], "r-pass")

        # A second clean restart with new usage after the first one: still exact.
        more = [record("r-pass", 1000, 2000, NOW - 600, NOW - 60, id="late-1")]
        self.ok(s.post("/v1/usage", more), 200)
        before2 = self.snapshot()
        self.assertEqual(s.stop(), 0)
        s.start()
        self.assertEqual(self.snapshot(), before2)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""End-to-end tests of the `ryuryo` CLI client commands against the real server with the demo
catalog (examples/ryuryo.toml): version, lines, usage (text and --json), ingest (JSON lines and
CSV, with bad lines reported by file line number), topup, login-link.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import record, rfc3339  # noqa: E402

HOUR = 3600
DEMO_LINES = ["demo-daily", "demo-mvno", "demo-payg", "demo-travel", "demo-unlimited",
              "tanaka-1", "tanaka-2"]


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.Server()  # the demo catalog
        cls.srv.start()
        cls.tmp = tempfile.mkdtemp(prefix="ryuryo-cli-")

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def api_usage(self, line):
        r = self.srv.get(f"/v1/lines/{line}/usage")
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_login_link(self):
        p = self.srv.cli("login-link", "visitor-anna")
        url = p.stdout.splitlines()[0]
        self.assertTrue(url.startswith(self.srv.url + "/#login-link="), p.stdout)
        self.assertIn("signs in once", p.stdout)
        token = url.split("#login-link=", 1)[1]
        r = self.srv.request("POST", "/v1/auth/link", token=False, body={"token": token},
                             headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["account"], "visitor-anna")
        p = self.srv.cli("login-link", "nobody", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("does not exist", p.stderr)

    def test_version(self):
        p = subprocess.run([harness.BIN, "version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout.strip(), r"^ryuryo \d+\.\d+\.\d+")

    def test_lines(self):
        p = self.srv.cli("lines")
        ids = [ln.split()[0] for ln in p.stdout.strip().splitlines()[1:]]
        for line in DEMO_LINES:
            self.assertIn(line, ids)
        self.assertIn("LINE", p.stdout.splitlines()[0])
        row = [ln for ln in p.stdout.splitlines() if ln.startswith("demo-mvno ")][0]
        self.assertIn("mvno-20gb", row)
        self.assertIn("normal", row)
        j = json.loads(self.srv.cli("lines", "--json").stdout)
        self.assertEqual(sorted(l["id"] for l in j), sorted(DEMO_LINES))
        api = self.srv.get("/v1/lines").json()["lines"]
        self.assertEqual(j, api)

    def test_usage_text_and_json(self):
        # Before any usage (the forecast does not move with the clock): --json is the API's
        # answer exactly, but for as_of.
        cli = json.loads(self.srv.cli("usage", "demo-mvno", "--json").stdout)
        api = self.api_usage("demo-mvno")
        for j in (cli, api):
            self.assertRegex(j.pop("as_of"), r"\+09:00$")
        self.assertEqual(cli, api)
        text = self.srv.cli("usage", "demo-mvno").stdout
        self.assertIn("demo-mvno", text)
        self.assertIn("MVNO 20 GB monthly (rollover)", text)
        self.assertRegex(text, r"(?m)^used\s+0 B of [\d.]+ GB\s+\(0%\)")
        self.assertRegex(text, r"(?m)^remaining\s+[\d.]+ GB")
        self.assertRegex(text, r"(?m)^state\s+normal")
        self.assertRegex(text, r"(?m)^cycle\s+\S+\+09:00 → \S+\+09:00")
        self.assertRegex(text, r"(?m)^as of\s+")
        # By another identifier.
        for key in ("msisdn:+819012340003", "msisdn:+81 90-1234-0003", "iccid:8981100000000000003"):
            by_key = json.loads(self.srv.cli("usage", key, "--json").stdout)
            self.assertEqual(by_key["line"], "demo-mvno", key)
        # An unknown line: non-zero, with the server's message.
        p = self.srv.cli("usage", "no-such-line", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no-such-line", p.stderr)

    def test_usage_after_records(self):
        now = int(time.time())
        r = self.srv.post("/v1/usage", [record("demo-payg", 300_000_000, 1_000_000_000,
                                               now - 2 * HOUR, now - HOUR, id="cli-payg-1")])
        self.assertEqual(r.json()["accepted"], 1, r.body)
        cli = json.loads(self.srv.cli("usage", "demo-payg", "--json").stdout)
        api = self.api_usage("demo-payg")
        for j in (cli, api):  # these follow the clock
            del j["as_of"]
            for k in ("exhausted_at", "projected_cycle_total", "rate_bytes_per_hour",
                      "daily_budget"):
                del j["forecast"][k]
        self.assertEqual(cli, api)
        if api["used"] == 1_300_000_000:  # not the first 2 hours of the cycle (then it is late)
            text = self.srv.cli("usage", "demo-payg").stdout
            self.assertRegex(text, r"(?m)^used\s+1\.3 GB of 1 GB")
            self.assertRegex(text, r"(?m)^overage\s+165 JPY")
            self.assertRegex(text, r"(?m)^ran out\s+\S+\+09:00$")  # a past time, no "pace"

    def test_ingest_jsonl(self):
        now = int(time.time())
        recs = [record("demo-travel", 1000 * i, 2000 * i, now - 3 * HOUR + 60 * i,
                       now - 3 * HOUR + 60 * i + 30, id=f"jl-{i}", app="maps") for i in range(1, 6)]
        before = self.api_usage("demo-travel")["used"]
        path = self.write("usage.jsonl", "\n".join(json.dumps(r) for r in recs) + "\n")
        p = self.srv.cli("ingest", path)
        self.assertIn("5 accepted", p.stdout)
        self.assertIn("0 rejected", p.stdout)
        total = sum(r["bytes_up"] + r["bytes_down"] for r in recs)
        self.assertEqual(self.api_usage("demo-travel")["used"], before + total)
        # Again: all duplicates, nothing added.
        p = self.srv.cli("ingest", path)
        self.assertIn("0 accepted", p.stdout)
        self.assertIn("5 duplicates", p.stdout)
        self.assertEqual(self.api_usage("demo-travel")["used"], before + total)

    def test_ingest_jsonl_bad_line(self):
        now = int(time.time())
        good = [record("demo-travel", 7, 70, now - 2 * HOUR, now - HOUR, id=f"jlb-{i}")
                for i in range(3)]
        bad = dict(record("demo-travel", 1, 1, now - 2 * HOUR, now - HOUR, id="jlb-bad"),
                   bytes_up=-1)
        text = "\n".join([json.dumps(good[0]), "", json.dumps(good[1]), json.dumps(bad),
                          "{not json", json.dumps(good[2])]) + "\n"
        path = self.write("mixed.jsonl", text)
        before = self.api_usage("demo-travel")["used"]
        p = self.srv.cli("ingest", path, check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(f"{path}: line 4: bytes_up", p.stderr)
        self.assertIn(f"{path}: line 5:", p.stderr)
        self.assertNotIn("line 1:", p.stderr)
        self.assertNotIn("line 6:", p.stderr)
        self.assertIn("3 accepted", p.stdout)
        self.assertIn("2 rejected", p.stdout)
        self.assertEqual(self.api_usage("demo-travel")["used"], before + 3 * 77)

    def test_ingest_jsonl_first_line_not_an_object(self):
        # A first line that starts with '[' must not make the whole chunk read as one array.
        now = int(time.time())
        good = [record("demo-travel", 3, 30, now - 2 * HOUR, now - HOUR, id=f"jla-{i}")
                for i in range(2)]
        path = self.write("array-first.jsonl",
                          "\n".join(["[1, 2]", json.dumps(good[0]), json.dumps(good[1])]) + "\n")
        before = self.api_usage("demo-travel")["used"]
        p = self.srv.cli("ingest", path, check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(f"{path}: line 1: ", p.stderr)
        self.assertIn("2 accepted", p.stdout)
        self.assertEqual(self.api_usage("demo-travel")["used"], before + 2 * 33)

    def test_ingest_csv_bom_and_spaces(self):
        now = int(time.time())
        t0, t1 = rfc3339(now - 2 * HOUR), rfc3339(now - HOUR)
        path = self.write("bom.csv", "\ufeffid, line ,bytes_up,bytes_down,start,end\n"
                          f"bom-1,demo-travel,1,2,{t0},{t1}\n")
        before = self.api_usage("demo-travel")["used"]
        p = self.srv.cli("ingest", path)
        self.assertIn("1 accepted", p.stdout)
        self.assertEqual(self.api_usage("demo-travel")["used"], before + 3)

    def test_ingest_csv(self):
        now = int(time.time())
        rows = ["id,line,bytes_up,bytes_down,start,end,app,device"]
        total = 0
        for i in range(1, 5):
            up, down = 11 * i, 101 * i
            total += up + down
            rows.append(f"csv-{i},demo-daily,{up},{down},{rfc3339(now - 10 * 60 - i)},"
                        f"{rfc3339(now - 5 * 60 - i)},web,phone-{i % 2}")
        path = self.write("usage.csv", "\n".join(rows) + "\n")
        before = self.api_usage("demo-daily")
        p = self.srv.cli("ingest", path)
        self.assertIn("4 accepted", p.stdout)
        after = self.api_usage("demo-daily")
        # A daily plan: records of the last ten minutes are in today's cycle unless the reset
        # passed since (then the cycle total restarted).
        if after["cycle"] == before["cycle"]:
            self.assertEqual(after["used"], before["used"] + total)
        self.assertEqual(after["last_record_at"][:19].replace("T", " "),
                         time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now - 5 * 60 - 1 + 9 * HOUR)))
        # The audit trail holds every record by its id.
        audit = self.srv.get("/v1/lines/demo-daily/audit").json()["entries"]
        self.assertEqual(sorted(e["record"] for e in audit if "csv-" in e["record"]),
                         [f"id:csv-{i}" for i in range(1, 5)])
        by_dev = self.srv.get("/v1/lines/demo-daily/history?granularity=day&by=device").json()
        self.assertEqual(sum(x["bytes_up"] + x["bytes_down"] for x in by_dev["points"]), total)

    def test_ingest_csv_bad_line(self):
        now = int(time.time())
        t0, t1 = rfc3339(now - 2 * HOUR), rfc3339(now - HOUR)
        rows = ["id,line,bytes_up,bytes_down,start,end,app,device",
                f"csvb-1,demo-travel,5,50,{t0},{t1},web,phone",
                f"csvb-2,demo-travel,abc,50,{t0},{t1},web,phone",
                f"csvb-3,demo-travel,5,50,{t0},{t1},web",
                f"csvb-4,demo-travel,5,50,{t1},{t0},web,phone",
                "",
                f"csvb-5,demo-travel,5,50,{t0},{t1},web,phone"]
        path = self.write("mixed.csv", "\n".join(rows) + "\n")
        before = self.api_usage("demo-travel")["used"]
        p = self.srv.cli("ingest", path, check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(f"{path}: line 3: bytes_up", p.stderr)
        self.assertIn(f"{path}: line 4:", p.stderr)  # a missing column
        self.assertIn(f"{path}: line 5: end", p.stderr)
        for n in (1, 2, 6, 7):
            self.assertNotIn(f"line {n}:", p.stderr)
        self.assertIn("2 accepted", p.stdout)
        self.assertIn("3 rejected", p.stdout)
        self.assertEqual(self.api_usage("demo-travel")["used"], before + 2 * 55)
        # An unknown column is refused as a whole.
        path = self.write("badcol.csv", "id,line,bytes_up,bytes_dwn,start,end\n")
        p = self.srv.cli("ingest", path, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("bytes_dwn", p.stderr)

    def test_topup(self):
        before = self.api_usage("demo-mvno")
        p = self.srv.cli("topup", "demo-mvno", "1GB", "--days", "30")
        self.assertIn("added 1 GB to demo-mvno", p.stdout)
        after = self.api_usage("demo-mvno")
        self.assertEqual(after["quota"], before["quota"] + 10**9)
        self.assertEqual(after["remaining"], before["remaining"] + 10**9)
        topups = [b for b in after["buckets"] if b["kind"] == "topup"]
        self.assertEqual(len(topups), 1)
        self.assertEqual((topups[0]["quota"], topups[0]["used"]), (10**9, 0))
        m = re.search(r"valid until (\S+)", p.stdout)
        self.assertEqual(m.group(1), topups[0]["expires_at"])
        # 30 days from now.
        import datetime
        exp = datetime.datetime.fromisoformat(topups[0]["expires_at"]).timestamp()
        self.assertAlmostEqual(exp, time.time() + 30 * 86400, delta=600)
        # With an idempotency key: once only.
        self.srv.cli("topup", "demo-mvno", "500MB", "--days", "7", "--id", "cli-tp-1")
        self.srv.cli("topup", "demo-mvno", "500MB", "--days", "7", "--id", "cli-tp-1")
        final = self.api_usage("demo-mvno")
        self.assertEqual(final["quota"], before["quota"] + 10**9 + 5 * 10**8)
        # Bad input: non-zero exit with a message.
        p = self.srv.cli("topup", "demo-mvno", "lots", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("QUOTA", p.stderr)
        p = self.srv.cli("topup", "no-such-line", "1GB", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no-such-line", p.stderr)


if __name__ == "__main__":
    unittest.main()

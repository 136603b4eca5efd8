"""End-to-end tests of `ryuryo simulate`, the RADIUS accounting traffic generator, against real
accounting servers on 127.0.0.1 (free ports, processes stopped by PID):

- FreeRADIUS 3.2 writing a detail file: every request acknowledged, the file holds exactly one
  record per distinct request (the injected retransmits are the same datagram, which FreeRADIUS
  answers from its duplicate cache), and the counters in it give, per line, exactly the bytes
  `--expected` says a correct server counts;
- FreeRADIUS 3.2 with rlm_sql into SQLite: one radacct row per session with its final counters;
- ryuryo itself: lines provisioned with --provision (or taken with --from-server), traffic with
  every fault injected, and GET /v1/lines/{id}/usage equal to the expected bytes of every line.
"""
import calendar
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import freeradius  # noqa: E402
import harness  # noqa: E402

SECRET = "testing123"
ALL_FAULTS = ["--fault-retransmit", "0.05", "--fault-duplicate", "0.05", "--fault-reorder", "0.05",
              "--fault-nas-reboot", "0.003"]
OPTIONS = ["--radius", "--secret", "--lines", "--imsi-base", "--msisdn-base", "--id-prefix",
           "--timezone", "--provision", "--server", "--token", "--from-server", "--seed", "--start",
           "--speed", "--rate", "--duration", "--requests", "--sessions", "--window", "--timeout",
           "--retries", "--interim-interval", "--nas", "--volume-scale", "--fault-retransmit",
           "--fault-duplicate", "--fault-reorder", "--fault-nas-reboot", "--json", "--expected",
           "--progress"]


def simulate(*args, timeout=300):
    return subprocess.run([harness.BIN, "simulate"] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout)


def rfc3339(epoch_s):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def cycle_safe_start(back_s):
    """now - back_s, but not before the current calendar month in Tokyo began (plus a minute), so
    that every simulated byte falls in the current cycle of a monthly plan with cycle_day 1."""
    now = int(time.time())
    jst = time.gmtime(now + 9 * 3600)
    month_start = calendar.timegm((jst.tm_year, jst.tm_mon, 1, 0, 0, 0)) - 9 * 3600
    return max(now - back_s, month_start + 60)


class SimulateTestCase(unittest.TestCase):
    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)
        self.tmp = tempfile.mkdtemp(prefix="ryuryo-simulate-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def run_json(self, *args, expect_code=0):
        expected_path = os.path.join(self.tmp, "expected.json")
        p = simulate(*args, "--json", "--expected", expected_path)
        self.assertEqual(p.returncode, expect_code, p.stdout + p.stderr)
        with open(expected_path) as f:
            expected = {l["id"]: l for l in json.load(f)["lines"]}
        return json.loads(p.stdout), expected


class HelpAndErrorsTest(SimulateTestCase):
    def test_help_documents_every_option(self):
        p = simulate("--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        for option in OPTIONS:
            self.assertRegex(p.stdout, rf"(?m)^\s+{option}\b.*", option)
        self.assertIn("never ahead of the wall clock", p.stdout)
        self.assertIn("Exit status", p.stdout)

    def test_nothing_listening_times_out_with_exit_status_2(self):
        port = freeradius.free_udp_port()
        out, expected = self.run_json("--radius", f"127.0.0.1:{port}", "--lines", 3,
                                      "--requests", 4, "--speed", 0, "--timeout", "50ms",
                                      "--retries", 1, expect_code=2)
        self.assertEqual((out["requests"], out["acknowledged"], out["timed_out"]), (4, 0, 4))
        self.assertEqual(out["retransmitted"], 4)
        self.assertEqual(sum(l["bytes_down"] + l["bytes_up"] for l in expected.values()), 0)

    def test_bad_options_are_reported(self):
        future = rfc3339(time.time() + 3600)
        for args, message in [
                (["--start", future], "--start: in the future"),
                (["--start", "yesterday"], "--start"),
                (["--interim-interval", "5s"], "interim interval"),
                (["--radius", "127.0.0.1"], "--radius"),
                (["--provision", "mvno-20gb"], "--provision needs --server"),
                (["--timeout", "10"], "--timeout")]:
            p = simulate(*args, "--requests", 1)
            self.assertEqual(p.returncode, 1, (args, p.stdout, p.stderr))
            self.assertIn(message, p.stderr, args)
        p = simulate("--fault-reorder", "2")
        self.assertNotEqual(p.returncode, 0)


@unittest.skipUnless(freeradius.FREERADIUS, "freeradius is not installed")
class FreeRadiusTest(SimulateTestCase):
    def test_detail_file_holds_every_request_once_with_the_expected_counters(self):
        with freeradius.FreeRadius(os.path.join(self.tmp, "raddb"), "detail") as fr:
            out, expected = self.run_json(
                "--radius", f"127.0.0.1:{fr.port}", "--lines", 50, "--sessions", 400,
                "--speed", 0, "--start", "now-10d", "--window", 256, "--volume-scale", 40,
                "--seed", 11, *ALL_FAULTS)
            records = fr.detail_records()
        model = out["model"]
        self.assertEqual(out["acknowledged"], out["requests"])
        self.assertEqual((out["timed_out"], out["unsent"]), (0, 0))
        self.assertEqual(model["sessions_started"], 400)
        for fault in ("retransmits", "duplicates", "reordered", "nas_reboots"):
            self.assertGreater(model[fault], 0, fault)
        self.assertEqual(out["copies_sent"], model["retransmits"])
        # One record per distinct request: the copies sent twice were recorded once.
        self.assertEqual(len(records), out["requests"])
        kinds = {}
        for r in records:
            kinds[r["Acct-Status-Type"]] = kinds.get(r["Acct-Status-Type"], 0) + 1
        self.assertEqual(kinds, {"Start": model["starts"],
                                 "Interim-Update": model["interims"] + model["duplicates"],
                                 "Stop": model["stops"],
                                 "Accounting-On": model["accounting_ons"]})
        # Per session the highest cumulative counters (Gigawords included), per line their sum.
        line_by_imsi = {l["imsi"]: l["id"] for l in expected.values()}
        best = {}
        for r in records:
            if r["Acct-Status-Type"] in ("Start", "Accounting-On"):
                continue
            self.assertEqual(r["3GPP-IMSI"], r["User-Name"])
            self.assertIn("Event-Timestamp", r)
            key = (r["NAS-IP-Address"], r["NAS-Identifier"], r["Acct-Session-Id"])
            up = (int(r["Acct-Input-Gigawords"]) << 32) | int(r["Acct-Input-Octets"])
            down = (int(r["Acct-Output-Gigawords"]) << 32) | int(r["Acct-Output-Octets"])
            line = line_by_imsi[r["User-Name"]]
            b = best.setdefault(key, [line, 0, 0])
            self.assertEqual(b[0], line, key)
            b[1], b[2] = max(b[1], up), max(b[2], down)
        self.assertTrue(any(b[2] >= 1 << 32 for b in best.values()), "no counter above 2^32")
        totals = {line: [0, 0] for line in expected}
        for line, up, down in best.values():
            totals[line][0] += up
            totals[line][1] += down
        for line, e in expected.items():
            self.assertEqual(totals[line], [e["bytes_up"], e["bytes_down"]], line)
        self.assertEqual(sum(t[1] for t in totals.values()), out["expected"]["bytes_down"])

    def test_sql_radacct_has_one_row_per_session_with_its_final_counters(self):
        with freeradius.FreeRadius(os.path.join(self.tmp, "raddb"), "sql") as fr:
            out, expected = self.run_json(
                "--radius", f"127.0.0.1:{fr.port}", "--lines", 8, "--sessions", 30,
                "--speed", 0, "--start", "now-5d", "--window", 1, "--timeout", "10s",
                "--fault-retransmit", "0.1", "--fault-duplicate", "0.1", "--seed", 5)
            rows = fr.radacct()
        self.assertEqual((out["acknowledged"], out["timed_out"]), (out["requests"], 0))
        self.assertEqual(len(rows), out["model"]["sessions_started"])
        self.assertTrue(all(r["acctstoptime"] for r in rows))
        line_by_imsi = {l["imsi"]: l["id"] for l in expected.values()}
        totals = {line: [0, 0] for line in expected}
        for r in rows:
            totals[line_by_imsi[r["username"]]][0] += r["acctinputoctets"]
            totals[line_by_imsi[r["username"]]][1] += r["acctoutputoctets"]
        for line, e in expected.items():
            self.assertEqual(totals[line], [e["bytes_up"], e["bytes_down"]], line)


class RyuryoTest(SimulateTestCase):
    def server(self, lines_toml=""):
        with open(harness.DEMO_CONFIG) as f:
            text = f.read()
        plans = text[text.index("[[plans]]"):text.index("[[pools]]")]
        config = "\n".join(['[server]', 'http = "127.0.0.1:0"', 'data_dir = "data"', '', plans,
                            lines_toml, '[radius]', 'accounting = "127.0.0.1:0"', '',
                            '[[radius.clients]]', 'address = "127.0.0.1"',
                            f'secret = "{SECRET}"', ''])
        srv = harness.Server(config_text=config)
        self.addCleanup(srv.cleanup)
        srv.start()
        self.assertIsNotNone(srv.radius_port)
        return srv

    def usage(self, srv, line):
        r = srv.get(f"/v1/lines/{line}/usage")
        self.assertEqual(r.status, 200, r.body)
        u = r.json()
        return [u["bytes_up"], u["bytes_down"]]

    def test_provisioned_lines_counted_to_the_byte_with_every_fault(self):
        srv = self.server()
        out, expected = self.run_json(
            "--radius", f"127.0.0.1:{srv.radius_port}", "--lines", 40, "--provision",
            "unlimited-fair", "--server", srv.url, "--token", srv.token, "--sessions", 300,
            "--speed", 0, "--start", rfc3339(cycle_safe_start(2 * 86400)), "--duration", "60s",
            "--window", 128, "--volume-scale", 20, "--seed", 21, *ALL_FAULTS)
        self.assertEqual((out["acknowledged"], out["timed_out"]), (out["requests"], 0))
        self.assertGreater(out["model"]["reordered"] + out["model"]["duplicates"], 0)
        self.assertEqual(len(expected), 40)
        line = srv.get("/v1/lines/sim-7").json()
        self.assertEqual((line["plan"], line["imsi"], line["msisdn"]),
                         ("unlimited-fair", "440100000000007", "+819000000007"))
        for line_id, e in expected.items():
            self.assertEqual(self.usage(srv, line_id), [e["bytes_up"], e["bytes_down"]], line_id)
        self.assertGreater(out["expected"]["bytes_down"], 0)

    def test_lines_from_the_server_found_by_imsi_msisdn_or_id(self):
        lines = "\n".join([
            '[[lines]]', 'id = "both"', 'plan = "mvno-20gb"', 'imsi = "440101234500001"',
            'msisdn = "+81 70-1234-0001"', '',
            '[[lines]]', 'id = "msisdn-only"', 'plan = "unlimited-fair"',
            'msisdn = "+81 80-1234-0004"', '',
            '[[lines]]', 'id = "id-only"', 'plan = "mvno-20gb"', ''])
        srv = self.server(lines)
        out, expected = self.run_json(
            "--radius", f"127.0.0.1:{srv.radius_port}", "--from-server", srv.url, "--token",
            srv.token, "--requests", 150, "--speed", 0,
            "--start", rfc3339(cycle_safe_start(3 * 86400)), "--duration", "20s", "--seed", 4)
        self.assertEqual(sorted(expected), ["both", "id-only", "msisdn-only"])
        self.assertEqual(expected["msisdn-only"]["msisdn"], "818012340004")
        self.assertEqual((out["acknowledged"], out["timed_out"]), (out["requests"], 0))
        for line_id, e in expected.items():
            self.assertEqual(self.usage(srv, line_id), [e["bytes_up"], e["bytes_down"]], line_id)
            self.assertGreater(e["bytes_down"], 0, line_id)


if __name__ == "__main__":
    unittest.main()

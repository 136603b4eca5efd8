"""The crash test the product promises (DESIGN §3 "Durability"): kill -9 at a random moment while
clients stream usage batches, restart on the same data directory, and check that

  * every acknowledged record (HTTP 200) is counted exactly once;
  * records of batches that were in flight (sent, no answer) are counted at most once;
  * records of batches never sent are not counted;
  * a line's used bytes, the sum of its history (hourly and daily) and its audit trail agree;
  * re-sending ALL batches after the restart counts every record exactly once (dedup keys
    survived the crash);
  * each threshold alert fired at most once, and fired exactly when the committed usage meets it
    (its "fired" flag committed with its batch), also after the re-send.

Three kill/restart cycles in one test. The kill moment is drawn from a seeded RNG: the seed is
printed; RYURYO_CRASH_SEED=<int> replays the same batches and kill point (counted in acks).
"""
import http.client
import json
import os
import random
import sys
import threading
import time
import unittest
import urllib.parse
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

LINES = ["crash-a", "crash-b", "crash-c"]
THREADS = 6
BATCHES_PER_THREAD = 20
RECORDS_PER_BATCH = 200
CYCLES = 3
QUOTA = 10 * 10**9  # "10 GB": the final total of every line is ~9 GB
PERCENTS = [10, 30, 50, 70]
LEFT = 2 * 10**9  # "2 GB left": met at 8 GB used
THRESHOLD_LABELS = [f"{p}%" for p in PERCENTS] + ["2 GB left"]

CONFIG = """
[server]
http = "127.0.0.1:0"
data_dir = "data"

[[plans]]
id = "crash-pass"
name = "Crash test pass 30 days 10 GB"
kind = "pass"
quota = "10 GB"
validity = "30d"
starts = "activation"
after_quota = { action = "throttle", rate = "128 kbps" }
alerts = ["10%", "30%", "50%", "70%", "2 GB left"]
timezone = "UTC"
"""


def threshold_met(label, used):
    """True / False when `used` clearly meets / misses the threshold; None on the exact edge."""
    if label.endswith("%"):
        lhs, rhs = used * 100, int(label[:-1]) * QUOTA
    else:
        lhs, rhs = used, QUOTA - LEFT
    if lhs == rhs:
        return None
    return lhs > rhs


class Batch:
    def __init__(self, key, records):
        self.key = key
        self.records = records  # list of (id, line, up, down)
        body = []
        end = int(time.time())
        for rid, line, up, down in records:
            body.append({"id": rid, "line": line, "bytes_up": up, "bytes_down": down,
                         "start": harness.rfc3339(end - 60), "end": harness.rfc3339(end),
                         "app": "app%d" % (up % 3), "source": "crash-test"})
        self.body = json.dumps(body).encode()


def post_batch(conn, batch):
    conn.request("POST", "/v1/usage", body=batch.body,
                 headers={"Content-Type": "application/json", "Authorization": "Bearer test-token"})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, data


class Sender(threading.Thread):
    """Posts its batches in order on one keep-alive connection; stops at the first failure."""

    def __init__(self, url, batches, state):
        super().__init__(daemon=True)
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.batches = batches
        self.state = state

    def run(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            for b in self.batches:
                with self.state.lock:
                    self.state.inflight.add(b.key)
                try:
                    status, data = post_batch(conn, b)
                except Exception:  # the server died under us: this batch was in flight
                    return
                with self.state.lock:
                    if status == 200:
                        res = json.loads(data)
                        if (res["accepted"] + res["duplicates"] != len(b.records) or res["rejected"]
                                or res.get("quarantined")):
                            self.state.errors.append(f"{b.key}: unexpected answer {res}")
                        self.state.inflight.discard(b.key)
                        self.state.acked.add(b.key)
                        self.state.answers[b.key] = res
                    else:
                        self.state.errors.append(f"{b.key}: HTTP {status} {data[:200]!r}")
                        return
        finally:
            conn.close()


class SendState:
    def __init__(self):
        self.lock = threading.Lock()
        self.inflight = set()
        self.acked = set()
        self.errors = []
        self.answers = {}


def send_all(url, batches, threads=THREADS):
    """Sends every batch (no crash); returns the SendState."""
    state = SendState()
    chunks = [batches[i::threads] for i in range(threads)]
    senders = [Sender(url, c, state) for c in chunks]
    for s in senders:
        s.start()
    for s in senders:
        s.join(timeout=120)
    return state


class CrashTest(unittest.TestCase):
    def setUp(self):
        seed_env = os.environ.get("RYURYO_CRASH_SEED")
        self.seed = int(seed_env) if seed_env else random.SystemRandom().randrange(1 << 31)
        print(f"\ntest_crash: seed {self.seed} (replay with RYURYO_CRASH_SEED={self.seed})",
              flush=True)
        self.rng = random.Random(self.seed)
        warnings.simplefilter("ignore", ResourceWarning)  # the harness's log file and drain pipe
        self.server = harness.Server(config_text=CONFIG)
        self.server.start()

    def tearDown(self):
        self.server.cleanup()

    # ----------------------------------------------------------------------------------------

    def make_batches(self, cycle):
        """THREADS lists of BATCHES_PER_THREAD batches. Bytes are sized so that the total over
        all cycles is ~9 GB per line (all thresholds met at the end, quota never reached)."""
        per_line_records = CYCLES * THREADS * BATCHES_PER_THREAD * RECORDS_PER_BATCH / len(LINES)
        mean = 9 * 10**9 / per_line_records
        out = []
        for t in range(THREADS):
            batches = []
            for b in range(BATCHES_PER_THREAD):
                recs = []
                for i in range(RECORDS_PER_BATCH):
                    line = LINES[(t + b + i) % len(LINES)]
                    total = self.rng.randint(int(mean * 0.5), int(mean * 1.5))
                    up = self.rng.randint(0, total // 5)
                    recs.append((f"c{cycle}-t{t}-b{b}-r{i}", line, up, total - up))
                batches.append(Batch(f"c{cycle}-t{t}-b{b}", recs))
            out.append(batches)
        return out

    def all_events(self):
        events, after = [], 0
        while True:
            r = self.server.get(f"/v1/events?after={after}&limit=1000")
            self.assertEqual(r.status, 200, r.body)
            j = r.json()
            events += j["events"]
            if not j["events"]:
                return events
            after = j["next"]

    def audit_ids(self, line):
        ids, before = [], 0
        while True:
            q = f"/v1/lines/{line}/audit?limit=1000" + (f"&before={before}" if before else "")
            r = self.server.get(q)
            self.assertEqual(r.status, 200, r.body)
            j = r.json()
            for e in j["entries"]:
                ids.append((e["record"], e["bytes_up"], e["bytes_down"]))
            if not j["entries"] or j["next"] is None:
                return ids
            before = j["next"]

    def history_sum(self, line, granularity, since):
        frm = harness.rfc3339(since - 2 * 86400)
        to = harness.rfc3339(time.time() + 2 * 86400)
        r = self.server.get(f"/v1/lines/{line}/history?granularity={granularity}"
                            f"&from={frm}&to={to}")
        self.assertEqual(r.status, 200, r.body)
        return sum(p["bytes_up"] + p["bytes_down"] for p in r.json()["points"])

    def verify(self, what, required, allowed, records):
        t_start = time.time()
        try:
            return self._verify(what, required, allowed, records)
        finally:
            print(f"{what}: verified in {time.time() - t_start:.1f} s", flush=True)

    def _verify(self, what, required, allowed, records):
        """Every record id in `required` counted once, others only from `allowed`, each once;
        usage, history and audit agree; thresholds fired once and exactly when met."""
        counted = {}
        got_all = set()
        for line in LINES:
            audit = self.audit_ids(line)
            keys = [k for k, _, _ in audit]
            self.assertEqual(len(keys), len(set(keys)),
                             f"{what}: {line}: a record appears twice in the audit trail")
            got = set(keys)
            got_all |= got
            want_req = {"id:" + rid for rid, (l, _, _) in records.items()
                        if l == line and rid in required}
            missing = want_req - got
            self.assertFalse(bool(missing), f"{what}: {line}: {len(missing)} acknowledged records lost, "
                                      f"e.g. {sorted(missing)[:3]}")
            allowed_keys = {"id:" + rid for rid in allowed}
            extra = got - allowed_keys
            self.assertFalse(bool(extra), f"{what}: {line}: {len(extra)} records counted that were "
                                    f"never sent, e.g. {sorted(extra)[:3]}")
            up = down = 0
            for k, u, d in audit:
                rid = k[3:]
                self.assertEqual(records[rid][0], line, f"{what}: {rid} charged to the wrong line")
                self.assertEqual((u, d), records[rid][1:], f"{what}: {rid}: bytes differ")
                up += u
                down += d
            r = self.server.get(f"/v1/lines/{line}/usage")
            self.assertEqual(r.status, 200, r.body)
            usage = r.json()
            self.assertEqual(usage["used"], up + down,
                             f"{what}: {line}: used != sum of the audit trail")
            self.assertEqual((usage["bytes_up"], usage["bytes_down"]), (up, down),
                             f"{what}: {line}: bytes_up/bytes_down")
            self.assertEqual(self.history_sum(line, "hour", self.t0), up + down,
                             f"{what}: {line}: hourly history != used")
            self.assertEqual(self.history_sum(line, "day", self.t0), up + down,
                             f"{what}: {line}: daily history != used")
            counted[line] = up + down
        # Threshold events: once per (line, threshold); fired iff the committed usage meets it.
        events = self.all_events()
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, sorted(set(seqs)), f"{what}: event seqs not unique and increasing")
        fired = {}
        for e in events:
            if e["type"] != "threshold":
                continue
            k = (e["line"], e["threshold"])
            self.assertNotIn(k, fired, f"{what}: threshold event {k} fired twice: "
                                       f"{fired.get(k)} and {e}")
            fired[k] = e
        for line in LINES:
            for label in THRESHOLD_LABELS:
                met = threshold_met(label, counted[line])
                if met is None:
                    continue
                self.assertEqual((line, label) in fired, met,
                                 f"{what}: {line} used {counted[line]}: threshold {label} "
                                 f"{'not fired although met' if met else 'fired although not met'}")
        return counted, fired, got_all

    # ----------------------------------------------------------------------------------------

    def test_kill9_during_ingest_three_times(self):
        try:
            self.run_cycles()
        except BaseException:
            print(f"test_crash: failed with seed {self.seed}; server log (tail):\n"
                  + self.server.read_log()[-4000:], flush=True)
            raise

    def run_cycles(self):
        self.t0 = int(time.time())
        for line in LINES:
            r = self.server.put(f"/v1/lines/{line}", {"plan": "crash-pass", "account": "crash"})
            self.assertEqual(r.status, 201, r.body)

        records = {}  # id -> (line, up, down)
        everything = []  # every batch of every cycle so far
        sent_ok = set()  # record ids known counted after each re-send
        for cycle in range(1, CYCLES + 1):
            per_thread = self.make_batches(cycle)
            batches = [b for bs in per_thread for b in bs]
            for b in batches:
                for rid, line, up, down in b.records:
                    records[rid] = (line, up, down)
            everything += batches
            by_key = {b.key: b for b in batches}

            # Stream, and kill -9 once a random number of batches got acknowledged (plus a
            # random few milliseconds, so the kill lands anywhere in a commit).
            total = len(batches)
            kill_after = self.rng.randint(1, total * 3 // 4)
            kill_delay = self.rng.uniform(0, 0.03)
            state = SendState()
            senders = [Sender(self.server.url, bs, state) for bs in per_thread]
            for s in senders:
                s.start()
            deadline = time.time() + 60
            while time.time() < deadline:
                with state.lock:
                    if len(state.acked) >= kill_after or state.errors:
                        break
                time.sleep(0.001)
            time.sleep(kill_delay)
            self.server.kill()
            for s in senders:
                s.join(timeout=60)
                self.assertFalse(s.is_alive(), "a sender hung after the kill")
            self.assertEqual(state.errors, [], "answers before the kill")
            acked = set(state.acked)
            inflight = set(state.inflight)
            print(f"cycle {cycle}: kill after {kill_after} acks (+{kill_delay * 1000:.1f} ms): "
                  f"{len(acked)} acked, {len(inflight)} in flight, "
                  f"{total - len(acked) - len(inflight)} never sent", flush=True)
            self.assertGreaterEqual(len(acked), kill_after)
            for k in acked:
                self.assertEqual(state.answers[k]["accepted"], RECORDS_PER_BATCH,
                                 f"{k}: a fresh batch must be accepted whole")

            # Restart on the same data dir and check the committed state.
            self.server.start()
            required = set(sent_ok)
            for k in acked:
                required |= {rid for rid, *_ in by_key[k].records}
            allowed = set(required)
            for k in inflight:
                allowed |= {rid for rid, *_ in by_key[k].records}
            _, _, got = self.verify(f"cycle {cycle} after kill -9", required, allowed, records)
            applied = [k for k in inflight if "id:" + by_key[k].records[0][0] in got]
            print(f"cycle {cycle}: after the restart {len(applied)} of the {len(inflight)} batches "
                  f"in flight were found committed", flush=True)

            # Re-send ALL batches so far (acked, in flight, never sent, earlier cycles): every
            # record is then counted exactly once.
            state2 = send_all(self.server.url, everything)
            self.assertEqual(state2.errors, [], "re-send")
            self.assertEqual(len(state2.acked), len(everything), "every re-sent batch answered")
            previously = {b.key for b in everything} - set(by_key)
            for k in acked | previously:
                res = state2.answers[k]
                self.assertEqual((res["accepted"], res["duplicates"]), (0, RECORDS_PER_BATCH),
                                 f"{k}: an acknowledged batch re-sent must be all duplicates")
            for k in set(by_key) - acked - inflight:
                res = state2.answers[k]
                self.assertEqual((res["accepted"], res["duplicates"]), (RECORDS_PER_BATCH, 0),
                                 f"{k}: a batch never sent must be all new")
            sent_ok = {rid for b in everything for rid, *_ in b.records}
            counted, fired, _ = self.verify(f"cycle {cycle} after re-send", sent_ok, sent_ok,
                                            records)
            for line in LINES:
                want = sum(up + down for rid, (l, up, down) in records.items() if l == line)
                self.assertEqual(counted[line], want, f"cycle {cycle}: {line}: total")

        # At the end every line is at ~9 GB of 10 GB: every threshold fired, exactly once.
        for line in LINES:
            for label in THRESHOLD_LABELS:
                self.assertIn((line, label), fired, f"{line}: {label} never fired")


if __name__ == "__main__":
    unittest.main(verbosity=2)

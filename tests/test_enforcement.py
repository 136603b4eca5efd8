"""End-to-end tests of RADIUS enforcement (RFC 5176 CoA-Request / Disconnect-Request,
src/notify/enforcement.h) against a real FreeRADIUS 3.2 standing in for the NAS.

Each test starts FreeRADIUS with a self-contained configuration directory: a `coa` listener on a
free UDP port of 127.0.0.1 whose virtual server logs every request it receives, attribute by
attribute, with the detail module, and answers ACK — NAK with Error-Cause
Session-Context-Not-Found (503) for User-Name "nak-me". ryuryo's only RADIUS client is 127.0.0.1
with that port as its `coa_port`; the accounting sessions are opened with `radclient` and carry
NAS-IP-Address 10.0.0.1 (not a client), so the requests go to the client the accounting came from.

Lines are on small plans (1 MB a month, then throttled at 128 kbps or blocked); an Interim-Update
of 2,000,000 octets uses the quota up. What the NAS received is read back from the detail file;
what ryuryo made of the answers from the `enforcement` events of GET /v1/events.
"""
import calendar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SECRET = "testing123"
RADCLIENT = shutil.which("radclient")
FREERADIUS = shutil.which("freeradius") or shutil.which("radiusd")
NAS_IP = "10.0.0.1"
OVER_QUOTA = 2_000_000  # octets: more than "1 MB" however it is counted
SESSION_CONTEXT_NOT_FOUND = 503

PLANS = """
[[plans]]
id = "small-throttle"
name = "1 MB, then 128 kbps"
kind = "monthly"
quota = "1 MB"
cycle_day = 1
after_quota = { action = "throttle", rate = "128 kbps" }

[[plans]]
id = "small-block"
name = "1 MB, then blocked"
kind = "monthly"
quota = "1 MB"
cycle_day = 1
after_quota = { action = "block" }

[[plans]]
id = "small-shared"
name = "1 MB shared, then 128 kbps"
kind = "monthly"
quota = "1 MB"
cycle_day = 1
after_quota = { action = "throttle", rate = "128 kbps" }

[[pools]]
id = "family"
plan = "small-shared"
"""

# line id -> (plan or pool, IMSI)
LINES = {
    "thr-1": ("plan", "small-throttle", "440109900000001"),
    "thr-2": ("plan", "small-throttle", "440109900000002"),
    "blk-1": ("plan", "small-block", "440109900000003"),
    "fam-1": ("pool", "family", "440109900000004"),
    "fam-2": ("pool", "family", "440109900000005"),
}

CUSTOM_POLICY = """
[radius.policy.throttled]
attributes = ["Filter-Id = throttled", "Mikrotik-Rate-Limit = {rate_kbps}k/{rate_kbps}k"]

[radius.policy.normal]
attributes = ["Filter-Id = normal"]
"""


def config(coa_port, policy=""):
    out = ['[server]', 'http = "127.0.0.1:0"', 'data_dir = "data"', PLANS]
    for line_id, (kind, owner, imsi) in LINES.items():
        out += ["[[lines]]", f'id = "{line_id}"', f'{kind} = "{owner}"', f'imsi = "{imsi}"', ""]
    out += ["[radius]", 'accounting = "127.0.0.1:0"', "",
            "[[radius.clients]]", 'address = "127.0.0.1"', f'secret = "{SECRET}"',
            f"coa_port = {coa_port}", policy]
    return "\n".join(out) + "\n"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def acct(status, session, line, user, calling=None, framed=None, octets=0):
    """One radclient packet for `line` (named by its IMSI); `octets` cumulative, downlink."""
    a = [f"Acct-Status-Type = {status}", f'Acct-Session-Id = "{session}"',
         f"NAS-IP-Address = {NAS_IP}", f'User-Name = "{user}"',
         f'3GPP-IMSI = "{LINES[line][2]}"', "Acct-Input-Octets = 0",
         f"Acct-Output-Octets = {octets}"]
    if calling is not None:
        a.append(f'Calling-Station-Id = "{calling}"')
    if framed is not None:
        a.append(f"Framed-IP-Address = {framed}")
    return "\n".join(a)


# --- FreeRADIUS as the NAS --------------------------------------------------------------------

def nas_conf(d, port):
    return f"""prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
raddbdir = {d}
confdir = ${{raddbdir}}
logdir = ${{raddbdir}}
run_dir = ${{raddbdir}}
libdir = /usr/lib/freeradius
pidfile = ${{raddbdir}}/radiusd.pid
name = freeradius
max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no
log {{
  destination = stdout
}}
security {{
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = no
}}
client localhost {{
  ipaddr = 127.0.0.1
  secret = {SECRET}
}}
thread pool {{
  start_servers = 1
  max_servers = 2
  min_spare_servers = 1
  max_spare_servers = 2
}}
modules {{
  always reject {{
    rcode = reject
  }}
  always ok {{
    rcode = ok
  }}
  detail received {{
    filename = ${{raddbdir}}/received.detail
    escape_filenames = no
    permissions = 0600
    header = "%t"
  }}
}}
listen {{
  type = coa
  ipaddr = 127.0.0.1
  port = {port}
  virtual_server = coa
}}
server coa {{
  recv-coa {{
    received
    if (&User-Name == "nak-me") {{
      update reply {{
        &Error-Cause := Session-Context-Not-Found
      }}
      reject
    }}
    ok
  }}
  send-coa {{
    ok
  }}
}}
"""


class Received:
    """One request as FreeRADIUS's detail module wrote it."""

    def __init__(self):
        self.packet_type = None
        self.attributes = []  # (name, value), quotes removed

    def get(self, name):
        return [v for n, v in self.attributes if n == name]

    def one(self, name):
        values = self.get(name)
        if len(values) != 1:
            raise AssertionError(f"{name}: {values} in {self}")
        return values[0]

    def names(self):
        return {n for n, _ in self.attributes}

    def __repr__(self):
        return f"{self.packet_type} {self.attributes}"


class FreeRadiusNas:
    """FreeRADIUS -X on 127.0.0.1:port in directory d, stopped by its PID."""

    def __init__(self, d, port):
        self.dir = d
        self.port = port
        self.proc = None
        self.log_path = os.path.join(d, "freeradius.log")
        self.detail_path = os.path.join(d, "received.detail")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "radiusd.conf"), "w") as f:
            f.write(nas_conf(d, port))

    def start(self, timeout_s=20):
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen([FREERADIUS, "-X", "-d", self.dir], stdout=log,
                                         stderr=subprocess.STDOUT)
        finally:
            log.close()
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if "Ready to process requests" in self.log():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("FreeRADIUS did not start:\n" + self.log()[-4000:])

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None

    def received(self):
        out = []
        try:
            with open(self.detail_path, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return out
        cur = None
        for line in lines:
            if not line.strip():
                cur = None
                continue
            if not line.startswith("\t"):  # the timestamp line that starts a request
                cur = Received()
                out.append(cur)
                continue
            name, _, value = line.strip().partition(" = ")
            if cur is None:
                continue
            if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
                value = value[1:-1]
            if name == "Packet-Type":
                cur.packet_type = value
            else:
                cur.attributes.append((name, value))
        return out


# --- the tests --------------------------------------------------------------------------------

@unittest.skipUnless(RADCLIENT and FREERADIUS, "freeradius / freeradius-utils not installed")
class EnforcementTestCase(unittest.TestCase):
    POLICY = ""

    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)  # the harness's log file and drain pipe
        self.tmp = tempfile.mkdtemp(prefix="ryuryo-enf-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.files = 0
        self.nas_port = free_udp_port()
        self.nas = FreeRadiusNas(os.path.join(self.tmp, "nas"), self.nas_port)
        self.addCleanup(self.nas.stop)
        self.srv = harness.Server(config_text=config(self.nas_port, self.POLICY))
        self.addCleanup(self.srv.cleanup)

    def start(self, nas=True):
        if nas:
            self.nas.start()
        self.srv.start()
        self.assertIsNotNone(self.srv.radius_port)

    def radclient(self, packets):
        self.files += 1
        path = os.path.join(self.tmp, f"packets-{self.files}.txt")
        with open(path, "w") as f:
            f.write("\n\n".join(packets) + "\n")
        p = subprocess.run([RADCLIENT, "-x", "-p", "1", "-t", "3", "-r", "3",
                            f"127.0.0.1:{self.srv.radius_port}", "acct", SECRET, "-f", path],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((p.returncode, p.stdout.count("Received Accounting-Response")),
                         (0, len(packets)), p.stdout + p.stderr + self.srv.read_log()[-3000:])

    def ok(self, r, status=(200, 201)):
        self.assertIn(r.status, status, r.body)
        return r.json()

    def events(self):
        out, after = [], 0
        while True:
            page = self.ok(self.srv.get(f"/v1/events?after={after}&limit=1000"))
            out += page["events"]
            if page["next"] == after:
                return out
            after = page["next"]

    def enforcement(self):
        return [e for e in self.events() if e["type"] == "enforcement"]

    def wait_for(self, what, predicate, timeout_s=10):
        """Polls until predicate() is truthy; returns its value."""
        deadline = time.time() + timeout_s
        while True:
            got = predicate()
            if got:
                return got
            if time.time() > deadline:
                self.fail(f"timed out waiting for {what}; events: {self.events()}\n"
                          f"NAS received: {self.nas.received()}\nserver log:\n"
                          f"{self.srv.read_log()[-3000:]}")
            time.sleep(0.05)

    def wait_enforcement(self, n, timeout_s=10):
        """Waits for n enforcement events in all; returns them."""
        def enough():
            evs = self.enforcement()
            return evs if len(evs) >= n else None
        return self.wait_for(f"{n} enforcement events", enough, timeout_s)

    def event_of(self, type_, line=None, pool=None):
        evs = [e for e in self.events() if e["type"] == type_ and
               (line is None or e.get("line") == line) and (pool is None or e.get("pool") == pool)]
        self.assertEqual(len(evs), 1, (type_, line, self.events()))
        return evs[0]

    def metric(self, name, **labels):
        r = self.srv.get("/metrics", token=False)
        total = 0
        for m in re.finditer(r"^(\w+)(?:\{([^}]*)\})? (\S+)$", r.body, re.M):
            if m.group(1) != name:
                continue
            got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            if all(got.get(k) == v for k, v in labels.items()):
                total += float(m.group(3))
        return int(total)

    def topup(self, line):
        self.ok(self.srv.post(f"/v1/lines/{line}/topups", {"quota": "1 GB", "validity": "30d"}),
                (201,))

    def check_identification(self, req, session, user, calling=None, framed=None):
        """The RFC 5176 session identification, as sent in the accounting."""
        self.assertEqual(req.one("User-Name"), user, req)
        self.assertEqual(req.one("Acct-Session-Id"), session, req)
        self.assertEqual(req.one("NAS-IP-Address"), NAS_IP, req)
        self.assertEqual(req.get("Calling-Station-Id"), [calling] if calling else [], req)
        self.assertEqual(req.get("Framed-IP-Address"), [framed] if framed else [], req)
        self.assertEqual(len(req.get("Event-Timestamp")), 1, req)
        self.assertEqual(len(req.get("Message-Authenticator")), 1, req)

    def check_event(self, ev, cause, line, action, state, session, result="ack"):
        self.assertEqual((ev["cause"], ev["line"], ev["action"], ev["state"], ev["session_id"],
                          ev["nas"], ev["result"]),
                         ("evt-%d" % cause["seq"], line, action, state, session,
                          f"127.0.0.1:{self.nas_port}", result), ev)


class ConfiguredPolicyTest(EnforcementTestCase):
    POLICY = CUSTOM_POLICY

    def test_throttle_coa_then_topup_coa_normal(self):
        self.start()
        self.radclient([acct("Start", "cfg-1", "thr-1", "alice", calling="819011112222",
                             framed="10.64.0.7"),
                        acct("Interim-Update", "cfg-1", "thr-1", "alice", calling="819011112222",
                             framed="10.64.0.7", octets=OVER_QUOTA)])
        throttled = self.event_of("throttled", "thr-1")
        self.assertEqual(throttled["rate_bps"], 128_000)
        [ev] = self.wait_enforcement(1)
        self.check_event(ev, throttled, "thr-1", "coa", "throttled", "cfg-1")
        [req] = self.nas.received()
        self.assertEqual(req.packet_type, "CoA-Request", req)
        self.check_identification(req, "cfg-1", "alice", "819011112222", "10.64.0.7")
        self.assertEqual(req.get("Filter-Id"), ["throttled"], req)
        self.assertEqual(req.get("Mikrotik-Rate-Limit"), ["128k/128k"], req)

        # The top-up restores the line: a CoA with the normal attributes (and nothing else).
        self.topup("thr-1")
        restored = self.event_of("restored", "thr-1")
        evs = self.wait_enforcement(2)
        self.check_event(evs[1], restored, "thr-1", "coa", "normal", "cfg-1")
        reqs = self.nas.received()
        self.assertEqual(len(reqs), 2, reqs)
        self.assertEqual(reqs[1].packet_type, "CoA-Request", reqs[1])
        self.check_identification(reqs[1], "cfg-1", "alice", "819011112222", "10.64.0.7")
        self.assertEqual(reqs[1].get("Filter-Id"), ["normal"], reqs[1])
        self.assertEqual(reqs[1].get("Mikrotik-Rate-Limit"), [], reqs[1])
        self.assertEqual(self.metric("ryuryo_enforcement_requests_total", action="coa",
                                     result="ack"), 2)


class DefaultPolicyTest(EnforcementTestCase):
    def test_throttle_coa_then_topup_disconnect(self):
        self.start()
        self.radclient([acct("Start", "def-1", "thr-1", "bob", framed="10.64.0.8"),
                        acct("Interim-Update", "def-1", "thr-1", "bob", framed="10.64.0.8",
                             octets=OVER_QUOTA)])
        throttled = self.event_of("throttled", "thr-1")
        [ev] = self.wait_enforcement(1)
        self.check_event(ev, throttled, "thr-1", "coa", "throttled", "def-1")
        [req] = self.nas.received()
        self.assertEqual(req.packet_type, "CoA-Request", req)
        self.check_identification(req, "def-1", "bob", None, "10.64.0.8")
        self.assertEqual(req.get("Filter-Id"), ["throttled"], req)
        self.assertNotIn("Mikrotik-Rate-Limit", req.names())

        # No normal attributes: a CoA cannot undo the throttle, so the session is disconnected.
        self.topup("thr-1")
        restored = self.event_of("restored", "thr-1")
        evs = self.wait_enforcement(2)
        self.check_event(evs[1], restored, "thr-1", "disconnect", "normal", "def-1")
        reqs = self.nas.received()
        self.assertEqual(len(reqs), 2, reqs)
        self.assertEqual(reqs[1].packet_type, "Disconnect-Request", reqs[1])
        self.check_identification(reqs[1], "def-1", "bob", None, "10.64.0.8")
        self.assertEqual(reqs[1].names() & {"Filter-Id", "Reply-Message"}, set(), reqs[1])

    def test_block_plan_disconnect(self):
        self.start()
        self.radclient([acct("Start", "blk-s", "blk-1", "carol", calling="819033334444"),
                        acct("Interim-Update", "blk-s", "blk-1", "carol",
                             calling="819033334444", octets=OVER_QUOTA)])
        blocked = self.event_of("blocked", "blk-1")
        [ev] = self.wait_enforcement(1)
        self.check_event(ev, blocked, "blk-1", "disconnect", "blocked", "blk-s")
        [req] = self.nas.received()
        self.assertEqual(req.packet_type, "Disconnect-Request", req)
        self.check_identification(req, "blk-s", "carol", "819033334444", None)
        self.assertEqual(req.names() & {"Filter-Id", "Reply-Message"}, set(), req)

    def test_nak_is_recorded_and_not_retried(self):
        self.start()
        self.radclient([acct("Start", "nak-s", "thr-1", "nak-me"),
                        acct("Interim-Update", "nak-s", "thr-1", "nak-me", octets=OVER_QUOTA)])
        throttled = self.event_of("throttled", "thr-1")
        [ev] = self.wait_enforcement(1)
        self.check_event(ev, throttled, "thr-1", "coa", "throttled", "nak-s", result="nak")
        self.assertEqual(ev.get("error_cause"), SESSION_CONTEXT_NOT_FOUND, ev)
        # A NAK is final: past the first backoff (1 s) nothing more is sent or recorded.
        time.sleep(1.6)
        reqs = self.nas.received()
        self.assertEqual([r.packet_type for r in reqs], ["CoA-Request"], reqs)
        self.assertEqual(reqs[0].one("User-Name"), "nak-me")
        self.assertEqual(len(self.enforcement()), 1, self.enforcement())
        self.assertEqual(self.metric("ryuryo_enforcement_requests_total", result="nak"), 1)
        self.assertEqual(self.metric("ryuryo_enforcement_outbox_failed_attempts_total"), 0)
        self.assertEqual(self.metric("ryuryo_enforcement_outbox_delivered_total"), 1)
        self.assertEqual(self.metric("ryuryo_enforcement_outbox_pending"), 0)

    def test_stopped_session_none_two_open_sessions_each_one(self):
        self.start()
        self.radclient([
            acct("Start", "old", "thr-2", "dave", framed="10.64.1.1"),
            acct("Stop", "old", "thr-2", "dave", framed="10.64.1.1", octets=1000),
            acct("Start", "s-a", "thr-2", "dave", framed="10.64.1.2"),
            acct("Start", "s-b", "thr-2", "dave", framed="10.64.1.3"),
            acct("Interim-Update", "s-a", "thr-2", "dave", framed="10.64.1.2", octets=OVER_QUOTA),
        ])
        throttled = self.event_of("throttled", "thr-2")
        evs = self.wait_enforcement(2)
        time.sleep(0.3)  # nothing for the stopped session comes after
        evs = self.enforcement()
        self.assertEqual(sorted(e["session_id"] for e in evs), ["s-a", "s-b"], evs)
        for e in evs:
            self.check_event(e, throttled, "thr-2", "coa", "throttled", e["session_id"])
        reqs = self.nas.received()
        self.assertEqual(len(reqs), 2, reqs)
        by_session = {r.one("Acct-Session-Id"): r for r in reqs}
        self.assertEqual(sorted(by_session), ["s-a", "s-b"], reqs)
        for sid, framed in (("s-a", "10.64.1.2"), ("s-b", "10.64.1.3")):
            r = by_session[sid]
            self.assertEqual(r.packet_type, "CoA-Request", r)
            self.check_identification(r, sid, "dave", None, framed)
            self.assertEqual(r.get("Filter-Id"), ["throttled"], r)

    def test_pool_members_sessions_are_enforced(self):
        self.start()
        self.radclient([
            acct("Start", "f1", "fam-1", "erin", framed="10.64.2.1"),
            acct("Start", "f2", "fam-2", "frank", framed="10.64.2.2"),
            acct("Interim-Update", "f1", "fam-1", "erin", framed="10.64.2.1", octets=600_000),
            acct("Interim-Update", "f2", "fam-2", "frank", framed="10.64.2.2",
                 octets=OVER_QUOTA),
        ])
        throttled = self.event_of("throttled", pool="family")
        evs = self.wait_enforcement(2)
        time.sleep(0.3)
        evs = self.enforcement()
        self.assertEqual(sorted((e["session_id"], e["line"]) for e in evs),
                         [("f1", "fam-1"), ("f2", "fam-2")], evs)
        for e in evs:
            self.check_event(e, throttled, e["line"], "coa", "throttled", e["session_id"])
            self.assertEqual(e.get("pool"), "family", e)
        reqs = self.nas.received()
        by_session = {r.one("Acct-Session-Id"): r for r in reqs}
        self.assertEqual(len(reqs), 2, reqs)
        self.assertEqual(sorted(by_session), ["f1", "f2"], reqs)
        self.check_identification(by_session["f1"], "f1", "erin", None, "10.64.2.1")
        self.check_identification(by_session["f2"], "f2", "frank", None, "10.64.2.2")
        for r in reqs:
            self.assertEqual((r.packet_type, r.get("Filter-Id")), ("CoA-Request", ["throttled"]),
                             r)


class DurabilityTest(EnforcementTestCase):
    """The NAS is down when the line is throttled: each attempt times out after 1 + 2 + 4 s of
    retransmissions; the outbox retries with backoff (1 s, then 2 s) across a kill -9 of ryuryo,
    and the request is delivered once the NAS is up."""

    POLICY = CUSTOM_POLICY

    def at(self, ev):
        """An event's `at` in epoch seconds (float)."""
        m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", ev["at"])
        self.assertIsNotNone(m, ev)
        base = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
        if m.group(3) != "Z":
            sign = 1 if m.group(3)[0] == "+" else -1
            base -= sign * (int(m.group(3)[1:3]) * 3600 + int(m.group(3)[4:6]) * 60)
        return base + float(m.group(2) or 0)

    def test_nas_down_then_up_across_a_restart(self):
        self.start(nas=False)
        self.radclient([acct("Start", "dur-1", "thr-1", "gina", calling="819055556666",
                             framed="10.64.3.1"),
                        acct("Interim-Update", "dur-1", "thr-1", "gina", calling="819055556666",
                             framed="10.64.3.1", octets=OVER_QUOTA)])
        throttled = self.event_of("throttled", "thr-1")
        # First attempt: three transmissions, 7 s in all, no answer.
        [t1] = self.wait_enforcement(1, timeout_s=12)
        self.check_event(t1, throttled, "thr-1", "coa", "throttled", "dur-1", result="timeout")
        self.assertIn("no answer", t1.get("detail", ""), t1)
        self.wait_for("the failed attempt counted",
                      lambda: self.metric("ryuryo_enforcement_outbox_failed_attempts_total") >= 1)
        time.sleep(0.3)  # the rescheduled entry is written right after
        self.srv.kill()
        self.srv.start()
        # Still down: the second attempt (due 1 s after the first) times out as well.
        evs = self.wait_enforcement(2, timeout_s=14)
        t2 = evs[1]
        self.check_event(t2, throttled, "thr-1", "coa", "throttled", "dur-1", result="timeout")
        self.assertGreaterEqual(self.at(t2) - self.at(t1), 1 + 7 - 0.2, (t1, t2))
        # Now the NAS comes up on the same port; the third attempt, 2 s later, is answered.
        self.nas.start()
        evs = self.wait_enforcement(3, timeout_s=10)
        ack = evs[2]
        self.check_event(ack, throttled, "thr-1", "coa", "throttled", "dur-1")
        gap = self.at(ack) - self.at(t2)
        self.assertGreaterEqual(gap, 2 - 0.2, (t2, ack))
        self.assertLess(gap, 4, (t2, ack))
        [req] = self.nas.received()
        self.assertEqual(req.packet_type, "CoA-Request", req)
        self.check_identification(req, "dur-1", "gina", "819055556666", "10.64.3.1")
        self.assertEqual(req.get("Filter-Id"), ["throttled"], req)
        self.assertEqual(req.get("Mikrotik-Rate-Limit"), ["128k/128k"], req)
        # Delivered: nothing is retried any more.
        time.sleep(1.2)
        self.assertEqual(len(self.nas.received()), 1)
        self.assertEqual(len(self.enforcement()), 3)
        self.assertEqual(self.metric("ryuryo_enforcement_outbox_delivered_total"), 1)
        self.assertEqual(self.metric("ryuryo_enforcement_outbox_pending"), 0)

    def test_retry_sends_the_state_the_line_is_in_now(self):
        """Throttled while the NAS is down, topped up before it is back: the throttle's retry
        sends the normal attributes, never the throttled ones the line has left."""
        self.start(nas=False)
        self.radclient([acct("Start", "st-1", "thr-1", "hana", framed="10.64.4.1"),
                        acct("Interim-Update", "st-1", "thr-1", "hana", framed="10.64.4.1",
                             octets=OVER_QUOTA)])
        throttled = self.event_of("throttled", "thr-1")
        time.sleep(0.5)  # the first attempt is under way
        self.topup("thr-1")
        restored = self.event_of("restored", "thr-1")
        [t1] = self.wait_enforcement(1, timeout_s=12)
        self.check_event(t1, throttled, "thr-1", "coa", "throttled", "st-1", result="timeout")
        self.nas.start()
        evs = self.wait_enforcement(3, timeout_s=10)
        time.sleep(0.3)
        evs = self.enforcement()
        self.assertEqual(len(evs), 3, evs)
        by_cause = {e["cause"]: e for e in evs[1:]}
        self.assertEqual(sorted(by_cause), sorted(["evt-%d" % throttled["seq"],
                                                   "evt-%d" % restored["seq"]]), evs)
        self.check_event(by_cause["evt-%d" % throttled["seq"]], throttled, "thr-1", "coa",
                         "normal", "st-1")
        self.check_event(by_cause["evt-%d" % restored["seq"]], restored, "thr-1", "coa",
                         "normal", "st-1")
        reqs = self.nas.received()
        self.assertEqual(len(reqs), 2, reqs)
        for r in reqs:
            self.assertEqual(r.packet_type, "CoA-Request", r)
            self.check_identification(r, "st-1", "hana", None, "10.64.4.1")
            self.assertEqual(r.get("Filter-Id"), ["normal"], r)
            self.assertNotIn("Mikrotik-Rate-Limit", r.names())


if __name__ == "__main__":
    unittest.main()

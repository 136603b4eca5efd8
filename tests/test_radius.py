"""End-to-end tests of the RADIUS accounting server (src/ingest/radius_accounting.h) against real
peers: `radclient` (freeradius-utils) as the NAS, and FreeRADIUS 3.2 as a proxy in front of ryuryo.
Raw datagrams (retransmits, malformed packets) are built with Python's socket and hashlib.

Every test starts its own server on 127.0.0.1 with the demo catalog's plans, a few lines of its own,
and `[radius] accounting = "127.0.0.1:0"`; numbers are checked to the byte through the HTTP API
(GET /v1/lines/{id}/usage: bytes_up is the Acct-Input-Octets side, bytes_down the output side;
GET /v1/sessions; /metrics). Event-Timestamps, where given, lie a few minutes in the past, except in
the cycle-split test, which crosses the last local midnight of a daily plan on purpose.
"""
import calendar
import hashlib
import os
import re
import shutil
import signal
import socket
import struct
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
RADCLIENT = shutil.which("radclient")
FREERADIUS = shutil.which("freeradius") or shutil.which("radiusd")
HOUR = 3600
JST = 9 * HOUR
M32 = (1 << 32) - 1
GIGA = 1 << 32


def demo_plans():
    """The [[plans]] of the demo catalog (examples/ryuryo.toml), as TOML text."""
    with open(harness.DEMO_CONFIG) as f:
        text = f.read()
    return text[text.index("[[plans]]"):text.index("[[pools]]")]


PLANS = demo_plans()

# The lines every test server has (all on plans with room for the bytes sent).
LINES = {
    "r-imsi": {"plan": "mvno-20gb", "imsi": "440101111100001", "msisdn": "+81 90-1111-0001"},
    "r-msisdn": {"plan": "mvno-20gb", "msisdn": "+81 90-1111-0002"},
    "r-user": {"plan": "mvno-20gb"},
    "r-daily": {"plan": "daily-1gb", "imsi": "440101111100004"},
}
IMSI = LINES["r-imsi"]["imsi"]
MSISDN2 = "819011110002"  # r-msisdn, as a NAS sends it (E.164 digits)


def config(line_keys=None, clients=(("127.0.0.1", SECRET),)):
    out = ['[server]', 'http = "127.0.0.1:0"', 'data_dir = "data"', '', PLANS]
    for line_id, spec in LINES.items():
        out.append("[[lines]]")
        out.append(f'id = "{line_id}"')
        out += [f'{k} = "{v}"' for k, v in spec.items()]
        out.append("")
    out += ["[radius]", 'accounting = "127.0.0.1:0"']
    if line_keys is not None:
        out.append("line_keys = [" + ", ".join(f'"{k}"' for k in line_keys) + "]")
    for address, secret in clients:
        out += ["", "[[radius.clients]]", f'address = "{address}"', f'secret = "{secret}"']
    return "\n".join(out) + "\n"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jst_midnight_before(epoch_s):
    """The epoch second of the last local midnight in Tokyo (no DST there)."""
    t = time.gmtime(epoch_s + JST)
    return calendar.timegm((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0)) - JST


def split_first(nbytes, start_ms, boundary_ms, end_ms):
    """SessionTracker::SplitAt: the part of a record before the boundary (floor, pro rata)."""
    return nbytes * (boundary_ms - start_ms) // (end_ms - start_ms)


# --- radclient input ------------------------------------------------------------------------

def acct(status, session=None, nas="10.0.0.1", imsi=None, calling=None, user=None, up=None,
         down=None, event=None, session_time=None):
    """One radclient packet (`Attr = value` lines). up/down are 64-bit cumulative octets, sent
    as Acct-Input/Output-Octets plus -Gigawords."""
    a = [f"Acct-Status-Type = {status}"]
    if session is not None:
        a.append(f'Acct-Session-Id = "{session}"')
    if nas is not None:
        a.append(f"NAS-IP-Address = {nas}")
    if user is not None:
        a.append(f'User-Name = "{user}"')
    if calling is not None:
        a.append(f'Calling-Station-Id = "{calling}"')
    if imsi is not None:
        a.append(f'3GPP-IMSI = "{imsi}"')
    if up is not None:
        a += [f"Acct-Input-Octets = {up & M32}", f"Acct-Input-Gigawords = {up >> 32}"]
    if down is not None:
        a += [f"Acct-Output-Octets = {down & M32}", f"Acct-Output-Gigawords = {down >> 32}"]
    if event is not None:
        a.append(f"Event-Timestamp = {int(event)}")
    if session_time is not None:
        a.append(f"Acct-Session-Time = {session_time}")
    return "\n".join(a)


# --- raw RADIUS (RFC 2865 §3, RFC 2866 §3) ----------------------------------------------------

ACCOUNTING_REQUEST, ACCOUNTING_RESPONSE, ACCESS_REQUEST, STATUS_SERVER = 4, 5, 1, 12
USER_NAME, NAS_IP_ADDRESS, VENDOR_SPECIFIC, ACCT_STATUS_TYPE = 1, 4, 26, 40
ACCT_INPUT_OCTETS, ACCT_OUTPUT_OCTETS, ACCT_SESSION_ID, EVENT_TIMESTAMP = 42, 43, 44, 55
STATUS_START, STATUS_STOP, STATUS_INTERIM = 1, 2, 3


def attr(t, value):
    if isinstance(value, int):
        value = struct.pack("!I", value)
    elif isinstance(value, str):
        value = value.encode()
    return bytes([t, len(value) + 2]) + value


def imsi_attr(imsi):
    sub = bytes([1, len(imsi) + 2]) + imsi.encode()  # 3GPP-IMSI, vendor 10415
    return attr(VENDOR_SPECIFIC, struct.pack("!I", 10415) + sub)


def raw_attrs(status, session, imsi=IMSI, up=0, down=0, nas="10.0.0.1"):
    return (attr(ACCT_STATUS_TYPE, status) + attr(ACCT_SESSION_ID, session) +
            attr(NAS_IP_ADDRESS, socket.inet_aton(nas)) + imsi_attr(imsi) +
            attr(ACCT_INPUT_OCTETS, up) + attr(ACCT_OUTPUT_OCTETS, down))


def raw_packet(ident, attrs, secret=SECRET, code=ACCOUNTING_REQUEST, length=None):
    """A request with its Request Authenticator (MD5 over the packet with a zero authenticator
    and the secret). `length` overrides the Length field (the authenticator is computed with
    it, over the whole datagram)."""
    length = 20 + len(attrs) if length is None else length
    head = struct.pack("!BBH", code, ident, length)
    auth = hashlib.md5(head + bytes(16) + attrs + secret.encode()).digest()
    return head + auth + attrs


def response_ok(resp, req, secret=SECRET):
    """An Accounting-Response to `req` with a valid Response Authenticator."""
    if len(resp) < 20 or resp[0] != ACCOUNTING_RESPONSE or resp[1] != req[1]:
        return False
    expect = hashlib.md5(resp[:4] + req[4:20] + resp[20:] + secret.encode()).digest()
    return resp[4:20] == expect


class RawClient:
    """A UDP socket playing a NAS."""

    def __init__(self, port, source="127.0.0.1"):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((source, 0))

    def send(self, datagram):
        self.sock.sendto(datagram, ("127.0.0.1", self.port))

    def recv(self, timeout=5.0):
        """The next datagram, or None after `timeout` seconds."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(65535)
        except socket.timeout:
            return None

    def close(self):
        self.sock.close()


# --- the tests ------------------------------------------------------------------------------

@unittest.skipUnless(RADCLIENT, "radclient (freeradius-utils) is not installed")
class RadiusTestCase(unittest.TestCase):
    """Starts one ryuryo server per test (self.srv), with helpers to drive and inspect it."""

    CONFIG = config()

    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)  # the harness's log file and drain pipe
        self.tmp = tempfile.mkdtemp(prefix="ryuryo-radius-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.files = 0
        self.srv = self.start_server(self.CONFIG)

    def start_server(self, text):
        srv = harness.Server(config_text=text)
        self.addCleanup(srv.cleanup)
        srv.start()
        self.assertIsNotNone(srv.radius_port, "no 'radius accounting on udp://' line")
        return srv

    def radclient(self, packets, port=None, secret=SECRET, count=1, timeout=3, retries=3,
                  expect_ok=True):
        """Sends the packets in order (one at a time, each after the previous one's answer);
        returns the CompletedProcess. With expect_ok, checks that every packet was answered."""
        self.files += 1
        path = os.path.join(self.tmp, f"packets-{self.files}.txt")
        with open(path, "w") as f:
            f.write("\n\n".join(packets) + "\n")
        port = self.srv.radius_port if port is None else port
        cmd = [RADCLIENT, "-x", "-p", "1", "-c", str(count), "-t", str(timeout), "-r",
               str(retries), f"127.0.0.1:{port}", "acct", secret, "-f", path]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if expect_ok:
            answered = p.stdout.count("Received Accounting-Response")
            self.assertEqual((p.returncode, answered), (0, len(packets) * count),
                             f"radclient: {p.stdout}\n{p.stderr}\nserver log:\n"
                             f"{self.srv.read_log()[-3000:]}")
        return p

    def ok(self, r, status=(200, 201)):
        self.assertIn(r.status, status if isinstance(status, tuple) else (status,), r.body)
        return r.json()

    def usage(self, line, srv=None):
        """(bytes_up, bytes_down) of the line's current cycle; also checks used = their sum."""
        u = self.ok((srv or self.srv).get(f"/v1/lines/{line}/usage"), 200)
        self.assertEqual(u["used"], u["bytes_up"] + u["bytes_down"], u)
        return u["bytes_up"], u["bytes_down"]

    def sessions(self, line=None, srv=None):
        """{session_id: session} of the open sessions (of one line)."""
        q = f"?line={line}" if line else ""
        return {s["session_id"]: s
                for s in self.ok((srv or self.srv).get("/v1/sessions" + q), 200)["sessions"]}

    def metric(self, name, srv=None, **labels):
        """The sum of a /metrics counter over its series matching `labels`."""
        r = (srv or self.srv).get("/metrics", token=False)
        self.assertEqual(r.status, 200)
        total = 0
        for m in re.finditer(r"^(\w+)(?:\{([^}]*)\})? (\S+)$", r.body, re.M):
            if m.group(1) != name:
                continue
            got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            if all(got.get(k) == v for k, v in labels.items()):
                total += float(m.group(3))
        return int(total)


class StartInterimStopTest(RadiusTestCase):
    def test_gigawords_exact_and_session_lifecycle(self):
        up1, down1 = GIGA + 1000, GIGA + 77
        up2, down2 = GIGA + 250_000, GIGA + 500_001
        up3, down3 = 2 * GIGA + 123, GIGA + 999_999
        self.radclient([acct("Start", "gw-1", imsi=IMSI, up=0, down=0)])
        s = self.sessions("r-imsi")
        self.assertEqual(list(s), ["gw-1"])
        self.assertEqual((s["gw-1"]["bytes_in"], s["gw-1"]["bytes_out"]), (0, 0))
        self.assertEqual(self.usage("r-imsi"), (0, 0))
        self.radclient([acct("Interim-Update", "gw-1", imsi=IMSI, up=up1, down=down1,
                             session_time=60)])
        self.assertEqual(self.usage("r-imsi"), (up1, down1))
        s = self.sessions("r-imsi")
        self.assertEqual(list(s), ["gw-1"])
        self.assertEqual((s["gw-1"]["nas"], s["gw-1"]["line"], s["gw-1"]["bytes_in"],
                          s["gw-1"]["bytes_out"], s["gw-1"]["client"]),
                         ("10.0.0.1", "r-imsi", up1, down1, "127.0.0.1"))
        self.radclient([acct("Interim-Update", "gw-1", imsi=IMSI, up=up2, down=down2,
                             session_time=120)])
        self.assertEqual(list(self.sessions("r-imsi")), ["gw-1"])
        self.assertEqual(self.sessions("r-imsi")["gw-1"]["bytes_in"], up2)
        self.radclient([acct("Stop", "gw-1", imsi=IMSI, up=up3, down=down3, session_time=180)])
        self.assertEqual(self.usage("r-imsi"), (up3, down3))
        self.assertEqual(self.sessions(), {})
        self.assertEqual(self.metric("ryuryo_radius_acct_requests_total"), 4)
        self.assertEqual(self.metric("ryuryo_radius_acct_responses_total"), 4)
        self.assertEqual(self.metric("ryuryo_radius_session_records_total", nas="10.0.0.1"), 3)
        self.assertEqual(self.metric("ryuryo_radius_sessions_open"), 0)
        for other in ("r-msisdn", "r-user", "r-daily"):
            self.assertEqual(self.usage(other), (0, 0))

    def test_line_found_by_imsi_calling_station_and_user_name(self):
        # (session, attributes naming the line, expected line); default line_keys:
        # 3gpp-imsi, calling-station-id, user-name.
        cases = [
            ("k-imsi", dict(imsi=IMSI, user="someone"), "r-imsi"),
            ("k-plus", dict(calling="+" + MSISDN2), "r-msisdn"),
            ("k-digits", dict(calling=MSISDN2), "r-msisdn"),
            ("k-user", dict(user="r-user"), "r-user"),
            ("k-realm", dict(user=IMSI + "@apn.example"), "r-imsi"),  # User-Name as an IMSI
            ("k-both", dict(imsi=IMSI, calling=MSISDN2), "r-imsi"),  # IMSI comes first
        ]
        expected = {line: [0, 0] for line in LINES}
        packets = []
        for i, (sid, keys, line) in enumerate(cases):
            up, down = 1000 * (i + 1) + 1, 7000 * (i + 1) + 3
            packets.append(acct("Start", sid, up=0, down=0, **keys))
            packets.append(acct("Interim-Update", sid, up=up, down=down, **keys))
            expected[line][0] += up
            expected[line][1] += down
        self.radclient(packets)
        for line, (up, down) in expected.items():
            self.assertEqual(self.usage(line), (up, down), line)
            want = sorted(sid for sid, _, l in cases if l == line)
            self.assertEqual(sorted(self.sessions(line)), want, line)
        # A session sticks to its line; Stops carry only the session id's keys again.
        self.radclient([acct("Stop", sid, up=2 * 1000 * (i + 1) + 1, down=7000 * (i + 1) + 3,
                             **keys) for i, (sid, keys, _) in enumerate(cases)])
        self.assertEqual(self.sessions(), {})
        for line in LINES:
            extra = sum(1000 * (i + 1) for i, (_, _, l) in enumerate(cases) if l == line)
            self.assertEqual(self.usage(line), (expected[line][0] + extra, expected[line][1]),
                             line)
        self.assertEqual(self.metric("ryuryo_radius_acct_unknown_line_total"), 0)


class LineKeysOrderTest(RadiusTestCase):
    CONFIG = config(line_keys=["calling-station-id", "3gpp-imsi"])

    def test_configured_order_is_honoured(self):
        self.radclient([
            # Both keys, naming different lines: the Calling-Station-Id wins.
            acct("Start", "o-both", imsi=IMSI, calling="+" + MSISDN2, up=0, down=0),
            acct("Stop", "o-both", imsi=IMSI, calling="+" + MSISDN2, up=111, down=222),
            # Only the IMSI: the second key still finds its line.
            acct("Start", "o-imsi", imsi=IMSI, up=0, down=0),
            acct("Stop", "o-imsi", imsi=IMSI, up=3333, down=4444),
            # A Calling-Station-Id of no line, and the IMSI of one: the first key naming a
            # known line wins.
            acct("Start", "o-fallback", imsi=IMSI, calling="819099999999", up=0, down=0),
            acct("Stop", "o-fallback", imsi=IMSI, calling="819099999999", up=50, down=60),
        ])
        self.assertEqual(self.usage("r-msisdn"), (111, 222))
        self.assertEqual(self.usage("r-imsi"), (3333 + 50, 4444 + 60))
        # User-Name is not a configured key: a new session naming a line only by User-Name has
        # no line key at all, and is refused without an answer (answering would say "recorded").
        p = self.radclient([acct("Start", "o-user", user="r-user", up=0, down=0)], timeout=1,
                           retries=1, expect_ok=False)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertNotIn("Received Accounting-Response", p.stdout)
        self.assertGreaterEqual(self.metric("ryuryo_radius_acct_dropped_total"), 1)
        self.assertEqual(self.usage("r-user"), (0, 0))


class RetransmitTest(RadiusTestCase):
    def test_radclient_count_resends_counted_once(self):
        # -c 3: radclient sends every packet three times in a row, each time with a new
        # Identifier (so not an RFC 5080 retransmit): the same counters again are duplicates
        # for the session tracker.
        self.radclient([acct("Start", "c-1", imsi=IMSI, up=0, down=0),
                        acct("Interim-Update", "c-1", imsi=IMSI, up=5000, down=60000),
                        acct("Stop", "c-1", imsi=IMSI, up=9000, down=80000)], count=3)
        self.assertEqual(self.usage("r-imsi"), (9000, 80000))
        self.assertEqual(self.metric("ryuryo_radius_session_records_total"), 2)
        # Each packet went out three times in a row: two duplicates each. (A copy that happens
        # to get the same Identifier as the one before it is an exact retransmit, answered from
        # the cache instead of reaching the session tracker.)
        self.assertEqual(self.metric("ryuryo_radius_session_duplicates_total") +
                         self.metric("ryuryo_radius_acct_duplicates_total"), 6)
        self.assertEqual(self.metric("ryuryo_radius_acct_requests_total"), 9)
        self.assertEqual(self.metric("ryuryo_radius_acct_responses_total"), 9)
        self.assertEqual(self.sessions(), {})

    def test_radclient_retransmit_while_server_is_busy(self):
        # The server is stopped (SIGSTOP) while radclient waits: radclient retransmits the SAME
        # packet (Identifier and Authenticator); the server then reads both, counts one.
        self.radclient([acct("Start", "rt-1", imsi=IMSI, up=0, down=0)])
        path = os.path.join(self.tmp, "retransmit.txt")
        with open(path, "w") as f:
            f.write(acct("Interim-Update", "rt-1", imsi=IMSI, up=4321, down=98765) + "\n")
        pid = self.srv.proc.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            p = subprocess.Popen([RADCLIENT, "-x", "-t", "1", "-r", "5",
                                  f"127.0.0.1:{self.srv.radius_port}", "acct", SECRET, "-f",
                                  path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True)
            self.addCleanup(lambda: p.poll() is None and p.kill())
            time.sleep(1.6)  # radclient times out after 1 s and sends the packet again
        finally:
            os.kill(pid, signal.SIGCONT)
        out, _ = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, out)
        sent = re.findall(r"Sent Accounting-Request Id (\d+)", out)
        self.assertGreaterEqual(len(sent), 2, out)
        self.assertEqual(len(set(sent)), 1, "a retransmit keeps its Identifier: " + out)
        self.assertEqual(self.usage("r-imsi"), (4321, 98765))
        self.assertGreaterEqual(self.metric("ryuryo_radius_acct_duplicates_total"), 1)
        self.assertEqual(self.metric("ryuryo_radius_session_records_total"), 1)

    def test_exact_retransmits_get_the_cached_answer(self):
        c = RawClient(self.srv.radius_port)
        self.addCleanup(c.close)
        start = raw_packet(7, raw_attrs(STATUS_START, "raw-1"))
        interim = raw_packet(8, raw_attrs(STATUS_INTERIM, "raw-1", up=12345, down=678901))
        c.send(start)
        self.assertTrue(response_ok(c.recv(), start))
        c.send(interim)
        first = c.recv()
        self.assertTrue(response_ok(first, interim))
        for _ in range(2):  # the answer was lost: the NAS sends the same datagram again
            c.send(interim)
            again = c.recv()
            self.assertEqual(again, first, "a retransmit gets the same answer")
        self.assertEqual(self.usage("r-imsi"), (12345, 678901))
        self.assertEqual(self.metric("ryuryo_radius_acct_duplicates_total"), 2)
        self.assertEqual(self.metric("ryuryo_radius_acct_requests_total"), 4)
        self.assertEqual(self.metric("ryuryo_radius_acct_responses_total"), 4)
        # A burst of copies of a new request: counted once, answered at least once.
        stop = raw_packet(9, raw_attrs(STATUS_STOP, "raw-1", up=22345, down=778901))
        for _ in range(3):
            c.send(stop)
        self.assertTrue(response_ok(c.recv(), stop))
        while c.recv(timeout=0.3) is not None:
            pass
        self.assertEqual(self.usage("r-imsi"), (22345, 778901))
        self.assertEqual(self.sessions(), {})

    def test_duplicated_and_reordered_interims(self):
        t = int(time.time()) - 600
        i1 = acct("Interim-Update", "ro-1", imsi=IMSI, up=1000, down=2000, event=t + 60)
        i2 = acct("Interim-Update", "ro-1", imsi=IMSI, up=5000, down=8000, event=t + 120)
        self.radclient([acct("Start", "ro-1", imsi=IMSI, up=0, down=0, event=t), i1, i2])
        self.assertEqual(self.usage("r-imsi"), (5000, 8000))
        # The older interim arrives after the newer one; the newer one is duplicated.
        self.radclient([i1, i2, i1])
        self.assertEqual(self.usage("r-imsi"), (5000, 8000), "reordered / duplicated counted")
        self.assertEqual(self.sessions("r-imsi")["ro-1"]["bytes_in"], 5000)
        self.assertGreaterEqual(self.metric("ryuryo_radius_session_reordered_total"), 2)
        self.assertGreaterEqual(self.metric("ryuryo_radius_session_duplicates_total"), 1)
        # One direction lower, the other higher (a NAS's counters in a muddle): the higher
        # direction counts its increase, the lower one never goes negative.
        self.radclient([acct("Interim-Update", "ro-1", imsi=IMSI, up=4000, down=9000,
                             event=t + 180)])
        self.assertEqual(self.usage("r-imsi"), (5000, 9000))
        self.radclient([acct("Stop", "ro-1", imsi=IMSI, up=7000, down=9500, event=t + 240), i2])
        self.assertEqual(self.usage("r-imsi"), (7000, 9500))
        self.assertEqual(self.sessions(), {})


class LostMessagesTest(RadiusTestCase):
    def test_stop_after_lost_interim_counts_the_rest(self):
        t = int(time.time()) - 900
        self.radclient([acct("Start", "lost-1", imsi=IMSI, up=0, down=0, event=t),
                        acct("Interim-Update", "lost-1", imsi=IMSI, up=10_000, down=20_000,
                             event=t + 300)])
        # The interim at t + 600 (cumulative 3 GiB up) is lost; the Stop carries the total.
        up, down = GIGA + 987_654, 3 * GIGA + 5
        self.radclient([acct("Stop", "lost-1", imsi=IMSI, up=up, down=down, event=t + 900)])
        self.assertEqual(self.usage("r-imsi"), (up, down))
        self.assertEqual(self.sessions(), {})

    def test_lost_start_counts_the_whole_cumulative_once(self):
        t = int(time.time()) - 900
        self.radclient([
            acct("Interim-Update", "nostart", calling=MSISDN2, up=70_000, down=80_000,
                 event=t + 300, session_time=300),
            acct("Stop", "nostart", calling=MSISDN2, up=90_000, down=100_001, event=t + 600,
                 session_time=600)])
        self.assertEqual(self.usage("r-msisdn"), (90_000, 100_001))
        self.assertEqual(self.metric("ryuryo_radius_session_implicit_starts_total"), 1)
        # The Stop retransmitted as a new packet after the close: nothing more.
        self.radclient([acct("Stop", "nostart", calling=MSISDN2, up=90_000, down=100_001,
                             event=t + 600, session_time=600)])
        self.assertEqual(self.usage("r-msisdn"), (90_000, 100_001))


class NasRebootTest(RadiusTestCase):
    def test_accounting_on_closes_sessions_and_a_reused_id_counts_from_zero(self):
        t = int(time.time()) - 600
        self.radclient([
            acct("Start", "nas-a", imsi=IMSI, up=0, down=0, event=t),
            acct("Start", "nas-b", calling=MSISDN2, up=0, down=0, event=t),
            acct("Start", "nas-c", nas="10.0.0.2", user="r-user", up=0, down=0, event=t),
            acct("Interim-Update", "nas-a", imsi=IMSI, up=1000, down=2000, event=t + 60),
            acct("Interim-Update", "nas-b", calling=MSISDN2, up=3000, down=4000, event=t + 60),
            acct("Interim-Update", "nas-c", nas="10.0.0.2", user="r-user", up=500, down=600,
                 event=t + 60),
        ])
        self.assertEqual(sorted(self.sessions()), ["nas-a", "nas-b", "nas-c"])
        # NAS 10.0.0.1 reboots: its sessions are gone; 10.0.0.2's session stays.
        self.radclient([acct("Accounting-On", None, event=t + 120)])
        self.assertEqual(sorted(self.sessions()), ["nas-c"])
        self.assertEqual(self.metric("ryuryo_radius_sessions_closed_by_reboot_total",
                                     nas="10.0.0.1"), 2)
        # After the reboot the NAS reuses the id "nas-a" for a new session: its counters start
        # from zero again (and stay below the old session's).
        self.radclient([
            acct("Start", "nas-a", imsi=IMSI, up=0, down=0, event=t + 130),
            acct("Interim-Update", "nas-a", imsi=IMSI, up=700, down=800, event=t + 160),
        ])
        self.assertEqual(self.sessions("r-imsi")["nas-a"]["bytes_in"], 700)
        self.radclient([acct("Stop", "nas-a", imsi=IMSI, up=900, down=1000, event=t + 190)])
        self.assertEqual(self.usage("r-imsi"), (1000 + 900, 2000 + 1000))
        self.assertEqual(self.usage("r-msisdn"), (3000, 4000))
        self.assertEqual(self.usage("r-user"), (500, 600))
        self.assertEqual(sorted(self.sessions()), ["nas-c"])

    def test_id_reused_seconds_after_accounting_on(self):
        # A NAS comes back, sends Accounting-On and, a second later, a short session with a
        # recycled id whose counters stay below the old session's: it counts from zero too.
        t = int(time.time()) - 600
        self.radclient([
            acct("Start", "nas-r", imsi=IMSI, up=0, down=0, event=t),
            acct("Interim-Update", "nas-r", imsi=IMSI, up=5000, down=6000, event=t + 60),
            acct("Accounting-On", None, event=t + 120),
            acct("Start", "nas-r", imsi=IMSI, up=0, down=0, event=t + 121),
            acct("Interim-Update", "nas-r", imsi=IMSI, up=700, down=800, event=t + 122),
        ])
        self.assertEqual(self.usage("r-imsi"), (5000 + 700, 6000 + 800))
        self.assertEqual(list(self.sessions("r-imsi")), ["nas-r"], "the new session is not open")
        self.radclient([acct("Stop", "nas-r", imsi=IMSI, up=900, down=1000, event=t + 123)])
        self.assertEqual(self.usage("r-imsi"), (5000 + 900, 6000 + 1000))

    def test_id_reused_seconds_after_accounting_on_never_double_counts(self):
        # The same, the new session's counters passing the old session's within a few seconds,
        # then an interim later on: every byte of either session once.
        t = int(time.time()) - 600
        self.radclient([
            acct("Start", "nas-d", imsi=IMSI, up=0, down=0, event=t),
            acct("Interim-Update", "nas-d", imsi=IMSI, up=5000, down=6000, event=t + 60),
            acct("Accounting-On", None, event=t + 120),
            acct("Start", "nas-d", imsi=IMSI, up=0, down=0, event=t + 121),
            acct("Interim-Update", "nas-d", imsi=IMSI, up=5500, down=6500, event=t + 123),
            acct("Interim-Update", "nas-d", imsi=IMSI, up=5600, down=6600, event=t + 140),
            acct("Stop", "nas-d", imsi=IMSI, up=5700, down=6700, event=t + 150),
        ])
        self.assertEqual(self.sessions(), {})
        self.assertEqual(self.usage("r-imsi"), (5000 + 5700, 6000 + 6700))


class QuarantineTest(RadiusTestCase):
    def test_unknown_line_is_quarantined_then_applied(self):
        imsi = "440109999900007"
        self.radclient([acct("Start", "q-1", imsi=imsi, up=0, down=0),
                        acct("Interim-Update", "q-1", imsi=imsi, up=31_000, down=42_000)])
        q = self.ok(self.srv.get("/v1/quarantine"), 200)["records"]
        self.assertEqual(len(q), 1, q)
        rec = q[0]["record"]
        self.assertEqual((rec["line"], rec["bytes_up"], rec["bytes_down"], rec.get("source")),
                         ("imsi:" + imsi, 31_000, 42_000, "radius"))
        self.assertEqual(self.metric("ryuryo_radius_acct_unknown_line_total"), 1)
        self.assertEqual(self.metric("ryuryo_radius_acct_responses_total"), 2)
        # Nothing to apply yet.
        self.assertEqual(self.ok(self.srv.post("/v1/quarantine/apply"), 200)["applied"], 0)
        # Provision the line, apply the quarantine.
        self.ok(self.srv.put("/v1/lines/r-new", {"plan": "mvno-20gb", "imsi": imsi}))
        res = self.ok(self.srv.post("/v1/quarantine/apply"), 200)
        self.assertEqual((res["applied"], res["still_quarantined"]), (1, 0), res)
        self.assertEqual(self.usage("r-new"), (31_000, 42_000))
        # The session goes on, now for a known line.
        self.radclient([acct("Stop", "q-1", imsi=imsi, up=50_000, down=60_000)])
        self.assertEqual(self.usage("r-new"), (50_000, 60_000))
        self.assertEqual(self.ok(self.srv.get("/v1/quarantine"), 200)["records"], [])
        self.assertEqual(self.ok(self.srv.post("/v1/quarantine/apply"), 200)["applied"], 0)
        self.assertEqual(self.usage("r-new"), (50_000, 60_000))


class RestartTest(RadiusTestCase):
    def check_open_session_survives(self, restart):
        t = int(time.time()) - 600
        interim = acct("Interim-Update", "rs-1", imsi=IMSI, up=GIGA + 10, down=20_000,
                       event=t + 60)
        self.radclient([acct("Start", "rs-1", imsi=IMSI, up=0, down=0, event=t), interim])
        self.assertEqual(self.usage("r-imsi"), (GIGA + 10, 20_000))
        restart()
        s = self.sessions("r-imsi")
        self.assertEqual(list(s), ["rs-1"], "the open session is gone after the restart")
        self.assertEqual((s["rs-1"]["bytes_in"], s["rs-1"]["bytes_out"]), (GIGA + 10, 20_000))
        self.assertEqual(self.usage("r-imsi"), (GIGA + 10, 20_000))
        # The NAS got no answer to its last interim (say) and sends it again: counted once.
        self.radclient([interim])
        self.assertEqual(self.usage("r-imsi"), (GIGA + 10, 20_000))
        self.radclient([acct("Stop", "rs-1", imsi=IMSI, up=GIGA + 5000, down=90_000,
                             event=t + 120)])
        self.assertEqual(self.usage("r-imsi"), (GIGA + 5000, 90_000))
        self.assertEqual(self.sessions(), {})
        # And a closed session stays closed across one more restart.
        restart()
        self.assertEqual(self.sessions(), {})
        self.radclient([acct("Stop", "rs-1", imsi=IMSI, up=GIGA + 5000, down=90_000,
                             event=t + 120)])
        self.assertEqual(self.usage("r-imsi"), (GIGA + 5000, 90_000))

    def test_clean_restart(self):
        def restart():
            self.assertEqual(self.srv.stop(), 0)
            self.srv.start()
        self.check_open_session_survives(restart)

    def test_kill_9(self):
        def restart():
            self.srv.kill()
            self.srv.start()
        self.check_open_session_survives(restart)


class BadInputTest(RadiusTestCase):
    def test_wrong_shared_secret(self):
        p = self.radclient([acct("Start", "bad-1", imsi=IMSI, up=0, down=0)],
                           secret="not-the-secret", timeout=1, retries=1, expect_ok=False)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertNotIn("Received Accounting-Response", p.stdout)
        self.assertGreaterEqual(self.metric("ryuryo_radius_acct_bad_authenticator_total"), 1)
        self.assertEqual(self.metric("ryuryo_radius_acct_requests_total"), 0)
        self.assertEqual(self.sessions(), {})
        self.radclient([acct("Stop", "bad-1", imsi=IMSI, up=10, down=20)])
        self.assertEqual(self.usage("r-imsi"), (10, 20))

    def test_unknown_source(self):
        srv = self.start_server(config(clients=[("127.0.0.2", SECRET)]))
        p = self.radclient([acct("Start", "src-1", imsi=IMSI, up=0, down=0)],
                           port=srv.radius_port, timeout=1, retries=1, expect_ok=False)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertGreaterEqual(self.metric("ryuryo_radius_acct_unknown_source_total", srv=srv),
                                1)
        self.assertEqual(self.sessions(srv=srv), {})
        # The configured client is answered.
        c = RawClient(srv.radius_port, source="127.0.0.2")
        self.addCleanup(c.close)
        req = raw_packet(1, raw_attrs(STATUS_STOP, "src-1", up=444, down=555))
        c.send(req)
        self.assertTrue(response_ok(c.recv(), req))
        self.assertEqual(self.usage("r-imsi", srv=srv), (444, 555))

    def test_malformed_datagrams(self):
        c = RawClient(self.srv.radius_port)
        self.addCleanup(c.close)
        good_attrs = raw_attrs(STATUS_INTERIM, "mal-1", up=100, down=200)
        good = raw_packet(1, good_attrs)
        n = len(good)
        malformed = [
            ("Length larger than the datagram", raw_packet(2, good_attrs, length=n + 10)),
            ("Length below 20", raw_packet(3, good_attrs, length=19)),
            ("Length ends inside an attribute", raw_packet(4, good_attrs, length=n - 1)),
            ("truncated attribute",
             raw_packet(5, good_attrs + bytes([USER_NAME, 10]) + b"abc")),
            ("attribute length 0", raw_packet(6, good_attrs + bytes([USER_NAME, 0]))),
            ("attribute length 1", raw_packet(7, good_attrs + bytes([USER_NAME, 1]))),
            ("truncated vendor sub-attribute",
             raw_packet(8, good_attrs + attr(VENDOR_SPECIFIC, struct.pack("!I", 10415) +
                                             bytes([1, 9]) + b"44"))),
            ("19-byte datagram", good[:19]),
            ("5000-byte datagram", raw_packet(9, good_attrs) + bytes(5000 - n)),
            ("no Acct-Status-Type", raw_packet(10, good_attrs[6:])),
        ]
        unsupported = [
            ("Access-Request", raw_packet(11, attr(USER_NAME, "x") + bytes([80, 18]) + bytes(16),
                                          code=ACCESS_REQUEST)),
            ("Accounting-Response", raw_packet(12, b"", code=ACCOUNTING_RESPONSE)),
            ("Status-Server", raw_packet(13, bytes([80, 18]) + bytes(16), code=STATUS_SERVER)),
        ]
        for _, d in malformed + unsupported:
            c.send(d)
        c.send(good)
        resp = c.recv()
        self.assertTrue(response_ok(resp, good), resp)
        self.assertIsNone(c.recv(timeout=0.3), "a bad datagram was answered")
        self.assertEqual(self.metric("ryuryo_radius_acct_malformed_total"), len(malformed))
        self.assertEqual(self.metric("ryuryo_radius_acct_unsupported_code_total"),
                         len(unsupported))
        # Only the good request and the one without Acct-Status-Type (a valid authenticator, then
        # dropped as malformed) count as requests.
        self.assertEqual(self.metric("ryuryo_radius_acct_requests_total"), 2)
        self.assertEqual(self.usage("r-imsi"), (100, 200))
        # Octets beyond the Length field are padding (RFC 2865 §3): the request is good.
        padded_attrs = raw_attrs(STATUS_INTERIM, "mal-1", up=300, down=400)
        padded = raw_packet(14, padded_attrs) + b"\0" * 7
        c.send(padded)
        self.assertTrue(response_ok(c.recv(), padded))
        self.assertEqual(self.usage("r-imsi"), (300, 400))
        # Still up, still answering radclient.
        self.assertEqual(self.srv.get("/healthz", token=False).status, 200)
        self.radclient([acct("Stop", "mal-1", imsi=IMSI, up=500, down=600)])
        self.assertEqual(self.usage("r-imsi"), (500, 600))
        self.assertIsNone(self.srv.proc.poll())


class CycleSplitTest(RadiusTestCase):
    def test_session_over_a_daily_reset_is_split_by_time(self):
        now = int(time.time())
        midnight = jst_midnight_before(now)
        start = midnight - HOUR
        imsi = LINES["r-daily"]["imsi"]
        up, down = 123_456_789, 654_321_987
        self.radclient([acct("Start", "day-1", imsi=imsi, up=0, down=0, event=start),
                        acct("Interim-Update", "day-1", imsi=imsi, up=up, down=down, event=now)])
        first_up = split_first(up, start * 1000, midnight * 1000, now * 1000)
        first_down = split_first(down, start * 1000, midnight * 1000, now * 1000)
        self.assertEqual(self.usage("r-daily"), (up - first_up, down - first_down))
        u = self.ok(self.srv.get("/v1/lines/r-daily/usage"), 200)
        self.assertEqual(u["used"], up - first_up + down - first_down)
        # The earlier part went to the day before (a late record of the previous cycle).
        frm, to = harness.rfc3339(midnight - 86400), harness.rfc3339(midnight + 86400)
        h = self.ok(self.srv.get(f"/v1/lines/r-daily/history?granularity=day&from={frm}&to={to}"),
                    200)
        days = {p["start"]: (p["bytes_up"], p["bytes_down"]) for p in h["points"]}
        self.assertEqual(sorted(days.values()),
                         sorted([(first_up, first_down), (up - first_up, down - first_down)]), h)


@unittest.skipUnless(FREERADIUS, "freeradius is not installed")
class FreeRadiusProxyTest(RadiusTestCase):
    """radclient -> FreeRADIUS (proxying every accounting request to the realm "ryuryo") ->
    ryuryo. ryuryo's client is 127.0.0.1: the proxy."""

    def start_freeradius(self, home_port):
        d = os.path.join(self.tmp, "raddb")
        os.makedirs(d)
        port = free_udp_port()
        with open(os.path.join(d, "radiusd.conf"), "w") as f:
            f.write(freeradius_conf(d, port, home_port))
        check = subprocess.run([FREERADIUS, "-C", "-d", d, "-lstdout"], capture_output=True,
                               text=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        log_path = os.path.join(d, "radiusd.log")
        log = open(log_path, "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen([FREERADIUS, "-X", "-d", d], stdout=log,
                                stderr=subprocess.STDOUT)

        def stop():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.addCleanup(stop)
        deadline = time.time() + 15
        while time.time() < deadline:
            with open(log_path, errors="replace") as f:
                text = f.read()
            if "Ready to process requests" in text:
                return port, log_path
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        self.fail("FreeRADIUS did not start:\n" + text[-4000:])

    def test_proxied_accounting(self):
        fr_port, fr_log = self.start_freeradius(self.srv.radius_port)
        up1, down1 = GIGA + 4242, 2 * GIGA + 17
        up2, down2 = 2 * GIGA + 1, 2 * GIGA + 900_000
        self.radclient([acct("Start", "px-1", imsi=IMSI, up=0, down=0),
                        acct("Interim-Update", "px-1", imsi=IMSI, up=up1, down=down1)],
                       port=fr_port)
        self.assertEqual(self.usage("r-imsi"), (up1, down1))
        s = self.sessions("r-imsi")["px-1"]
        self.assertEqual((s["nas"], s["client"], s["bytes_in"]), ("10.0.0.1", "127.0.0.1", up1))
        self.radclient([acct("Stop", "px-1", imsi=IMSI, up=up2, down=down2)], port=fr_port)
        self.assertEqual(self.usage("r-imsi"), (up2, down2))
        self.assertEqual(self.sessions(), {})
        self.assertEqual(self.metric("ryuryo_radius_acct_requests_total", client="127.0.0.1"), 3)
        with open(fr_log, errors="replace") as f:
            text = f.read()
        # FreeRADIUS got ryuryo's three answers (from ryuryo's port) and passed them on.
        self.assertEqual(len(re.findall(
            rf"Received Accounting-Response Id \d+ from 127\.0\.0\.1:{self.srv.radius_port} ",
            text)), 3, text[-3000:])

        # The NAS gets its answer only once ryuryo has answered (after its commit): with ryuryo
        # stopped, radclient waits; it is answered once ryuryo runs again.
        path = os.path.join(self.tmp, "proxied-start.txt")
        with open(path, "w") as f:
            f.write(acct("Start", "px-2", calling=MSISDN2, up=0, down=0) + "\n\n" +
                    acct("Interim-Update", "px-2", calling=MSISDN2, up=777, down=888) + "\n")
        pid = self.srv.proc.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            p = subprocess.Popen([RADCLIENT, "-x", "-p", "1", "-t", "10", "-r", "1",
                                  f"127.0.0.1:{fr_port}", "acct", SECRET, "-f", path],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.addCleanup(lambda: p.poll() is None and p.kill())
            time.sleep(1.0)
            self.assertIsNone(p.poll(), "radclient was answered while ryuryo was stopped")
        finally:
            os.kill(pid, signal.SIGCONT)
        out, _ = p.communicate(timeout=30)
        self.assertEqual((p.returncode, out.count("Received Accounting-Response")), (0, 2), out)
        self.assertEqual(self.usage("r-msisdn"), (777, 888))


def freeradius_conf(d, listen_port, home_port):
    """A self-contained FreeRADIUS 3 configuration: one accounting listener whose virtual server
    proxies every request to the home server `ryuryo` (127.0.0.1:home_port)."""
    return f"""
{freeradius.dirs_conf(d)}max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no
log {{
	destination = stdout
	colourise = no
}}
security {{
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = no
}}
proxy_requests = yes
proxy server {{
	default_fallback = no
}}
home_server ryuryo {{
	type = acct
	ipaddr = 127.0.0.1
	port = {home_port}
	secret = {SECRET}
	response_window = 20
	status_check = none
}}
home_server_pool ryuryo_pool {{
	type = fail-over
	home_server = ryuryo
}}
realm ryuryo {{
	acct_pool = ryuryo_pool
	nostrip
}}
client localhost {{
	ipaddr = 127.0.0.1
	secret = {SECRET}
}}
thread pool {{
	start_servers = 1
	max_servers = 4
	min_spare_servers = 1
	max_spare_servers = 4
	max_requests_per_server = 0
}}
modules {{
	always ok {{
		rcode = ok
	}}
}}
server proxy {{
	listen {{
		type = acct
		ipaddr = 127.0.0.1
		port = {listen_port}
	}}
	preacct {{
		update control {{
			&Proxy-To-Realm := "ryuryo"
		}}
	}}
	accounting {{
		ok
	}}
}}
"""




# --- authorization (RFC 2865 Access-Request, port 1812) and `ryuryo sessions` -----------------

AUTH_PLANS = """
[[plans]]
id = "tiny-throttle"
name = "1 MB then 128 kbps"
kind = "monthly"
quota = "1 MB"
after_quota = { action = "throttle", rate = "128 kbps" }

[[plans]]
id = "tiny-block"
name = "1 MB then blocked"
kind = "monthly"
quota = "1 MB"
after_quota = { action = "block" }
"""


def auth_config():
    return "\n".join([
        '[server]', 'http = "127.0.0.1:0"', 'data_dir = "data"', AUTH_PLANS,
        '[[lines]]', 'id = "a-normal"', 'plan = "tiny-throttle"', 'imsi = "440102222200001"', '',
        '[[lines]]', 'id = "a-slow"', 'plan = "tiny-throttle"', 'imsi = "440102222200002"', '',
        '[[lines]]', 'id = "a-blocked"', 'plan = "tiny-block"', 'msisdn = "+81 90-2222-0003"', '',
        '[radius]', 'accounting = "127.0.0.1:0"', 'authorization = "127.0.0.1:0"',
        'unknown_message = "Not a subscriber of this network"',
        '[radius.policy.normal]', 'attributes = ["Filter-Id = normal"]',
        '[radius.policy.throttled]',
        'attributes = ["Filter-Id = throttled", "Mikrotik-Rate-Limit = {rate_kbps}k/{rate_kbps}k"]',
        '[radius.policy.blocked]', 'reply_message = "Data limit reached on {line}"',
        '[[radius.clients]]', 'address = "127.0.0.1"', f'secret = "{SECRET}"', ''])


class AuthorizationTest(RadiusTestCase):
    CONFIG = auth_config()

    def access(self, *attrs):
        """Sends one Access-Request with radclient; returns (answer code name, radclient -x
        output)."""
        self.files += 1
        path = os.path.join(self.tmp, f"access-{self.files}.txt")
        with open(path, "w") as f:
            f.write("\n".join(('User-Password = "unused"',) + attrs) + "\n")
        self.assertIsNotNone(self.srv.radius_auth_port, "no 'radius authorization on' line")
        p = subprocess.run([RADCLIENT, "-x", "-t", "2", "-r", "2",
                            f"127.0.0.1:{self.srv.radius_auth_port}", "auth", SECRET, "-f", path],
                           capture_output=True, text=True, timeout=30)
        m = re.search(r"Received (Access-\w+)", p.stdout)
        return (m.group(1) if m else None), p.stdout

    def test_accept_reject_by_line_state(self):
        now = int(time.time())
        # a-slow over its quota (throttled), a-blocked over its quota (blocked).
        self.radclient([acct("Stop", "s-slow", imsi="440102222200002", up=0, down=2_000_000,
                             event=now - 60),
                        acct("Stop", "s-blocked", calling="819022220003", up=0, down=2_000_000,
                             event=now - 60)])
        code, out = self.access('User-Name = "x"', '3GPP-IMSI = "440102222200001"')
        self.assertEqual(code, "Access-Accept", out)
        self.assertRegex(out, r'Filter-Id = "normal"')
        self.assertRegex(out, r"Message-Authenticator = 0x")
        code, out = self.access('User-Name = "x"', '3GPP-IMSI = "440102222200002"')
        self.assertEqual(code, "Access-Accept", out)
        self.assertRegex(out, r'Filter-Id = "throttled"')
        self.assertRegex(out, r'Mikrotik-Rate-Limit = "128k/128k"')
        code, out = self.access('User-Name = "x"', 'Calling-Station-Id = "+819022220003"')
        self.assertEqual(code, "Access-Reject", out)
        self.assertRegex(out, r'Reply-Message = "Data limit reached on a-blocked"')
        code, out = self.access('User-Name = "nobody"')
        self.assertEqual(code, "Access-Reject", out)
        self.assertRegex(out, r'Reply-Message = "Not a subscriber of this network"')
        # By User-Name = the line id.
        code, out = self.access('User-Name = "a-normal"')
        self.assertEqual(code, "Access-Accept", out)
        # A wrong secret: without a Message-Authenticator an Access-Request cannot be checked
        # (RFC 2865), so it is answered, signed with the right secret, which radclient refuses.
        self.files += 1
        path = os.path.join(self.tmp, f"access-{self.files}.txt")
        with open(path, "w") as f:
            f.write('User-Name = "a-normal"\nUser-Password = "x"\n')
        p = subprocess.run([RADCLIENT, "-t", "1", "-r", "1",
                            f"127.0.0.1:{self.srv.radius_auth_port}", "auth", "wrong", "-f", path],
                           capture_output=True, text=True, timeout=30)
        self.assertNotIn("Received Access", p.stdout)
        self.assertEqual(self.metric("ryuryo_radius_access_requests_total", outcome="accepted"), 4)
        self.assertEqual(self.metric("ryuryo_radius_access_requests_total",
                                     outcome="rejected_unknown"), 1)
        self.assertEqual(self.metric("ryuryo_radius_access_requests_total",
                                     outcome="rejected_blocked"), 1)

    def test_sessions_command_lists_open_sessions(self):
        now = int(time.time())
        self.radclient([acct("Start", "s-1", imsi="440102222200001", up=0, down=0,
                             event=now - 120),
                        acct("Interim-Update", "s-1", imsi="440102222200001", up=1000,
                             down=2000, event=now - 60),
                        acct("Start", "s-2", imsi="440102222200002", up=0, down=0,
                             event=now - 60)])
        out = self.srv.cli("sessions").stdout
        self.assertIn("s-1", out)
        self.assertIn("s-2", out)
        self.assertIn("2 open sessions", out)
        out = self.srv.cli("sessions", "a-normal").stdout
        self.assertIn("s-1", out)
        self.assertNotIn("s-2", out)
        import json as _json
        js = _json.loads(self.srv.cli("sessions", "imsi:440102222200001", "--json").stdout)
        self.assertEqual([(s["session_id"], s["bytes_in"], s["bytes_out"], s["nas"]) for s in js],
                         [("s-1", 1000, 2000, "10.0.0.1")])
        p = self.srv.cli("sessions", "no-such-line", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no line 'no-such-line'", p.stderr)


if __name__ == "__main__":
    unittest.main()

"""Kannel, the real SMS gateway, for the SMS tests: bearerbox + smsbox with a generated
kannel.conf on free loopback ports, and Kannel's fake SMSC (/usr/lib/kannel/test/fakesmsc from
kannel-extras) standing in for the operator's SMSC.

    k = Kannel()                       # picks the ports (k.sendsms_url is known from here on)
    k.start(get_url)                   # the sms-service get-url (incoming SMS to ryuryo)
    reply = k.sms(sender, service, text)      # an SMS to the service; Kannel's reply (or None)
    got = k.receive(seconds, until=...)       # SMS sent out through sendsms, as fakesmsc got them
    k.stop()

fakesmsc connects to bearerbox's fake SMSC, sends what it is told to, and prints every message
bearerbox hands it ("Got message N: <from to text ...>" or "... data <url-encoded UTF-16BE>" for
UCS-2). It never exits by itself: it runs under `timeout` and is killed by its PID. Messages sent
while no fakesmsc is connected wait in bearerbox's queue for the next one.
"""
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.parse

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
SENDSMS_USER = "ryuryo"
SENDSMS_PASSWORD = "sendsms-secret-42"

MESSAGE = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>")


def installed():
    return os.access(BEARERBOX, os.X_OK) and os.access(FAKESMSC, os.X_OK)


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def wait_port(port, deadline_s=30):
    end = time.time() + deadline_s
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def decode(kind, data):
    """fakesmsc prints a GSM 7-bit message as `text ...` and a UCS-2 one as
    `data <url-encoded UTF-16BE>`."""
    data = data.strip()
    if kind == "text":
        return data
    raw = urllib.parse.unquote_to_bytes(data.replace("+", "%20"))
    return raw.decode("utf-16-be")


class Kannel:
    def __init__(self):
        self.admin, self.box, self.smsc, self.sendsms = free_ports(4)
        self.sendsms_url = f"http://127.0.0.1:{self.sendsms}/cgi-bin/sendsms"
        self.procs = []
        self.out = None
        self.dir = tempfile.mkdtemp(prefix="ryuryo-kannel-")

    def start(self, get_url):
        conf = os.path.join(self.dir, "kannel.conf")
        log = os.path.join(self.dir, "kannel.log")
        with open(conf, "w") as f:
            f.write(f"""group = core
admin-port = {self.admin}
admin-interface = 127.0.0.1
admin-password = bar
smsbox-port = {self.box}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{log}"
log-level = 1

group = smsc
smsc = fake
smsc-id = FAKE
port = {self.smsc}
our-host = 127.0.0.1
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.box}
sendsms-port = {self.sendsms}
sendsms-interface = 127.0.0.1
log-file = "{log}.smsbox"
log-level = 1

group = sendsms-user
username = {SENDSMS_USER}
password = {SENDSMS_PASSWORD}

group = sms-service
keyword = default
catch-all = true
max-messages = 1
omit-empty = true
accept-x-kannel-headers = true
get-url = "{get_url}"
""")
        self.out = open(os.path.join(self.dir, "kannel.out"), "ab")
        self.procs.append(subprocess.Popen([BEARERBOX, conf], stdout=self.out, stderr=self.out))
        if not wait_port(self.box) or not wait_port(self.admin):
            raise RuntimeError("bearerbox did not start: " + self.log())
        self.procs.append(subprocess.Popen([SMSBOX, conf], stdout=self.out, stderr=self.out))
        if not wait_port(self.sendsms):
            raise RuntimeError("smsbox did not start: " + self.log())
        return self

    def log(self):
        text = ""
        for name in ("kannel.out", "kannel.log", "kannel.log.smsbox"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    text += f"--- {name}\n" + f.read()[-4000:]
        return text

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.kill()  # by PID: only the processes this test started
            p.wait()
        self.procs = []
        if self.out:
            self.out.close()
            self.out = None

    def _fakesmsc(self, wait_s, message=None, until=None):
        """Runs fakesmsc (sending `message` if given) and collects what it receives as
        (from, to, text) until `until(messages)` is true or `wait_s` ends."""
        args = ["timeout", str(wait_s), FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc),
                "-i", "0"]
        # Without a message fakesmsc runs interactively (messages to send typed on its stdin):
        # it only receives while its stdin stays open.
        args += ["-m", "1", message] if message else []
        p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        got, out = [], ""
        try:
            for raw in iter(p.stdout.readline, b""):
                line = raw.decode("utf-8", "replace")
                out += line
                m = MESSAGE.search(line)
                if m:
                    got.append((m.group(1), m.group(2), decode(m.group(3), m.group(4))))
                    if until is not None and until(got):
                        break
        finally:
            if p.poll() is None:
                p.terminate()  # `timeout` (by PID), which passes SIGTERM on to fakesmsc
            p.wait()
            p.stdout.close()
            p.stdin.close()
        return got, out

    def sms(self, sender, service, text, want_reply=True):
        """Sends one SMS from `sender` to `service`; the text of Kannel's reply, or None."""
        got, out = self._fakesmsc(20 if want_reply else 6, f"{sender} {service} text {text}",
                                  until=lambda got: True)
        if got:
            frm, to, reply = got[0]
            if (frm, to) != (service, sender):
                raise AssertionError(f"reply from {frm} to {to}, not {service} to {sender}: {out}")
            return reply
        if want_reply:
            raise AssertionError(f"no reply to {text!r} from {sender}:\n{out}\n{self.log()}")
        return None

    def receive(self, wait_s, until=None):
        """SMS that bearerbox hands to the SMSC within `wait_s` (or until `until(got)`), as a list
        of (from, to, text)."""
        got, _ = self._fakesmsc(wait_s, until=until)
        return got

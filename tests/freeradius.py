"""FreeRADIUS 3.2 as a RADIUS accounting server on 127.0.0.1, for the end-to-end tests and the
RADIUS benchmark (bench/radius_bench.sh): a self-contained configuration directory (of the system's
FreeRADIUS files only the dictionaries are read, and for SQL the stock SQLite queries), started and
stopped by PID.

Modes:
  detail  accounting { detail }: every Accounting-Request appended to DIR/detail (no fsync).
  sql     accounting { sql }: rlm_sql with rlm_sql_sqlite into the radacct table of DIR/radius.db,
          created from FreeRADIUS's own schema.sql (SQLite's defaults: a synced journal per
          transaction), SQL_CONNECTIONS worker threads each with its own connection.
          Acct-Unique-Session-Id is an MD5 of NAS-Identifier, NAS-IP-Address and Acct-Session-Id,
          as the stock acct_unique policy makes it.

Both accept any Accounting-Request from 127.0.0.1 with the given secret and answer it after the
module returns. The UDP receive buffer is raised to 4 MiB (net.core.rmem_max permitting).

Command line (used by bench/radius_bench.sh):
  python3 tests/freeradius.py config DIR PORT detail|sql   writes DIR/radiusd.conf (and the db)
  python3 tests/freeradius.py count-sql DIR                 rows in radacct
"""
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time

FREERADIUS = shutil.which("freeradius") or shutil.which("radiusd")
MODS_CONFIG = "/etc/freeradius/3.0/mods-config"
SQLITE_SCHEMA = os.path.join(MODS_CONFIG, "sql", "main", "sqlite", "schema.sql")
SECRET = "testing123"
# SQL: worker threads and SQLite connections (equal, so that no request finds the pool empty and
# goes unanswered). Of 1, 4 and 32 (Debian's max_servers), 4 acknowledged the most per second.
SQL_CONNECTIONS = 4
# Threads as in Debian's stock radiusd.conf (max_servers = 32), or fewer for SQL.
def thread_pool(threads):
    return f"""thread pool {{
  start_servers = {min(5, threads)}
  max_servers = {threads}
  min_spare_servers = {min(3, threads)}
  max_spare_servers = {min(10, threads)}
  max_requests_per_server = 0
  auto_limit_acct = no
}}"""


def free_udp_port():
    """A UDP port that was free a moment ago (bind to port 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dirs_conf(d, modconfdir=None):
    """The directory settings a self-contained FreeRADIUS 3 configuration in `d` starts with."""
    return f"""prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = {d}
sbindir = /usr/sbin
logdir = {d}
raddbdir = {d}
radacctdir = {d}
name = freeradius
confdir = {d}
modconfdir = {modconfdir or d}
run_dir = {d}
db_dir = {d}
libdir = /usr/lib/freeradius
pidfile = {d}/radiusd.pid
"""


def write_config(d, port, mode, secret=SECRET, sql_connections=SQL_CONNECTIONS):
    """Writes the configuration (and for "sql" an empty radacct database) into directory d."""
    if mode not in ("detail", "sql"):
        raise ValueError("mode must be detail or sql")
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    if mode == "detail":
        module = f"""  detail {{
    filename = {d}/detail
    escape_filenames = no
    permissions = 0600
    header = "%t"
  }}"""
        accounting = "    detail"
    else:
        db = os.path.join(d, "radius.db")
        if os.path.exists(db):
            os.remove(db)
        with open(SQLITE_SCHEMA) as f:
            schema = f.read()
        con = sqlite3.connect(db)
        con.executescript(schema)
        con.close()
        module = f"""  expr {{
  }}
  sql {{
    dialect = "sqlite"
    driver = "rlm_sql_sqlite"
    sqlite {{
      filename = "{db}"
      busy_timeout = 30000
    }}
    radius_db = "radius"
    acct_table1 = "radacct"
    acct_table2 = "radacct"
    postauth_table = "radpostauth"
    authcheck_table = "radcheck"
    groupcheck_table = "radgroupcheck"
    authreply_table = "radreply"
    groupreply_table = "radgroupreply"
    usergroup_table = "radusergroup"
    delete_stale_sessions = yes
    read_clients = no
    client_table = "nas"
    group_attribute = "SQL-Group"
    pool {{
      start = {sql_connections}
      min = {sql_connections}
      max = {sql_connections}
      spare = 0
      uses = 0
      retry_delay = 30
      lifetime = 0
      idle_timeout = 0
    }}
    $INCLUDE ${{modconfdir}}/${{.:name}}/main/${{dialect}}/queries.conf
  }}"""
        accounting = """    update request {
      &Acct-Unique-Session-Id := "%{md5:%{NAS-Identifier},%{NAS-IP-Address},%{Acct-Session-Id}}"
    }
    sql"""
    text = f"""# FreeRADIUS as an accounting server ({mode}); written by tests/freeradius.py.
{dirs_conf(d, MODS_CONFIG)}max_request_time = 30
cleanup_delay = 5
max_requests = 65536
hostname_lookups = no
log {{
  destination = files
  file = {d}/radius.log
}}
security {{
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = no
}}
proxy_requests = no
{thread_pool(32 if mode == "detail" else sql_connections)}
client localhost {{
  ipaddr = 127.0.0.1
  secret = {secret}
}}
modules {{
{module}
}}
server default {{
  listen {{
    type = acct
    ipaddr = 127.0.0.1
    port = {port}
    recv_buff = 4194304
  }}
  accounting {{
{accounting}
  }}
}}
"""
    with open(os.path.join(d, "radiusd.conf"), "w") as f:
        f.write(text)


def parse_detail(path):
    """The records of a detail file: a list of {attribute: value} (values as printed, quotes
    removed)."""
    records = []
    cur = None
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                cur = None
                continue
            if not line.startswith("\t"):
                cur = {}
                records.append(cur)
                continue
            name, _, value = line.strip().partition(" = ")
            if value.startswith('"') and value.endswith('"'):
                value = value[1:-1]
            cur[name] = value
    return records


class FreeRadius:
    """One FreeRADIUS process in its own directory on a free port. Use as a context manager."""

    def __init__(self, d, mode, secret=SECRET, sql_connections=SQL_CONNECTIONS):
        self.dir = os.path.abspath(d)
        self.mode = mode
        self.secret = secret
        self.sql_connections = sql_connections
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.dir, "radius.log")

    def start(self, attempts=5, timeout_s=20):
        """Starts on a free port; another port is tried when the one probed was taken since."""
        for _ in range(attempts):
            self.port = free_udp_port()
            write_config(self.dir, self.port, self.mode, self.secret, self.sql_connections)
            if os.path.exists(self.log_path):
                os.remove(self.log_path)
            self.proc = subprocess.Popen([FREERADIUS, "-f", "-d", self.dir],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + timeout_s
            while time.time() < deadline and self.proc.poll() is None:
                if "Ready to process requests" in self.log():
                    return self
                time.sleep(0.05)
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
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None

    def detail_records(self):
        return parse_detail(os.path.join(self.dir, "detail"))

    def radacct(self):
        """Rows of radacct as dicts."""
        con = sqlite3.connect(os.path.join(self.dir, "radius.db"))
        con.row_factory = sqlite3.Row
        rows = [dict(r) for r in con.execute("SELECT * FROM radacct")]
        con.close()
        return rows

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    if len(argv) == 5 and argv[1] == "config":
        write_config(argv[2], int(argv[3]), argv[4])
        return 0
    if len(argv) == 3 and argv[1] == "count-sql":
        con = sqlite3.connect(os.path.join(argv[2], "radius.db"))
        print(con.execute("SELECT COUNT(*) FROM radacct").fetchone()[0])
        con.close()
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
